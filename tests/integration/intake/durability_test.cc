// Broker stopped → UNAVAILABLE; broker back → accepted, nothing lost.
//
// The test runs its own Kafka and Redis with deploy/local/stack (in a temporary stack
// directory, on free ports), because it stops that Kafka: 20 reports are accepted, Kafka
// is stopped, 10 more are each answered UNAVAILABLE within their 3 s deadline, Kafka is
// started again, the 10 are retried with the same ids until accepted, and the
// crime-reported topic must then hold every one of the 30 cases (a repeated record is
// allowed only as a copy with the same event id), with every submission recorded done in
// Redis. The measured times are printed.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include <openssl/rand.h>
#include <sys/wait.h>

#include "hub/events/v1/events.pb.h"
#include "services/common/events/cloudevents.h"
#include "services/common/events/topics.h"
#include "services/common/kafka/kafka.h"
#include "services/common/offences/offences.h"
#include "services/common/redis/redis_client.h"
#include "services/common/seal/master_key.h"
#include "services/common/status/status_matchers.h"
#include "tests/integration/intake/intake_harness.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"
#include "tests/support/topic_reader.h"

namespace hub::intake {
namespace {

using ::hub::intake::testing::IntakeHarness;
using ::hub::intake::testing::kAthena;
using ::hub::intake::testing::MakeReport;
using ::hub::intake::testing::MakeVictim;
using ::hub::testing::IsOk;
using ::testing::SizeIs;

constexpr int kBefore = 20;
constexpr int kDuring = 10;
constexpr absl::Duration kOutageDeadline = absl::Seconds(3);
constexpr absl::Duration kRetryBound = absl::Seconds(60);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

bool Alive(pid_t pid) {
  const std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (stat.empty()) {
    return false;
  }
  // The state follows the command name in parentheses; a zombie is not alive.
  const size_t close = stat.rfind(") ");
  return close == std::string::npos || stat.substr(close + 2, 1) != "Z";
}

class DurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_dir_ = absl::StrCat(::testing::TempDir(), "/",
                              hub::testing::UniqueName("intake-durability-stack"));
    // The test's own files (port list, script logs) live in the stack dir too, so the
    // purge at the end leaves nothing behind.
    std::error_code created;
    std::filesystem::create_directories(stack_dir_, created);
    ASSERT_FALSE(created) << created.message();
    ASSERT_OK_AND_ASSIGN(std::vector<int> ports, FreePorts(3));
    kafka_port_ = ports[0];
    env_ = {{"HUB_STACK_DIR", stack_dir_},
            {"HUB_KAFKA_PORT", absl::StrCat(ports[0])},
            {"HUB_KAFKA_CONTROLLER_PORT", absl::StrCat(ports[1])},
            {"HUB_REDIS_PORT", absl::StrCat(ports[2])},
            // No hubctl there: the stack creates no topics; the test creates its own.
            {"HUB_BUILD_DIR", absl::StrCat(stack_dir_, "/no-build")}};
    stack_started_ = true;
    const absl::Time start = absl::Now();
    ASSERT_TRUE(Stack({"up", "--infra-only"})) << "the test's own stack did not start";
    std::printf("[ measure ] own stack started in %s\n",
                absl::FormatDuration(absl::Now() - start).c_str());
    bootstrap_ = absl::StrCat("127.0.0.1:", ports[0]);

    ns_ = "durable";
    topics_ = events::Topics(ns_);
    ASSERT_THAT(kafka::EnsureTopics(bootstrap_, events::TopicSpecs(ns_)), IsOk());
    kafka::ProducerConfig producer_config;
    producer_config.bootstrap_servers = bootstrap_;
    producer_config.client_id = "intake-durability";
    producer_config.linger = absl::ZeroDuration();
    producer_config.topics = {topics_.crime_reported, topics_.crime_updated, topics_.victim_erased,
                              topics_.data_keys};
    ASSERT_OK_AND_ASSIGN(producer_, kafka::CreateProducer(producer_config));
    redis::RedisConfig redis_config;
    redis_config.port = ports[2];
    ASSERT_OK_AND_ASSIGN(redis_, redis::CreateRedisClient(redis_config));
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
    producer_.reset();
    harness_.reset();
    redis_.reset();
    if (stack_started_) {
      // Always stopped; the data and logs stay in the test's temp dir only on failure.
      EXPECT_TRUE(Stack({"down"})) << "the test's own stack did not stop";
      if (!HasFailure()) {
        Stack({"down", "--purge"});
      } else {
        std::printf("stack logs kept in %s/logs\n", stack_dir_.c_str());
      }
    }
  }

  // Runs deploy/local/stack with the stack's environment; true when it exits 0.
  bool Stack(const std::vector<std::string>& args) {
    const std::string log = absl::StrCat(stack_dir_, "/test-stack-", args[0], ".log");
    absl::StatusOr<std::unique_ptr<hub::testing::ChildProcess>> process =
        hub::testing::ChildProcess::Start(absl::StrCat(HUB_SOURCE_DIR, "/deploy/local/stack"), args,
                                          env_, log);
    if (!process.ok()) {
      ADD_FAILURE() << process.status();
      return false;
    }
    absl::StatusOr<int> status = (*process)->Wait(absl::Seconds(200));
    const bool ok = status.ok() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
    if (!ok) {
      std::printf("deploy/local/stack %s failed:\n%s\n", args[0].c_str(),
                  hub::testing::TailFile(log, 30).c_str());
    }
    return ok;
  }

  // `count` distinct free ports from deploy/local/free-port (which reserves them, and
  // never hands out a port the kernel may give an outgoing connection: Kafka must get its
  // port back after the restart).
  absl::StatusOr<std::vector<int>> FreePorts(int count) {
    const std::string log = absl::StrCat(stack_dir_, "/test-ports.txt");
    absl::StatusOr<std::unique_ptr<hub::testing::ChildProcess>> process =
        hub::testing::ChildProcess::Start(absl::StrCat(HUB_SOURCE_DIR, "/deploy/local/free-port"),
                                          {absl::StrCat(count)}, {}, log);
    if (!process.ok()) {
      return process.status();
    }
    absl::StatusOr<int> status = (*process)->Wait(absl::Seconds(30));
    if (!status.ok()) {
      return status.status();
    }
    std::vector<int> ports;
    for (absl::string_view line : absl::StrSplit(ReadFile(log), '\n', absl::SkipEmpty())) {
      int port = 0;
      if (absl::SimpleAtoi(line, &port)) {
        ports.push_back(port);
      }
    }
    if (static_cast<int>(ports.size()) != count) {
      return absl::InternalError(absl::StrCat("free-port printed: ", ReadFile(log)));
    }
    return ports;
  }

  // Stops the stack's Kafka: SIGTERM, then SIGKILL if it is still running after 20 s.
  void StopKafka() {
    const std::string pid_text = ReadFile(absl::StrCat(stack_dir_, "/run/kafka.pid"));
    int pid = 0;
    ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(pid_text), &pid)) << pid_text;
    ASSERT_GT(pid, 1);
    ASSERT_EQ(kill(pid, SIGTERM), 0);
    absl::Time give_up = absl::Now() + absl::Seconds(20);
    while (Alive(pid) && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(100));
    }
    if (Alive(pid)) {
      kill(pid, SIGKILL);
      give_up = absl::Now() + absl::Seconds(10);
      while (Alive(pid) && absl::Now() < give_up) {
        absl::SleepFor(absl::Milliseconds(100));
      }
    }
    ASSERT_FALSE(Alive(pid)) << "Kafka (pid " << pid << ") did not stop";
  }

  std::string SubmissionState(const std::string& key) {
    absl::StatusOr<redis::Reply> value = redis_->Command({"GET", key});
    if (!value.ok() || value->is_nil()) {
      return "";
    }
    nlohmann::json record = nlohmann::json::parse(value->str, nullptr, false);
    return record.is_discarded() ? "unreadable" : record.value("state", "");
  }

  static hub::intake::v1::CrimeReport Report(int i) {
    return MakeReport(absl::StrCat("durable-", i), absl::StrCat("CF/D", i),
                      {MakeVictim("V1", "Ada", absl::StrCat("Durable", i), 1960 + i, 1 + i % 12,
                                  1 + i % 28, "07700 900001")});
  }

  std::string stack_dir_;
  std::map<std::string, std::string> env_;
  bool stack_started_ = false;
  int kafka_port_ = 0;
  std::string bootstrap_;
  std::string ns_;
  events::TopicNames topics_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::optional<seal::MasterKey> master_;
  std::optional<offences::OffenceTable> offences_;
  std::unique_ptr<IntakeHarness> harness_;
};

TEST_F(DurabilityTest, BrokerStoppedIsUnavailableAndNothingIsLostWhenItIsBack) {
  std::vector<hub::intake::v1::CrimeReport> reports;
  reports.reserve(kBefore + kDuring);
  for (int i = 0; i < kBefore + kDuring; ++i) {
    reports.push_back(Report(i));
  }
  std::map<int, std::string> case_of;

  absl::Time start = absl::Now();
  for (int i = 0; i < kBefore; ++i) {
    hub::intake::v1::SubmitCrimeReportResponse response;
    grpc::Status status = harness_->Submit(reports[i], &response);
    ASSERT_TRUE(status.ok()) << i << ": " << status.error_code() << " " << status.error_message();
    ASSERT_THAT(response.cases(), SizeIs(1));
    case_of[i] = response.cases(0).case_id();
  }
  std::printf("[ measure ] %d reports accepted in %s\n", kBefore,
              absl::FormatDuration(absl::Now() - start).c_str());

  start = absl::Now();
  StopKafka();
  if (HasFatalFailure()) {
    return;
  }
  std::printf("[ measure ] Kafka stopped in %s\n",
              absl::FormatDuration(absl::Now() - start).c_str());

  absl::Duration slowest;
  for (int i = kBefore; i < kBefore + kDuring; ++i) {
    hub::intake::v1::SubmitCrimeReportResponse response;
    const absl::Time call = absl::Now();
    grpc::Status status = harness_->Submit(reports[i], &response, kAthena, kOutageDeadline);
    const absl::Duration took = absl::Now() - call;
    slowest = std::max(slowest, took);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << i << ": " << status.error_message();
    EXPECT_LT(took, kOutageDeadline) << i;
  }
  std::printf("[ measure ] %d reports during the outage: every answer within %s (deadline %s)\n",
              kDuring, absl::FormatDuration(slowest).c_str(),
              absl::FormatDuration(kOutageDeadline).c_str());

  start = absl::Now();
  ASSERT_TRUE(Stack({"up", "--infra-only"})) << "Kafka did not restart";
  std::printf("[ measure ] Kafka restarted and ready in %s\n",
              absl::FormatDuration(absl::Now() - start).c_str());

  const absl::Time retry_start = absl::Now();
  const absl::Time give_up = retry_start + kRetryBound;
  int attempts = 0;
  int duplicates = 0;
  std::map<int, std::string> last_error;
  for (int i = kBefore; i < kBefore + kDuring; ++i) {
    while (absl::Now() < give_up) {
      ++attempts;
      hub::intake::v1::SubmitCrimeReportResponse response;
      grpc::Status status = harness_->Submit(reports[i], &response, kAthena, absl::Seconds(10));
      if (status.ok()) {
        // A duplicate answer means the outage-time attempt itself completed once Kafka was
        // back (its records were still queued in the producer).
        duplicates += response.duplicate() ? 1 : 0;
        ASSERT_THAT(response.cases(), SizeIs(1));
        case_of[i] = response.cases(0).case_id();
        break;
      }
      last_error[i] = absl::StrCat(status.error_code(), " ", status.error_message());
      // Never refused as a different request: the retry is the same submission.
      ASSERT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << last_error[i];
      absl::SleepFor(absl::Milliseconds(250));
    }
    EXPECT_EQ(case_of.count(i), 1U) << i << " never accepted; last: " << last_error[i];
  }
  std::printf(
      "[ measure ] the %d retried reports were all accepted %s after Kafka was ready "
      "(%d calls, %d answered as duplicates of the outage-time attempt)\n",
      kDuring, absl::FormatDuration(absl::Now() - retry_start).c_str(), attempts, duplicates);

  // Every case is on the topic; a repeated record is only a copy of the same event.
  absl::StatusOr<std::vector<kafka::ConsumedRecord>> records =
      hub::testing::ReadWholeTopic(bootstrap_, topics_.crime_reported, absl::Seconds(60));
  ASSERT_THAT(records, IsOk());
  std::map<std::string, std::set<std::string>> event_ids_of_case;
  std::set<std::string> event_ids;
  for (const kafka::ConsumedRecord& record : *records) {
    hub::events::v1::CrimeReported event;
    absl::StatusOr<events::CloudEvent> header =
        events::ParseRecord(record, events::kCrimeReportedType, &event);
    ASSERT_THAT(header, IsOk());
    event_ids_of_case[event.case_id()].insert(header->id);
    event_ids.insert(header->id);
  }
  std::printf(
      "[ measure ] crime-reported holds %zu records: %zu distinct case ids, %zu "
      "distinct event ids\n",
      records->size(), event_ids_of_case.size(), event_ids.size());
  EXPECT_EQ(event_ids_of_case.size(), static_cast<size_t>(kBefore + kDuring));
  EXPECT_EQ(event_ids.size(), static_cast<size_t>(kBefore + kDuring));
  for (const auto& [i, case_id] : case_of) {
    auto found = event_ids_of_case.find(case_id);
    ASSERT_NE(found, event_ids_of_case.end()) << "case of report " << i << " is missing";
    EXPECT_THAT(found->second, SizeIs(1)) << "case of report " << i << " has several event ids";
  }
  EXPECT_EQ(case_of.size(), static_cast<size_t>(kBefore + kDuring));

  for (int i = 0; i < kBefore + kDuring; ++i) {
    EXPECT_EQ(SubmissionState(harness_->intake().SubmissionKey("report", kAthena, "athena",
                                                               reports[i].source_event_id())),
              "done")
        << i;
  }
}

}  // namespace
}  // namespace hub::intake
