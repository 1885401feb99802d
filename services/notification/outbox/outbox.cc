#include "services/notification/outbox/outbox.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"

#include "services/common/events/cloudevents.h"
#include "services/common/log/log.h"
#include "services/common/seal/pii.h"
#include "services/common/status/status_macros.h"
#include "services/notification/contact_policy.h"

namespace hub::notification::outbox {
namespace {

using google::protobuf::util::TimeUtil;
using hub::events::v1::Channel;
using hub::events::v1::DeliveryState;
using hub::notification::v1::Attempt;
using hub::notification::v1::MessageState;
using hub::notification::v1::OutgoingMessage;
using hub::notification::v1::PlannedRoute;

// Steps one Advance takes at most (a message has a handful of routes and states; more means
// a bug, not work).
constexpr int kMaxSteps = 64;

google::protobuf::Timestamp ToProto(absl::Time time) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(time));
}

absl::Time FromProto(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixMillis(TimeUtil::TimestampToMilliseconds(timestamp));
}

bool IsFinal(MessageState state) {
  return state == hub::notification::v1::MESSAGE_STATE_SENT ||
         state == hub::notification::v1::MESSAGE_STATE_CALL_TASK ||
         state == hub::notification::v1::MESSAGE_STATE_WITHHELD ||
         state == hub::notification::v1::MESSAGE_STATE_FAILED;
}

std::string ChannelWord(Channel channel) {
  switch (channel) {
    case hub::events::v1::CHANNEL_EMAIL:
      return "email";
    case hub::events::v1::CHANNEL_SMS:
      return "sms";
    case hub::events::v1::CHANNEL_LETTER:
      return "letter";
    case hub::events::v1::CHANNEL_CALL_TASK:
      return "call";
    default:
      return "none";
  }
}

absl::StatusOr<templates::Channel> TemplateChannel(Channel channel) {
  switch (channel) {
    case hub::events::v1::CHANNEL_EMAIL:
      return templates::Channel::kEmail;
    case hub::events::v1::CHANNEL_SMS:
      return templates::Channel::kSms;
    case hub::events::v1::CHANNEL_LETTER:
      return templates::Channel::kLetter;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("channel ", ChannelWord(channel), " has no written template"));
  }
}

// The name a message greets the victim (or their parent or guardian) by.
std::string GreetingName(const hub::intake::v1::PersonName& name) {
  return !name.given().empty() ? name.given() : name.family();
}

events::CloudEvent NotificationEvent(absl::string_view id, absl::string_view type, absl::Time now) {
  events::CloudEvent event;
  event.id = std::string(id);
  event.source = "notification";
  event.type = std::string(type);
  event.time = now;
  event.traceparent = events::NewTrace().ToTraceparent();
  return event;
}

// Events of a case are keyed by case id; a provider's or staff message without a case by
// its own id.
std::string KeyOf(const OutgoingMessage& message) {
  return message.case_id().empty() ? message.message_id() : message.case_id();
}

int AttemptsOnRoute(const OutgoingMessage& message, int route) {
  int count = 0;
  for (const Attempt& attempt : message.attempts()) {
    // A lookup that found nothing is not an attempt; everything else on the route is.
    if (attempt.route() == route &&
        attempt.outcome() != hub::events::v1::DELIVERY_STATE_NOT_RECEIVED) {
      ++count;
    }
  }
  return count;
}

// Moves to the next route after a permanent failure of the current one; a message with no
// route left has failed for good.
void NextRoute(OutgoingMessage& message, absl::string_view why) {
  message.set_current(message.current() + 1);
  if (message.current() < message.plan_size()) {
    message.set_state(hub::notification::v1::MESSAGE_STATE_PENDING);
    return;
  }
  message.set_state(hub::notification::v1::MESSAGE_STATE_FAILED);
  message.set_final_reason(absl::StrCat("every route failed; the last: ", why));
  message.set_state_reported(false);
}

hub::cases::v1::Stage HistoryStage(const OutgoingMessage& message) {
  return message.history_stage() == hub::cases::v1::STAGE_UNSPECIFIED
             ? hub::cases::v1::STAGE_NOTIFIED
             : message.history_stage();
}

// "sent", "in_doubt", "call_task", ... for the case history.
std::string StateWord(DeliveryState state) {
  return absl::AsciiStrToLower(
      absl::StripPrefix(hub::events::v1::DeliveryState_Name(state), "DELIVERY_STATE_"));
}

// The event for one step of `message`: what every step says.
hub::events::v1::NotificationStatusChanged StatusOf(const OutgoingMessage& message, Channel channel,
                                                    DeliveryState state, const std::string& reason,
                                                    const google::protobuf::Timestamp& at) {
  hub::events::v1::NotificationStatusChanged status;
  status.set_message_id(message.message_id());
  status.set_case_id(message.case_id());
  status.set_referral_id(message.referral_id());
  status.set_audience(message.audience());
  status.set_template_id(message.template_id());
  status.set_channel(channel);
  status.set_state(state);
  status.set_reason(reason);
  *status.mutable_changed_at() = at;
  return status;
}

DeliveryState FinalDeliveryState(MessageState state) {
  switch (state) {
    case hub::notification::v1::MESSAGE_STATE_SENT:
      return hub::events::v1::DELIVERY_STATE_SENT;
    case hub::notification::v1::MESSAGE_STATE_CALL_TASK:
      return hub::events::v1::DELIVERY_STATE_CALL_TASK;
    case hub::notification::v1::MESSAGE_STATE_WITHHELD:
      return hub::events::v1::DELIVERY_STATE_WITHHELD;
    default:
      return hub::events::v1::DELIVERY_STATE_FAILED;
  }
}

Medium MediumOf(Channel channel) {
  switch (channel) {
    case hub::events::v1::CHANNEL_EMAIL:
      return Medium::kEmail;
    case hub::events::v1::CHANNEL_SMS:
      return Medium::kSms;
    case hub::events::v1::CHANNEL_LETTER:
      return Medium::kLetter;
    default:
      return Medium::kCall;
  }
}

}  // namespace

absl::Time Outbox::EarliestAllowed(const OutgoingMessage& message, const PlannedRoute& route,
                                   absl::Time now) const {
  if (message.audience() != "victim" || route.route_index() < 0) {
    return now;
  }
  const bool guardian = message.use_guardian() && message.victim().has_parent_guardian();
  const auto& routes = guardian ? message.victim().parent_guardian().contact_routes()
                                : message.victim().contact_routes();
  if (route.route_index() >= routes.size()) {
    return now;
  }
  const absl::Time earliest =
      EarliestUse(routes[route.route_index()], MediumOf(route.channel()), now,
                  options_.reasonable_hours_start_minute, options_.reasonable_hours_end_minute);
  // A window that never opens was refused when the plan was made; never wait forever.
  return earliest == absl::InfiniteFuture() ? now : earliest;
}

std::string ReferenceFor(absl::string_view message_id, int route) {
  return absl::StrCat(message_id, "-", route);
}

std::string Outbox::TimerId(absl::string_view message_id) {
  return absl::StrCat("send:", message_id);
}

Outbox::Outbox(OutboxDeps deps, OutboxOptions options)
    : deps_(std::move(deps)),
      options_(std::move(options)),
      random_state_(static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())) | 1) {
  if (deps_.metrics == nullptr) {
    return;
  }
  for (const char* channel : {"email", "sms", "letter"}) {
    for (DeliveryState state :
         {hub::events::v1::DELIVERY_STATE_SENT, hub::events::v1::DELIVERY_STATE_RETRYING,
          hub::events::v1::DELIVERY_STATE_FAILED, hub::events::v1::DELIVERY_STATE_IN_DOUBT,
          hub::events::v1::DELIVERY_STATE_NOT_RECEIVED}) {
      counters_[absl::StrCat(channel, "/", StateWord(state))] =
          deps_.metrics->AddCounter("hub_notification_attempts_total",
                                    "Sends (and lookups of sends in doubt) by channel and outcome.",
                                    {{"channel", channel}, {"outcome", StateWord(state)}});
    }
  }
  for (DeliveryState state :
       {hub::events::v1::DELIVERY_STATE_SENT, hub::events::v1::DELIVERY_STATE_CALL_TASK,
        hub::events::v1::DELIVERY_STATE_WITHHELD, hub::events::v1::DELIVERY_STATE_FAILED}) {
    counters_[StateWord(state)] = deps_.metrics->AddCounter(
        "hub_notification_messages_total",
        "Messages settled, by how: sent, a call task for staff, withheld, or failed.",
        {{"state", StateWord(state)}});
  }
  MessageStore* store = deps_.store;
  deps_.metrics->AddCallbackGauge("hub_notification_open_tasks",
                                  "Call tasks and email checks waiting for Hub staff.", [store] {
                                    absl::StatusOr<int64_t> count = store->TaskCount();
                                    return count.ok() ? static_cast<double>(*count) : -1.0;
                                  });
}

metrics::Counter* Outbox::Counter(const std::string& key) const {
  auto it = counters_.find(key);
  return it == counters_.end() ? nullptr : it->second;
}

absl::Duration Outbox::Backoff(int attempt) {
  absl::Duration backoff = options_.initial_backoff;
  for (int i = 1; i < attempt && backoff < options_.max_backoff; ++i) {
    backoff *= 2;
  }
  backoff = std::min(backoff, options_.max_backoff);
  uint64_t random = 0;
  {
    absl::MutexLock lock(&random_mu_);
    // xorshift64*: good enough to spread retries; nothing depends on it being secret.
    random_state_ ^= random_state_ >> 12;
    random_state_ ^= random_state_ << 25;
    random_state_ ^= random_state_ >> 27;
    random = random_state_ * 2685821657736338717ULL;
  }
  const double factor = 0.5 + 0.5 * static_cast<double>(random >> 11) / 9007199254740992.0;
  return backoff * factor;
}

absl::Status Outbox::Schedule(absl::string_view message_id, absl::Time at) {
  return deps_.timers->Schedule(TimerId(message_id), kSendTimerKind, at, message_id).status();
}

absl::Status Outbox::Publish(kafka::OutgoingRecord record) {
  absl::Status status = deps_.producer->ProduceSync(std::move(record), options_.publish_timeout);
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat("notification: publish: ", status.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> Outbox::Save(OutgoingMessage& message, int64_t version) {
  *message.mutable_updated_at() = ToProto(deps_.clock->Now());
  HUB_ASSIGN_OR_RETURN(std::optional<int64_t> saved, deps_.store->Replace(message, version));
  return saved.has_value();
}

absl::StatusOr<StoredMessage> Outbox::Enqueue(const OutgoingMessage& message) {
  HUB_ASSIGN_OR_RETURN(StoredMessage stored, deps_.store->Create(message));
  const OutgoingMessage& kept = stored.message;

  hub::events::v1::NotificationRecorded recorded;
  recorded.set_case_id(kept.case_id());
  recorded.set_referral_id(kept.referral_id());
  recorded.set_notification_id(kept.message_id());
  recorded.set_audience(kept.audience());
  recorded.set_template_id(kept.template_id());
  for (const PlannedRoute& route : kept.plan()) {
    recorded.add_plan(route.channel());
  }
  if (kept.plan_size() > 0) {
    recorded.set_channel(kept.plan(0).channel());
    recorded.set_reason(kept.plan(0).reason());
    *recorded.mutable_not_before() = kept.plan(0).not_before();
  } else {
    recorded.set_channel(hub::events::v1::CHANNEL_NONE);
    recorded.set_reason(kept.final_reason());
  }
  *recorded.mutable_decisions() = kept.decisions();
  *recorded.mutable_recorded_at() = kept.created_at();
  HUB_RETURN_IF_ERROR(Publish(events::MakeRecord(
      deps_.topics.notification_recorded, KeyOf(kept), recorded,
      NotificationEvent(events::DeriveEventId(kept.message_id(), "notification/recorded"),
                        events::kNotificationRecordedType, FromProto(kept.created_at())))));

  if (kept.state() == hub::notification::v1::MESSAGE_STATE_PENDING ||
      kept.state() == hub::notification::v1::MESSAGE_STATE_SENDING ||
      kept.state() == hub::notification::v1::MESSAGE_STATE_IN_DOUBT) {
    absl::Time at = deps_.clock->Now();
    if (kept.state() == hub::notification::v1::MESSAGE_STATE_PENDING &&
        kept.current() < kept.plan_size() &&
        kept.plan(kept.current()).channel() != hub::events::v1::CHANNEL_CALL_TASK) {
      at = std::max(at, FromProto(kept.plan(kept.current()).not_before()));
    }
    HUB_RETURN_IF_ERROR(Schedule(kept.message_id(), at));
  } else if (!kept.state_reported()) {
    // A final state decided at once (withheld): reported now, not by a timer.
    HUB_RETURN_IF_ERROR(Advance(kept.message_id()));
  }
  return stored;
}

absl::Status Outbox::OnTimer(const timers::Timer& timer) {
  if (timer.kind != kSendTimerKind) {
    log::Warn("notification timer of an unknown kind ignored",
              {{"timer_id", timer.id}, {"kind", timer.kind}});
    return absl::OkStatus();
  }
  if (absl::Status id = ValidateMessageId("timer payload", timer.payload); !id.ok()) {
    log::Error("notification timer without a message id ignored", {{"timer_id", timer.id}});
    return absl::OkStatus();
  }
  return Advance(timer.payload);
}

absl::Status Outbox::Advance(absl::string_view message_id) {
  for (int i = 0; i < kMaxSteps; ++i) {
    HUB_ASSIGN_OR_RETURN(Step step, StepOnce(message_id));
    if (step == Step::kDone) {
      return absl::OkStatus();
    }
  }
  return absl::InternalError(absl::StrCat("notification message ", message_id,
                                          " did not settle in ", kMaxSteps, " steps"));
}

absl::StatusOr<Outbox::Step> Outbox::StepOnce(absl::string_view message_id) {
  HUB_ASSIGN_OR_RETURN(std::optional<StoredMessage> found, deps_.store->Get(message_id));
  if (!found.has_value()) {
    log::Warn("notification timer for a message that is not stored",
              {{"message_id", std::string(message_id)}});
    return Step::kDone;
  }
  StoredMessage stored = *std::move(found);
  OutgoingMessage& message = stored.message;

  // What is stored but not yet told comes first, so nothing is reported out of order.
  {
    OutgoingMessage reported = message;
    HUB_ASSIGN_OR_RETURN(bool told, Report(reported));
    if (told) {
      HUB_ASSIGN_OR_RETURN(bool saved, Save(reported, stored.version));
      static_cast<void>(saved);  // Lost to another handler: read again either way.
      return Step::kMoved;
    }
  }

  const absl::Time now = deps_.clock->Now();
  switch (message.state()) {
    case hub::notification::v1::MESSAGE_STATE_PENDING: {
      if (message.current() >= message.plan_size()) {
        message.set_state(hub::notification::v1::MESSAGE_STATE_FAILED);
        message.set_final_reason("no route left to try");
        message.set_state_reported(false);
        HUB_ASSIGN_OR_RETURN(bool saved, Save(message, stored.version));
        static_cast<void>(saved);
        return Step::kMoved;
      }
      const PlannedRoute& route = message.plan(message.current());
      // A call task is queued at once, due at the route's safe time: staff see what is
      // coming, not only what is due.
      if (route.channel() == hub::events::v1::CHANNEL_CALL_TASK) {
        message.set_state(hub::notification::v1::MESSAGE_STATE_CALL_TASK);
        message.set_final_reason(route.reason());
        message.set_state_reported(false);
        HUB_ASSIGN_OR_RETURN(bool saved, Save(message, stored.version));
        static_cast<void>(saved);
        return Step::kMoved;
      }
      absl::Time not_before = FromProto(route.not_before());
      // A retry waits for its backoff.
      for (const Attempt& attempt : message.attempts()) {
        if (attempt.route() == message.current() &&
            attempt.outcome() == hub::events::v1::DELIVERY_STATE_RETRYING) {
          not_before = std::max(not_before, FromProto(attempt.next_attempt_at()));
        }
      }
      // The victim's safe times (or reasonable hours) are checked again now: a retry, a
      // resend after a lookup or a later route must not go outside them either.
      not_before = std::max(not_before, EarliestAllowed(message, route, now));
      if (now < not_before) {
        HUB_RETURN_IF_ERROR(Schedule(message.message_id(), not_before));
        return Step::kDone;
      }
      return StartAttempt(std::move(stored));
    }
    case hub::notification::v1::MESSAGE_STATE_SENDING: {
      // Only the sender moves a message out of SENDING, and it does so before it returns:
      // finding one here means the sender stopped (crashed, or hung past its lease) after
      // it may have sent. The outcome is unknown.
      if (message.attempts_size() > 0) {
        Attempt& attempt = *message.mutable_attempts(message.attempts_size() - 1);
        attempt.set_outcome(hub::events::v1::DELIVERY_STATE_IN_DOUBT);
        attempt.set_reason("the sender stopped before recording the outcome");
        *attempt.mutable_ended_at() = ToProto(now);
        attempt.set_reported(false);
      }
      message.set_state(hub::notification::v1::MESSAGE_STATE_IN_DOUBT);
      HUB_ASSIGN_OR_RETURN(bool saved, Save(message, stored.version));
      static_cast<void>(saved);
      return Step::kMoved;
    }
    case hub::notification::v1::MESSAGE_STATE_IN_DOUBT:
      return ResolveInDoubt(std::move(stored));
    default:
      return Step::kDone;
  }
}

absl::StatusOr<Outbox::Step> Outbox::StartAttempt(StoredMessage stored) {
  OutgoingMessage& message = stored.message;
  const absl::Time now = deps_.clock->Now();
  const int route = message.current();

  // The intent to send this attempt is stored before anything goes out.
  Attempt* attempt = message.add_attempts();
  attempt->set_route(route);
  attempt->set_number(AttemptsOnRoute(message, route));
  *attempt->mutable_started_at() = ToProto(now);
  attempt->set_reference(ReferenceFor(message.message_id(), route));
  attempt->set_reported(true);  // Nothing to tell until it ends.
  message.set_state(hub::notification::v1::MESSAGE_STATE_SENDING);
  *message.mutable_updated_at() = ToProto(now);
  HUB_ASSIGN_OR_RETURN(std::optional<int64_t> sending,
                       deps_.store->Replace(message, stored.version));
  if (!sending.has_value()) {
    return Step::kMoved;  // Someone else moved it first: look again.
  }
  const int64_t version = *sending;
  attempt = message.mutable_attempts(message.attempts_size() - 1);

  absl::StatusOr<Delivery> delivery = Compose(message, route);
  SendReport report;
  if (absl::IsNotFound(delivery.status()) || absl::IsFailedPrecondition(delivery.status())) {
    // The victim's data was erased, or there is nobody to address: nothing may be sent,
    // on any route (not a channel's failure: no dead letter, no alert).
    attempt->set_outcome(hub::events::v1::DELIVERY_STATE_WITHHELD);
    attempt->set_reason(std::string(delivery.status().message()));
    *attempt->mutable_ended_at() = ToProto(now);
    attempt->set_reported(true);  // The final state tells it.
    message.set_state(hub::notification::v1::MESSAGE_STATE_WITHHELD);
    message.set_final_reason(std::string(delivery.status().message()));
    message.set_state_reported(false);
    HUB_ASSIGN_OR_RETURN(bool saved, Save(message, version));
    static_cast<void>(saved);
    return Step::kMoved;
  }
  if (!delivery.ok()) {
    if (absl::IsUnavailable(delivery.status()) || absl::IsDeadlineExceeded(delivery.status())) {
      // The key store could not be reached: nothing was sent; try again soon.
      report = {SendOutcome::kTransientFailure, "",
                absl::StrCat("the victim's details could not be opened now: ",
                             delivery.status().message())};
    } else {
      report = {SendOutcome::kPermanentFailure, "",
                absl::StrCat("the message could not be composed: ", delivery.status().message())};
    }
  } else {
    report = deps_.channels->Send(*delivery);
  }
  if (options_.after_send) {
    // A test's crash: stop here, as a process killed at this moment would.
    HUB_RETURN_IF_ERROR(options_.after_send());
  }

  const absl::Time ended = deps_.clock->Now();
  *attempt->mutable_ended_at() = ToProto(ended);
  attempt->set_reason(report.reason);
  attempt->set_reported(false);
  switch (report.outcome) {
    case SendOutcome::kSent:
      attempt->set_outcome(hub::events::v1::DELIVERY_STATE_SENT);
      attempt->set_channel_reference(report.channel_reference);
      message.set_state(hub::notification::v1::MESSAGE_STATE_SENT);
      message.set_final_reason(
          absl::StrCat("sent by ", ChannelWord(message.plan(route).channel())));
      message.set_state_reported(false);
      break;
    case SendOutcome::kTransientFailure:
      if (attempt->number() < options_.max_attempts_per_route) {
        attempt->set_outcome(hub::events::v1::DELIVERY_STATE_RETRYING);
        *attempt->mutable_next_attempt_at() = ToProto(ended + Backoff(attempt->number()));
        message.set_state(hub::notification::v1::MESSAGE_STATE_PENDING);
      } else {
        attempt->set_outcome(hub::events::v1::DELIVERY_STATE_FAILED);
        attempt->set_reason(absl::StrCat("gave up after ", attempt->number(),
                                         " temporary failures; the last: ", report.reason));
        NextRoute(message, attempt->reason());
      }
      break;
    case SendOutcome::kPermanentFailure:
      attempt->set_outcome(hub::events::v1::DELIVERY_STATE_FAILED);
      NextRoute(message, report.reason);
      break;
    case SendOutcome::kInDoubt:
      attempt->set_outcome(hub::events::v1::DELIVERY_STATE_IN_DOUBT);
      message.set_state(hub::notification::v1::MESSAGE_STATE_IN_DOUBT);
      break;
  }
  HUB_ASSIGN_OR_RETURN(bool saved, Save(message, version));
  if (!saved) {
    // Only the sender moves a SENDING message; losing here means a lease ran out and
    // another handler already declared it in doubt. Its lookup will find this send.
    log::Warn("notification outcome not recorded: the message moved meanwhile",
              {{"message_id", message.message_id()}});
  }
  return Step::kMoved;
}

absl::StatusOr<Outbox::Step> Outbox::ResolveInDoubt(StoredMessage stored) {
  OutgoingMessage& message = stored.message;
  const absl::Time now = deps_.clock->Now();
  const int route = message.current();
  const Channel channel = message.plan(route).channel();
  const Attempt* last = nullptr;
  for (const Attempt& attempt : message.attempts()) {
    if (attempt.route() == route) {
      last = &attempt;
    }
  }
  const absl::Time started = last != nullptr ? FromProto(last->started_at()) : now;

  LookupReport lookup = deps_.channels->Lookup(channel, ReferenceFor(message.message_id(), route));
  Attempt* resolved = message.add_attempts();
  resolved->set_route(route);
  resolved->set_number(last != nullptr ? last->number() : 0);
  *resolved->mutable_started_at() = ToProto(now);
  *resolved->mutable_ended_at() = ToProto(now);
  resolved->set_reference(ReferenceFor(message.message_id(), route));
  resolved->set_reason(lookup.reason);
  switch (lookup.outcome) {
    case LookupOutcome::kReceived:
      resolved->set_outcome(hub::events::v1::DELIVERY_STATE_SENT);
      resolved->set_channel_reference(lookup.channel_reference);
      message.set_state(hub::notification::v1::MESSAGE_STATE_SENT);
      message.set_final_reason(
          absl::StrCat("sent by ", ChannelWord(channel), " (found by its reference)"));
      message.set_state_reported(false);
      break;
    case LookupOutcome::kFailed:
      resolved->set_outcome(hub::events::v1::DELIVERY_STATE_FAILED);
      NextRoute(message, lookup.reason);
      break;
    case LookupOutcome::kNotReceived:
      if (now < started + options_.settle_time) {
        // A request still in flight may yet land: ask again once it cannot.
        HUB_RETURN_IF_ERROR(Schedule(message.message_id(), started + options_.settle_time));
        return Step::kDone;
      }
      resolved->set_outcome(hub::events::v1::DELIVERY_STATE_NOT_RECEIVED);
      resolved->set_reason(absl::StrCat("nothing under its reference ",
                                        absl::FormatDuration(now - started),
                                        " after the attempt: it may be sent again"));
      message.set_state(hub::notification::v1::MESSAGE_STATE_PENDING);
      break;
    case LookupOutcome::kUnknown:
      HUB_RETURN_IF_ERROR(Schedule(message.message_id(), now + options_.lookup_retry));
      return Step::kDone;
    case LookupOutcome::kCannotLookUp:
      // Email handed to an SMTP server cannot be looked up; a person checks, and it is
      // never sent again blindly.
      resolved->set_outcome(hub::events::v1::DELIVERY_STATE_IN_DOUBT);
      resolved->set_reason(absl::StrCat(ChannelWord(channel),
                                        " delivery is in doubt and cannot be looked up: Hub "
                                        "staff must check before anything is resent"));
      message.set_state(hub::notification::v1::MESSAGE_STATE_CALL_TASK);
      message.set_check_delivery(true);
      message.set_final_reason(resolved->reason());
      message.set_state_reported(false);
      break;
  }
  resolved->set_reported(false);
  HUB_ASSIGN_OR_RETURN(bool saved, Save(message, stored.version));
  static_cast<void>(saved);
  return Step::kMoved;
}

absl::StatusOr<Delivery> Outbox::Compose(const OutgoingMessage& message, int route) const {
  const PlannedRoute& planned = message.plan(route);
  Delivery delivery;
  delivery.message_id = message.message_id();
  delivery.channel = planned.channel();
  delivery.reference = ReferenceFor(message.message_id(), route);
  delivery.language =
      message.language() == "cy" ? templates::Language::kWelsh : templates::Language::kEnglish;
  templates::Variables variables(message.variables().begin(), message.variables().end());

  if (message.audience() == "victim") {
    hub::intake::v1::Victim victim = message.victim();
    if (!message.has_personal_data()) {
      return absl::FailedPreconditionError("no contact details are held for the victim");
    }
    const hub::seal::v1::SealedData& sealed = message.personal_data();
    HUB_ASSIGN_OR_RETURN(seal::DataKey key, deps_.keys(sealed.key_id(), sealed.key_generation()));
    if (absl::Status opened = seal::OpenPii(key, sealed, message.case_id(), &victim);
        !opened.ok()) {
      return absl::DataLossError("the victim's sealed details could not be opened");
    }
    const bool guardian = message.use_guardian() && victim.has_parent_guardian();
    const auto& routes =
        guardian ? victim.parent_guardian().contact_routes() : victim.contact_routes();
    if (planned.route_index() < 0 || planned.route_index() >= routes.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("route ", planned.route_index(), " is not among the contact routes"));
    }
    const hub::intake::v1::ContactRoute& contact = routes[planned.route_index()];
    const std::string name =
        GreetingName(guardian ? victim.parent_guardian().name() : victim.name());
    if (name.empty()) {
      return absl::FailedPreconditionError("no name to address the victim by");
    }
    variables["first_name"] = name;
    if (planned.channel() == hub::events::v1::CHANNEL_LETTER) {
      for (const std::string& line : contact.address().lines()) {
        delivery.postal_address.push_back(line);
      }
      delivery.postal_address.push_back(contact.address().town());
      delivery.postal_address.push_back(contact.address().postcode());
    } else {
      delivery.address = contact.value();
    }
  } else {
    delivery.address = message.address();
  }
  HUB_ASSIGN_OR_RETURN(templates::Channel template_channel, TemplateChannel(planned.channel()));
  HUB_ASSIGN_OR_RETURN(delivery.content,
                       deps_.templates->RenderChannel(message.template_id(), delivery.language,
                                                      template_channel, variables));
  return delivery;
}

absl::Status Outbox::ReportFailure(const OutgoingMessage& message, int index) {
  const absl::Time now = deps_.clock->Now();
  const Attempt& attempt = message.attempts(index);
  const Channel channel = message.plan(attempt.route()).channel();
  const std::string step = absl::StrCat("notification/attempt/", index);
  // The dead letter keeps the message (sealed data only) for a person to look at.
  kafka::OutgoingRecord dead = events::MakeRecord(
      deps_.topics.dead_letter, KeyOf(message), message,
      NotificationEvent(events::DeriveEventId(message.message_id(), absl::StrCat(step, "/dead")),
                        "uk.victimhub.notification.undeliverable.v1", now));
  dead.headers.push_back({kafka::kDeadLetterReasonHeader,
                          absl::StrCat(message.template_id(), " by ", ChannelWord(channel),
                                       " failed: ", attempt.reason())});
  dead.headers.push_back({kafka::kDeadLetterSourceTopicHeader, message.cause_topic()});
  dead.headers.push_back({kafka::kDeadLetterGroupHeader, options_.consumer_group});
  HUB_RETURN_IF_ERROR(Publish(std::move(dead)));
  if (message.audience() != "staff") {
    // A failed staff message raises no alert about itself (that would loop).
    hub::events::v1::StaffAlert alert;
    alert.set_alert_id(absl::StrCat("delivery:", message.message_id(), ":", index));
    alert.set_case_id(message.case_id());
    alert.set_referral_id(message.referral_id());
    alert.set_kind(hub::events::v1::STAFF_ALERT_KIND_DELIVERY_FAILED);
    const bool next_route = attempt.route() + 1 < message.plan_size();
    alert.set_reason(absl::StrCat(
        message.template_id(), " to the ", message.audience(), " could not be delivered by ",
        ChannelWord(channel),
        next_route ? absl::StrCat(
                         "; next: ", ChannelWord(message.plan(attempt.route() + 1).channel()), ".")
                   : "; no route is left: contact them another way."));
    *alert.mutable_raised_at() = ToProto(now);
    alert.set_message_id(message.message_id());
    alert.set_channel(ChannelWord(channel));
    alert.set_failure_reason(attempt.reason());
    HUB_RETURN_IF_ERROR(Publish(events::MakeRecord(
        deps_.topics.staff_alerts, KeyOf(message), alert,
        NotificationEvent(events::DeriveEventId(message.message_id(), absl::StrCat(step, "/alert")),
                          events::kStaffAlertType, now))));
  }
  return absl::OkStatus();
}

absl::Status Outbox::Tell(const OutgoingMessage& message,
                          const hub::events::v1::NotificationStatusChanged& status,
                          absl::string_view step, absl::string_view detail,
                          std::vector<std::pair<std::string, std::string>> attributes) {
  const absl::Time now = deps_.clock->Now();
  const std::string event_id = events::DeriveEventId(message.message_id(), step);
  HUB_RETURN_IF_ERROR(Publish(events::MakeRecord(
      deps_.topics.notification_status, KeyOf(message), status,
      NotificationEvent(event_id, events::kNotificationStatusChangedType, now))));
  if (message.case_id().empty() || deps_.cases == nullptr) {
    return absl::OkStatus();
  }
  casestate::CaseStep history;
  history.case_id = message.case_id();
  history.stage = HistoryStage(message);
  history.service = "notification";
  history.event_id = event_id;
  history.recorded_at = FromProto(status.changed_at());
  history.detail = std::string(detail);
  history.attributes = std::move(attributes);
  return deps_.cases->RecordStep(history).status();
}

absl::StatusOr<bool> Outbox::Report(OutgoingMessage& message) {
  const absl::Time now = deps_.clock->Now();
  bool told = false;
  for (int i = 0; i < message.attempts_size(); ++i) {
    Attempt& attempt = *message.mutable_attempts(i);
    if (attempt.reported() || attempt.outcome() == hub::events::v1::DELIVERY_STATE_UNSPECIFIED) {
      continue;
    }
    const Channel channel = message.plan(attempt.route()).channel();
    log::Info("notification delivery step",
              {{"message_id", message.message_id()},
               {"template_id", message.template_id()},
               {"channel", ChannelWord(channel)},
               {"state", hub::events::v1::DeliveryState_Name(attempt.outcome())},
               {"attempt", static_cast<int64_t>(attempt.number())},
               {"reason", attempt.reason()}});
    if (metrics::Counter* counter =
            Counter(absl::StrCat(ChannelWord(channel), "/", StateWord(attempt.outcome())));
        counter != nullptr) {
      counter->Increment();
    }
    const std::string step = absl::StrCat("notification/attempt/", i);
    if (attempt.outcome() == hub::events::v1::DELIVERY_STATE_FAILED) {
      HUB_RETURN_IF_ERROR(ReportFailure(message, i));
    }
    hub::events::v1::NotificationStatusChanged status =
        StatusOf(message, channel, attempt.outcome(), attempt.reason(), attempt.ended_at());
    status.set_attempt(attempt.number());
    status.set_channel_reference(attempt.channel_reference());
    if (attempt.has_next_attempt_at()) {
      *status.mutable_next_attempt_at() = attempt.next_attempt_at();
    }
    std::vector<std::pair<std::string, std::string>> attributes;
    if (attempt.outcome() == hub::events::v1::DELIVERY_STATE_SENT) {
      // The case view shows what the victim (or provider, or staff) was told, and how.
      attributes = {{absl::StrCat("message:", message.template_id()),
                     absl::StrCat("sent by ", ChannelWord(channel))}};
    }
    HUB_RETURN_IF_ERROR(Tell(
        message, status, step,
        absl::StrCat(message.template_id(), " by ", ChannelWord(channel), ": ",
                     StateWord(attempt.outcome()),
                     attempt.reason().empty() ? "" : absl::StrCat(" (", attempt.reason(), ")")),
        std::move(attributes)));
    attempt.set_reported(true);
    told = true;
  }

  if (IsFinal(message.state()) && !message.state_reported()) {
    log::Info("notification message settled",
              {{"message_id", message.message_id()},
               {"template_id", message.template_id()},
               {"state", hub::notification::v1::MessageState_Name(message.state())},
               {"reason", message.final_reason()}});
    if (metrics::Counter* counter = Counter(StateWord(FinalDeliveryState(message.state())));
        counter != nullptr) {
      counter->Increment();
    }
    const bool has_route = message.current() < message.plan_size();
    if (message.state() == hub::notification::v1::MESSAGE_STATE_CALL_TASK &&
        !message.has_task_completed_at()) {
      HUB_RETURN_IF_ERROR(deps_.store->AddTask(
          message.message_id(),
          std::max(now,
                   has_route ? FromProto(message.plan(message.current()).not_before()) : now)));
    }
    if (message.state() != hub::notification::v1::MESSAGE_STATE_SENT) {
      // SENT was told with its attempt.
      const DeliveryState state = FinalDeliveryState(message.state());
      HUB_RETURN_IF_ERROR(Tell(
          message,
          StatusOf(
              message,
              has_route ? message.plan(message.current()).channel() : hub::events::v1::CHANNEL_NONE,
              state, message.final_reason(), ToProto(now)),
          "notification/final",
          absl::StrCat(message.template_id(), ": ", StateWord(state), " (", message.final_reason(),
                       ")"),
          {{absl::StrCat("message:", message.template_id()),
            absl::AsciiStrToLower(absl::StripPrefix(
                hub::notification::v1::MessageState_Name(message.state()), "MESSAGE_STATE_"))}}));
    }
    message.set_state_reported(true);
    told = true;
  }
  return told;
}

absl::StatusOr<OutgoingMessage> Outbox::CompleteTask(absl::string_view message_id,
                                                     absl::string_view completed_by,
                                                     absl::string_view outcome) {
  for (int i = 0; i < kMaxSteps; ++i) {
    HUB_ASSIGN_OR_RETURN(std::optional<StoredMessage> found, deps_.store->Get(message_id));
    if (!found.has_value()) {
      return absl::NotFoundError(absl::StrCat("no message ", message_id));
    }
    OutgoingMessage& message = found->message;
    if (message.state() != hub::notification::v1::MESSAGE_STATE_CALL_TASK) {
      return absl::FailedPreconditionError(
          absl::StrCat("message ", message_id, " is not waiting for staff"));
    }
    if (message.has_task_completed_at()) {
      HUB_RETURN_IF_ERROR(deps_.store->RemoveTask(message_id));
      return message;
    }
    *message.mutable_task_completed_at() = ToProto(deps_.clock->Now());
    message.set_task_completed_by(std::string(completed_by));
    message.set_task_outcome(std::string(outcome));
    HUB_ASSIGN_OR_RETURN(bool saved, Save(message, found->version));
    if (saved) {
      HUB_RETURN_IF_ERROR(deps_.store->RemoveTask(message_id));
      return message;
    }
  }
  return absl::AbortedError(absl::StrCat("message ", message_id, " kept changing"));
}

}  // namespace hub::notification::outbox
