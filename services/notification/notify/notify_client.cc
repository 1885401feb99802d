#include "services/notification/notify/notify_client.h"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"

#include "services/common/config/config.h"
#include "services/notification/notify/jwt.h"

namespace hub::notification::notify {
namespace {

using nlohmann::json;

constexpr size_t kUuidLength = 36;
// Idle HTTP clients kept for reuse; more concurrent callers simply make more.
constexpr size_t kMaxIdleClients = 16;
// Longest error message kept from Notify.
constexpr size_t kMaxErrorMessage = 500;
// Values shorter than this are not redacted from error messages: they would mangle the
// message and cannot identify anyone.
constexpr size_t kMinRedactedLength = 3;

// "invalid setting --x (HUB_X): reason", the config library's wording, without the value.
absl::Status SettingError(absl::string_view setting, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid setting --", setting, " (", config::ConfigSource::EnvName(setting), "): ", reason));
}

// Blocks SIGPIPE on the calling thread for the duration of one HTTP exchange and swallows
// a SIGPIPE the exchange raised. httplib's client writes with plain send(): a peer that
// closed the connection would otherwise kill the whole process. (httplib's Server
// constructor ignores SIGPIPE process-wide, so a service with a health server is safe
// anyway; the client must not depend on that, and must not change the disposition itself.)
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &previous_);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~ScopedSigpipeBlock() {
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        timespec no_wait = {0, 0};
        sigtimedwait(&pipe_, nullptr, &no_wait);
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t pipe_;
  sigset_t previous_;
  bool was_pending_ = false;
};

bool IsLoopbackHost(absl::string_view host) {
  if (host == "localhost" || host == "[::1]") {
    return true;
  }
  // 127.x.y.z as four numbers, so that a name such as "127.example.org" does not pass.
  std::vector<absl::string_view> parts = absl::StrSplit(host, '.');
  if (parts.size() != 4 || parts[0] != "127") {
    return false;
  }
  for (absl::string_view part : parts) {
    int value = 0;
    if (part.empty() || part.size() > 3 || !absl::SimpleAtoi(part, &value) || value > 255 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
  }
  return true;
}

struct BaseUrl {
  std::string scheme_host_port;
  std::string path_prefix;
};

absl::StatusOr<BaseUrl> ParseBaseUrl(absl::string_view url) {
  bool https = absl::StartsWith(url, "https://");
  if (!https && !absl::StartsWith(url, "http://")) {
    return SettingError(kBaseUrlSetting,
                        "must start with https:// (http:// only for a loopback stand-in)");
  }
  absl::string_view scheme = https ? "https" : "http";
  absl::string_view rest = url.substr(scheme.size() + 3);
  if (absl::StrContains(rest, '@')) {
    // The part before '@' could be a credential: not echoed.
    return SettingError(kBaseUrlSetting, "must not carry user information ('user@')");
  }
  if (absl::StrContains(rest, '?') || absl::StrContains(rest, '#')) {
    return SettingError(kBaseUrlSetting, absl::StrCat("'", url, "': must not have a query"));
  }
  size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  absl::string_view path =
      slash == absl::string_view::npos ? absl::string_view() : rest.substr(slash);
  while (absl::ConsumeSuffix(&path, "/")) {
  }
  absl::string_view host = authority;
  absl::string_view port;
  if (absl::StartsWith(authority, "[")) {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return SettingError(kBaseUrlSetting, absl::StrCat("'", url, "': unclosed '[' in host"));
    }
    host = authority.substr(0, close + 1);
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty() && !absl::ConsumePrefix(&after, ":")) {
      return SettingError(kBaseUrlSetting, absl::StrCat("'", url, "': bad port"));
    }
    port = after;
  } else if (size_t colon = authority.rfind(':'); colon != absl::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) {
      return SettingError(kBaseUrlSetting, absl::StrCat("'", url, "': empty port"));
    }
  }
  if (host.empty() || host == "[]") {
    return SettingError(kBaseUrlSetting, absl::StrCat("'", url, "': no host"));
  }
  if (!port.empty()) {
    int port_number = 0;
    if (!absl::SimpleAtoi(port, &port_number) || port_number < 1 || port_number > 65535) {
      return SettingError(kBaseUrlSetting, absl::StrCat("'", url, "': port must be 1-65535"));
    }
  }
  if (!https && !IsLoopbackHost(host)) {
    return SettingError(kBaseUrlSetting,
                        absl::StrCat("'", url,
                                     "': http:// sends the API token and personal data in "
                                     "clear; use https:// (http:// is for a loopback stand-in)"));
  }
  return BaseUrl{absl::StrCat(scheme, "://", authority), std::string(path)};
}

// The first violation of the rules every message shares, naming the field, never its value.
absl::Status CheckCommon(absl::string_view template_id, absl::string_view reference,
                         const Personalisation& personalisation) {
  if (!IsUuid(template_id)) {
    return absl::InvalidArgumentError("template_id is not a UUID");
  }
  if (reference.empty()) {
    return absl::InvalidArgumentError(
        "reference is empty: every message needs a stable reference so an attempt in doubt "
        "can be looked up");
  }
  for (const auto& [key, value] : personalisation) {
    if (key.empty()) {
      return absl::InvalidArgumentError("personalisation has an empty placeholder name");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckOptionalUuid(absl::string_view value, absl::string_view field) {
  if (!value.empty() && !IsUuid(value)) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is not a UUID"));
  }
  return absl::OkStatus();
}

absl::Status CheckLetterAddress(const Personalisation& personalisation) {
  auto present = [&](const std::string& key) {
    auto it = personalisation.find(key);
    return it != personalisation.end() && !absl::StripAsciiWhitespace(it->second).empty();
  };
  if (!present("address_line_1")) {
    return absl::InvalidArgumentError("personalisation has no address_line_1");
  }
  int lines = 0;
  for (int i = 1; i <= 7; ++i) {
    lines += present(absl::StrCat("address_line_", i)) ? 1 : 0;
  }
  lines += present("postcode") ? 1 : 0;
  if (lines < 3) {
    return absl::InvalidArgumentError("the address must have at least 3 lines");
  }
  return absl::OkStatus();
}

SendResult Refused(const absl::Status& status) {
  SendResult result;
  result.outcome = SendOutcome::kPermanentFailure;
  result.error_type = "ClientValidationError";
  result.error_message = std::string(status.message());
  return result;
}

json PersonalisationJson(const Personalisation& personalisation) {
  json object = json::object();
  for (const auto& [key, value] : personalisation) {
    object[key] = value;
  }
  return object;
}

// The values a Notify error message must never repeat.
std::vector<std::string> SensitiveValues(absl::string_view recipient,
                                         const Personalisation& personalisation) {
  std::vector<std::string> values;
  if (!recipient.empty()) {
    values.emplace_back(recipient);
  }
  for (const auto& [key, value] : personalisation) {
    values.push_back(value);
  }
  return values;
}

std::string Redact(std::string message, const std::vector<std::string>& sensitive) {
  for (const std::string& value : sensitive) {
    if (value.size() >= kMinRedactedLength) {
      absl::StrReplaceAll({{value, "<redacted>"}}, &message);
    }
  }
  if (message.size() > kMaxErrorMessage) {
    message.resize(kMaxErrorMessage);
    absl::StrAppend(&message, "...");
  }
  return message;
}

std::string StringField(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int IntField(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int>() : 0;
}

// Notify's error body {"status_code":..,"errors":[{"error":..,"message":..}]}: the first
// error's type and every message, or false when the body is not one.
bool ParseNotifyError(const std::string& body, std::string* type, std::string* message) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return false;
  }
  auto errors = parsed.find("errors");
  if (errors == parsed.end() || !errors->is_array() || errors->empty()) {
    return false;
  }
  std::vector<std::string> messages;
  for (const json& error : *errors) {
    if (!error.is_object()) {
      continue;
    }
    if (type->empty()) {
      *type = StringField(error, "error");
    }
    std::string text = StringField(error, "message");
    if (!text.empty()) {
      messages.push_back(std::move(text));
    }
  }
  *message = absl::StrJoin(messages, "; ");
  return !type->empty() || !message->empty();
}

// Fills the error fields from an HTTP error answer.
template <typename Result>
void FillHttpError(const httplib::Response& response, const std::vector<std::string>& sensitive,
                   Result* result) {
  result->http_status = response.status;
  std::string type;
  std::string message;
  if (ParseNotifyError(response.body, &type, &message)) {
    result->error_type = type.empty() ? "HttpError" : type;
    result->error_message = Redact(std::move(message), sensitive);
  } else {
    // Not Notify's shape (a proxy's page?): the body is not repeated.
    result->error_type = "HttpError";
    result->error_message = absl::StrCat("HTTP ", response.status, " without a Notify error body");
  }
}

// True when nothing of the request can have reached the server.
bool FailedBeforeSending(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
    case httplib::Error::ConnectionTimeout:
    case httplib::Error::BindIPAddress:
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLLoadingCerts:
    case httplib::Error::SSLServerVerification:
      return true;
    default:
      return false;
  }
}

NotificationInfo InfoFromJson(const json& object) {
  NotificationInfo info;
  info.id = StringField(object, "id");
  info.reference = StringField(object, "reference");
  info.type = StringField(object, "type");
  info.status = StringField(object, "status");
  info.created_at = StringField(object, "created_at");
  auto template_it = object.find("template");
  if (template_it != object.end() && template_it->is_object()) {
    info.template_id = StringField(*template_it, "id");
    info.template_version = IntField(*template_it, "version");
  }
  return info;
}

// A token is made for every request: Notify refuses one more than 30 s old.
httplib::Headers RequestHeaders(const ApiKey& key, absl::Time now, const std::string& user_agent) {
  return {{"Authorization",
           absl::StrCat("Bearer ", SignNotifyJwt(key.service_id, now, key.secret_key))},
          {"Accept", "application/json"},
          {"User-Agent", user_agent}};
}

bool IsHexDigit(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

}  // namespace

bool IsUuid(absl::string_view text) {
  if (text.size() != kUuidLength) {
    return false;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !IsHexDigit(text[i])) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<ApiKey> ParseApiKey(absl::string_view api_key) {
  if (api_key.empty()) {
    return SettingError(kApiKeySetting,
                        "is required (the API key from Notify's API integration page)");
  }
  if (absl::StripAsciiWhitespace(api_key) != api_key) {
    return SettingError(kApiKeySetting,
                        "has leading or trailing whitespace (the value is not shown)");
  }
  constexpr absl::string_view kShape =
      "must be '<key name>-<service id>-<secret key>' as Notify issues it, ending in two "
      "UUIDs (the value is not shown)";
  // name (at least one character), '-', service id, '-', secret key.
  if (api_key.size() < 1 + 1 + kUuidLength + 1 + kUuidLength) {
    return SettingError(kApiKeySetting, kShape);
  }
  absl::string_view secret = api_key.substr(api_key.size() - kUuidLength);
  absl::string_view service = api_key.substr(api_key.size() - 2 * kUuidLength - 1, kUuidLength);
  absl::string_view name = api_key.substr(0, api_key.size() - 2 * kUuidLength - 2);
  if (api_key[api_key.size() - kUuidLength - 1] != '-' ||
      api_key[api_key.size() - 2 * kUuidLength - 2] != '-' || !IsUuid(secret) || !IsUuid(service)) {
    return SettingError(kApiKeySetting, kShape);
  }
  return ApiKey{std::string(name), std::string(service), std::string(secret)};
}

absl::string_view SendOutcomeName(SendOutcome outcome) {
  switch (outcome) {
    case SendOutcome::kSent:
      return "sent";
    case SendOutcome::kTransientFailure:
      return "transient_failure";
    case SendOutcome::kPermanentFailure:
      return "permanent_failure";
    case SendOutcome::kInDoubt:
      return "in_doubt";
  }
  return "unknown";
}

absl::string_view LookupOutcomeName(LookupOutcome outcome) {
  switch (outcome) {
    case LookupOutcome::kFound:
      return "found";
    case LookupOutcome::kNotFound:
      return "not_found";
    case LookupOutcome::kTransientFailure:
      return "transient_failure";
    case LookupOutcome::kPermanentFailure:
      return "permanent_failure";
  }
  return "unknown";
}

SendOutcome SendOutcomeForStatus(int http_status) {
  if (http_status >= 200 && http_status < 300) {
    return SendOutcome::kSent;
  }
  // A gateway's 502 or 504 can come after the service behind it took the request.
  if (http_status == 502 || http_status == 504) {
    return SendOutcome::kInDoubt;
  }
  if (http_status == 408 || http_status == 429 || (http_status >= 500 && http_status < 600)) {
    return SendOutcome::kTransientFailure;
  }
  return SendOutcome::kPermanentFailure;
}

absl::StatusOr<std::unique_ptr<NotifyClient>> NotifyClient::Create(
    NotifyClientOptions options, std::shared_ptr<clock::Clock> clock) {
  absl::StatusOr<BaseUrl> base_url = ParseBaseUrl(options.base_url);
  if (!base_url.ok()) {
    return base_url.status();
  }
  absl::StatusOr<ApiKey> key = ParseApiKey(options.api_key);
  if (!key.ok()) {
    return key.status();
  }
  if (options.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("Notify connect timeout must be positive");
  }
  if (options.read_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("Notify read timeout must be positive");
  }
  if (options.write_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("Notify write timeout must be positive");
  }
  if (clock == nullptr) {
    return absl::InvalidArgumentError("the Notify client needs a clock");
  }
  return std::unique_ptr<NotifyClient>(
      new NotifyClient(std::move(options), std::move(clock), *std::move(key),
                       std::move(base_url->scheme_host_port), std::move(base_url->path_prefix)));
}

NotifyClient::NotifyClient(NotifyClientOptions options, std::shared_ptr<clock::Clock> clock,
                           ApiKey key, std::string scheme_host_port, std::string path_prefix)
    : options_(std::move(options)),
      clock_(std::move(clock)),
      key_(std::move(key)),
      scheme_host_port_(std::move(scheme_host_port)),
      path_prefix_(std::move(path_prefix)) {}

NotifyClient::~NotifyClient() = default;

std::unique_ptr<httplib::Client> NotifyClient::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      std::unique_ptr<httplib::Client> client = std::move(idle_.back());
      idle_.pop_back();
      return client;
    }
  }
  auto client = std::make_unique<httplib::Client>(scheme_host_port_);
  client->set_connection_timeout(absl::ToChronoMicroseconds(options_.connect_timeout));
  client->set_read_timeout(absl::ToChronoMicroseconds(options_.read_timeout));
  client->set_write_timeout(absl::ToChronoMicroseconds(options_.write_timeout));
  // A fresh connection per request: a kept-alive one that the server closed meanwhile
  // would turn a send into an attempt in doubt.
  client->set_keep_alive(false);
  client->set_follow_location(false);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  client->enable_server_certificate_verification(true);
  if (!options_.ca_cert_file.empty()) {
    client->set_ca_cert_path(options_.ca_cert_file);
  }
#endif
  return client;
}

void NotifyClient::Release(std::unique_ptr<httplib::Client> client) {
  absl::MutexLock lock(&mu_);
  if (idle_.size() < kMaxIdleClients) {
    idle_.push_back(std::move(client));
  }
}

SendResult NotifyClient::SendSms(const SmsMessage& message) {
  absl::Status valid = CheckCommon(message.template_id, message.reference, message.personalisation);
  if (valid.ok() && message.phone_number.empty()) {
    valid = absl::InvalidArgumentError("phone_number is empty");
  }
  if (valid.ok()) {
    valid = CheckOptionalUuid(message.sms_sender_id, "sms_sender_id");
  }
  if (!valid.ok()) {
    return Refused(valid);
  }
  json body = {{"phone_number", message.phone_number},
               {"template_id", message.template_id},
               {"personalisation", PersonalisationJson(message.personalisation)},
               {"reference", message.reference}};
  if (!message.sms_sender_id.empty()) {
    body["sms_sender_id"] = message.sms_sender_id;
  }
  std::vector<std::string> sensitive =
      SensitiveValues(message.phone_number, message.personalisation);
  std::string text;
  try {
    text = body.dump();
  } catch (const json::exception&) {
    return Refused(absl::InvalidArgumentError("a value is not valid UTF-8"));
  }
  return Post("/v2/notifications/sms", text, sensitive);
}

SendResult NotifyClient::SendEmail(const EmailMessage& message) {
  absl::Status valid = CheckCommon(message.template_id, message.reference, message.personalisation);
  if (valid.ok() && message.email_address.empty()) {
    valid = absl::InvalidArgumentError("email_address is empty");
  }
  if (valid.ok()) {
    valid = CheckOptionalUuid(message.email_reply_to_id, "email_reply_to_id");
  }
  if (!valid.ok()) {
    return Refused(valid);
  }
  json body = {{"email_address", message.email_address},
               {"template_id", message.template_id},
               {"personalisation", PersonalisationJson(message.personalisation)},
               {"reference", message.reference}};
  if (!message.email_reply_to_id.empty()) {
    body["email_reply_to_id"] = message.email_reply_to_id;
  }
  std::vector<std::string> sensitive =
      SensitiveValues(message.email_address, message.personalisation);
  std::string text;
  try {
    text = body.dump();
  } catch (const json::exception&) {
    return Refused(absl::InvalidArgumentError("a value is not valid UTF-8"));
  }
  return Post("/v2/notifications/email", text, sensitive);
}

SendResult NotifyClient::SendLetter(const LetterMessage& message) {
  absl::Status valid = CheckCommon(message.template_id, message.reference, message.personalisation);
  if (valid.ok()) {
    valid = CheckLetterAddress(message.personalisation);
  }
  if (!valid.ok()) {
    return Refused(valid);
  }
  json body = {{"template_id", message.template_id},
               {"personalisation", PersonalisationJson(message.personalisation)},
               {"reference", message.reference}};
  std::vector<std::string> sensitive = SensitiveValues("", message.personalisation);
  std::string text;
  try {
    text = body.dump();
  } catch (const json::exception&) {
    return Refused(absl::InvalidArgumentError("a value is not valid UTF-8"));
  }
  return Post("/v2/notifications/letter", text, sensitive);
}

SendResult NotifyClient::Post(absl::string_view path, const std::string& body,
                              const std::vector<std::string>& sensitive) {
  httplib::Headers headers = RequestHeaders(key_, clock_->Now(), options_.user_agent);
  std::unique_ptr<httplib::Client> http = Acquire();
  httplib::Result answer(nullptr, httplib::Error::Unknown);
  {
    ScopedSigpipeBlock no_sigpipe;
    answer = http->Post(absl::StrCat(path_prefix_, path), headers, body, "application/json");
  }
  Release(std::move(http));

  SendResult result;
  if (!answer) {
    httplib::Error error = answer.error();
    if (FailedBeforeSending(error)) {
      result.outcome = SendOutcome::kTransientFailure;
      result.error_type = "ConnectionFailed";
      result.error_message =
          absl::StrCat("could not reach Notify (", httplib::to_string(error), "): nothing sent");
    } else if (error == httplib::Error::Read) {
      result.outcome = SendOutcome::kInDoubt;
      result.error_type = "NoAnswer";
      result.error_message =
          "no answer from Notify after the request was written (timeout or connection lost)";
    } else if (error == httplib::Error::Write) {
      result.outcome = SendOutcome::kInDoubt;
      result.error_type = "ConnectionLost";
      result.error_message = "the connection to Notify broke while the request was written";
    } else {
      result.outcome = SendOutcome::kInDoubt;
      result.error_type = "TransportError";
      result.error_message =
          absl::StrCat("the exchange with Notify failed (", httplib::to_string(error), ")");
    }
    return result;
  }
  const httplib::Response& response = *answer;
  result.outcome = SendOutcomeForStatus(response.status);
  if (result.outcome != SendOutcome::kSent) {
    FillHttpError(response, sensitive, &result);
    return result;
  }
  result.http_status = response.status;
  // Only the id and the template version are read: "content" is the rendered message.
  json parsed = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  std::string id = parsed.is_object() ? StringField(parsed, "id") : std::string();
  if (!IsUuid(id)) {
    result.outcome = SendOutcome::kInDoubt;
    result.error_type = "UnreadableResponse";
    result.error_message =
        absl::StrCat("Notify answered ", response.status, " without a notification id");
    return result;
  }
  result.notification_id = std::move(id);
  auto template_it = parsed.find("template");
  if (template_it != parsed.end() && template_it->is_object()) {
    result.template_version = IntField(*template_it, "version");
  }
  return result;
}

LookupResult NotifyClient::Lookup(absl::string_view reference) {
  if (reference.empty()) {
    LookupResult result;
    result.outcome = LookupOutcome::kPermanentFailure;
    result.error_type = "ClientValidationError";
    result.error_message = "reference is empty";
    return result;
  }
  return Get("/v2/notifications", reference, /*is_list=*/true);
}

LookupResult NotifyClient::GetNotification(absl::string_view notification_id) {
  if (!IsUuid(notification_id)) {
    LookupResult result;
    result.outcome = LookupOutcome::kPermanentFailure;
    result.error_type = "ClientValidationError";
    result.error_message = "notification id is not a UUID";
    return result;
  }
  return Get(absl::StrCat("/v2/notifications/", notification_id), "", /*is_list=*/false);
}

LookupResult NotifyClient::Get(absl::string_view path, absl::string_view reference, bool is_list) {
  httplib::Headers headers = RequestHeaders(key_, clock_->Now(), options_.user_agent);
  std::string full_path = absl::StrCat(path_prefix_, path);
  std::unique_ptr<httplib::Client> http = Acquire();
  httplib::Result answer(nullptr, httplib::Error::Unknown);
  {
    ScopedSigpipeBlock no_sigpipe;
    if (reference.empty()) {
      answer = http->Get(full_path, headers);
    } else {
      answer =
          http->Get(full_path, httplib::Params{{"reference", std::string(reference)}}, headers);
    }
  }
  Release(std::move(http));

  LookupResult result;
  if (!answer) {
    // A lookup changes nothing at Notify: whatever broke, asking again is safe.
    result.outcome = LookupOutcome::kTransientFailure;
    result.error_type = FailedBeforeSending(answer.error()) ? "ConnectionFailed" : "NoAnswer";
    result.error_message =
        absl::StrCat("lookup at Notify failed (", httplib::to_string(answer.error()), ")");
    return result;
  }
  const httplib::Response& response = *answer;
  result.http_status = response.status;
  if (response.status == 404 && !is_list) {
    result.outcome = LookupOutcome::kNotFound;
    return result;
  }
  if (response.status != 200) {
    bool transient = response.status == 408 || response.status == 429 ||
                     (response.status >= 500 && response.status < 600);
    result.outcome =
        transient ? LookupOutcome::kTransientFailure : LookupOutcome::kPermanentFailure;
    FillHttpError(response, {}, &result);
    return result;
  }
  json parsed = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) {
    result.outcome = LookupOutcome::kTransientFailure;
    result.error_type = "UnreadableResponse";
    result.error_message = "Notify's answer to a lookup is not a JSON object";
    return result;
  }
  if (!is_list) {
    NotificationInfo info = InfoFromJson(parsed);
    if (info.id.empty()) {
      result.outcome = LookupOutcome::kTransientFailure;
      result.error_type = "UnreadableResponse";
      result.error_message = "Notify's answer to a lookup has no notification id";
      return result;
    }
    result.outcome = LookupOutcome::kFound;
    result.notifications.push_back(std::move(info));
    return result;
  }
  auto list = parsed.find("notifications");
  if (list == parsed.end() || !list->is_array()) {
    result.outcome = LookupOutcome::kTransientFailure;
    result.error_type = "UnreadableResponse";
    result.error_message = "Notify's answer to a lookup has no notifications list";
    return result;
  }
  for (const json& item : *list) {
    if (!item.is_object()) {
      continue;
    }
    NotificationInfo info = InfoFromJson(item);
    // Kept only if it really carries the reference: a server that ignored the filter must
    // not make an unsent message look sent.
    if (info.reference == reference && !info.id.empty()) {
      result.notifications.push_back(std::move(info));
    }
  }
  result.outcome = result.notifications.empty() ? LookupOutcome::kNotFound : LookupOutcome::kFound;
  return result;
}

}  // namespace hub::notification::notify
