#include "services/common/workdays/working_calendar.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"

namespace hub::workdays {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::HasSubstr;

const WorkingCalendar& Shipped() {
  static const auto* calendar = [] {
    absl::StatusOr<WorkingCalendar> loaded = WorkingCalendar::Load(DefaultCalendarPath());
    EXPECT_THAT(loaded, IsOk());
    return new WorkingCalendar(*std::move(loaded));
  }();
  return *calendar;
}

absl::Time London(int y, int m, int d, int hh, int mm) {
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), LondonTimeZone());
}

TEST(ShippedCalendarTest, CoversTheYearsTheHubNeeds) {
  EXPECT_LE(Shipped().first_year(), 2024);
  EXPECT_GE(Shipped().last_year(), 2030);
  EXPECT_FALSE(Shipped().version().empty());
  EXPECT_EQ(Shipped().HolidayName(absl::CivilDay(2026, 12, 28)), "Boxing Day (substitute day)");
  EXPECT_EQ(Shipped().HolidayName(absl::CivilDay(2026, 12, 29)), "");
}

// One row per case the Victims' Code deadline counting must get right (Right 4: referral
// within 2 working days of the report; Right 6: updates within 5, or 1 for enhanced).
struct DeadlineCase {
  std::string name;
  absl::Time from;
  int working_days;
  absl::CivilDay due;
};

class DeadlineTest : public ::testing::TestWithParam<DeadlineCase> {};

TEST_P(DeadlineTest, EndsAt2359LondonOnTheRightDay) {
  const DeadlineCase& c = GetParam();
  absl::StatusOr<absl::Time> due =
      Shipped().DeadlineAfter(c.from, c.working_days, LondonTimeZone());
  ASSERT_THAT(due, IsOk());
  EXPECT_EQ(*due, London(c.due.year(), c.due.month(), c.due.day(), 23, 59))
      << absl::FormatTime(*due, LondonTimeZone());
}

INSTANTIATE_TEST_SUITE_P(
    VictimsCode, DeadlineTest,
    ::testing::Values(
        // Right 4, an ordinary week: Monday's report is due Wednesday.
        DeadlineCase{"right4_monday", London(2026, 11, 23, 10, 0), 2, absl::CivilDay(2026, 11, 25)},
        // The day of the report is day 0 even late at night.
        DeadlineCase{"right4_just_before_midnight", London(2026, 11, 23, 23, 58), 2,
                     absl::CivilDay(2026, 11, 25)},
        // A Thursday report skips the weekend: due Monday.
        DeadlineCase{"right4_thursday", London(2026, 11, 19, 9, 0), 2,
                     absl::CivilDay(2026, 11, 23)},
        // domain.md: a Saturday report is due on Tuesday.
        DeadlineCase{"right4_saturday", London(2026, 11, 21, 14, 0), 2,
                     absl::CivilDay(2026, 11, 24)},
        DeadlineCase{"right4_sunday", London(2026, 11, 22, 14, 0), 2, absl::CivilDay(2026, 11, 24)},
        // Friday before the August bank holiday Monday: Tuesday and Wednesday count.
        DeadlineCase{"right4_friday_before_bank_holiday_monday", London(2026, 8, 28, 16, 0), 2,
                     absl::CivilDay(2026, 9, 2)},
        // A report on the bank holiday Monday itself.
        DeadlineCase{"right4_on_bank_holiday", London(2026, 8, 31, 11, 0), 2,
                     absl::CivilDay(2026, 9, 2)},
        // Easter: Thursday before Good Friday, Easter Monday off too.
        DeadlineCase{"right4_maundy_thursday", London(2027, 3, 25, 12, 0), 2,
                     absl::CivilDay(2027, 3, 31)},
        // Christmas 2026: 25th Friday, Boxing Day's substitute Monday 28th.
        DeadlineCase{"right4_christmas_eve_substitute_day", London(2026, 12, 24, 12, 0), 2,
                     absl::CivilDay(2026, 12, 30)},
        // Christmas 2027 falls on a weekend: both substitute days, 27th and 28th.
        DeadlineCase{"right4_christmas_2027_double_substitute", London(2027, 12, 24, 12, 0), 2,
                     absl::CivilDay(2027, 12, 30)},
        // New Year 2028 is a Saturday: the substitute Monday 3 January.
        DeadlineCase{"right4_new_year_2028_substitute", London(2027, 12, 31, 12, 0), 2,
                     absl::CivilDay(2028, 1, 5)},
        // Across the clocks going back (25 October 2026): still 23:59 local.
        DeadlineCase{"right4_across_clock_change", London(2026, 10, 23, 12, 0), 2,
                     absl::CivilDay(2026, 10, 27)},
        // Right 6: an update within 5 working days (Christmas Day and the Boxing Day
        // substitute do not count); 1 for an enhanced victim.
        DeadlineCase{"right6_standard_five_days", London(2026, 12, 21, 10, 0), 5,
                     absl::CivilDay(2026, 12, 30)},
        DeadlineCase{"right6_enhanced_one_day_before_weekend", London(2026, 11, 27, 10, 0), 1,
                     absl::CivilDay(2026, 11, 30)},
        // Early May and spring bank holidays.
        DeadlineCase{"right4_early_may", London(2029, 5, 4, 10, 0), 2, absl::CivilDay(2029, 5, 9)},
        DeadlineCase{"right4_spring_bank_holiday", London(2030, 5, 24, 10, 0), 2,
                     absl::CivilDay(2030, 5, 29)}),
    [](const ::testing::TestParamInfo<DeadlineCase>& param_info) { return param_info.param.name; });

TEST(WorkingCalendarTest, RefusesToGuessOutsideItsYears) {
  EXPECT_THAT(Shipped().DeadlineAfter(London(2031, 3, 3, 10, 0), 2, LondonTimeZone()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not 2031")));
  // Counting that runs off the end is refused too, not truncated.
  EXPECT_THAT(Shipped().AddWorkingDays(absl::CivilDay(2030, 12, 31), 2),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // The weekend-only fallback still answers.
  EXPECT_EQ(
      WorkingCalendar::WeekendOnlyDeadlineAfter(London(2031, 3, 7, 10, 0), 2, LondonTimeZone()),
      London(2031, 3, 11, 23, 59));
}

constexpr char kGood[] = R"yaml(version: "t1"
region: england-and-wales
covers: {from: 2026, to: 2026}
holidays:
  - {date: "2026-01-01", name: "New Year's Day"}
  - {date: "2026-04-03", name: "Good Friday"}
  - {date: "2026-04-06", name: "Easter Monday"}
  - {date: "2026-05-04", name: "Early May bank holiday"}
  - {date: "2026-05-25", name: "Spring bank holiday"}
  - {date: "2026-08-31", name: "Summer bank holiday"}
  - {date: "2026-12-25", name: "Christmas Day"}
  - {date: "2026-12-28", name: "Boxing Day (substitute day)"}
)yaml";

TEST(WorkingCalendarTest, ParsesAGoodFile) {
  absl::StatusOr<WorkingCalendar> calendar = WorkingCalendar::Parse(kGood);
  ASSERT_THAT(calendar, IsOk());
  EXPECT_EQ(calendar->version(), "t1");
  EXPECT_THAT(calendar->IsWorkingDay(absl::CivilDay(2026, 12, 28)), IsOk());
  EXPECT_FALSE(*calendar->IsWorkingDay(absl::CivilDay(2026, 12, 28)));
  EXPECT_TRUE(*calendar->IsWorkingDay(absl::CivilDay(2026, 12, 29)));
}

struct BadFile {
  std::string name;
  std::string from;
  std::string to;
  std::string error;
};

class BadFileTest : public ::testing::TestWithParam<BadFile> {};

TEST_P(BadFileTest, IsRefusedNamingTheEntry) {
  std::string text = absl::StrReplaceAll(kGood, {{GetParam().from, GetParam().to}});
  ASSERT_NE(text, kGood) << "the edit did not apply";
  EXPECT_THAT(WorkingCalendar::Parse(text),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().error)));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadFileTest,
    ::testing::Values(BadFile{"impossible_date", "2026-04-03", "2026-02-30",
                              "holidays[1].date: '2026-02-30' is not a date YYYY-MM-DD"},
                      BadFile{"weekend", "2026-12-28", "2026-12-26",
                              "holidays[7] (2026-12-26).date: falls on a weekend"},
                      BadFile{"outside_covers", "2026-08-31", "2027-08-30",
                              "holidays[5] (2027-08-30).date: outside covers 2026-2026"},
                      BadFile{"repeated", "2026-05-25", "2026-05-04",
                              "holidays[4] (2026-05-04).date: listed twice"},
                      BadFile{"missing_name", "name: \"Good Friday\"", "name: \"\"",
                              "holidays[1] (2026-04-03).name: is required"},
                      BadFile{"short_year", "  - {date: \"2026-12-25\", name: \"Christmas Day\"}\n",
                              "", "holidays: 2026 has 7 bank holidays"},
                      BadFile{"no_version", "version: \"t1\"", "version: \"\"",
                              "version: is required"},
                      BadFile{"bad_covers", "to: 2026", "to: 2020", "covers: needs from and to"}),
    [](const ::testing::TestParamInfo<BadFile>& param_info) { return param_info.param.name; });

TEST(WorkingCalendarTest, LoadNamesTheFile) {
  EXPECT_THAT(WorkingCalendar::Load("/nonexistent/calendar.yaml"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/calendar.yaml")));
}

}  // namespace
}  // namespace hub::workdays
