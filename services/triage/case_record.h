// Pure operations on triage's record of a case (hub.triage.v1.CaseRecord): applying an
// update, remembering which input events were applied, keeping the assessment history.
// The service reads a record from Redis, calls these, assesses, and writes it back.
#ifndef HUB_SERVICES_TRIAGE_CASE_RECORD_H_
#define HUB_SERVICES_TRIAGE_CASE_RECORD_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#include "hub/events/v1/events.pb.h"
#include "hub/triage/v1/triage.pb.h"
#include "services/triage/assessment.h"

namespace hub::triage {

// How many applied input event ids a record keeps.
inline constexpr int kAppliedEventsKept = 512;

bool IsApplied(const hub::triage::v1::CaseRecord& record, absl::string_view event_id);
// Remembers `event_id`, dropping the oldest past kAppliedEventsKept.
void MarkApplied(hub::triage::v1::CaseRecord* record, const std::string& event_id);

// Applies an update to the record's case (which must have its crime): a reclassification
// replaces the codes and flags; a victim record replaces the victim (and its sealed data
// and pseudonymous id); a consent change replaces the consent; a cancellation closes the
// case; a milestone is added. Returns the trigger of the re-assessment it calls for.
hub::events::v1::AssessmentTrigger ApplyUpdate(hub::triage::v1::CaseRecord* record,
                                               const hub::events::v1::CrimeUpdated& update,
                                               const std::string& event_id);

// The input for the next assessment of the record's case.
AssessmentInput NextInput(const hub::triage::v1::CaseRecord& record, absl::Time now,
                          hub::events::v1::AssessmentTrigger trigger,
                          const std::string& trigger_event_id, std::vector<PriorReport> history);

// Adds `assessment` to the history (without its crime) and advances the sequence.
void RecordAssessment(hub::triage::v1::CaseRecord* record,
                      const hub::events::v1::NeedsAssessed& assessment);

}  // namespace hub::triage

#endif  // HUB_SERVICES_TRIAGE_CASE_RECORD_H_
