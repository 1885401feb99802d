#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <librdkafka/rdkafkacpp.h>

#include "services/common/kafka/internal/mock_cluster.h"
#include "services/common/kafka/internal/testing_hooks.h"
#include "services/common/kafka/kafka.h"
#include "services/common/status/status_matchers.h"

namespace hub::kafka {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

constexpr char kTopic[] = "input";
constexpr char kDeadLetterTopic[] = "input.dead-letter";
constexpr char kGroup[] = "loop-test";

bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) {
      return false;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

// A dead-letter producer that records what it was given and answers with scripted
// statuses (OK once the script runs out).
class FakeProducer : public Producer {
 public:
  void FailNext(absl::Status status) {
    absl::MutexLock lock(&mu_);
    script_.push_back(std::move(status));
  }
  std::vector<OutgoingRecord> records() {
    absl::MutexLock lock(&mu_);
    return records_;
  }

  void Produce(OutgoingRecord record, DeliveryCallback on_delivery) override {
    on_delivery(ProduceSync(std::move(record), absl::ZeroDuration()));
  }
  absl::Status ProduceSync(OutgoingRecord record, absl::Duration /*timeout*/) override {
    absl::MutexLock lock(&mu_);
    if (!script_.empty()) {
      absl::Status status = script_.front();
      script_.pop_front();
      return status;
    }
    records_.push_back(std::move(record));
    return absl::OkStatus();
  }
  absl::Status Flush(absl::Duration /*timeout*/) override { return absl::OkStatus(); }

 private:
  absl::Mutex mu_;
  std::deque<absl::Status> script_ ABSL_GUARDED_BY(mu_);
  std::vector<OutgoingRecord> records_ ABSL_GUARDED_BY(mu_);
};

// Runs a loop's Run() on its own thread, as a service would.
class LoopRunner {
 public:
  explicit LoopRunner(ConsumerLoop* loop)
      : thread_([this, loop] {
          absl::Status status = loop->Run();
          absl::MutexLock lock(&mu_);
          status_ = std::move(status);
          finished_ = true;
        }) {}
  ~LoopRunner() { thread_.join(); }

  LoopRunner(const LoopRunner&) = delete;
  LoopRunner& operator=(const LoopRunner&) = delete;

  // Run()'s result, once it returned within `timeout`.
  std::optional<absl::Status> Result(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(&finished_), timeout)) {
      return std::nullopt;
    }
    return status_;
  }

 private:
  absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

class ConsumerLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(cluster_, internal::MockCluster::Create(1));
    ASSERT_THAT(cluster_->CreateTopic(kTopic, 1), IsOk());
    ProducerConfig config;
    config.bootstrap_servers = cluster_->bootstrap();
    ASSERT_OK_AND_ASSIGN(producer_, CreateProducer(config));
  }

  ConsumerConfig Config() const {
    ConsumerConfig config;
    config.bootstrap_servers = cluster_->bootstrap();
    config.group_id = kGroup;
    config.client_id = "loop-test";
    config.topics = {kTopic};
    config.dead_letter_topic = kDeadLetterTopic;
    config.retry_backoff_min = absl::Milliseconds(10);
    config.retry_backoff_max = absl::Milliseconds(40);
    config.auto_commit_interval = absl::Milliseconds(100);
    return config;
  }

  void ProduceValues(const std::vector<std::string>& values) {
    for (const std::string& value : values) {
      ASSERT_THAT(
          producer_->ProduceSync({kTopic, "key", value, {{"hub_trace", "t-1"}}}, absl::Seconds(10)),
          IsOk());
    }
  }

  // The group's committed offset of partition 0, or -1 if none.
  int64_t CommittedOffset() const {
    auto conf = std::unique_ptr<RdKafka::Conf>(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string errstr;
    conf->set("bootstrap.servers", cluster_->bootstrap(), errstr);
    conf->set("group.id", kGroup, errstr);
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(
        RdKafka::KafkaConsumer::create(conf.get(), errstr));
    std::vector<RdKafka::TopicPartition*> partitions = {RdKafka::TopicPartition::create(kTopic, 0)};
    const RdKafka::ErrorCode err = consumer->committed(partitions, 5000);
    const int64_t offset = err == RdKafka::ERR_NO_ERROR ? partitions[0]->offset() : -2;
    RdKafka::TopicPartition::destroy(partitions);
    consumer->close();
    return offset < 0 ? -1 : offset;
  }

  std::unique_ptr<internal::MockCluster> cluster_;
  std::unique_ptr<Producer> producer_;
  FakeProducer dead_letters_;
};

TEST_F(ConsumerLoopTest, HandlesEveryRecordAndCommitsAfterStop) {
  ProduceValues({"a", "b", "c"});
  absl::Mutex mu;
  std::vector<std::string> seen;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ConsumerLoop> loop,
                       CreateConsumerLoop(
                           Config(),
                           [&](const ConsumedRecord& record) {
                             absl::MutexLock lock(&mu);
                             seen.push_back(record.value);
                             EXPECT_EQ(record.topic, kTopic);
                             EXPECT_EQ(record.key, "key");
                             EXPECT_THAT(record.FindHeader("hub_trace"),
                                         Optional(std::string_view("t-1")));
                             return absl::OkStatus();
                           },
                           &dead_letters_));
  {
    LoopRunner runner(loop.get());
    ASSERT_TRUE(WaitUntil([&] { return loop->stats().handled.load() == 3; }, absl::Seconds(15)));
    EXPECT_TRUE(loop->Ready());
    loop->Stop();
    EXPECT_THAT(runner.Result(absl::Seconds(10)), Optional(IsOk()));
  }
  EXPECT_FALSE(loop->Ready());
  {
    absl::MutexLock lock(&mu);
    EXPECT_THAT(seen, ElementsAre("a", "b", "c"));
  }
  EXPECT_GE(loop->stats().rebalances.load(), 1u);
  EXPECT_EQ(CommittedOffset(), 3);
}

TEST_F(ConsumerLoopTest, TransientFailureRedeliversSameRecordUntilItSucceeds) {
  ProduceValues({"flaky", "next"});
  constexpr int kFailures = 3;
  absl::Mutex mu;
  std::vector<std::string> seen;
  int flaky_failures = 0;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ConsumerLoop> loop,
                       CreateConsumerLoop(
                           Config(),
                           [&](const ConsumedRecord& record) {
                             absl::MutexLock lock(&mu);
                             seen.push_back(record.value);
                             if (record.value == "flaky" && flaky_failures < kFailures) {
                               ++flaky_failures;
                               return absl::UnavailableError("redis down");
                             }
                             return absl::OkStatus();
                           },
                           &dead_letters_));
  {
    LoopRunner runner(loop.get());
    ASSERT_TRUE(WaitUntil([&] { return loop->stats().handled.load() == 2; }, absl::Seconds(15)));
    // Nothing is committed past a record whose handler has not succeeded yet.
    loop->Stop();
    EXPECT_THAT(runner.Result(absl::Seconds(10)), Optional(IsOk()));
  }
  {
    absl::MutexLock lock(&mu);
    EXPECT_THAT(seen, ElementsAre("flaky", "flaky", "flaky", "flaky", "next"));
  }
  EXPECT_EQ(loop->stats().retried.load(), static_cast<uint64_t>(kFailures));
  EXPECT_EQ(loop->stats().dead_lettered.load(), 0u);
  EXPECT_EQ(CommittedOffset(), 2);
}

TEST_F(ConsumerLoopTest, StoppingDuringRetriesLeavesFailingRecordUncommitted) {
  ProduceValues({"ok", "always-fails", "after"});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ConsumerLoop> loop,
                       CreateConsumerLoop(
                           Config(),
                           [](const ConsumedRecord& record) {
                             return record.value == "always-fails"
                                        ? absl::UnavailableError("downstream unavailable")
                                        : absl::OkStatus();
                           },
                           &dead_letters_));
  {
    LoopRunner runner(loop.get());
    ASSERT_TRUE(WaitUntil([&] { return loop->stats().retried.load() >= 2; }, absl::Seconds(15)));
    loop->Stop();
    EXPECT_THAT(runner.Result(absl::Seconds(10)), Optional(IsOk()));
  }
  EXPECT_EQ(loop->stats().handled.load(), 1u);
  EXPECT_EQ(CommittedOffset(), 1);
}

TEST_F(ConsumerLoopTest, InvalidRecordGoesToDeadLetterTopicWithReason) {
  ProduceValues({"undecodable", "good"});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ConsumerLoop> loop,
                       CreateConsumerLoop(
                           Config(),
                           [](const ConsumedRecord& record) {
                             return record.value == "undecodable"
                                        ? absl::InvalidArgumentError("payload is not a referral")
                                        : absl::OkStatus();
                           },
                           &dead_letters_));
  {
    LoopRunner runner(loop.get());
    ASSERT_TRUE(WaitUntil([&] { return loop->stats().handled.load() == 1; }, absl::Seconds(15)));
    loop->Stop();
    EXPECT_THAT(runner.Result(absl::Seconds(10)), Optional(IsOk()));
  }
  EXPECT_EQ(loop->stats().dead_lettered.load(), 1u);
  EXPECT_EQ(loop->stats().retried.load(), 0u);
  EXPECT_EQ(CommittedOffset(), 2);

  const std::vector<OutgoingRecord> dead = dead_letters_.records();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].topic, kDeadLetterTopic);
  EXPECT_EQ(dead[0].key, "key");
  EXPECT_EQ(dead[0].value, "undecodable");
  std::map<std::string, std::string> headers;
  for (const Header& header : dead[0].headers) {
    headers.emplace(header.key, header.value);
  }
  EXPECT_EQ(headers["hub_trace"], "t-1");
  EXPECT_EQ(headers[kDeadLetterReasonHeader], "INVALID_ARGUMENT: payload is not a referral");
  EXPECT_EQ(headers[kDeadLetterSourceTopicHeader], kTopic);
  EXPECT_EQ(headers[kDeadLetterSourcePartitionHeader], "0");
  EXPECT_EQ(headers[kDeadLetterSourceOffsetHeader], "0");
  EXPECT_EQ(headers[kDeadLetterGroupHeader], kGroup);
}

TEST_F(ConsumerLoopTest, FailedDeadLetterWriteIsRetriedNotSkipped) {
  ProduceValues({"corrupt"});
  dead_letters_.FailNext(absl::UnavailableError("dead-letter topic unavailable"));
  std::atomic<int> calls{0};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ConsumerLoop> loop,
                       CreateConsumerLoop(
                           Config(),
                           [&](const ConsumedRecord&) {
                             calls.fetch_add(1);
                             return absl::DataLossError("checksum mismatch");
                           },
                           &dead_letters_));
  {
    LoopRunner runner(loop.get());
    ASSERT_TRUE(
        WaitUntil([&] { return loop->stats().dead_lettered.load() == 1; }, absl::Seconds(15)));
    loop->Stop();
    EXPECT_THAT(runner.Result(absl::Seconds(10)), Optional(IsOk()));
  }
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(loop->stats().retried.load(), 1u);
  ASSERT_EQ(dead_letters_.records().size(), 1u);
  EXPECT_EQ(CommittedOffset(), 1);
}

TEST_F(ConsumerLoopTest, StopFromAnotherThreadEndsRunAndIsIdempotent) {
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ConsumerLoop> loop,
      CreateConsumerLoop(
          Config(), [](const ConsumedRecord&) { return absl::OkStatus(); }, &dead_letters_));
  LoopRunner runner(loop.get());
  ASSERT_TRUE(WaitUntil([&] { return loop->Ready(); }, absl::Seconds(15)));
  std::thread stopper([&] { loop->Stop(); });
  loop->Stop();
  stopper.join();
  EXPECT_THAT(runner.Result(absl::Seconds(10)), Optional(IsOk()));
  loop->Stop();
  EXPECT_FALSE(loop->Ready());
}

TEST_F(ConsumerLoopTest, StopInterruptsRetryBackoff) {
  ProduceValues({"fails"});
  ConsumerConfig config = Config();
  config.retry_backoff_min = absl::Seconds(30);
  config.retry_backoff_max = absl::Seconds(30);
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ConsumerLoop> loop,
      CreateConsumerLoop(
          config, [](const ConsumedRecord&) { return absl::UnavailableError("x"); },
          &dead_letters_));
  LoopRunner runner(loop.get());
  ASSERT_TRUE(WaitUntil([&] { return loop->stats().retried.load() == 1; }, absl::Seconds(15)));
  const absl::Time stop_at = absl::Now();
  loop->Stop();
  EXPECT_THAT(runner.Result(absl::Seconds(10)), Optional(IsOk()));
  EXPECT_LT(absl::Now() - stop_at, absl::Seconds(10));
}

TEST_F(ConsumerLoopTest, FatalConsumerErrorIsReturnedFromRun) {
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ConsumerLoop> loop,
      CreateConsumerLoop(
          Config(), [](const ConsumedRecord&) { return absl::OkStatus(); }, &dead_letters_));
  LoopRunner runner(loop.get());
  ASSERT_TRUE(WaitUntil([&] { return loop->Ready(); }, absl::Seconds(15)));
  ASSERT_THAT(internal::TriggerFatalErrorForTesting(*loop), IsOk());
  EXPECT_THAT(runner.Result(absl::Seconds(10)),
              Optional(StatusIs(absl::StatusCode::kInternal, HasSubstr("FENCED_INSTANCE_ID"))));
}

TEST_F(ConsumerLoopTest, RunTwiceIsRefused) {
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ConsumerLoop> loop,
      CreateConsumerLoop(
          Config(), [](const ConsumedRecord&) { return absl::OkStatus(); }, &dead_letters_));
  loop->Stop();
  EXPECT_THAT(loop->Run(), IsOk());
  EXPECT_THAT(loop->Run(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(CreateConsumerLoopTest, RejectsIncompleteConfig) {
  FakeProducer dead_letters;
  ConsumerConfig config;
  config.bootstrap_servers = "127.0.0.1:1";
  config.group_id = "g";
  config.topics = {"t"};
  const RecordHandler handler = [](const ConsumedRecord&) { return absl::OkStatus(); };
  EXPECT_THAT(CreateConsumerLoop(config, handler, &dead_letters),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dead_letter_topic")));
  config.dead_letter_topic = "t";
  EXPECT_THAT(CreateConsumerLoop(config, handler, &dead_letters),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dead_letter_topic")));
  config.dead_letter_topic = "t.dlq";
  EXPECT_THAT(CreateConsumerLoop(config, handler, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dead_letter_producer")));
  config.retry_backoff_max = absl::Milliseconds(1);
  EXPECT_THAT(CreateConsumerLoop(config, handler, &dead_letters),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("retry_backoff")));
}

}  // namespace
}  // namespace hub::kafka
