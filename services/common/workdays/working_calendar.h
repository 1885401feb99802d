// Working days for Victims' Code deadlines: weekends and England and Wales bank holidays
// are not working days. The holidays are data (deploy/rules/bank-holidays-england-wales.yaml),
// loaded and checked at start; the calendar says which years it covers and never guesses
// beyond them.
//
// Counting (../shared/domain.md, the project's documented reading): the day something
// happens is day 0, whatever day it is; "within N working days" means by the end (23:59
// Europe/London) of the N-th working day after it. A Saturday report with N = 2 is due on
// Tuesday; a Friday report before a bank-holiday Monday is due on Wednesday.
//
// Immutable after loading; thread-safe.
#ifndef HUB_SERVICES_COMMON_WORKDAYS_WORKING_CALENDAR_H_
#define HUB_SERVICES_COMMON_WORKDAYS_WORKING_CALENDAR_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace hub::workdays {

class WorkingCalendar {
 public:
  // Parses and checks the YAML: a version, a region, `covers` {from, to} years, and
  // holidays {date "YYYY-MM-DD", name}. Refused, naming the entry and the field: a
  // malformed or impossible date, a date outside `covers`, a repeated date, a holiday on a
  // Saturday or Sunday (a substitute day is always a weekday), a missing name, or a
  // covered year with fewer than 8 holidays (England and Wales always have 8; fewer means
  // a year is missing or cut short).
  static absl::StatusOr<WorkingCalendar> Parse(absl::string_view yaml_text);
  // Reads and parses `path`; errors start with the path.
  static absl::StatusOr<WorkingCalendar> Load(const std::string& path);

  const std::string& version() const { return version_; }
  int first_year() const { return first_year_; }
  int last_year() const { return last_year_; }
  bool Covers(absl::CivilDay day) const;

  // Whether `day` is a working day. kFailedPrecondition outside the covered years.
  absl::StatusOr<bool> IsWorkingDay(absl::CivilDay day) const;
  // The name of the bank holiday on `day`, or empty.
  std::string HolidayName(absl::CivilDay day) const;

  // The `working_days`-th working day after `day` (`day` itself never counts).
  // kFailedPrecondition if the count runs outside the covered years.
  absl::StatusOr<absl::CivilDay> AddWorkingDays(absl::CivilDay day, int working_days) const;

  // 23:59 in `zone` on the `working_days`-th working day after the day (in `zone`) of
  // `from`: the Victims' Code deadline.
  absl::StatusOr<absl::Time> DeadlineAfter(absl::Time from, int working_days,
                                           absl::TimeZone zone) const;

  // The same, counting weekends only: the fallback when a date is outside the calendar.
  static absl::Time WeekendOnlyDeadlineAfter(absl::Time from, int working_days,
                                             absl::TimeZone zone);

 private:
  std::string version_;
  int first_year_ = 0;
  int last_year_ = 0;
  std::map<absl::CivilDay, std::string> holidays_;
};

// Europe/London, or UTC if the time zone database is missing (logged by the caller).
absl::TimeZone LondonTimeZone();

// The repository's calendar: $HUB_RULES_DIR/bank-holidays-england-wales.yaml, else the one
// in deploy/rules of the source tree the binary was built from.
std::string DefaultCalendarPath();

}  // namespace hub::workdays

#endif  // HUB_SERVICES_COMMON_WORKDAYS_WORKING_CALENDAR_H_
