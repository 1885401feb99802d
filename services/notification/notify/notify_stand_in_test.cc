// The stand-in must be as strict as Notify, or the client tests prove nothing: these
// tests talk to it with raw HTTP requests a correct client would never make.
#include "services/notification/notify/notify_stand_in.h"

#include <httplib.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

#include "services/common/clock/clock.h"
#include "services/common/status/status_matchers.h"
#include "services/notification/notify/jwt.h"

namespace hub::notification::notify {
namespace {

using ::hub::testing::StatusIs;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kServiceId[] = "2b9d7c4e-1a6f-4e83-b5d0-9f3e2a7c8d14";
constexpr char kSecret[] = "6f1c2b8e-4d3a-4f7e-9b21-0c5d8e7a3f19";
constexpr char kTemplate[] = "f33517ff-2a88-4f6e-b855-c550268ce08a";

class NotifyStandInTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NotifyStandInOptions options;
    options.api_key = absl::StrCat("test-", kServiceId, "-", kSecret);
    options.clock = clock_;
    ASSERT_OK_AND_ASSIGN(stand_in_, NotifyStandIn::Start(options));
    http_ = std::make_unique<httplib::Client>(stand_in_->base_url());
  }

  std::string Bearer() const {
    return absl::StrCat("Bearer ", SignNotifyJwt(kServiceId, clock_->Now(), kSecret));
  }

  // POSTs `body` with a good token; returns status and parsed body.
  std::pair<int, json> Post(const std::string& path, const std::string& body) {
    httplib::Result result =
        http_->Post(path, httplib::Headers{{"Authorization", Bearer()}}, body, "application/json");
    if (!result) {
      ADD_FAILURE() << "no answer: " << httplib::to_string(result.error());
      return {0, json()};
    }
    return {result->status, json::parse(result->body, nullptr, false)};
  }

  static std::string FirstMessage(const json& body) {
    return body["errors"][0]["message"].get<std::string>();
  }

  std::shared_ptr<clock::FakeClock> clock_ =
      std::make_shared<clock::FakeClock>(absl::FromUnixSeconds(1767603600));
  std::unique_ptr<NotifyStandIn> stand_in_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(NotifyStandInTest, AcceptsAValidSmsAndAnswersLikeNotify) {
  auto [status, body] = Post("/v2/notifications/sms", json{{"phone_number", "+447700900123"},
                                                           {"template_id", kTemplate},
                                                           {"personalisation", {{"name", "Sam"}}},
                                                           {"reference", "r1"}}
                                                          .dump());
  EXPECT_EQ(status, 201);
  EXPECT_TRUE(IsUuid(body["id"].get<std::string>()));
  EXPECT_EQ(body["reference"], "r1");
  EXPECT_EQ(body["template"]["id"], kTemplate);
  EXPECT_EQ(body["template"]["version"], 1);
  EXPECT_TRUE(body.contains("content"));
  EXPECT_TRUE(body.contains("uri"));
  ASSERT_THAT(stand_in_->notifications(), SizeIs(1));
  EXPECT_EQ(stand_in_->notifications()[0].type, "sms");
}

TEST_F(NotifyStandInTest, RequiresABearerToken) {
  httplib::Result none = http_->Get("/v2/notifications");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(FirstMessage(json::parse(none->body)),
            "Unauthorized: authentication token must be provided");
  httplib::Result basic =
      http_->Get("/v2/notifications", httplib::Headers{{"Authorization", "Basic abc"}});
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->status, 401);
}

TEST_F(NotifyStandInTest, RefusesAnUnsignedToken) {
  std::string claims = absl::StrCat(R"({"iss":")", kServiceId, R"(","iat":)",
                                    absl::ToUnixSeconds(clock_->Now()), "}");
  std::string none = absl::StrCat(Base64UrlEncode(R"({"typ":"JWT","alg":"none"})"), ".",
                                  Base64UrlEncode(claims), ".");
  httplib::Result result =
      http_->Get("/v2/notifications", httplib::Headers{{"Authorization", "Bearer " + none}});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 403);
  EXPECT_EQ(FirstMessage(json::parse(result->body)), "Invalid token: algorithm used is not HS256");
}

TEST_F(NotifyStandInTest, RefusesUnknownAndMissingFields) {
  auto [status, body] = Post("/v2/notifications/sms",
                             json{{"phone", "07700900123"}, {"template_id", kTemplate}}.dump());
  EXPECT_EQ(status, 400);
  EXPECT_EQ(body["status_code"], 400);
  std::vector<std::string> messages;
  for (const json& error : body["errors"]) {
    EXPECT_EQ(error["error"], "ValidationError");
    messages.push_back(error["message"]);
  }
  EXPECT_THAT(messages, ::testing::UnorderedElementsAre(
                            "phone_number is a required property",
                            "Additional properties are not allowed (phone was unexpected)"));
  EXPECT_THAT(stand_in_->notifications(), SizeIs(0));
}

TEST_F(NotifyStandInTest, ChecksIdsRecipientsAndTypes) {
  EXPECT_EQ(FirstMessage(Post("/v2/notifications/email",
                              json{{"email_address", "a@b.org"}, {"template_id", "x"}}.dump())
                             .second),
            "template_id is not a valid UUID");
  EXPECT_EQ(FirstMessage(
                Post("/v2/notifications/email",
                     json{{"email_address", "not-an-address"}, {"template_id", kTemplate}}.dump())
                    .second),
            "email_address Not a valid email address");
  EXPECT_EQ(FirstMessage(Post("/v2/notifications/sms", json{{"phone_number", "07700900123"},
                                                            {"template_id", kTemplate},
                                                            {"reference", 7}}
                                                           .dump())
                             .second),
            "reference is not of type string");
  EXPECT_EQ(FirstMessage(Post("/v2/notifications/sms", json{{"phone_number", "07700900123"},
                                                            {"template_id", kTemplate},
                                                            {"personalisation", "Sam"}}
                                                           .dump())
                             .second),
            "personalisation is not of type object");
  auto [status, body] = Post("/v2/notifications/sms", "{not json");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(body["errors"][0]["error"], "BadRequestError");
}

TEST_F(NotifyStandInTest, ALetterNeedsAnAddressOfThreeLines) {
  auto [status, body] =
      Post("/v2/notifications/letter",
           json{{"template_id", kTemplate},
                {"personalisation", {{"address_line_1", "A"}, {"address_line_2", "B"}}}}
               .dump());
  EXPECT_EQ(status, 400);
  EXPECT_EQ(FirstMessage(body), "Address must be at least 3 lines");
  EXPECT_EQ(FirstMessage(
                Post("/v2/notifications/letter", json{{"template_id", kTemplate}}.dump()).second),
            "personalisation is a required property");
  EXPECT_EQ(Post("/v2/notifications/letter",
                 json{{"template_id", kTemplate},
                      {"personalisation",
                       {{"address_line_1", "A"}, {"address_line_2", "B"}, {"postcode", "CB1 2AB"}}}}
                     .dump())
                .first,
            201);
}

TEST_F(NotifyStandInTest, RecordsEveryRequestIncludingUnknownPaths) {
  httplib::Result result = http_->Post("/v2/notification/sms", "{}", "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  Post("/v2/notifications/sms", "{}");
  std::vector<RecordedRequest> requests = stand_in_->requests();
  ASSERT_THAT(requests, SizeIs(2));
  EXPECT_EQ(requests[0].path, "/v2/notification/sms");
  EXPECT_EQ(requests[0].status, 404);
  EXPECT_EQ(requests[1].status, 400);
  EXPECT_EQ(requests[1].error_type, "ValidationError");
  EXPECT_EQ(requests[1].body, "{}");
}

TEST_F(NotifyStandInTest, StartRefusesABadKey) {
  NotifyStandInOptions options;
  options.api_key = "not a key";
  EXPECT_THAT(NotifyStandIn::Start(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("notify-api-key")));
}

TEST_F(NotifyStandInTest, StopWakesADelayedAnswer) {
  stand_in_->DelayNextAnswer(1, absl::Hours(1));
  std::thread caller([this] { http_->Get("/v2/notifications"); });
  // Wait until the request is being held.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (stand_in_->requests().empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  absl::Time before = absl::Now();
  stand_in_->Stop();
  caller.join();
  EXPECT_LT(absl::Now() - before, absl::Seconds(10));
}

}  // namespace
}  // namespace hub::notification::notify
