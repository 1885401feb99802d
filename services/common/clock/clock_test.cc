#include "services/common/clock/clock.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"

namespace hub::clock {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::HasSubstr;

std::string TempPath() {
  return absl::StrCat(::testing::TempDir(), "/clock-", getpid(), "-",
                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
}

absl::Time At(const char* rfc3339) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error)) << error;
  return t;
}

TEST(ClockSettingTest, RoundTripsBothModes) {
  ASSERT_OK_AND_ASSIGN(ClockSetting offset, ParseClockSetting("offset 49h30m\n"));
  EXPECT_EQ(offset.mode, ClockSetting::Mode::kOffset);
  EXPECT_EQ(offset.offset, absl::Hours(49) + absl::Minutes(30));
  ASSERT_OK_AND_ASSIGN(ClockSetting reparsed, ParseClockSetting(FormatClockSetting(offset)));
  EXPECT_EQ(reparsed.offset, offset.offset);

  ASSERT_OK_AND_ASSIGN(ClockSetting frozen, ParseClockSetting("frozen 2026-01-05T09:00:00Z"));
  EXPECT_EQ(frozen.mode, ClockSetting::Mode::kFrozen);
  EXPECT_EQ(frozen.frozen_at, At("2026-01-05T09:00:00Z"));
}

TEST(ClockSettingTest, RefusesGarbageWithAReason) {
  EXPECT_THAT(ParseClockSetting("tomorrow"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected 'offset")));
  EXPECT_THAT(ParseClockSetting("offset soon"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a duration")));
  EXPECT_THAT(ParseClockSetting("frozen yesterday"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("RFC 3339")));
}

TEST(FileClockTest, FollowsTheFileAsItChanges) {
  std::string path = TempPath();
  (void)std::remove(path.c_str());
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Clock> clock, CreateClock("file:" + path));
  EXPECT_TRUE(clock->IsControlled());
  EXPECT_LT(absl::AbsDuration(clock->Now() - absl::Now()), absl::Seconds(5));

  ClockSetting frozen{ClockSetting::Mode::kFrozen, {}, At("2030-12-24T23:59:00Z")};
  ASSERT_THAT(WriteClockFile(path, frozen), IsOk());
  // A second process (or this one) sees the new time within the recheck interval.
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (clock->Now() != frozen.frozen_at && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(clock->Now(), frozen.frozen_at);

  ClockSetting ahead{ClockSetting::Mode::kOffset, absl::Hours(72), {}};
  ASSERT_THAT(WriteClockFile(path, ahead), IsOk());
  deadline = absl::Now() + absl::Seconds(5);
  while (clock->Now() < absl::Now() + absl::Hours(71) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_GT(clock->Now(), absl::Now() + absl::Hours(71));
  (void)std::remove(path.c_str());
}

TEST(FileClockTest, RefusesAFileThatDoesNotParseAtStart) {
  std::string path = TempPath();
  std::ofstream(path) << "nonsense\n";
  EXPECT_THAT(CreateClock("file:" + path), StatusIs(absl::StatusCode::kInvalidArgument));
  (void)std::remove(path.c_str());
}

TEST(CreateClockTest, SystemAndBadSpecs) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Clock> clock, CreateClock("system"));
  EXPECT_FALSE(clock->IsControlled());
  EXPECT_THAT(CreateClock("ntp"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CreateClock("file:"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(FakeClockTest, AdvancesOnlyWhenTold) {
  FakeClock clock(At("2026-03-01T12:00:00Z"));
  clock.Advance(absl::Hours(24));
  EXPECT_EQ(clock.Now(), At("2026-03-02T12:00:00Z"));
}

}  // namespace
}  // namespace hub::clock
