#include "services/triage/triage_service.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"

#include "hub/events/v1/events.pb.h"
#include "services/common/events/topics.h"
#include "services/common/log/log.h"
#include "services/triage/assessment.h"

namespace hub::triage {

TriageService::TriageService(runtime::ServiceContext& context)
    : context_(context),
      store_(context.redis, context.config.ns),
      recorder_(context.producer, &store_) {}

std::vector<std::string> TriageService::ConsumedTopics() {
  return {context_.topics.crime_reported};
}

absl::Status TriageService::Handle(const kafka::ConsumedRecord& record) {
  hub::events::v1::CrimeReported crime;
  absl::StatusOr<events::CloudEvent> input =
      events::ParseRecord(record, events::kCrimeReportedType, &crime);
  if (!input.ok()) {
    return input.status();
  }
  if (absl::Status id = casestate::ValidateCaseId(crime.case_id()); !id.ok()) {
    return id;
  }
  if (crime.report().victims_size() != 1) {
    return absl::InvalidArgumentError("CrimeReported must carry exactly one victim");
  }
  absl::Time now = context_.clock->Now();
  hub::events::v1::NeedsAssessed assessment = Assess(crime, now);
  events::CloudEvent output =
      stage::NextEvent(*input, "triage", events::kNeedsAssessedType, "triage/needs_assessed", now);

  casestate::CaseStep step;
  step.case_id = crime.case_id();
  step.stage = hub::cases::v1::STAGE_ASSESSED;
  step.service = "triage";
  step.event_id = output.id;
  step.recorded_at = now;
  std::string priority = hub::events::v1::Priority_Name(assessment.priority());
  std::string due = google::protobuf::util::TimeUtil::ToString(assessment.referral_due());
  step.detail = absl::StrCat("assessed: ", priority, assessment.enhanced() ? ", enhanced" : "",
                             assessment.consent_required() ? ", explicit consent required" : "",
                             "; referral due ", due);
  step.attributes = {{"priority", priority},
                     {"enhanced", assessment.enhanced() ? "true" : "false"},
                     {"consent_required", assessment.consent_required() ? "true" : "false"},
                     {"needs", absl::StrJoin(assessment.needs(), ",")},
                     {"referral_due", due},
                     {"rules_version", assessment.rules_version()}};
  absl::Status done = recorder_.PublishThenRecord(
      events::MakeRecord(context_.topics.needs_assessed, crime.case_id(), assessment, output),
      step);
  if (done.ok()) {
    log::Debug("case assessed", {{"case_id", crime.case_id()}, {"event_id", output.id}});
  }
  return done;
}

}  // namespace hub::triage
