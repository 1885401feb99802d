// Checks every request intake accepts against the rules written in
// protos/hub/intake/v1/intake.proto, before anything is sealed or published.
//
// Every problem is reported, not just the first: a police system's developer fixing a feed
// wants the whole list. Each violation names the field path as the proto spells it, with
// indexes ("report.victims[1].contact_routes[0].value", "update.milestone.court_date"),
// and says what is wrong and what is expected, never echoing the value (values can be
// personal data). When a repeated field is longer than its limit, only the limit is
// reported and its items are not checked one by one, which bounds the list.
//
// Civil dates (date of birth, age at the offence) are read in Europe/London. Pure and
// thread-safe: `now` is the hub clock, passed in.
#ifndef HUB_SERVICES_INTAKE_VALIDATION_H_
#define HUB_SERVICES_INTAKE_VALIDATION_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

#include "hub/intake/v1/intake.pb.h"
#include "services/common/rpc/error_details.h"

namespace hub::intake {

using FieldViolation = rpc::FieldViolation;

// Every violation in a crime report; empty when it is acceptable. Paths start "report.".
std::vector<FieldViolation> ValidateCrimeReport(const hub::intake::v1::CrimeReport& report,
                                                absl::Time now);

// Every violation in a crime update, which must carry exactly one change. Paths start
// "update."; a victim change is checked like a report's victim ("update.victim.…").
std::vector<FieldViolation> ValidateCrimeUpdate(const hub::intake::v1::CrimeUpdate& update,
                                                absl::Time now);

// Every violation in a self-referral. Paths start "referral.". The victim follows the
// report's rules except that victim_ref may be empty and consent may be unset (the act of
// referring is consent); a consent that is set follows the usual rules.
std::vector<FieldViolation> ValidateSelfReferral(const hub::intake::v1::SelfReferral& referral,
                                                 absl::Time now);

// Every violation in an erasure request. Paths are "target…" and "request_reference".
// A date of birth here is only checked to be a real calendar date.
std::vector<FieldViolation> ValidateErasureRequest(
    const hub::intake::v1::RequestErasureRequest& request);

// kInvalidArgument whose message lists every violation ("field: why; field: why").
// Fills in the victim's age_at_offence from date_of_birth when only the date was given,
// counting whole years to the UK day of `on` (when the crime was reported). Call before
// sealing: the date of birth is personal data and is sealed, but triage needs the age
// (under 18 at the offence is automatically vulnerable). An invalid date is left alone
// (validation refuses it).
void DeriveAgeAtOffence(hub::intake::v1::Victim* victim, absl::Time on);

absl::Status ViolationsToStatus(const std::vector<FieldViolation>& violations);

}  // namespace hub::intake

#endif  // HUB_SERVICES_INTAKE_VALIDATION_H_
