// OfferLog without a server: key layout (one hash tag per provider, so every script stays in
// one Redis Cluster slot) and input checks (a bad call never reaches Redis). Behaviour
// against a real Redis is in tests/integration/referrals.
#include "services/routing/referrals/offer_log.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/redis/recording_redis.h"
#include "services/common/status/status_matchers.h"

namespace hub::routing::referrals {
namespace {

using ::hub::testing::StatusIs;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// The text between the first '{' and the next '}' (Redis Cluster's hash tag), or "".
std::string HashTag(const std::string& key) {
  const size_t open = key.find('{');
  const size_t close = key.find('}', open == std::string::npos ? 0 : open);
  if (open == std::string::npos || close == std::string::npos || close == open + 1) {
    return "";
  }
  return key.substr(open + 1, close - open - 1);
}

TEST(OfferLogTest, KeysOfOneProviderShareAHashTag) {
  redis::testing::RecordingRedis redis;
  OfferLog log(&redis, "hub");
  EXPECT_EQ(log.LastKey("idva-cambs"), "hub:offers:{idva-cambs}:last");
  EXPECT_EQ(log.IdsKey("idva-cambs"), "hub:offers:{idva-cambs}:ids");
  EXPECT_EQ(log.LogKey("idva-cambs"), "hub:offers:{idva-cambs}:log");
  EXPECT_EQ(log.LogIdsKey("idva-cambs"), "hub:offers:{idva-cambs}:log_ids");
  EXPECT_EQ(log.AckedKey("idva-cambs"), "hub:offers:{idva-cambs}:acked");
  EXPECT_EQ(log.TrimmedKey("idva-cambs"), "hub:offers:{idva-cambs}:trimmed");
}

TEST(OfferLogTest, EveryScriptTouchesOneSlot) {
  redis::testing::RecordingRedis redis;
  OfferLog log(&redis, "hub");
  EXPECT_THAT(log.Append("isva", "offer-1", "payload"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(log.After("isva", 0, 10), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(log.Pending("isva", 10), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(log.Acknowledge("isva", 3), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(redis.script_keys, SizeIs(4));
  for (const std::vector<std::string>& keys : redis.script_keys) {
    std::vector<std::string> tags;
    tags.reserve(keys.size());
    for (const std::string& key : keys) {
      tags.push_back(HashTag(key));
    }
    EXPECT_THAT(tags, Each(std::string("isva")));
  }
}

TEST(OfferLogTest, RefusesBadInputBeforeReachingRedis) {
  redis::testing::RecordingRedis redis;
  OfferLog log(&redis, "hub");
  EXPECT_THAT(log.Append("", "offer-1", "p"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("provider_key")));
  EXPECT_THAT(log.Append("a}b", "offer-1", "p"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("provider_key")));
  EXPECT_THAT(log.Append("isva", "offer 1", "p"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("offer_id")));
  EXPECT_THAT(log.Append("isva", std::string(129, 'x'), "p"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("offer_id")));
  EXPECT_THAT(log.After("isva", -1, 10),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("after_sequence")));
  EXPECT_THAT(log.After("isva", 0, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit")));
  EXPECT_THAT(log.Pending("isva", OfferLog::kMaxLimit + 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit")));
  EXPECT_THAT(log.Acknowledge("isva", -5),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sequence")));
  EXPECT_THAT(log.Acknowledged("{isva}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("provider_key")));
  EXPECT_EQ(redis.calls, 0);
}

}  // namespace
}  // namespace hub::routing::referrals
