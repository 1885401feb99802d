#include "services/notification/notify/notify_stand_in.h"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "openssl/rand.h"
#include <sys/socket.h>

#include "services/notification/notify/jwt.h"

namespace hub::notification::notify {
namespace {

using nlohmann::json;

constexpr absl::string_view kNotificationsPath = "/v2/notifications";

// One entry of Notify's "errors" list.
struct ApiError {
  std::string type;
  std::string message;
};

std::string ErrorBody(int status, const std::vector<ApiError>& errors) {
  json list = json::array();
  for (const ApiError& error : errors) {
    list.push_back({{"error", error.type}, {"message", error.message}});
  }
  return json{{"status_code", status}, {"errors", list}}.dump();
}

std::string RandomUuid() {
  unsigned char bytes[16] = {};
  RAND_bytes(bytes, sizeof(bytes));
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);
  std::string hex =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(bytes), 16));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20));
}

// Notify's UK mobile rule, roughly: 07 followed by 9 digits, or the same after 44/+44/0044,
// ignoring spaces, brackets and dashes.
bool IsUkMobile(const std::string& number) {
  std::string digits;
  for (char c : number) {
    if (c == ' ' || c == '(' || c == ')' || c == '-') {
      continue;
    }
    digits.push_back(c);
  }
  absl::string_view rest = digits;
  if (!absl::ConsumePrefix(&rest, "+44") && !absl::ConsumePrefix(&rest, "0044") &&
      !absl::ConsumePrefix(&rest, "44")) {
    if (!absl::ConsumePrefix(&rest, "0")) {
      return false;
    }
  }
  if (rest.size() != 10 || rest[0] != '7') {
    return false;
  }
  return std::all_of(rest.begin(), rest.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

bool IsEmailAddress(const std::string& address) {
  size_t at = address.find('@');
  return at != std::string::npos && at > 0 && address.find('.', at) != std::string::npos &&
         address.back() != '.' && address.find(' ') == std::string::npos;
}

// The string at `key`, or "" when absent or not a string (never throws).
std::string StringAt(const json& object, const std::string& key) {
  if (!object.is_object()) {
    return "";
  }
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool IsNonEmptyString(const json& object, const std::string& key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() &&
         !absl::StripAsciiWhitespace(it->get<std::string>()).empty();
}

// Every schema problem of a send's body, in Notify's wording (which names fields and
// never repeats values).
std::vector<ApiError> ValidateSend(const std::string& type, const json& body) {
  std::vector<ApiError> errors;
  auto add = [&](std::string message) {
    errors.push_back({"ValidationError", std::move(message)});
  };
  std::set<std::string> allowed = {"template_id", "personalisation", "reference"};
  std::vector<std::string> required = {"template_id"};
  if (type == "sms") {
    allowed.insert({"phone_number", "sms_sender_id", "scheduled_for"});
    required.push_back("phone_number");
  } else if (type == "email") {
    allowed.insert(
        {"email_address", "email_reply_to_id", "one_click_unsubscribe_url", "scheduled_for"});
    required.push_back("email_address");
  } else {
    required.push_back("personalisation");
  }
  for (const std::string& field : required) {
    if (!body.contains(field)) {
      add(absl::StrCat(field, " is a required property"));
    }
  }
  for (const auto& [key, value] : body.items()) {
    if (allowed.count(key) == 0) {
      add(absl::StrCat("Additional properties are not allowed (", key, " was unexpected)"));
    }
  }
  auto string_field = [&](const std::string& field) -> const json* {
    auto it = body.find(field);
    if (it == body.end()) {
      return nullptr;
    }
    if (!it->is_string()) {
      add(absl::StrCat(field, " is not of type string"));
      return nullptr;
    }
    return &*it;
  };
  for (const char* field : {"template_id", "sms_sender_id", "email_reply_to_id"}) {
    if (const json* value = string_field(field);
        value != nullptr && !IsUuid(value->get<std::string>())) {
      add(absl::StrCat(field, " is not a valid UUID"));
    }
  }
  string_field("reference");
  if (const json* phone = string_field("phone_number");
      phone != nullptr && !IsUkMobile(phone->get<std::string>())) {
    add("phone_number Not a UK mobile number");
  }
  if (const json* email = string_field("email_address");
      email != nullptr && !IsEmailAddress(email->get<std::string>())) {
    add("email_address Not a valid email address");
  }
  auto personalisation = body.find("personalisation");
  if (personalisation != body.end()) {
    if (!personalisation->is_object()) {
      add("personalisation is not of type object");
    } else if (type == "letter") {
      if (!IsNonEmptyString(*personalisation, "address_line_1")) {
        add("personalisation address_line_1 is a required property");
      }
      int lines = 0;
      for (int i = 1; i <= 7; ++i) {
        lines += IsNonEmptyString(*personalisation, absl::StrCat("address_line_", i)) ? 1 : 0;
      }
      lines += IsNonEmptyString(*personalisation, "postcode") ? 1 : 0;
      if (lines < 3) {
        add("Address must be at least 3 lines");
      }
    }
  }
  return errors;
}

// The rendered message: the stand-in has no templates, so it lists the values, which (as
// in Notify's real answers) puts personal data in "content".
std::string RenderedBody(const json& personalisation) {
  std::vector<std::string> values;
  if (personalisation.is_object()) {
    for (const auto& [key, value] : personalisation.items()) {
      values.push_back(value.is_string() ? value.get<std::string>() : value.dump());
    }
  }
  return absl::StrCat("Stand-in message: ", absl::StrJoin(values, " / "));
}

}  // namespace

namespace internal {

struct StandInAnswer {
  int status = 200;
  std::string body;
  std::string error_type;
  std::string error_message;
  std::string notification_id;
};

}  // namespace internal

namespace {

using internal::StandInAnswer;

StandInAnswer ErrorAnswer(int status, std::vector<ApiError> errors) {
  StandInAnswer answer;
  answer.status = status;
  answer.error_type = errors.empty() ? "" : errors.front().type;
  answer.error_message = errors.empty() ? "" : errors.front().message;
  answer.body = ErrorBody(status, errors);
  return answer;
}

StandInAnswer ErrorAnswer(int status, std::string type, std::string message) {
  return ErrorAnswer(status, {ApiError{std::move(type), std::move(message)}});
}

}  // namespace

absl::StatusOr<std::unique_ptr<NotifyStandIn>> NotifyStandIn::Start(NotifyStandInOptions options) {
  absl::StatusOr<ApiKey> key = ParseApiKey(options.api_key);
  if (!key.ok()) {
    return key.status();
  }
  std::unique_ptr<NotifyStandIn> stand_in(new NotifyStandIn(std::move(options), *std::move(key)));
  stand_in->server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *stand_in->server_;
  NotifyStandIn* self = stand_in.get();
  auto handler = [self](const httplib::Request& request, httplib::Response& response) {
    self->Handle(request, response);
  };
  // One catch-all per method, so that requests to unknown paths are recorded too.
  server.Get(".*", handler);
  server.Post(".*", handler);
  server.Put(".*", handler);
  server.Patch(".*", handler);
  server.Delete(".*", handler);
  // httplib's default also sets SO_REUSEPORT, which would let a second stand-in share a
  // fixed port silently; SO_REUSEADDR alone allows a quick restart but refuses a live one.
  server.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  const std::string& host = self->options_.host;
  int port = self->options_.port;
  if (port == 0) {
    port = server.bind_to_any_port(host);
  } else if (!server.bind_to_port(host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return absl::UnavailableError(absl::StrCat("the Notify stand-in cannot listen on ", host, ":",
                                               self->options_.port,
                                               ": the port is taken or the address is not local"));
  }
  stand_in->port_ = port;
  stand_in->thread_ = std::thread([self] {
    // The worker threads inherit this mask: writing an answer to a client that gave up
    // must not kill the test process with SIGPIPE.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    self->server_->listen_after_bind();
  });
  // httplib's stop() does nothing until the accept loop runs, so Start waits for it.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!server.is_running() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  if (!server.is_running()) {
    return absl::UnavailableError("the Notify stand-in did not start serving");
  }
  return stand_in;
}

NotifyStandIn::NotifyStandIn(NotifyStandInOptions options, ApiKey key)
    : options_(std::move(options)), key_(std::move(key)) {}

NotifyStandIn::~NotifyStandIn() { Stop(); }

void NotifyStandIn::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (server_ != nullptr) {
    server_->stop();
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

std::string NotifyStandIn::base_url() const {
  return absl::StrCat("http://", options_.host, ":", port_);
}

std::vector<RecordedRequest> NotifyStandIn::requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

std::vector<StoredNotification> NotifyStandIn::notifications() const {
  absl::MutexLock lock(&mu_);
  return notifications_;
}

void NotifyStandIn::FailNext(int count, int status, const std::string& error_type,
                             const std::string& message) {
  absl::MutexLock lock(&mu_);
  for (int i = 0; i < count; ++i) {
    Fault fault;
    fault.kind = Fault::Kind::kFail;
    fault.status = status;
    fault.error_type = error_type;
    fault.message = message;
    faults_.push_back(std::move(fault));
  }
}

void NotifyStandIn::DelayNextAnswer(int count, absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  for (int i = 0; i < count; ++i) {
    Fault fault;
    fault.kind = Fault::Kind::kDelay;
    fault.delay = delay;
    faults_.push_back(std::move(fault));
  }
}

void NotifyStandIn::DropNextAnswer(int count) {
  absl::MutexLock lock(&mu_);
  for (int i = 0; i < count; ++i) {
    Fault fault;
    fault.kind = Fault::Kind::kDrop;
    faults_.push_back(std::move(fault));
  }
}

void NotifyStandIn::SetStatus(const std::string& notification_id, const std::string& status) {
  absl::MutexLock lock(&mu_);
  for (StoredNotification& notification : notifications_) {
    if (notification.id == notification_id) {
      notification.status = status;
    }
  }
}

void NotifyStandIn::Handle(const httplib::Request& request, httplib::Response& response) {
  size_t index = 0;
  std::optional<Fault> fault;
  {
    absl::MutexLock lock(&mu_);
    RecordedRequest recorded;
    recorded.method = request.method;
    recorded.path = request.path;
    recorded.reference_param = request.get_param_value("reference");
    recorded.authorization = request.get_header_value("Authorization");
    recorded.body = request.body;
    index = requests_.size();
    requests_.push_back(std::move(recorded));
    if (!faults_.empty()) {
      fault = faults_.front();
      faults_.pop_front();
    }
  }
  Answer answer;
  if (fault.has_value() && fault->kind == Fault::Kind::kFail) {
    if (fault->error_type.empty()) {
      answer.status = fault->status;
      answer.body = "<html><body>stand-in proxy failure</body></html>";
    } else {
      answer = ErrorAnswer(fault->status, fault->error_type, fault->message);
    }
  } else {
    answer = Process(request);
  }
  RecordedRequest recorded_copy;
  std::optional<StoredNotification> created;
  {
    absl::MutexLock lock(&mu_);
    RecordedRequest& recorded = requests_[index];
    recorded.status = answer.status;
    recorded.error_type = answer.error_type;
    recorded.error_message = answer.error_message;
    recorded.notification_id = answer.notification_id;
    if (options_.on_request) {
      recorded_copy = recorded;
      for (const StoredNotification& stored : notifications_) {
        if (!answer.notification_id.empty() && stored.id == answer.notification_id) {
          created = stored;
          break;
        }
      }
    }
  }
  if (options_.on_request) {
    options_.on_request(recorded_copy, created.has_value() ? &*created : nullptr);
  }
  if (fault.has_value() && fault->kind == Fault::Kind::kDelay) {
    // Held back until the delay passes or the stand-in stops.
    mu_.LockWhenWithTimeout(absl::Condition(&stopping_), fault->delay);
    mu_.Unlock();
  }
  response.status = answer.status;
  bool json_body = absl::StartsWith(answer.body, "{");
  const char* content_type = json_body ? "application/json" : "text/html";
  if (fault.has_value() && fault->kind == Fault::Kind::kDrop) {
    // The status line and headers go out; the provider then fails, so httplib closes the
    // connection before the body.
    response.set_content_provider(
        answer.body.size(), content_type,
        [](size_t /*offset*/, size_t /*length*/, httplib::DataSink& /*sink*/) { return false; });
    return;
  }
  response.set_content(answer.body, content_type);
}

NotifyStandIn::Answer NotifyStandIn::Process(const httplib::Request& request) {
  absl::string_view path = request.path;
  bool is_post = request.method == "POST";
  bool is_get = request.method == "GET";
  std::string send_type;
  std::string notification_id;
  bool list = false;
  absl::string_view rest = path;
  if (absl::ConsumePrefix(&rest, kNotificationsPath)) {
    if (rest.empty() || rest == "/") {
      list = is_get;
    } else if (absl::ConsumePrefix(&rest, "/") && !absl::StrContains(rest, '/')) {
      if (is_post && (rest == "sms" || rest == "email" || rest == "letter")) {
        send_type = std::string(rest);
      } else if (is_get) {
        notification_id = std::string(rest);
      }
    }
  }
  if (send_type.empty() && notification_id.empty() && !list) {
    return ErrorAnswer(404, "NotFound", "The requested URL was not found on the server.");
  }
  if (std::optional<Answer> refused = Authenticate(request); refused.has_value()) {
    return *refused;
  }
  if (!send_type.empty()) {
    return CreateNotification(send_type, request.body);
  }
  if (list) {
    return ListNotifications(request);
  }
  return GetNotification(notification_id);
}

std::optional<NotifyStandIn::Answer> NotifyStandIn::Authenticate(
    const httplib::Request& request) const {
  if (!request.has_header("Authorization")) {
    return ErrorAnswer(401, "AuthError", "Unauthorized: authentication token must be provided");
  }
  const std::string header = request.get_header_value("Authorization");
  absl::string_view token = header;
  if (!absl::ConsumePrefix(&token, "Bearer ")) {
    return ErrorAnswer(401, "AuthError", "Unauthorized: authentication bearer scheme must be used");
  }
  absl::StatusOr<JwtClaims> unverified = DecodeJwtClaimsUnverified(token);
  if (!unverified.ok()) {
    return ErrorAnswer(403, "AuthError", "Invalid token: signature, api token not found");
  }
  if (!IsUuid(unverified->iss)) {
    return ErrorAnswer(403, "AuthError", "Invalid token: service id is not the right data type");
  }
  if (unverified->iss != key_.service_id) {
    return ErrorAnswer(403, "AuthError", "Invalid token: service not found");
  }
  absl::StatusOr<JwtClaims> claims = VerifyHs256Jwt(token, key_.secret_key);
  if (!claims.ok()) {
    if (claims.status().code() == absl::StatusCode::kInvalidArgument &&
        absl::StrContains(claims.status().message(), "HS256")) {
      return ErrorAnswer(403, "AuthError", "Invalid token: algorithm used is not HS256");
    }
    return ErrorAnswer(403, "AuthError", "Invalid token: signature, api token not found");
  }
  const clock::Clock& clock = options_.clock != nullptr ? *options_.clock : clock::SystemClock();
  int64_t now = absl::ToUnixSeconds(clock.Now());
  int64_t tolerance = absl::ToInt64Seconds(options_.clock_tolerance);
  if (now > claims->iat + tolerance || claims->iat > now + tolerance) {
    return ErrorAnswer(403, "AuthError",
                       "Error: Your system clock must be accurate to within 30 seconds");
  }
  return std::nullopt;
}

NotifyStandIn::Answer NotifyStandIn::CreateNotification(const std::string& type,
                                                        const std::string& body_text) {
  json body = json::parse(body_text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return ErrorAnswer(400, "BadRequestError", "Invalid JSON supplied in POST data");
  }
  std::vector<ApiError> errors = ValidateSend(type, body);
  if (!errors.empty()) {
    return ErrorAnswer(400, std::move(errors));
  }
  const clock::Clock& clock = options_.clock != nullptr ? *options_.clock : clock::SystemClock();
  StoredNotification stored;
  stored.id = RandomUuid();
  stored.type = type;
  stored.reference = StringAt(body, "reference");
  stored.template_id = body["template_id"].get<std::string>();
  stored.created_at = absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", clock.Now(), absl::UTCTimeZone());
  stored.request_body = body_text;

  std::string base = base_url();
  json content = {
      {"body", RenderedBody(body.contains("personalisation") ? body["personalisation"] : json())}};
  if (type == "sms") {
    content["from_number"] = "HUB";
  } else {
    content["subject"] = "Stand-in subject";
    if (type == "email") {
      content["from_email"] = "hub@notifications.service.gov.uk";
    }
  }
  json response = {
      {"id", stored.id},
      {"reference", stored.reference.empty() ? json(nullptr) : json(stored.reference)},
      {"content", content},
      {"uri", absl::StrCat(base, kNotificationsPath, "/", stored.id)},
      {"template",
       {{"id", stored.template_id},
        {"version", 1},
        {"uri", absl::StrCat(base, "/v2/template/", stored.template_id, "/version/1")}}},
      {"scheduled_for", nullptr}};
  Answer answer;
  answer.status = 201;
  answer.body = response.dump();
  answer.notification_id = stored.id;
  absl::MutexLock lock(&mu_);
  notifications_.push_back(std::move(stored));
  return answer;
}

namespace {

// A stored notification as Notify's GET endpoints return it, recipient and body included.
json NotificationJson(const StoredNotification& stored, const std::string& base) {
  json request = json::parse(stored.request_body, nullptr, /*allow_exceptions=*/false);
  json personalisation = json::object();
  if (request.is_object() && request.contains("personalisation")) {
    personalisation = request["personalisation"];
  }
  json result = {{"id", stored.id},
                 {"reference", stored.reference.empty() ? json(nullptr) : json(stored.reference)},
                 {"type", stored.type},
                 {"status", stored.status},
                 {"template",
                  {{"id", stored.template_id},
                   {"version", 1},
                   {"uri", absl::StrCat(base, "/v2/template/", stored.template_id, "/version/1")}}},
                 {"body", RenderedBody(personalisation)},
                 {"subject", stored.type == "sms" ? json(nullptr) : json("Stand-in subject")},
                 {"created_at", stored.created_at},
                 {"created_by_name", nullptr},
                 {"sent_at", nullptr},
                 {"completed_at", nullptr}};
  if (stored.type == "sms") {
    result["phone_number"] = StringAt(request, "phone_number");
  } else if (stored.type == "email") {
    result["email_address"] = StringAt(request, "email_address");
  } else {
    for (int i = 1; i <= 6; ++i) {
      std::string line = absl::StrCat("address_line_", i);
      result[absl::StrCat("line_", i)] = StringAt(personalisation, line);
    }
    result["postcode"] = StringAt(personalisation, "postcode");
  }
  return result;
}

}  // namespace

NotifyStandIn::Answer NotifyStandIn::ListNotifications(const httplib::Request& request) const {
  std::string base = base_url();
  bool by_reference = request.has_param("reference") && !options_.ignore_reference_filter;
  std::string reference = request.get_param_value("reference");
  bool by_type = request.has_param("template_type");
  std::string template_type = request.get_param_value("template_type");
  json list = json::array();
  {
    absl::MutexLock lock(&mu_);
    for (auto it = notifications_.rbegin(); it != notifications_.rend(); ++it) {
      if ((by_reference && it->reference != reference) || (by_type && it->type != template_type)) {
        continue;
      }
      list.push_back(NotificationJson(*it, base));
    }
  }
  std::string current = absl::StrCat(base, kNotificationsPath);
  if (by_reference) {
    absl::StrAppend(&current, "?reference=", reference);
  }
  Answer answer;
  answer.status = 200;
  answer.body = json{{"notifications", list}, {"links", {{"current", current}}}}.dump();
  return answer;
}

NotifyStandIn::Answer NotifyStandIn::GetNotification(const std::string& id) const {
  if (!IsUuid(id)) {
    return ErrorAnswer(400, "ValidationError", "notification_id is not a valid UUID");
  }
  std::string base = base_url();
  absl::MutexLock lock(&mu_);
  for (const StoredNotification& stored : notifications_) {
    if (stored.id == id) {
      Answer answer;
      answer.status = 200;
      answer.body = NotificationJson(stored, base).dump();
      return answer;
    }
  }
  return ErrorAnswer(404, "NoResultFound", "No result found");
}

std::string RecordLine(const RecordedRequest& request, const StoredNotification* created,
                       bool include_content) {
  if (created != nullptr) {
    json sent = json::parse(created->request_body, nullptr, /*allow_exceptions=*/false);
    json personalisation = json::object();
    if (sent.is_object() && sent.contains("personalisation") &&
        sent["personalisation"].is_object()) {
      personalisation = sent["personalisation"];
    }
    json keys = json::array();
    for (const auto& [key, value] : personalisation.items()) {
      keys.push_back(key);
    }
    // In this order, so that a reader of `tail -f` sees what happened first.
    nlohmann::ordered_json line = {{"event", "accepted"},
                                   {"id", created->id},
                                   {"reference", created->reference},
                                   {"type", created->type},
                                   {"template_id", created->template_id},
                                   {"created_at", created->created_at},
                                   {"personalisation_keys", keys}};
    if (include_content) {
      line["personalisation"] = nlohmann::ordered_json(personalisation);
    }
    return line.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  if (request.status < 400) {
    return "";
  }
  return nlohmann::ordered_json{{"event", "refused"},
                                {"method", request.method},
                                {"path", request.path},
                                {"status", request.status},
                                {"error_type", request.error_type},
                                {"message", request.error_message}}
      // A path is decoded from the URL, so it may not be UTF-8.
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace hub::notification::notify
