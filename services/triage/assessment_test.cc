#include "services/triage/assessment.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace hub::triage {
namespace {

using ::hub::events::v1::CrimeReported;
using ::hub::events::v1::NeedsAssessed;
using ::testing::Contains;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

absl::Time London(int y, int m, int d, int hh, int mm) {
  absl::TimeZone london;
  EXPECT_TRUE(absl::LoadTimeZone("Europe/London", &london));
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), london);
}

CrimeReported Crime(const std::string& offence_class) {
  CrimeReported crime;
  crime.set_case_id("c_000000000000000000000001");
  auto* report = crime.mutable_report();
  report->set_offence_class_code(offence_class);
  *report->mutable_reported_at() = google::protobuf::util::TimeUtil::SecondsToTimestamp(
      absl::ToUnixSeconds(London(2026, 11, 23, 10, 0)));  // a Monday
  auto* victim = report->add_victims();
  victim->set_victim_ref("V1");
  victim->set_age_at_offence(40);
  return crime;
}

std::vector<std::string> Rules(const NeedsAssessed& assessment) {
  std::vector<std::string> rules;
  for (const auto& explanation : assessment.explanations()) {
    rules.push_back(explanation.rule());
    EXPECT_FALSE(explanation.reason().empty()) << explanation.rule();
  }
  return rules;
}

const workdays::WorkingCalendar& Calendar() {
  static const auto* calendar = [] {
    absl::StatusOr<workdays::WorkingCalendar> loaded =
        workdays::WorkingCalendar::Load(workdays::DefaultCalendarPath());
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new workdays::WorkingCalendar(*std::move(loaded));
  }();
  return *calendar;
}

NeedsAssessed Assess(const CrimeReported& crime, absl::Time now) {
  return triage::Assess(crime, now, Calendar());
}

struct DeadlineCase {
  absl::Time reported;
  absl::Time due;
};

class DeadlineTest : public ::testing::TestWithParam<DeadlineCase> {};

TEST_P(DeadlineTest, ReferralIsDueOnTheSecondWorkingDayAfterTheReport) {
  CrimeReported crime = Crime("49");
  *crime.mutable_report()->mutable_reported_at() =
      google::protobuf::util::TimeUtil::SecondsToTimestamp(
          absl::ToUnixSeconds(GetParam().reported));
  NeedsAssessed assessment = Assess(crime, absl::FromUnixSeconds(1));
  EXPECT_EQ(assessment.referral_due().seconds(), absl::ToUnixSeconds(GetParam().due));
}

INSTANTIATE_TEST_SUITE_P(
    WorkingDays, DeadlineTest,
    ::testing::Values(
        // Monday → Wednesday 23:59.
        DeadlineCase{London(2026, 11, 23, 10, 0), London(2026, 11, 25, 23, 59)},
        // Thursday → Monday.
        DeadlineCase{London(2026, 11, 26, 18, 0), London(2026, 11, 30, 23, 59)},
        // Saturday → Tuesday (the documented reading of the Code).
        DeadlineCase{London(2026, 11, 28, 9, 0), London(2026, 12, 1, 23, 59)},
        // Late Friday evening in British Summer Time still counts from Friday.
        DeadlineCase{London(2026, 7, 3, 23, 30), London(2026, 7, 7, 23, 59)},
        // Friday before the August bank holiday Monday → Wednesday.
        DeadlineCase{London(2026, 8, 28, 16, 0), London(2026, 9, 2, 23, 59)},
        // Christmas Eve 2026: Christmas Day and the Boxing Day substitute do not count.
        DeadlineCase{London(2026, 12, 24, 12, 0), London(2026, 12, 30, 23, 59)}));

TEST(AssessTest, ReportBeyondTheCalendarCountsWeekendsOnlyAndSaysSo) {
  CrimeReported crime = Crime("49");
  *crime.mutable_report()->mutable_reported_at() =
      google::protobuf::util::TimeUtil::SecondsToTimestamp(
          absl::ToUnixSeconds(London(2031, 3, 7, 10, 0)));  // a Friday
  NeedsAssessed assessment = Assess(crime, absl::FromUnixSeconds(1));
  EXPECT_EQ(assessment.referral_due().seconds(), absl::ToUnixSeconds(London(2031, 3, 11, 23, 59)));
  EXPECT_THAT(Rules(assessment), Contains("deadline.calendar_gap"));
}

TEST(AssessTest, StandardCaseIsExplained) {
  NeedsAssessed assessment = Assess(Crime("49"), absl::FromUnixSeconds(1));
  EXPECT_FALSE(assessment.enhanced());
  EXPECT_FALSE(assessment.consent_required());
  EXPECT_EQ(assessment.priority(), hub::events::v1::PRIORITY_STANDARD);
  EXPECT_THAT(assessment.needs(), UnorderedElementsAre("emotional"));
  EXPECT_THAT(Rules(assessment), UnorderedElementsAre("priority.standard", "deadline.referral"));
  EXPECT_EQ(assessment.rules_version(), kRulesVersion);
  EXPECT_EQ(assessment.crime().case_id(), "c_000000000000000000000001");
}

TEST(AssessTest, HighRiskDomesticAbuseNeedsConsentAndIsImmediate) {
  CrimeReported crime = Crime("8L");
  crime.mutable_report()->mutable_flags()->set_domestic_abuse(true);
  crime.mutable_report()->mutable_victims(0)->set_dash_score(16);
  crime.mutable_report()->mutable_victims(0)->set_suspect_shares_address(true);
  NeedsAssessed assessment = Assess(crime, absl::FromUnixSeconds(1));
  EXPECT_TRUE(assessment.enhanced());
  EXPECT_TRUE(assessment.consent_required());
  EXPECT_EQ(assessment.priority(), hub::events::v1::PRIORITY_IMMEDIATE);
  EXPECT_THAT(assessment.needs(), UnorderedElementsAre("emotional", "domestic_abuse", "safety"));
  EXPECT_THAT(Rules(assessment), Contains("priority.immediate.dash"));
  EXPECT_THAT(Rules(assessment), Contains("consent.explicit"));
  EXPECT_THAT(Rules(assessment), Contains("enhanced.most_serious.domestic_abuse"));
}

TEST(AssessTest, YoungVictimIsEnhancedWithoutConsentRule) {
  CrimeReported crime = Crime("34B");
  crime.mutable_report()->mutable_victims(0)->set_age_at_offence(15);
  NeedsAssessed assessment = Assess(crime, absl::FromUnixSeconds(1));
  EXPECT_TRUE(assessment.enhanced());
  EXPECT_FALSE(assessment.consent_required());
  EXPECT_EQ(assessment.priority(), hub::events::v1::PRIORITY_ENHANCED);
  EXPECT_THAT(assessment.needs(), Contains("young_victim"));
  EXPECT_THAT(Rules(assessment), Contains("enhanced.vulnerable.under_18"));
}

TEST(AssessTest, SexualOffenceNeedsExplicitConsent) {
  NeedsAssessed assessment = Assess(Crime("19C"), absl::FromUnixSeconds(1));
  EXPECT_TRUE(assessment.consent_required());
  EXPECT_THAT(assessment.needs(), Contains("sexual_violence"));
  EXPECT_THAT(Rules(assessment), Contains("enhanced.most_serious.sexual_offence"));
}

TEST(AssessTest, BurglaryAddsHomeSecurityNeed) {
  NeedsAssessed assessment = Assess(Crime("28E"), absl::FromUnixSeconds(1));
  EXPECT_THAT(assessment.needs(), Contains("safety_home_security"));
  EXPECT_THAT(assessment.needs(), Not(Contains("young_victim")));
}

}  // namespace
}  // namespace hub::triage
