// The Initial Victim Needs Assessment: enhanced entitlement (every category that applies),
// consent and what routing may do, risk and priority, need domains, and the Victims' Code
// deadlines, each conclusion with the rule that reached it and a reason a caseworker can
// read.
//
// Assess() is pure: everything it reads is in its arguments (the rule book, the case as
// it stands, the victim's report history, staff requests and milestones), so the same
// input gives the same assessment, a re-assessment is the same call with more input, and
// `hubctl triage --explain` runs exactly what the service runs. Thread-safe.
#ifndef HUB_SERVICES_TRIAGE_ASSESSMENT_H_
#define HUB_SERVICES_TRIAGE_ASSESSMENT_H_

#include <string>
#include <vector>

#include "absl/time/time.h"

#include "hub/events/v1/events.pb.h"
#include "services/triage/rules.h"

namespace hub::triage {

// One earlier report against the same victim (matched by pseudonymous id).
struct PriorReport {
  std::string case_id;
  absl::Time reported_at;
  // Its crime category as assessed (offence table id).
  std::string category;
};

// A milestone intake received for the case.
struct MilestoneRecord {
  hub::intake::v1::Milestone milestone;
  // The CrimeUpdated event's id.
  std::string event_id;
};

// Everything an assessment reads besides the rule book.
struct AssessmentInput {
  // The case: the first CrimeReported with every update applied (reclassification, victim
  // record, consent).
  hub::events::v1::CrimeReported crime;
  // Stamps the assessment.
  absl::Time now;
  int sequence = 1;
  hub::events::v1::AssessmentTrigger trigger = hub::events::v1::ASSESSMENT_TRIGGER_INITIAL;
  std::string trigger_event_id;
  // Other cases of the same victim (this case may be among them; it is counted once).
  std::vector<PriorReport> history;
  // Staff re-assessment requests, oldest first.
  std::vector<hub::events::v1::ReassessmentRequested> requests;
  // Milestones, oldest first.
  std::vector<MilestoneRecord> milestones;
  // Set when the crime was cancelled, no-crimed or transferred.
  hub::intake::v1::CancellationReason cancellation =
      hub::intake::v1::CANCELLATION_REASON_UNSPECIFIED;
};

// Assesses the case. `input.crime` is copied into the result.
hub::events::v1::NeedsAssessed Assess(const RuleBook& book, const AssessmentInput& input);
// The same, into `out` (which must be empty): lets the caller place the result on a
// protobuf Arena, which the service does (one arena per assessment; most of an
// assessment's cost is allocating its explanations).
void Assess(const RuleBook& book, const AssessmentInput& input,
            hub::events::v1::NeedsAssessed* out);
// The same, moving `input.crime` into the result instead of copying it.
hub::events::v1::NeedsAssessed Assess(const RuleBook& book, AssessmentInput&& input);

// The crime category Assess() gives the case (offence table id): what the victim's report
// history records for later assessments.
std::string CrimeCategory(const RuleBook& book, const hub::events::v1::CrimeReported& crime);

}  // namespace hub::triage

#endif  // HUB_SERVICES_TRIAGE_ASSESSMENT_H_
