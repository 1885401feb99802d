// The one thing every pipeline stage does after deciding: publish the event that carries
// its decision, then record the step in the case's live state.
//
// Order matters. The event goes to Kafka first (acks=all) because Kafka is the record;
// the live view in Redis is updated only once the event is durable, so Redis never shows
// a step the log does not have. Both effects are idempotent (the event id is derived
// from the input event; the case store drops an event id it has seen), so when the
// consumer redelivers a record after a crash, doing both again is harmless.
//
// Thread-safe.
#ifndef HUB_SERVICES_COMMON_STAGE_STAGE_H_
#define HUB_SERVICES_COMMON_STAGE_STAGE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#include "hub/events/v1/events.pb.h"
#include "services/common/casestate/case_store.h"
#include "services/common/events/cloudevents.h"
#include "services/common/kafka/kafka.h"

namespace hub::stage {

class StageRecorder {
 public:
  // Both must outlive the recorder.
  StageRecorder(kafka::Producer* producer, casestate::CaseStore* store,
                absl::Duration publish_timeout = absl::Seconds(30));

  // Publishes `event` and waits for it to be durable, then records `step`. kUnavailable
  // (retry) when either Kafka or Redis fails.
  absl::Status PublishThenRecord(kafka::OutgoingRecord event, const casestate::CaseStep& step);

 private:
  kafka::Producer* producer_;
  casestate::CaseStore* store_;
  absl::Duration publish_timeout_;
};

// What identifies one pipeline stage.
struct StageSpec {
  // "triage", "routing", "notification": the CloudEvents source and the history's service.
  const char* service;
  // Names the step in derived event ids, e.g. "triage/needs_assessed". Never change it:
  // a redelivered input must derive the same output id.
  const char* step;
  // ce_type of the event the stage publishes.
  const char* output_type;
  // The stage the case reaches.
  hub::cases::v1::Stage stage;
};

// The CrimeReported an event carries (itself, or the one inside an assessment or routing).
const hub::events::v1::CrimeReported& CrimeOf(const hub::events::v1::CrimeReported& event);
const hub::events::v1::CrimeReported& CrimeOf(const hub::events::v1::NeedsAssessed& event);
const hub::events::v1::CrimeReported& CrimeOf(const hub::events::v1::ReferralRouted& event);

// Parses a consumed record as `type` into `event` and checks what every stage relies on:
// a well-formed case id and exactly one victim. kInvalidArgument (the record goes to the
// dead-letter topic) otherwise.
template <typename Event>
absl::StatusOr<events::CloudEvent> ParseStageInput(const kafka::ConsumedRecord& record,
                                                   absl::string_view type, Event* event) {
  absl::StatusOr<events::CloudEvent> input = events::ParseRecord(record, type, event);
  if (!input.ok()) {
    return input.status();
  }
  if (absl::Status id = casestate::ValidateCaseId(event->case_id()); !id.ok()) {
    return id;
  }
  if (CrimeOf(*event).report().victims_size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, " must carry the crime with exactly one victim"));
  }
  return input;
}

// The event a stage publishes in response to `input`, and the step it records.
struct StageOutput {
  // Id derived from the input's id and the spec's step (redelivery republishes the same
  // id); trace continued from the input; stamped `now` by the hub clock.
  events::CloudEvent event;
  // Case, stage, service, event id and time filled in; the stage adds detail and
  // attributes.
  casestate::CaseStep step;
};
StageOutput BeginStep(const StageSpec& spec, const events::CloudEvent& input,
                      const std::string& case_id, absl::Time now);

}  // namespace hub::stage

#endif  // HUB_SERVICES_COMMON_STAGE_STAGE_H_
