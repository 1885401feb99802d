// TimerRunner's configuration and retry backoff, without a server. Firing against a real
// Redis is in tests/integration/timers.
#include "services/common/timers/timer_runner.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"

namespace hub::timers {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::HasSubstr;

TimerRunnerConfig ValidConfig() {
  TimerRunnerConfig config;
  config.owner = "routing-0";
  return config;
}

TEST(TimerRunnerConfigTest, DefaultsWithAnOwnerAreValid) {
  EXPECT_THAT(ValidateTimerRunnerConfig(ValidConfig()), IsOk());
}

TEST(TimerRunnerConfigTest, RefusalsNameTheSetting) {
  struct Case {
    std::string field;
    void (*mutate)(TimerRunnerConfig&);
  };
  const std::vector<Case> cases = {
      {"owner", [](TimerRunnerConfig& c) { c.owner = ""; }},
      {"owner", [](TimerRunnerConfig& c) { c.owner = "routing 0"; }},
      {"poll_interval", [](TimerRunnerConfig& c) { c.poll_interval = absl::ZeroDuration(); }},
      {"poll_interval", [](TimerRunnerConfig& c) { c.poll_interval = absl::InfiniteDuration(); }},
      {"lease", [](TimerRunnerConfig& c) { c.lease = -absl::Seconds(1); }},
      {"initial_backoff", [](TimerRunnerConfig& c) { c.initial_backoff = absl::ZeroDuration(); }},
      {"max_backoff", [](TimerRunnerConfig& c) { c.max_backoff = absl::ZeroDuration(); }},
      {"max_backoff", [](TimerRunnerConfig& c) { c.max_backoff = absl::Milliseconds(500); }},
      {"batch_size", [](TimerRunnerConfig& c) { c.batch_size = 0; }},
      {"batch_size", [](TimerRunnerConfig& c) { c.batch_size = kMaxDueLimit + 1; }},
  };
  for (const Case& test_case : cases) {
    TimerRunnerConfig config = ValidConfig();
    test_case.mutate(config);
    EXPECT_THAT(ValidateTimerRunnerConfig(config),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(test_case.field)))
        << test_case.field;
  }
}

TEST(TimerRunnerConfigTest, CreateRefusesBadConfigAndMissingParts) {
  clock::FakeClock clock(absl::FromUnixSeconds(1'760'000'000));
  auto handler = [](const Timer&) { return absl::OkStatus(); };
  TimerRunnerConfig bad = ValidConfig();
  bad.owner = "";
  EXPECT_THAT(TimerRunner::Create(nullptr, &clock, handler, bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("owner")));
  EXPECT_THAT(TimerRunner::Create(nullptr, &clock, handler, ValidConfig()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("store")));
}

TEST(RetryBackoffTest, DoublesFromTheInitialBackoffUpToTheMaximum) {
  TimerRunnerConfig config = ValidConfig();
  config.initial_backoff = absl::Seconds(1);
  config.max_backoff = absl::Seconds(10);
  EXPECT_EQ(RetryBackoff(config, 0), absl::Seconds(1));
  EXPECT_EQ(RetryBackoff(config, 1), absl::Seconds(1));
  EXPECT_EQ(RetryBackoff(config, 2), absl::Seconds(2));
  EXPECT_EQ(RetryBackoff(config, 3), absl::Seconds(4));
  EXPECT_EQ(RetryBackoff(config, 4), absl::Seconds(8));
  EXPECT_EQ(RetryBackoff(config, 5), absl::Seconds(10));
  EXPECT_EQ(RetryBackoff(config, 1'000'000'000), absl::Seconds(10));
}

}  // namespace
}  // namespace hub::timers
