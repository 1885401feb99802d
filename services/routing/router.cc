#include "services/routing/router.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"

#include "hub/routing/v1/provider.pb.h"
#include "services/common/events/cloudevents.h"
#include "services/common/log/log.h"
#include "services/common/status/status_macros.h"
#include "services/routing/lifecycle/lifecycle.h"
#include "services/routing/planner/planner.h"
#include "services/routing/provider/provider_api.h"

namespace hub::routing {

namespace ev = ::hub::events::v1;
namespace rv1 = ::hub::routing::v1;

struct Router::Counters {
  metrics::Counter* decisions = nullptr;
  metrics::Counter* offered = nullptr;
  metrics::Counter* waiting = nullptr;
  metrics::Counter* rerouted = nullptr;
  metrics::Counter* lapsed = nullptr;
  metrics::Counter* cancelled = nullptr;
  metrics::Counter* alerts = nullptr;
};

namespace {

google::protobuf::Timestamp ToProto(absl::Time time) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(time));
}

absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixMillis(google::protobuf::util::TimeUtil::TimestampToMilliseconds(ts));
}

absl::Status Unavailable(const absl::Status& status) {
  if (status.ok() || absl::IsUnavailable(status)) {
    return status;
  }
  return absl::UnavailableError(status.message());
}

bool IsFinal(rv1::ReferralStatus status) {
  switch (status) {
    case rv1::REFERRAL_STATUS_REJECTED:
    case rv1::REFERRAL_STATUS_COMPLETED:
    case rv1::REFERRAL_STATUS_FAILED:
    case rv1::REFERRAL_STATUS_CANCELLED:
    case rv1::REFERRAL_STATUS_ENTERED_IN_ERROR:
      return true;
    default:
      return false;
  }
}

// A lapsed offer is recorded as a cancellation by routing because the provider did not
// answer in time.
bool IsLapse(const rv1::ReferralRecord& record) {
  return record.status() == rv1::REFERRAL_STATUS_CANCELLED &&
         record.closure_reason() == rv1::CLOSURE_REASON_UNABLE_TO_CONTACT_PROVIDER;
}

bool IsWaiting(const rv1::ReferralRecord& record) {
  return record.status() == rv1::REFERRAL_STATUS_REQUESTED && record.offer_sequence() == 0;
}

std::string LapseTimerId(absl::string_view referral_id) {
  return absl::StrCat("lapse:", referral_id);
}
std::string ReleaseTimerId(absl::string_view referral_id) {
  return absl::StrCat("release:", referral_id);
}
std::string DeadlineTimerId(absl::string_view case_id, int round) {
  return absl::StrCat("deadline:", case_id, ":", round);
}

metrics::Counter* AddCounter(metrics::Registry* registry, const std::string& name,
                             const std::string& help) {
  return registry == nullptr ? nullptr : registry->AddCounter(name, help);
}

void Inc(metrics::Counter* counter) {
  if (counter != nullptr) {
    counter->Increment();
  }
}

// The force whose system reported the case ("police:<FORCE>:<system>"); empty for a
// self-referral, even one naming the force it reported to: a force only hears about the
// reports it made.
std::string ReportingForce(const ev::CrimeReported& crime) {
  if (crime.origin() == ev::ORIGIN_SELF_REFERRAL) {
    return "";
  }
  std::vector<absl::string_view> parts = absl::StrSplit(crime.submitted_by(), ':');
  return parts.size() >= 2 && parts[0] == "police" ? std::string(parts[1]) : std::string();
}

// A new referral (REQUESTED, no id yet) to `planned`'s provider, with what the provider is
// shown about the victim as `assessment` has it.
rv1::ReferralRecord NewReferral(const ev::NeedsAssessed& assessment, const PlannedReferral& planned,
                                int round, absl::Time now) {
  const ev::CrimeReported& crime = assessment.crime();
  const hub::intake::v1::Victim& victim = crime.report().victims(0);
  rv1::ReferralRecord record;
  record.set_case_id(assessment.case_id());
  record.set_provider_key(planned.service->key);
  record.set_provider_name(planned.service->name);
  for (const std::string& need : planned.needs) {
    record.add_needs(need);
  }
  record.set_priority(assessment.priority());
  record.set_enhanced(assessment.enhanced());
  for (int category : assessment.enhanced_categories()) {
    record.add_enhanced_categories(static_cast<ev::EnhancedCategory>(category));
  }
  record.set_crime_category(assessment.crime_category());
  if (victim.has_age_at_offence()) {
    record.set_age_at_offence(victim.age_at_offence());
  }
  record.set_language(victim.language());
  record.set_interpreter_needed(victim.interpreter_needed());
  for (int need : victim.communication_needs()) {
    record.add_communication_needs(static_cast<hub::intake::v1::CommunicationNeed>(need));
  }
  record.set_local_authority_code(crime.report().location().local_authority_code());
  record.set_postcode_district(crime.report().location().postcode_district());
  record.set_consent_status(assessment.consent_status());
  record.set_reason(planned.reason);
  record.set_force(ReportingForce(crime));
  record.set_crime_reference(crime.report().crime_reference());
  record.set_round(round);
  *record.mutable_created_at() = ToProto(now);
  return record;
}

}  // namespace

int WaitingPriority(ev::Priority priority) {
  switch (priority) {
    case ev::PRIORITY_IMMEDIATE:
      return lifecycle::kMaxPriority;
    case ev::PRIORITY_ENHANCED:
      return 50;
    default:
      return 10;
  }
}

std::string ReferralIdFor(absl::string_view case_id, int round, absl::string_view provider_key,
                          absl::string_view after_provider_key) {
  if (after_provider_key.empty()) {
    return absl::StrCat(case_id, ":", round, ":", provider_key);
  }
  return absl::StrCat(case_id, ":", round, ":", provider_key, ":after:", after_provider_key);
}

ev::ReferralEventKind KindOf(const rv1::ReferralRecord& record) {
  switch (record.status()) {
    case rv1::REFERRAL_STATUS_REQUESTED:
      return record.offer_sequence() > 0 ? ev::REFERRAL_EVENT_KIND_OFFERED
                                         : ev::REFERRAL_EVENT_KIND_WAITING;
    case rv1::REFERRAL_STATUS_RECEIVED:
      return ev::REFERRAL_EVENT_KIND_OFFERED;
    case rv1::REFERRAL_STATUS_ACCEPTED:
      return ev::REFERRAL_EVENT_KIND_ACCEPTED;
    case rv1::REFERRAL_STATUS_REJECTED:
      return ev::REFERRAL_EVENT_KIND_REJECTED;
    case rv1::REFERRAL_STATUS_IN_PROGRESS:
      return ev::REFERRAL_EVENT_KIND_IN_PROGRESS;
    case rv1::REFERRAL_STATUS_ON_HOLD:
      return ev::REFERRAL_EVENT_KIND_ON_HOLD;
    case rv1::REFERRAL_STATUS_COMPLETED:
      return ev::REFERRAL_EVENT_KIND_COMPLETED;
    case rv1::REFERRAL_STATUS_FAILED:
      return ev::REFERRAL_EVENT_KIND_FAILED;
    case rv1::REFERRAL_STATUS_CANCELLED:
      return IsLapse(record) ? ev::REFERRAL_EVENT_KIND_LAPSED : ev::REFERRAL_EVENT_KIND_CANCELLED;
    case rv1::REFERRAL_STATUS_ENTERED_IN_ERROR:
      return ev::REFERRAL_EVENT_KIND_ENTERED_IN_ERROR;
    default:
      return ev::REFERRAL_EVENT_KIND_UNSPECIFIED;
  }
}

Router::Router(RouterDeps deps) : deps_(std::move(deps)), counters_(std::make_shared<Counters>()) {
  metrics::Registry* registry = deps_.metrics;
  counters_->decisions =
      AddCounter(registry, "hub_routing_decisions_total", "Routing decisions made.");
  counters_->offered = AddCounter(registry, "hub_routing_offers_total", "Referrals offered.");
  counters_->waiting = AddCounter(registry, "hub_routing_waiting_total",
                                  "Referrals that joined a provider's waiting list.");
  counters_->rerouted = AddCounter(registry, "hub_routing_reroutes_total",
                                   "Referrals re-routed after a rejection or a lapsed offer.");
  counters_->lapsed =
      AddCounter(registry, "hub_routing_lapsed_offers_total", "Offers withdrawn unanswered.");
  counters_->cancelled = AddCounter(registry, "hub_routing_cancellations_total",
                                    "Referrals cancelled (consent withdrawn, case closed).");
  counters_->alerts = AddCounter(registry, "hub_routing_staff_alerts_total", "Staff alerts.");
}

std::string Router::CaseKey(absl::string_view case_id) const {
  return absl::StrCat(deps_.ns, ":routing:case:{", case_id, "}");
}
std::string Router::CaseReferralsKey(absl::string_view case_id) const {
  return absl::StrCat(CaseKey(case_id), ":referrals");
}
std::string Router::CaseTriedKey(absl::string_view case_id) const {
  return absl::StrCat(CaseKey(case_id), ":tried");
}

// ---------------------------------------------------------------------------------------
// Assessments.

absl::StatusOr<std::optional<RoutingResult>> Router::OnAssessment(
    const ev::NeedsAssessed& assessment) {
  const absl::Time now = deps_.clock->Now();
  const std::string& case_id = assessment.case_id();
  const std::string case_key = CaseKey(case_id);

  // Keep the latest assessment (a redelivered older one does not replace a newer one).
  absl::StatusOr<redis::Reply> stored = deps_.redis->Command({"HGET", case_key, "sequence"});
  if (!stored.ok()) {
    return Unavailable(stored.status());
  }
  const int64_t stored_sequence =
      stored->is_nil() ? 0 : std::strtoll(stored->str.c_str(), nullptr, 10);
  // A redelivered older assessment is answered as before but changes nothing that a newer
  // one decided (a withdrawal stays a withdrawal).
  const bool latest = assessment.sequence() >= stored_sequence;
  if (latest) {
    absl::StatusOr<redis::Reply> written =
        deps_.redis->Command({"HSET", case_key, "assessment", assessment.SerializeAsString(),
                              "sequence", absl::StrCat(assessment.sequence())});
    if (!written.ok()) {
      return Unavailable(written.status());
    }
  }

  const ev::ReferralDecision decision = assessment.referral_decision();
  if (assessment.sequence() <= 1) {
    HUB_ASSIGN_OR_RETURN(RoutingResult result, Route(assessment, latest, now));
    return std::optional<RoutingResult>(std::move(result));
  }
  if (decision == ev::REFERRAL_DECISION_CANCEL_OPEN_REFERRALS ||
      decision == ev::REFERRAL_DECISION_CLOSE) {
    HUB_RETURN_IF_ERROR(CancelOpen(assessment, now));
    return std::optional<RoutingResult>();
  }
  absl::StatusOr<redis::Reply> external =
      deps_.redis->Command({"HGET", case_key, "external_round"});
  if (!external.ok()) {
    return Unavailable(external.status());
  }
  if (decision == ev::REFERRAL_DECISION_REFER && external->is_nil()) {
    // Consent given later (or support asked for after all): the first external referral.
    HUB_ASSIGN_OR_RETURN(RoutingResult result, Route(assessment, latest, now));
    return std::optional<RoutingResult>(std::move(result));
  }
  if (assessment.priority() == ev::PRIORITY_IMMEDIATE) {
    HUB_ASSIGN_OR_RETURN(std::vector<rv1::ReferralRecord> referrals, CaseReferrals(case_id));
    for (const rv1::ReferralRecord& record : referrals) {
      if (!IsWaiting(record)) {
        continue;
      }
      ev::StaffAlert alert;
      alert.set_case_id(case_id);
      alert.set_referral_id(record.referral_id());
      alert.set_kind(ev::STAFF_ALERT_KIND_IMMEDIATE_RISK_WAITING);
      alert.set_priority(ev::PRIORITY_IMMEDIATE);
      alert.set_reason(absl::StrCat("re-assessed at immediate risk while waiting for a place with ",
                                    record.provider_name(),
                                    ": place the victim with a provider now"));
      HUB_RETURN_IF_ERROR(
          RaiseAlert(std::move(alert), absl::StrCat("reassessed:", record.referral_id())));
    }
  }
  return std::optional<RoutingResult>();
}

absl::StatusOr<RoutingResult> Router::Route(const ev::NeedsAssessed& assessment, bool latest,
                                            absl::Time now) {
  const std::string& case_id = assessment.case_id();
  const int round = std::max(1, assessment.sequence());
  std::shared_ptr<const Directory> directory = deps_.directory->Current();

  RoutingResult result;
  ev::ReferralRouted& routed = result.routed;
  routed.set_case_id(case_id);
  *routed.mutable_routed_at() = ToProto(now);
  *routed.mutable_assessment() = assessment;
  const ev::ReferralDecision decision = assessment.referral_decision();
  routed.set_external(decision == ev::REFERRAL_DECISION_REFER);

  if (decision != ev::REFERRAL_DECISION_REFER && decision != ev::REFERRAL_DECISION_SEEK_CONSENT) {
    // No support wanted, withdrawn or closed before anything was made: nothing to refer.
    routed.set_provider_id(directory->fallback().key);
    routed.set_reason(absl::StrCat("no referral made (", ev::ReferralDecision_Name(decision),
                                   "): the Hub keeps the case for updates"));
    Inc(counters_->decisions);
    return result;
  }

  HUB_ASSIGN_OR_RETURN(PlanInput input, PlanningInput(case_id, *directory));
  Plan plan = PlanReferrals(*directory, assessment, input);
  for (std::string& line : plan.not_chosen) {
    routed.add_not_chosen(std::move(line));
  }

  // Clear a stop left by an earlier withdrawal: this decision allows referral again.
  if (decision == ev::REFERRAL_DECISION_REFER && latest) {
    absl::StatusOr<redis::Reply> cleared = deps_.redis->Command(
        {"HSET", CaseKey(case_id), "stopped", "0", "external_round", absl::StrCat(round)});
    if (!cleared.ok()) {
      return Unavailable(cleared.status());
    }
  }

  for (const PlannedReferral& planned : plan.referrals) {
    rv1::ReferralRecord record = NewReferral(assessment, planned, round, now);
    record.set_referral_id(ReferralIdFor(case_id, round, planned.service->key));
    HUB_RETURN_IF_ERROR(
        MakeReferral(std::move(record), *planned.service, now, routed.add_referrals()));
  }
  result.any_referral = routed.referrals_size() > 0;
  if (result.any_referral) {
    const ev::RoutedReferral& first = routed.referrals(0);
    routed.set_referral_id(first.referral_id());
    routed.set_provider_id(first.provider_id());
    routed.set_reason(first.reason());
  }

  // The Code deadline: a referral must be made (offered) by then.
  if (decision == ev::REFERRAL_DECISION_REFER && latest && assessment.has_referral_due()) {
    absl::StatusOr<bool> scheduled = deps_.timers->Schedule(
        DeadlineTimerId(case_id, round), kCodeDeadlineTimer, FromProto(assessment.referral_due()),
        absl::StrCat(case_id, ":", round));
    if (!scheduled.ok()) {
      return Unavailable(scheduled.status());
    }
  }
  Inc(counters_->decisions);
  return result;
}

absl::Status Router::MakeReferral(rv1::ReferralRecord record, const Service& service,
                                  absl::Time now, ev::RoutedReferral* out) {
  const std::string case_id = record.case_id();
  absl::StatusOr<rv1::ReferralRecord> created = deps_.referrals->Create(std::move(record));
  if (!created.ok()) {
    return absl::IsInvalidArgument(created.status()) ? created.status()
                                                     : Unavailable(created.status());
  }
  const std::string& referral_id = created->referral_id();
  absl::StatusOr<redis::Reply> indexed =
      deps_.redis->Command({"SADD", CaseReferralsKey(case_id), referral_id});
  if (!indexed.ok()) {
    return Unavailable(indexed.status());
  }
  out->set_referral_id(referral_id);
  out->set_provider_id(service.key);
  out->set_provider_name(service.name);
  *out->mutable_needs() = created->needs();
  out->set_reason(created->reason());

  if (created->status() != rv1::REFERRAL_STATUS_REQUESTED || created->offer_sequence() > 0) {
    // Made before (a repeat): report it as it stands.
    out->set_state(KindOf(*created));
    *out->mutable_respond_by() = created->respond_by();
    return absl::OkStatus();
  }
  absl::StatusOr<lifecycle::Admission> admission =
      deps_.capacity->Admit(service.key, referral_id, service.max_active,
                            WaitingPriority(created->priority()), FromProto(created->created_at()));
  if (!admission.ok()) {
    return Unavailable(admission.status());
  }
  for (const std::string& promoted : admission->promoted) {
    HUB_RETURN_IF_ERROR(Offer(promoted, now));
  }
  if (admission->reserved) {
    HUB_RETURN_IF_ERROR(Offer(referral_id, now));
    HUB_ASSIGN_OR_RETURN(std::optional<rv1::ReferralRecord> offered,
                         deps_.referrals->Get(referral_id));
    out->set_state(ev::REFERRAL_EVENT_KIND_OFFERED);
    if (offered.has_value()) {
      *out->mutable_respond_by() = offered->respond_by();
    }
    return absl::OkStatus();
  }

  // Every place is taken: the referral waits, visibly.
  out->set_state(ev::REFERRAL_EVENT_KIND_WAITING);
  out->set_waiting_position(admission->position);
  absl::StatusOr<rv1::ReferralRecord> waiting =
      deps_.referrals->Update(referral_id, [&](rv1::ReferralRecord* r) {
        if (!r->has_waiting_since()) {
          *r->mutable_waiting_since() = ToProto(now);
        }
        return absl::OkStatus();
      });
  if (!waiting.ok()) {
    return Unavailable(waiting.status());
  }
  Inc(counters_->waiting);
  HUB_RETURN_IF_ERROR(PublishStatus(
      *waiting, ev::REFERRAL_EVENT_KIND_WAITING, "waiting", kRoutingPrincipal,
      absl::StrCat(service.name, " is full: waiting at position ", admission->position)));
  if (waiting->priority() == ev::PRIORITY_IMMEDIATE) {
    ev::StaffAlert alert;
    alert.set_case_id(case_id);
    alert.set_referral_id(referral_id);
    alert.set_kind(ev::STAFF_ALERT_KIND_IMMEDIATE_RISK_WAITING);
    alert.set_priority(ev::PRIORITY_IMMEDIATE);
    alert.set_reason(absl::StrCat("a victim at immediate risk is waiting (position ",
                                  admission->position, ") for a place with ", service.name,
                                  ": act now; do not leave them to wait"));
    HUB_RETURN_IF_ERROR(RaiseAlert(std::move(alert), absl::StrCat("waiting:", referral_id)));
  }
  return absl::OkStatus();
}

absl::Status Router::Offer(const std::string& referral_id, absl::Time now) {
  HUB_ASSIGN_OR_RETURN(std::optional<rv1::ReferralRecord> record,
                       deps_.referrals->Get(referral_id));
  if (!record.has_value()) {
    log::Warn("a place is held by a referral with no record; not offered",
              {{"referral_id", referral_id}});
    return absl::OkStatus();
  }
  if (record->status() != rv1::REFERRAL_STATUS_REQUESTED) {
    return absl::OkStatus();  // Moved on since (accepted, cancelled ...).
  }
  std::shared_ptr<const Directory> directory = deps_.directory->Current();
  const Service* service = directory->FindService(record->provider_key());
  const absl::Duration target = service != nullptr ? service->accept_target : absl::Hours(24);

  absl::Time respond_by = record->has_respond_by() ? FromProto(record->respond_by()) : now + target;
  if (record->offer_sequence() == 0) {
    hub::routing::v1::Offer offer;
    offer.set_offer_id(referral_id);
    rv1::ReferralRecord shown = *record;
    *shown.mutable_respond_by() = ToProto(respond_by);
    *offer.mutable_referral() = provider::ToProviderReferral(shown);
    *offer.mutable_offered_at() = ToProto(now);
    *offer.mutable_respond_by() = ToProto(respond_by);
    absl::StatusOr<referrals::Appended> appended =
        deps_.offers->Append(record->provider_key(), referral_id, offer.SerializeAsString());
    if (!appended.ok()) {
      return Unavailable(appended.status());
    }
    absl::StatusOr<rv1::ReferralRecord> updated =
        deps_.referrals->Update(referral_id, [&](rv1::ReferralRecord* r) {
          if (r->offer_sequence() == 0) {
            r->set_offer_sequence(appended->sequence);
            *r->mutable_respond_by() = ToProto(respond_by);
            *r->mutable_offered_at() = ToProto(now);
          }
          return absl::OkStatus();
        });
    if (!updated.ok()) {
      return Unavailable(updated.status());
    }
    record = *std::move(updated);
    respond_by = FromProto(record->respond_by());
  }
  absl::StatusOr<bool> scheduled =
      deps_.timers->Schedule(LapseTimerId(referral_id), kOfferLapseTimer, respond_by, referral_id);
  if (!scheduled.ok()) {
    return Unavailable(scheduled.status());
  }
  Inc(counters_->offered);
  return PublishStatus(
      *record, ev::REFERRAL_EVENT_KIND_OFFERED, "offered", kRoutingPrincipal,
      absl::StrCat("offered to ", record->provider_name(), "; respond by ",
                   absl::FormatTime("%Y-%m-%d %H:%M UTC", respond_by, absl::UTCTimeZone())));
}

absl::Status Router::CancelOpen(const ev::NeedsAssessed& assessment, absl::Time now) {
  const std::string& case_id = assessment.case_id();
  absl::StatusOr<redis::Reply> stopped =
      deps_.redis->Command({"HSET", CaseKey(case_id), "stopped", "1"});
  if (!stopped.ok()) {
    return Unavailable(stopped.status());
  }
  const bool withdrawn =
      assessment.referral_decision() == ev::REFERRAL_DECISION_CANCEL_OPEN_REFERRALS;
  rv1::Transition cancel;
  cancel.set_to(rv1::REFERRAL_STATUS_CANCELLED);
  cancel.set_closure_reason(withdrawn ? rv1::CLOSURE_REASON_VICTIM_REFUSED_SERVICES
                                      : rv1::CLOSURE_REASON_SERVICES_NO_LONGER_NEEDED);
  HUB_ASSIGN_OR_RETURN(std::vector<rv1::ReferralRecord> referrals, CaseReferrals(case_id));
  for (const rv1::ReferralRecord& record : referrals) {
    if (IsFinal(record.status())) {
      continue;
    }
    absl::StatusOr<rv1::ReferralRecord> cancelled =
        deps_.referrals->TransitionAsSystem(record.referral_id(), cancel, now, kRoutingPrincipal);
    if (!cancelled.ok()) {
      if (absl::IsFailedPrecondition(cancelled.status())) {
        continue;  // Finished meanwhile.
      }
      return Unavailable(cancelled.status());
    }
    Inc(counters_->cancelled);
    HUB_RETURN_IF_ERROR(AfterTransition(*cancelled, kRoutingPrincipal));
  }
  // No Code deadline runs for a case that may not be referred.
  for (int round = 1; round <= assessment.sequence(); ++round) {
    absl::StatusOr<bool> gone = deps_.timers->Cancel(DeadlineTimerId(case_id, round));
    if (!gone.ok()) {
      return Unavailable(gone.status());
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------
// After a status change.

absl::Status Router::AfterTransition(const rv1::ReferralRecord& record, absl::string_view by) {
  const std::string& referral_id = record.referral_id();
  const ev::ReferralEventKind kind = KindOf(record);
  if (record.status() != rv1::REFERRAL_STATUS_REQUESTED &&
      record.status() != rv1::REFERRAL_STATUS_RECEIVED) {
    // Accepted or finished: the offer can no longer lapse.
    absl::StatusOr<bool> cancelled = deps_.timers->Cancel(LapseTimerId(referral_id));
    if (!cancelled.ok()) {
      return Unavailable(cancelled.status());
    }
  }
  if (IsFinal(record.status())) {
    // Durable before anything is published: the place is freed (and offered on, and the
    // referral re-routed if need be) even if this process dies now.
    absl::StatusOr<bool> scheduled = deps_.timers->Schedule(
        ReleaseTimerId(referral_id), kReleaseTimer, deps_.clock->Now(), referral_id);
    if (!scheduled.ok()) {
      return Unavailable(scheduled.status());
    }
  }
  std::string reason;
  switch (kind) {
    case ev::REFERRAL_EVENT_KIND_REJECTED:
      reason = absl::StrCat(record.provider_name(), " declined (",
                            rv1::RejectionReason_Name(record.rejection_reason()),
                            "): offering it elsewhere");
      break;
    case ev::REFERRAL_EVENT_KIND_LAPSED:
      reason = absl::StrCat(record.provider_name(),
                            " did not accept in time: offer withdrawn, offering it elsewhere");
      break;
    case ev::REFERRAL_EVENT_KIND_CANCELLED:
      reason = absl::StrCat("cancelled (", rv1::ClosureReason_Name(record.closure_reason()), ")");
      break;
    default:
      reason = absl::StrCat(record.provider_name(), ": ", lifecycle::StatusName(record.status()));
      break;
  }
  return PublishStatus(record, kind, absl::StrCat("h", record.history_size()), by, reason);
}

absl::StatusOr<std::optional<ev::CrimeReported>> Router::CaseCrime(absl::string_view case_id) {
  HUB_ASSIGN_OR_RETURN(std::optional<ev::NeedsAssessed> assessment, StoredAssessment(case_id));
  if (!assessment.has_value()) {
    return std::optional<ev::CrimeReported>();
  }
  return std::optional<ev::CrimeReported>(std::move(*assessment->mutable_crime()));
}

// ---------------------------------------------------------------------------------------
// Timers.

absl::Status Router::OnTimer(const timers::Timer& timer) {
  const absl::Time now = deps_.clock->Now();
  if (timer.kind == kOfferLapseTimer) {
    return OnOfferLapsed(timer.payload, now);
  }
  if (timer.kind == kReleaseTimer) {
    return Release(timer.payload, now);
  }
  if (timer.kind == kCodeDeadlineTimer) {
    return OnCodeDeadline(timer.payload);
  }
  log::Warn("timer of unknown kind dropped", {{"timer_id", timer.id}, {"kind", timer.kind}});
  return absl::OkStatus();
}

absl::Status Router::OnOfferLapsed(const std::string& referral_id, absl::Time now) {
  HUB_ASSIGN_OR_RETURN(std::optional<rv1::ReferralRecord> record,
                       deps_.referrals->Get(referral_id));
  if (!record.has_value() || (record->status() != rv1::REFERRAL_STATUS_REQUESTED &&
                              record->status() != rv1::REFERRAL_STATUS_RECEIVED)) {
    return absl::OkStatus();  // Accepted, rejected or cancelled in time.
  }
  if (record->has_respond_by() && FromProto(record->respond_by()) > now) {
    return absl::OkStatus();  // Not yet (a timer from an older schedule).
  }
  rv1::Transition lapse;
  lapse.set_to(rv1::REFERRAL_STATUS_CANCELLED);
  lapse.set_closure_reason(rv1::CLOSURE_REASON_UNABLE_TO_CONTACT_PROVIDER);
  absl::StatusOr<rv1::ReferralRecord> lapsed =
      deps_.referrals->TransitionAsSystem(referral_id, lapse, now, kRoutingPrincipal);
  if (!lapsed.ok()) {
    return absl::IsFailedPrecondition(lapsed.status()) ? absl::OkStatus() : lapsed.status();
  }
  Inc(counters_->lapsed);
  return AfterTransition(*lapsed, kRoutingPrincipal);
}

absl::Status Router::Release(const std::string& referral_id, absl::Time now) {
  HUB_ASSIGN_OR_RETURN(std::optional<rv1::ReferralRecord> record,
                       deps_.referrals->Get(referral_id));
  if (!record.has_value()) {
    return absl::OkStatus();
  }
  std::shared_ptr<const Directory> directory = deps_.directory->Current();
  const Service* service = directory->FindService(record->provider_key());
  const int64_t max_active = service != nullptr ? service->max_active : 0;
  if (record->offer_sequence() == 0) {
    absl::StatusOr<bool> dequeued = deps_.capacity->Dequeue(record->provider_key(), referral_id);
    if (!dequeued.ok()) {
      return Unavailable(dequeued.status());
    }
  }
  // Release even a referral that was never offered: a crash may have left it holding a
  // place it never used.
  absl::StatusOr<lifecycle::Released> released =
      deps_.capacity->Release(record->provider_key(), referral_id, max_active);
  if (!released.ok()) {
    return Unavailable(released.status());
  }
  if (released->promoted.has_value()) {
    HUB_RETURN_IF_ERROR(Offer(*released->promoted, now));
  }
  if (record->status() == rv1::REFERRAL_STATUS_REJECTED || IsLapse(*record)) {
    HUB_RETURN_IF_ERROR(Reroute(*record, now));
  }
  return absl::OkStatus();
}

absl::Status Router::Reroute(const rv1::ReferralRecord& record, absl::Time now) {
  const std::string& case_id = record.case_id();
  absl::StatusOr<redis::Reply> tried =
      deps_.redis->Command({"SADD", CaseTriedKey(case_id), record.provider_key()});
  if (!tried.ok()) {
    return Unavailable(tried.status());
  }
  HUB_ASSIGN_OR_RETURN(bool stopped, Stopped(case_id));
  if (stopped) {
    return absl::OkStatus();
  }
  HUB_ASSIGN_OR_RETURN(std::optional<ev::NeedsAssessed> stored, StoredAssessment(case_id));
  if (!stored.has_value()) {
    log::Warn("no assessment held for the case; referral not re-routed",
              {{"case_id", case_id}, {"referral_id", record.referral_id()}});
    return absl::OkStatus();
  }
  // Plan the same needs again, leaving out every provider that declined or let an offer
  // lapse, and every provider already working with the victim.
  ev::NeedsAssessed assessment = *std::move(stored);
  assessment.clear_needs();
  for (const std::string& need : record.needs()) {
    assessment.add_needs(need);
  }
  assessment.set_referral_decision(ev::REFERRAL_DECISION_REFER);
  HUB_ASSIGN_OR_RETURN(std::vector<rv1::ReferralRecord> existing, CaseReferrals(case_id));
  std::set<std::string> busy;
  for (const rv1::ReferralRecord& other : existing) {
    if (!IsFinal(other.status())) {
      busy.insert(other.provider_key());
    }
  }
  std::shared_ptr<const Directory> directory = deps_.directory->Current();
  HUB_ASSIGN_OR_RETURN(PlanInput input, PlanningInput(case_id, *directory));
  Plan plan = PlanReferrals(*directory, assessment, input);
  bool made = false;
  for (const PlannedReferral& planned : plan.referrals) {
    const std::string& key = planned.service->key;
    if (input.excluded.count(key) > 0 || busy.count(key) > 0 || planned.needs.empty()) {
      continue;
    }
    rv1::ReferralRecord next = NewReferral(assessment, planned, record.round(), now);
    next.set_referral_id(ReferralIdFor(case_id, record.round(), key, record.provider_key()));
    next.set_reason(absl::StrCat("re-routed after ", record.provider_name(),
                                 IsLapse(record) ? " did not answer in time" : " declined", "; ",
                                 planned.reason));
    next.set_replaces_referral_id(record.referral_id());
    ev::RoutedReferral made_referral;
    HUB_RETURN_IF_ERROR(MakeReferral(next, *planned.service, now, &made_referral));
    HUB_ASSIGN_OR_RETURN(std::optional<rv1::ReferralRecord> stored_next,
                         deps_.referrals->Get(made_referral.referral_id()));
    if (stored_next.has_value()) {
      HUB_RETURN_IF_ERROR(PublishStatus(*stored_next, ev::REFERRAL_EVENT_KIND_REROUTED, "rerouted",
                                        kRoutingPrincipal, next.reason()));
    }
    Inc(counters_->rerouted);
    made = true;
  }
  // A withdrawal that raced with this re-route: cancel what was just made.
  HUB_ASSIGN_OR_RETURN(bool stopped_now, Stopped(case_id));
  if (stopped_now && made) {
    HUB_ASSIGN_OR_RETURN(std::optional<ev::NeedsAssessed> latest, StoredAssessment(case_id));
    if (latest.has_value()) {
      return CancelOpen(*latest, now);
    }
  }
  if (!made) {
    ev::StaffAlert alert;
    alert.set_case_id(case_id);
    alert.set_referral_id(record.referral_id());
    alert.set_kind(ev::STAFF_ALERT_KIND_NO_PROVIDER_LEFT);
    alert.set_priority(record.priority());
    alert.set_reason(absl::StrCat(
        "no other provider can take the needs (", absl::StrJoin(record.needs(), ", "), ") after ",
        record.provider_name(), IsLapse(record) ? " did not answer" : " declined",
        ": place the referral by hand"));
    return RaiseAlert(std::move(alert), absl::StrCat("exhausted:", record.referral_id()));
  }
  return absl::OkStatus();
}

absl::Status Router::OnCodeDeadline(const std::string& payload) {
  std::vector<std::string> parts = absl::StrSplit(payload, ':');
  if (parts.size() != 2) {
    log::Warn("malformed deadline timer payload; dropped");
    return absl::OkStatus();
  }
  const std::string& case_id = parts[0];
  HUB_ASSIGN_OR_RETURN(bool stopped, Stopped(case_id));
  if (stopped) {
    return absl::OkStatus();
  }
  HUB_ASSIGN_OR_RETURN(std::vector<rv1::ReferralRecord> referrals, CaseReferrals(case_id));
  for (const rv1::ReferralRecord& record : referrals) {
    if (record.offer_sequence() > 0) {
      return absl::OkStatus();  // A referral was made in time.
    }
  }
  HUB_ASSIGN_OR_RETURN(std::optional<ev::NeedsAssessed> assessment, StoredAssessment(case_id));
  ev::StaffAlert alert;
  alert.set_case_id(case_id);
  alert.set_kind(ev::STAFF_ALERT_KIND_REFERRAL_DEADLINE_BREACHED);
  if (assessment.has_value()) {
    alert.set_priority(assessment->priority());
    *alert.mutable_deadline() = assessment->referral_due();
  }
  alert.set_reason(
      "Victims' Code breach: no referral was made to a support provider within 2 working days; "
      "make it now");
  return RaiseAlert(std::move(alert), absl::StrCat("deadline:", payload));
}

absl::StatusOr<int> Router::Sweep() {
  const absl::Time now = deps_.clock->Now();
  std::shared_ptr<const Directory> directory = deps_.directory->Current();
  int offered = 0;
  for (const Service& service : directory->services()) {
    absl::StatusOr<std::vector<std::string>> filled =
        deps_.capacity->Fill(service.key, service.max_active);
    if (!filled.ok()) {
      return Unavailable(filled.status());
    }
    HUB_ASSIGN_OR_RETURN(
        redis::Reply active,
        deps_.redis->Command({"SMEMBERS", deps_.capacity->ActiveKey(service.key)}));
    for (const redis::Reply& member : active.elements) {
      HUB_ASSIGN_OR_RETURN(std::optional<rv1::ReferralRecord> record,
                           deps_.referrals->Get(member.str));
      if (record.has_value() && IsWaiting(*record)) {
        HUB_RETURN_IF_ERROR(Offer(member.str, now));
        ++offered;
      } else if (record.has_value() && IsFinal(record->status())) {
        // Finished but still holding a place (a release that never ran): free it.
        absl::StatusOr<bool> scheduled =
            deps_.timers->Schedule(ReleaseTimerId(member.str), kReleaseTimer, now, member.str);
        if (!scheduled.ok()) {
          return Unavailable(scheduled.status());
        }
      }
    }
  }
  return offered;
}

// ---------------------------------------------------------------------------------------
// Events and state.

absl::Status Router::PublishStatus(const rv1::ReferralRecord& record, ev::ReferralEventKind kind,
                                   absl::string_view event_step, absl::string_view by,
                                   absl::string_view reason) {
  ev::ReferralStatusChanged changed;
  changed.set_case_id(record.case_id());
  changed.set_referral_id(record.referral_id());
  changed.set_provider_id(record.provider_key());
  changed.set_provider_name(record.provider_name());
  changed.set_kind(kind);
  changed.set_status(record.status());
  *changed.mutable_changed_at() =
      record.has_updated_at() ? record.updated_at() : ToProto(deps_.clock->Now());
  changed.set_changed_by(std::string(by));
  changed.set_rejection_reason(record.rejection_reason());
  changed.set_closure_reason(record.closure_reason());
  if (record.has_outcome()) {
    *changed.mutable_outcome() = record.outcome();
  }
  changed.set_reason(std::string(reason));
  *changed.mutable_needs() = record.needs();
  if (record.has_respond_by()) {
    *changed.mutable_respond_by() = record.respond_by();
  }
  changed.set_related_referral_id(record.replaces_referral_id());
  changed.set_force(record.force());
  changed.set_crime_reference(record.crime_reference());
  if (kind == ev::REFERRAL_EVENT_KIND_WAITING) {
    absl::StatusOr<std::optional<int64_t>> position =
        deps_.capacity->Position(record.provider_key(), record.referral_id());
    if (position.ok() && position->has_value()) {
      changed.set_waiting_position(**position);
    }
  }
  return Publish(deps_.topics.referral_status, record.case_id(), changed,
                 events::kReferralStatusChangedType,
                 events::DeriveEventId(record.referral_id(), event_step));
}

absl::Status Router::RaiseAlert(ev::StaffAlert alert, absl::string_view cause) {
  const std::string id = events::DeriveEventId(alert.case_id(), cause);
  alert.set_alert_id(id);
  *alert.mutable_raised_at() = ToProto(deps_.clock->Now());
  Inc(counters_->alerts);
  log::Warn("staff alert raised",
            {{"kind", ev::StaffAlertKind_Name(alert.kind())}, {"case_id", alert.case_id()}});
  const std::string case_id = alert.case_id();
  return Publish(deps_.topics.staff_alerts, case_id, alert, events::kStaffAlertType, id);
}

absl::Status Router::Publish(const std::string& topic, const std::string& key,
                             const google::protobuf::MessageLite& message, const char* type,
                             const std::string& event_id) {
  events::CloudEvent event;
  event.id = event_id;
  event.source = "routing";
  event.type = type;
  event.time = deps_.clock->Now();
  event.traceparent = events::NewTrace().ToTraceparent();
  return Unavailable(deps_.producer->ProduceSync(events::MakeRecord(topic, key, message, event),
                                                 deps_.publish_timeout));
}

absl::StatusOr<std::optional<ev::NeedsAssessed>> Router::StoredAssessment(
    absl::string_view case_id) {
  absl::StatusOr<redis::Reply> reply =
      deps_.redis->Command({"HGET", CaseKey(case_id), "assessment"});
  if (!reply.ok()) {
    return Unavailable(reply.status());
  }
  if (reply->is_nil()) {
    return std::optional<ev::NeedsAssessed>();
  }
  ev::NeedsAssessed assessment;
  if (!assessment.ParseFromString(reply->str)) {
    return absl::DataLossError(
        absl::StrCat("routing: stored assessment of ", case_id, " does not parse"));
  }
  return std::optional<ev::NeedsAssessed>(std::move(assessment));
}

absl::StatusOr<std::vector<rv1::ReferralRecord>> Router::CaseReferrals(absl::string_view case_id) {
  absl::StatusOr<redis::Reply> ids = deps_.redis->Command({"SMEMBERS", CaseReferralsKey(case_id)});
  if (!ids.ok()) {
    return Unavailable(ids.status());
  }
  std::vector<rv1::ReferralRecord> out;
  for (const redis::Reply& id : ids->elements) {
    absl::StatusOr<std::optional<rv1::ReferralRecord>> record = deps_.referrals->Get(id.str);
    if (!record.ok()) {
      return Unavailable(record.status());
    }
    if (record->has_value()) {
      out.push_back(**std::move(record));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.referral_id() < b.referral_id(); });
  return out;
}

absl::StatusOr<PlanInput> Router::PlanningInput(absl::string_view case_id,
                                                const Directory& directory) {
  // One round trip: the providers that declined the case, and every provider's load.
  std::vector<std::vector<std::string>> commands;
  commands.push_back({"SMEMBERS", CaseTriedKey(case_id)});
  for (const Service& service : directory.services()) {
    commands.push_back({"SCARD", deps_.capacity->ActiveKey(service.key)});
  }
  absl::StatusOr<std::vector<redis::Reply>> replies = deps_.redis->Pipeline(commands);
  if (!replies.ok()) {
    return Unavailable(replies.status());
  }
  PlanInput input;
  for (const redis::Reply& key : (*replies)[0].elements) {
    input.excluded.insert(key.str);
  }
  for (size_t i = 0; i < directory.services().size(); ++i) {
    input.load[directory.services()[i].key] = static_cast<int>((*replies)[i + 1].integer);
  }
  return input;
}

absl::StatusOr<bool> Router::Stopped(absl::string_view case_id) {
  absl::StatusOr<redis::Reply> reply = deps_.redis->Command({"HGET", CaseKey(case_id), "stopped"});
  if (!reply.ok()) {
    return Unavailable(reply.status());
  }
  return !reply->is_nil() && reply->str == "1";
}

}  // namespace hub::routing
