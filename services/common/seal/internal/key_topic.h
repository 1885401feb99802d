// Direct librdkafka access to the key topic, for the one thing the hub's ConsumerLoop does
// not do: reading a whole topic, tombstones included, from its beginning to its current
// end outside any consumer group.
//
// Private to services/common/seal (KeyStore). ReadTopic owns its consumer; thread-safe.
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
