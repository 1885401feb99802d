#include "services/common/stage/stage.h"

#include <utility>

#include "absl/strings/str_cat.h"

#include "services/common/log/log.h"

namespace hub::stage {
namespace {

// A failed publish or store is worth retrying unless it was a bug in the step itself.
absl::Status AsRetryable(const absl::Status& status, absl::string_view what) {
  if (status.ok() || status.code() == absl::StatusCode::kInvalidArgument) {
    return status;
  }
  return absl::UnavailableError(absl::StrCat(what, ": ", status.message()));
}

}  // namespace

StageRecorder::StageRecorder(kafka::Producer* producer, casestate::CaseStore* store,
                             absl::Duration publish_timeout)
    : producer_(producer), store_(store), publish_timeout_(publish_timeout) {}

absl::Status StageRecorder::PublishThenRecord(kafka::OutgoingRecord event,
                                              const casestate::CaseStep& step) {
  absl::Status published = producer_->ProduceSync(std::move(event), publish_timeout_);
  if (!published.ok()) {
    return AsRetryable(published, "publish");
  }
  absl::StatusOr<bool> recorded = store_->RecordStep(step);
  if (recorded.ok()) {
    log::Debug("case step recorded", {{"case_id", step.case_id},
                                      {"event_id", step.event_id},
                                      {"stage", hub::cases::v1::Stage_Name(step.stage)}});
  }
  return AsRetryable(recorded.status(), "record case step");
}

const hub::events::v1::CrimeReported& CrimeOf(const hub::events::v1::CrimeReported& event) {
  return event;
}
const hub::events::v1::CrimeReported& CrimeOf(const hub::events::v1::NeedsAssessed& event) {
  return event.crime();
}
const hub::events::v1::CrimeReported& CrimeOf(const hub::events::v1::ReferralRouted& event) {
  return event.assessment().crime();
}

StageOutput BeginStep(const StageSpec& spec, const events::CloudEvent& input,
                      const std::string& case_id, absl::Time now) {
  StageOutput output;
  output.event.id = events::DeriveEventId(input.id, spec.step);
  output.event.source = absl::StrCat("/hub/", spec.service);
  output.event.type = spec.output_type;
  output.event.time = now;
  absl::StatusOr<events::TraceContext> trace = events::ParseTraceparent(input.traceparent);
  output.event.traceparent = trace.ok() ? events::ChildOf(*trace, spec.step).ToTraceparent()
                                        : events::NewTrace().ToTraceparent();
  output.step.case_id = case_id;
  output.step.stage = spec.stage;
  output.step.service = spec.service;
  output.step.event_id = output.event.id;
  output.step.recorded_at = now;
  return output;
}

}  // namespace hub::stage
