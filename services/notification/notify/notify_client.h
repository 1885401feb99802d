// A client for the GOV.UK Notify HTTP API (v2): sends SMS, email and letters from
// templates with personalisation, and looks notifications up by their reference.
//
// Every request carries "Authorization: Bearer <JWT>" made fresh from the API key and the
// injected clock (jwt.h). Every message carries a reference chosen by the caller, stable
// for that message across attempts: Notify does not de-duplicate on it, so the reference
// is what lets the caller find out whether an attempt got through.
//
// Sending never happens twice by accident. Each send ends in one of four outcomes:
//   kSent              Notify answered 201: the notification id is known.
//   kTransientFailure  nothing was sent (connection refused, TLS handshake failed, 429,
//                      5xx other than 502/504): the caller retries later with backoff.
//   kPermanentFailure  Notify refused the message (400, 403, 404, other 4xx) or the
//                      client refused it before sending: retrying cannot help.
//   kInDoubt           the request may have reached Notify but no answer came back
//                      (timeout, connection lost after writing, 502/504 from a gateway, a
//                      201 without a readable id). The caller must not resend: it asks
//                      Lookup(reference) and resends only if Notify has nothing under that
//                      reference. A request still in flight when the client gave up may
//                      be stored by Notify a little later, so "not found" is only
//                      conclusive once the read timeout has passed again since the
//                      attempt (the caller's settle delay).
// 401 and 403 mean this service's key or clock is wrong, not this message: every message
// will fail the same way until an operator acts.
//
// Personal data: recipients and personalisation values go into request bodies and nowhere
// else. The client does not log. Results carry Notify's error type and message (Notify's
// messages name fields, not values), with any recipient or personalisation value that
// appears in them replaced by "<redacted>"; the rendered content Notify echoes back and
// recipient fields in lookups are never read. The API key is never put in an error.
//
// Lifecycle: Create() validates the options and parses the key; the client then serves
// calls until destroyed. Thread-safe: concurrent calls each use their own connection.
#ifndef HUB_SERVICES_NOTIFICATION_NOTIFY_NOTIFY_CLIENT_H_
#define HUB_SERVICES_NOTIFICATION_NOTIFY_NOTIFY_CLIENT_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

#include "services/common/clock/clock.h"

namespace httplib {
class Client;
}  // namespace httplib

namespace hub::notification::notify {

inline constexpr absl::string_view kProductionBaseUrl = "https://api.notifications.service.gov.uk";
// Setting names (services/common/config/config.h spelling) used in error messages.
inline constexpr absl::string_view kBaseUrlSetting = "notify-base-url";
inline constexpr absl::string_view kApiKeySetting = "notify-api-key";

// True for the 8-4-4-4-12 hex form Notify uses for every id.
bool IsUuid(absl::string_view text);

// An API key as Notify issues it: "<key name>-<service id>-<secret key>", both ids UUIDs
// (the key name may itself contain hyphens).
struct ApiKey {
  std::string key_name;
  std::string service_id;
  std::string secret_key;
};

// kInvalidArgument naming the setting (kApiKeySetting) and what is wrong, never the value.
absl::StatusOr<ApiKey> ParseApiKey(absl::string_view api_key);

// Template placeholder values. They are personal data.
using Personalisation = std::map<std::string, std::string>;

struct SmsMessage {
  std::string phone_number;
  std::string template_id;
  Personalisation personalisation;
  std::string reference;
  // Empty: the service's default text message sender.
  std::string sms_sender_id;
};

struct EmailMessage {
  std::string email_address;
  std::string template_id;
  Personalisation personalisation;
  std::string reference;
  // Empty: the service's default reply-to address.
  std::string email_reply_to_id;
};

// The address goes in the personalisation as address_line_1 to address_line_7 (at least
// three lines; the last a UK postcode or a country), beside the template's placeholders.
struct LetterMessage {
  std::string template_id;
  Personalisation personalisation;
  std::string reference;
};

enum class SendOutcome { kSent, kTransientFailure, kPermanentFailure, kInDoubt };

// "sent", "transient_failure", "permanent_failure" or "in_doubt" (for logs and metrics).
absl::string_view SendOutcomeName(SendOutcome outcome);

// The outcome of an HTTP answer to a send: 2xx kSent, 408/429/5xx kTransientFailure but
// 502/504 kInDoubt, anything else kPermanentFailure. Pure.
SendOutcome SendOutcomeForStatus(int http_status);

struct SendResult {
  SendOutcome outcome = SendOutcome::kInDoubt;
  // kSent: Notify's id for the notification and the template version it used.
  std::string notification_id;
  int template_version = 0;
  // The HTTP status, or 0 when no answer arrived (or the client refused to send).
  int http_status = 0;
  // Otherwise: Notify's error type ("BadRequestError", "ValidationError", "AuthError",
  // "RateLimitError", ...) or the client's: "ClientValidationError" (refused before
  // sending), "ConnectionFailed" (nothing sent), "NoAnswer" (timeout or connection lost
  // after writing), "ConnectionLost" (broke while writing), "TransportError",
  // "UnreadableResponse" (2xx without an id), "HttpError" (an error without Notify's body).
  std::string error_type;
  // What went wrong, without personal data.
  std::string error_message;
};

// What Lookup and GetNotification report about one notification (no recipient, no
// content).
struct NotificationInfo {
  std::string id;
  std::string reference;
  // "sms", "email" or "letter".
  std::string type;
  // Notify's status: "created", "sending", "delivered", "permanent-failure",
  // "accepted", "received", ...
  std::string status;
  std::string template_id;
  int template_version = 0;
  // As Notify gives it (ISO 8601 UTC).
  std::string created_at;
};

enum class LookupOutcome { kFound, kNotFound, kTransientFailure, kPermanentFailure };

// "found", "not_found", "transient_failure" or "permanent_failure".
absl::string_view LookupOutcomeName(LookupOutcome outcome);

struct LookupResult {
  LookupOutcome outcome = LookupOutcome::kTransientFailure;
  // kFound: the matching notifications, newest first as Notify lists them. More than one
  // means the reference was sent more than once.
  std::vector<NotificationInfo> notifications;
  // As in SendResult, for the failures.
  int http_status = 0;
  std::string error_type;
  std::string error_message;
};

// The Notify API as the notification service uses it; a seam for fakes in tests.
class NotifyApi {
 public:
  virtual ~NotifyApi() = default;
  // POST /v2/notifications/sms
  virtual SendResult SendSms(const SmsMessage& message) = 0;
  // POST /v2/notifications/email
  virtual SendResult SendEmail(const EmailMessage& message) = 0;
  // POST /v2/notifications/letter
  virtual SendResult SendLetter(const LetterMessage& message) = 0;
  // GET /v2/notifications?reference=...: the notifications sent with `reference` within
  // Notify's data retention (7 days by default). Safe to retry.
  virtual LookupResult Lookup(absl::string_view reference) = 0;
  // GET /v2/notifications/{id}: kNotFound when Notify has no such notification.
  virtual LookupResult GetNotification(absl::string_view notification_id) = 0;
};

struct NotifyClientOptions {
  // "https://host[:port][/prefix]"; "http://" only for a loopback host (a local stand-in).
  std::string base_url = std::string(kProductionBaseUrl);
  // The API key (secret). Never logged, never in an error.
  std::string api_key;
  // Longest wait to connect; a send that cannot connect is a transient failure.
  absl::Duration connect_timeout = absl::Seconds(5);
  // Longest wait for each read of the answer; a send that times out is in doubt.
  absl::Duration read_timeout = absl::Seconds(30);
  // Longest wait for each write of the request.
  absl::Duration write_timeout = absl::Seconds(10);
  // PEM file of trusted CAs; empty: the system's trust store.
  std::string ca_cert_file;
  std::string user_agent = "hub-notification";
};

class NotifyClient final : public NotifyApi {
 public:
  // kInvalidArgument naming the setting for a bad base URL or API key, or saying which
  // timeout is not positive. `clock` gives each token's iat.
  static absl::StatusOr<std::unique_ptr<NotifyClient>> Create(NotifyClientOptions options,
                                                              std::shared_ptr<clock::Clock> clock);
  ~NotifyClient() override;
  NotifyClient(const NotifyClient&) = delete;
  NotifyClient& operator=(const NotifyClient&) = delete;

  SendResult SendSms(const SmsMessage& message) override;
  SendResult SendEmail(const EmailMessage& message) override;
  SendResult SendLetter(const LetterMessage& message) override;
  LookupResult Lookup(absl::string_view reference) override;
  LookupResult GetNotification(absl::string_view notification_id) override;

  // The service id from the key (not secret), for logs.
  const std::string& service_id() const { return key_.service_id; }

 private:
  NotifyClient(NotifyClientOptions options, std::shared_ptr<clock::Clock> clock, ApiKey key,
               std::string scheme_host_port, std::string path_prefix);

  // POSTs `body` to `path` and classifies the answer; `sensitive` are the values to redact
  // from any error message.
  SendResult Post(absl::string_view path, const std::string& body,
                  const std::vector<std::string>& sensitive);
  // GETs `path` (with `reference` as a query parameter when not empty).
  LookupResult Get(absl::string_view path, absl::string_view reference, bool is_list);

  // An idle HTTP client, or a new one; given back by Release after a call.
  std::unique_ptr<httplib::Client> Acquire();
  void Release(std::unique_ptr<httplib::Client> client);

  const NotifyClientOptions options_;
  const std::shared_ptr<clock::Clock> clock_;
  const ApiKey key_;
  const std::string scheme_host_port_;
  const std::string path_prefix_;

  absl::Mutex mu_;
  // httplib clients are not used concurrently; idle ones are kept so a TLS context (and
  // its loaded trust store) is made once per concurrent caller, not once per request.
  std::vector<std::unique_ptr<httplib::Client>> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hub::notification::notify

#endif  // HUB_SERVICES_NOTIFICATION_NOTIFY_NOTIFY_CLIENT_H_
