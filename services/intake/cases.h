// Turning one crime report into one case per victim (Home Office Counting Rules: one
// crime per victim), with stable case ids.
//
// A case id depends only on the force, the force's crime reference and the victim's
// reference, so the same victim of the same crime arriving again (a resubmission, or
// the same crime from a second feed) maps to the same case. Pure and thread-safe.
#ifndef HUB_SERVICES_INTAKE_CASES_H_
#define HUB_SERVICES_INTAKE_CASES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"

#include "hub/events/v1/events.pb.h"
#include "hub/intake/v1/intake.pb.h"

namespace hub::intake {

// "c_" and 24 hex digits of SHA-256 over force, crime reference and victim reference.
std::string CaseIdFor(absl::string_view force_code, absl::string_view crime_reference,
                      absl::string_view victim_ref);

// One CrimeReported per victim, in the report's order, each carrying the whole report
// with only that victim.
std::vector<hub::events::v1::CrimeReported> SplitIntoCases(
    const hub::intake::v1::CrimeReport& report, absl::Time received_at,
    absl::string_view submitted_by);

// A digest of a request's content, to tell a true resubmission from a different request
// reusing a source_event_id. Deterministic serialisation, so equal messages hash equal.
std::string ContentDigest(const google::protobuf::Message& message);

// "s_" and 24 hex digits of SHA-256 over the caller and the caller's referral id.
std::string SelfReferralCaseId(absl::string_view principal, absl::string_view referral_id);

// The case a self-referral opens, in the same shape as a police report's so every stage
// handles both: source_system "self-referral", source_event_id the referral id,
// crime_reference the given one or the case id, reported_at the time it arrived (the
// Victims' Code counts a self-referral from the day it arrives), no offence code, the
// victim with victim_ref "self" when empty and consent GIVEN by the victim (scope
// ALL_PROVIDERS) when the referral did not state it. origin ORIGIN_SELF_REFERRAL.
hub::events::v1::CrimeReported SelfReferralToCase(const hub::intake::v1::SelfReferral& referral,
                                                  absl::Time received_at,
                                                  absl::string_view submitted_by);

}  // namespace hub::intake

#endif  // HUB_SERVICES_INTAKE_CASES_H_
