// The API-key tokens GOV.UK Notify asks for: a JWT signed with HS256 (HMAC-SHA256).
//
// Every request to Notify carries "Authorization: Bearer <token>", where the token's header
// is {"typ":"JWT","alg":"HS256"}, its claims are {"iss": <service id>, "iat": <unix seconds
// when made>} and the signature is HMAC-SHA256 over "<header>.<claims>" (both base64url
// without padding) under the API key's secret. Notify refuses a token whose iat is more
// than 30 seconds from its own clock, so a token is made fresh for every request.
//
// The verifying half exists for the local Notify stand-in (notify_stand_in.h) and for
// tests. Errors name what is wrong with a token, never the secret.
//
// Pure functions; thread-safe.
#ifndef HUB_SERVICES_NOTIFICATION_NOTIFY_JWT_H_
#define HUB_SERVICES_NOTIFICATION_NOTIFY_JWT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hub::notification::notify {

// base64url (RFC 4648 section 5) without padding, as JWT uses it.
std::string Base64UrlEncode(absl::string_view bytes);

// The inverse. Strict: only the base64url alphabet, no padding, no whitespace
// (kInvalidArgument otherwise).
absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text);

// The claims of a Notify token.
struct JwtClaims {
  std::string iss;
  int64_t iat = 0;
};

// The token for `service_id`, issued at `issued_at` (whole seconds), signed with `secret`.
std::string SignNotifyJwt(absl::string_view service_id, absl::Time issued_at,
                          absl::string_view secret);

// A compact HS256 JWT of exactly these header and claims bytes. SignNotifyJwt is built on
// it; tests use it to make tokens a correct client would never make.
std::string SignHs256Jwt(absl::string_view header_json, absl::string_view claims_json,
                         absl::string_view secret);

// The claims of `token` without checking its signature: Notify first reads the issuer to
// find the service whose keys may have signed it. kInvalidArgument when the token is not a
// three-part JWT with a JSON object of claims holding a string "iss" and an integer "iat".
absl::StatusOr<JwtClaims> DecodeJwtClaimsUnverified(absl::string_view token);

// The claims of `token` once its header says HS256 and its signature verifies under
// `secret` (compared in constant time). kInvalidArgument for a malformed token or another
// algorithm (including "none"); kPermissionDenied when the signature does not match.
// Does not look at the time: the caller compares iat with its clock.
absl::StatusOr<JwtClaims> VerifyHs256Jwt(absl::string_view token, absl::string_view secret);

}  // namespace hub::notification::notify

#endif  // HUB_SERVICES_NOTIFICATION_NOTIFY_JWT_H_
