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
#include "services/common/workdays/working_calendar.h"

namespace hub::triage {

inline constexpr char kRulesVersion[] = "skeleton-2026.11.1";

// Working days the Code allows for a referral to support (Right 4).
inline constexpr int kReferralWorkingDays = 2;
// DASH score at or above which a victim is at high risk (MARAC threshold).
inline constexpr int kDashHighRisk = 14;

// True for Home Office offence classes of sexual offences.
bool IsSexualOffenceClass(absl::string_view offence_class_code);

// Assesses one victim's case. `now` stamps the assessment; `calendar` counts working days
// (weekends and England and Wales bank holidays excluded). A report outside the calendar's
// years is counted with weekends only, and the explanation says so.
hub::events::v1::NeedsAssessed Assess(const hub::events::v1::CrimeReported& crime, absl::Time now,
                                      const workdays::WorkingCalendar& calendar);

}  // namespace hub::triage

#endif  // HUB_SERVICES_TRIAGE_ASSESSMENT_H_
