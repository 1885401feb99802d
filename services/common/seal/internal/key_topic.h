// Direct librdkafka access to the key topic, for the two things the hub's kafka::Producer
// and ConsumerLoop do not do: producing records with a null value (tombstones, the roll
// marker) and reading a whole topic from its beginning to its current end outside any
// consumer group.
//
// Private to services/common/seal (KeyStore). kafka::OutgoingRecord has no null value
// (an empty value is sent as an empty, not null, payload), so when the kafka library
// grows one, NullRecordWriter can go.
//
// Thread safety: NullRecordWriter is thread-safe (calls are serialised). ReadTopic is a
// free function that owns its consumer.
#ifndef HUB_SERVICES_COMMON_SEAL_INTERNAL_KEY_TOPIC_H_
#define HUB_SERVICES_COMMON_SEAL_INTERNAL_KEY_TOPIC_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include <librdkafka/rdkafkacpp.h>

namespace hub::seal::internal {

// Produces null-value records on an idempotent producer with acks=all.
class NullRecordWriter {
 public:
  // Connects lazily: creating the writer only configures the handle.
  static absl::StatusOr<std::unique_ptr<NullRecordWriter>> Create(
      const std::string& bootstrap_servers, const std::string& client_id);
  ~NullRecordWriter();

  NullRecordWriter(const NullRecordWriter&) = delete;
  NullRecordWriter& operator=(const NullRecordWriter&) = delete;

  // Produces one null-value record per key to `topic` and waits until the broker
  // acknowledged every one (acks=all), at most `timeout`. kDeadlineExceeded if some were
  // not reported in time (they may still be stored later: the call is safe to repeat);
  // the first failure otherwise.
  absl::Status Produce(const std::string& topic, const std::vector<std::string>& keys,
                       absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  class DeliveryReports;
  NullRecordWriter(std::unique_ptr<DeliveryReports> reports,
                   std::unique_ptr<RdKafka::Producer> handle);

  absl::Mutex mu_;
  const std::unique_ptr<DeliveryReports> reports_;
  const std::unique_ptr<RdKafka::Producer> handle_ ABSL_PT_GUARDED_BY(mu_);
};

// Calls `visit` for every record of every partition of `topic`, from the beginning to the
// end offsets the topic had when the read started, in offset order per partition. `value`
// is std::nullopt for a tombstone. kDeadlineExceeded if the end was not reached within
// `timeout`; kNotFound if the topic does not exist.
absl::Status ReadTopic(const std::string& bootstrap_servers, const std::string& topic,
                       absl::Duration timeout,
                       const std::function<void(const std::string& key,
                                                const std::optional<std::string>& value)>& visit);

}  // namespace hub::seal::internal

#endif  // HUB_SERVICES_COMMON_SEAL_INTERNAL_KEY_TOPIC_H_
