#include "services/triage/triage_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"

#include "hub/events/v1/events.pb.h"
#include "services/common/events/topics.h"
#include "services/triage/assessment.h"

namespace hub::triage {
namespace {

constexpr stage::StageSpec kStage{"triage", "triage/needs_assessed", events::kNeedsAssessedType,
                                  hub::cases::v1::STAGE_ASSESSED};

}  // namespace

TriageService::TriageService(runtime::ServiceContext& context, workdays::WorkingCalendar calendar)
    : context_(context),
      calendar_(std::move(calendar)),
      store_(context.redis, context.config.ns),
      recorder_(context.producer, &store_) {}

std::vector<std::string> TriageService::ConsumedTopics() {
  return {context_.topics.crime_reported};
}

absl::Status TriageService::Handle(const kafka::ConsumedRecord& record) {
  hub::events::v1::CrimeReported crime;
  absl::StatusOr<events::CloudEvent> input =
      stage::ParseStageInput(record, events::kCrimeReportedType, &crime);
  if (!input.ok()) {
    return input.status();
  }
  absl::Time now = context_.clock->Now();
  hub::events::v1::NeedsAssessed assessment = Assess(crime, now, calendar_);
  stage::StageOutput output = stage::BeginStep(kStage, *input, crime.case_id(), now);
  std::string priority = hub::events::v1::Priority_Name(assessment.priority());
  std::string due = google::protobuf::util::TimeUtil::ToString(assessment.referral_due());
  output.step.detail = absl::StrCat(
      "assessed: ", priority, assessment.enhanced() ? ", enhanced" : "",
      assessment.consent_required() ? ", explicit consent required" : "", "; referral due ", due);
  output.step.attributes = {{"priority", priority},
                            {"enhanced", assessment.enhanced() ? "true" : "false"},
                            {"consent_required", assessment.consent_required() ? "true" : "false"},
                            {"needs", absl::StrJoin(assessment.needs(), ",")},
                            {"referral_due", due},
                            {"rules_version", assessment.rules_version()}};
  return recorder_.PublishThenRecord(
      events::MakeRecord(context_.topics.needs_assessed, crime.case_id(), assessment, output.event),
      output.step);
}

}  // namespace hub::triage
