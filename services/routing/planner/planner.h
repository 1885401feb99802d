// Which providers a victim's needs go to: one referral per provider, carrying every need
// that provider will meet, chosen from the directory by eligibility and ranked by
// specialism, then free capacity, then load; the Hub's own Victim Care team (the
// directory's fallback) takes whatever no specialist can. Every choice, and every
// provider that could have met a need but was not eligible, is recorded with why.
//
// Pure: the caller passes the providers' current load (active referrals) and the
// providers to leave out (they rejected the referral, or let an offer lapse). Capacity is
// only a preference here — a full provider is chosen only when no eligible one has room —
// and is enforced atomically when the referral is admitted (lifecycle/capacity.h), where a
// referral to a full provider waits on its waiting list. Thread-safe.
#ifndef HUB_SERVICES_ROUTING_PLANNER_PLANNER_H_
#define HUB_SERVICES_ROUTING_PLANNER_PLANNER_H_

#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"

#include "hub/events/v1/events.pb.h"
#include "services/routing/directory/directory.h"

namespace hub::routing {

// One referral to make.
struct PlannedReferral {
  const Service* service = nullptr;
  // The needs this provider is asked to meet, in the assessment's order.
  std::vector<std::string> needs;
  // Plain English, without personal data: why this provider.
  std::string reason;
  // The provider had no free place when planned: the referral will wait on its list.
  bool full = false;
};

struct Plan {
  // Specialists first (in the order chosen), the fallback last when it has needs to meet.
  std::vector<PlannedReferral> referrals;
  // Why other providers that meet one of the needs were not chosen, one line each.
  std::vector<std::string> not_chosen;
};

struct PlanInput {
  // Active referrals per service key (absent: none).
  absl::flat_hash_map<std::string, int> load;
  // Service keys never to choose (rejected, lapsed offers).
  std::set<std::string> excluded;
};

// Plans the referrals for an assessment whose referral_decision is REFER. For any other
// decision the plan is the fallback alone, carrying no needs (the Hub's team seeks consent
// or keeps the case for updates), with the reason.
Plan PlanReferrals(const Directory& directory, const hub::events::v1::NeedsAssessed& assessment,
                   const PlanInput& input);

}  // namespace hub::routing

#endif  // HUB_SERVICES_ROUTING_PLANNER_PLANNER_H_
