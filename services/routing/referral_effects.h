// The seam between the provider API (and staff tools) and routing's core: what must happen
// after a referral's status changed, and the case data a provider may be shown.
//
// The provider API changes a referral's status in the ReferralStore, then calls
// AfterTransition, which does everything that follows, idempotently: it publishes the
// ReferralStatusChanged event (acks=all; its id is derived from the referral and the
// transition, so a repeat publishes the same event), cancels the offer's lapse timer on
// acceptance, frees the provider's place and re-routes on a rejection, frees the place on
// completion, failure or cancellation and offers it to whoever waits next. A call that
// failed part-way (kUnavailable) is safe to repeat: the provider's retry of the same call
// finds the status already changed and calls AfterTransition again.
#ifndef HUB_SERVICES_ROUTING_REFERRAL_EFFECTS_H_
#define HUB_SERVICES_ROUTING_REFERRAL_EFFECTS_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#include "hub/events/v1/events.pb.h"
#include "hub/routing/v1/referral_record.pb.h"

namespace hub::routing {

class ReferralEffects {
 public:
  virtual ~ReferralEffects() = default;

  // Everything that follows `record`'s latest transition (its last history entry), made by
  // principal `by`. kUnavailable when Kafka or Redis failed: the caller reports it and the
  // retried call repeats this.
  virtual absl::Status AfterTransition(const hub::routing::v1::ReferralRecord& record,
                                       absl::string_view by) = 0;

  // The crime of the case as last assessed, with the victim's sealed personal data
  // (personal_data), or nullopt when routing holds no assessment for it.
  virtual absl::StatusOr<std::optional<hub::events::v1::CrimeReported>> CaseCrime(
      absl::string_view case_id) = 0;
};

}  // namespace hub::routing

#endif  // HUB_SERVICES_ROUTING_REFERRAL_EFFECTS_H_
