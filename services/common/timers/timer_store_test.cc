// TimerStore and TimerRunner without a server: shard choice, key layout, input checks (a bad
// call never reaches Redis) and the runner's configuration and backoff. Behaviour against a
// real Redis is in tests/integration/timers.
#include "services/common/timers/timer_store.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/redis/recording_redis.h"
#include "services/common/status/status_matchers.h"

namespace hub::timers {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::IsOkAndHolds;
using ::hub::testing::StatusIs;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixMillis(1'760'000'000'000);

std::unique_ptr<TimerStore> MakeStore(redis::RedisClient* redis, int shards = 16) {
  absl::StatusOr<std::unique_ptr<TimerStore>> store = TimerStore::Create(redis, "hub", shards);
  EXPECT_THAT(store, IsOk());
  return store.ok() ? *std::move(store) : nullptr;
}

// The text between the first '{' and the next '}'.
std::string HashTag(const std::string& key) {
  const size_t open = key.find('{');
  const size_t close = key.find('}', open);
  return key.substr(open + 1, close - open - 1);
}

TEST(ShardOfTest, IsFnv1aOfTheIdModuloTheShardCount) {
  // Pinned values: the shard of a stored timer must never change between builds.
  EXPECT_EQ(ShardOf("a", 16), 12);
  EXPECT_EQ(ShardOf("a", 7), 5);
  EXPECT_EQ(ShardOf("offer:ref-1", 16), 4);
  EXPECT_EQ(ShardOf("code-deadline:ref-1", 16), 2);
  EXPECT_EQ(ShardOf("code-deadline:ref-1", 7), 0);
  EXPECT_EQ(ShardOf("anything", 1), 0);
}

TEST(ShardOfTest, SpreadsIdsOverEveryShard) {
  constexpr int kShards = 16;
  constexpr int kIds = 16000;
  std::map<int, int> per_shard;
  for (int i = 0; i < kIds; ++i) {
    const int shard = ShardOf("offer:ref-" + std::to_string(i), kShards);
    ASSERT_GE(shard, 0);
    ASSERT_LT(shard, kShards);
    ++per_shard[shard];
  }
  ASSERT_EQ(per_shard.size(), size_t{kShards});
  for (const auto& [shard, count] : per_shard) {
    // 1000 expected per shard; a fair hash stays well within +-25%.
    EXPECT_GT(count, 750) << "shard " << shard;
    EXPECT_LT(count, 1250) << "shard " << shard;
  }
}

TEST(TimerStoreTest, KeysOfOneShardShareAHashTag) {
  redis::testing::RecordingRedis redis;
  std::unique_ptr<TimerStore> store = MakeStore(&redis);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->DueKey(3), "hub:{timers:3}:due");
  EXPECT_EQ(store->InflightKey(3), "hub:{timers:3}:inflight");
  EXPECT_EQ(store->TimerKey("offer:ref-1"), "hub:{timers:4}:timer:offer:ref-1");
}

TEST(TimerStoreTest, EveryScriptTouchesOneSlot) {
  redis::testing::RecordingRedis redis;
  std::unique_ptr<TimerStore> store = MakeStore(&redis);
  ASSERT_NE(store, nullptr);
  const std::string id = "code-deadline:ref-1";
  EXPECT_THAT(store->Schedule(id, "code-deadline", kT0, "p"),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store->Cancel(id), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store->Claim(id, "routing-0", kT0, absl::Seconds(30)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store->Complete(id, 1), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store->Retry(id, 1, kT0), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_EQ(redis.script_keys.size(), 5u);
  for (const std::vector<std::string>& keys : redis.script_keys) {
    ASSERT_EQ(keys.size(), 3u);
    for (const std::string& key : keys) {
      EXPECT_EQ(HashTag(key), "timers:2") << key;
    }
  }
}

TEST(TimerStoreTest, CreateRefusesABadNamespaceOrShardCount) {
  redis::testing::RecordingRedis redis;
  EXPECT_THAT(TimerStore::Create(&redis, "", 16),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ns")));
  EXPECT_THAT(TimerStore::Create(&redis, "hub}x", 16),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ns")));
  EXPECT_THAT(TimerStore::Create(&redis, "hub", 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("shard_count")));
  EXPECT_THAT(TimerStore::Create(&redis, "hub", kMaxShards + 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("shard_count")));
  EXPECT_THAT(TimerStore::Create(nullptr, "hub", 16),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("redis")));
  EXPECT_THAT(TimerStore::Create(&redis, "hub", kMaxShards), IsOk());
}

TEST(TimerStoreTest, BadCallsNeverReachRedis) {
  redis::testing::RecordingRedis redis;
  std::unique_ptr<TimerStore> store = MakeStore(&redis);
  ASSERT_NE(store, nullptr);
  const auto invalid = [](absl::string_view field) {
    return StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(field));
  };
  EXPECT_THAT(store->Schedule("", "offer", kT0, ""), invalid("timer_id"));
  EXPECT_THAT(store->Schedule("a}b", "offer", kT0, ""), invalid("timer_id"));
  EXPECT_THAT(store->Schedule(std::string(kMaxTimerIdLength + 1, 'a'), "offer", kT0, ""),
              invalid("timer_id"));
  EXPECT_THAT(store->Schedule("t1", "", kT0, ""), invalid("kind"));
  EXPECT_THAT(store->Schedule("t1", "of fer", kT0, ""), invalid("kind"));
  EXPECT_THAT(store->Schedule("t1", std::string(kMaxKindLength + 1, 'k'), kT0, ""),
              invalid("kind"));
  EXPECT_THAT(store->Schedule("t1", "offer", absl::UnixEpoch() - absl::Milliseconds(1), ""),
              invalid("due_at"));
  EXPECT_THAT(store->Schedule("t1", "offer", absl::InfiniteFuture(), ""), invalid("due_at"));
  EXPECT_THAT(store->Schedule("t1", "offer", kT0, std::string(kMaxPayloadBytes + 1, 'x')),
              invalid("payload"));
  EXPECT_THAT(store->Cancel("a b"), invalid("timer_id"));
  EXPECT_THAT(store->Due(absl::InfinitePast(), 10), invalid("now"));
  EXPECT_THAT(store->Due(kT0, 0), invalid("limit"));
  EXPECT_THAT(store->Due(kT0, kMaxDueLimit + 1), invalid("limit"));
  EXPECT_THAT(store->Claim("t1", "", kT0, absl::Seconds(1)), invalid("owner"));
  EXPECT_THAT(store->Claim("t1", "r0", kT0, absl::ZeroDuration()), invalid("lease"));
  EXPECT_THAT(store->Claim("t1", "r0", kT0, absl::InfiniteDuration()), invalid("lease"));
  EXPECT_THAT(store->Claim("t1", "r0", absl::InfiniteFuture(), absl::Seconds(1)), invalid("now"));
  EXPECT_THAT(store->Complete("{t1}", 1), invalid("timer_id"));
  EXPECT_THAT(store->Retry("t1", 1, absl::InfinitePast()), invalid("next_due"));
  EXPECT_THAT(store->Get(""), invalid("timer_id"));
  EXPECT_EQ(redis.calls, 0);
}

TEST(TimerStoreTest, AcceptsTheLargestValidInputs) {
  redis::testing::RecordingRedis redis;
  std::unique_ptr<TimerStore> store = MakeStore(&redis);
  ASSERT_NE(store, nullptr);
  // Valid calls reach Redis (and fail there, unreachable).
  EXPECT_THAT(store->Schedule(std::string(kMaxTimerIdLength, 'a'), std::string(kMaxKindLength, 'k'),
                              absl::UnixEpoch(), std::string(kMaxPayloadBytes, '\0')),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(redis.calls, 1);
}

TEST(TimerMillisTest, RefusesTimesRedisCannotHoldExactly) {
  EXPECT_THAT(TimerMillis("t", kT0), IsOkAndHolds(1'760'000'000'000));
  EXPECT_THAT(TimerMillis("t", absl::UnixEpoch()), IsOkAndHolds(0));
  EXPECT_THAT(TimerMillis("t", absl::FromUnixMillis(int64_t{1} << 53)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("t: out of range")));
  EXPECT_THAT(TimerMillis("t", absl::FromUnixMillis((int64_t{1} << 53) - 1)), IsOk());
}

}  // namespace
}  // namespace hub::timers
