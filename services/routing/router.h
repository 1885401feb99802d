// Routing's core: turns a routing decision into referrals, offers them within capacity, and
// carries each referral through what follows — acceptance, rejection and re-routing, lapsed
// offers, places freed and given to whoever waits next, consent withdrawn, and the Victims'
// Code deadline.
//
// One routing decision (Route) plans the referrals (planner/planner.h), creates each in the
// ReferralStore, admits it to the provider's capacity (lifecycle/capacity.h) and, when it
// holds a place, offers it: the offer goes into the provider's OfferLog (which the provider
// API streams), a lapse timer is set at the provider's acceptance target, and a
// ReferralStatusChanged (OFFERED) is published. A referral that cannot get a place waits on
// the provider's list; a victim at immediate risk who has to wait raises a StaffAlert at
// once. A timer at the Code deadline (2 working days) raises a breach alert if nothing was
// offered by then.
//
// Everything is idempotent and can be repeated after a crash at any point:
//   - referral ids are derived from the case, the decision and the provider, so creating,
//     admitting and offering again find what the first attempt did;
//   - event ids are derived from the referral and what happened, so consumers drop repeats;
//   - effects that must happen later, or must survive a crash between two steps, are
//     durable timers (timers/timer_store.h): the lapse of an offer, the release of a place
//     (which promotes the head of the waiting list and re-routes a rejected or lapsed
//     referral) and the Code deadline;
//   - Sweep finds any referral that holds a place but was never offered (a crash between
//     promotion and offer) and offers it.
//
// Redis keys of its own (the case's keys share the hash tag {<case id>}):
//   <ns>:routing:case:{<case id>}            hash: assessment (the latest NeedsAssessed,
//                                            serialized), sequence, stopped ("1" once
//                                            consent was withdrawn or the case closed),
//                                            external_round (the decision that made the
//                                            external referrals, when there was one)
//   <ns>:routing:case:{<case id>}:referrals  set: every referral id made for the case
//   <ns>:routing:case:{<case id>}:tried      set: providers that rejected or let an offer
//                                            lapse: never offered this case again
//
// Thread-safe: the consumer, the provider API, the timer runner and the sweep call it
// concurrently; every write is a single Redis command or script, or a compare-and-set.
#ifndef HUB_SERVICES_ROUTING_ROUTER_H_
#define HUB_SERVICES_ROUTING_ROUTER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#include "hub/events/v1/events.pb.h"
#include "hub/routing/v1/referral_record.pb.h"
#include "services/common/clock/clock.h"
#include "services/common/events/topics.h"
#include "services/common/kafka/kafka.h"
#include "services/common/metrics/metrics.h"
#include "services/common/redis/redis_client.h"
#include "services/common/timers/timer_store.h"
#include "services/routing/directory/directory.h"
#include "services/routing/lifecycle/capacity.h"
#include "services/routing/planner/planner.h"
#include "services/routing/referral_effects.h"
#include "services/routing/referrals/offer_log.h"
#include "services/routing/referrals/referral_store.h"

namespace hub::routing {

// Timer kinds (timers/timer_store.h) routing schedules.
inline constexpr char kOfferLapseTimer[] = "offer_lapse";
inline constexpr char kReleaseTimer[] = "release";
inline constexpr char kCodeDeadlineTimer[] = "code_deadline";

// The principal routing acts as.
inline constexpr char kRoutingPrincipal[] = "system:routing";

struct RouterDeps {
  DirectorySource* directory = nullptr;
  referrals::ReferralStore* referrals = nullptr;
  referrals::OfferLog* offers = nullptr;
  lifecycle::CapacityStore* capacity = nullptr;
  timers::TimerStore* timers = nullptr;
  redis::RedisClient* redis = nullptr;
  kafka::Producer* producer = nullptr;
  std::shared_ptr<clock::Clock> clock;
  events::TopicNames topics;
  // Prefix of routing's own keys.
  std::string ns;
  // Optional.
  metrics::Registry* metrics = nullptr;
  absl::Duration publish_timeout = absl::Seconds(30);
};

// What a routing decision made.
struct RoutingResult {
  hub::events::v1::ReferralRouted routed;
  // False when the decision makes no referral at all (no support wanted, withdrawn,
  // closed): the ReferralRouted still records the decision.
  bool any_referral = false;
};

class Router : public ReferralEffects {
 public:
  // Every pointer in `deps` must outlive the router.
  explicit Router(RouterDeps deps);

  // Handles an assessment. The first (sequence 1) is a routing decision: the referrals it
  // plans are made and the returned ReferralRouted describes them (the caller publishes
  // it). A re-assessment is stored; when it withdraws consent or closes the case every
  // open referral is cancelled; when it allows referral for the first time (consent given
  // later) it is a routing decision too; a raised priority alerts staff for referrals
  // still waiting. Returns nullopt when the caller has nothing to publish.
  // kInvalidArgument for an assessment routing cannot act on (the caller dead-letters it);
  // kUnavailable when Redis or Kafka failed (the caller retries the record).
  absl::StatusOr<std::optional<RoutingResult>> OnAssessment(
      const hub::events::v1::NeedsAssessed& assessment);

  // ReferralEffects.
  absl::Status AfterTransition(const hub::routing::v1::ReferralRecord& record,
                               absl::string_view by) override;
  absl::StatusOr<std::optional<hub::events::v1::CrimeReported>> CaseCrime(
      absl::string_view case_id) override;

  // Runs a routing timer (the TimerRunner's handler). Idempotent.
  absl::Status OnTimer(const timers::Timer& timer);

  // Offers every referral that holds a place but was never offered, and fills places a
  // raised maximum freed, for every provider in the directory. Returns how many offers it
  // made.
  absl::StatusOr<int> Sweep();

  // Key names, for documentation, tools and tests.
  std::string CaseKey(absl::string_view case_id) const;
  std::string CaseReferralsKey(absl::string_view case_id) const;
  std::string CaseTriedKey(absl::string_view case_id) const;

 private:
  struct Counters;

  // The decision `assessment` makes (round = its sequence). `latest`: no newer assessment
  // of the case was seen (otherwise the referrals are reported as they stand and nothing
  // the newer one decided is undone).
  absl::StatusOr<RoutingResult> Route(const hub::events::v1::NeedsAssessed& assessment, bool latest,
                                      absl::Time now);
  // Cancels every referral of the case that is not final.
  absl::Status CancelOpen(const hub::events::v1::NeedsAssessed& assessment, absl::Time now);
  // Creates `record` (idempotent), admits it and offers it when it has a place. Fills in
  // `out` with what happened.
  absl::Status MakeReferral(hub::routing::v1::ReferralRecord record, const Service& service,
                            absl::Time now, hub::events::v1::RoutedReferral* out);
  // Offers a referral that holds a place (idempotent): offer log, record, lapse timer,
  // OFFERED event.
  absl::Status Offer(const std::string& referral_id, absl::Time now);
  // The release timer: frees the place (or leaves the waiting list), offers the freed place
  // to the next one waiting, re-routes when the provider rejected or let the offer lapse.
  absl::Status Release(const std::string& referral_id, absl::Time now);
  // Offers `record`'s needs to the next eligible provider.
  absl::Status Reroute(const hub::routing::v1::ReferralRecord& record, absl::Time now);
  absl::Status OnOfferLapsed(const std::string& referral_id, absl::Time now);
  absl::Status OnCodeDeadline(const std::string& payload);

  absl::Status PublishStatus(const hub::routing::v1::ReferralRecord& record,
                             hub::events::v1::ReferralEventKind kind, absl::string_view event_step,
                             absl::string_view by, absl::string_view reason);
  absl::Status RaiseAlert(hub::events::v1::StaffAlert alert, absl::string_view cause);
  absl::Status Publish(const std::string& topic, const std::string& key,
                       const google::protobuf::MessageLite& message, const char* type,
                       const std::string& event_id);

  absl::StatusOr<std::optional<hub::events::v1::NeedsAssessed>> StoredAssessment(
      absl::string_view case_id);
  absl::StatusOr<std::vector<hub::routing::v1::ReferralRecord>> CaseReferrals(
      absl::string_view case_id);
  absl::StatusOr<bool> Stopped(absl::string_view case_id);
  // What the planner needs from Redis for the case: providers to leave out, every load.
  absl::StatusOr<PlanInput> PlanningInput(absl::string_view case_id, const Directory& directory);

  RouterDeps deps_;
  std::shared_ptr<Counters> counters_;
};

// The waiting-list priority (lifecycle::kMaxPriority is the most urgent) of a priority.
int WaitingPriority(hub::events::v1::Priority priority);

// The referral id for provider `provider_key` in decision `round` of `case_id`; for a
// re-route, `after_provider_key` is the provider it replaces.
std::string ReferralIdFor(absl::string_view case_id, int round, absl::string_view provider_key,
                          absl::string_view after_provider_key = "");

// The event kind a referral's status corresponds to.
hub::events::v1::ReferralEventKind KindOf(const hub::routing::v1::ReferralRecord& record);

}  // namespace hub::routing

#endif  // HUB_SERVICES_ROUTING_ROUTER_H_
