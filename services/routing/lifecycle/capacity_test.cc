// CapacityStore without a server: key layout, waiting-list scores and input checks (a bad
// call never reaches Redis). Behaviour against a real Redis is in
// tests/integration/capacity.
#include "services/routing/lifecycle/capacity.h"

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/redis/recording_redis.h"
#include "services/common/status/status_matchers.h"

namespace hub::routing::lifecycle {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::HasSubstr;

TEST(CapacityStoreTest, KeysOfOneProviderShareAHashTag) {
  redis::testing::RecordingRedis redis;
  CapacityStore store(&redis, "hub");
  EXPECT_EQ(store.ActiveKey("idva-cambs"), "hub:capacity:{idva-cambs}:active");
  EXPECT_EQ(store.WaitingKey("idva-cambs"), "hub:capacity:{idva-cambs}:waiting");
}

TEST(CapacityStoreTest, WaitingScoresOrderByPriorityThenAge) {
  const absl::Time t0 = absl::FromUnixMillis(1'760'000'000'000);
  auto score = [](int priority, absl::Time at) {
    absl::StatusOr<std::string> text = WaitingScore(priority, at);
    EXPECT_THAT(text, IsOk());
    int64_t value = 0;
    EXPECT_TRUE(absl::SimpleAtoi(text.value_or("x"), &value));
    return value;
  };
  // Higher priority first, however much younger.
  EXPECT_LT(score(5, t0 + absl::Hours(24 * 365)), score(4, t0));
  // Same priority: older first, to the millisecond.
  EXPECT_LT(score(5, t0), score(5, t0 + absl::Milliseconds(1)));
  // The extremes stay exact in a double (Redis scores are doubles).
  EXPECT_LT(score(0, absl::FromUnixMillis(9'999'999'999'999)), int64_t{1} << 53);
  EXPECT_EQ(score(kMaxPriority, absl::UnixEpoch()), 0);
}

TEST(CapacityStoreTest, WaitingScoreRefusesOutOfRange) {
  EXPECT_THAT(WaitingScore(-1, absl::UnixEpoch()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("priority")));
  EXPECT_THAT(WaitingScore(kMaxPriority + 1, absl::UnixEpoch()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("priority")));
  EXPECT_THAT(WaitingScore(1, absl::UnixEpoch() - absl::Seconds(1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("enqueued_at")));
  EXPECT_THAT(WaitingScore(1, absl::FromUnixMillis(10'000'000'000'000)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("enqueued_at")));
}

TEST(CapacityStoreTest, IdsCannotCarryKeySyntax) {
  EXPECT_THAT(ValidateCapacityId("provider_id", "isva-cambs_2.0:x"), IsOk());
  for (const char* bad : {"", "a}b", "a{b", "a b", "a*", "ä"}) {
    EXPECT_THAT(ValidateCapacityId("provider_id", bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("provider_id")))
        << bad;
  }
  EXPECT_THAT(ValidateCapacityId("referral_id", std::string(129, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("referral_id")));
}

TEST(CapacityStoreTest, BadCallsNeverReachRedis) {
  redis::testing::RecordingRedis redis;
  CapacityStore store(&redis, "hub");
  EXPECT_THAT(store.Reserve("p}", "r1", 3),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("provider_id")));
  EXPECT_THAT(store.Reserve("p", "r{1", 3),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("referral_id")));
  EXPECT_THAT(store.Reserve("p", "r1", -1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_active")));
  EXPECT_THAT(store.Release("p", "r1", -1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_active")));
  EXPECT_THAT(store.Enqueue("p", "r1", 101, absl::UnixEpoch()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("priority")));
  EXPECT_THAT(store.Admit("p", "", 3, 1, absl::UnixEpoch()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("referral_id")));
  EXPECT_THAT(store.Fill("", 3),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("provider_id")));
  EXPECT_THAT(store.Position("p", "a b"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("referral_id")));
  EXPECT_THAT(store.Dequeue("p*", "r1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("provider_id")));
  EXPECT_EQ(redis.calls, 0);
  // A good call does reach it, and its failure comes back as it is (callers retry).
  EXPECT_THAT(store.Active("p"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(redis.calls, 1);
}

}  // namespace
}  // namespace hub::routing::lifecycle
