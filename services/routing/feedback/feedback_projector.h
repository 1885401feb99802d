// Keeps each force's feedback (FeedbackStore) up to date from the hub's events:
//   NeedsAssessed          the enhanced flag, its categories and the referral decision; the
//                          latest assessment (highest sequence) wins, an older one arriving
//                          late changes nothing
//   ReferralRouted         the referrals made (REQUESTED), and the assessment they were made on
//   ReferralStatusChanged  one referral's status, closure reason, outcome and time; a referral
//                          not yet known (a re-route, or the status change read before the
//                          routing decision) is added
// Only police cases are shown: the force is the organisation of the police principal that
// submitted the crime ("police:<FORCE>:<system>"). A self-referral is never shown to a
// force, even when the victim named one (the right to support without involving the
// police); its NeedsAssessed and ReferralRouted are kSkipped, as is a ReferralStatusChanged
// without a force. A ReferralStatusChanged names its force itself, so it can arrive (on its
// own topic) before anything says whether the case is a police report: it is stored under
// that force but stays hidden (CaseState::confirmed) until a NeedsAssessed or ReferralRouted
// of the same force confirms the case. So a status change that names a force for a
// self-referral never reaches that force. Nothing personal is copied: from the victim, only
// victim_ref (the force's own reference, not marked pii).
//
// Idempotent: each event is applied once per case, by its CloudEvents id, so a redelivered
// record changes nothing and appends nothing to the force's feed. Returned statuses follow
// the consumer loop's rules (services/common/kafka/kafka.h): kInvalidArgument for a record
// that can never apply (dead-letter it), kUnavailable when Redis is down (retry it).
//
// Two entry points with the same effect: Apply/Project take a consumed record (for a
// consumer of the three topics); ApplyEvent takes an event already parsed with its ce_id,
// so routing can project its own NeedsAssessed right after handling it without parsing the
// record again. Using both for one event is harmless: the second is kDuplicate.
//
// Thread-safe (the store is).
#ifndef HUB_SERVICES_ROUTING_FEEDBACK_FEEDBACK_PROJECTOR_H_
#define HUB_SERVICES_ROUTING_FEEDBACK_FEEDBACK_PROJECTOR_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#include "hub/events/v1/events.pb.h"
#include "hub/routing/v1/provider.pb.h"
#include "services/common/kafka/kafka.h"
#include "services/routing/feedback/feedback_store.h"

namespace hub::routing::feedback {

class FeedbackProjector {
 public:
  // `store` must outlive the projector.
  explicit FeedbackProjector(FeedbackStore* store);

  // True for the three ce_types above.
  static bool Handles(absl::string_view ce_type);

  // Reads the record's CloudEvents headers, parses its value and applies it. A ce_type
  // other than the three above is kInvalidArgument (check Handles first on a topic that
  // carries others).
  absl::Status Apply(const kafka::ConsumedRecord& record);
  // The same, saying what happened (for metrics and tests).
  absl::StatusOr<Applied> Project(const kafka::ConsumedRecord& record);

  // The same for an event already parsed; `event_id` is its record's ce_id.
  absl::StatusOr<Applied> ApplyEvent(const hub::events::v1::NeedsAssessed& event,
                                     absl::string_view event_id);
  absl::StatusOr<Applied> ApplyEvent(const hub::events::v1::ReferralRouted& event,
                                     absl::string_view event_id);
  absl::StatusOr<Applied> ApplyEvent(const hub::events::v1::ReferralStatusChanged& event,
                                     absl::string_view event_id);

 private:
  FeedbackStore* store_;
};

// ---------------------------------------------------------------------------------------
// The pure parts, exposed for tests.

// The force whose feedback a case is: the organisation of `crime.submitted_by` when that is
// a police principal and the case is not a self-referral; nullopt otherwise.
// kInvalidArgument when submitted_by is missing or not a principal, or the force cannot be
// used in a key.
absl::StatusOr<std::optional<std::string>> ForceOf(const hub::events::v1::CrimeReported& crime);

// What each event does to a case's state. They never touch token and only move updated_at
// forward. The projector applies the first two only after ForceOf named the case's force, so
// they confirm the case; a status change alone does not.
void MergeAssessment(const hub::events::v1::NeedsAssessed& assessment, CaseState* state);
void MergeRouted(const hub::events::v1::ReferralRouted& routed, CaseState* state);
void MergeStatusChange(const hub::events::v1::ReferralStatusChanged& change, CaseState* state);

// True when `a` and `b` differ at most in their updated_at times (the case's and the
// referrals'): such a change is not worth telling a force about.
bool SameExceptTimes(const hub::routing::v1::CaseFeedback& a,
                     const hub::routing::v1::CaseFeedback& b);

}  // namespace hub::routing::feedback

#endif  // HUB_SERVICES_ROUTING_FEEDBACK_FEEDBACK_PROJECTOR_H_
