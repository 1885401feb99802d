#include "services/notification/notify/jwt.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "openssl/crypto.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"

namespace hub::notification::notify {
namespace {

constexpr absl::string_view kNotifyHeader = R"({"typ":"JWT","alg":"HS256"})";

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// A parsed JSON object, or kInvalidArgument naming `part`.
absl::StatusOr<nlohmann::json> DecodeJsonPart(absl::string_view encoded, absl::string_view part) {
  absl::StatusOr<std::string> bytes = Base64UrlDecode(encoded);
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("token ", part, " is not base64url"));
  }
  nlohmann::json json = nlohmann::json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("token ", part, " is not a JSON object"));
  }
  return json;
}

struct TokenParts {
  absl::string_view header;
  absl::string_view claims;
  absl::string_view signature;
};

absl::StatusOr<TokenParts> SplitToken(absl::string_view token) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) {
    return absl::InvalidArgumentError("token is not a JWT: it must have three dot-separated parts");
  }
  return TokenParts{parts[0], parts[1], parts[2]};
}

absl::StatusOr<JwtClaims> ClaimsFromJson(const nlohmann::json& json) {
  JwtClaims claims;
  auto iss = json.find("iss");
  if (iss == json.end() || !iss->is_string()) {
    return absl::InvalidArgumentError("token claims have no string \"iss\"");
  }
  claims.iss = iss->get<std::string>();
  auto iat = json.find("iat");
  if (iat == json.end() || !iat->is_number()) {
    return absl::InvalidArgumentError("token claims have no numeric \"iat\"");
  }
  if (iat->is_number_float()) {
    double value = iat->get<double>();
    if (!std::isfinite(value) || std::fabs(value) > 1e15) {
      return absl::InvalidArgumentError("token claim \"iat\" is out of range");
    }
    claims.iat = static_cast<int64_t>(value);
  } else if (iat->is_number_unsigned()) {
    uint64_t value = iat->get<uint64_t>();
    if (value > static_cast<uint64_t>(INT64_MAX)) {
      return absl::InvalidArgumentError("token claim \"iat\" is out of range");
    }
    claims.iat = static_cast<int64_t>(value);
  } else {
    claims.iat = iat->get<int64_t>();
  }
  return claims;
}

}  // namespace

std::string Base64UrlEncode(absl::string_view bytes) { return absl::WebSafeBase64Escape(bytes); }

absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text) {
  for (char c : text) {
    if (!IsBase64UrlChar(c)) {
      return absl::InvalidArgumentError("not base64url: a character outside the alphabet");
    }
  }
  // One character left over carries only 6 bits: no byte string encodes to that.
  if (text.size() % 4 == 1) {
    return absl::InvalidArgumentError("not base64url: impossible length");
  }
  std::string out;
  if (!absl::WebSafeBase64Unescape(text, &out)) {
    return absl::InvalidArgumentError("not base64url");
  }
  return out;
}

std::string SignHs256Jwt(absl::string_view header_json, absl::string_view claims_json,
                         absl::string_view secret) {
  std::string signing_input =
      absl::StrCat(Base64UrlEncode(header_json), ".", Base64UrlEncode(claims_json));
  std::string signature = HmacSha256(secret, signing_input);
  return absl::StrCat(signing_input, ".", Base64UrlEncode(signature));
}

std::string SignNotifyJwt(absl::string_view service_id, absl::Time issued_at,
                          absl::string_view secret) {
  nlohmann::json claims = {{"iss", std::string(service_id)},
                           {"iat", absl::ToUnixSeconds(issued_at)}};
  return SignHs256Jwt(kNotifyHeader, claims.dump(), secret);
}

absl::StatusOr<JwtClaims> DecodeJwtClaimsUnverified(absl::string_view token) {
  absl::StatusOr<TokenParts> parts = SplitToken(token);
  if (!parts.ok()) {
    return parts.status();
  }
  absl::StatusOr<nlohmann::json> claims = DecodeJsonPart(parts->claims, "claims");
  if (!claims.ok()) {
    return claims.status();
  }
  return ClaimsFromJson(*claims);
}

absl::StatusOr<JwtClaims> VerifyHs256Jwt(absl::string_view token, absl::string_view secret) {
  absl::StatusOr<TokenParts> parts = SplitToken(token);
  if (!parts.ok()) {
    return parts.status();
  }
  absl::StatusOr<nlohmann::json> header = DecodeJsonPart(parts->header, "header");
  if (!header.ok()) {
    return header.status();
  }
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() || alg->get<std::string>() != "HS256") {
    return absl::InvalidArgumentError("token algorithm is not HS256");
  }
  absl::StatusOr<std::string> signature = Base64UrlDecode(parts->signature);
  if (!signature.ok()) {
    return absl::InvalidArgumentError("token signature is not base64url");
  }
  std::string expected =
      HmacSha256(secret, token.substr(0, parts->header.size() + 1 + parts->claims.size()));
  if (signature->size() != expected.size() ||
      CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
    return absl::PermissionDeniedError("token signature does not match");
  }
  absl::StatusOr<nlohmann::json> claims = DecodeJsonPart(parts->claims, "claims");
  if (!claims.ok()) {
    return claims.status();
  }
  return ClaimsFromJson(*claims);
}

}  // namespace hub::notification::notify
