// The outbox: sends each message at most once, on a safe channel, and proves what happened.
//
// A message is first recorded (Enqueue: the intent, in Redis, before anything is sent) with
// its plan, the channels to try in order (contact_policy.h). A durable timer
// ("send:<message id>", services/common/timers) then drives it through these states:
//
//   PENDING ──(its time; compare-and-set to SENDING, then send)──> SENT
//      │                                 ├─ transient failure ──> PENDING (retry later: backoff
//      │                                 │                        with jitter, up to a limit)
//      │                                 ├─ permanent failure ──> PENDING on the next route
//      │                                 │                        (dead letter + staff alert)
//      │                                 └─ no answer ──────────> IN_DOUBT
//      └─ the route is a call task ────────────────────────────> CALL_TASK (staff queue)
//   SENDING found by anyone but its sender (the sender crashed) ─> IN_DOUBT
//   IN_DOUBT, Notify: look the reference up: there ─> SENT (or failed: next route);
//             not there once the settle time has passed since the attempt ─> PENDING (resend)
//   IN_DOUBT, email over SMTP: cannot be looked up ─> CALL_TASK "check delivery" (never resent)
//
// At most once: a send happens only after this process moved the message from PENDING to
// SENDING by compare-and-set, so two timers, two processes or a redelivered event can never
// both send it; a crash during or after a send leaves SENDING, which is resolved by lookup,
// never by a blind resend. Nothing lost: the intent is in Redis before the triggering
// event's offset is committed, and the timer fires until the message reaches a final state
// (SENT, CALL_TASK, WITHHELD, FAILED).
//
// Every step is reported once it is stored: a NotificationStatusChanged event
// (<ns>.notification.status.v1) with an id derived from the message and the step, a line in
// the case's history, and, for a permanent failure, a record on the dead-letter topic and a
// StaffAlert (DELIVERY_FAILED). Reports are made from the stored state and marked done
// after, so a crash in between repeats them with the same ids (consumers drop repeats).
//
// Personal data: a victim's contact details and name are opened from the sealed data only
// to send, and go nowhere but the channel. Thread-safe; any number of outboxes (processes)
// may share a namespace.
#ifndef HUB_SERVICES_NOTIFICATION_OUTBOX_OUTBOX_H_
#define HUB_SERVICES_NOTIFICATION_OUTBOX_OUTBOX_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

#include "hub/notification/v1/notification.pb.h"
#include "services/common/casestate/case_store.h"
#include "services/common/clock/clock.h"
#include "services/common/events/topics.h"
#include "services/common/kafka/kafka.h"
#include "services/common/metrics/metrics.h"
#include "services/common/seal/crypto.h"
#include "services/common/timers/timer_store.h"
#include "services/notification/outbox/channels.h"
#include "services/notification/outbox/message_store.h"
#include "services/notification/templates/templates.h"

namespace hub::notification::outbox {

// One generation of a victim's data key: kNotFound once erased.
using KeyLookup = std::function<absl::StatusOr<seal::DataKey>(absl::string_view key_id,
                                                              absl::string_view generation)>;

inline constexpr absl::string_view kSendTimerKind = "send";

struct OutboxOptions {
  // Attempts on one route before a run of transient failures counts as a permanent one.
  int max_attempts_per_route = 6;
  // Backoff before attempt n+1: initial * 2^(n-1), at most max, times a random factor in
  // [0.5, 1) so a burst of failures does not come back all at once.
  absl::Duration initial_backoff = absl::Seconds(30);
  absl::Duration max_backoff = absl::Hours(1);
  // How long after an attempt a lookup that finds nothing is conclusive (the channel's
  // read timeout and then some: a request in flight may still land).
  absl::Duration settle_time = absl::Minutes(2);
  // How soon to ask again when the channel could not be asked.
  absl::Duration lookup_retry = absl::Seconds(30);
  // The consumer group named on dead letters.
  std::string consumer_group = "notification";
  absl::Duration publish_timeout = absl::Seconds(30);
  // Reasonable hours for SMS and calls to routes without safe times ([start, end) minutes
  // after midnight, UK time), checked again at every attempt.
  int reasonable_hours_start_minute = 8 * 60;
  int reasonable_hours_end_minute = 20 * 60;
  // Tests only: called after each send, before its outcome is stored; an error stops the
  // attempt there, as a crash at that moment would (the message stays SENDING).
  std::function<absl::Status()> after_send;
};

struct OutboxDeps {
  MessageStore* store = nullptr;
  timers::TimerStore* timers = nullptr;
  kafka::Producer* producer = nullptr;
  casestate::CaseStore* cases = nullptr;
  std::shared_ptr<clock::Clock> clock;
  events::TopicNames topics;
  const templates::TemplateSet* templates = nullptr;
  Channels* channels = nullptr;
  KeyLookup keys;
  // Counters of attempts and settled messages; null: none.
  metrics::Registry* metrics = nullptr;
};

class Outbox {
 public:
  Outbox(OutboxDeps deps, OutboxOptions options);

  // Records the message (unless its id is already recorded), publishes its
  // NotificationRecorded and sets its timer. Safe to repeat: a repeat changes nothing but
  // the timer of a message still pending. Returns the message as stored.
  absl::StatusOr<StoredMessage> Enqueue(const hub::notification::v1::OutgoingMessage& message);

  // The timer handler: moves the message on as far as it can go now.
  absl::Status OnTimer(const timers::Timer& timer);

  // Moves message `message_id` on as far as it can go now and reports every step.
  absl::Status Advance(absl::string_view message_id);

  // Staff: a call task or email check is done. kNotFound, or kFailedPrecondition when the
  // message is not waiting for staff. Idempotent.
  absl::StatusOr<hub::notification::v1::OutgoingMessage> CompleteTask(
      absl::string_view message_id, absl::string_view completed_by, absl::string_view outcome);

  static std::string TimerId(absl::string_view message_id);

 private:
  enum class Step { kMoved, kDone };

  // One transition (or report) of the stored message; kMoved when it should be read again.
  absl::StatusOr<Step> StepOnce(absl::string_view message_id);
  // Publishes what the stored message has not yet reported; true when something was.
  absl::StatusOr<bool> Report(hub::notification::v1::OutgoingMessage& message);
  // Attempt `index`, which failed for good: its dead letter and (but for staff messages) a
  // staff alert.
  absl::Status ReportFailure(const hub::notification::v1::OutgoingMessage& message, int index);
  // Publishes `status` as step `step` of the message and records it in the case's history.
  absl::Status Tell(const hub::notification::v1::OutgoingMessage& message,
                    const hub::events::v1::NotificationStatusChanged& status,
                    absl::string_view step, absl::string_view detail,
                    std::vector<std::pair<std::string, std::string>> attributes);
  absl::StatusOr<Step> StartAttempt(StoredMessage stored);
  absl::StatusOr<Step> ResolveInDoubt(StoredMessage stored);
  // Opens the victim's details and renders the message for `route`.
  absl::StatusOr<Delivery> Compose(const hub::notification::v1::OutgoingMessage& message,
                                   int route) const;
  absl::Status Schedule(absl::string_view message_id, absl::Time at);
  absl::Status Publish(kafka::OutgoingRecord record);
  absl::StatusOr<bool> Save(hub::notification::v1::OutgoingMessage& message, int64_t version);
  absl::Duration Backoff(int attempt);
  // The earliest the victim's safe times (or reasonable hours) let `route` be used.
  absl::Time EarliestAllowed(const hub::notification::v1::OutgoingMessage& message,
                             const hub::notification::v1::PlannedRoute& route,
                             absl::Time now) const;

  // hub_notification_attempts_total{channel, outcome} and
  // hub_notification_messages_total{state}, by key "<channel>/<outcome>" and "<state>".
  metrics::Counter* Counter(const std::string& key) const;

  const OutboxDeps deps_;
  const OutboxOptions options_;
  std::map<std::string, metrics::Counter*> counters_;
  absl::Mutex random_mu_;
  uint64_t random_state_ ABSL_GUARDED_BY(random_mu_);
};

// The reference sent with route `route` of a message: "<message id>-<route>".
std::string ReferenceFor(absl::string_view message_id, int route);

}  // namespace hub::notification::outbox

#endif  // HUB_SERVICES_NOTIFICATION_OUTBOX_OUTBOX_H_
