// KeyStore against a real Kafka broker and Redis: a key is created once and found again,
// racing creators converge on one generation, the index is rebuilt from the topic after
// Redis lost it, erasure survives a rebuild, and compaction removes an erased key's record
// from the topic within a measured bound.
#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/clock/clock.h"
#include "services/common/events/topics.h"
#include "services/common/kafka/kafka.h"
#include "services/common/redis/redis_client.h"
#include "services/common/seal/crypto.h"
#include "services/common/seal/internal/key_topic.h"
#include "services/common/seal/key_store.h"
#include "services/common/seal/master_key.h"
#include "services/common/status/status_matchers.h"
#include "tests/support/test_env.h"

namespace hub::seal {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// A clock that is not the system clock's static singleton, owned by the store.
class RealClock final : public clock::Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  bool IsControlled() const override { return false; }
};

std::string KeyId(int n) { return absl::StrCat("vk_", absl::StrFormat("%032x", n)); }

class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(bootstrap_, hub::testing::KafkaBootstrapFromEnv());
    ASSERT_OK_AND_ASSIGN(hub::testing::HostPort address, hub::testing::RedisFromEnv());
    redis::RedisConfig redis_config;
    redis_config.host = address.host;
    redis_config.port = address.port;
    ASSERT_OK_AND_ASSIGN(redis_, redis::CreateRedisClient(redis_config));
    ns_ = hub::testing::UniqueName("seal");
    ASSERT_OK_AND_ASSIGN(master_, MasterKey::FromBytes(std::string(32, 'M')));
  }

  void TearDown() override {
    // The producer first: its delivery callbacks may refer to a store.
    producer_.reset();
    stores_.clear();
  }

  // Creates the key topic as events::TopicSpecs does, with `overrides` replacing configs.
  void CreateTopic(const std::vector<std::pair<std::string, std::string>>& overrides = {}) {
    topic_ = events::Topics(ns_).data_keys;
    kafka::TopicSpec spec;
    for (const kafka::TopicSpec& candidate : events::TopicSpecs(ns_)) {
      if (candidate.name == topic_) {
        spec = candidate;
      }
    }
    ASSERT_EQ(spec.name, topic_);
    ASSERT_EQ(spec.cleanup_policy, "compact");
    for (const auto& [name, value] : overrides) {
      bool replaced = false;
      for (auto& config : spec.configs) {
        if (config.first == name) {
          config.second = value;
          replaced = true;
        }
      }
      if (!replaced) {
        spec.configs.emplace_back(name, value);
      }
    }
    ASSERT_THAT(kafka::EnsureTopics(bootstrap_, {spec}), IsOk());
    kafka::ProducerConfig config;
    config.bootstrap_servers = bootstrap_;
    config.client_id = "seal-test";
    config.topics = {topic_};
    ASSERT_OK_AND_ASSIGN(producer_, kafka::CreateProducer(config));
  }

  KeyStore& NewStore() {
    KeyStore::Options options;
    options.ns = ns_;
    options.topic = topic_;
    options.bootstrap_servers = bootstrap_;
    stores_.push_back(std::make_unique<KeyStore>(*master_, producer_.get(), redis_.get(),
                                                 std::make_shared<RealClock>(), options));
    return *stores_.back();
  }

  // Deletes every Redis key of this test's namespace, as if Redis had lost its data.
  void ForgetRedis() {
    ASSERT_OK_AND_ASSIGN(redis::Reply keys, redis_->Command({"KEYS", absl::StrCat(ns_, ":*")}));
    for (const redis::Reply& key : keys.elements) {
      ASSERT_THAT(redis_->Command({"DEL", key.str}).status(), IsOk());
    }
  }

  // The record keys of `key_id` that still carry a value anywhere on the topic (what
  // compaction has not removed yet).
  std::vector<std::string> ValuedRecords(const std::string& key_id) {
    std::vector<std::string> found;
    absl::Status status =
        internal::ReadTopic(bootstrap_, topic_, absl::Seconds(20),
                            [&](const std::string& key, const std::optional<std::string>& value) {
                              if (absl::StartsWith(key, key_id) && value.has_value()) {
                                found.push_back(key);
                              }
                            });
    EXPECT_THAT(status, IsOk());
    return found;
  }

  // The record keys of `key_id` whose latest record carries a value (not a tombstone).
  std::set<std::string> LiveRecords(const std::string& key_id) {
    std::set<std::string> live;
    absl::Status status =
        internal::ReadTopic(bootstrap_, topic_, absl::Seconds(20),
                            [&](const std::string& key, const std::optional<std::string>& value) {
                              if (!absl::StartsWith(key, key_id)) {
                                return;
                              }
                              if (value.has_value()) {
                                live.insert(key);
                              } else {
                                live.erase(key);
                              }
                            });
    EXPECT_THAT(status, IsOk());
    return live;
  }

  std::string bootstrap_;
  std::string ns_;
  std::string topic_;
  std::optional<MasterKey> master_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<kafka::Producer> producer_;
  std::vector<std::unique_ptr<KeyStore>> stores_;
};

TEST_F(KeyStoreTest, CreatesOnceThenFindsTheSameKey) {
  CreateTopic();
  KeyStore& store = NewStore();
  ASSERT_OK_AND_ASSIGN(DataKey first, store.GetOrCreate(KeyId(1)));
  ASSERT_OK_AND_ASSIGN(DataKey second, store.GetOrCreate(KeyId(1)));
  EXPECT_EQ(first.key_id, KeyId(1));
  EXPECT_EQ(first.generation, second.generation);
  EXPECT_EQ(first.bytes, second.bytes);
  ASSERT_OK_AND_ASSIGN(DataKey got, store.Get(KeyId(1), first.generation));
  EXPECT_EQ(got.bytes, first.bytes);
  EXPECT_THAT(store.Get(KeyId(1), "0000000000000000"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store.Get(KeyId(2), first.generation), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store.GetOrCreate("vk_{injected}"), StatusIs(absl::StatusCode::kInvalidArgument));

  // The record is on the topic, wrapped: it names the key but does not hold its bytes.
  EXPECT_THAT(LiveRecords(KeyId(1)), ElementsAre(absl::StrCat(KeyId(1), "/", first.generation)));
}

TEST_F(KeyStoreTest, RacingCreatorsConvergeOnOneGeneration) {
  CreateTopic();
  constexpr int kThreads = 8;
  // One store per thread, as if each were its own intake process.
  std::vector<KeyStore*> stores;
  stores.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    stores.push_back(&NewStore());
  }
  std::vector<absl::StatusOr<DataKey>> results(kThreads, absl::UnknownError("not run"));
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) {
      }
      results[i] = stores[i]->GetOrCreate(KeyId(7));
    });
  }
  go.store(true);
  for (std::thread& thread : threads) {
    thread.join();
  }
  std::set<std::string> generations;
  std::set<std::string> bytes;
  for (const absl::StatusOr<DataKey>& result : results) {
    ASSERT_THAT(result.status(), IsOk());
    generations.insert(result->generation);
    bytes.insert(result->bytes);
  }
  EXPECT_THAT(generations, SizeIs(1));
  EXPECT_THAT(bytes, SizeIs(1));
  ASSERT_OK_AND_ASSIGN(DataKey after, stores[0]->GetOrCreate(KeyId(7)));
  EXPECT_EQ(after.generation, *generations.begin());

  // Every generation written (the losers' too) is indexed, so Erase tombstones them all.
  const std::set<std::string> written = LiveRecords(KeyId(7));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> erased, stores[0]->Erase(KeyId(7)));
  EXPECT_THAT(erased, ::testing::Contains(*generations.begin()));
  EXPECT_THAT(erased, SizeIs(written.size()));
  std::printf("racing creators: %zu generation(s) written for one key\n", erased.size());
  EXPECT_THAT(LiveRecords(KeyId(7)), IsEmpty());
}

TEST_F(KeyStoreTest, RebuildsTheIndexFromTheTopicAfterRedisIsLost) {
  CreateTopic();
  KeyStore& store = NewStore();
  std::vector<DataKey> keys;
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK_AND_ASSIGN(DataKey key, store.GetOrCreate(KeyId(100 + i)));
    keys.push_back(key);
  }
  ASSERT_OK_AND_ASSIGN(hub::seal::v1::SealedData sealed,
                       Seal(keys[2], "sealed before the loss", "c_000000000000000000000001"));
  ASSERT_THAT(store.MarkIndexed(), IsOk());
  ASSERT_OK_AND_ASSIGN(bool indexed, store.IsIndexed());
  EXPECT_TRUE(indexed);

  ForgetRedis();
  ASSERT_OK_AND_ASSIGN(indexed, store.IsIndexed());
  EXPECT_FALSE(indexed);
  EXPECT_THAT(store.Get(keys[2].key_id, keys[2].generation), StatusIs(absl::StatusCode::kNotFound));

  const absl::Time start = absl::Now();
  ASSERT_THAT(store.RebuildIndex(absl::Seconds(30)), IsOk());
  std::printf("RebuildIndex of %zu keys took %s\n", keys.size(),
              absl::FormatDuration(absl::Now() - start).c_str());
  ASSERT_THAT(store.MarkIndexed(), IsOk());

  for (const DataKey& key : keys) {
    ASSERT_OK_AND_ASSIGN(DataKey got, store.Get(key.key_id, key.generation));
    EXPECT_EQ(got.bytes, key.bytes);
    ASSERT_OK_AND_ASSIGN(DataKey current, store.GetOrCreate(key.key_id));
    EXPECT_EQ(current.generation, key.generation);
  }
  ASSERT_OK_AND_ASSIGN(DataKey opener, store.Get(keys[2].key_id, keys[2].generation));
  ASSERT_OK_AND_ASSIGN(std::string opened, Open(opener, sealed, "c_000000000000000000000001"));
  EXPECT_EQ(opened, "sealed before the loss");

  // Rebuilding again is harmless.
  ASSERT_THAT(store.RebuildIndex(absl::Seconds(30)), IsOk());
  ASSERT_OK_AND_ASSIGN(DataKey again, store.GetOrCreate(keys[0].key_id));
  EXPECT_EQ(again.generation, keys[0].generation);
}

TEST_F(KeyStoreTest, ErasureSurvivesARebuild) {
  CreateTopic();
  KeyStore& store = NewStore();
  ASSERT_OK_AND_ASSIGN(DataKey doomed, store.GetOrCreate(KeyId(200)));
  ASSERT_OK_AND_ASSIGN(DataKey kept, store.GetOrCreate(KeyId(201)));

  ASSERT_OK_AND_ASSIGN(std::vector<std::string> erased, store.Erase(KeyId(200)));
  EXPECT_THAT(erased, ElementsAre(doomed.generation));
  EXPECT_THAT(store.Get(KeyId(200), doomed.generation), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> again, store.Erase(KeyId(200)));
  EXPECT_THAT(again, IsEmpty());

  ForgetRedis();
  ASSERT_THAT(store.RebuildIndex(absl::Seconds(30)), IsOk());
  EXPECT_THAT(store.Get(KeyId(200), doomed.generation), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(DataKey still, store.Get(KeyId(201), kept.generation));
  EXPECT_EQ(still.bytes, kept.bytes);

  // The same victim reported again gets a new generation; the old one stays gone.
  ASSERT_OK_AND_ASSIGN(DataKey reborn, store.GetOrCreate(KeyId(200)));
  EXPECT_NE(reborn.generation, doomed.generation);
  EXPECT_NE(reborn.bytes, doomed.bytes);
  ForgetRedis();
  ASSERT_THAT(store.RebuildIndex(absl::Seconds(30)), IsOk());
  ASSERT_OK_AND_ASSIGN(DataKey current, store.GetOrCreate(KeyId(200)));
  EXPECT_EQ(current.generation, reborn.generation);
  EXPECT_THAT(store.Get(KeyId(200), doomed.generation), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(KeyStoreTest, RebuildOfAMissingTopicIsNotFound) {
  topic_ = absl::StrCat(ns_, ".no-such-topic");
  kafka::ProducerConfig config;
  config.bootstrap_servers = bootstrap_;
  ASSERT_OK_AND_ASSIGN(producer_, kafka::CreateProducer(config));
  KeyStore& store = NewStore();
  EXPECT_THAT(store.RebuildIndex(absl::Seconds(10)), StatusIs(absl::StatusCode::kNotFound));
}

// The erasure bound: after Erase, the wrapped key's record leaves the topic once its
// segment rolls (AppendRollMarker after segment.ms) and the log cleaner runs.
TEST_F(KeyStoreTest, CompactionRemovesAnErasedKeyFromTheTopic) {
  constexpr absl::Duration kSegment = absl::Milliseconds(1000);
  CreateTopic({{"segment.ms", "1000"},
               {"max.compaction.lag.ms", "1000"},
               {"min.cleanable.dirty.ratio", "0.01"},
               {"delete.retention.ms", "1000"}});
  KeyStore& store = NewStore();
  ASSERT_OK_AND_ASSIGN(DataKey key, store.GetOrCreate(KeyId(300)));
  ASSERT_OK_AND_ASSIGN(hub::seal::v1::SealedData sealed,
                       Seal(key, "to be forgotten", "c_000000000000000000000003"));
  EXPECT_THAT(ValuedRecords(KeyId(300)), SizeIs(1));

  ASSERT_OK_AND_ASSIGN(std::vector<std::string> erased, store.Erase(KeyId(300)));
  ASSERT_THAT(erased, ElementsAre(key.generation));
  const absl::Time erased_at = absl::Now();

  // What the owner's timer does every segment.ms / 2.
  absl::SleepFor(kSegment + absl::Milliseconds(100));
  ASSERT_THAT(store.AppendRollMarker(), IsOk());

  const absl::Time deadline = erased_at + absl::Seconds(90);
  std::vector<std::string> remaining = ValuedRecords(KeyId(300));
  while (!remaining.empty() && absl::Now() < deadline) {
    absl::SleepFor(kSegment / 2);
    ASSERT_THAT(store.AppendRollMarker(), IsOk());
    remaining = ValuedRecords(KeyId(300));
  }
  const absl::Duration took = absl::Now() - erased_at;
  std::printf("erased key compacted off the topic %s after Erase\n",
              absl::FormatDuration(took).c_str());
  EXPECT_THAT(remaining, IsEmpty()) << "still on the topic after " << took;
}

}  // namespace
}  // namespace hub::seal
