// Test-only hooks into the librdkafka-backed Producer returned by CreateProducer.
//
// Unit tests use them to exercise the fatal-error path (which a healthy broker never
// produces) and to observe that the handle was recreated. Production code must not call
// them. Thread-safe like the producer itself.
#ifndef HUB_SERVICES_COMMON_KAFKA_INTERNAL_PRODUCER_TESTING_H_
#define HUB_SERVICES_COMMON_KAFKA_INTERNAL_PRODUCER_TESTING_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "services/common/kafka/kafka.h"

namespace hub::kafka::internal {

// Raises a librdkafka fatal error (as an idempotence violation would) on the producer's
// current handle. kInvalidArgument if `producer` was not made by CreateProducer.
absl::Status TriggerFatalErrorForTesting(Producer& producer);

// How many librdkafka handles the producer has created so far (1 + recreations).
absl::StatusOr<int> HandleGenerationsForTesting(Producer& producer);

}  // namespace hub::kafka::internal

#endif  // HUB_SERVICES_COMMON_KAFKA_INTERNAL_PRODUCER_TESTING_H_
