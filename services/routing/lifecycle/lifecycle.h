// The referral lifecycle as a pure state machine over hub.routing.v1.ReferralStatus (the
// FHIR Task states of closed-loop referral; docs/referral-lifecycle.md has the diagram).
//
// Allowed moves:
//   REQUESTED -> RECEIVED -> ACCEPTED | REJECTED
//   ACCEPTED -> IN_PROGRESS;  IN_PROGRESS <-> ON_HOLD;  IN_PROGRESS | ON_HOLD -> COMPLETED | FAILED
//   any non-final state -> CANCELLED;  any state but ENTERED_IN_ERROR -> ENTERED_IN_ERROR
// REJECTED, COMPLETED, FAILED, CANCELLED and ENTERED_IN_ERROR are final (only a correction
// to ENTERED_IN_ERROR leaves them). A referral starts in REQUESTED; staying put is not a move.
//
// What a transition carries: REJECTED needs a rejection reason; COMPLETED needs an outcome
// (at least one measure assessed) or a closure reason, or both; FAILED needs a closure
// reason; CANCELLED may carry a closure reason; nothing else carries a reason or an outcome.
//
// No I/O, no clock, no state: every function is thread-safe and needs nothing to test.
#ifndef HUB_SERVICES_ROUTING_LIFECYCLE_LIFECYCLE_H_
#define HUB_SERVICES_ROUTING_LIFECYCLE_LIFECYCLE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "hub/routing/v1/referral.pb.h"

namespace hub::routing::lifecycle {

// The status every new referral starts in.
inline constexpr hub::routing::v1::ReferralStatus kInitialStatus =
    hub::routing::v1::REFERRAL_STATUS_REQUESTED;

// True for REJECTED, COMPLETED, FAILED, CANCELLED and ENTERED_IN_ERROR.
bool IsFinal(hub::routing::v1::ReferralStatus status);

// True when the graph has an edge from `from` to `to` (ignores what the transition carries).
bool IsAllowed(hub::routing::v1::ReferralStatus from, hub::routing::v1::ReferralStatus to);

// The statuses reachable from `from` in one move, in enum order.
std::vector<hub::routing::v1::ReferralStatus> NextStatuses(hub::routing::v1::ReferralStatus from);

// The status without its prefix: "IN_PROGRESS" for REFERRAL_STATUS_IN_PROGRESS.
std::string StatusName(hub::routing::v1::ReferralStatus status);

// True when `outcome` has at least one measure assessed.
bool HasAssessedMeasure(const hub::routing::v1::CopeAndRecoverOutcome& outcome);

// OK when `t` may be applied to a referral in `from`.
//   kInvalidArgument: `from` or `t.to` unspecified or unknown; a required reason or outcome
//     missing; a reason or outcome the target status does not take.
//   kFailedPrecondition: the graph has no such move ("cannot go from COMPLETED to
//     IN_PROGRESS").
absl::Status CheckTransition(hub::routing::v1::ReferralStatus from,
                             const hub::routing::v1::Transition& t);

// The status after applying `t` to a referral in `from`: `t.to` when CheckTransition is OK,
// otherwise its error.
absl::StatusOr<hub::routing::v1::ReferralStatus> ApplyTransition(
    hub::routing::v1::ReferralStatus from, const hub::routing::v1::Transition& t);

}  // namespace hub::routing::lifecycle

#endif  // HUB_SERVICES_ROUTING_LIFECYCLE_LIFECYCLE_H_
