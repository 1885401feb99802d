// Intake against a real Kafka broker and Redis, through its gRPC API served in-process:
// each test checks the answer, what reached the topics (read back from the beginning and
// parsed) and, where it matters, what Redis holds. Covers splitting and sealing,
// idempotency, the cross-feed rule, validation, unknown offence codes and unmatched
// victims, permissions, updates, bulk submission, self-referral, erasure
// (crypto-shredding), and the answers given when Redis or Kafka is unreachable.
#include <signal.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include <openssl/rand.h>

#include "hub/events/v1/events.pb.h"
#include "hub/intake/v1/intake.pb.h"
#include "services/common/events/cloudevents.h"
#include "services/common/events/topics.h"
#include "services/common/kafka/kafka.h"
#include "services/common/offences/offences.h"
#include "services/common/redis/redis_client.h"
#include "services/common/rpc/error_details.h"
#include "services/common/seal/crypto.h"
#include "services/common/seal/master_key.h"
#include "services/common/seal/pii.h"
#include "services/common/status/status_matchers.h"
#include "services/intake/crime_index.h"
#include "tests/integration/intake/intake_harness.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"
#include "tests/support/topic_reader.h"

namespace hub::intake {
namespace {

using ::hub::intake::testing::IntakeHarness;
using ::hub::intake::testing::kAthena;
using ::hub::intake::testing::kBedsPolice;
using ::hub::intake::testing::kNiche;
using ::hub::intake::testing::kProvider;
using ::hub::intake::testing::kWebForm;
using ::hub::intake::testing::MakeReport;
using ::hub::intake::testing::MakeVictim;
using ::hub::intake::testing::Ts;
using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

using hub::events::v1::CrimeReported;
using hub::events::v1::CrimeUpdated;
using hub::events::v1::VictimErased;
using hub::intake::v1::CrimeReport;
using hub::intake::v1::CrimeUpdate;
using hub::intake::v1::SubmitCrimeReportResponse;
using hub::intake::v1::UpdateCrimeReportResponse;
using hub::intake::v1::Victim;

template <typename Event>
struct Published {
  events::CloudEvent header;
  std::string key;
  Event event;
};

// What a failed expectation shows of a published event: ids only, never personal data.
template <typename Event>
void PrintTo(const Published<Event>& published, std::ostream* os) {
  *os << "{event " << published.header.id << ", key " << published.key << "}";
}

std::vector<std::string> CaseIds(const SubmitCrimeReportResponse& response) {
  std::vector<std::string> ids;
  for (const hub::intake::v1::CaseReceipt& receipt : response.cases()) {
    ids.push_back(receipt.case_id());
  }
  return ids;
}

std::vector<std::string> FieldsOf(const grpc::Status& status) {
  std::vector<std::string> fields;
  absl::StatusOr<google::rpc::BadRequest> bad_request = rpc::BadRequestOf(status);
  EXPECT_THAT(bad_request, IsOk());
  if (bad_request.ok()) {
    for (const auto& violation : bad_request->field_violations()) {
      fields.push_back(violation.field());
    }
  }
  return fields;
}

class IntakeIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(bootstrap_, hub::testing::KafkaBootstrapFromEnv());
    ASSERT_OK_AND_ASSIGN(redis_address_, hub::testing::RedisFromEnv());
    ns_ = hub::testing::UniqueName("intake");
    topics_ = events::Topics(ns_);
    ASSERT_THAT(kafka::EnsureTopics(bootstrap_, events::TopicSpecs(ns_)), IsOk());

    kafka::ProducerConfig producer_config;
    producer_config.bootstrap_servers = bootstrap_;
    producer_config.client_id = "intake-itest";
    producer_config.linger = absl::ZeroDuration();
    producer_config.topics = {topics_.crime_reported, topics_.crime_updated, topics_.victim_erased,
                              topics_.data_keys};
    ASSERT_OK_AND_ASSIGN(producer_, kafka::CreateProducer(producer_config));
    redis_ = ConnectRedis(redis_address_.port);
    ASSERT_NE(redis_, nullptr);

    std::string key_bytes(seal::kKeyBytes, '\0');
    ASSERT_EQ(RAND_bytes(reinterpret_cast<unsigned char*>(key_bytes.data()),
                         static_cast<int>(key_bytes.size())),
              1);
    ASSERT_OK_AND_ASSIGN(seal::MasterKey master, seal::MasterKey::FromBytes(key_bytes));
    master_.emplace(std::move(master));
    ASSERT_OK_AND_ASSIGN(offences::OffenceTable table,
                         offences::OffenceTable::Load(offences::DefaultOffenceTablePath()));
    offences_.emplace(std::move(table));
    ASSERT_OK_AND_ASSIGN(harness_, IntakeHarness::Start(ns_, bootstrap_, producer_.get(),
                                                        redis_.get(), *master_, &*offences_));
  }

  void TearDown() override {
    if (harness_ != nullptr) {
      harness_->Shutdown();
    }
    if (producer_ != nullptr) {
      EXPECT_THAT(producer_->Flush(absl::Seconds(30)), IsOk());
    }
    harness_.reset();
    producer_.reset();
  }

  static std::unique_ptr<redis::RedisClient> ConnectRedis(int port) {
    redis::RedisConfig config;
    config.host = "127.0.0.1";
    config.port = port;
    absl::StatusOr<std::unique_ptr<redis::RedisClient>> client = redis::CreateRedisClient(config);
    EXPECT_THAT(client, IsOk());
    return client.ok() ? *std::move(client) : nullptr;
  }

  std::vector<kafka::ConsumedRecord> Records(const std::string& topic) {
    absl::StatusOr<std::vector<kafka::ConsumedRecord>> records =
        hub::testing::ReadWholeTopic(bootstrap_, topic);
    EXPECT_THAT(records, IsOk()) << topic;
    return records.ok() ? *std::move(records) : std::vector<kafka::ConsumedRecord>();
  }

  size_t Count(const std::string& topic) { return Records(topic).size(); }

  template <typename Event>
  std::vector<Published<Event>> Events(const std::string& topic, absl::string_view type) {
    std::vector<Published<Event>> events;
    for (const kafka::ConsumedRecord& record : Records(topic)) {
      Published<Event> published;
      absl::StatusOr<events::CloudEvent> header =
          events::ParseRecord(record, type, &published.event);
      EXPECT_THAT(header, IsOk()) << topic << " offset " << record.offset;
      if (header.ok()) {
        published.header = *header;
        published.key = record.key;
        events.push_back(std::move(published));
      }
    }
    return events;
  }

  std::vector<Published<CrimeReported>> Reported() {
    return Events<CrimeReported>(topics_.crime_reported, events::kCrimeReportedType);
  }
  std::vector<Published<CrimeUpdated>> Updated() {
    return Events<CrimeUpdated>(topics_.crime_updated, events::kCrimeUpdatedType);
  }

  // Every Redis key of this test's namespace.
  std::vector<std::string> RedisKeys() {
    absl::StatusOr<redis::Reply> keys = redis_->Command({"KEYS", absl::StrCat(ns_, ":*")});
    EXPECT_THAT(keys, IsOk());
    std::vector<std::string> names;
    if (keys.ok()) {
      for (const redis::Reply& key : keys->elements) {
        names.push_back(key.str);
      }
    }
    return names;
  }

  // The state recorded under a submission key ("pending", "done"), or "" when none.
  std::string SubmissionState(const std::string& key) {
    absl::StatusOr<redis::Reply> value = redis_->Command({"GET", key});
    EXPECT_THAT(value, IsOk());
    if (!value.ok() || value->is_nil()) {
      return "";
    }
    nlohmann::json record = nlohmann::json::parse(value->str, nullptr, false);
    return record.is_discarded() ? "unreadable" : record.value("state", "");
  }

  std::string ReportKey(const CrimeReport& report, const std::string& caller = kAthena) {
    return harness_->intake().SubmissionKey("report", caller, report.source_system(),
                                            report.source_event_id());
  }

  // Opens a published case's sealed victim data with the key from the key store.
  absl::StatusOr<Victim> OpenVictim(const CrimeReported& event) {
    Victim victim = event.report().victims(0);
    absl::StatusOr<seal::DataKey> key = harness_->keys().Get(
        event.personal_data().key_id(), event.personal_data().key_generation());
    if (!key.ok()) {
      return key.status();
    }
    absl::Status opened = seal::OpenPii(*key, event.personal_data(), event.case_id(), &victim);
    if (!opened.ok()) {
      return opened;
    }
    return victim;
  }

  CrimeUpdate MakeUpdate(const std::string& source_event_id, const std::string& crime_reference) {
    CrimeUpdate update;
    update.set_force_code("CAMBS");
    update.set_source_system("athena");
    update.set_source_event_id(source_event_id);
    update.set_crime_reference(crime_reference);
    *update.mutable_updated_at() = Ts(absl::Now() - absl::Minutes(5));
    return update;
  }

  std::string bootstrap_;
  hub::testing::HostPort redis_address_;
  std::string ns_;
  events::TopicNames topics_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::optional<seal::MasterKey> master_;
  std::optional<offences::OffenceTable> offences_;
  std::unique_ptr<IntakeHarness> harness_;
};

// a. Two victims: two cases, each sealed under its own victim's key and restorable.
TEST_F(IntakeIntegrationTest, ReportWithTwoVictimsBecomesTwoSealedCases) {
  const Victim ada = MakeVictim("V1", "Ada", "Example", 1980, 3, 4, "07700 900001");
  const Victim ben = MakeVictim("V2", "Ben", "Sample", 1975, 6, 7, "07700 900002");
  const CrimeReport report = MakeReport("evt-1", "CF/1", {ada, ben});
  SubmitCrimeReportResponse response;
  grpc::Status status = harness_->Submit(report, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  ASSERT_THAT(response.cases(), SizeIs(2));
  EXPECT_FALSE(response.duplicate());
  EXPECT_EQ(response.cases(0).victim_ref(), "V1");
  EXPECT_EQ(response.cases(1).victim_ref(), "V2");
  EXPECT_NE(response.cases(0).case_id(), response.cases(1).case_id());
  EXPECT_THAT(response.cases(0).flags(), IsEmpty());
  EXPECT_THAT(response.cases(1).flags(), IsEmpty());

  std::vector<Published<CrimeReported>> published = Reported();
  ASSERT_THAT(published, SizeIs(2));
  std::set<std::string> case_ids;
  std::set<std::string> event_ids;
  for (const Published<CrimeReported>& record : published) {
    const CrimeReported& event = record.event;
    SCOPED_TRACE(event.case_id());
    case_ids.insert(event.case_id());
    event_ids.insert(record.header.id);
    EXPECT_EQ(record.key, event.case_id());
    EXPECT_EQ(event.submitted_by(), kAthena);
    EXPECT_EQ(event.origin(), hub::events::v1::ORIGIN_POLICE_REPORT);
    ASSERT_THAT(event.report().victims(), SizeIs(1));
    EXPECT_TRUE(event.has_personal_data());
    EXPECT_TRUE(absl::StartsWith(event.pseudonymous_victim_id(), "pv_"));
    EXPECT_FALSE(seal::ContainsPii(event));
    EXPECT_FALSE(event.report().victims(0).has_name());
    EXPECT_FALSE(event.report().victims(0).has_date_of_birth());
    EXPECT_EQ(event.report().victims(0).contact_routes(0).value(), "");
    EXPECT_EQ(event.personal_data().key_id(),
              harness_->pseudonyms().KeyIdForVictim(event.pseudonymous_victim_id()));

    ASSERT_OK_AND_ASSIGN(Victim restored, OpenVictim(event));
    const Victim& original = event.report().victims(0).victim_ref() == "V1" ? ada : ben;
    EXPECT_EQ(restored.name().given(), original.name().given());
    EXPECT_EQ(restored.name().family(), original.name().family());
    EXPECT_EQ(restored.date_of_birth().year(), original.date_of_birth().year());
    EXPECT_EQ(restored.contact_routes(0).value(), original.contact_routes(0).value());
  }
  EXPECT_EQ(case_ids,
            std::set<std::string>({response.cases(0).case_id(), response.cases(1).case_id()}));
  EXPECT_THAT(event_ids, SizeIs(2));
  // Two victims, two data keys.
  EXPECT_NE(published[0].event.personal_data().key_id(),
            published[1].event.personal_data().key_id());
  EXPECT_EQ(SubmissionState(ReportKey(report)), "done");
}

// b. The same report again is answered from the record; the same id with other content
// is refused. Neither publishes anything.
TEST_F(IntakeIntegrationTest, ResubmissionIsIdempotentAndReuseOfAnIdIsRefused) {
  const CrimeReport report =
      MakeReport("evt-1", "CF/2",
                 {MakeVictim("V1", "Ada", "Example", 1980, 3, 4, "07700 900001"),
                  MakeVictim("V2", "Ben", "Sample", 1975, 6, 7, "07700 900002")});
  SubmitCrimeReportResponse first;
  ASSERT_TRUE(harness_->Submit(report, &first).ok());
  ASSERT_EQ(Count(topics_.crime_reported), 2U);

  SubmitCrimeReportResponse again;
  grpc::Status status = harness_->Submit(report, &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(CaseIds(again), CaseIds(first));
  EXPECT_EQ(again.cases(0).victim_ref(), "V1");
  EXPECT_EQ(Count(topics_.crime_reported), 2U);

  CrimeReport changed = report;
  changed.set_offence_class_code("34B");
  SubmitCrimeReportResponse refused;
  status = harness_->Submit(changed, &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS) << status.error_message();
  EXPECT_EQ(Count(topics_.crime_reported), 2U);
  EXPECT_EQ(SubmissionState(ReportKey(report)), "done");
}

// c. The same crime and victim from a second feed joins the existing case.
TEST_F(IntakeIntegrationTest, SecondFeedOfTheSameVictimJoinsTheExistingCase) {
  const Victim ada = MakeVictim("V1", "Ada", "Example", 1980, 3, 4, "07700 900001");
  const CrimeReport athena = MakeReport("athena-1", "CF/3", {ada});
  SubmitCrimeReportResponse opened;
  ASSERT_TRUE(harness_->Submit(athena, &opened).ok());
  ASSERT_THAT(opened.cases(), SizeIs(1));
  const std::string case_id = opened.cases(0).case_id();

  // Same victim_ref from niche.
  CrimeReport niche = athena;
  niche.set_source_system("niche");
  niche.set_source_event_id("niche-1");
  SubmitCrimeReportResponse merged;
  grpc::Status status = harness_->Submit(niche, &merged, kNiche);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_THAT(merged.cases(), SizeIs(1));
  EXPECT_EQ(merged.cases(0).case_id(), case_id);
  EXPECT_THAT(merged.cases(0).flags(),
              ElementsAre(hub::intake::v1::RECEIPT_FLAG_MERGED_WITH_EXISTING_CASE));
  EXPECT_FALSE(merged.duplicate());
  EXPECT_EQ(Count(topics_.crime_reported), 1U);

  // niche's own reference for her, same name and date of birth (spelt differently).
  CrimeReport by_identity = niche;
  by_identity.set_source_event_id("niche-2");
  Victim ada_by_niche = MakeVictim("N-77", "ada", "EXAMPLE", 1980, 3, 4, "07700 900011");
  by_identity.clear_victims();
  *by_identity.add_victims() = ada_by_niche;
  SubmitCrimeReportResponse merged_by_identity;
  status = harness_->Submit(by_identity, &merged_by_identity, kNiche);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_THAT(merged_by_identity.cases(), SizeIs(1));
  EXPECT_EQ(merged_by_identity.cases(0).victim_ref(), "N-77");
  EXPECT_EQ(merged_by_identity.cases(0).case_id(), case_id);
  EXPECT_THAT(merged_by_identity.cases(0).flags(),
              ElementsAre(hub::intake::v1::RECEIPT_FLAG_MERGED_WITH_EXISTING_CASE));
  EXPECT_EQ(Count(topics_.crime_reported), 1U);

  // A genuinely different victim of the same crime opens a new case.
  CrimeReport other = niche;
  other.set_source_event_id("niche-3");
  other.clear_victims();
  *other.add_victims() = MakeVictim("N-78", "Cara", "Other", 1990, 1, 2, "07700 900012");
  SubmitCrimeReportResponse new_case;
  status = harness_->Submit(other, &new_case, kNiche);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_THAT(new_case.cases(), SizeIs(1));
  EXPECT_NE(new_case.cases(0).case_id(), case_id);
  EXPECT_THAT(new_case.cases(0).flags(), IsEmpty());
  std::vector<Published<CrimeReported>> published = Reported();
  ASSERT_THAT(published, SizeIs(2));
  EXPECT_EQ(published[0].event.case_id() == case_id ? published[1].event.case_id()
                                                    : published[0].event.case_id(),
            new_case.cases(0).case_id());
  // The first accepted report's data stands: the case was opened by athena.
  for (const Published<CrimeReported>& record : published) {
    if (record.event.case_id() == case_id) {
      EXPECT_EQ(record.event.report().source_system(), "athena");
    }
  }
}

// d. A bad report is refused with every bad field named, and leaves no trace.
TEST_F(IntakeIntegrationTest, InvalidReportIsRefusedWithFieldViolationsAndLeavesNoTrace) {
  CrimeReport report =
      MakeReport("evt-bad", "CF/4", {MakeVictim("V1", "Ada", "Example", 1980, 3, 4, "12")});
  report.set_force_code("cambs");
  report.mutable_location()->clear_local_authority_code();
  SubmitCrimeReportResponse response;
  grpc::Status status = harness_->Submit(report, &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  std::vector<std::string> fields = FieldsOf(status);
  EXPECT_THAT(fields, Contains("report.force_code"));
  EXPECT_THAT(fields, Contains("report.location.local_authority_code"));
  EXPECT_THAT(fields, Contains("report.victims[0].contact_routes[0].value"));
  // No personal data in the answer.
  EXPECT_FALSE(absl::StrContains(status.error_message(), "Example"));
  EXPECT_EQ(Count(topics_.crime_reported), 0U);
  EXPECT_EQ(Count(topics_.data_keys), 0U);
  EXPECT_THAT(RedisKeys(), IsEmpty());
}

// e. An unknown but well-formed offence code and a victim who cannot be matched are
// accepted and flagged.
TEST_F(IntakeIntegrationTest, UnknownOffenceCodeAndUnmatchedVictimAreAcceptedAndFlagged) {
  ASSERT_EQ(offences_->FindHomeOffice("999Z"), nullptr) << "pick a code the table lacks";
  Victim no_birthday = MakeVictim("V2", "Ben", "Sample", 1975, 6, 7, "07700 900002");
  no_birthday.clear_date_of_birth();
  CrimeReport report =
      MakeReport("evt-5", "CF/5",
                 {MakeVictim("V1", "Ada", "Example", 1980, 3, 4, "07700 900001"), no_birthday});
  report.set_offence_class_code("999Z");
  SubmitCrimeReportResponse response;
  grpc::Status status = harness_->Submit(report, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  ASSERT_THAT(response.cases(), SizeIs(2));
  EXPECT_THAT(response.cases(0).flags(),
              ElementsAre(hub::intake::v1::RECEIPT_FLAG_OFFENCE_CODE_UNKNOWN));
  EXPECT_THAT(response.cases(1).flags(),
              UnorderedElementsAre(hub::intake::v1::RECEIPT_FLAG_OFFENCE_CODE_UNKNOWN,
                                   hub::intake::v1::RECEIPT_FLAG_VICTIM_NOT_MATCHED));
  std::vector<Published<CrimeReported>> published = Reported();
  ASSERT_THAT(published, SizeIs(2));
  for (const Published<CrimeReported>& record : published) {
    const CrimeReported& event = record.event;
    EXPECT_THAT(event.flags(), Contains(hub::intake::v1::RECEIPT_FLAG_OFFENCE_CODE_UNKNOWN));
    EXPECT_EQ(event.report().offence_class_code(), "999Z");
    if (event.case_id() == response.cases(1).case_id()) {
      EXPECT_THAT(event.flags(), Contains(hub::intake::v1::RECEIPT_FLAG_VICTIM_NOT_MATCHED));
      EXPECT_EQ(event.pseudonymous_victim_id(), "");
      // Sealed under a key of its own case.
      EXPECT_EQ(event.personal_data().key_id(),
                harness_->pseudonyms().KeyIdForCase(event.case_id()));
      ASSERT_OK_AND_ASSIGN(Victim restored, OpenVictim(event));
      EXPECT_EQ(restored.name().family(), "Sample");
    } else {
      EXPECT_THAT(event.flags(), ElementsAre(hub::intake::v1::RECEIPT_FLAG_OFFENCE_CODE_UNKNOWN));
      EXPECT_TRUE(absl::StartsWith(event.pseudonymous_victim_id(), "pv_"));
    }
  }
}

// f. Who may call what.
TEST_F(IntakeIntegrationTest, CallersOutsideTheirPermissionsAreRefused) {
  const CrimeReport report =
      MakeReport("evt-6", "CF/6", {MakeVictim("V1", "Ada", "Example", 1980, 3, 4, "07700 900001")});
  SubmitCrimeReportResponse response;
  grpc::Status status = harness_->Submit(report, &response, kBedsPolice);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  status = harness_->Submit(report, &response, kProvider);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();

  hub::intake::v1::SelfReferral referral;
  referral.set_referral_id("web-6");
  referral.set_category(hub::intake::v1::SELF_REFERRAL_CATEGORY_VIOLENCE);
  referral.mutable_location()->set_local_authority_code("E07000008");
  *referral.mutable_victim() = MakeVictim("", "Ada", "Example", 1980, 3, 4, "07700 900001");
  referral.mutable_victim()->clear_consent();
  hub::intake::v1::SubmitSelfReferralResponse self_response;
  status = harness_->SelfRefer(referral, &self_response, kAthena);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();

  hub::intake::v1::RequestErasureRequest erasure;
  erasure.mutable_target()->set_case_id("c_000000000000000000000000");
  erasure.set_request_reference("DPO-6");
  hub::intake::v1::RequestErasureResponse erased;
  status = harness_->Erase(erasure, &erased, kAthena);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();

  CrimeUpdate update = MakeUpdate("upd-6", "CF/6");
  update.mutable_milestone()->set_type(hub::intake::v1::MILESTONE_TYPE_ARREST);
  *update.mutable_milestone()->mutable_decided_at() = Ts(absl::Now() - absl::Minutes(10));
  UpdateCrimeReportResponse updated;
  status = harness_->Update(update, &updated, kBedsPolice);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();

  EXPECT_EQ(Count(topics_.crime_reported), 0U);
  EXPECT_EQ(Count(topics_.victim_erased), 0U);
  EXPECT_THAT(RedisKeys(), IsEmpty());
}

// g. Updates reach exactly the cases they concern.
TEST_F(IntakeIntegrationTest, UpdatesApplyToTheCasesTheyConcern) {
  const CrimeReport report =
      MakeReport("evt-7", "CF/7",
                 {MakeVictim("V1", "Ada", "Example", 1980, 3, 4, "07700 900001"),
                  MakeVictim("V2", "Ben", "Sample", 1975, 6, 7, "07700 900002")});
  SubmitCrimeReportResponse submitted;
  ASSERT_TRUE(harness_->Submit(report, &submitted).ok());
  const std::string v1_case = submitted.cases(0).case_id();
  const std::string v2_case = submitted.cases(1).case_id();

  // A charge concerns every victim.
  CrimeUpdate charge = MakeUpdate("upd-1", "CF/7");
  charge.mutable_milestone()->set_type(hub::intake::v1::MILESTONE_TYPE_CHARGE);
  *charge.mutable_milestone()->mutable_decided_at() = Ts(absl::Now() - absl::Minutes(10));
  charge.mutable_milestone()->set_urn("35AB1234526");
  UpdateCrimeReportResponse charged;
  grpc::Status status = harness_->Update(charge, &charged);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_THAT(charged.case_ids(), UnorderedElementsAre(v1_case, v2_case));
  EXPECT_FALSE(charged.duplicate());
  std::vector<Published<CrimeUpdated>> updates = Updated();
  ASSERT_THAT(updates, SizeIs(2));
  EXPECT_EQ(std::set<std::string>({updates[0].event.case_id(), updates[1].event.case_id()}),
            std::set<std::string>({v1_case, v2_case}));
  for (const Published<CrimeUpdated>& record : updates) {
    EXPECT_EQ(record.key, record.event.case_id());
    EXPECT_EQ(record.event.update().milestone().urn(), "35AB1234526");
  }

  // Consent withdrawn by one victim.
  CrimeUpdate withdrawn = MakeUpdate("upd-2", "CF/7");
  withdrawn.mutable_consent()->set_victim_ref("V1");
  hub::intake::v1::Consent& consent = *withdrawn.mutable_consent()->mutable_consent();
  consent.set_status(hub::intake::v1::CONSENT_STATUS_WITHDRAWN);
  *consent.mutable_recorded_at() = Ts(absl::Now() - absl::Minutes(6));
  consent.set_recorded_by("CAMBS-1234");
  UpdateCrimeReportResponse withdrawn_response;
  status = harness_->Update(withdrawn, &withdrawn_response);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_THAT(withdrawn_response.case_ids(), ElementsAre(v1_case));
  updates = Updated();
  ASSERT_THAT(updates, SizeIs(3));
  EXPECT_TRUE(updates[0].event.case_id() == v1_case || updates[1].event.case_id() == v1_case ||
              updates[2].event.case_id() == v1_case);

  // A new victim opens a new case.
  CrimeUpdate added = MakeUpdate("upd-3", "CF/7");
  *added.mutable_victim() = MakeVictim("V3", "Cara", "Other", 1990, 1, 2, "07700 900003");
  UpdateCrimeReportResponse added_response;
  status = harness_->Update(added, &added_response);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(added_response.new_case().victim_ref(), "V3");
  const std::string v3_case = added_response.new_case().case_id();
  EXPECT_THAT(added_response.case_ids(), ElementsAre(v3_case));
  EXPECT_NE(v3_case, v1_case);
  EXPECT_NE(v3_case, v2_case);
  std::vector<Published<CrimeReported>> reported = Reported();
  ASSERT_THAT(reported, SizeIs(3));
  bool found_v3 = false;
  for (const Published<CrimeReported>& record : reported) {
    if (record.event.case_id() == v3_case) {
      found_v3 = true;
      EXPECT_EQ(record.event.report().victims(0).victim_ref(), "V3");
      EXPECT_FALSE(seal::ContainsPii(record.event));
    }
  }
  EXPECT_TRUE(found_v3);
  EXPECT_THAT(Updated(), SizeIs(3));

  // A corrected victim: the update's personal data is sealed.
  CrimeUpdate corrected = MakeUpdate("upd-4", "CF/7");
  *corrected.mutable_victim() = MakeVictim("V2", "Ben", "Sample", 1975, 6, 7, "07700 900099");
  UpdateCrimeReportResponse corrected_response;
  status = harness_->Update(corrected, &corrected_response);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_THAT(corrected_response.case_ids(), ElementsAre(v2_case));
  updates = Updated();
  ASSERT_THAT(updates, SizeIs(4));
  std::optional<CrimeUpdated> found_correction;
  for (const Published<CrimeUpdated>& record : updates) {
    if (record.event.update().has_victim()) {
      found_correction = record.event;
    }
  }
  ASSERT_TRUE(found_correction.has_value());
  const CrimeUpdated& correction = *found_correction;
  EXPECT_EQ(correction.case_id(), v2_case);
  EXPECT_FALSE(seal::ContainsPii(correction));
  ASSERT_TRUE(correction.has_personal_data());
  EXPECT_TRUE(absl::StartsWith(correction.pseudonymous_victim_id(), "pv_"));
  ASSERT_OK_AND_ASSIGN(seal::DataKey key,
                       harness_->keys().Get(correction.personal_data().key_id(),
                                            correction.personal_data().key_generation()));
  Victim restored = correction.update().victim();
  ASSERT_THAT(seal::OpenPii(key, correction.personal_data(), v2_case, &restored), IsOk());
  EXPECT_EQ(restored.contact_routes(0).value(), "07700 900099");
  EXPECT_EQ(restored.name().family(), "Sample");

  // Unknown crime, unknown victim.
  CrimeUpdate unknown_crime = charge;
  unknown_crime.set_source_event_id("upd-5");
  unknown_crime.set_crime_reference("CF/NOPE");
  UpdateCrimeReportResponse refused;
  status = harness_->Update(unknown_crime, &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  CrimeUpdate unknown_victim = charge;
  unknown_victim.set_source_event_id("upd-6");
  unknown_victim.mutable_milestone()->add_victim_refs("V9");
  status = harness_->Update(unknown_victim, &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_THAT(Updated(), SizeIs(4));

  // Repeats publish nothing.
  UpdateCrimeReportResponse repeated;
  status = harness_->Update(charge, &repeated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(repeated.duplicate());
  EXPECT_THAT(repeated.case_ids(), UnorderedElementsAre(v1_case, v2_case));
  EXPECT_THAT(Updated(), SizeIs(4));
  EXPECT_EQ(Count(topics_.crime_reported), 3U);
}

// g (continued). An update adding a victim, sent again (its answer was lost), must be
// answered as a duplicate with the same new case, and publish nothing.
TEST_F(IntakeIntegrationTest, RepeatedNewVictimUpdateIsADuplicate) {
  const CrimeReport report =
      MakeReport("evt-8", "CF/8", {MakeVictim("V1", "Ada", "Example", 1980, 3, 4, "07700 900001")});
  SubmitCrimeReportResponse submitted;
  ASSERT_TRUE(harness_->Submit(report, &submitted).ok());
  CrimeUpdate added = MakeUpdate("upd-8", "CF/8");
  *added.mutable_victim() = MakeVictim("V2", "Cara", "Other", 1990, 1, 2, "07700 900003");
  UpdateCrimeReportResponse first;
  grpc::Status status = harness_->Update(added, &first);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  const std::string new_case = first.new_case().case_id();
  ASSERT_FALSE(new_case.empty());
  ASSERT_EQ(Count(topics_.crime_reported), 2U);
  ASSERT_EQ(Count(topics_.crime_updated), 0U);

  UpdateCrimeReportResponse again;
  status = harness_->Update(added, &again);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_TRUE(again.duplicate()) << "the repeat was handled as a new change";
  EXPECT_EQ(again.new_case().case_id(), new_case);
  EXPECT_THAT(again.case_ids(), ElementsAre(new_case));
  EXPECT_EQ(Count(topics_.crime_reported), 2U);
  EXPECT_EQ(Count(topics_.crime_updated), 0U) << "the repeat published a victim correction";
}

// h. A bulk stream answers each report in order; one bad report sinks nothing else.
TEST_F(IntakeIntegrationTest, BulkStreamAnswersEveryReportInOrder) {
  std::vector<CrimeReport> reports;
  reports.reserve(5);
  for (int i = 0; i < 5; ++i) {
    reports.push_back(MakeReport(
        absl::StrCat("bulk-", i), absl::StrCat("CF/B", i),
        {MakeVictim("V1", "Ada", absl::StrCat("Bulk", i), 1980, 3, 4 + i, "07700 900001")}));
  }
  reports[2].mutable_location()->set_local_authority_code("nowhere");
  std::vector<hub::intake::v1::BulkSubmitCrimeReportsResponse> results;
  grpc::Status status = harness_->BulkSubmit(reports, &results);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  ASSERT_THAT(results, SizeIs(5));
  std::set<std::string> accepted;
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(results[i].index(), i);
    if (i == 2) {
      EXPECT_EQ(results[i].code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
      google::rpc::BadRequest bad_request;
      ASSERT_TRUE(bad_request.ParseFromString(results[i].details()));
      ASSERT_THAT(bad_request.field_violations(), SizeIs(1));
      EXPECT_EQ(bad_request.field_violations(0).field(), "report.location.local_authority_code");
      continue;
    }
    EXPECT_EQ(results[i].code(), 0) << results[i].message();
    ASSERT_THAT(results[i].result().cases(), SizeIs(1));
    accepted.insert(results[i].result().cases(0).case_id());
  }
  EXPECT_THAT(accepted, SizeIs(4));
  std::set<std::string> published;
  for (const Published<CrimeReported>& record : Reported()) {
    published.insert(record.event.case_id());
  }
  EXPECT_EQ(published, accepted);
}

// i. A victim referring themselves.
TEST_F(IntakeIntegrationTest, SelfReferralOpensASelfReferralCaseOnce) {
  hub::intake::v1::SelfReferral referral;
  referral.set_referral_id("web-1");
  referral.set_category(hub::intake::v1::SELF_REFERRAL_CATEGORY_DOMESTIC_ABUSE);
  referral.mutable_location()->set_local_authority_code("E07000008");
  referral.mutable_flags()->set_domestic_abuse(true);
  *referral.mutable_victim() = MakeVictim("", "Rosa", "Example", 1996, 8, 9, "07700 900020");
  referral.mutable_victim()->clear_consent();
  hub::intake::v1::SubmitSelfReferralResponse response;
  grpc::Status status = harness_->SelfRefer(referral, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_FALSE(response.duplicate());
  const std::string case_id = response.receipt().case_id();
  EXPECT_TRUE(absl::StartsWith(case_id, "s_")) << case_id;

  std::vector<Published<CrimeReported>> published = Reported();
  ASSERT_THAT(published, SizeIs(1));
  const CrimeReported& event = published[0].event;
  EXPECT_EQ(event.case_id(), case_id);
  EXPECT_EQ(event.origin(), hub::events::v1::ORIGIN_SELF_REFERRAL);
  EXPECT_EQ(event.self_referral_category(), hub::intake::v1::SELF_REFERRAL_CATEGORY_DOMESTIC_ABUSE);
  EXPECT_EQ(event.submitted_by(), kWebForm);
  EXPECT_EQ(event.report().victims(0).consent().status(), hub::intake::v1::CONSENT_STATUS_GIVEN);
  EXPECT_FALSE(seal::ContainsPii(event));
  ASSERT_OK_AND_ASSIGN(Victim restored, OpenVictim(event));
  EXPECT_EQ(restored.name().given(), "Rosa");

  hub::intake::v1::SubmitSelfReferralResponse again;
  status = harness_->SelfRefer(referral, &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.receipt().case_id(), case_id);
  EXPECT_EQ(Count(topics_.crime_reported), 1U);
}

// j. Erasure destroys the victim's key, so every sealed copy is unreadable.
TEST_F(IntakeIntegrationTest, ErasureShredsTheVictimsKey) {
  const CrimeReport report =
      MakeReport("evt-9", "CF/9", {MakeVictim("V1", "Ada", "Example", 1980, 3, 4, "07700 900001")});
  SubmitCrimeReportResponse submitted;
  ASSERT_TRUE(harness_->Submit(report, &submitted).ok());
  const std::string case_id = submitted.cases(0).case_id();
  std::vector<Published<CrimeReported>> published = Reported();
  ASSERT_THAT(published, SizeIs(1));
  const CrimeReported sealed_copy = published[0].event;
  const hub::seal::v1::SealedData& sealed = sealed_copy.personal_data();
  ASSERT_THAT(OpenVictim(sealed_copy), IsOk());

  hub::intake::v1::RequestErasureRequest by_case;
  by_case.mutable_target()->set_case_id(case_id);
  by_case.set_request_reference("DPO-1");
  hub::intake::v1::RequestErasureResponse erased;
  grpc::Status status = harness_->Erase(by_case, &erased);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_THAT(erased.key_ids(), ElementsAre(sealed.key_id()));
  EXPECT_TRUE(erased.has_compacted_by());
  EXPECT_THAT(harness_->keys().Get(sealed.key_id(), sealed.key_generation()),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(OpenVictim(sealed_copy), StatusIs(absl::StatusCode::kNotFound));
  // A key made again for the same victim is a new generation, which cannot open the old copy.
  ASSERT_OK_AND_ASSIGN(seal::DataKey fresh, harness_->keys().GetOrCreate(sealed.key_id()));
  EXPECT_NE(fresh.generation, sealed.key_generation());
  Victim victim = sealed_copy.report().victims(0);
  EXPECT_THAT(seal::OpenPii(fresh, sealed, case_id, &victim),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  std::vector<Published<VictimErased>> notices =
      Events<VictimErased>(topics_.victim_erased, events::kVictimErasedType);
  ASSERT_THAT(notices, SizeIs(1));
  EXPECT_EQ(notices[0].event.key_id(), sealed.key_id());
  EXPECT_THAT(notices[0].event.case_ids(), ElementsAre(case_id));
  EXPECT_EQ(notices[0].event.pseudonymous_victim_id(), sealed_copy.pseudonymous_victim_id());
  EXPECT_EQ(notices[0].event.request_reference(), "DPO-1");

  // By name and date of birth.
  const Victim dora = MakeVictim("V1", "Dora", "Erase", 1970, 12, 24, "07700 900030");
  const CrimeReport second = MakeReport("evt-10", "CF/10", {dora});
  SubmitCrimeReportResponse second_submitted;
  ASSERT_TRUE(harness_->Submit(second, &second_submitted).ok());
  const std::string dora_case = second_submitted.cases(0).case_id();
  std::optional<CrimeReported> dora_copy;
  for (const Published<CrimeReported>& record : Reported()) {
    if (record.event.case_id() == dora_case) {
      dora_copy = record.event;
    }
  }
  ASSERT_TRUE(dora_copy.has_value());
  ASSERT_THAT(OpenVictim(*dora_copy), IsOk());
  hub::intake::v1::RequestErasureRequest by_identity;
  *by_identity.mutable_target()->mutable_identity()->mutable_name() = dora.name();
  *by_identity.mutable_target()->mutable_identity()->mutable_date_of_birth() = dora.date_of_birth();
  by_identity.set_request_reference("DPO-2");
  hub::intake::v1::RequestErasureResponse erased_by_identity;
  status = harness_->Erase(by_identity, &erased_by_identity);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_THAT(erased_by_identity.key_ids(), ElementsAre(dora_copy->personal_data().key_id()));
  EXPECT_THAT(OpenVictim(*dora_copy), StatusIs(absl::StatusCode::kNotFound));
  notices = Events<VictimErased>(topics_.victim_erased, events::kVictimErasedType);
  ASSERT_THAT(notices, SizeIs(2));
  bool found = false;
  for (const Published<VictimErased>& notice : notices) {
    if (notice.event.key_id() == dora_copy->personal_data().key_id()) {
      found = true;
      EXPECT_THAT(notice.event.case_ids(), ElementsAre(dora_case));
    }
  }
  EXPECT_TRUE(found);

  // Again: nothing left to destroy.
  hub::intake::v1::RequestErasureResponse erased_again;
  status = harness_->Erase(by_identity, &erased_again);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_THAT(erased_again.key_ids(), IsEmpty());
}

// k. Redis unreachable: UNAVAILABLE at once, nothing published.
TEST_F(IntakeIntegrationTest, UnreachableRedisAnswersUnavailableWithinTheDeadline) {
  // A Redis of our own, so it can be stopped: a client is connected, then the server dies.
  const int port = hub::testing::FreePort();
  ASSERT_NE(port, 0);
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<hub::testing::ChildProcess> server,
      hub::testing::ChildProcess::Start(
          "redis-server",
          {"--port", absl::StrCat(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"},
          {}, absl::StrCat(::testing::TempDir(), "/", ns_, "-redis.log")));
  std::unique_ptr<redis::RedisClient> doomed;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (doomed == nullptr && absl::Now() < give_up) {
    redis::RedisConfig config;
    config.port = port;
    absl::StatusOr<std::unique_ptr<redis::RedisClient>> client = redis::CreateRedisClient(config);
    if (client.ok() && (*client)->Ping().ok()) {
      doomed = *std::move(client);
    } else {
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  ASSERT_NE(doomed, nullptr) << hub::testing::TailFile(server->log_path(), 10);
  server->Signal(SIGKILL);
  ASSERT_THAT(server->Wait(absl::Seconds(10)), IsOk());

  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<IntakeHarness> cut_off,
      IntakeHarness::Start(ns_, bootstrap_, producer_.get(), doomed.get(), *master_, &*offences_));
  const CrimeReport report = MakeReport(
      "evt-11", "CF/11", {MakeVictim("V1", "Ada", "Example", 1980, 3, 4, "07700 900001")});
  SubmitCrimeReportResponse response;
  const absl::Time start = absl::Now();
  grpc::Status status = cut_off->Submit(report, &response, kAthena, absl::Seconds(3));
  const absl::Duration took = absl::Now() - start;
  std::printf("[ measure ] Redis down: answered %s in %s\n",
              status.ok() ? "OK" : status.error_message().c_str(),
              absl::FormatDuration(took).c_str());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_LT(took, absl::Seconds(2));
  cut_off->Shutdown();
  EXPECT_THAT(producer_->Flush(absl::Seconds(10)), IsOk());
  cut_off.reset();
  EXPECT_EQ(Count(topics_.crime_reported), 0U);
  EXPECT_EQ(Count(topics_.data_keys), 0U);
}

// l. Kafka unreachable: UNAVAILABLE (not DEADLINE_EXCEEDED) before the caller's deadline; a
// retry is UNAVAILABLE too, never ALREADY_EXISTS; the claim is released once the producer
// gives up.
TEST_F(IntakeIntegrationTest, UnreachableKafkaAnswersUnavailableBeforeTheDeadline) {
  const int closed_port = hub::testing::FreePort();
  ASSERT_NE(closed_port, 0);
  kafka::ProducerConfig config;
  config.bootstrap_servers = absl::StrCat("127.0.0.1:", closed_port);
  config.client_id = "intake-itest-nowhere";
  // The service's default: a record waits this long for a broker before it fails.
  config.delivery_timeout = absl::Seconds(30);
  config.shutdown_timeout = absl::Seconds(1);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<kafka::Producer> nowhere, kafka::CreateProducer(config));
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<IntakeHarness> cut_off,
      IntakeHarness::Start(ns_, bootstrap_, nowhere.get(), redis_.get(), *master_, &*offences_));
  const CrimeReport report = MakeReport(
      "evt-12", "CF/12", {MakeVictim("V1", "Ada", "Example", 1980, 3, 4, "07700 900001")});
  const std::string claim = cut_off->intake().SubmissionKey("report", kAthena, "athena", "evt-12");

  SubmitCrimeReportResponse response;
  absl::Time start = absl::Now();
  grpc::Status status = cut_off->Submit(report, &response, kAthena, absl::Seconds(2));
  absl::Duration took = absl::Now() - start;
  std::printf("[ measure ] Kafka down: first call answered code %d in %s\n",
              static_cast<int>(status.error_code()), absl::FormatDuration(took).c_str());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_LT(took, absl::Seconds(2));
  const std::string state = SubmissionState(claim);
  EXPECT_TRUE(state.empty() || state == "pending") << state;

  start = absl::Now();
  status = cut_off->Submit(report, &response, kAthena, absl::Seconds(2));
  took = absl::Now() - start;
  std::printf("[ measure ] Kafka down: retry answered code %d in %s\n",
              static_cast<int>(status.error_code()), absl::FormatDuration(took).c_str());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_LT(took, absl::Seconds(2));

  // Once the producer gives up on the records, the claim and the crime index's pending
  // entries are released, so a retry against a working Kafka can proceed.
  // The release runs on intake's worker pool after the producer's failed deliveries, so it
  // may land just after reset() returns: wait for it (a few seconds at most).
  cut_off->Shutdown();
  nowhere.reset();
  const absl::Time release_deadline = absl::Now() + absl::Seconds(5);
  while (!SubmissionState(claim).empty() && absl::Now() < release_deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(SubmissionState(claim), "");
  CrimeIndex index(redis_.get(), ns_);
  absl::StatusOr<redis::Reply> entries = redis_->Command({"HGETALL", index.Key("CAMBS", "CF/12")});
  ASSERT_THAT(entries, IsOk());
  EXPECT_THAT(entries->elements, IsEmpty());
  cut_off.reset();

  // The same submission through the working intake is accepted.
  status = harness_->Submit(report, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_FALSE(response.duplicate());
  EXPECT_EQ(Count(topics_.crime_reported), 1U);
}

}  // namespace
}  // namespace hub::intake
