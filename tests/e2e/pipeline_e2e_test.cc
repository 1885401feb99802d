// End-to-end: the four real service processes, a real Kafka broker and a real Redis.
//
// A crime report submitted over gRPC to intake must travel intake → triage → routing →
// notification through Kafka alone, each stage recording its step in Redis, and be
// readable back through CaseService. The tests also check that a resubmission publishes
// nothing, that a bad report is refused and leaves no trace, that a stage killed with
// SIGKILL loses nothing when restarted, and that every service stops cleanly on SIGTERM.
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include <grpcpp/grpcpp.h>
#include <librdkafka/rdkafkacpp.h>
#include <sys/wait.h>

#include "hub/cases/v1/cases.grpc.pb.h"
#include "hub/events/v1/events.pb.h"
#include "hub/intake/v1/intake.grpc.pb.h"
#include "hub/routing/v1/provider.grpc.pb.h"
#include "services/common/clock/clock.h"
#include "services/common/events/cloudevents.h"
#include "services/common/events/topics.h"
#include "services/common/kafka/kafka.h"
#include "services/common/redis/redis_client.h"
#include "services/common/rpc/error_details.h"
#include "services/common/seal/master_key.h"
#include "services/common/status/status_matchers.h"
#include "services/common/timers/timer_store.h"
#include "services/notification/notify/notify_stand_in.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"
#include "tests/support/topic_reader.h"

namespace hub {
namespace {

using ::hub::testing::ChildProcess;
using ::hub::testing::IsOk;
using ::testing::ElementsAre;

constexpr const char* kServices[] = {"intake", "triage", "routing", "notification"};
// The Notify stand-in's key; notification sends SMS, letters and (with no SMTP server
// configured) email through it.
constexpr char kNotifyKey[] =
    "e2e_key-7a6c3f0e-1b2d-4c5e-8f90-a1b2c3d4e5f6-0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";

struct RunningService {
  int grpc_port = 0;
  int http_port = 0;
  std::unique_ptr<ChildProcess> process;
};

class PipelineE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(kafka_, hub::testing::KafkaBootstrapFromEnv());
    ASSERT_OK_AND_ASSIGN(redis_, hub::testing::RedisFromEnv());
    bin_dir_ = hub::testing::BinDir();
    ASSERT_FALSE(bin_dir_.empty()) << "HUB_BIN_DIR must name the build's bin/ directory";
    // A namespace of our own: topics, groups and Redis keys no other test sees.
    ns_ = absl::StrCat("e2e", getpid() % 100000, "x", absl::ToUnixMillis(absl::Now()) % 100000);
    // Every service reads time from this file, which a test may rewrite (hubctl clock).
    clock_file_ = absl::StrCat(::testing::TempDir(), "/", ns_, "-clock");
    // Midday in London, so texts and calls are within reasonable hours whenever the suite
    // runs (notification holds an SMS sent at night until 08:00).
    ASSERT_THAT(clock::WriteClockFile(clock_file_, Midday()), IsOk());
    master_key_file_ = absl::StrCat(::testing::TempDir(), "/", ns_, "-master.key");
    ASSERT_THAT(seal::WriteNewMasterKeyFile(master_key_file_), IsOk());
    notification::notify::NotifyStandInOptions stand_in;
    stand_in.api_key = kNotifyKey;
    // The stand-in checks tokens against the services' clock.
    ASSERT_OK_AND_ASSIGN(stand_in.clock, clock::FileClock::Create(clock_file_));
    ASSERT_OK_AND_ASSIGN(notify_, notification::notify::NotifyStandIn::Start(stand_in));
    notify_key_file_ = absl::StrCat(::testing::TempDir(), "/", ns_, "-notify.key");
    std::ofstream(notify_key_file_) << kNotifyKey << "\n";
    topics_ = events::Topics(ns_);
    ASSERT_THAT(kafka::EnsureTopics(kafka_, events::TopicSpecs(ns_)), IsOk());
    for (const char* name : kServices) {
      StartService(name);
    }
    for (const char* name : kServices) {
      ASSERT_THAT(
          hub::testing::WaitForHttp200(services_[name].http_port, "/readyz", absl::Seconds(60)),
          IsOk())
          << name << " log:\n"
          << hub::testing::TailFile(services_[name].process->log_path(), 30);
    }
    intake_ = hub::intake::v1::IntakeService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", services_["intake"].grpc_port),
                            grpc::InsecureChannelCredentials()));
    cases_ = hub::cases::v1::CaseService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", services_["routing"].grpc_port),
                            grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    for (auto& [name, service] : services_) {
      if (service.process != nullptr && service.process->running()) {
        service.process->Signal(SIGTERM);
      }
    }
    for (auto& [name, service] : services_) {
      if (service.process == nullptr) {
        continue;
      }
      absl::StatusOr<int> status = service.process->Wait(absl::Seconds(30));
      ASSERT_THAT(status, IsOk()) << name << " did not stop on SIGTERM";
      EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
          << name << " exited badly:\n"
          << hub::testing::TailFile(service.process->log_path(), 30);
    }
  }

  void StartService(const std::string& name) {
    RunningService& service = services_[name];
    if (service.grpc_port == 0) {
      service.grpc_port = hub::testing::FreePort();
      service.http_port = hub::testing::FreePort();
    }
    std::map<std::string, std::string> env = {
        {"HUB_NAMESPACE", ns_},
        {"HUB_KAFKA_BOOTSTRAP", kafka_},
        {"HUB_REDIS_ADDR", redis_.ToString()},
        {"HUB_GRPC_ADDR", absl::StrCat("127.0.0.1:", service.grpc_port)},
        {"HUB_HTTP_ADDR", absl::StrCat("127.0.0.1:", service.http_port)},
        {"HUB_CLOCK", absl::StrCat("file:", clock_file_)},
        {"HUB_LOG_LEVEL", "debug"}};
    if (name == "intake" || name == "routing" || name == "notification") {
      env["HUB_MASTER_KEY_FILE"] = master_key_file_;
    }
    if (name == "notification") {
      env["HUB_NOTIFY_BASE_URL"] = notify_->base_url();
      env["HUB_NOTIFY_API_KEY_FILE"] = notify_key_file_;
      env["HUB_NOTIFY_SMS_TEMPLATE"] = "5e1d7c1a-0000-4000-8000-00000000000a";
      env["HUB_NOTIFY_EMAIL_TEMPLATE"] = "5e1d7c1a-0000-4000-8000-00000000000b";
      env["HUB_NOTIFY_LETTER_TEMPLATE"] = "5e1d7c1a-0000-4000-8000-00000000000c";
      env["HUB_POLL_INTERVAL"] = "50ms";
    }
    std::string log = absl::StrCat(::testing::TempDir(), "/", ns_, "-", name, ".log");
    absl::StatusOr<std::unique_ptr<ChildProcess>> process =
        ChildProcess::Start(absl::StrCat(bin_dir_, "/hub-", name), {}, env, log);
    ASSERT_THAT(process, IsOk());
    service.process = *std::move(process);
  }

  static hub::intake::v1::CrimeReport Report(const std::string& event_id) {
    hub::intake::v1::CrimeReport report;
    report.set_force_code("CAMBS");
    report.set_source_system("athena");
    report.set_source_event_id(event_id);
    report.set_crime_reference(absl::StrCat("CF/", event_id));
    *report.mutable_reported_at() = google::protobuf::util::TimeUtil::SecondsToTimestamp(
        absl::ToUnixSeconds(absl::Now()) - 3600);
    report.set_offence_class_code("34B");
    report.mutable_location()->set_local_authority_code("E07000008");
    for (const char* ref : {"V1", "V2"}) {
      auto* victim = report.add_victims();
      victim->set_victim_ref(ref);
      victim->set_age_at_offence(15);
      victim->mutable_name()->set_given("Testy");
      victim->mutable_name()->set_family(absl::StrCat("Example-", ref));
      victim->mutable_consent()->set_status(hub::intake::v1::CONSENT_STATUS_NOT_ASKED);
      auto* route = victim->add_contact_routes();
      route->set_channel(hub::intake::v1::ContactRoute::CHANNEL_SMS);
      route->set_safety(hub::intake::v1::CHANNEL_SAFETY_SAFE);
      route->set_value("07700 900123");
      auto* guardian = victim->mutable_parent_guardian();
      guardian->mutable_name()->set_given("Parent");
      guardian->mutable_name()->set_family(absl::StrCat("Example-", ref));
      guardian->set_role("mother");
      auto* guardian_route = guardian->add_contact_routes();
      guardian_route->set_channel(hub::intake::v1::ContactRoute::CHANNEL_PHONE);
      guardian_route->set_safety(hub::intake::v1::CHANNEL_SAFETY_SAFE);
      guardian_route->set_value("01632 960123");
      if (std::string(ref) == "V1") {
        // V1's mother can be texted; V2's can only be called (a call task).
        auto* text = guardian->add_contact_routes();
        text->set_channel(hub::intake::v1::ContactRoute::CHANNEL_SMS);
        text->set_safety(hub::intake::v1::CHANNEL_SAFETY_SAFE);
        text->set_value("07700 900124");
      }
    }
    return report;
  }

  grpc::Status Submit(const hub::intake::v1::CrimeReport& report,
                      hub::intake::v1::SubmitCrimeReportResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    context.AddMetadata("x-hub-caller", "police:CAMBS:athena");
    hub::intake::v1::SubmitCrimeReportRequest request;
    *request.mutable_report() = report;
    return intake_->SubmitCrimeReport(&context, request, response);
  }

  // Polls CaseService until the case reaches NOTIFIED with at least `min_history` steps
  // (routing records each referral's changes as they come back from its topic).
  hub::cases::v1::CaseState WaitForNotified(const std::string& case_id, int min_history = 0) {
    hub::cases::v1::GetCaseResponse response;
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      grpc::ClientContext context;
      context.AddMetadata("x-hub-caller", "staff:hub:e2e");
      response.Clear();
      grpc::Status status = cases_->GetCase(&context, MakeGet(case_id), &response);
      if (status.ok() && response.state().stage() == hub::cases::v1::STAGE_NOTIFIED &&
          response.state().history_size() >= min_history) {
        return response.state();
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "case " << case_id << " did not reach NOTIFIED; last state "
                  << response.ShortDebugString();
    return response.state();
  }

  // An offset that makes the hub's clock read the next 12:00 in London (never behind real
  // time, so reports made "an hour ago" are in the past for the services too).
  static clock::ClockSetting Midday() {
    absl::TimeZone london;
    if (!absl::LoadTimeZone("Europe/London", &london)) {
      london = absl::UTCTimeZone();
    }
    const absl::Time now = absl::Now();
    const absl::CivilDay today = absl::ToCivilDay(now, london);
    absl::Time noon = absl::FromCivil(absl::CivilHour(today) + 12, london);
    if (noon < now) {
      noon = absl::FromCivil(absl::CivilHour(today + 1) + 12, london);
    }
    clock::ClockSetting setting;
    setting.offset = noon - now;
    return setting;
  }

  // Waits until the Notify stand-in holds at least `count` notifications; returns them all.
  std::vector<notification::notify::StoredNotification> WaitForNotify(size_t count) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (notify_->notifications().size() < count && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    return notify_->notifications();
  }

  static hub::cases::v1::GetCaseRequest MakeGet(const std::string& case_id) {
    hub::cases::v1::GetCaseRequest request;
    request.set_case_id(case_id);
    return request;
  }

  // Records ever written to `topic` (sum of high watermarks).
  int64_t CountRecords(const std::string& topic) {
    std::string error;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", kafka_, error);
    conf->set("group.id", absl::StrCat(ns_, ".counter"), error);
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(
        RdKafka::KafkaConsumer::create(conf.get(), error));
    int64_t total = 0;
    for (int partition = 0; partition < events::kEventTopicPartitions; ++partition) {
      absl::StatusOr<hub::testing::Watermarks> marks = hub::testing::QueryWatermarks(
          *consumer, topic, partition, absl::Now() + absl::Seconds(5));
      EXPECT_TRUE(marks.ok()) << marks.status();
      total += marks.ok() ? marks->high : 0;
    }
    consumer->close();
    return total;
  }

  // The messages notification recorded: template id -> message ids.
  std::map<std::string, std::set<std::string>> RecordedMessages() {
    std::map<std::string, std::set<std::string>> messages;
    absl::StatusOr<std::vector<kafka::ConsumedRecord>> records =
        hub::testing::ReadWholeTopic(kafka_, topics_.notification_recorded);
    EXPECT_THAT(records.status(), IsOk());
    if (records.ok()) {
      for (const kafka::ConsumedRecord& record : *records) {
        hub::events::v1::NotificationRecorded recorded;
        if (events::ParseRecord(record, events::kNotificationRecordedType, &recorded).ok()) {
          messages[recorded.template_id()].insert(recorded.notification_id());
        }
      }
    }
    return messages;
  }

  // Every record ever written to `topic`: key, value and header bytes, concatenated.
  std::string ReadTopicBytes(const std::string& topic, int partitions) {
    std::string error;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", kafka_, error);
    conf->set("group.id", absl::StrCat(ns_, ".scanner"), error);
    conf->set("enable.auto.commit", "false", error);
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(
        RdKafka::KafkaConsumer::create(conf.get(), error));
    std::string bytes;
    for (int partition = 0; partition < partitions; ++partition) {
      absl::StatusOr<hub::testing::Watermarks> marks = hub::testing::QueryWatermarks(
          *consumer, topic, partition, absl::Now() + absl::Seconds(5));
      if (!marks.ok() || marks->high <= marks->low) {
        continue;
      }
      const int64_t low = marks->low;
      const int64_t high = marks->high;
      std::vector<RdKafka::TopicPartition*> assignment = {
          RdKafka::TopicPartition::create(topic, partition, low)};
      consumer->assign(assignment);
      int64_t next = low;
      absl::Time give_up = absl::Now() + absl::Seconds(20);
      while (next < high && absl::Now() < give_up) {
        std::unique_ptr<RdKafka::Message> message(consumer->consume(500));
        if (message->err() != RdKafka::ERR_NO_ERROR) {
          continue;
        }
        next = message->offset() + 1;
        if (message->key() != nullptr) {
          bytes += *message->key();
        }
        bytes.append(static_cast<const char*>(message->payload()), message->len());
        if (message->headers() != nullptr) {
          for (const RdKafka::Headers::Header& header : message->headers()->get_all()) {
            bytes += header.key();
            if (header.value() != nullptr) {
              bytes.append(static_cast<const char*>(header.value()), header.value_size());
            }
          }
        }
      }
      EXPECT_EQ(next, high) << "could not read all of " << topic;
      consumer->unassign();
      RdKafka::TopicPartition::destroy(assignment);
    }
    consumer->close();
    return bytes;
  }

  // Every key and value in Redis under this test's namespace.
  std::string ReadRedisBytes() {
    redis::RedisConfig config;
    config.host = redis_.host;
    config.port = redis_.port;
    absl::StatusOr<std::unique_ptr<redis::RedisClient>> client = redis::CreateRedisClient(config);
    EXPECT_THAT(client, IsOk());
    if (!client.ok()) {
      return "";
    }
    std::string bytes;
    std::string cursor = "0";
    do {
      absl::StatusOr<redis::Reply> page =
          (*client)->Command({"SCAN", cursor, "MATCH", absl::StrCat(ns_, ":*"), "COUNT", "1000"});
      EXPECT_THAT(page, IsOk());
      if (!page.ok() || page->elements.size() != 2) {
        return bytes;
      }
      cursor = page->elements[0].str;
      for (const redis::Reply& key : page->elements[1].elements) {
        bytes += key.str;
        absl::StatusOr<redis::Reply> dump = (*client)->Command({"DUMP", key.str});
        if (dump.ok()) {
          bytes += dump->str;  // RDB serialisation: values appear verbatim unless compressed.
        }
        absl::StatusOr<redis::Reply> type = (*client)->Command({"TYPE", key.str});
        if (!type.ok()) {
          continue;
        }
        std::vector<std::string> read;
        if (type->str == "string") {
          read = {"GET", key.str};
        } else if (type->str == "hash") {
          read = {"HGETALL", key.str};
        } else if (type->str == "list") {
          read = {"LRANGE", key.str, "0", "-1"};
        } else if (type->str == "set") {
          read = {"SMEMBERS", key.str};
        } else if (type->str == "zset") {
          read = {"ZRANGE", key.str, "0", "-1"};
        }
        if (read.empty()) {
          continue;
        }
        absl::StatusOr<redis::Reply> value = (*client)->Command(read);
        if (value.ok()) {
          bytes += value->str;
          for (const redis::Reply& element : value->elements) {
            bytes += element.str;
            bytes += "\n";
          }
        }
      }
    } while (cursor != "0");
    return bytes;
  }

  std::string kafka_;
  hub::testing::HostPort redis_;
  std::string bin_dir_;
  std::string ns_;
  std::string clock_file_;
  std::string master_key_file_;
  std::string notify_key_file_;
  std::unique_ptr<notification::notify::NotifyStandIn> notify_;
  events::TopicNames topics_;
  std::map<std::string, RunningService> services_;
  std::unique_ptr<hub::intake::v1::IntakeService::Stub> intake_;
  std::unique_ptr<hub::cases::v1::CaseService::Stub> cases_;
};

TEST_F(PipelineE2ETest, ReportTravelsThroughEveryStageAndIsReadableBack) {
  hub::intake::v1::SubmitCrimeReportResponse response;
  ASSERT_TRUE(Submit(Report("evt-flow"), &response).ok());
  ASSERT_EQ(response.cases_size(), 2);
  EXPECT_FALSE(response.duplicate());

  for (const auto& receipt : response.cases()) {
    hub::cases::v1::CaseState state = WaitForNotified(receipt.case_id(), 6);
    std::vector<std::string> services;
    std::vector<std::string> pipeline;  // Without notification's steps.
    for (const auto& entry : state.history()) {
      services.push_back(entry.service());
      if (entry.service() != "notification") {
        pipeline.push_back(entry.service());
      }
    }
    // Routing records its decision, then each referral's offer: a 15-year-old goes to the
    // young victims' service, and the Hub's own team for the practical needs it leaves.
    // Notification's steps interleave: the acknowledgement goes as soon as triage assessed.
    ASSERT_GE(services.size(), 6u);
    ASSERT_GE(pipeline.size(), 3u);
    EXPECT_THAT(std::vector<std::string>(pipeline.begin(), pipeline.begin() + 3),
                ElementsAre("intake", "triage", "routing"));
    EXPECT_EQ(std::count(services.begin(), services.end(), "routing"), 3);
    EXPECT_GE(std::count(services.begin(), services.end(), "notification"), 1);
    EXPECT_EQ(state.attributes().at("priority"), "PRIORITY_ENHANCED");
    EXPECT_EQ(state.attributes().at("provider_id"), "young-victims");
    EXPECT_EQ(state.attributes().at("referral:young-victims"), "offered");
    EXPECT_EQ(state.attributes().at("referral:hub-victim-care"), "offered");
    EXPECT_EQ(state.attributes().at("victim_message"), "victim.referral_made");
  }

  // The live view is plain Redis, readable with redis-cli.
  redis::RedisConfig redis_config;
  redis_config.host = redis_.host;
  redis_config.port = redis_.port;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<redis::RedisClient> redis,
                       redis::CreateRedisClient(redis_config));
  ASSERT_OK_AND_ASSIGN(
      redis::Reply stage,
      redis->Command(
          {"HGET", absl::StrCat(ns_, ":case:{", response.cases(0).case_id(), "}"), "stage_name"}));
  EXPECT_EQ(stage.str, "STAGE_NOTIFIED");

  // One event per victim on each topic, nothing dead-lettered.
  EXPECT_EQ(CountRecords(topics_.crime_reported), 2);
  EXPECT_EQ(CountRecords(topics_.needs_assessed), 2);
  EXPECT_EQ(CountRecords(topics_.referral_routed), 2);
  // Each victim is acknowledged and told a referral was made: V1's mother by text, once
  // each; V2's mother has only a phone, so Hub staff get call tasks and nothing is sent.
  // Each provider offered a referral gets a notice by email (Notify here, no SMTP server).
  std::map<std::string, std::set<std::string>> messages = RecordedMessages();
  EXPECT_EQ(messages["victim.acknowledgement"].size(), 2u);
  EXPECT_EQ(messages["victim.referral_made"].size(), 2u);
  EXPECT_EQ(messages["provider.new_offer"].size(), 4u);
  EXPECT_EQ(messages.size(), 3u) << [&] {
    std::string names;
    for (const auto& [name, ids] : messages) {
      names += name + " ";
    }
    return names;
  }();
  std::vector<notification::notify::StoredNotification> sent = WaitForNotify(6);
  int texts = 0;
  std::set<std::string> references;
  for (const auto& notification : sent) {
    references.insert(notification.reference);
    if (notification.type == "sms") {
      ++texts;
      EXPECT_NE(notification.request_body.find("07700 900124"), std::string::npos);
      EXPECT_NE(notification.request_body.find("Parent"), std::string::npos);
    }
  }
  EXPECT_EQ(texts, 2);
  EXPECT_EQ(references.size(), sent.size()) << "no message goes twice";
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(notify_->notifications().size(), 6u) << "nothing more goes";
  absl::StatusOr<std::string> metrics =
      hub::testing::HttpGet(services_["notification"].http_port, "/metrics");
  ASSERT_THAT(metrics, IsOk());
  EXPECT_THAT(*metrics, ::testing::HasSubstr(
                            "hub_notification_attempts_total{channel=\"sms\",outcome=\"sent\"} 2"));
}

TEST_F(PipelineE2ETest, ResubmissionPublishesNothingAndConflictsAreRefused) {
  hub::intake::v1::CrimeReport report = Report("evt-dup");
  hub::intake::v1::SubmitCrimeReportResponse first;
  ASSERT_TRUE(Submit(report, &first).ok());
  WaitForNotified(first.cases(0).case_id());

  hub::intake::v1::SubmitCrimeReportResponse again;
  ASSERT_TRUE(Submit(report, &again).ok());
  EXPECT_TRUE(again.duplicate());
  ASSERT_EQ(again.cases_size(), 2);
  EXPECT_EQ(again.cases(0).case_id(), first.cases(0).case_id());

  report.set_offence_class_code("8L");
  hub::intake::v1::SubmitCrimeReportResponse conflict;
  grpc::Status status = Submit(report, &conflict);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS) << status.error_message();
  EXPECT_EQ(CountRecords(topics_.crime_reported), 2);
}

TEST_F(PipelineE2ETest, BadReportIsRefusedAndLeavesNoTrace) {
  hub::intake::v1::CrimeReport report = Report("evt-bad");
  report.clear_victims();
  report.set_offence_class_code("murder");
  hub::intake::v1::SubmitCrimeReportResponse response;
  grpc::Status status = Submit(report, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("report.victims"));
  // Standard clients find every bad field in the google.rpc.BadRequest details.
  ASSERT_OK_AND_ASSIGN(google::rpc::BadRequest bad_request, rpc::BadRequestOf(status));
  std::vector<std::string> fields;
  for (const auto& violation : bad_request.field_violations()) {
    fields.push_back(violation.field());
  }
  EXPECT_THAT(fields,
              ::testing::UnorderedElementsAre("report.victims", "report.offence_class_code"));
  EXPECT_EQ(CountRecords(topics_.crime_reported), 0);
}

TEST_F(PipelineE2ETest, EveryServiceReadsTheSharedTestClock) {
  // Monday 7 January 2030, 09:00 London (GMT): the referral is due Wednesday 23:59.
  absl::Time frozen = absl::FromCivil(absl::CivilSecond(2030, 1, 7, 9, 0, 0), absl::UTCTimeZone());
  ASSERT_THAT(clock::WriteClockFile(
                  clock_file_, clock::ClockSetting{clock::ClockSetting::Mode::kFrozen, {}, frozen}),
              IsOk());
  absl::SleepFor(absl::Milliseconds(100));  // The services re-read the file within 20 ms.
  hub::intake::v1::CrimeReport report = Report("evt-clock");
  *report.mutable_reported_at() = google::protobuf::util::TimeUtil::SecondsToTimestamp(
      absl::ToUnixSeconds(frozen - absl::Hours(1)));
  hub::intake::v1::SubmitCrimeReportResponse response;
  grpc::Status status = Submit(report, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  hub::cases::v1::CaseState state = WaitForNotified(response.cases(0).case_id(), 6);
  // intake, triage, routing's decision and its two offers, notification (and then what
  // notification does with the messages, all at the same frozen time).
  ASSERT_GE(state.history_size(), 6);
  for (const auto& entry : state.history()) {
    EXPECT_EQ(google::protobuf::util::TimeUtil::TimestampToMilliseconds(entry.recorded_at()),
              absl::ToUnixMillis(frozen))
        << entry.service();
  }
  EXPECT_EQ(state.attributes().at("referral_due"), "2030-01-09T23:59:00Z");
}

TEST_F(PipelineE2ETest, KilledStageLosesNothingAfterRestart) {
  for (const char* name : {"triage", "notification"}) {
    services_[name].process->Signal(SIGKILL);
    ASSERT_THAT(services_[name].process->Wait(absl::Seconds(10)), IsOk());
  }

  hub::intake::v1::SubmitCrimeReportResponse response;
  ASSERT_TRUE(Submit(Report("evt-kill"), &response).ok());
  StartService("triage");
  StartService("notification");
  for (const auto& receipt : response.cases()) {
    hub::cases::v1::CaseState state = WaitForNotified(receipt.case_id(), 6);
    // intake, triage, routing's decision and its two offers: once each.
    EXPECT_EQ(std::count_if(state.history().begin(), state.history().end(),
                            [](const auto& entry) { return entry.service() != "notification"; }),
              5);
  }
  EXPECT_EQ(CountRecords(topics_.needs_assessed), 2);
  // V1's mother is texted the acknowledgement and the referral, once each.
  WaitForNotify(6);
  absl::SleepFor(absl::Seconds(1));
  int texts = 0;
  for (const auto& notification : notify_->notifications()) {
    texts += notification.type == "sms" ? 1 : 0;
  }
  EXPECT_EQ(texts, 2);
}

// A provider that has not answered an offer half way to its deadline gets one reminder by
// email; one that accepted gets none (notification cancels the reminder when it hears).
TEST_F(PipelineE2ETest, ProvidersAreRemindedOfOffersTheyHaveNotAnswered) {
  hub::intake::v1::SubmitCrimeReportResponse response;
  ASSERT_TRUE(Submit(Report("evt-remind"), &response).ok());
  for (const auto& receipt : response.cases()) {
    WaitForNotified(receipt.case_id(), 6);
  }
  auto providers = hub::routing::v1::ProviderService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", services_["routing"].grpc_port),
                          grpc::InsecureChannelCredentials()));
  auto list = [&](const std::string& provider) {
    grpc::ClientContext context;
    context.AddMetadata("x-hub-caller", absl::StrCat("provider:", provider));
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    hub::routing::v1::ListReferralsResponse listed;
    EXPECT_TRUE(providers->ListReferrals(&context, {}, &listed).ok());
    return listed;
  };
  // The Hub's team accepts both of its offers; the young victims' service answers neither.
  const hub::routing::v1::ListReferralsResponse team = list("hub-victim-care");
  ASSERT_EQ(team.referrals_size(), 2);
  for (const auto& referral : team.referrals()) {
    grpc::ClientContext context;
    context.AddMetadata("x-hub-caller", "provider:hub-victim-care");
    hub::routing::v1::AcceptReferralRequest request;
    request.set_referral_id(referral.referral_id());
    hub::routing::v1::Referral accepted;
    ASSERT_TRUE(providers->AcceptReferral(&context, request, &accepted).ok());
  }
  const hub::routing::v1::ListReferralsResponse waiting = list("young-victims");
  ASSERT_EQ(waiting.referrals_size(), 2);

  // Notification's reminder timers ("remind:" and a hash of the referral id, in 16 shards):
  // the accepted offers' are cancelled once notification hears, the others' stay.
  redis::RedisConfig redis_config;
  redis_config.host = redis_.host;
  redis_config.port = redis_.port;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<redis::RedisClient> redis,
                       redis::CreateRedisClient(redis_config));
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<timers::TimerStore> reminders,
      timers::TimerStore::Create(redis.get(), absl::StrCat(ns_, ":notification"), 16));
  auto reminder = [&](const std::string& referral_id) {
    absl::StatusOr<std::optional<timers::Timer>> timer =
        reminders->Get(absl::StrCat("remind:", events::Sha256Hex(referral_id).substr(0, 32)));
    EXPECT_THAT(timer.status(), IsOk());
    return timer.ok() ? *timer : std::nullopt;
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  bool settled = false;
  while (!settled && absl::Now() < deadline) {
    settled = true;
    for (const auto& referral : team.referrals()) {
      settled = settled && !reminder(referral.referral_id()).has_value();
    }
    if (!settled) {
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  ASSERT_TRUE(settled) << "the accepted offers' reminders were not cancelled";
  absl::Time latest_due = absl::InfinitePast();
  for (const auto& referral : waiting.referrals()) {
    std::optional<timers::Timer> timer = reminder(referral.referral_id());
    ASSERT_TRUE(timer.has_value()) << referral.referral_id();
    latest_due = std::max(latest_due, timer->due_at);
  }

  // Half way to the young victims' service's deadline (and a minute): the reminders go.
  clock::ClockSetting later;
  later.offset = latest_due + absl::Minutes(1) - absl::Now();
  ASSERT_THAT(clock::WriteClockFile(clock_file_, later), IsOk());
  std::map<std::string, int> reminded;  // Provider (the referral id's last part) -> count.
  const absl::Time wait_until = absl::Now() + absl::Seconds(30);
  while (absl::Now() < wait_until) {
    reminded.clear();
    absl::StatusOr<std::vector<kafka::ConsumedRecord>> records =
        hub::testing::ReadWholeTopic(kafka_, topics_.notification_recorded);
    ASSERT_THAT(records.status(), IsOk());
    for (const kafka::ConsumedRecord& record : *records) {
      hub::events::v1::NotificationRecorded recorded;
      if (events::ParseRecord(record, events::kNotificationRecordedType, &recorded).ok() &&
          recorded.template_id() == "provider.reminder") {
        ++reminded[recorded.referral_id().substr(recorded.referral_id().rfind(':') + 1)];
      }
    }
    if (reminded["young-victims"] >= 2) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(reminded["young-victims"], 2);
  EXPECT_EQ(reminded.count("hub-victim-care"), 0u);
}

// A provider's system, written against the published protos alone (examples/provider_client,
// `hub-provider`), receives its offer, accepts, starts and completes it with an outcome,
// after routing was killed and restarted in between: nothing is lost. Another provider
// cannot see the referral. The Hub's own team, through the same API, reads the victim's
// safe contact details once it has accepted, and the read is on the audit topic without
// the details. The police system that reported the crime follows the referrals made,
// accepted and completed.
TEST_F(PipelineE2ETest, ProviderWorksItsReferralsAndTheForceHearsBack) {
  hub::intake::v1::CrimeReport report = Report("evt-provider");
  report.mutable_victims()->DeleteSubrange(1, 1);
  hub::intake::v1::SubmitCrimeReportResponse response;
  ASSERT_TRUE(Submit(report, &response).ok());
  const std::string case_id = response.cases(0).case_id();
  hub::cases::v1::CaseState state = WaitForNotified(case_id, 6);
  ASSERT_EQ(state.attributes().at("referral:young-victims"), "offered");

  // Routing dies and comes back: the offer is still there for the provider.
  services_["routing"].process->Signal(SIGKILL);
  ASSERT_THAT(services_["routing"].process->Wait(absl::Seconds(10)), IsOk());
  StartService("routing");
  ASSERT_THAT(
      hub::testing::WaitForHttp200(services_["routing"].http_port, "/readyz", absl::Seconds(60)),
      IsOk());
  const std::string routing = absl::StrCat("127.0.0.1:", services_["routing"].grpc_port);

  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ChildProcess> client,
      ChildProcess::Start(absl::StrCat(bin_dir_, "/hub-provider"),
                          {"--target", routing, "--caller", "provider:young-victims", "work",
                           "--max", "1", "--timeout", "60", "--outcome", "cope,safer"},
                          {}, absl::StrCat(::testing::TempDir(), "/", ns_, "-provider.log")));
  absl::StatusOr<int> exit_status = client->Wait(absl::Seconds(90));
  ASSERT_THAT(exit_status, IsOk());
  EXPECT_TRUE(WIFEXITED(*exit_status) && WEXITSTATUS(*exit_status) == 0)
      << hub::testing::TailFile(client->log_path(), 30);

  auto channel = grpc::CreateChannel(routing, grpc::InsecureChannelCredentials());
  auto providers = hub::routing::v1::ProviderService::NewStub(channel);
  auto as = [](grpc::ClientContext* context, const std::string& principal) {
    context->AddMetadata("x-hub-caller", principal);
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  };
  hub::routing::v1::ListReferralsResponse mine;
  {
    grpc::ClientContext context;
    as(&context, "provider:young-victims");
    ASSERT_TRUE(providers->ListReferrals(&context, {}, &mine).ok());
  }
  ASSERT_EQ(mine.referrals_size(), 1);
  const hub::routing::v1::Referral& done = mine.referrals(0);
  EXPECT_EQ(done.case_id(), case_id);
  EXPECT_EQ(done.status(), hub::routing::v1::REFERRAL_STATUS_COMPLETED);
  EXPECT_TRUE(done.outcome().feel_safer_improved());
  {
    grpc::ClientContext context;
    as(&context, "provider:idva-cambs");
    hub::routing::v1::GetReferralRequest request;
    request.set_referral_id(done.referral_id());
    hub::routing::v1::Referral other;
    EXPECT_EQ(providers->GetReferral(&context, request, &other).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }

  // The Hub's own team takes its referral and reads how to reach the victim.
  hub::routing::v1::ListReferralsResponse team;
  {
    grpc::ClientContext context;
    as(&context, "provider:hub-victim-care");
    ASSERT_TRUE(providers->ListReferrals(&context, {}, &team).ok());
  }
  ASSERT_EQ(team.referrals_size(), 1);
  const std::string team_referral = team.referrals(0).referral_id();
  hub::routing::v1::VictimContact contact;
  {
    grpc::ClientContext context;
    as(&context, "provider:hub-victim-care");
    hub::routing::v1::GetVictimContactRequest request;
    request.set_referral_id(team_referral);
    EXPECT_EQ(providers->GetVictimContact(&context, request, &contact).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  {
    grpc::ClientContext context;
    as(&context, "provider:hub-victim-care");
    hub::routing::v1::AcceptReferralRequest request;
    request.set_referral_id(team_referral);
    hub::routing::v1::Referral accepted;
    grpc::Status status = providers->AcceptReferral(&context, request, &accepted);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  {
    grpc::ClientContext context;
    as(&context, "provider:hub-victim-care");
    hub::routing::v1::GetVictimContactRequest request;
    request.set_referral_id(team_referral);
    grpc::Status status = providers->GetVictimContact(&context, request, &contact);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(contact.name().given(), "Testy");
  EXPECT_EQ(CountRecords(topics_.contact_reads), 1);
  EXPECT_EQ(ReadTopicBytes(topics_.contact_reads, events::kEventTopicPartitions).find("Testy"),
            std::string::npos);

  // The reporting force follows what happened to its report.
  auto feedback = hub::routing::v1::ForceFeedbackService::NewStub(channel);
  hub::routing::v1::CrimeFeedback crime;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  bool heard = false;
  while (!heard && absl::Now() < deadline) {
    grpc::ClientContext context;
    as(&context, "police:CAMBS:athena");
    hub::routing::v1::GetCrimeFeedbackRequest request;
    request.set_crime_reference(report.crime_reference());
    crime.Clear();
    if (feedback->GetCrimeFeedback(&context, request, &crime).ok() && crime.cases_size() == 1) {
      int completed = 0;
      int accepted = 0;
      for (const auto& referral : crime.cases(0).referrals()) {
        completed += referral.status() == hub::routing::v1::REFERRAL_STATUS_COMPLETED ? 1 : 0;
        accepted += referral.status() == hub::routing::v1::REFERRAL_STATUS_ACCEPTED ? 1 : 0;
      }
      heard = completed == 1 && accepted == 1;
    }
    if (!heard) {
      absl::SleepFor(absl::Milliseconds(200));
    }
  }
  ASSERT_TRUE(heard) << crime.ShortDebugString();
  EXPECT_TRUE(crime.cases(0).enhanced());
  {
    grpc::ClientContext context;
    as(&context, "police:NORFOLK:athena");
    hub::routing::v1::GetCrimeFeedbackRequest request;
    request.set_crime_reference(report.crime_reference());
    hub::routing::v1::CrimeFeedback other;
    EXPECT_EQ(feedback->GetCrimeFeedback(&context, request, &other).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
}

// A report naming a victim, her phone number, email and address travels the whole
// pipeline; then every record on every topic, every service's log, every service's
// metrics and everything in Redis is scanned for those planted values, in clear, and none
// is found. The sealed copy is there (the topic holds the envelope), so the scan is not
// vacuous: the case was processed end to end.
TEST_F(PipelineE2ETest, PlantedPersonalDataAppearsNowhereInClear) {
  hub::intake::v1::CrimeReport report = Report("evt-pii");
  report.mutable_victims()->DeleteSubrange(1, 1);
  hub::intake::v1::Victim& victim = *report.mutable_victims(0);
  victim.set_age_at_offence(42);
  victim.clear_parent_guardian();
  victim.mutable_name()->set_given("Zebedee");
  victim.mutable_name()->set_family("Quartermaine-Plantwise");
  victim.mutable_date_of_birth()->set_year(1983);
  victim.mutable_date_of_birth()->set_month(7);
  victim.mutable_date_of_birth()->set_day(19);
  victim.mutable_contact_routes(0)->set_value("07700 900461");
  auto* email = victim.add_contact_routes();
  email->set_channel(hub::intake::v1::ContactRoute::CHANNEL_EMAIL);
  email->set_safety(hub::intake::v1::CHANNEL_SAFETY_SAFE);
  email->set_value("zebedee.plantwise@example.org");
  auto* letter = victim.add_contact_routes();
  letter->set_channel(hub::intake::v1::ContactRoute::CHANNEL_LETTER);
  letter->set_safety(hub::intake::v1::CHANNEL_SAFETY_SAFE);
  letter->mutable_address()->add_lines("17 Plantedname Row");
  letter->mutable_address()->set_town("Cambridge");
  letter->mutable_address()->set_postcode("CB4 9ZQ");
  hub::intake::v1::SubmitCrimeReportResponse response;
  grpc::Status status = Submit(report, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  WaitForNotified(response.cases(0).case_id());
  // The messages went out by email (through Notify here) with her name in them: the
  // notification service had the details in clear for the moment of sending only.
  std::vector<notification::notify::StoredNotification> sent = WaitForNotify(2);
  ASSERT_GE(sent.size(), 2u);
  bool told = false;
  for (const auto& notification : sent) {
    told = told ||
           (notification.type == "email" &&
            notification.request_body.find("zebedee.plantwise@example.org") != std::string::npos &&
            notification.request_body.find("Zebedee") != std::string::npos);
  }
  EXPECT_TRUE(told);

  const std::vector<std::string> planted = {
      "Zebedee",     "Quartermaine",  "Plantwise",         "07700 900461",
      "07700900461", "+447700900461", "zebedee.plantwise", "Plantedname",
      "CB4 9ZQ",     "CB49ZQ",        "1983-07-19"};
  std::map<std::string, std::string> places;
  for (const auto& spec : events::TopicSpecs(ns_)) {
    places[absl::StrCat("topic ", spec.name)] = ReadTopicBytes(spec.name, spec.partitions);
  }
  EXPECT_GT(places[absl::StrCat("topic ", topics_.crime_reported)].size(), 0u);
  EXPECT_GT(places[absl::StrCat("topic ", topics_.data_keys)].size(), 0u);
  for (const char* name : kServices) {
    places[absl::StrCat(name, " log")] =
        hub::testing::TailFile(services_[name].process->log_path(), 1000000);
    absl::StatusOr<std::string> metrics =
        hub::testing::HttpGet(services_[name].http_port, "/metrics");
    ASSERT_THAT(metrics, IsOk());
    places[absl::StrCat(name, " metrics")] = *metrics;
  }
  places["redis"] = ReadRedisBytes();
  for (const auto& [place, bytes] : places) {
    for (const std::string& value : planted) {
      EXPECT_EQ(bytes.find(value), std::string::npos) << "'" << value << "' found in " << place;
    }
  }
}

}  // namespace
}  // namespace hub
