// ReferralStore without a server: key layout, page tokens, input checks (a bad call never
// reaches Redis) and the answer for a missing referral (the same PERMISSION_DENIED a
// provider gets for another provider's). Behaviour against a real Redis is in
// tests/integration/referrals.
#include "services/routing/referrals/referral_store.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

#include "services/common/redis/recording_redis.h"
#include "services/common/status/status_matchers.h"

namespace hub::routing::referrals {
namespace {

using ::hub::routing::v1::ReferralRecord;
using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::HasSubstr;

// Answers HMGET with "no such field" and nothing else: a referral that does not exist.
redis::testing::RecordingRedis EmptyRedis() {
  redis::testing::RecordingRedis redis;
  redis.on_command = [](const std::vector<std::string>& args) -> absl::StatusOr<redis::Reply> {
    redis::Reply reply;
    if (!args.empty() && args[0] == "HMGET") {
      reply.type = redis::Reply::Type::kArray;
      reply.elements.resize(args.size() - 2);
    }
    return reply;
  };
  return redis;
}

hub::routing::v1::Transition Accept() {
  hub::routing::v1::Transition t;
  t.set_to(hub::routing::v1::REFERRAL_STATUS_ACCEPTED);
  return t;
}

ReferralRecord ValidRecord() {
  ReferralRecord record;
  record.set_referral_id("ref-1");
  record.set_case_id("c_0123456789abcdef01234567");
  record.set_provider_key("idva-cambs");
  *record.mutable_created_at() =
      google::protobuf::util::TimeUtil::MillisecondsToTimestamp(1'760'000'000'000);
  return record;
}

TEST(ReferralStoreTest, KeyLayout) {
  redis::testing::RecordingRedis redis = EmptyRedis();
  ReferralStore store(&redis, "hub");
  EXPECT_EQ(store.RecordKey("ref-1"), "hub:referral:{ref-1}");
  EXPECT_EQ(store.ProviderIndexKey("idva-cambs"), "hub:referrals:{idva-cambs}");
}

TEST(ReferralStoreTest, PageTokensRoundTripAndRefuseGarbage) {
  EXPECT_EQ(DecodePageToken(EncodePageToken("ref-1:a.b")).value_or(""), "ref-1:a.b");
  EXPECT_THAT(DecodePageToken("ref-1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  EXPECT_THAT(DecodePageToken("!!!"), StatusIs(absl::StatusCode::kInvalidArgument));
  // A well-formed token naming a key-unsafe id is refused too.
  EXPECT_THAT(DecodePageToken(EncodePageToken("a}b")),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ReferralStoreTest, CreateRefusesIncompleteRecordsBeforeReachingRedis) {
  redis::testing::RecordingRedis redis = EmptyRedis();
  ReferralStore store(&redis, "hub");
  struct Case {
    const char* field;
    void (*spoil)(ReferralRecord*);
  };
  const Case cases[] = {
      {"referral_id", [](ReferralRecord* r) { r->clear_referral_id(); }},
      {"referral_id", [](ReferralRecord* r) { r->set_referral_id("x{y}"); }},
      {"provider_key", [](ReferralRecord* r) { r->clear_provider_key(); }},
      {"provider_key", [](ReferralRecord* r) { r->set_provider_key(std::string(129, 'p')); }},
      {"case_id", [](ReferralRecord* r) { r->clear_case_id(); }},
      {"created_at", [](ReferralRecord* r) { r->clear_created_at(); }},
      {"status",
       [](ReferralRecord* r) { r->set_status(hub::routing::v1::REFERRAL_STATUS_ACCEPTED); }},
      {"history", [](ReferralRecord* r) { r->add_history(); }},
      {"offer_sequence", [](ReferralRecord* r) { r->set_offer_sequence(-1); }},
  };
  for (const Case& c : cases) {
    ReferralRecord record = ValidRecord();
    c.spoil(&record);
    EXPECT_THAT(store.Create(record),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.field)))
        << c.field;
  }
  EXPECT_EQ(redis.calls, 0);
}

TEST(ReferralStoreTest, ListRefusesBadInputBeforeReachingRedis) {
  redis::testing::RecordingRedis redis = EmptyRedis();
  ReferralStore store(&redis, "hub");
  EXPECT_THAT(store.ListForProvider("idva", {}, -1, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
  EXPECT_THAT(store.ListForProvider("idva", {}, ReferralStore::kMaxPageSize + 1, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
  EXPECT_THAT(store.ListForProvider("idva", {}, 10, "not a token"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  EXPECT_THAT(store.ListForProvider("", {}, 10, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("provider_key")));
  EXPECT_EQ(redis.calls, 0);
}

TEST(ReferralStoreTest, TransitionRefusesBadInputBeforeReachingRedis) {
  redis::testing::RecordingRedis redis = EmptyRedis();
  ReferralStore store(&redis, "hub");
  const absl::Time at = absl::FromUnixSeconds(1'760'000'000);
  EXPECT_THAT(store.Transition("ref-1", "idva", Accept(), at, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("by")));
  EXPECT_THAT(store.Transition("ref 1", "idva", Accept(), at, "provider:idva"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("referral_id")));
  EXPECT_THAT(store.Transition("ref-1", "id}va", Accept(), at, "provider:idva"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("provider_key")));
  EXPECT_EQ(redis.calls, 0);
}

TEST(ReferralStoreTest, AMissingReferralIsPermissionDeniedForAProviderAndNotFoundForStaff) {
  redis::testing::RecordingRedis redis = EmptyRedis();
  ReferralStore store(&redis, "hub");
  const absl::Time at = absl::FromUnixSeconds(1'760'000'000);
  EXPECT_THAT(store.Transition("ref-1", "idva", Accept(), at, "provider:idva"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "referral ref-1 is not one of this provider's referrals"));
  EXPECT_THAT(store.TransitionAsSystem("ref-1", Accept(), at, "system:routing"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store.Update("ref-1", [](ReferralRecord*) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store.GetForProvider("ref-1", "idva"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "referral ref-1 is not one of this provider's referrals"));
  EXPECT_THAT(store.Get("ref-1"), IsOk());
}

}  // namespace
}  // namespace hub::routing::referrals
