// CaseStore against a real Redis: steps are recorded once, fenced by stage, listed newest
// first, and concurrent redeliveries of the same event apply exactly once.
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/casestate/case_store.h"
#include "services/common/status/status_matchers.h"
#include "tests/support/test_env.h"

namespace hub::casestate {
namespace {

using ::hub::cases::v1::CaseState;
using ::hub::testing::StatusIs;
using ::testing::ElementsAre;

class CaseStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(hub::testing::HostPort address, hub::testing::RedisFromEnv());
    redis::RedisConfig config;
    config.host = address.host;
    config.port = address.port;
    ASSERT_OK_AND_ASSIGN(redis_, redis::CreateRedisClient(config));
    // A namespace per test keeps the recent-cases index our own.
    std::string unique = hub::testing::UniqueName("cs");
    ns_ = absl::StrCat("t", std::hash<std::string>{}(unique) % 1000000000);
    store_ = std::make_unique<CaseStore>(redis_.get(), ns_);
  }

  static CaseStep Step(const std::string& case_id, hub::cases::v1::Stage stage,
                       const std::string& event_id, int64_t at_ms,
                       std::vector<std::pair<std::string, std::string>> attributes = {}) {
    CaseStep step;
    step.case_id = case_id;
    step.stage = stage;
    step.service = "test";
    step.event_id = event_id;
    step.recorded_at = absl::FromUnixMillis(at_ms);
    step.detail = absl::StrCat("step ", event_id);
    step.attributes = std::move(attributes);
    return step;
  }

  std::string ns_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<CaseStore> store_;
};

constexpr char kCase[] = "c_00000000000000000000abcd";
constexpr char kOtherCase[] = "c_00000000000000000000abce";

TEST_F(CaseStoreTest, RecordsEachEventOnce) {
  ASSERT_OK_AND_ASSIGN(bool first, store_->RecordStep(Step(kCase, hub::cases::v1::STAGE_RECEIVED,
                                                           "e1", 1000, {{"force_code", "CAMBS"}})));
  EXPECT_TRUE(first);
  ASSERT_OK_AND_ASSIGN(bool again, store_->RecordStep(Step(kCase, hub::cases::v1::STAGE_RECEIVED,
                                                           "e1", 1000, {{"force_code", "X"}})));
  EXPECT_FALSE(again);
  ASSERT_OK_AND_ASSIGN(std::optional<CaseState> state, store_->Get(kCase));
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->stage(), hub::cases::v1::STAGE_RECEIVED);
  EXPECT_EQ(state->attributes().at("force_code"), "CAMBS");
  EXPECT_EQ(state->attributes().at("version"), "1");
  EXPECT_EQ(state->history_size(), 1);
}

TEST_F(CaseStoreTest, LateEarlierStageJoinsHistoryButDoesNotOverwrite) {
  ASSERT_OK_AND_ASSIGN(bool routed, store_->RecordStep(Step(
                                        kCase, hub::cases::v1::STAGE_ROUTED, "e3", 3000,
                                        {{"provider_id", "hub-victim-care"}, {"priority", "P1"}})));
  ASSERT_TRUE(routed);
  ASSERT_OK_AND_ASSIGN(bool assessed,
                       store_->RecordStep(Step(kCase, hub::cases::v1::STAGE_ASSESSED, "e2", 2000,
                                               {{"priority", "P2"}, {"referral_due", "D"}})));
  ASSERT_TRUE(assessed);
  ASSERT_OK_AND_ASSIGN(std::optional<CaseState> state, store_->Get(kCase));
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->stage(), hub::cases::v1::STAGE_ROUTED);
  EXPECT_EQ(state->attributes().at("priority"), "P1");
  // What only the earlier stage knows is filled in (it recorded after the later stage).
  EXPECT_EQ(state->attributes().at("referral_due"), "D");
  std::vector<std::string> events;
  for (const auto& entry : state->history()) {
    events.push_back(entry.event_id());
  }
  // History reads in the order the steps happened, not the order they were recorded.
  EXPECT_THAT(events, ElementsAre("e2", "e3"));
}

TEST_F(CaseStoreTest, ReassessmentReplacesAttributesWithoutMovingTheStageBack) {
  ASSERT_OK_AND_ASSIGN(bool routed, store_->RecordStep(Step(
                                        kCase, hub::cases::v1::STAGE_ROUTED, "e3", 3000,
                                        {{"provider_id", "hub-victim-care"}, {"priority", "P3"}})));
  ASSERT_TRUE(routed);
  CaseStep reassessed = Step(kCase, hub::cases::v1::STAGE_ASSESSED, "e4", 4000,
                             {{"priority", "P1"}, {"marac", "true"}});
  reassessed.overwrite_attributes = true;
  ASSERT_OK_AND_ASSIGN(bool applied, store_->RecordStep(reassessed));
  ASSERT_TRUE(applied);
  ASSERT_OK_AND_ASSIGN(std::optional<CaseState> state, store_->Get(kCase));
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->stage(), hub::cases::v1::STAGE_ROUTED);
  EXPECT_EQ(state->attributes().at("priority"), "P1");
  EXPECT_EQ(state->attributes().at("marac"), "true");
  EXPECT_EQ(state->attributes().at("provider_id"), "hub-victim-care");
}

TEST_F(CaseStoreTest, ConcurrentRedeliveriesApplyExactlyOnce) {
  std::atomic<int> applied{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        absl::StatusOr<bool> result = store_->RecordStep(
            Step(kCase, hub::cases::v1::STAGE_ASSESSED, absl::StrCat("e", i), 1000 + i));
        if (result.ok() && *result) {
          applied.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(applied.load(), 20);
  ASSERT_OK_AND_ASSIGN(std::optional<CaseState> state, store_->Get(kCase));
  EXPECT_EQ(state->history_size(), 20);
  EXPECT_EQ(state->attributes().at("version"), "20");
}

TEST_F(CaseStoreTest, ListsNewestFirstAndUnknownCasesAreAbsent) {
  ASSERT_TRUE(store_->RecordStep(Step(kCase, hub::cases::v1::STAGE_RECEIVED, "a", 1000)).ok());
  ASSERT_TRUE(store_->RecordStep(Step(kOtherCase, hub::cases::v1::STAGE_RECEIVED, "b", 2000)).ok());
  ASSERT_OK_AND_ASSIGN(std::vector<CaseState> recent, store_->ListRecent(10));
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent[0].case_id(), kOtherCase);
  EXPECT_EQ(recent[1].case_id(), kCase);
  ASSERT_OK_AND_ASSIGN(std::optional<CaseState> missing, store_->Get("c_ffffffffffffffffffffffff"));
  EXPECT_FALSE(missing.has_value());
}

TEST_F(CaseStoreTest, RefusesMalformedStepsAndIds) {
  EXPECT_THAT(store_->Get("c_1}{evil"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->RecordStep(Step(kCase, hub::cases::v1::STAGE_RECEIVED, "", 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->RecordStep(Step(kCase, hub::cases::v1::STAGE_UNSPECIFIED, "x", 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(CaseStoreTest, ScriptIsReloadedAfterRedisForgetsIt) {
  ASSERT_TRUE(store_->RecordStep(Step(kCase, hub::cases::v1::STAGE_RECEIVED, "a", 1000)).ok());
  ASSERT_TRUE(redis_->Command({"SCRIPT", "FLUSH"}).ok());
  ASSERT_OK_AND_ASSIGN(bool applied,
                       store_->RecordStep(Step(kCase, hub::cases::v1::STAGE_ASSESSED, "b", 2000)));
  EXPECT_TRUE(applied);
}

}  // namespace
}  // namespace hub::casestate
