#include "services/routing/lifecycle/lifecycle.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace hub::routing::lifecycle {

namespace v1 = ::hub::routing::v1;

namespace {

using v1::ReferralStatus;
using v1::Transition;

bool IsKnown(ReferralStatus status) {
  return v1::ReferralStatus_IsValid(status) && status != v1::REFERRAL_STATUS_UNSPECIFIED;
}

// The graph's edges, apart from the two that apply to many states (cancel, mark in error).
bool IsForwardEdge(ReferralStatus from, ReferralStatus to) {
  switch (from) {
    case v1::REFERRAL_STATUS_REQUESTED:
      return to == v1::REFERRAL_STATUS_RECEIVED;
    case v1::REFERRAL_STATUS_RECEIVED:
      return to == v1::REFERRAL_STATUS_ACCEPTED || to == v1::REFERRAL_STATUS_REJECTED;
    case v1::REFERRAL_STATUS_ACCEPTED:
      return to == v1::REFERRAL_STATUS_IN_PROGRESS;
    case v1::REFERRAL_STATUS_IN_PROGRESS:
      return to == v1::REFERRAL_STATUS_ON_HOLD || to == v1::REFERRAL_STATUS_COMPLETED ||
             to == v1::REFERRAL_STATUS_FAILED;
    case v1::REFERRAL_STATUS_ON_HOLD:
      return to == v1::REFERRAL_STATUS_IN_PROGRESS || to == v1::REFERRAL_STATUS_COMPLETED ||
             to == v1::REFERRAL_STATUS_FAILED;
    default:
      return false;
  }
}

absl::Status CheckCarried(const Transition& t) {
  const std::string to = StatusName(t.to());
  const bool has_rejection = t.rejection_reason() != v1::REJECTION_REASON_UNSPECIFIED;
  const bool has_closure = t.closure_reason() != v1::CLOSURE_REASON_UNSPECIFIED;
  const bool has_outcome = t.has_outcome() && HasAssessedMeasure(t.outcome());
  if (has_rejection && !v1::RejectionReason_IsValid(t.rejection_reason())) {
    return absl::InvalidArgumentError(
        absl::StrCat("rejection_reason: unknown value ", t.rejection_reason()));
  }
  if (has_closure && !v1::ClosureReason_IsValid(t.closure_reason())) {
    return absl::InvalidArgumentError(
        absl::StrCat("closure_reason: unknown value ", t.closure_reason()));
  }
  if (t.to() == v1::REFERRAL_STATUS_REJECTED) {
    if (!has_rejection) {
      return absl::InvalidArgumentError("rejection_reason: a rejection must carry a reason");
    }
  } else if (has_rejection) {
    return absl::InvalidArgumentError(
        absl::StrCat("rejection_reason: only a move to REJECTED takes one, not to ", to));
  }
  const bool takes_closure = t.to() == v1::REFERRAL_STATUS_COMPLETED ||
                             t.to() == v1::REFERRAL_STATUS_FAILED ||
                             t.to() == v1::REFERRAL_STATUS_CANCELLED;
  if (has_closure && !takes_closure) {
    return absl::InvalidArgumentError(absl::StrCat(
        "closure_reason: only a move to COMPLETED, FAILED or CANCELLED takes one, not to ", to));
  }
  if (t.has_outcome() && t.to() != v1::REFERRAL_STATUS_COMPLETED) {
    return absl::InvalidArgumentError(
        absl::StrCat("outcome: only a move to COMPLETED takes one, not to ", to));
  }
  if (t.to() == v1::REFERRAL_STATUS_COMPLETED && !has_outcome && !has_closure) {
    return absl::InvalidArgumentError(
        "outcome: a completion must carry an outcome with at least one measure assessed, or "
        "a closure_reason");
  }
  if (t.to() == v1::REFERRAL_STATUS_FAILED && !has_closure) {
    return absl::InvalidArgumentError("closure_reason: a failed referral must carry one");
  }
  return absl::OkStatus();
}

}  // namespace

bool IsFinal(ReferralStatus status) {
  return status == v1::REFERRAL_STATUS_REJECTED || status == v1::REFERRAL_STATUS_COMPLETED ||
         status == v1::REFERRAL_STATUS_FAILED || status == v1::REFERRAL_STATUS_CANCELLED ||
         status == v1::REFERRAL_STATUS_ENTERED_IN_ERROR;
}

bool IsAllowed(ReferralStatus from, ReferralStatus to) {
  if (!IsKnown(from) || !IsKnown(to)) {
    return false;
  }
  if (to == v1::REFERRAL_STATUS_ENTERED_IN_ERROR) {
    return from != v1::REFERRAL_STATUS_ENTERED_IN_ERROR;
  }
  if (to == v1::REFERRAL_STATUS_CANCELLED) {
    return !IsFinal(from);
  }
  return IsForwardEdge(from, to);
}

std::vector<ReferralStatus> NextStatuses(ReferralStatus from) {
  std::vector<ReferralStatus> next;
  for (int value = v1::ReferralStatus_MIN; value <= v1::ReferralStatus_MAX; ++value) {
    if (v1::ReferralStatus_IsValid(value) && IsAllowed(from, static_cast<ReferralStatus>(value))) {
      next.push_back(static_cast<ReferralStatus>(value));
    }
  }
  return next;
}

std::string StatusName(ReferralStatus status) {
  if (!v1::ReferralStatus_IsValid(status)) {
    return absl::StrCat("UNKNOWN(", static_cast<int>(status), ")");
  }
  std::string name = v1::ReferralStatus_Name(status);
  constexpr absl::string_view kPrefix = "REFERRAL_STATUS_";
  if (absl::StartsWith(name, kPrefix)) {
    name.erase(0, kPrefix.size());
  }
  return name;
}

bool HasAssessedMeasure(const v1::CopeAndRecoverOutcome& outcome) {
  return outcome.has_cope_with_everyday_life_improved() || outcome.has_feel_safer_improved() ||
         outcome.has_health_and_wellbeing_improved() ||
         outcome.has_engage_with_criminal_justice_improved() ||
         outcome.has_access_services_improved();
}

absl::Status CheckTransition(ReferralStatus from, const Transition& t) {
  if (!IsKnown(from)) {
    return absl::InvalidArgumentError(
        absl::StrCat("from: not a referral status: ", StatusName(from)));
  }
  if (!IsKnown(t.to())) {
    return absl::InvalidArgumentError(
        absl::StrCat("to: not a referral status: ", StatusName(t.to())));
  }
  if (!IsAllowed(from, t.to())) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot go from ", StatusName(from), " to ", StatusName(t.to())));
  }
  return CheckCarried(t);
}

absl::StatusOr<ReferralStatus> ApplyTransition(ReferralStatus from, const Transition& t) {
  if (absl::Status status = CheckTransition(from, t); !status.ok()) {
    return status;
  }
  return t.to();
}

}  // namespace hub::routing::lifecycle
