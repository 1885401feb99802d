// Choosing where a victim's referral goes, first cut.
//
// The walking skeleton routes every case to the Hub's own Victim Care team, the default
// provider for everyone, and records why — including when no external referral may be
// made yet because explicit consent is needed or was declined. The routing issue brings
// the provider directory (Open Referral UK), eligibility, capacity and waiting lists
// behind this same function. Pure and thread-safe.
#ifndef HUB_SERVICES_ROUTING_MATCHING_H_
#define HUB_SERVICES_ROUTING_MATCHING_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#include "hub/events/v1/events.pb.h"

namespace hub::routing {

// The Hub's own Victim Care team: in-house officers and volunteers.
inline constexpr char kHubVictimCareProviderId[] = "hub-victim-care";

// A stable referral id for one case and provider: "r_" and 24 hex digits.
std::string ReferralIdFor(absl::string_view case_id, absl::string_view provider_id);

// Routes an assessed case. `routed_at` stamps the decision.
hub::events::v1::ReferralRouted Route(const hub::events::v1::NeedsAssessed& assessment,
                                      absl::Time routed_at);

}  // namespace hub::routing

#endif  // HUB_SERVICES_ROUTING_MATCHING_H_
