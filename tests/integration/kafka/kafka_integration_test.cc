// hub_kafka against a real Kafka broker (HUB_TEST_KAFKA_BOOTSTRAP): topic creation,
// produce/consume, at-least-once redelivery across a restart and dead-lettering. Every
// test uses its own topics and group (UniqueName), so tests can share one broker.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <librdkafka/rdkafka.h>

#include "services/common/kafka/kafka.h"
#include "services/common/status/status_matchers.h"
#include "tests/support/test_env.h"

namespace hub::kafka {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::hub::testing::UniqueName;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;
using ::testing::Pair;
using ::testing::UnorderedElementsAreArray;

constexpr absl::Duration kWait = absl::Seconds(15);

bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) {
      return false;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

// What a handler saw, in order; safe to read while the loop runs.
class Seen {
 public:
  void Add(const ConsumedRecord& record) {
    absl::MutexLock lock(&mu_);
    records_.push_back(record);
  }
  std::vector<ConsumedRecord> records() {
    absl::MutexLock lock(&mu_);
    return records_;
  }
  std::vector<std::string> values() {
    std::vector<std::string> values;
    for (const ConsumedRecord& record : records()) {
      values.push_back(record.value);
    }
    return values;
  }

 private:
  absl::Mutex mu_;
  std::vector<ConsumedRecord> records_ ABSL_GUARDED_BY(mu_);
};

// Runs ConsumerLoop::Run() on its own thread; Finish() stops it and returns its result.
class RunningLoop {
 public:
  explicit RunningLoop(std::unique_ptr<ConsumerLoop> loop)
      : loop_(std::move(loop)), thread_([this] { result_ = loop_->Run(); }) {}
  ~RunningLoop() { Finish().IgnoreError(); }

  RunningLoop(const RunningLoop&) = delete;
  RunningLoop& operator=(const RunningLoop&) = delete;

  ConsumerLoop& loop() { return *loop_; }

  absl::Status Finish() {
    loop_->Stop();
    if (thread_.joinable()) {
      thread_.join();
    }
    return result_;
  }

 private:
  std::unique_ptr<ConsumerLoop> loop_;
  absl::Status result_;
  std::thread thread_;
};

// Topic metadata and configuration read with the C admin API, independently of the code
// under test.
class Inspector {
 public:
  explicit Inspector(const std::string& bootstrap) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), errstr, sizeof(errstr));
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  }
  ~Inspector() { rd_kafka_destroy(rk_); }

  Inspector(const Inspector&) = delete;
  Inspector& operator=(const Inspector&) = delete;

  // Partition count of `topic`, or -1 if the broker does not know it.
  int Partitions(const std::string& topic) {
    const rd_kafka_metadata_t* metadata = nullptr;
    if (rd_kafka_metadata(rk_, 1, nullptr, &metadata, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return -1;
    }
    int partitions = -1;
    for (int i = 0; i < metadata->topic_cnt; ++i) {
      if (topic == metadata->topics[i].topic) {
        partitions = metadata->topics[i].partition_cnt;
      }
    }
    rd_kafka_metadata_destroy(metadata);
    return partitions;
  }

  // The topic-level configuration `names` of `topic`.
  std::map<std::string, std::string> Configs(const std::string& topic,
                                             const std::set<std::string>& names) {
    std::map<std::string, std::string> result;
    rd_kafka_ConfigResource_t* resource =
        rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk_);
    rd_kafka_DescribeConfigs(rk_, &resource, 1, nullptr, queue);
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 10000);
    if (event != nullptr && rd_kafka_event_error(event) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      size_t resource_count = 0;
      const rd_kafka_ConfigResource_t** resources = rd_kafka_DescribeConfigs_result_resources(
          rd_kafka_event_DescribeConfigs_result(event), &resource_count);
      for (size_t r = 0; r < resource_count; ++r) {
        size_t entry_count = 0;
        const rd_kafka_ConfigEntry_t** entries =
            rd_kafka_ConfigResource_configs(resources[r], &entry_count);
        for (size_t e = 0; e < entry_count; ++e) {
          const char* value = rd_kafka_ConfigEntry_value(entries[e]);
          if (names.contains(rd_kafka_ConfigEntry_name(entries[e]))) {
            result[rd_kafka_ConfigEntry_name(entries[e])] = value != nullptr ? value : "";
          }
        }
      }
    }
    if (event != nullptr) {
      rd_kafka_event_destroy(event);
    }
    rd_kafka_queue_destroy(queue);
    rd_kafka_ConfigResource_destroy(resource);
    return result;
  }

 private:
  rd_kafka_t* rk_ = nullptr;
};

class KafkaIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Fails (never skips) without a broker: see tests/support/test_env.h.
    ASSERT_OK_AND_ASSIGN(bootstrap_, ::hub::testing::KafkaBootstrapFromEnv());
    ProducerConfig config;
    config.bootstrap_servers = bootstrap_;
    config.client_id = "kafka-integration-test";
    config.delivery_timeout = absl::Seconds(10);
    ASSERT_OK_AND_ASSIGN(producer_, CreateProducer(config));
  }

  ConsumerConfig LoopConfig(const std::string& topic, const std::string& group) const {
    ConsumerConfig config;
    config.bootstrap_servers = bootstrap_;
    config.group_id = group;
    config.client_id = "kafka-integration-test";
    config.topics = {topic};
    config.dead_letter_topic = topic + ".dead-letter";
    config.retry_backoff_min = absl::Milliseconds(20);
    config.retry_backoff_max = absl::Milliseconds(100);
    config.auto_commit_interval = absl::Milliseconds(200);
    return config;
  }

  std::unique_ptr<RunningLoop> StartLoop(const ConsumerConfig& config, RecordHandler handler) {
    absl::StatusOr<std::unique_ptr<ConsumerLoop>> loop =
        CreateConsumerLoop(config, std::move(handler), producer_.get());
    EXPECT_THAT(loop, IsOk());
    if (!loop.ok()) {
      return nullptr;
    }
    return std::make_unique<RunningLoop>(*std::move(loop));
  }

  std::string bootstrap_;
  std::unique_ptr<Producer> producer_;
};

TEST_F(KafkaIntegrationTest, EnsureTopicsCreatesTopicsAndIsIdempotent) {
  const std::string events = UniqueName("it-events");
  const std::string state = UniqueName("it-state");
  const std::vector<TopicSpec> specs = {{events, 3, "delete", 3600000}, {state, 2, "compact", -1}};
  ASSERT_THAT(EnsureTopics(bootstrap_, specs), IsOk());

  Inspector inspector(bootstrap_);
  EXPECT_EQ(inspector.Partitions(events), 3);
  EXPECT_EQ(inspector.Partitions(state), 2);
  EXPECT_THAT(inspector.Configs(events, {"cleanup.policy", "retention.ms"}),
              ElementsAre(Pair("cleanup.policy", "delete"), Pair("retention.ms", "3600000")));
  EXPECT_THAT(inspector.Configs(state, {"cleanup.policy", "retention.ms"}),
              ElementsAre(Pair("cleanup.policy", "compact"), Pair("retention.ms", "-1")));

  // Again, and with an extra topic: existing topics are left alone, the new one appears.
  const std::string extra = UniqueName("it-extra");
  std::vector<TopicSpec> more = specs;
  more.push_back({extra, 1, "delete", -1});
  EXPECT_THAT(EnsureTopics(bootstrap_, more), IsOk());
  EXPECT_EQ(inspector.Partitions(events), 3);
  EXPECT_EQ(inspector.Partitions(extra), 1);

  // An existing topic with fewer partitions than asked for is reported, not changed.
  EXPECT_THAT(EnsureTopics(bootstrap_, {{events, 6, "delete", 3600000}}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(events)));
  EXPECT_EQ(inspector.Partitions(events), 3);
}

TEST_F(KafkaIntegrationTest, ConsumerLoopReceivesEveryProducedRecord) {
  const std::string topic = UniqueName("it-produce");
  ASSERT_THAT(EnsureTopics(bootstrap_, {{topic, 3, "delete", -1}}), IsOk());

  constexpr int kRecords = 60;
  std::vector<std::string> expected;
  absl::Mutex mu;
  int delivered = 0;
  for (int i = 0; i < kRecords; ++i) {
    expected.push_back(absl::StrCat("value-", i));
    producer_->Produce(
        {topic, absl::StrCat("key-", i % 7), expected.back(), {{"hub_seq", absl::StrCat(i)}}},
        [&](const absl::Status& status) {
          EXPECT_THAT(status, IsOk());
          absl::MutexLock lock(&mu);
          ++delivered;
        });
  }
  ASSERT_THAT(producer_->Flush(kWait), IsOk());
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(delivered, kRecords);
  }

  Seen seen;
  std::unique_ptr<RunningLoop> running =
      StartLoop(LoopConfig(topic, UniqueName("it-group")), [&](const ConsumedRecord& record) {
        seen.Add(record);
        return absl::OkStatus();
      });
  ASSERT_NE(running, nullptr);
  EXPECT_TRUE(WaitUntil([&] { return running->loop().stats().handled.load() >= kRecords; }, kWait));
  EXPECT_TRUE(running->loop().Ready());
  EXPECT_THAT(running->Finish(), IsOk());

  EXPECT_THAT(seen.values(), UnorderedElementsAreArray(expected));
  for (const ConsumedRecord& record : seen.records()) {
    EXPECT_EQ(record.topic, topic);
    EXPECT_THAT(record.FindHeader("hub_seq"), Optional(record.value.substr(6)));
    EXPECT_GT(record.timestamp, absl::Now() - absl::Minutes(5));
  }
}

TEST_F(KafkaIntegrationTest, UnhandledRecordIsRedeliveredAfterRestart) {
  const std::string topic = UniqueName("it-restart");
  const std::string group = UniqueName("it-group");
  ASSERT_THAT(EnsureTopics(bootstrap_, {{topic, 1, "delete", -1}}), IsOk());
  for (const char* value : {"r0", "r1", "r2", "r3", "r4"}) {
    ASSERT_THAT(producer_->ProduceSync({topic, "case", value, {}}, kWait), IsOk());
  }

  // First member: handles r0 and r1, then r2 keeps failing (e.g. Redis down) until it stops.
  Seen first;
  {
    std::unique_ptr<RunningLoop> running =
        StartLoop(LoopConfig(topic, group), [&](const ConsumedRecord& record) {
          first.Add(record);
          return record.value == "r2" ? absl::UnavailableError("redis down") : absl::OkStatus();
        });
    ASSERT_NE(running, nullptr);
    ASSERT_TRUE(WaitUntil([&] { return running->loop().stats().retried.load() >= 2; }, kWait));
    EXPECT_EQ(running->loop().stats().handled.load(), 2u);
    EXPECT_THAT(running->Finish(), IsOk());
  }
  const std::vector<std::string> first_values = first.values();
  ASSERT_GE(first_values.size(), 4u);
  EXPECT_THAT(std::vector<std::string>(first_values.begin(), first_values.begin() + 4),
              ElementsAre("r0", "r1", "r2", "r2"));
  EXPECT_THAT(std::set<std::string>(first_values.begin() + 2, first_values.end()),
              ElementsAre("r2"));

  // Restarted member of the same group: resumes exactly at the record never handled.
  Seen second;
  std::unique_ptr<RunningLoop> running =
      StartLoop(LoopConfig(topic, group), [&](const ConsumedRecord& record) {
        second.Add(record);
        return absl::OkStatus();
      });
  ASSERT_NE(running, nullptr);
  EXPECT_TRUE(WaitUntil([&] { return running->loop().stats().handled.load() >= 3; }, kWait));
  EXPECT_THAT(running->Finish(), IsOk());
  EXPECT_THAT(second.values(), ElementsAre("r2", "r3", "r4"));
}

TEST_F(KafkaIntegrationTest, InvalidRecordLandsInDeadLetterTopicWithReason) {
  const std::string topic = UniqueName("it-input");
  const std::string group = UniqueName("it-group");
  const ConsumerConfig config = LoopConfig(topic, group);
  ASSERT_THAT(EnsureTopics(bootstrap_,
                           {{topic, 1, "delete", -1}, {config.dead_letter_topic, 1, "delete", -1}}),
              IsOk());
  ASSERT_THAT(producer_->ProduceSync({topic, "case-7", "not-json", {{"hub_trace", "tr-1"}}}, kWait),
              IsOk());
  ASSERT_THAT(producer_->ProduceSync({topic, "case-8", "{}", {}}, kWait), IsOk());

  Seen handled;
  {
    std::unique_ptr<RunningLoop> running = StartLoop(config, [&](const ConsumedRecord& record) {
      if (record.value == "not-json") {
        return absl::InvalidArgumentError("value is not a referral event");
      }
      handled.Add(record);
      return absl::OkStatus();
    });
    ASSERT_NE(running, nullptr);
    ASSERT_TRUE(WaitUntil([&] { return running->loop().stats().handled.load() >= 1; }, kWait));
    EXPECT_EQ(running->loop().stats().dead_lettered.load(), 1u);
    EXPECT_THAT(running->Finish(), IsOk());
  }
  EXPECT_THAT(handled.values(), ElementsAre("{}"));

  // Read the dead-letter topic back with a loop of its own.
  Seen dead;
  ConsumerConfig dead_config = LoopConfig(config.dead_letter_topic, UniqueName("it-dlq-reader"));
  std::unique_ptr<RunningLoop> reader = StartLoop(dead_config, [&](const ConsumedRecord& record) {
    dead.Add(record);
    return absl::OkStatus();
  });
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(WaitUntil([&] { return reader->loop().stats().handled.load() >= 1; }, kWait));
  EXPECT_THAT(reader->Finish(), IsOk());

  const std::vector<ConsumedRecord> records = dead.records();
  ASSERT_EQ(records.size(), 1u);
  const ConsumedRecord& record = records[0];
  EXPECT_EQ(record.key, "case-7");
  EXPECT_EQ(record.value, "not-json");
  EXPECT_THAT(record.FindHeader("hub_trace"), Optional(std::string("tr-1")));
  EXPECT_THAT(record.FindHeader(kDeadLetterReasonHeader),
              Optional(std::string("INVALID_ARGUMENT: value is not a referral event")));
  EXPECT_THAT(record.FindHeader(kDeadLetterSourceTopicHeader), Optional(topic));
  EXPECT_THAT(record.FindHeader(kDeadLetterSourcePartitionHeader), Optional(std::string("0")));
  EXPECT_THAT(record.FindHeader(kDeadLetterSourceOffsetHeader), Optional(std::string("0")));
  EXPECT_THAT(record.FindHeader(kDeadLetterGroupHeader), Optional(group));
}

}  // namespace
}  // namespace hub::kafka
