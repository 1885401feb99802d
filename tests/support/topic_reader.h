// Reading a whole topic back in tests: every record from the beginning of each partition
// to where the partition ended when the read started, with key, value and headers, so a
// test can count what a service published and parse it (events::ParseRecord).
//
// Each call makes its own short-lived consumer that only assigns partitions and never
// commits, so it leaves no state on the broker. Thread-safe (calls share nothing).
#ifndef HUB_TESTS_SUPPORT_TOPIC_READER_H_
#define HUB_TESTS_SUPPORT_TOPIC_READER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include <librdkafka/rdkafkacpp.h>

#include "services/common/kafka/kafka.h"

namespace hub::testing {

// A consumed librdkafka message as the hub's ConsumedRecord: topic, partition, offset, key,
// value, headers and timestamp, copied.
kafka::ConsumedRecord ToConsumedRecord(RdKafka::Message& message);

// Every record of `topic`, partition by partition in offset order. kNotFound when the
// topic does not exist; kDeadlineExceeded when the records were not all read within
// `timeout`; kUnavailable for other broker errors.
// The low and high watermarks of one partition. A topic created a moment ago may not have
// a leader for every partition yet (NOT_LEADER, LEADER_NOT_AVAILABLE, a timeout or a
// transport error), so those answers are retried until `deadline`; anything else, or the
// deadline, is kUnavailable naming the topic and the broker's error.
struct Watermarks {
  int64_t low = 0;
  int64_t high = 0;
};
absl::StatusOr<Watermarks> QueryWatermarks(RdKafka::KafkaConsumer& consumer,
                                           const std::string& topic, int32_t partition,
                                           absl::Time deadline);

absl::StatusOr<std::vector<kafka::ConsumedRecord>> ReadWholeTopic(
    const std::string& bootstrap_servers, const std::string& topic,
    absl::Duration timeout = absl::Seconds(20));

}  // namespace hub::testing

#endif  // HUB_TESTS_SUPPORT_TOPIC_READER_H_
