#include "services/triage/case_record.h"

#include <algorithm>
#include <utility>

namespace hub::triage {

using hub::events::v1::AssessmentTrigger;
using hub::events::v1::CrimeUpdated;
using hub::intake::v1::CrimeUpdate;
using hub::triage::v1::CaseRecord;

bool IsApplied(const CaseRecord& record, absl::string_view event_id) {
  return std::find(record.applied_event_ids().begin(), record.applied_event_ids().end(),
                   event_id) != record.applied_event_ids().end();
}

void MarkApplied(CaseRecord* record, const std::string& event_id) {
  if (IsApplied(*record, event_id)) {
    return;
  }
  record->add_applied_event_ids(event_id);
  auto* ids = record->mutable_applied_event_ids();
  if (ids->size() > kAppliedEventsKept) {
    ids->erase(ids->begin(), ids->begin() + (ids->size() - kAppliedEventsKept));
  }
}

AssessmentTrigger ApplyUpdate(CaseRecord* record, const CrimeUpdated& event,
                              const std::string& event_id) {
  hub::intake::v1::CrimeReport* report = record->mutable_crime()->mutable_report();
  hub::intake::v1::Victim* victim =
      report->victims_size() > 0 ? report->mutable_victims(0) : report->add_victims();
  const CrimeUpdate& update = event.update();
  switch (update.change_case()) {
    case CrimeUpdate::kReclassification:
      report->set_offence_class_code(update.reclassification().offence_class_code());
      report->set_cjs_offence_code(update.reclassification().cjs_offence_code());
      *report->mutable_flags() = update.reclassification().flags();
      return hub::events::v1::ASSESSMENT_TRIGGER_RECLASSIFICATION;
    case CrimeUpdate::kVictim: {
      *victim = update.victim();
      hub::events::v1::CrimeReported* crime = record->mutable_crime();
      if (event.has_personal_data()) {
        *crime->mutable_personal_data() = event.personal_data();
      }
      if (!event.pseudonymous_victim_id().empty()) {
        crime->set_pseudonymous_victim_id(event.pseudonymous_victim_id());
      }
      return hub::events::v1::ASSESSMENT_TRIGGER_VICTIM_UPDATE;
    }
    case CrimeUpdate::kConsent:
      *victim->mutable_consent() = update.consent().consent();
      return hub::events::v1::ASSESSMENT_TRIGGER_CONSENT_CHANGE;
    case CrimeUpdate::kCancellation:
      record->set_cancellation(update.cancellation().reason());
      return hub::events::v1::ASSESSMENT_TRIGGER_CANCELLATION;
    case CrimeUpdate::kMilestone: {
      auto* entry = record->add_milestones();
      *entry->mutable_milestone() = update.milestone();
      entry->set_event_id(event_id);
      return hub::events::v1::ASSESSMENT_TRIGGER_MILESTONE;
    }
    case CrimeUpdate::CHANGE_NOT_SET:
      break;
  }
  return hub::events::v1::ASSESSMENT_TRIGGER_UNSPECIFIED;
}

AssessmentInput NextInput(const CaseRecord& record, absl::Time now, AssessmentTrigger trigger,
                          const std::string& trigger_event_id, std::vector<PriorReport> history) {
  AssessmentInput input;
  input.crime = record.crime();
  input.now = now;
  input.sequence = record.sequence() + 1;
  input.trigger = trigger;
  input.trigger_event_id = trigger_event_id;
  input.history = std::move(history);
  input.requests.assign(record.requests().begin(), record.requests().end());
  for (const auto& entry : record.milestones()) {
    input.milestones.push_back(MilestoneRecord{entry.milestone(), entry.event_id()});
  }
  input.cancellation = record.cancellation();
  return input;
}

void RecordAssessment(CaseRecord* record, const hub::events::v1::NeedsAssessed& assessment) {
  hub::events::v1::NeedsAssessed* kept = record->add_assessments();
  *kept = assessment;
  kept->clear_crime();
  record->set_sequence(assessment.sequence());
}

}  // namespace hub::triage
