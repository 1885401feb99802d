#include "services/routing/feedback/feedback_projector.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"

#include "services/common/events/cloudevents.h"
#include "services/common/events/topics.h"
#include "services/common/identity/identity.h"
#include "services/common/status/status_macros.h"

namespace hub::routing::feedback {
namespace {

using google::protobuf::Timestamp;
using google::protobuf::util::MessageDifferencer;
using hub::events::v1::CrimeReported;
using hub::events::v1::NeedsAssessed;
using hub::events::v1::ReferralRouted;
using hub::events::v1::ReferralStatusChanged;
using hub::routing::v1::CaseFeedback;
using hub::routing::v1::ReferralFeedback;

// Moves `target` to `at` when `at` is set and later (an unset target is the epoch).
void AdvanceTo(const Timestamp& at, bool has_at, Timestamp* target) {
  if (has_at && *target < at) {
    *target = at;
  }
}

ReferralFeedback* FindOrAddReferral(const std::string& referral_id, CaseFeedback* feedback,
                                    bool* added) {
  for (ReferralFeedback& referral : *feedback->mutable_referrals()) {
    if (referral.referral_id() == referral_id) {
      *added = false;
      return &referral;
    }
  }
  *added = true;
  ReferralFeedback* referral = feedback->add_referrals();
  referral->set_referral_id(referral_id);
  return referral;
}

absl::Status CheckEventId(absl::string_view event_id) {
  if (event_id.empty()) {
    return absl::InvalidArgumentError("ce_id: required");
  }
  return absl::OkStatus();
}

// Checks the crime a case came from and says whose it is.
absl::StatusOr<std::optional<std::string>> CheckCrime(absl::string_view field,
                                                      const CrimeReported& crime) {
  absl::StatusOr<std::optional<std::string>> force = ForceOf(crime);
  if (!force.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".", force.status().message()));
  }
  if (force->has_value()) {
    HUB_RETURN_IF_ERROR(ValidateCrimeReference(absl::StrCat(field, ".report.crime_reference"),
                                               crime.report().crime_reference()));
  }
  return force;
}

absl::StatusOr<Applied> Skipped() { return Applied{ApplyOutcome::kSkipped, ""}; }

// Applies `merge` to the case, leaving the feedback as it was when only times would change.
template <typename Event>
absl::StatusOr<Applied> Store(FeedbackStore* store, const std::string& force,
                              const std::string& case_id, absl::string_view event_id,
                              const Event& event,
                              void (*merge)(const Event& event, CaseState* state)) {
  return store->Apply(force, case_id, event_id, [&](CaseState* state) {
    CaseFeedback before = state->feedback;
    merge(event, state);
    if (SameExceptTimes(before, state->feedback)) {
      state->feedback = std::move(before);
    }
    return absl::OkStatus();
  });
}

template <typename Event>
absl::StatusOr<Applied> ParseAndApply(FeedbackProjector* projector,
                                      const kafka::ConsumedRecord& record, absl::string_view type) {
  Event event;
  HUB_ASSIGN_OR_RETURN(events::CloudEvent header, events::ParseRecord(record, type, &event));
  return projector->ApplyEvent(event, header.id);
}

}  // namespace

absl::StatusOr<std::optional<std::string>> ForceOf(const CrimeReported& crime) {
  if (crime.origin() == hub::events::v1::ORIGIN_SELF_REFERRAL) {
    return std::nullopt;
  }
  if (crime.submitted_by().empty()) {
    return absl::InvalidArgumentError("submitted_by: required");
  }
  absl::StatusOr<identity::CallerIdentity> principal =
      identity::ParsePrincipal(crime.submitted_by());
  if (!principal.ok()) {
    return absl::InvalidArgumentError("submitted_by: not a principal");
  }
  if (principal->kind != identity::CallerKind::kPoliceSystem) {
    return std::nullopt;
  }
  HUB_RETURN_IF_ERROR(ValidateForce("submitted_by", principal->organisation));
  return principal->organisation;
}

void MergeAssessment(const NeedsAssessed& assessment, CaseState* state) {
  state->confirmed = true;
  CaseFeedback& feedback = state->feedback;
  const hub::intake::v1::CrimeReport& report = assessment.crime().report();
  const std::string& victim_ref =
      report.victims_size() > 0 ? report.victims(0).victim_ref() : std::string();
  const bool newer = assessment.sequence() > state->assessment_sequence;
  if (!report.crime_reference().empty() && (newer || feedback.crime_reference().empty())) {
    feedback.set_crime_reference(report.crime_reference());
  }
  if (!victim_ref.empty() && (newer || feedback.victim_ref().empty())) {
    feedback.set_victim_ref(victim_ref);
  }
  if (!newer) {
    return;  // The same or an older assessment: the one shown is the latest.
  }
  state->assessment_sequence = assessment.sequence();
  feedback.set_enhanced(assessment.enhanced());
  feedback.mutable_enhanced_categories()->CopyFrom(assessment.enhanced_categories());
  feedback.set_referral_decision(assessment.referral_decision());
  AdvanceTo(assessment.assessed_at(), assessment.has_assessed_at(), feedback.mutable_updated_at());
}

void MergeRouted(const ReferralRouted& routed, CaseState* state) {
  state->confirmed = true;
  if (routed.has_assessment()) {
    MergeAssessment(routed.assessment(), state);
  }
  CaseFeedback& feedback = state->feedback;
  auto add = [&](const std::string& referral_id, const std::string& provider_id,
                 const std::string& provider_name) {
    if (referral_id.empty()) {
      return;
    }
    bool added = false;
    ReferralFeedback* referral = FindOrAddReferral(referral_id, &feedback, &added);
    if (added) {
      // Known already means a status change got here first: never move it back.
      referral->set_status(hub::routing::v1::REFERRAL_STATUS_REQUESTED);
      if (routed.has_routed_at()) {
        *referral->mutable_updated_at() = routed.routed_at();
      }
    }
    if (referral->provider_id().empty()) {
      referral->set_provider_id(provider_id);
    }
    if (referral->provider_name().empty()) {
      referral->set_provider_name(provider_name);
    }
  };
  if (routed.referrals_size() > 0) {
    for (const hub::events::v1::RoutedReferral& referral : routed.referrals()) {
      add(referral.referral_id(), referral.provider_id(), referral.provider_name());
    }
  } else {
    add(routed.referral_id(), routed.provider_id(), "");
  }
  AdvanceTo(routed.routed_at(), routed.has_routed_at(), feedback.mutable_updated_at());
}

void MergeStatusChange(const ReferralStatusChanged& change, CaseState* state) {
  CaseFeedback& feedback = state->feedback;
  if (feedback.crime_reference().empty()) {
    feedback.set_crime_reference(change.crime_reference());
  }
  bool added = false;
  ReferralFeedback* referral = FindOrAddReferral(change.referral_id(), &feedback, &added);
  if (!change.provider_id().empty()) {
    referral->set_provider_id(change.provider_id());
  }
  if (!change.provider_name().empty()) {
    referral->set_provider_name(change.provider_name());
  }
  if (change.status() != hub::routing::v1::REFERRAL_STATUS_UNSPECIFIED) {
    referral->set_status(change.status());
  } else if (added) {
    referral->set_status(hub::routing::v1::REFERRAL_STATUS_REQUESTED);
  }
  if (change.closure_reason() != hub::routing::v1::CLOSURE_REASON_UNSPECIFIED) {
    referral->set_closure_reason(change.closure_reason());
  }
  if (change.has_outcome()) {
    *referral->mutable_outcome() = change.outcome();
  }
  if (change.has_changed_at()) {
    *referral->mutable_updated_at() = change.changed_at();
  }
  AdvanceTo(change.changed_at(), change.has_changed_at(), feedback.mutable_updated_at());
}

bool SameExceptTimes(const CaseFeedback& a, const CaseFeedback& b) {
  CaseFeedback left = a;
  CaseFeedback right = b;
  for (CaseFeedback* feedback : {&left, &right}) {
    feedback->clear_updated_at();
    for (ReferralFeedback& referral : *feedback->mutable_referrals()) {
      referral.clear_updated_at();
    }
  }
  return MessageDifferencer::Equals(left, right);
}

FeedbackProjector::FeedbackProjector(FeedbackStore* store) : store_(store) {}

bool FeedbackProjector::Handles(absl::string_view ce_type) {
  return ce_type == events::kNeedsAssessedType || ce_type == events::kReferralRoutedType ||
         ce_type == events::kReferralStatusChangedType;
}

absl::Status FeedbackProjector::Apply(const kafka::ConsumedRecord& record) {
  return Project(record).status();
}

absl::StatusOr<Applied> FeedbackProjector::Project(const kafka::ConsumedRecord& record) {
  HUB_ASSIGN_OR_RETURN(events::CloudEvent header, events::FromHeaders(record));
  if (header.type == events::kNeedsAssessedType) {
    return ParseAndApply<NeedsAssessed>(this, record, events::kNeedsAssessedType);
  }
  if (header.type == events::kReferralRoutedType) {
    return ParseAndApply<ReferralRouted>(this, record, events::kReferralRoutedType);
  }
  if (header.type == events::kReferralStatusChangedType) {
    return ParseAndApply<ReferralStatusChanged>(this, record, events::kReferralStatusChangedType);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("ce_type '", header.type, "' is not an event force feedback follows"));
}

absl::StatusOr<Applied> FeedbackProjector::ApplyEvent(const NeedsAssessed& event,
                                                      absl::string_view event_id) {
  HUB_RETURN_IF_ERROR(CheckEventId(event_id));
  HUB_RETURN_IF_ERROR(ValidateCaseId("case_id", event.case_id()));
  if (!event.has_crime()) {
    return absl::InvalidArgumentError("crime: required");
  }
  HUB_ASSIGN_OR_RETURN(std::optional<std::string> force, CheckCrime("crime", event.crime()));
  if (!force.has_value()) {
    return Skipped();
  }
  if (event.sequence() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("sequence: must be 1 or more, got ", event.sequence()));
  }
  return Store(store_, *force, event.case_id(), event_id, event, &MergeAssessment);
}

absl::StatusOr<Applied> FeedbackProjector::ApplyEvent(const ReferralRouted& event,
                                                      absl::string_view event_id) {
  HUB_RETURN_IF_ERROR(CheckEventId(event_id));
  HUB_RETURN_IF_ERROR(ValidateCaseId("case_id", event.case_id()));
  if (!event.assessment().has_crime()) {
    return absl::InvalidArgumentError("assessment.crime: required");
  }
  HUB_ASSIGN_OR_RETURN(std::optional<std::string> force,
                       CheckCrime("assessment.crime", event.assessment().crime()));
  if (!force.has_value()) {
    return Skipped();
  }
  if (event.referrals_size() == 0 && event.referral_id().empty()) {
    return absl::InvalidArgumentError("referrals: required");
  }
  for (int i = 0; i < event.referrals_size(); ++i) {
    if (event.referrals(i).referral_id().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("referrals[", i, "].referral_id: required"));
    }
  }
  return Store(store_, *force, event.case_id(), event_id, event, &MergeRouted);
}

absl::StatusOr<Applied> FeedbackProjector::ApplyEvent(const ReferralStatusChanged& event,
                                                      absl::string_view event_id) {
  HUB_RETURN_IF_ERROR(CheckEventId(event_id));
  HUB_RETURN_IF_ERROR(ValidateCaseId("case_id", event.case_id()));
  if (event.force().empty()) {
    return Skipped();  // Not a police case.
  }
  HUB_RETURN_IF_ERROR(ValidateForce("force", event.force()));
  if (!event.crime_reference().empty()) {
    HUB_RETURN_IF_ERROR(ValidateCrimeReference("crime_reference", event.crime_reference()));
  }
  if (event.referral_id().empty()) {
    return absl::InvalidArgumentError("referral_id: required");
  }
  return Store(store_, event.force(), event.case_id(), event_id, event, &MergeStatusChange);
}

}  // namespace hub::routing::feedback
