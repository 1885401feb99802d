#include "services/triage/assessment.h"

#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"

namespace hub::triage {
namespace {

using hub::events::v1::CrimeReported;
using hub::events::v1::NeedsAssessed;

// The numeric part of an offence class code: "28E" → "28".
absl::string_view OffenceClassNumber(absl::string_view code) {
  size_t digits = 0;
  while (digits < code.size() && absl::ascii_isdigit(code[digits])) {
    ++digits;
  }
  return code.substr(0, digits);
}

// Classes of the most serious crimes under the Code besides the flagged ones: homicide
// (1), attempted murder (2), death by driving (4), wounding with intent (5), kidnap and
// false imprisonment (36), arson endangering life (56), modern slavery (106).
bool IsMostSeriousClass(absl::string_view code) {
  static const auto* classes = new std::set<std::string>{"1", "2", "4", "5", "36", "56", "106"};
  return classes->count(std::string(OffenceClassNumber(code))) > 0;
}

bool IsBurglaryClass(absl::string_view code) {
  static const auto* classes = new std::set<std::string>{"28", "29", "30", "31"};
  return classes->count(std::string(OffenceClassNumber(code))) > 0;
}

google::protobuf::Timestamp ToProto(absl::Time time) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(time));
}

absl::Time FromProto(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

void Explain(NeedsAssessed* assessment, const char* rule, const std::string& reason) {
  auto* explanation = assessment->add_explanations();
  explanation->set_rule(rule);
  explanation->set_reason(reason);
}

void AddNeed(NeedsAssessed* assessment, const char* need) {
  for (const std::string& existing : assessment->needs()) {
    if (existing == need) {
      return;
    }
  }
  assessment->add_needs(need);
}

}  // namespace

bool IsSexualOffenceClass(absl::string_view offence_class_code) {
  static const auto* classes =
      new std::set<std::string>{"17", "19", "20", "21", "22", "23", "70", "71", "72", "73", "88"};
  return classes->count(std::string(OffenceClassNumber(offence_class_code))) > 0;
}

NeedsAssessed Assess(const CrimeReported& crime, absl::Time now,
                     const workdays::WorkingCalendar& calendar) {
  NeedsAssessed assessment;
  assessment.set_case_id(crime.case_id());
  assessment.set_rules_version(kRulesVersion);
  *assessment.mutable_assessed_at() = ToProto(now);
  const hub::intake::v1::CrimeReport& report = crime.report();
  const hub::intake::v1::Victim& victim = report.victims(0);
  const std::string& code = report.offence_class_code();

  bool sexual = IsSexualOffenceClass(code);
  bool domestic = report.flags().domestic_abuse();
  bool most_serious = false;
  if (domestic) {
    most_serious = true;
    Explain(&assessment, "enhanced.most_serious.domestic_abuse",
            "The crime is flagged as domestic abuse, one of the most serious crimes under the "
            "Victims' Code.");
  }
  if (report.flags().hate_crime()) {
    most_serious = true;
    Explain(&assessment, "enhanced.most_serious.hate_crime",
            "The crime is flagged as a hate crime, one of the most serious crimes under the "
            "Victims' Code.");
  }
  if (sexual) {
    most_serious = true;
    Explain(&assessment, "enhanced.most_serious.sexual_offence",
            absl::StrCat("Offence class ", code, " is a sexual offence."));
  }
  if (IsMostSeriousClass(code)) {
    most_serious = true;
    Explain(&assessment, "enhanced.most_serious.offence_class",
            absl::StrCat("Offence class ", code, " is one of the most serious crimes."));
  }
  bool under_18 = victim.has_age_at_offence() && victim.age_at_offence() < 18;
  if (under_18) {
    Explain(&assessment, "enhanced.vulnerable.under_18",
            "The victim was under 18 at the time of the offence.");
  }
  bool vulnerable = !victim.vulnerability_markers().empty();
  if (vulnerable) {
    Explain(&assessment, "enhanced.vulnerable.marker",
            "The police recorded a vulnerability marker for the victim.");
  }
  if (victim.intimidated()) {
    Explain(&assessment, "enhanced.intimidated", "The police recorded the victim as intimidated.");
  }
  assessment.set_enhanced(most_serious || under_18 || vulnerable || victim.intimidated());

  if (victim.has_dash_score() && victim.dash_score() >= kDashHighRisk) {
    assessment.set_priority(hub::events::v1::PRIORITY_IMMEDIATE);
    Explain(&assessment, "priority.immediate.dash",
            absl::StrCat("DASH score ", victim.dash_score(), " is ", kDashHighRisk,
                         " or more: high risk; MARAC and IDVA referral indicated."));
  } else if (assessment.enhanced()) {
    assessment.set_priority(hub::events::v1::PRIORITY_ENHANCED);
    Explain(&assessment, "priority.enhanced", "Entitled to the enhanced service.");
  } else {
    assessment.set_priority(hub::events::v1::PRIORITY_STANDARD);
    Explain(&assessment, "priority.standard", "No enhanced entitlement or immediate risk found.");
  }

  if (domestic || sexual) {
    assessment.set_consent_required(true);
    Explain(&assessment, "consent.explicit",
            "Domestic abuse and sexual offences need the victim's explicit consent before any "
            "external referral.");
  }

  AddNeed(&assessment, "emotional");
  if (domestic) {
    AddNeed(&assessment, "domestic_abuse");
    AddNeed(&assessment, "safety");
  }
  if (sexual) {
    AddNeed(&assessment, "sexual_violence");
  }
  if (victim.suspect_shares_address()) {
    AddNeed(&assessment, "safety");
    Explain(&assessment, "needs.safety.shared_address",
            "The suspect lives at the victim's address.");
  }
  if (under_18) {
    AddNeed(&assessment, "young_victim");
  }
  if (IsBurglaryClass(code)) {
    AddNeed(&assessment, "safety_home_security");
  }

  const absl::TimeZone london = workdays::LondonTimeZone();
  const absl::Time reported = FromProto(report.reported_at());
  absl::StatusOr<absl::Time> counted =
      calendar.DeadlineAfter(reported, kReferralWorkingDays, london);
  absl::Time deadline;
  if (counted.ok()) {
    deadline = *counted;
  } else {
    deadline =
        workdays::WorkingCalendar::WeekendOnlyDeadlineAfter(reported, kReferralWorkingDays, london);
    Explain(&assessment, "deadline.calendar_gap",
            absl::StrCat("The bank holiday calendar (", calendar.version(), ") covers ",
                         calendar.first_year(), "-", calendar.last_year(),
                         " only: this deadline counts weekends but no bank holidays. Extend "
                         "deploy/rules/bank-holidays-england-wales.yaml."));
  }
  *assessment.mutable_referral_due() = ToProto(deadline);
  Explain(&assessment, "deadline.referral",
          absl::StrCat("Referral due within ", kReferralWorkingDays,
                       " working days of the report, weekends and bank holidays excluded "
                       "(Victims' Code Right 4): by ",
                       absl::FormatTime("%Y-%m-%d %H:%M %Z", deadline, london), "."));
  *assessment.mutable_crime() = crime;
  return assessment;
}

}  // namespace hub::triage
