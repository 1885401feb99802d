// The Initial Victim Needs Assessment, first cut: enhanced entitlement, consent, needs,
// priority and the referral deadline, each conclusion with the rule that reached it.
//
// This is the walking skeleton's rule set, written in code and versioned as
// kRulesVersion. The triage issue moves these rules, the offence table and the bank
// holiday calendar into versioned data files; the shape of the result (NeedsAssessed
// with explanations) stays. Pure and thread-safe.
#ifndef HUB_SERVICES_TRIAGE_ASSESSMENT_H_
#define HUB_SERVICES_TRIAGE_ASSESSMENT_H_

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#include "hub/events/v1/events.pb.h"

namespace hub::triage {

inline constexpr char kRulesVersion[] = "skeleton-2026.11.1";

// Working days the Code allows for a referral to support (Right 4).
inline constexpr int kReferralWorkingDays = 2;
// DASH score at or above which a victim is at high risk (MARAC threshold).
inline constexpr int kDashHighRisk = 14;

// The end (23:59 Europe/London) of the `working_days`-th working day after the day of
// `from` (day 0). Weekends are not working days; bank holidays arrive with the calendar
// data file.
absl::Time WorkingDaysDeadline(absl::Time from, int working_days);

// True for Home Office offence classes of sexual offences.
bool IsSexualOffenceClass(absl::string_view offence_class_code);

// Assesses one victim's case. `now` stamps the assessment.
hub::events::v1::NeedsAssessed Assess(const hub::events::v1::CrimeReported& crime, absl::Time now);

}  // namespace hub::triage

#endif  // HUB_SERVICES_TRIAGE_ASSESSMENT_H_
