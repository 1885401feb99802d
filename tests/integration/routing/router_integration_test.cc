// Routing's core against a real Redis and a real Kafka broker, on a fake clock: many
// parallel routings against a provider of capacity K leave exactly K offered (and K
// accepted) and the rest waiting; a rejection frees the place for the head of the waiting
// list and re-routes with the provider excluded; an offer not accepted in time lapses and is
// re-routed; a referral not made by the Code deadline raises a breach alert, one made in
// time does not; a victim at immediate risk who has to wait alerts staff at once; withdrawn
// consent cancels every open referral and frees their places; timers survive a "restart"
// (a new router and runner); the sweep offers a place held but never offered; and a
// repeated assessment changes nothing.
#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

#include "hub/events/v1/events.pb.h"
#include "services/common/clock/clock.h"
#include "services/common/events/cloudevents.h"
#include "services/common/events/topics.h"
#include "services/common/kafka/kafka.h"
#include "services/common/offences/offences.h"
#include "services/common/status/status_macros.h"
#include "services/common/status/status_matchers.h"
#include "services/common/timers/timer_runner.h"
#include "services/routing/router.h"
#include "tests/support/test_env.h"
#include "tests/support/topic_reader.h"

namespace hub::routing {
namespace {

namespace ev = ::hub::events::v1;
namespace rv1 = ::hub::routing::v1;
using ::hub::testing::IsOk;
using ::hub::testing::IsOkAndHolds;
using ::testing::Contains;
using ::testing::SizeIs;

constexpr int kCapacity = 3;
constexpr int kCases = 12;
constexpr int kThreads = 6;
// Monday 2 November 2026, 10:00 UTC.
const absl::Time kT0 =
    absl::FromCivil(absl::CivilSecond(2026, 11, 2, 10, 0, 0), absl::UTCTimeZone());

google::protobuf::Timestamp Ts(absl::Time t) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}

std::string CaseId(int n) { return absl::StrFormat("c_%024x", 0xabc000 + n); }

// An 80-year-old burglary victim needing home security (only home-security takes it).
ev::NeedsAssessed Burglary(int n, ev::Priority priority = ev::PRIORITY_STANDARD) {
  ev::NeedsAssessed a;
  a.set_case_id(CaseId(n));
  a.set_priority(priority);
  a.add_needs("safety_home_security");
  a.set_crime_category("burglary_residential");
  a.set_referral_decision(ev::REFERRAL_DECISION_REFER);
  a.set_consent_status(hub::intake::v1::CONSENT_STATUS_GIVEN);
  a.set_sequence(1);
  *a.mutable_assessed_at() = Ts(kT0);
  *a.mutable_referral_due() = Ts(kT0 + absl::Hours(48));
  ev::CrimeReported* crime = a.mutable_crime();
  crime->set_case_id(a.case_id());
  crime->set_submitted_by("police:CAMBS:athena");
  crime->mutable_report()->set_force_code("CAMBS");
  crime->mutable_report()->set_crime_reference(absl::StrCat("CAMBS-", n));
  crime->mutable_report()->mutable_location()->set_local_authority_code("E07000008");
  crime->mutable_report()->add_victims()->set_age_at_offence(80);
  return a;
}

// A domestic abuse victim with consent: an IDVA (Cambridge has two that cover it) and the
// Hub's team for what IDVAs do not do.
ev::NeedsAssessed DomesticAbuse(int n) {
  ev::NeedsAssessed a = Burglary(n, ev::PRIORITY_ENHANCED);
  a.clear_needs();
  a.add_needs("domestic_abuse");
  a.set_crime_category("domestic_abuse");
  a.set_enhanced(true);
  return a;
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(hub::testing::HostPort address, hub::testing::RedisFromEnv());
    ASSERT_OK_AND_ASSIGN(bootstrap_, hub::testing::KafkaBootstrapFromEnv());
    redis::RedisConfig config;
    config.host = address.host;
    config.port = address.port;
    config.pool_size = kThreads + 4;
    config.command_timeout = absl::Seconds(10);
    ASSERT_OK_AND_ASSIGN(redis_, redis::CreateRedisClient(config));
    ns_ = absl::StrCat("t", std::hash<std::string>{}(hub::testing::UniqueName("rt")) % 1000000000);
    topics_ = events::Topics(ns_);
    // Only the topics routing's core writes to: the broker is shared by the whole suite.
    std::vector<kafka::TopicSpec> specs;
    for (const kafka::TopicSpec& spec : events::TopicSpecs(ns_)) {
      if (spec.name == topics_.referral_status || spec.name == topics_.staff_alerts) {
        specs.push_back(spec);
      }
    }
    ASSERT_THAT(kafka::EnsureTopics(bootstrap_, specs), IsOk());
    kafka::ProducerConfig producer_config;
    producer_config.bootstrap_servers = bootstrap_;
    producer_config.client_id = "router-test";
    ASSERT_OK_AND_ASSIGN(producer_, kafka::CreateProducer(producer_config));

    ASSERT_OK_AND_ASSIGN(offences::OffenceTable table,
                         offences::OffenceTable::Load(offences::DefaultOffenceTablePath()));
    offences_ = std::make_unique<offences::OffenceTable>(std::move(table));
    WriteDirectory(kCapacity);
    ASSERT_OK_AND_ASSIGN(directory_, DirectorySource::Create(directory_path_, offences_.get()));

    clock_ = std::make_shared<clock::FakeClock>(kT0);
    referrals_ = std::make_unique<referrals::ReferralStore>(redis_.get(), ns_);
    offers_ = std::make_unique<referrals::OfferLog>(redis_.get(), ns_);
    capacity_ = std::make_unique<lifecycle::CapacityStore>(redis_.get(), ns_);
    ASSERT_OK_AND_ASSIGN(timers_, timers::TimerStore::Create(redis_.get(), ns_, 4));
    Restart();
  }

  // A new router and timer runner on the same Redis: what a restarted routing has.
  void Restart() {
    runner_.reset();
    router_ = std::make_unique<Router>(RouterDeps{directory_.get(), referrals_.get(), offers_.get(),
                                                  capacity_.get(), timers_.get(), redis_.get(),
                                                  producer_.get(), clock_, topics_, ns_, nullptr});
    timers::TimerRunnerConfig config;
    config.owner = "router-test";
    Router* router = router_.get();
    ASSERT_OK_AND_ASSIGN(
        runner_, timers::TimerRunner::Create(
                     timers_.get(), clock_.get(),
                     [router](const timers::Timer& t) { return router->OnTimer(t); }, config));
  }

  // The sample directory with home-security's maximum set to `capacity`.
  void WriteDirectory(int capacity) {
    std::ifstream in(DefaultDirectoryPath());
    nlohmann::json directory = nlohmann::json::parse(in);
    std::string id;
    for (nlohmann::json& service : directory["services"]) {
      if (service["routing"]["key"] == "home-security") {
        service["routing"]["max_active"] = capacity;
        id = service["id"].get<std::string>();
      }
    }
    for (nlohmann::json& published : directory["service_capacity"]) {
      if (published["service_id"] == id) {
        published["maximum"] = capacity;
        published["available"] = capacity;
      }
    }
    directory_path_ = absl::StrCat(::testing::TempDir(), "/", ns_, "-providers.json");
    std::ofstream out(directory_path_);
    out << directory.dump(2);
  }

  RoutingResult Route(const ev::NeedsAssessed& assessment) {
    absl::StatusOr<std::optional<RoutingResult>> result = router_->OnAssessment(assessment);
    EXPECT_THAT(result, IsOk());
    if (!result.ok() || !result->has_value()) {
      return {};
    }
    return **result;
  }

  // Runs every timer due now.
  void RunTimers() {
    for (int i = 0; i < 10; ++i) {
      absl::StatusOr<int> handled = runner_->RunOnce();
      ASSERT_THAT(handled, IsOk());
      if (*handled == 0) {
        return;
      }
    }
  }

  rv1::ReferralRecord Get(const std::string& referral_id) {
    absl::StatusOr<std::optional<rv1::ReferralRecord>> record = referrals_->Get(referral_id);
    EXPECT_THAT(record, IsOk());
    return record.ok() && record->has_value() ? **record : rv1::ReferralRecord();
  }

  // What a provider does through the API: its own transition, then the effects.
  absl::StatusOr<rv1::ReferralRecord> ProviderMoves(const std::string& referral_id,
                                                    const rv1::Transition& t) {
    rv1::ReferralRecord record = Get(referral_id);
    const std::string by = absl::StrCat("provider:", record.provider_key());
    if (record.status() == rv1::REFERRAL_STATUS_REQUESTED) {
      rv1::Transition receive;
      receive.set_to(rv1::REFERRAL_STATUS_RECEIVED);
      HUB_ASSIGN_OR_RETURN(
          rv1::ReferralRecord received,
          referrals_->Transition(referral_id, record.provider_key(), receive, clock_->Now(), by));
      HUB_RETURN_IF_ERROR(router_->AfterTransition(received, by));
    }
    HUB_ASSIGN_OR_RETURN(
        rv1::ReferralRecord moved,
        referrals_->Transition(referral_id, record.provider_key(), t, clock_->Now(), by));
    HUB_RETURN_IF_ERROR(router_->AfterTransition(moved, by));
    return moved;
  }

  template <typename Message>
  std::vector<Message> Read(const std::string& topic) {
    absl::StatusOr<std::vector<kafka::ConsumedRecord>> records =
        hub::testing::ReadWholeTopic(bootstrap_, topic);
    EXPECT_THAT(records, IsOk());
    std::vector<Message> out;
    std::set<std::string> ids;
    for (const kafka::ConsumedRecord& record :
         records.value_or(std::vector<kafka::ConsumedRecord>{})) {
      Message message;
      absl::StatusOr<events::CloudEvent> event = events::FromHeaders(record);
      EXPECT_THAT(event, IsOk());
      // Consumers drop repeats by event id; so does the test.
      if (event.ok() && ids.insert(event->id).second && message.ParseFromString(record.value)) {
        out.push_back(std::move(message));
      }
    }
    return out;
  }

  std::vector<ev::StaffAlert> Alerts() { return Read<ev::StaffAlert>(topics_.staff_alerts); }

  std::string bootstrap_;
  std::string ns_;
  events::TopicNames topics_;
  std::string directory_path_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<offences::OffenceTable> offences_;
  std::unique_ptr<DirectorySource> directory_;
  std::shared_ptr<clock::FakeClock> clock_;
  std::unique_ptr<referrals::ReferralStore> referrals_;
  std::unique_ptr<referrals::OfferLog> offers_;
  std::unique_ptr<lifecycle::CapacityStore> capacity_;
  std::unique_ptr<timers::TimerStore> timers_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<timers::TimerRunner> runner_;
};

rv1::Transition To(rv1::ReferralStatus status) {
  rv1::Transition t;
  t.set_to(status);
  return t;
}

rv1::Transition Reject() {
  rv1::Transition t = To(rv1::REFERRAL_STATUS_REJECTED);
  t.set_rejection_reason(rv1::REJECTION_REASON_AT_CAPACITY);
  return t;
}

TEST_F(RouterTest, ParallelRoutingsNeverExceedCapacityAndTheRestWaitInOrder) {
  std::vector<RoutingResult> results(kCases);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  std::atomic<int> next{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int n = next++; n < kCases; n = next++) {
        results[n] = Route(Burglary(n));
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  int offered = 0;
  std::set<int64_t> positions;
  std::vector<std::string> offered_ids;
  for (const RoutingResult& result : results) {
    ASSERT_EQ(result.routed.referrals_size(), 1);
    const ev::RoutedReferral& referral = result.routed.referrals(0);
    EXPECT_EQ(referral.provider_id(), "home-security");
    if (referral.state() == ev::REFERRAL_EVENT_KIND_OFFERED) {
      ++offered;
      offered_ids.push_back(referral.referral_id());
    } else {
      EXPECT_EQ(referral.state(), ev::REFERRAL_EVENT_KIND_WAITING);
      positions.insert(referral.waiting_position());
    }
  }
  EXPECT_EQ(offered, kCapacity);
  EXPECT_THAT(capacity_->Active("home-security"), IsOkAndHolds(kCapacity));
  EXPECT_THAT(capacity_->Waiting("home-security"), IsOkAndHolds(kCases - kCapacity));
  // The provider's offer log holds exactly the offered referrals, once each.
  ASSERT_OK_AND_ASSIGN(std::vector<referrals::LoggedOffer> log,
                       offers_->After("home-security", 0, 100));
  EXPECT_THAT(log, SizeIs(kCapacity));

  // All offered accepted: exactly K accepted; nobody waiting is offered while they hold on.
  for (const std::string& id : offered_ids) {
    ASSERT_THAT(ProviderMoves(id, To(rv1::REFERRAL_STATUS_ACCEPTED)), IsOk());
  }
  RunTimers();
  int accepted = 0;
  for (const RoutingResult& result : results) {
    const rv1::ReferralRecord record = Get(result.routed.referrals(0).referral_id());
    accepted += record.status() == rv1::REFERRAL_STATUS_ACCEPTED ? 1 : 0;
  }
  EXPECT_EQ(accepted, kCapacity);

  // Routing every case again (a redelivery) changes nothing.
  for (int n = 0; n < kCases; ++n) {
    RoutingResult again = Route(Burglary(n));
    EXPECT_EQ(again.routed.referrals(0).referral_id(),
              results[n].routed.referrals(0).referral_id());
  }
  EXPECT_THAT(capacity_->Active("home-security"), IsOkAndHolds(kCapacity));
  EXPECT_THAT(offers_->After("home-security", 0, 100), IsOkAndHolds(SizeIs(kCapacity)));
}

TEST_F(RouterTest, CompletionPromotesTheHeadOfTheWaitingList) {
  std::vector<std::string> ids;
  for (int n = 0; n < kCapacity + 2; ++n) {
    clock_->Set(kT0 + absl::Minutes(n));  // Older first.
    ids.push_back(Route(Burglary(n)).routed.referrals(0).referral_id());
  }
  EXPECT_EQ(Get(ids[kCapacity]).offer_sequence(), 0);
  ASSERT_THAT(ProviderMoves(ids[0], To(rv1::REFERRAL_STATUS_ACCEPTED)), IsOk());
  ASSERT_THAT(ProviderMoves(ids[0], To(rv1::REFERRAL_STATUS_IN_PROGRESS)), IsOk());
  rv1::Transition complete = To(rv1::REFERRAL_STATUS_COMPLETED);
  complete.mutable_outcome()->set_feel_safer_improved(true);
  ASSERT_THAT(ProviderMoves(ids[0], complete), IsOk());
  RunTimers();
  // The oldest waiting referral got the place and the offer; the next one still waits.
  EXPECT_GT(Get(ids[kCapacity]).offer_sequence(), 0);
  EXPECT_EQ(Get(ids[kCapacity + 1]).offer_sequence(), 0);
  EXPECT_THAT(capacity_->Position("home-security", ids[kCapacity + 1]),
              IsOkAndHolds(std::optional<int64_t>(1)));
  EXPECT_THAT(capacity_->Active("home-security"), IsOkAndHolds(kCapacity));
}

TEST_F(RouterTest, RejectionReroutesWithTheProviderExcluded) {
  ev::NeedsAssessed assessment = DomesticAbuse(1);
  RoutingResult result = Route(assessment);
  ASSERT_GT(result.routed.referrals_size(), 0);
  const ev::RoutedReferral first = result.routed.referrals(0);
  ASSERT_EQ(first.state(), ev::REFERRAL_EVENT_KIND_OFFERED);
  ASSERT_THAT(ProviderMoves(first.referral_id(), Reject()), IsOk());
  RunTimers();

  ASSERT_OK_AND_ASSIGN(
      redis::Reply ids,
      redis_->Command({"SMEMBERS", router_->CaseReferralsKey(assessment.case_id())}));
  std::vector<rv1::ReferralRecord> replacements;
  for (const redis::Reply& id : ids.elements) {
    rv1::ReferralRecord record = Get(id.str);
    if (record.replaces_referral_id() == first.referral_id()) {
      replacements.push_back(record);
    }
  }
  ASSERT_EQ(replacements.size(), 1u);
  EXPECT_NE(replacements[0].provider_key(), first.provider_id());
  EXPECT_GT(replacements[0].offer_sequence(), 0);
  EXPECT_EQ(
      std::vector<std::string>(replacements[0].needs().begin(), replacements[0].needs().end()),
      std::vector<std::string>(first.needs().begin(), first.needs().end()));
  // The place the rejecting provider held is free again.
  EXPECT_THAT(capacity_->Active(first.provider_id()), IsOkAndHolds(0));
  std::vector<ev::ReferralStatusChanged> changes =
      Read<ev::ReferralStatusChanged>(topics_.referral_status);
  std::vector<ev::ReferralEventKind> kinds;
  for (const ev::ReferralStatusChanged& change : changes) {
    if (change.referral_id() == first.referral_id() ||
        change.referral_id() == replacements[0].referral_id()) {
      kinds.push_back(change.kind());
    }
  }
  EXPECT_THAT(kinds, Contains(ev::REFERRAL_EVENT_KIND_REJECTED));
  EXPECT_THAT(kinds, Contains(ev::REFERRAL_EVENT_KIND_REROUTED));
  // Routing the case again never goes back to the provider that declined.
  rv1::ReferralRecord again = Get(replacements[0].referral_id());
  ASSERT_THAT(ProviderMoves(again.referral_id(), Reject()), IsOk());
  RunTimers();
  std::vector<ev::StaffAlert> alerts = Alerts();
  bool exhausted_or_rerouted = false;
  for (const ev::StaffAlert& alert : alerts) {
    exhausted_or_rerouted |= alert.kind() == ev::STAFF_ALERT_KIND_NO_PROVIDER_LEFT;
  }
  ASSERT_OK_AND_ASSIGN(
      redis::Reply after,
      redis_->Command({"SMEMBERS", router_->CaseReferralsKey(assessment.case_id())}));
  for (const redis::Reply& id : after.elements) {
    rv1::ReferralRecord record = Get(id.str);
    exhausted_or_rerouted |= record.replaces_referral_id() == again.referral_id();
    if (record.replaces_referral_id() == again.referral_id()) {
      EXPECT_NE(record.provider_key(), first.provider_id());
      EXPECT_NE(record.provider_key(), again.provider_key());
    }
  }
  EXPECT_TRUE(exhausted_or_rerouted);
}

TEST_F(RouterTest, AnOfferNotAcceptedInTimeLapsesAndIsReroutedAfterARestart) {
  RoutingResult result = Route(Burglary(7));
  const std::string id = result.routed.referrals(0).referral_id();
  const rv1::ReferralRecord offered = Get(id);
  ASSERT_GT(offered.offer_sequence(), 0);
  const absl::Time respond_by = absl::FromUnixMillis(
      google::protobuf::util::TimeUtil::TimestampToMilliseconds(offered.respond_by()));
  EXPECT_EQ(respond_by, kT0 + absl::Hours(72));  // home-security's target.

  clock_->Set(respond_by - absl::Minutes(1));
  RunTimers();
  EXPECT_EQ(Get(id).status(), rv1::REFERRAL_STATUS_REQUESTED);

  Restart();  // Timers live in Redis: a new routing process finds them.
  clock_->Set(respond_by + absl::Seconds(1));
  RunTimers();
  const rv1::ReferralRecord lapsed = Get(id);
  EXPECT_EQ(lapsed.status(), rv1::REFERRAL_STATUS_CANCELLED);
  EXPECT_EQ(lapsed.closure_reason(), rv1::CLOSURE_REASON_UNABLE_TO_CONTACT_PROVIDER);
  EXPECT_EQ(KindOf(lapsed), ev::REFERRAL_EVENT_KIND_LAPSED);
  EXPECT_THAT(capacity_->Active("home-security"), IsOkAndHolds(0));
  // The Hub's own team is the only other provider for this need: it takes it over.
  ASSERT_OK_AND_ASSIGN(redis::Reply ids,
                       redis_->Command({"SMEMBERS", router_->CaseReferralsKey(CaseId(7))}));
  ASSERT_EQ(ids.elements.size(), 2u);
  bool replaced = false;
  for (const redis::Reply& other : ids.elements) {
    const rv1::ReferralRecord record = Get(other.str);
    if (record.replaces_referral_id() == id) {
      replaced = true;
      EXPECT_EQ(record.provider_key(), "hub-victim-care");
      EXPECT_GT(record.offer_sequence(), 0);
    }
  }
  EXPECT_TRUE(replaced);
  EXPECT_TRUE(Alerts().empty());
}

TEST_F(RouterTest, NothingOfferedByTheCodeDeadlineRaisesABreachOnce) {
  // Fill home-security, then route one more: it waits.
  for (int n = 0; n < kCapacity; ++n) {
    Route(Burglary(n));
  }
  ev::NeedsAssessed late = Burglary(50);
  RoutingResult result = Route(late);
  ASSERT_EQ(result.routed.referrals(0).state(), ev::REFERRAL_EVENT_KIND_WAITING);

  clock_->Set(kT0 + absl::Hours(47));
  RunTimers();
  EXPECT_TRUE(Alerts().empty());
  clock_->Set(kT0 + absl::Hours(48) + absl::Seconds(1));
  RunTimers();
  RunTimers();
  std::vector<ev::StaffAlert> alerts = Alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].kind(), ev::STAFF_ALERT_KIND_REFERRAL_DEADLINE_BREACHED);
  EXPECT_EQ(alerts[0].case_id(), late.case_id());
  // The cases offered in time raised nothing (checked above: one alert only).
}

TEST_F(RouterTest, AVictimAtImmediateRiskWhoMustWaitAlertsStaffAtOnce) {
  for (int n = 0; n < kCapacity; ++n) {
    Route(Burglary(n));
  }
  RoutingResult result = Route(Burglary(60, ev::PRIORITY_IMMEDIATE));
  ASSERT_EQ(result.routed.referrals(0).state(), ev::REFERRAL_EVENT_KIND_WAITING);
  // Immediate risk goes to the head of the queue, ahead of older standard referrals.
  EXPECT_EQ(result.routed.referrals(0).waiting_position(), 1);
  std::vector<ev::StaffAlert> alerts = Alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].kind(), ev::STAFF_ALERT_KIND_IMMEDIATE_RISK_WAITING);
  EXPECT_EQ(alerts[0].priority(), ev::PRIORITY_IMMEDIATE);
  // A redelivery raises the same alert (same id): consumers see it once.
  Route(Burglary(60, ev::PRIORITY_IMMEDIATE));
  EXPECT_EQ(Alerts().size(), 1u);
}

TEST_F(RouterTest, WithdrawnConsentCancelsOpenReferralsAndFreesTheirPlaces) {
  std::vector<std::string> ids;
  ids.reserve(kCapacity + 1);
  for (int n = 0; n < kCapacity + 1; ++n) {
    ids.push_back(Route(Burglary(n)).routed.referrals(0).referral_id());
  }
  ASSERT_THAT(ProviderMoves(ids[0], To(rv1::REFERRAL_STATUS_ACCEPTED)), IsOk());
  ev::NeedsAssessed withdrawn = Burglary(0);
  withdrawn.set_sequence(2);
  withdrawn.set_referral_decision(ev::REFERRAL_DECISION_CANCEL_OPEN_REFERRALS);
  withdrawn.set_consent_status(hub::intake::v1::CONSENT_STATUS_WITHDRAWN);
  absl::StatusOr<std::optional<RoutingResult>> handled = router_->OnAssessment(withdrawn);
  ASSERT_THAT(handled, IsOk());
  EXPECT_FALSE(handled->has_value());
  RunTimers();
  const rv1::ReferralRecord cancelled = Get(ids[0]);
  EXPECT_EQ(cancelled.status(), rv1::REFERRAL_STATUS_CANCELLED);
  EXPECT_EQ(cancelled.closure_reason(), rv1::CLOSURE_REASON_VICTIM_REFUSED_SERVICES);
  // The freed place went to the referral that was waiting; nothing was re-routed for the
  // victim who withdrew.
  EXPECT_GT(Get(ids[kCapacity]).offer_sequence(), 0);
  ASSERT_OK_AND_ASSIGN(redis::Reply mine,
                       redis_->Command({"SMEMBERS", router_->CaseReferralsKey(CaseId(0))}));
  EXPECT_THAT(mine.elements, SizeIs(1));
  // The first assessment redelivered after the withdrawal undoes nothing.
  RoutingResult redelivered = Route(Burglary(0));
  EXPECT_EQ(redelivered.routed.referrals(0).state(), ev::REFERRAL_EVENT_KIND_CANCELLED);
  ASSERT_OK_AND_ASSIGN(redis::Reply stopped,
                       redis_->Command({"HGET", router_->CaseKey(CaseId(0)), "stopped"}));
  EXPECT_EQ(stopped.str, "1");
  EXPECT_EQ(Get(ids[0]).status(), rv1::REFERRAL_STATUS_CANCELLED);
  // A late offer timer or deadline for the withdrawn case does nothing.
  clock_->Set(kT0 + absl::Hours(100));
  RunTimers();
  for (const ev::StaffAlert& alert : Alerts()) {
    EXPECT_NE(alert.case_id(), CaseId(0));
  }
}

TEST_F(RouterTest, ConsentGivenLaterMakesTheExternalReferral) {
  ev::NeedsAssessed seek = DomesticAbuse(3);
  seek.set_referral_decision(ev::REFERRAL_DECISION_SEEK_CONSENT);
  seek.set_consent_status(hub::intake::v1::CONSENT_STATUS_NOT_ASKED);
  seek.clear_referral_due();
  RoutingResult first = Route(seek);
  ASSERT_EQ(first.routed.referrals_size(), 1);
  EXPECT_EQ(first.routed.referrals(0).provider_id(), "hub-victim-care");
  EXPECT_FALSE(first.routed.external());

  ev::NeedsAssessed given = DomesticAbuse(3);
  given.set_sequence(2);
  RoutingResult second = Route(given);
  EXPECT_TRUE(second.routed.external());
  ASSERT_GT(second.routed.referrals_size(), 0);
  EXPECT_NE(second.routed.referrals(0).provider_id(), "hub-victim-care");
  // A further re-assessment (a milestone) is not another routing decision.
  ev::NeedsAssessed milestone = given;
  milestone.set_sequence(3);
  absl::StatusOr<std::optional<RoutingResult>> third = router_->OnAssessment(milestone);
  ASSERT_THAT(third, IsOk());
  EXPECT_FALSE(third->has_value());
}

TEST_F(RouterTest, SweepOffersAPlaceHeldButNeverOffered) {
  // A crash between taking a place and offering it: the record exists and holds a place.
  RoutingResult waiting;
  for (int n = 0; n < kCapacity + 1; ++n) {
    waiting = Route(Burglary(n));
  }
  const std::string id = waiting.routed.referrals(0).referral_id();
  ASSERT_EQ(Get(id).offer_sequence(), 0);
  // Another provider process freed a place and promoted it, then died before offering.
  ASSERT_THAT(capacity_->Dequeue("home-security", id), IsOkAndHolds(true));
  ASSERT_OK_AND_ASSIGN(redis::Reply moved,
                       redis_->Command({"SADD", capacity_->ActiveKey("home-security"), id}));
  ASSERT_THAT(router_->Sweep(), IsOkAndHolds(1));
  EXPECT_GT(Get(id).offer_sequence(), 0);
  EXPECT_THAT(router_->Sweep(), IsOkAndHolds(0));
}

}  // namespace
}  // namespace hub::routing
