// Where notification keeps each message it means to send: one OutgoingMessage
// (protos/hub/notification/v1/notification.proto) per message id, in Redis, changed only by
// compare-and-set on a version number, so two handlers (a timer fired twice, a crashed
// sender's successor) can never both move a message on.
//
// Keys (every key of one message shares the hash tag {msg:<id>}, one Redis Cluster slot):
//   <ns>:notification:{msg:<id>}   hash: version (1, 2, ...), message (the serialized
//                                  OutgoingMessage: sealed personal data only)
//   <ns>:notification:tasks        sorted set: ids of messages waiting for Hub staff (call
//                                  tasks and email checks), scored by when (unix ms)
// Create is idempotent (the first write wins and a repeat gets the stored message back);
// Replace succeeds only against the version it read. Thread-safe (the Redis client is).
#ifndef HUB_SERVICES_NOTIFICATION_OUTBOX_MESSAGE_STORE_H_
#define HUB_SERVICES_NOTIFICATION_OUTBOX_MESSAGE_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#include "hub/notification/v1/notification.pb.h"
#include "services/common/redis/redis_client.h"

namespace hub::notification::outbox {

struct StoredMessage {
  hub::notification::v1::OutgoingMessage message;
  int64_t version = 0;
  // Create: this call wrote it (false: it was there already).
  bool created = false;
};

// A staff task: a message whose delivery needs a person.
struct TaskEntry {
  std::string message_id;
  absl::Time due;
};

class MessageStore {
 public:
  // `redis` must outlive the store.
  MessageStore(redis::RedisClient* redis, std::string ns);

  // Stores `message` (version 1) unless its id exists; either way returns what is stored.
  // kInvalidArgument for an id that is not 32 lower-case hex digits.
  absl::StatusOr<StoredMessage> Create(const hub::notification::v1::OutgoingMessage& message);

  // nullopt when there is no such message.
  absl::StatusOr<std::optional<StoredMessage>> Get(absl::string_view message_id);

  // Writes `message` if the stored version is still `expected_version`: the new version,
  // or nullopt (nothing written) when someone else changed it first.
  absl::StatusOr<std::optional<int64_t>> Replace(
      const hub::notification::v1::OutgoingMessage& message, int64_t expected_version);

  // The staff task list. Adding twice keeps one entry (the later due time).
  absl::Status AddTask(absl::string_view message_id, absl::Time due);
  absl::Status RemoveTask(absl::string_view message_id);
  // Oldest first.
  absl::StatusOr<std::vector<TaskEntry>> Tasks(int limit);
  // How many tasks are open.
  absl::StatusOr<int64_t> TaskCount();

  std::string MessageKey(absl::string_view message_id) const;
  std::string TasksKey() const;

 private:
  redis::RedisClient* redis_;
  const std::string ns_;
};

// 32 lower-case hex digits; kInvalidArgument naming `field` otherwise.
absl::Status ValidateMessageId(absl::string_view field, absl::string_view message_id);

// The stable id of a message: the first 32 hex digits of SHA-256 over the cause's event
// id, the template and the recipient (e.g. "victim", or a provider id).
std::string MessageIdFor(absl::string_view cause_event_id, absl::string_view template_id,
                         absl::string_view recipient);

}  // namespace hub::notification::outbox

#endif  // HUB_SERVICES_NOTIFICATION_OUTBOX_MESSAGE_STORE_H_
