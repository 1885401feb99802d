#include "services/common/stage/stage.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

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
  absl::Time start = absl::Now();
  absl::Status published = producer_->ProduceSync(std::move(event), publish_timeout_);
  log::Debug(
      "stage event published",
      {{"case_id", step.case_id}, {"publish_ms", absl::ToDoubleMilliseconds(absl::Now() - start)}});
  if (!published.ok()) {
    return AsRetryable(published, "publish");
  }
  return Record(step);
}

absl::Status StageRecorder::Record(const casestate::CaseStep& step) {
  absl::StatusOr<bool> recorded = store_->RecordStep(step);
  return AsRetryable(recorded.status(), "record case step");
}

events::CloudEvent NextEvent(const events::CloudEvent& input, absl::string_view service,
                             absl::string_view type, absl::string_view step, absl::Time now) {
  events::CloudEvent next;
  next.id = events::DeriveEventId(input.id, step);
  next.source = absl::StrCat("/hub/", service);
  next.type = std::string(type);
  next.time = now;
  absl::StatusOr<events::TraceContext> trace = events::ParseTraceparent(input.traceparent);
  next.traceparent = trace.ok() ? events::ChildOf(*trace, step).ToTraceparent()
                                : events::NewTrace().ToTraceparent();
  return next;
}

}  // namespace hub::stage
