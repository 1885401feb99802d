// Checks a crime report before intake accepts it.
//
// Every problem is reported, not just the first: a police system's developer fixing a feed
// wants the whole list. Each violation names the field path as the proto spells it
// ("report.victims[1].age_at_offence") and why it is wrong, without echoing the value
// (values can be personal data). Pure and thread-safe.
#ifndef HUB_SERVICES_INTAKE_VALIDATION_H_
#define HUB_SERVICES_INTAKE_VALIDATION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

#include "hub/intake/v1/intake.pb.h"
#include "services/common/rpc/error_details.h"

namespace hub::intake {

using FieldViolation = rpc::FieldViolation;

// Every violation in `report`; empty when it is acceptable. `now` is the hub clock:
// reported_at may not be in the future (a minute of clock skew is allowed).
std::vector<FieldViolation> ValidateCrimeReport(const hub::intake::v1::CrimeReport& report,
                                                absl::Time now);

// kInvalidArgument whose message lists every violation ("field: why; field: why").
absl::Status ViolationsToStatus(const std::vector<FieldViolation>& violations);

}  // namespace hub::intake

#endif  // HUB_SERVICES_INTAKE_VALIDATION_H_
