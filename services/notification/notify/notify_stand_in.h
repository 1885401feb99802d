// A local stand-in for GOV.UK Notify, for tests and the local stack: an HTTP server (by
// default on 127.0.0.1 and a free port) that speaks the part of the v2 API the hub uses.
// hub-notify-stand-in (stand_in_main.cc) runs it as a process.
//
//   POST /v2/notifications/sms | email | letter   checks the token and the body as Notify
//        does (required fields, UUIDs, no unknown fields, a letter's address), stores the
//        notification and answers 201 {id, reference, content, uri, template, ...}
//   GET  /v2/notifications?reference=R[&template_type=T]   the stored ones, newest first
//   GET  /v2/notifications/{id}                             one, or 404
//
// Tokens are checked as Notify checks them: a Bearer JWT whose iss is the configured
// key's service id, signed HS256 with its secret, and whose iat is within the tolerance
// of the stand-in's clock; failures answer 401 or 403 with Notify's AuthError messages.
// Errors use Notify's body {"status_code":..,"errors":[{"error":..,"message":..}]}.
//
// Every request is recorded (routed or not) with its method, path, Authorization header,
// body and the status answered. Tests inject faults into the next requests: fail them
// with a status (nothing stored), or process and store them but answer late or drop the
// connection before the answer's body (a send in doubt).
//
// Like Notify, the answers and lookups repeat recipients and rendered content: this is
// code for tests and local stacks only, for checking that the client never keeps them.
//
// Lifecycle: Start() binds and serves on background threads; Stop() or the destructor
// ends serving, waking any answer held back by a delay. Thread-safe; the on_request hook
// runs on the server's threads, several at once.
#ifndef HUB_SERVICES_NOTIFICATION_NOTIFY_NOTIFY_STAND_IN_H_
#define HUB_SERVICES_NOTIFICATION_NOTIFY_NOTIFY_STAND_IN_H_

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

#include "services/common/clock/clock.h"
#include "services/notification/notify/notify_client.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace hub::notification::notify {

namespace internal {
// What the stand-in answers to one request (defined in the .cc).
struct StandInAnswer;
}  // namespace internal

// One request as the stand-in saw it.
struct RecordedRequest {
  std::string method;
  // Without the query string.
  std::string path;
  // The ?reference= parameter of a lookup, decoded.
  std::string reference_param;
  std::string authorization;
  std::string body;
  // What the stand-in answered (or started to answer, for a dropped answer).
  int status = 0;
  // Notify's error type and first message when it answered an error (the messages name
  // fields, never values).
  std::string error_type;
  std::string error_message;
  // The notification the request created, if any.
  std::string notification_id;
};

// A notification the stand-in accepted.
struct StoredNotification {
  std::string id;
  // "sms", "email" or "letter".
  std::string type;
  std::string reference;
  std::string template_id;
  std::string status = "created";
  std::string created_at;
  // The request body that created it.
  std::string request_body;
};

struct NotifyStandInOptions {
  // The one API key whose tokens are accepted (same format as the client's).
  std::string api_key;
  // The stand-in's clock, for iat checks and created_at; null: the system clock.
  std::shared_ptr<clock::Clock> clock;
  // Largest difference between a token's iat and the clock, either way.
  absl::Duration clock_tolerance = absl::Seconds(30);
  // Lists every notification whatever ?reference= says, like a server or proxy that drops
  // the query: a client must not take another message's notification for its own.
  bool ignore_reference_filter = false;
  // Where to listen. Port 0 picks a free one (see port()).
  std::string host = "127.0.0.1";
  int port = 0;
  // Called once per request when its answer is decided (before any injected delay), with the
  // notification it created, or null. Runs on the server's threads, several at once.
  std::function<void(const RecordedRequest&, const StoredNotification*)> on_request;
};

class NotifyStandIn {
 public:
  // kInvalidArgument for a bad key; kUnavailable if the host and port cannot be bound.
  static absl::StatusOr<std::unique_ptr<NotifyStandIn>> Start(NotifyStandInOptions options);
  ~NotifyStandIn();
  NotifyStandIn(const NotifyStandIn&) = delete;
  NotifyStandIn& operator=(const NotifyStandIn&) = delete;

  // "http://<host>:<port>".
  std::string base_url() const;
  int port() const { return port_; }

  std::vector<RecordedRequest> requests() const;
  std::vector<StoredNotification> notifications() const;

  // The next `count` requests are answered `status` with Notify's error body of
  // `error_type` and `message`, before any check; nothing is stored. An empty `error_type`
  // answers a plain-text body instead, as a proxy in front of Notify might.
  void FailNext(int count, int status, const std::string& error_type, const std::string& message);
  // The next `count` requests are handled normally (a send is stored) but answered only
  // after `delay` (or at Stop).
  void DelayNextAnswer(int count, absl::Duration delay);
  // The next `count` requests are handled normally (a send is stored); the answer's status
  // line and headers go out, then the connection closes before the body.
  void DropNextAnswer(int count);
  // Sets a stored notification's status ("delivered", "permanent-failure", ...).
  void SetStatus(const std::string& notification_id, const std::string& status);

  // Stops serving. Idempotent.
  void Stop();

 private:
  struct Fault {
    enum class Kind { kFail, kDelay, kDrop };
    Kind kind = Kind::kFail;
    int status = 0;
    std::string error_type;
    std::string message;
    absl::Duration delay;
  };
  using Answer = internal::StandInAnswer;

  NotifyStandIn(NotifyStandInOptions options, ApiKey key);
  // Every route ends here.
  void Handle(const httplib::Request& request, httplib::Response& response);
  // What to answer to `request` (`fault` aside).
  Answer Process(const httplib::Request& request);
  // Empty when the token is good; otherwise the answer refusing it.
  std::optional<Answer> Authenticate(const httplib::Request& request) const;
  Answer CreateNotification(const std::string& type, const std::string& body);
  Answer ListNotifications(const httplib::Request& request) const;
  Answer GetNotification(const std::string& id) const;

  const NotifyStandInOptions options_;
  const ApiKey key_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<RecordedRequest> requests_ ABSL_GUARDED_BY(mu_);
  // Oldest first.
  std::vector<StoredNotification> notifications_ ABSL_GUARDED_BY(mu_);
  std::deque<Fault> faults_ ABSL_GUARDED_BY(mu_);
};

// What a record file (hub-notify-stand-in --record) holds for one request: a JSON object
// on one line (no newline), or "" when there is nothing to record (a lookup that succeeded).
//   a send it accepted: {"event":"accepted","id","reference","type","template_id",
//     "created_at","personalisation_keys":[...]}, and with `include_content` also
//     "personalisation":{...}, the values as sent: personal data, for local demos only;
//   a request it refused (status 400 or more): {"event":"refused","method","path","status",
//     "error_type","message"}, which never holds a token or a value from the body.
std::string RecordLine(const RecordedRequest& request, const StoredNotification* created,
                       bool include_content);

}  // namespace hub::notification::notify

#endif  // HUB_SERVICES_NOTIFICATION_NOTIFY_NOTIFY_STAND_IN_H_
