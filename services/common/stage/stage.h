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

#include "absl/status/status.h"
#include "absl/time/time.h"

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

  // Records `step` alone (for a stage that publishes nothing).
  absl::Status Record(const casestate::CaseStep& step);

 private:
  kafka::Producer* producer_;
  casestate::CaseStore* store_;
  absl::Duration publish_timeout_;
};

// The CloudEvent a stage publishes in response to `input`: its id is derived from the
// input's id and `step` (so redelivery republishes the same id), its trace continues the
// input's trace, and it is stamped `now` by the hub clock.
events::CloudEvent NextEvent(const events::CloudEvent& input, absl::string_view service,
                             absl::string_view type, absl::string_view step, absl::Time now);

}  // namespace hub::stage

#endif  // HUB_SERVICES_COMMON_STAGE_STAGE_H_
