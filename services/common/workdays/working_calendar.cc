#include "services/common/workdays/working_calendar.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "yaml-cpp/yaml.h"

namespace hub::workdays {
namespace {

constexpr int kHolidaysPerYear = 8;
constexpr int kEarliestYear = 2000;
constexpr int kLatestYear = 2100;
// A deadline count never needs more than this many days; beyond it something is wrong.
constexpr int kMaxWorkingDays = 366;

bool IsWeekend(absl::CivilDay day) {
  absl::Weekday weekday = absl::GetWeekday(day);
  return weekday == absl::Weekday::saturday || weekday == absl::Weekday::sunday;
}

// "YYYY-MM-DD" naming a real day.
bool ParseDate(const std::string& text, absl::CivilDay* day) {
  std::vector<std::string> parts = absl::StrSplit(text, '-');
  int year = 0;
  int month = 0;
  int day_of_month = 0;
  if (text.size() != 10 || parts.size() != 3 || parts[0].size() != 4 || parts[1].size() != 2 ||
      parts[2].size() != 2 || !absl::SimpleAtoi(parts[0], &year) ||
      !absl::SimpleAtoi(parts[1], &month) || !absl::SimpleAtoi(parts[2], &day_of_month)) {
    return false;
  }
  *day = absl::CivilDay(year, month, day_of_month);
  // CivilDay normalises 2026-02-30 to 2026-03-02: a real day survives unchanged.
  return day->year() == year && day->month() == month && day->day() == day_of_month;
}

std::string Scalar(const YAML::Node& node) {
  return node && node.IsScalar() ? node.as<std::string>() : std::string();
}

}  // namespace

absl::StatusOr<WorkingCalendar> WorkingCalendar::Parse(absl::string_view yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& error) {
    return absl::InvalidArgumentError(
        absl::StrCat("not valid YAML: line ", error.mark.line + 1, ": ", error.msg));
  }
  if (!root.IsMap()) {
    return absl::InvalidArgumentError("the calendar must be a YAML mapping");
  }
  std::vector<std::string> problems;
  WorkingCalendar calendar;
  calendar.version_ = Scalar(root["version"]);
  if (calendar.version_.empty()) {
    problems.push_back("version: is required");
  }
  if (Scalar(root["region"]).empty()) {
    problems.push_back("region: is required");
  }
  const YAML::Node covers = root["covers"];
  if (!absl::SimpleAtoi(Scalar(covers["from"]), &calendar.first_year_) ||
      !absl::SimpleAtoi(Scalar(covers["to"]), &calendar.last_year_) ||
      calendar.first_year_ < kEarliestYear || calendar.last_year_ > kLatestYear ||
      calendar.first_year_ > calendar.last_year_) {
    problems.push_back(absl::StrCat("covers: needs from and to, years ", kEarliestYear, "-",
                                    kLatestYear, " with from <= to"));
    calendar.first_year_ = calendar.last_year_ = 0;
  }
  const YAML::Node holidays = root["holidays"];
  if (!holidays || !holidays.IsSequence()) {
    problems.push_back("holidays: is required, a list of {date, name}");
  } else {
    for (size_t i = 0; i < holidays.size(); ++i) {
      const std::string where = absl::StrCat("holidays[", i, "]");
      const std::string text = Scalar(holidays[i]["date"]);
      const std::string name = Scalar(holidays[i]["name"]);
      absl::CivilDay day;
      if (!ParseDate(text, &day)) {
        problems.push_back(absl::StrCat(where, ".date: '", text, "' is not a date YYYY-MM-DD"));
        continue;
      }
      const std::string entry = absl::StrCat(where, " (", text, ")");
      if (name.empty()) {
        problems.push_back(absl::StrCat(entry, ".name: is required"));
      }
      if (calendar.first_year_ != 0 &&
          (day.year() < calendar.first_year_ || day.year() > calendar.last_year_)) {
        problems.push_back(absl::StrCat(entry, ".date: outside covers ", calendar.first_year_, "-",
                                        calendar.last_year_));
        continue;
      }
      if (IsWeekend(day)) {
        problems.push_back(absl::StrCat(
            entry, ".date: falls on a weekend; list the weekday substitute day instead"));
        continue;
      }
      if (!calendar.holidays_.emplace(day, name).second) {
        problems.push_back(absl::StrCat(entry, ".date: listed twice"));
      }
    }
  }
  if (calendar.first_year_ != 0) {
    for (int year = calendar.first_year_; year <= calendar.last_year_; ++year) {
      auto first = calendar.holidays_.lower_bound(absl::CivilDay(year, 1, 1));
      auto last = calendar.holidays_.lower_bound(absl::CivilDay(year + 1, 1, 1));
      const auto count = std::distance(first, last);
      if (count < kHolidaysPerYear) {
        problems.push_back(absl::StrCat("holidays: ", year, " has ", count, " bank holidays, ",
                                        "England and Wales have at least ", kHolidaysPerYear));
      }
    }
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
  }
  return calendar;
}

absl::StatusOr<WorkingCalendar> WorkingCalendar::Load(const std::string& path) {
  std::ifstream file(path);
  if (!file.good()) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot read the calendar file"));
  }
  std::stringstream text;
  text << file.rdbuf();
  absl::StatusOr<WorkingCalendar> calendar = Parse(text.str());
  if (!calendar.ok()) {
    return absl::Status(calendar.status().code(),
                        absl::StrCat(path, ": ", calendar.status().message()));
  }
  return calendar;
}

bool WorkingCalendar::Covers(absl::CivilDay day) const {
  return day.year() >= first_year_ && day.year() <= last_year_;
}

absl::StatusOr<bool> WorkingCalendar::IsWorkingDay(absl::CivilDay day) const {
  if (!Covers(day)) {
    return absl::FailedPreconditionError(absl::StrCat("the bank holiday calendar ", version_,
                                                      " covers ", first_year_, "-", last_year_,
                                                      ", not ", day.year()));
  }
  return !IsWeekend(day) && holidays_.count(day) == 0;
}

std::string WorkingCalendar::HolidayName(absl::CivilDay day) const {
  auto found = holidays_.find(day);
  return found == holidays_.end() ? std::string() : found->second;
}

absl::StatusOr<absl::CivilDay> WorkingCalendar::AddWorkingDays(absl::CivilDay day,
                                                               int working_days) const {
  if (working_days < 0 || working_days > kMaxWorkingDays) {
    return absl::InvalidArgumentError(absl::StrCat("working_days must be 0-", kMaxWorkingDays));
  }
  int counted = 0;
  while (counted < working_days) {
    day += 1;
    absl::StatusOr<bool> working = IsWorkingDay(day);
    if (!working.ok()) {
      return working.status();
    }
    if (*working) {
      ++counted;
    }
  }
  return day;
}

absl::StatusOr<absl::Time> WorkingCalendar::DeadlineAfter(absl::Time from, int working_days,
                                                          absl::TimeZone zone) const {
  absl::StatusOr<absl::CivilDay> day = AddWorkingDays(absl::ToCivilDay(from, zone), working_days);
  if (!day.ok()) {
    return day.status();
  }
  return absl::FromCivil(absl::CivilMinute(day->year(), day->month(), day->day(), 23, 59), zone);
}

absl::Time WorkingCalendar::WeekendOnlyDeadlineAfter(absl::Time from, int working_days,
                                                     absl::TimeZone zone) {
  absl::CivilDay day = absl::ToCivilDay(from, zone);
  int counted = 0;
  while (counted < working_days) {
    day += 1;
    if (!IsWeekend(day)) {
      ++counted;
    }
  }
  return absl::FromCivil(absl::CivilMinute(day.year(), day.month(), day.day(), 23, 59), zone);
}

absl::TimeZone LondonTimeZone() {
  absl::TimeZone london;
  if (!absl::LoadTimeZone("Europe/London", &london)) {
    return absl::UTCTimeZone();
  }
  return london;
}

std::string DefaultCalendarPath() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read once at start-up, before threads start.
  const char* dir = std::getenv("HUB_RULES_DIR");
  std::string base = (dir != nullptr && *dir != '\0') ? dir : HUB_DEFAULT_RULES_DIR;
  return absl::StrCat(base, "/bank-holidays-england-wales.yaml");
}

}  // namespace hub::workdays
