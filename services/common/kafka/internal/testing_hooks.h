// Test-only hooks into the librdkafka-backed Producer and ConsumerLoop.
//
// Unit tests use them to exercise the fatal-error paths (which a healthy broker never
// produces) and to observe that a producer handle was recreated. Production code must not
// call them. Thread-safe: they may be called while the producer or loop is in use.
#ifndef HUB_SERVICES_COMMON_KAFKA_INTERNAL_TESTING_HOOKS_H_
#define HUB_SERVICES_COMMON_KAFKA_INTERNAL_TESTING_HOOKS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "services/common/kafka/kafka.h"

namespace hub::kafka::internal {

// Raises a librdkafka fatal error (as an idempotence violation would) on the producer's
// current handle. kInvalidArgument if `producer` was not made by CreateProducer.
absl::Status TriggerFatalErrorForTesting(Producer& producer);

// How many librdkafka handles the producer has created so far (1 + recreations).
absl::StatusOr<int> HandleGenerationsForTesting(Producer& producer);

// Raises a librdkafka fatal error on the loop's consumer; Run() then returns kInternal.
// kInvalidArgument if `loop` was not made by CreateConsumerLoop.
absl::Status TriggerFatalErrorForTesting(ConsumerLoop& loop);

}  // namespace hub::kafka::internal

#endif  // HUB_SERVICES_COMMON_KAFKA_INTERNAL_TESTING_HOOKS_H_
