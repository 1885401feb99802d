// The real hub-triage process against a real Kafka broker and Redis: each test publishes
// the events intake would publish (CrimeReported, CrimeUpdated, VictimErased, with their
// CloudEvents headers) straight to triage's input topics, and checks what triage
// published on the needs-assessed and dead-letter topics, what it recorded in the case's
// live view, and its own records in Redis. Covers the first assessment, redelivery,
// updates that arrive before their report, consent withdrawal, milestones, repeat
// victimisation and erasure, the staff gRPC API, rule reloads (on change and on SIGHUP,
// and a bad file refused), undecodable input, and a bad rule file at start.
//
// Each test has a namespace of its own (topics, consumer group, Redis keys) and its own
// triage process. Waits poll with short sleeps: triage's own counters (records handled,
// updates held, reloads) say when an input has been dealt with, so a count taken after
// them is final.
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include <grpcpp/grpcpp.h>
#include <sys/wait.h>

#include "hub/events/v1/events.pb.h"
#include "hub/triage/v1/triage.grpc.pb.h"
#include "services/common/casestate/case_store.h"
#include "services/common/events/cloudevents.h"
#include "services/common/events/topics.h"
#include "services/common/identity/identity.h"
#include "services/common/kafka/kafka.h"
#include "services/common/redis/redis_client.h"
#include "services/common/rpc/error_details.h"
#include "services/common/status/status_matchers.h"
#include "services/triage/rules.h"
#include "services/triage/triage_store.h"
#include "tests/integration/triage/triage_harness.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"

namespace hub::triage {
namespace {

using ::hub::testing::IsOk;
using ::hub::triage::testing::IntakeEvent;
using ::hub::triage::testing::kDeadLetteredSeries;
using ::hub::triage::testing::kHandledSeries;
using ::hub::triage::testing::kHeldSeries;
using ::hub::triage::testing::kPolice;
using ::hub::triage::testing::kReloadsOkSeries;
using ::hub::triage::testing::kReloadsRefusedSeries;
using ::hub::triage::testing::kStaff;
using ::hub::triage::testing::MakeConsentUpdate;
using ::hub::triage::testing::MakeCrimeReported;
using ::hub::triage::testing::MakeMilestoneUpdate;
using ::hub::triage::testing::MakeVictimErased;
using ::hub::triage::testing::NewCaseId;
using ::hub::triage::testing::NewPseudonymousId;
using ::hub::triage::testing::TopicFollower;
using ::hub::triage::testing::TriageProcess;
using ::hub::triage::testing::Utc;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

using hub::events::v1::CrimeReported;
using hub::events::v1::CrimeUpdated;
using hub::events::v1::NeedsAssessed;
using hub::triage::v1::GetAssessmentsRequest;
using hub::triage::v1::GetAssessmentsResponse;
using hub::triage::v1::RequestReassessmentRequest;
using hub::triage::v1::RequestReassessmentResponse;

// Generous: two cores shared with other tests.
constexpr absl::Duration kWait = absl::Seconds(30);

std::string Rfc3339(const google::protobuf::Timestamp& timestamp) {
  return google::protobuf::util::TimeUtil::ToString(timestamp);
}

std::string Rfc3339(absl::Time time) { return Rfc3339(testing::Ts(time)); }

int CountOf(const google::protobuf::RepeatedPtrField<std::string>& ids, const std::string& id) {
  return static_cast<int>(std::count(ids.begin(), ids.end(), id));
}

// The size of a container as an int (gMock's container matchers would print protobuf
// messages, which GCC 12 warns about inside gtest's printer).
template <typename Container>
int Size(const Container& container) {
  return static_cast<int>(container.size());
}

std::vector<std::string> RulesOf(const NeedsAssessed& assessment) {
  std::vector<std::string> rules;
  for (const auto& explanation : assessment.explanations()) {
    rules.push_back(explanation.rule());
  }
  return rules;
}

class TriageIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(bootstrap_, hub::testing::KafkaBootstrapFromEnv());
    ASSERT_OK_AND_ASSIGN(redis_address_, hub::testing::RedisFromEnv());
    bin_dir_ = hub::testing::BinDir();
    ASSERT_FALSE(bin_dir_.empty()) << "HUB_BIN_DIR must name the build's bin/ directory";
    ns_ = hub::testing::UniqueName("triage");
    topics_ = events::Topics(ns_);
    ASSERT_THAT(kafka::EnsureTopics(bootstrap_, events::TopicSpecs(ns_)), IsOk());
    dir_ = (std::filesystem::temp_directory_path() / ns_).string();
    std::filesystem::create_directories(dir_);

    kafka::ProducerConfig producer_config;
    producer_config.bootstrap_servers = bootstrap_;
    producer_config.client_id = "triage-itest";
    producer_config.linger = absl::ZeroDuration();
    producer_config.topics = {topics_.crime_reported, topics_.crime_updated, topics_.victim_erased};
    ASSERT_OK_AND_ASSIGN(producer_, kafka::CreateProducer(producer_config));

    redis::RedisConfig redis_config;
    redis_config.host = redis_address_.host;
    redis_config.port = redis_address_.port;
    ASSERT_OK_AND_ASSIGN(redis_, redis::CreateRedisClient(redis_config));
    store_ = std::make_unique<TriageStore>(redis_.get(), ns_);
    cases_ = std::make_unique<casestate::CaseStore>(redis_.get(), ns_);

    ASSERT_OK_AND_ASSIGN(assessed_, TopicFollower::Create(bootstrap_, topics_.needs_assessed,
                                                          events::kEventTopicPartitions));
  }

  void TearDown() override {
    for (std::unique_ptr<TriageProcess>& triage : processes_) {
      if (!triage->process().running()) {
        continue;
      }
      absl::StatusOr<int> status = triage->Stop(absl::Seconds(30));
      ASSERT_THAT(status, IsOk()) << "triage did not stop on SIGTERM";
      EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
          << "triage exited badly:\n"
          << hub::testing::TailFile(triage->log_path(), 30);
    }
    if (!HasFailure()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  TriageProcess::Options Options(std::vector<std::string> args) {
    TriageProcess::Options options;
    options.bin_dir = bin_dir_;
    options.ns = ns_;
    options.kafka_bootstrap = bootstrap_;
    options.redis_address = redis_address_.ToString();
    options.log_path = absl::StrCat(dir_, "/triage-", processes_.size(), ".log");
    options.args = std::move(args);
    return options;
  }

  // Starts triage and waits until it is ready; nullptr (and a failure) if it is not.
  TriageProcess* StartTriage(std::vector<std::string> args = {}) {
    absl::StatusOr<std::unique_ptr<TriageProcess>> started =
        TriageProcess::Start(Options(std::move(args)));
    EXPECT_THAT(started, IsOk());
    if (!started.ok()) {
      return nullptr;
    }
    processes_.push_back(*std::move(started));
    TriageProcess* triage = processes_.back().get();
    absl::Status ready = triage->WaitReady(absl::Seconds(60));
    EXPECT_THAT(ready, IsOk()) << hub::testing::TailFile(triage->log_path(), 30);
    return ready.ok() ? triage : nullptr;
  }

  // Three copies of the shipped rule files in the test's directory, as flags for triage.
  RulePaths CopyRuleFiles() {
    const RulePaths shipped = DefaultRulePaths();
    RulePaths copies{absl::StrCat(dir_, "/triage-rules.yaml"), absl::StrCat(dir_, "/offences.yaml"),
                     absl::StrCat(dir_, "/bank-holidays-england-wales.yaml")};
    EXPECT_THAT(testing::CopyFile(shipped.rules, copies.rules), IsOk());
    EXPECT_THAT(testing::CopyFile(shipped.offences, copies.offences), IsOk());
    EXPECT_THAT(testing::CopyFile(shipped.calendar, copies.calendar), IsOk());
    return copies;
  }

  static std::vector<std::string> RuleFlags(const RulePaths& paths, const std::string& interval) {
    return {absl::StrCat("--rules=", paths.rules), absl::StrCat("--offence-table=", paths.offences),
            absl::StrCat("--calendar=", paths.calendar),
            absl::StrCat("--rules-check-interval=", interval)};
  }

  void Publish(const std::string& topic, const std::string& key,
               const google::protobuf::MessageLite& payload, const events::CloudEvent& header) {
    EXPECT_THAT(
        producer_->ProduceSync(events::MakeRecord(topic, key, payload, header), absl::Seconds(10)),
        IsOk());
  }

  events::CloudEvent PublishReport(const CrimeReported& crime) {
    events::CloudEvent header = IntakeEvent(events::kCrimeReportedType);
    Publish(topics_.crime_reported, crime.case_id(), crime, header);
    return header;
  }

  events::CloudEvent PublishUpdate(const CrimeUpdated& update) {
    events::CloudEvent header = IntakeEvent(events::kCrimeUpdatedType);
    Publish(topics_.crime_updated, update.case_id(), update, header);
    return header;
  }

  // Waits until the case has at least `count` assessments on the topic; returns them all.
  std::vector<NeedsAssessed> WaitForAssessments(const std::string& case_id, size_t count) {
    const bool reached = assessed_->ReadUntil(
        [&](const std::vector<kafka::ConsumedRecord>& records) {
          return testing::AssessmentsOf(records, case_id).size() >= count;
        },
        kWait);
    EXPECT_TRUE(reached) << "case " << case_id << " did not get " << count << " assessments";
    return testing::AssessmentsOf(assessed_->records(), case_id);
  }

  // Every assessment of the case on the topic now (read to the topic's end).
  std::vector<NeedsAssessed> AllAssessments(const std::string& case_id) {
    EXPECT_THAT(assessed_->CatchUp(kWait), IsOk());
    return testing::AssessmentsOf(assessed_->records(), case_id);
  }

  // Waits until triage has handled `count` input records in all (its effects are done).
  void WaitHandled(const TriageProcess& triage, double count) {
    EXPECT_THAT(triage.WaitForMetric(kHandledSeries, count, kWait), IsOk())
        << hub::testing::TailFile(triage.log_path(), 30);
  }

  std::optional<hub::cases::v1::CaseState> CaseState(const std::string& case_id) {
    absl::StatusOr<std::optional<hub::cases::v1::CaseState>> state = cases_->Get(case_id);
    EXPECT_THAT(state, IsOk());
    return state.ok() ? *state : std::nullopt;
  }

  std::optional<hub::triage::v1::CaseRecord> Record(const std::string& case_id) {
    absl::StatusOr<std::optional<hub::triage::v1::CaseRecord>> record = store_->Get(case_id);
    EXPECT_THAT(record, IsOk());
    return record.ok() ? *record : std::nullopt;
  }

  bool KeyExists(const std::string& key) {
    absl::StatusOr<redis::Reply> reply = redis_->Command({"EXISTS", key});
    EXPECT_THAT(reply, IsOk());
    return reply.ok() && reply->integer == 1;
  }

  static void Prepare(grpc::ClientContext* context, const std::string& caller) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(15)));
    context->AddMetadata(identity::kCallerMetadataKey, caller);
  }

  std::string bootstrap_;
  hub::testing::HostPort redis_address_;
  std::string bin_dir_;
  std::string ns_;
  events::TopicNames topics_;
  std::string dir_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<TriageStore> store_;
  std::unique_ptr<casestate::CaseStore> cases_;
  std::unique_ptr<TopicFollower> assessed_;
  std::vector<std::unique_ptr<TriageProcess>> processes_;
};

// (a) A new report: one assessment (sequence 1, INITIAL, the shipped rules' version), the
// event's headers derived from the report's, the case's live attributes, triage's record
// and the victim's history.
TEST_F(TriageIntegrationTest, NewReportIsAssessedOnceWithTheShippedRules) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const RuleBook> shipped, RuleBook::Load(DefaultRulePaths()));
  TriageProcess* triage = StartTriage();
  ASSERT_NE(triage, nullptr);
  const std::string case_id = NewCaseId();
  const std::string victim = NewPseudonymousId();
  // Tuesday 17 November 2026, 10:00 in London (GMT): day 0; the referral is due by the end
  // of Thursday.
  const events::CloudEvent input =
      PublishReport(MakeCrimeReported(case_id, victim, Utc(2026, 11, 17, 10, 0)));
  WaitHandled(*triage, 1);

  std::vector<NeedsAssessed> assessments = AllAssessments(case_id);
  ASSERT_EQ(Size(assessments), 1);
  const NeedsAssessed& assessment = assessments[0];
  EXPECT_EQ(assessment.sequence(), 1);
  EXPECT_EQ(assessment.trigger(), hub::events::v1::ASSESSMENT_TRIGGER_INITIAL);
  EXPECT_EQ(assessment.trigger_event_id(), input.id);
  EXPECT_EQ(assessment.rules_version(), shipped->version);
  EXPECT_EQ(assessment.priority(), hub::events::v1::PRIORITY_STANDARD);
  EXPECT_FALSE(assessment.enhanced());
  EXPECT_EQ(assessment.crime_category(), "burglary_residential");
  EXPECT_EQ(assessment.consent_rule(), hub::events::v1::CONSENT_RULE_OPT_OUT);
  EXPECT_FALSE(assessment.consent_required());
  EXPECT_EQ(assessment.referral_decision(), hub::events::v1::REFERRAL_DECISION_REFER);
  EXPECT_EQ(Rfc3339(assessment.referral_due()), "2026-11-19T23:59:00Z");
  EXPECT_EQ(Rfc3339(assessment.first_contact_due()), "2026-11-18T10:00:00Z");
  EXPECT_FALSE(assessment.has_consent_contact_due());
  EXPECT_THAT(assessment.needs(),
              UnorderedElementsAre("safety_home_security", "practical", "emotional"));
  EXPECT_EQ(assessment.reports_in_window(), 1);
  EXPECT_THAT(RulesOf(assessment), Contains("deadline.referral"));
  EXPECT_EQ(assessment.crime().case_id(), case_id);
  EXPECT_EQ(assessment.crime().pseudonymous_victim_id(), victim);

  // The event: keyed by case, its id derived from the report's, the trace continued.
  const kafka::ConsumedRecord* published = nullptr;
  for (const kafka::ConsumedRecord& record : assessed_->records()) {
    if (record.key == case_id) {
      published = &record;
    }
  }
  ASSERT_NE(published, nullptr);
  ASSERT_OK_AND_ASSIGN(events::CloudEvent header, events::FromHeaders(*published));
  EXPECT_EQ(header.id, events::DeriveEventId(input.id, "triage/needs_assessed"));
  EXPECT_EQ(header.type, events::kNeedsAssessedType);
  EXPECT_EQ(header.source, "/hub/triage");
  ASSERT_OK_AND_ASSIGN(events::TraceContext input_trace,
                       events::ParseTraceparent(input.traceparent));
  ASSERT_OK_AND_ASSIGN(events::TraceContext trace, events::ParseTraceparent(header.traceparent));
  EXPECT_EQ(trace.trace_id, input_trace.trace_id);

  // The live view staff filter and sort on.
  std::optional<hub::cases::v1::CaseState> state = CaseState(case_id);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->stage(), hub::cases::v1::STAGE_ASSESSED);
  const auto& attributes = state->attributes();
  EXPECT_EQ(attributes.at("priority"), "PRIORITY_STANDARD");
  EXPECT_EQ(attributes.at("enhanced"), "false");
  EXPECT_EQ(attributes.at("referral_decision"), "REFERRAL_DECISION_REFER");
  EXPECT_EQ(attributes.at("referral_due"), "2026-11-19T23:59:00Z");
  EXPECT_EQ(attributes.at("first_contact_due"), "2026-11-18T10:00:00Z");
  EXPECT_EQ(attributes.at("consent_required"), "false");
  EXPECT_EQ(attributes.at("crime_category"), "burglary_residential");
  EXPECT_EQ(attributes.at("assessment_sequence"), "1");
  EXPECT_EQ(attributes.at("rules_version"), shipped->version);
  ASSERT_EQ(Size(state->history()), 1);
  EXPECT_EQ(state->history(0).service(), "triage");
  EXPECT_EQ(state->history(0).event_id(), header.id);

  // Triage's own record and the victim's report history.
  std::optional<hub::triage::v1::CaseRecord> record = Record(case_id);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->sequence(), 1);
  EXPECT_EQ(record->report_event_id(), input.id);
  EXPECT_EQ(CountOf(record->applied_event_ids(), input.id), 1);
  ASSERT_EQ(Size(record->assessments()), 1);
  EXPECT_FALSE(record->assessments(0).has_crime());
  EXPECT_EQ(Size(record->pending()), 0);
  ASSERT_OK_AND_ASSIGN(std::vector<PriorReport> history,
                       store_->History(victim, Utc(2025, 1, 1, 0, 0)));
  ASSERT_EQ(Size(history), 1);
  EXPECT_EQ(history[0].case_id, case_id);
  EXPECT_EQ(history[0].category, "burglary_residential");
  EXPECT_EQ(history[0].reported_at, Utc(2026, 11, 17, 10, 0));
}

// (b) The same CrimeReported delivered twice (same ce_id), and replayed under a new id:
// still exactly one assessment.
TEST_F(TriageIntegrationTest, RedeliveredReportIsAssessedOnce) {
  TriageProcess* triage = StartTriage();
  ASSERT_NE(triage, nullptr);
  const std::string case_id = NewCaseId();
  const CrimeReported crime =
      MakeCrimeReported(case_id, NewPseudonymousId(), absl::Now() - absl::Hours(3));
  const events::CloudEvent header = IntakeEvent(events::kCrimeReportedType);
  Publish(topics_.crime_reported, case_id, crime, header);
  Publish(topics_.crime_reported, case_id, crime, header);
  const events::CloudEvent replay = PublishReport(crime);
  WaitHandled(*triage, 3);

  std::vector<NeedsAssessed> assessments = AllAssessments(case_id);
  ASSERT_EQ(Size(assessments), 1);
  EXPECT_EQ(assessments[0].trigger_event_id(), header.id);
  std::optional<hub::triage::v1::CaseRecord> record = Record(case_id);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->sequence(), 1);
  EXPECT_EQ(record->report_event_id(), header.id);
  EXPECT_EQ(CountOf(record->applied_event_ids(), header.id), 1);
  EXPECT_EQ(CountOf(record->applied_event_ids(), replay.id), 1);
  std::optional<hub::cases::v1::CaseState> state = CaseState(case_id);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(Size(state->history()), 1);
}

// (c) Consent given for an explicit-consent (domestic abuse) case arrives before the case's
// report: held, then applied once the report comes, giving assessments 1 (seek consent) and
// 2 (refer, due 2 working days after the consent).
TEST_F(TriageIntegrationTest, UpdateBeforeItsReportIsHeldThenApplied) {
  TriageProcess* triage = StartTriage();
  ASSERT_NE(triage, nullptr);
  const std::string case_id = NewCaseId();
  // Monday 16 November 2026, 09:00.
  CrimeReported crime = MakeCrimeReported(case_id, NewPseudonymousId(), Utc(2026, 11, 16, 9, 0));
  crime.mutable_report()->set_offence_class_code("105A");
  crime.mutable_report()->mutable_flags()->set_domestic_abuse(true);
  crime.mutable_report()->mutable_victims(0)->set_relationship_to_suspect(
      hub::intake::v1::RELATIONSHIP_TO_SUSPECT_EX_PARTNER);
  // Consent given on Wednesday 18 November at 14:00: referral due by the end of Friday.
  const events::CloudEvent consent = PublishUpdate(
      MakeConsentUpdate(case_id, hub::intake::v1::CONSENT_STATUS_GIVEN, Utc(2026, 11, 18, 14, 0)));
  ASSERT_THAT(triage->WaitForMetric(kHeldSeries, 1, kWait), IsOk())
      << hub::testing::TailFile(triage->log_path(), 30);
  WaitHandled(*triage, 1);
  std::optional<hub::triage::v1::CaseRecord> held = Record(case_id);
  ASSERT_TRUE(held.has_value());
  EXPECT_FALSE(held->has_crime());
  ASSERT_EQ(Size(held->pending()), 1);
  EXPECT_EQ(held->pending(0).event_id(), consent.id);
  EXPECT_EQ(Size(AllAssessments(case_id)), 0);

  const events::CloudEvent report = PublishReport(crime);
  WaitHandled(*triage, 2);
  std::vector<NeedsAssessed> assessments = AllAssessments(case_id);
  ASSERT_EQ(Size(assessments), 2);

  const NeedsAssessed& first = assessments[0];
  EXPECT_EQ(first.sequence(), 1);
  EXPECT_EQ(first.trigger(), hub::events::v1::ASSESSMENT_TRIGGER_INITIAL);
  EXPECT_EQ(first.trigger_event_id(), report.id);
  EXPECT_EQ(first.crime_category(), "domestic_abuse");
  EXPECT_TRUE(first.consent_required());
  EXPECT_EQ(first.consent_rule(), hub::events::v1::CONSENT_RULE_EXPLICIT);
  EXPECT_EQ(first.consent_status(), hub::intake::v1::CONSENT_STATUS_NOT_ASKED);
  EXPECT_EQ(first.referral_decision(), hub::events::v1::REFERRAL_DECISION_SEEK_CONSENT);
  EXPECT_EQ(Rfc3339(first.consent_contact_due()), "2026-11-18T23:59:00Z");
  EXPECT_FALSE(first.has_referral_due());
  EXPECT_TRUE(first.enhanced());
  EXPECT_THAT(first.enhanced_categories(),
              Contains(hub::events::v1::ENHANCED_CATEGORY_MOST_SERIOUS_CRIME));

  const NeedsAssessed& second = assessments[1];
  EXPECT_EQ(second.sequence(), 2);
  EXPECT_EQ(second.trigger(), hub::events::v1::ASSESSMENT_TRIGGER_CONSENT_CHANGE);
  EXPECT_EQ(second.trigger_event_id(), consent.id);
  EXPECT_EQ(second.consent_status(), hub::intake::v1::CONSENT_STATUS_GIVEN);
  EXPECT_EQ(second.referral_decision(), hub::events::v1::REFERRAL_DECISION_REFER);
  EXPECT_EQ(Rfc3339(second.referral_due()), "2026-11-20T23:59:00Z");
  EXPECT_THAT(RulesOf(second), Contains("deadline.referral_after_consent"));
  EXPECT_EQ(second.priority(), hub::events::v1::PRIORITY_ENHANCED);

  std::optional<hub::triage::v1::CaseRecord> record = Record(case_id);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->sequence(), 2);
  EXPECT_EQ(Size(record->pending()), 0);
  EXPECT_EQ(CountOf(record->applied_event_ids(), report.id), 1);
  EXPECT_EQ(CountOf(record->applied_event_ids(), consent.id), 1);
  std::optional<hub::cases::v1::CaseState> state = CaseState(case_id);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->attributes().at("referral_decision"), "REFERRAL_DECISION_REFER");
  EXPECT_EQ(state->attributes().at("referral_due"), "2026-11-20T23:59:00Z");
  EXPECT_EQ(state->attributes().at("consent_status"), "CONSENT_STATUS_GIVEN");
  EXPECT_EQ(state->attributes().at("assessment_sequence"), "2");
  EXPECT_EQ(Size(state->history()), 2);
}

// (d) Consent withdrawn: a re-assessment that cancels the open referrals; the same update
// delivered again changes nothing.
TEST_F(TriageIntegrationTest, ConsentWithdrawnCancelsOpenReferralsOnce) {
  TriageProcess* triage = StartTriage();
  ASSERT_NE(triage, nullptr);
  const std::string case_id = NewCaseId();
  CrimeReported crime = MakeCrimeReported(case_id, NewPseudonymousId(), Utc(2026, 11, 16, 9, 0));
  crime.mutable_report()->mutable_flags()->set_domestic_abuse(true);
  hub::intake::v1::Consent& given = *crime.mutable_report()->mutable_victims(0)->mutable_consent();
  given.set_status(hub::intake::v1::CONSENT_STATUS_GIVEN);
  *given.mutable_recorded_at() = testing::Ts(Utc(2026, 11, 16, 8, 30));
  given.set_recorded_by("CAMBS-1234");
  given.set_scope(hub::intake::v1::CONSENT_SCOPE_ALL_PROVIDERS);
  PublishReport(crime);
  std::vector<NeedsAssessed> assessments = WaitForAssessments(case_id, 1);
  ASSERT_EQ(Size(assessments), 1);
  EXPECT_EQ(assessments[0].referral_decision(), hub::events::v1::REFERRAL_DECISION_REFER);
  EXPECT_EQ(Rfc3339(assessments[0].referral_due()), "2026-11-18T23:59:00Z");

  const CrimeUpdated withdrawal = MakeConsentUpdate(
      case_id, hub::intake::v1::CONSENT_STATUS_WITHDRAWN, Utc(2026, 11, 17, 12, 0));
  const events::CloudEvent header = IntakeEvent(events::kCrimeUpdatedType);
  Publish(topics_.crime_updated, case_id, withdrawal, header);
  assessments = WaitForAssessments(case_id, 2);
  ASSERT_EQ(Size(assessments), 2);
  const NeedsAssessed& cancelled = assessments[1];
  EXPECT_EQ(cancelled.sequence(), 2);
  EXPECT_EQ(cancelled.trigger(), hub::events::v1::ASSESSMENT_TRIGGER_CONSENT_CHANGE);
  EXPECT_EQ(cancelled.trigger_event_id(), header.id);
  EXPECT_EQ(cancelled.consent_status(), hub::intake::v1::CONSENT_STATUS_WITHDRAWN);
  EXPECT_EQ(cancelled.referral_decision(),
            hub::events::v1::REFERRAL_DECISION_CANCEL_OPEN_REFERRALS);
  EXPECT_FALSE(cancelled.has_referral_due());
  EXPECT_THAT(RulesOf(cancelled), Contains("referral.cancel_open_referrals"));

  // Delivered again: handled, nothing new.
  Publish(topics_.crime_updated, case_id, withdrawal, header);
  WaitHandled(*triage, 3);
  EXPECT_EQ(Size(AllAssessments(case_id)), 2);
  std::optional<hub::triage::v1::CaseRecord> record = Record(case_id);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->sequence(), 2);
  EXPECT_EQ(CountOf(record->applied_event_ids(), header.id), 1);
  std::optional<hub::cases::v1::CaseState> state = CaseState(case_id);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->attributes().at("referral_decision"), "REFERRAL_DECISION_CANCEL_OPEN_REFERRALS");
  EXPECT_EQ(state->attributes().at("assessment_sequence"), "2");
  EXPECT_EQ(Size(state->history()), 2);
}

// (e) An arrest: a Right 6 case-update deadline, 1 working day for an enhanced victim and
// 5 for a standard one, counted past the August bank holiday and in British Summer Time.
TEST_F(TriageIntegrationTest, MilestoneSetsTheCaseUpdateDeadline) {
  TriageProcess* triage = StartTriage();
  ASSERT_NE(triage, nullptr);
  const std::string enhanced_case = NewCaseId();
  const std::string standard_case = NewCaseId();
  CrimeReported intimidated =
      MakeCrimeReported(enhanced_case, NewPseudonymousId(), Utc(2026, 8, 24, 9, 0));
  intimidated.mutable_report()->mutable_victims(0)->set_intimidated(true);
  PublishReport(intimidated);
  PublishReport(MakeCrimeReported(standard_case, NewPseudonymousId(), Utc(2026, 8, 24, 9, 0)));
  ASSERT_EQ(Size(WaitForAssessments(enhanced_case, 1)), 1);
  ASSERT_EQ(Size(WaitForAssessments(standard_case, 1)), 1);

  // Friday 28 August 2026, 15:00 UTC (16:00 BST); Monday 31 August is a bank holiday.
  const absl::Time decided = Utc(2026, 8, 28, 15, 0);
  const events::CloudEvent enhanced_arrest = PublishUpdate(
      MakeMilestoneUpdate(enhanced_case, hub::intake::v1::MILESTONE_TYPE_ARREST, decided));
  const events::CloudEvent standard_arrest = PublishUpdate(
      MakeMilestoneUpdate(standard_case, hub::intake::v1::MILESTONE_TYPE_ARREST, decided));

  std::vector<NeedsAssessed> assessments = WaitForAssessments(enhanced_case, 2);
  ASSERT_EQ(Size(assessments), 2);
  const NeedsAssessed& enhanced = assessments[1];
  EXPECT_EQ(enhanced.trigger(), hub::events::v1::ASSESSMENT_TRIGGER_MILESTONE);
  EXPECT_EQ(enhanced.trigger_event_id(), enhanced_arrest.id);
  EXPECT_TRUE(enhanced.enhanced());
  EXPECT_THAT(enhanced.enhanced_categories(),
              ElementsAre(hub::events::v1::ENHANCED_CATEGORY_INTIMIDATED));
  ASSERT_EQ(Size(enhanced.case_update_deadlines()), 1);
  const hub::events::v1::CaseUpdateDeadline& deadline = enhanced.case_update_deadlines(0);
  EXPECT_EQ(deadline.milestone(), hub::intake::v1::MILESTONE_TYPE_ARREST);
  EXPECT_EQ(Rfc3339(deadline.decided_at()), Rfc3339(decided));
  // Tuesday 1 September, 23:59 BST.
  EXPECT_EQ(Rfc3339(deadline.due()), "2026-09-01T22:59:00Z");
  EXPECT_EQ(deadline.source_event_id(), enhanced_arrest.id);
  EXPECT_THAT(RulesOf(enhanced), Contains("deadline.case_update"));

  assessments = WaitForAssessments(standard_case, 2);
  ASSERT_EQ(Size(assessments), 2);
  ASSERT_EQ(Size(assessments[1].case_update_deadlines()), 1);
  EXPECT_FALSE(assessments[1].enhanced());
  // Tuesday 1 to Monday 7 September: five working days.
  EXPECT_EQ(Rfc3339(assessments[1].case_update_deadlines(0).due()), "2026-09-07T22:59:00Z");
  EXPECT_EQ(assessments[1].case_update_deadlines(0).source_event_id(), standard_arrest.id);

  WaitHandled(*triage, 4);
  std::optional<hub::cases::v1::CaseState> state = CaseState(enhanced_case);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->attributes().at("case_update_due"), "2026-09-01T22:59:00Z");
  EXPECT_EQ(state->attributes().at("priority"), "PRIORITY_ENHANCED");
}

// (f) Three reports against one victim within a year make the third persistently
// targeted; erasing the victim drops their history and the case records, so a fourth
// report counts as the first.
TEST_F(TriageIntegrationTest, RepeatVictimIsPersistentlyTargetedUntilErased) {
  TriageProcess* triage = StartTriage();
  ASSERT_NE(triage, nullptr);
  const std::string victim = NewPseudonymousId();
  std::vector<std::string> case_ids;
  std::vector<NeedsAssessed> last;
  // One at a time, oldest first: each is assessed with the ones before it in the history.
  for (int days_ago : {200, 100, 10}) {
    case_ids.push_back(NewCaseId());
    PublishReport(
        MakeCrimeReported(case_ids.back(), victim, absl::Now() - absl::Hours(24) * days_ago));
    last = WaitForAssessments(case_ids.back(), 1);
    ASSERT_EQ(Size(last), 1);
    EXPECT_EQ(last[0].reports_in_window(), static_cast<int>(case_ids.size()));
    if (case_ids.size() < 3) {
      EXPECT_THAT(last[0].enhanced_categories(),
                  Not(Contains(hub::events::v1::ENHANCED_CATEGORY_PERSISTENTLY_TARGETED)));
    }
  }
  EXPECT_EQ(last[0].reports_in_window(), 3);
  EXPECT_THAT(last[0].enhanced_categories(),
              ElementsAre(hub::events::v1::ENHANCED_CATEGORY_PERSISTENTLY_TARGETED));
  EXPECT_EQ(last[0].priority(), hub::events::v1::PRIORITY_ENHANCED);
  EXPECT_THAT(RulesOf(last[0]), Contains("enhanced.persistently_targeted.repeat"));
  WaitHandled(*triage, 3);
  EXPECT_TRUE(KeyExists(store_->ReportsKey(victim)));
  EXPECT_TRUE(KeyExists(store_->CategoriesKey(victim)));

  const hub::events::v1::VictimErased erased = MakeVictimErased(victim, case_ids);
  Publish(topics_.victim_erased, erased.key_id(), erased, IntakeEvent(events::kVictimErasedType));
  WaitHandled(*triage, 4);
  EXPECT_FALSE(KeyExists(store_->ReportsKey(victim)));
  EXPECT_FALSE(KeyExists(store_->CategoriesKey(victim)));
  // Each case's record is now a tombstone: nothing of the victim is kept, and it expires.
  for (const std::string& case_id : case_ids) {
    std::optional<hub::triage::v1::CaseRecord> tombstone = Record(case_id);
    ASSERT_TRUE(tombstone.has_value()) << case_id;
    EXPECT_TRUE(tombstone->erased());
    EXPECT_FALSE(tombstone->has_crime());
    EXPECT_EQ(tombstone->assessments_size(), 0);
    absl::StatusOr<redis::Reply> ttl = redis_->Command({"TTL", store_->CaseKey(case_id)});
    ASSERT_THAT(ttl, IsOk());
    EXPECT_GT(ttl->integer, 0) << case_id;
  }
  // A late update for an erased case is dropped, not held: the victim does not come back.
  PublishUpdate(MakeConsentUpdate(case_ids[0], hub::intake::v1::CONSENT_STATUS_GIVEN,
                                  absl::Now() - absl::Hours(1)));
  WaitHandled(*triage, 5);
  std::optional<hub::triage::v1::CaseRecord> after = Record(case_ids[0]);
  ASSERT_TRUE(after.has_value());
  EXPECT_TRUE(after->erased());
  EXPECT_EQ(after->pending_size(), 0);

  const std::string fourth = NewCaseId();
  PublishReport(MakeCrimeReported(fourth, victim, absl::Now() - absl::Hours(24)));
  last = WaitForAssessments(fourth, 1);
  ASSERT_EQ(Size(last), 1);
  EXPECT_EQ(last[0].reports_in_window(), 1);
  EXPECT_FALSE(last[0].enhanced());
  EXPECT_EQ(last[0].priority(), hub::events::v1::PRIORITY_STANDARD);
}

// (g) The staff API: a MARAC referral on professional judgement re-assesses the case once
// however often it is asked; wrong callers, needs and cases are refused with the right
// codes; the history reads back oldest first without the crime.
TEST_F(TriageIntegrationTest, StaffReassessmentOverGrpc) {
  TriageProcess* triage = StartTriage();
  ASSERT_NE(triage, nullptr);
  const std::string case_id = NewCaseId();
  PublishReport(MakeCrimeReported(case_id, NewPseudonymousId(), absl::Now() - absl::Hours(5)));
  ASSERT_EQ(Size(WaitForAssessments(case_id, 1)), 1);
  std::unique_ptr<hub::triage::v1::TriageService::Stub> stub = triage->NewStub();

  RequestReassessmentRequest request;
  request.set_case_id(case_id);
  request.set_request_id("ops1-2026-11-25.1");
  request.set_reason(hub::events::v1::REASSESSMENT_REASON_PROFESSIONAL_JUDGEMENT);
  request.set_refer_to_marac(true);
  RequestReassessmentResponse first;
  {
    grpc::ClientContext context;
    Prepare(&context, kStaff);
    grpc::Status status = stub->RequestReassessment(&context, request, &first);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_FALSE(first.duplicate());
  EXPECT_FALSE(first.event_id().empty());
  std::vector<NeedsAssessed> assessments = WaitForAssessments(case_id, 2);
  ASSERT_EQ(Size(assessments), 2);
  const NeedsAssessed& raised = assessments[1];
  EXPECT_EQ(raised.sequence(), 2);
  EXPECT_EQ(raised.trigger(), hub::events::v1::ASSESSMENT_TRIGGER_REASSESSMENT_REQUEST);
  EXPECT_EQ(raised.trigger_event_id(), first.event_id());
  EXPECT_EQ(raised.priority(), hub::events::v1::PRIORITY_IMMEDIATE);
  EXPECT_TRUE(raised.marac_referral());
  EXPECT_TRUE(raised.idva_referral());
  ASSERT_EQ(Size(raised.reassessment_requests()), 1);
  EXPECT_EQ(raised.reassessment_requests(0).requested_by(), kStaff);
  EXPECT_THAT(RulesOf(raised), Contains("risk.staff_marac"));

  // The same request again: acknowledged as a duplicate, applied once.
  RequestReassessmentResponse again;
  {
    grpc::ClientContext context;
    Prepare(&context, kStaff);
    grpc::Status status = stub->RequestReassessment(&context, request, &again);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.event_id(), first.event_id());
  // The report and both published requests.
  WaitHandled(*triage, 3);
  EXPECT_EQ(Size(AllAssessments(case_id)), 2);
  std::optional<hub::cases::v1::CaseState> state = CaseState(case_id);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->attributes().at("priority"), "PRIORITY_IMMEDIATE");
  EXPECT_EQ(state->attributes().at("marac"), "true");

  {
    grpc::ClientContext context;
    Prepare(&context, kPolice);
    RequestReassessmentResponse response;
    grpc::Status status = stub->RequestReassessment(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  }
  {
    RequestReassessmentRequest unknown_need = request;
    unknown_need.set_request_id("ops1-2026-11-25.2");
    unknown_need.add_additional_needs("not_a_need_domain");
    grpc::ClientContext context;
    Prepare(&context, kStaff);
    RequestReassessmentResponse response;
    grpc::Status status = stub->RequestReassessment(&context, unknown_need, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    ASSERT_OK_AND_ASSIGN(google::rpc::BadRequest bad_request, rpc::BadRequestOf(status));
    std::vector<std::string> fields;
    for (const auto& violation : bad_request.field_violations()) {
      fields.push_back(violation.field());
    }
    EXPECT_THAT(fields, ElementsAre("additional_needs[0]"));
  }
  {
    RequestReassessmentRequest unknown_case = request;
    unknown_case.set_case_id(NewCaseId());
    unknown_case.set_request_id("ops1-2026-11-25.3");
    grpc::ClientContext context;
    Prepare(&context, kStaff);
    RequestReassessmentResponse response;
    grpc::Status status = stub->RequestReassessment(&context, unknown_case, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  }

  GetAssessmentsRequest get;
  get.set_case_id(case_id);
  GetAssessmentsResponse history;
  {
    grpc::ClientContext context;
    Prepare(&context, kStaff);
    grpc::Status status = stub->GetAssessments(&context, get, &history);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  ASSERT_EQ(Size(history.assessments()), 2);
  EXPECT_EQ(history.assessments(0).sequence(), 1);
  EXPECT_EQ(history.assessments(0).trigger(), hub::events::v1::ASSESSMENT_TRIGGER_INITIAL);
  EXPECT_EQ(history.assessments(1).sequence(), 2);
  EXPECT_EQ(history.assessments(1).priority(), hub::events::v1::PRIORITY_IMMEDIATE);
  for (const NeedsAssessed& assessment : history.assessments()) {
    EXPECT_FALSE(assessment.has_crime());
  }
  {
    grpc::ClientContext context;
    Prepare(&context, kPolice);
    GetAssessmentsResponse response;
    grpc::Status status = stub->GetAssessments(&context, get, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  }
}

// (h) The rule files are watched: a new version is in force for the next report; a broken
// file is refused (counted, logged with the rule) and the last good rules stay.
TEST_F(TriageIntegrationTest, ChangedRuleFileIsReloadedAndABrokenOneRefused) {
  const RulePaths paths = CopyRuleFiles();
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const RuleBook> original, RuleBook::Load(paths));
  TriageProcess* triage = StartTriage(RuleFlags(paths, "200ms"));
  ASSERT_NE(triage, nullptr);
  const std::string before = NewCaseId();
  PublishReport(MakeCrimeReported(before, NewPseudonymousId(), absl::Now() - absl::Hours(1)));
  std::vector<NeedsAssessed> assessments = WaitForAssessments(before, 1);
  ASSERT_EQ(Size(assessments), 1);
  EXPECT_EQ(assessments[0].rules_version(), original->version);

  ASSERT_OK_AND_ASSIGN(std::string text, testing::ReadFile(paths.rules));
  const std::string old_version = absl::StrCat("\nversion: \"", original->rules.version(), "\"");
  ASSERT_TRUE(absl::StrContains(text, old_version));
  const std::string changed =
      absl::StrReplaceAll(text, {{old_version, "\nversion: \"2026-11-25.99\""}});
  ASSERT_THAT(testing::ReplaceFile(paths.rules, changed), IsOk());
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const RuleBook> updated, RuleBook::Load(paths));
  ASSERT_NE(updated->version, original->version);
  ASSERT_THAT(triage->WaitForMetric(kReloadsOkSeries, 1, kWait), IsOk())
      << hub::testing::TailFile(triage->log_path(), 30);
  const std::string after = NewCaseId();
  PublishReport(MakeCrimeReported(after, NewPseudonymousId(), absl::Now() - absl::Hours(1)));
  assessments = WaitForAssessments(after, 1);
  ASSERT_EQ(Size(assessments), 1);
  EXPECT_EQ(assessments[0].rules_version(), updated->version);

  const std::string referral_days = "  deadline.referral:\n    working_days: 2\n";
  ASSERT_TRUE(absl::StrContains(changed, referral_days));
  ASSERT_THAT(
      testing::ReplaceFile(paths.rules, absl::StrReplaceAll(changed, {{referral_days,
                                                                       "  deadline.referral:\n    "
                                                                       "working_days: two\n"}})),
      IsOk());
  ASSERT_THAT(triage->WaitForMetric(kReloadsRefusedSeries, 1, kWait), IsOk())
      << hub::testing::TailFile(triage->log_path(), 30);
  EXPECT_TRUE(triage->process().running());
  const std::string log = triage->Log();
  EXPECT_THAT(log, HasSubstr("rules.deadline.referral.working_days"));
  EXPECT_THAT(log, HasSubstr(paths.rules));
  const std::string refused = NewCaseId();
  PublishReport(MakeCrimeReported(refused, NewPseudonymousId(), absl::Now() - absl::Hours(1)));
  assessments = WaitForAssessments(refused, 1);
  ASSERT_EQ(Size(assessments), 1);
  EXPECT_EQ(assessments[0].rules_version(), updated->version);
  // Refused once: the broken file is not retried until it changes again.
  EXPECT_EQ(triage->Metric(kReloadsRefusedSeries).value_or(-1), 1);
  EXPECT_EQ(triage->Metric(kReloadsOkSeries).value_or(-1), 1);
}

// (h) With no watcher (interval 0) a changed file waits for SIGHUP.
TEST_F(TriageIntegrationTest, SighupReloadsTheRuleFiles) {
  const RulePaths paths = CopyRuleFiles();
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const RuleBook> original, RuleBook::Load(paths));
  TriageProcess* triage = StartTriage(RuleFlags(paths, "0"));
  ASSERT_NE(triage, nullptr);

  ASSERT_OK_AND_ASSIGN(std::string text, testing::ReadFile(paths.rules));
  const std::string old_version = absl::StrCat("\nversion: \"", original->rules.version(), "\"");
  ASSERT_TRUE(absl::StrContains(text, old_version));
  ASSERT_THAT(
      testing::ReplaceFile(
          paths.rules, absl::StrReplaceAll(text, {{old_version, "\nversion: \"2026-11-25.98\""}})),
      IsOk());
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const RuleBook> updated, RuleBook::Load(paths));
  const std::string unsignalled = NewCaseId();
  PublishReport(MakeCrimeReported(unsignalled, NewPseudonymousId(), absl::Now() - absl::Hours(1)));
  std::vector<NeedsAssessed> assessments = WaitForAssessments(unsignalled, 1);
  ASSERT_EQ(Size(assessments), 1);
  EXPECT_EQ(assessments[0].rules_version(), original->version);

  triage->process().Signal(SIGHUP);
  ASSERT_THAT(triage->WaitForMetric(kReloadsOkSeries, 1, kWait), IsOk())
      << hub::testing::TailFile(triage->log_path(), 30);
  EXPECT_TRUE(triage->process().running());
  const std::string signalled = NewCaseId();
  PublishReport(MakeCrimeReported(signalled, NewPseudonymousId(), absl::Now() - absl::Hours(1)));
  assessments = WaitForAssessments(signalled, 1);
  ASSERT_EQ(Size(assessments), 1);
  EXPECT_EQ(assessments[0].rules_version(), updated->version);
}

// (i) A record on crime-reported with valid headers whose value is not a CrimeReported
// goes to the dead-letter topic as it was; the report behind it is still assessed.
TEST_F(TriageIntegrationTest, UndecodableReportGoesToTheDeadLetterTopic) {
  TriageProcess* triage = StartTriage();
  ASSERT_NE(triage, nullptr);
  const std::string case_id = NewCaseId();
  // Field 2, length 100, then 7 bytes: a truncated message that cannot parse.
  const std::string garbage("\x12\x64garbage", 9);
  const events::CloudEvent bad_header = IntakeEvent(events::kCrimeReportedType);
  kafka::OutgoingRecord bad;
  bad.topic = topics_.crime_reported;
  bad.key = case_id;
  bad.value = garbage;
  bad.headers = events::ToHeaders(bad_header);
  ASSERT_THAT(producer_->ProduceSync(bad, absl::Seconds(10)), IsOk());
  // Same key, so the same partition, behind the bad record.
  const events::CloudEvent good =
      PublishReport(MakeCrimeReported(case_id, NewPseudonymousId(), absl::Now() - absl::Hours(2)));
  std::vector<NeedsAssessed> assessments = WaitForAssessments(case_id, 1);
  ASSERT_EQ(Size(assessments), 1);
  EXPECT_EQ(assessments[0].trigger_event_id(), good.id);

  int dead_letter_partitions = 1;
  for (const kafka::TopicSpec& spec : events::TopicSpecs(ns_)) {
    if (spec.name == topics_.dead_letter) {
      dead_letter_partitions = spec.partitions;
    }
  }
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<TopicFollower> dead_letters,
      TopicFollower::Create(bootstrap_, topics_.dead_letter, dead_letter_partitions));
  ASSERT_TRUE(dead_letters->ReadUntil(
      [](const std::vector<kafka::ConsumedRecord>& records) { return !records.empty(); }, kWait));
  ASSERT_THAT(dead_letters->CatchUp(kWait), IsOk());
  ASSERT_EQ(Size(dead_letters->records()), 1);
  const kafka::ConsumedRecord& dead = dead_letters->records()[0];
  EXPECT_EQ(dead.key, case_id);
  EXPECT_EQ(dead.value, garbage);
  EXPECT_EQ(dead.FindHeader("ce_id").value_or(""), bad_header.id);
  EXPECT_EQ(dead.FindHeader(kafka::kDeadLetterSourceTopicHeader).value_or(""),
            topics_.crime_reported);
  EXPECT_EQ(dead.FindHeader(kafka::kDeadLetterGroupHeader).value_or(""),
            events::ConsumerGroup(ns_, "triage"));
  EXPECT_TRUE(
      absl::StartsWith(std::string(dead.FindHeader(kafka::kDeadLetterReasonHeader).value_or("")),
                       "INVALID_ARGUMENT"));
  EXPECT_THAT(triage->WaitForMetric(kDeadLetteredSeries, 1, kWait), IsOk());
  EXPECT_EQ(Size(AllAssessments(case_id)), 1);
}

// (j) A rule file that does not check stops the start: exit 2, the file and rule named.
TEST_F(TriageIntegrationTest, BrokenRuleFileAtStartExitsWithCode2) {
  const RulePaths paths = CopyRuleFiles();
  ASSERT_OK_AND_ASSIGN(std::string text, testing::ReadFile(paths.rules));
  const std::string referral_days = "  deadline.referral:\n    working_days: 2\n";
  ASSERT_TRUE(absl::StrContains(text, referral_days));
  ASSERT_THAT(testing::ReplaceFile(
                  paths.rules,
                  absl::StrReplaceAll(
                      text, {{referral_days, "  deadline.referral:\n    working_days: two\n"}})),
              IsOk());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TriageProcess> triage,
                       TriageProcess::Start(Options(RuleFlags(paths, "2s"))));
  ASSERT_OK_AND_ASSIGN(int status, triage->process().Wait(kWait));
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 2);
  const std::string log = triage->Log();
  EXPECT_THAT(log, HasSubstr(paths.rules));
  EXPECT_THAT(log, HasSubstr("rules.deadline.referral.working_days"));
  EXPECT_THAT(log, HasSubstr("not 'two'"));
}

}  // namespace
}  // namespace hub::triage
