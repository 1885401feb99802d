#include "services/notification/notify/jwt.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"

namespace hub::notification::notify {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kServiceId[] = "2b9d7c4e-1a6f-4e83-b5d0-9f3e2a7c8d14";
constexpr char kSecret[] = "6f1c2b8e-4d3a-4f7e-9b21-0c5d8e7a3f19";

// Computed independently with Python's hmac and base64 modules:
//   b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
//   signing = b64(b'{"typ":"JWT","alg":"HS256"}') + "." +
//             b64(b'{"iat":1700000000,"iss":"2b9d7c4e-1a6f-4e83-b5d0-9f3e2a7c8d14"}')
//   signing + "." + b64(hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest())
constexpr char kExpectedToken[] =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9."
    "eyJpYXQiOjE3MDAwMDAwMDAsImlzcyI6IjJiOWQ3YzRlLTFhNmYtNGU4My1iNWQwLTlmM2UyYTdjOGQxNCJ9."
    "8IuKBxsgrqNIWDZ0a3uva61eGbiS7OgTTijmlaukxPw";

TEST(NotifyJwtTest, MatchesAnIndependentlyComputedToken) {
  EXPECT_EQ(SignNotifyJwt(kServiceId, absl::FromUnixSeconds(1700000000), kSecret), kExpectedToken);
}

TEST(NotifyJwtTest, IatIsWholeSecondsOfTheIssueTime) {
  std::string token =
      SignNotifyJwt(kServiceId, absl::FromUnixMillis(int64_t{1700000000} * 1000 + 999), kSecret);
  EXPECT_EQ(token, kExpectedToken);
}

TEST(NotifyJwtTest, HeaderAndClaimsAreNotifysShape) {
  std::vector<std::string> parts = absl::StrSplit(kExpectedToken, '.');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(*Base64UrlDecode(parts[0]), R"({"typ":"JWT","alg":"HS256"})");
  EXPECT_EQ(*Base64UrlDecode(parts[1]),
            R"({"iat":1700000000,"iss":"2b9d7c4e-1a6f-4e83-b5d0-9f3e2a7c8d14"})");
}

TEST(NotifyJwtTest, VerifiesItsOwnTokens) {
  absl::StatusOr<JwtClaims> claims = VerifyHs256Jwt(kExpectedToken, kSecret);
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(claims->iss, kServiceId);
  EXPECT_EQ(claims->iat, 1700000000);
}

TEST(NotifyJwtTest, RejectsAnotherSecret) {
  EXPECT_THAT(VerifyHs256Jwt(kExpectedToken, "6f1c2b8e-4d3a-4f7e-9b21-0c5d8e7a3f1a"),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("signature")));
}

TEST(NotifyJwtTest, RejectsChangedClaimsUnderTheOldSignature) {
  std::vector<std::string> parts = absl::StrSplit(kExpectedToken, '.');
  std::string forged_claims =
      Base64UrlEncode(absl::StrCat(R"({"iat":1700000100,"iss":")", kServiceId, R"("})"));
  std::string forged = absl::StrCat(parts[0], ".", forged_claims, ".", parts[2]);
  EXPECT_THAT(VerifyHs256Jwt(forged, kSecret), StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST(NotifyJwtTest, RejectsOtherAlgorithmsIncludingNone) {
  std::string claims = absl::StrCat(R"({"iat":1700000000,"iss":")", kServiceId, R"("})");
  std::string none = absl::StrCat(Base64UrlEncode(R"({"typ":"JWT","alg":"none"})"), ".",
                                  Base64UrlEncode(claims), ".");
  EXPECT_THAT(VerifyHs256Jwt(none, kSecret),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("HS256")));
  // Signed correctly with HMAC, but the header claims another algorithm.
  std::string hs512 = SignHs256Jwt(R"({"typ":"JWT","alg":"HS512"})", claims, kSecret);
  EXPECT_THAT(VerifyHs256Jwt(hs512, kSecret),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("HS256")));
}

TEST(NotifyJwtTest, RejectsMalformedTokens) {
  for (const char* token : {"", "abc", "a.b", "a.b.c.d", "***.***.***", "e30.e30.e30"}) {
    EXPECT_THAT(VerifyHs256Jwt(token, kSecret), StatusIs(absl::StatusCode::kInvalidArgument))
        << token;
  }
}

TEST(NotifyJwtTest, RejectsClaimsWithoutIssOrIat) {
  std::string no_iat = SignHs256Jwt(R"({"typ":"JWT","alg":"HS256"})",
                                    absl::StrCat(R"({"iss":")", kServiceId, R"("})"), kSecret);
  EXPECT_THAT(VerifyHs256Jwt(no_iat, kSecret),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("iat")));
  std::string no_iss = SignHs256Jwt(R"({"typ":"JWT","alg":"HS256"})", R"({"iat":1})", kSecret);
  EXPECT_THAT(VerifyHs256Jwt(no_iss, kSecret),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("iss")));
}

TEST(NotifyJwtTest, DecodesClaimsWithoutTheSecret) {
  absl::StatusOr<JwtClaims> claims = DecodeJwtClaimsUnverified(kExpectedToken);
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(claims->iss, kServiceId);
  EXPECT_EQ(claims->iat, 1700000000);
}

TEST(Base64UrlTest, Rfc4648Vectors) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  // The two characters that differ from standard base64.
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(*Base64UrlDecode("-_8"), "\xfb\xff");
  EXPECT_EQ(*Base64UrlDecode("Zm9vYmE"), "fooba");
}

TEST(Base64UrlTest, DecodeIsStrict) {
  for (const char* text : {"Zg==", "+/8", "Zm 9v", "Z", "Zm9vY"}) {
    EXPECT_THAT(Base64UrlDecode(text), StatusIs(absl::StatusCode::kInvalidArgument)) << text;
  }
}

}  // namespace
}  // namespace hub::notification::notify
