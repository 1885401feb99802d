#include "services/notification/outbox/message_store.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

#include "services/common/events/cloudevents.h"
#include "services/common/status/status_macros.h"

namespace hub::notification::outbox {
namespace {

// KEYS: message. ARGV: serialized message.
// Returns {1, 1, message} when written, {0, version, stored message} when it existed.
constexpr char kCreateScript[] = R"lua(
local stored = redis.call('HMGET', KEYS[1], 'version', 'message')
if stored[1] then
  return {0, tonumber(stored[1]), stored[2]}
end
redis.call('HSET', KEYS[1], 'version', 1, 'message', ARGV[1])
return {1, 1, ARGV[1]}
)lua";

// KEYS: message. ARGV: expected version, serialized message.
// Returns the new version, or 0 when the stored version is not the expected one.
constexpr char kReplaceScript[] = R"lua(
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if version ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'version', version + 1, 'message', ARGV[2])
return version + 1
)lua";

const redis::Script& CreateScript() {
  static const auto* script = new redis::Script(kCreateScript);
  return *script;
}

const redis::Script& ReplaceScript() {
  static const auto* script = new redis::Script(kReplaceScript);
  return *script;
}

absl::StatusOr<hub::notification::v1::OutgoingMessage> ParseMessage(absl::string_view id,
                                                                    const std::string& bytes) {
  hub::notification::v1::OutgoingMessage message;
  if (!message.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("notification message ", id, " does not parse"));
  }
  return message;
}

}  // namespace

absl::Status ValidateMessageId(absl::string_view field, absl::string_view message_id) {
  if (message_id.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": a message id is 32 hex digits, got ", message_id.size(), " bytes"));
  }
  for (char c : message_id) {
    if (!absl::ascii_isdigit(c) && (c < 'a' || c > 'f')) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": a message id is lower-case hex digits only"));
    }
  }
  return absl::OkStatus();
}

std::string MessageIdFor(absl::string_view cause_event_id, absl::string_view template_id,
                         absl::string_view recipient) {
  return events::Sha256Hex(absl::StrCat(cause_event_id, "\n", template_id, "\n", recipient))
      .substr(0, 32);
}

MessageStore::MessageStore(redis::RedisClient* redis, std::string ns)
    : redis_(redis), ns_(std::move(ns)) {}

std::string MessageStore::MessageKey(absl::string_view message_id) const {
  return absl::StrCat(ns_, ":notification:{msg:", message_id, "}");
}

std::string MessageStore::TasksKey() const { return absl::StrCat(ns_, ":notification:tasks"); }

absl::StatusOr<StoredMessage> MessageStore::Create(
    const hub::notification::v1::OutgoingMessage& message) {
  HUB_RETURN_IF_ERROR(ValidateMessageId("message_id", message.message_id()));
  HUB_ASSIGN_OR_RETURN(redis::Reply reply,
                       redis_->Eval(CreateScript(), {MessageKey(message.message_id())},
                                    {message.SerializeAsString()}));
  if (reply.type != redis::Reply::Type::kArray || reply.elements.size() != 3 ||
      reply.elements[0].type != redis::Reply::Type::kInteger ||
      reply.elements[1].type != redis::Reply::Type::kInteger) {
    return absl::InternalError("notification store: create: unexpected reply");
  }
  StoredMessage stored;
  stored.created = reply.elements[0].integer == 1;
  stored.version = reply.elements[1].integer;
  HUB_ASSIGN_OR_RETURN(stored.message, ParseMessage(message.message_id(), reply.elements[2].str));
  return stored;
}

absl::StatusOr<std::optional<StoredMessage>> MessageStore::Get(absl::string_view message_id) {
  HUB_RETURN_IF_ERROR(ValidateMessageId("message_id", message_id));
  HUB_ASSIGN_OR_RETURN(redis::Reply reply,
                       redis_->Command({"HMGET", MessageKey(message_id), "version", "message"}));
  if (reply.type != redis::Reply::Type::kArray || reply.elements.size() != 2) {
    return absl::InternalError("notification store: get: unexpected reply");
  }
  if (reply.elements[0].is_nil()) {
    return std::nullopt;
  }
  StoredMessage stored;
  if (!absl::SimpleAtoi(reply.elements[0].str, &stored.version)) {
    return absl::DataLossError(
        absl::StrCat("notification message ", message_id, " has no readable version"));
  }
  HUB_ASSIGN_OR_RETURN(stored.message, ParseMessage(message_id, reply.elements[1].str));
  return stored;
}

absl::StatusOr<std::optional<int64_t>> MessageStore::Replace(
    const hub::notification::v1::OutgoingMessage& message, int64_t expected_version) {
  HUB_RETURN_IF_ERROR(ValidateMessageId("message_id", message.message_id()));
  HUB_ASSIGN_OR_RETURN(redis::Reply reply,
                       redis_->Eval(ReplaceScript(), {MessageKey(message.message_id())},
                                    {absl::StrCat(expected_version), message.SerializeAsString()}));
  if (reply.type != redis::Reply::Type::kInteger) {
    return absl::InternalError("notification store: replace: unexpected reply");
  }
  if (reply.integer == 0) {
    return std::nullopt;
  }
  return reply.integer;
}

absl::Status MessageStore::AddTask(absl::string_view message_id, absl::Time due) {
  HUB_RETURN_IF_ERROR(ValidateMessageId("message_id", message_id));
  return redis_
      ->Command(
          {"ZADD", TasksKey(), absl::StrCat(absl::ToUnixMillis(due)), std::string(message_id)})
      .status();
}

absl::Status MessageStore::RemoveTask(absl::string_view message_id) {
  HUB_RETURN_IF_ERROR(ValidateMessageId("message_id", message_id));
  return redis_->Command({"ZREM", TasksKey(), std::string(message_id)}).status();
}

absl::StatusOr<std::vector<TaskEntry>> MessageStore::Tasks(int limit) {
  if (limit < 1) {
    return absl::InvalidArgumentError("limit: at least 1 task must be asked for");
  }
  HUB_ASSIGN_OR_RETURN(
      redis::Reply reply,
      redis_->Command({"ZRANGE", TasksKey(), "0", absl::StrCat(limit - 1), "WITHSCORES"}));
  std::vector<TaskEntry> tasks;
  tasks.reserve(reply.elements.size() / 2);
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    int64_t millis = 0;
    double score = 0;
    if (absl::SimpleAtod(reply.elements[i + 1].str, &score)) {
      millis = static_cast<int64_t>(score);
    }
    tasks.push_back({reply.elements[i].str, absl::FromUnixMillis(millis)});
  }
  return tasks;
}

absl::StatusOr<int64_t> MessageStore::TaskCount() {
  HUB_ASSIGN_OR_RETURN(redis::Reply reply, redis_->Command({"ZCARD", TasksKey()}));
  if (reply.type != redis::Reply::Type::kInteger) {
    return absl::InternalError("notification store: task count: unexpected reply");
  }
  return reply.integer;
}

}  // namespace hub::notification::outbox
