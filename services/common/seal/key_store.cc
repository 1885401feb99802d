#include "services/common/seal/key_store.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"

#include "hub/seal/v1/seal.pb.h"
#include "services/common/seal/internal/key_topic.h"
#include "services/common/status/status_macros.h"

namespace hub::seal {
namespace {

using redis::Reply;

constexpr size_t kKeyIdHexDigits = 32;
constexpr size_t kGenerationHexDigits = 16;
// Scripts sent in one pipeline round trip while rebuilding the index.
constexpr size_t kRebuildBatch = 256;

// The current generation and its wrapped key, or nil when the key has none.
const redis::Script& ReadCurrentScript() {
  static const auto* script = new redis::Script(R"lua(
local current = redis.call('HGET', KEYS[1], 'current')
if not current then return false end
return {current, redis.call('HGET', KEYS[1], 'g:' .. current)}
)lua");
  return *script;
}

// Indexes a new generation (ARGV[1], wrapped key ARGV[2]) and makes it current only if
// no generation is; returns the current generation and its wrapped key.
const redis::Script& ClaimScript() {
  static const auto* script = new redis::Script(R"lua(
redis.call('HSET', KEYS[1], 'g:' .. ARGV[1], ARGV[2])
local current = redis.call('HGET', KEYS[1], 'current')
if not current then
  redis.call('HSET', KEYS[1], 'current', ARGV[1])
  return {ARGV[1], ARGV[2]}
end
return {current, redis.call('HGET', KEYS[1], 'g:' .. current)}
)lua");
  return *script;
}

// Removes the erased generations ARGV[1..] (and "current" if it is one of them).
const redis::Script& ForgetScript() {
  static const auto* script = new redis::Script(R"lua(
local current = redis.call('HGET', KEYS[1], 'current')
for _, generation in ipairs(ARGV) do
  redis.call('HDEL', KEYS[1], 'g:' .. generation)
  if current == generation then
    redis.call('HDEL', KEYS[1], 'current')
  end
end
return redis.call('HLEN', KEYS[1])
)lua");
  return *script;
}

// Applies what the topic says about one key: ARGV[1] = n live generations, then n pairs
// (generation, wrapped key) in record order, then the tombstoned generations. A
// generation the topic does not mention (created concurrently) is left alone.
const redis::Script& RebuildScript() {
  static const auto* script = new redis::Script(R"lua(
local n = tonumber(ARGV[1])
local current = redis.call('HGET', KEYS[1], 'current')
for i = 2 + 2 * n, #ARGV do
  redis.call('HDEL', KEYS[1], 'g:' .. ARGV[i])
  if current == ARGV[i] then
    redis.call('HDEL', KEYS[1], 'current')
    current = false
  end
end
for i = 0, n - 1 do
  redis.call('HSET', KEYS[1], 'g:' .. ARGV[2 + 2 * i], ARGV[3 + 2 * i])
end
if n > 0 and not current then
  redis.call('HSET', KEYS[1], 'current', ARGV[2 * n])
end
return n
)lua");
  return *script;
}

bool IsLowerHex(absl::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
  });
}

// A (generation, wrapped key) pair from ReadCurrentScript or ClaimScript.
absl::StatusOr<std::pair<std::string, std::string>> GenerationAndValue(const Reply& reply,
                                                                       absl::string_view key_id) {
  if (reply.type != Reply::Type::kArray || reply.elements.size() != 2 ||
      reply.elements[0].type != Reply::Type::kString ||
      reply.elements[1].type != Reply::Type::kString) {
    return absl::DataLossError(
        absl::StrCat("key index of ", key_id, " names a current generation it does not hold"));
  }
  return std::make_pair(reply.elements[0].str, reply.elements[1].str);
}

// What the topic says about one key id, in record order.
struct TopicKey {
  // Live generations, in the order of their last record.
  std::vector<std::pair<std::string, std::string>> live;
  std::vector<std::string> dead;
};

}  // namespace

absl::Status ValidateKeyId(absl::string_view key_id) {
  if (!absl::StartsWith(key_id, "vk_") || key_id.size() != 3 + kKeyIdHexDigits ||
      !IsLowerHex(key_id.substr(3))) {
    return absl::InvalidArgumentError("a key id must be \"vk_\" and 32 lower-case hex digits");
  }
  return absl::OkStatus();
}

absl::Status ValidateGeneration(absl::string_view generation) {
  if (generation.size() != kGenerationHexDigits || !IsLowerHex(generation)) {
    return absl::InvalidArgumentError("a key generation must be 16 lower-case hex digits");
  }
  return absl::OkStatus();
}

KeyStore::KeyStore(MasterKey master, kafka::Producer* producer, redis::RedisClient* redis,
                   std::shared_ptr<clock::Clock> clock, Options options)
    : master_(std::move(master)),
      producer_(producer),
      redis_(redis),
      clock_(std::move(clock)),
      options_(std::move(options)) {}

KeyStore::~KeyStore() = default;

std::string KeyStore::IndexKey(absl::string_view key_id) const {
  return absl::StrCat(options_.ns, ":key:{", key_id, "}");
}

std::string KeyStore::IndexedMarkerKey() const {
  return absl::StrCat(options_.ns, ":keys:indexed");
}

absl::StatusOr<DataKey> KeyStore::UnwrapRecord(absl::string_view key_id,
                                               absl::string_view generation,
                                               absl::string_view serialized) const {
  hub::seal::v1::WrappedKey wrapped;
  if (!wrapped.ParseFromArray(serialized.data(), static_cast<int>(serialized.size())) ||
      wrapped.key_id() != key_id || wrapped.key_generation() != generation) {
    return absl::DataLossError(absl::StrCat("key index holds a malformed record for ", key_id,
                                            " generation ", generation));
  }
  return Unwrap(master_, wrapped);
}

void KeyStore::GetOrCreateAsync(absl::string_view key_id,
                                std::function<void(absl::StatusOr<DataKey>)> done) {
  if (absl::Status valid = ValidateKeyId(key_id); !valid.ok()) {
    done(valid);
    return;
  }
  absl::StatusOr<Reply> reply = redis_->Eval(ReadCurrentScript(), {IndexKey(key_id)}, {});
  if (!reply.ok()) {
    done(reply.status());
    return;
  }
  if (reply->is_nil()) {
    Create(std::string(key_id), std::move(done));
    return;
  }
  absl::StatusOr<std::pair<std::string, std::string>> current = GenerationAndValue(*reply, key_id);
  if (!current.ok()) {
    done(current.status());
    return;
  }
  done(UnwrapRecord(key_id, current->first, current->second));
}

void KeyStore::Create(const std::string& key_id,
                      std::function<void(absl::StatusOr<DataKey>)> done) {
  absl::StatusOr<DataKey> key = NewDataKey(key_id);
  if (!key.ok()) {
    done(key.status());
    return;
  }
  absl::StatusOr<hub::seal::v1::WrappedKey> wrapped = Wrap(master_, *key, clock_->Now());
  if (!wrapped.ok()) {
    done(wrapped.status());
    return;
  }
  std::string value;
  if (!wrapped->SerializeToString(&value)) {
    done(absl::InternalError("a wrapped key did not serialize"));
    return;
  }
  kafka::OutgoingRecord record;
  record.topic = options_.topic;
  record.key = absl::StrCat(key_id, "/", key->generation);
  record.value = value;
  auto after_delivery = [this, data_key = *std::move(key), wrapped_value = std::move(value),
                         on_done = std::move(done)](const absl::Status& delivered) {
    if (!delivered.ok()) {
      on_done(delivered);
      return;
    }
    // Durable now; index it, unless another creator's generation won.
    absl::StatusOr<Reply> reply = redis_->Eval(ClaimScript(), {IndexKey(data_key.key_id)},
                                               {data_key.generation, wrapped_value});
    if (!reply.ok()) {
      on_done(reply.status());
      return;
    }
    absl::StatusOr<std::pair<std::string, std::string>> current =
        GenerationAndValue(*reply, data_key.key_id);
    if (!current.ok()) {
      on_done(current.status());
      return;
    }
    if (current->first == data_key.generation) {
      on_done(data_key);
      return;
    }
    on_done(UnwrapRecord(data_key.key_id, current->first, current->second));
  };
  producer_->Produce(std::move(record), [this, after_delivery = std::move(after_delivery)](
                                            const absl::Status& delivered) mutable {
    if (!options_.executor) {
      after_delivery(delivered);
      return;
    }
    options_.executor([after_delivery = std::move(after_delivery), delivered]() mutable {
      after_delivery(delivered);
    });
  });
}

absl::StatusOr<DataKey> KeyStore::GetOrCreate(absl::string_view key_id) {
  struct State {
    absl::Notification done;
    absl::StatusOr<DataKey> result = absl::UnknownError("not finished");
  };
  auto state = std::make_shared<State>();
  GetOrCreateAsync(key_id, [state](absl::StatusOr<DataKey> result) {
    state->result = std::move(result);
    state->done.Notify();
  });
  if (!state->done.WaitForNotificationWithTimeout(options_.kafka_timeout)) {
    return absl::DeadlineExceededError(absl::StrCat("data key ", key_id, " not ready within ",
                                                    absl::FormatDuration(options_.kafka_timeout)));
  }
  return std::move(state->result);
}

absl::StatusOr<DataKey> KeyStore::Get(absl::string_view key_id, absl::string_view generation) {
  HUB_RETURN_IF_ERROR(ValidateKeyId(key_id));
  HUB_RETURN_IF_ERROR(ValidateGeneration(generation));
  HUB_ASSIGN_OR_RETURN(Reply reply,
                       redis_->Command({"HGET", IndexKey(key_id), absl::StrCat("g:", generation)}));
  if (reply.is_nil()) {
    return absl::NotFoundError(
        absl::StrCat("data key ", key_id, " generation ", generation, " does not exist"));
  }
  if (reply.type != Reply::Type::kString) {
    return absl::InternalError("unexpected Redis reply to HGET");
  }
  return UnwrapRecord(key_id, generation, reply.str);
}

absl::Status KeyStore::ProduceTombstones(const std::vector<std::string>& record_keys) {
  struct Pending {
    absl::Mutex mu;
    size_t outstanding ABSL_GUARDED_BY(mu) = 0;
    absl::Status first_error ABSL_GUARDED_BY(mu);
    absl::Notification done;
  };
  auto pending = std::make_shared<Pending>();
  {
    absl::MutexLock lock(&pending->mu);
    pending->outstanding = record_keys.size();
  }
  for (const std::string& record_key : record_keys) {
    kafka::OutgoingRecord record;
    record.topic = options_.topic;
    record.key = record_key;
    record.tombstone = true;
    producer_->Produce(std::move(record), [pending](const absl::Status& delivered) {
      absl::MutexLock lock(&pending->mu);
      if (!delivered.ok() && pending->first_error.ok()) {
        pending->first_error = delivered;
      }
      if (--pending->outstanding == 0) {
        pending->done.Notify();
      }
    });
  }
  if (!pending->done.WaitForNotificationWithTimeout(options_.kafka_timeout)) {
    return absl::UnavailableError("the key topic did not confirm the records in time");
  }
  absl::MutexLock lock(&pending->mu);
  return pending->first_error;
}

absl::StatusOr<std::vector<std::string>> KeyStore::Erase(absl::string_view key_id) {
  HUB_RETURN_IF_ERROR(ValidateKeyId(key_id));
  HUB_ASSIGN_OR_RETURN(Reply reply, redis_->Command({"HKEYS", IndexKey(key_id)}));
  std::vector<std::string> generations;
  for (const Reply& field : reply.elements) {
    if (absl::StartsWith(field.str, "g:")) {
      generations.push_back(field.str.substr(2));
    }
  }
  std::sort(generations.begin(), generations.end());
  if (generations.empty()) {
    return generations;
  }
  std::vector<std::string> record_keys;
  record_keys.reserve(generations.size());
  for (const std::string& generation : generations) {
    record_keys.push_back(absl::StrCat(key_id, "/", generation));
  }
  HUB_RETURN_IF_ERROR(ProduceTombstones(record_keys));
  HUB_RETURN_IF_ERROR(redis_->Eval(ForgetScript(), {IndexKey(key_id)}, generations).status());
  return generations;
}

absl::Status KeyStore::AppendRollMarker() { return ProduceTombstones({kRollMarkerKey}); }

absl::Status KeyStore::RebuildIndex(absl::Duration timeout) {
  std::map<std::string, TopicKey> keys;
  HUB_RETURN_IF_ERROR(internal::ReadTopic(
      options_.bootstrap_servers, options_.topic, timeout,
      [&keys](const std::string& record_key, const std::optional<std::string>& value) {
        const size_t slash = record_key.find('/');
        if (slash == std::string::npos) {
          return;  // The roll marker, or something that is not a key record.
        }
        const std::string key_id = record_key.substr(0, slash);
        const std::string generation = record_key.substr(slash + 1);
        if (!ValidateKeyId(key_id).ok() || !ValidateGeneration(generation).ok()) {
          return;
        }
        TopicKey& key = keys[key_id];
        auto& live = key.live;
        live.erase(
            std::remove_if(live.begin(), live.end(),
                           [&generation](const auto& entry) { return entry.first == generation; }),
            live.end());
        auto& dead = key.dead;
        dead.erase(std::remove(dead.begin(), dead.end(), generation), dead.end());
        if (value.has_value()) {
          live.emplace_back(generation, *value);
        } else {
          dead.push_back(generation);
        }
      }));

  // Load the script once so the pipelined EVALSHAs find it.
  HUB_RETURN_IF_ERROR(redis_->Command({"SCRIPT", "LOAD", RebuildScript().source()}).status());
  std::vector<std::vector<std::string>> batch;
  const auto flush = [&]() -> absl::Status {
    if (batch.empty()) {
      return absl::OkStatus();
    }
    HUB_ASSIGN_OR_RETURN(std::vector<Reply> replies, redis_->Pipeline(batch));
    for (size_t i = 0; i < replies.size(); ++i) {
      if (redis::IsNoScriptError(replies[i])) {
        // The server lost its script cache mid-way: send this one with its source.
        const std::vector<std::string>& command = batch[i];
        const std::vector<std::string> args(command.begin() + 4, command.end());
        HUB_RETURN_IF_ERROR(redis_->Eval(RebuildScript(), {command[3]}, args).status());
      } else if (replies[i].type == Reply::Type::kError) {
        return absl::InternalError(
            absl::StrCat("rebuilding the key index failed: ", replies[i].str));
      }
    }
    batch.clear();
    return absl::OkStatus();
  };
  for (const auto& [key_id, key] : keys) {
    std::vector<std::string> command = {"EVALSHA", RebuildScript().sha1(), "1", IndexKey(key_id),
                                        absl::StrCat(key.live.size())};
    for (const auto& [generation, value] : key.live) {
      command.push_back(generation);
      command.push_back(value);
    }
    for (const std::string& generation : key.dead) {
      command.push_back(generation);
    }
    batch.push_back(std::move(command));
    if (batch.size() >= kRebuildBatch) {
      HUB_RETURN_IF_ERROR(flush());
    }
  }
  return flush();
}

absl::Status KeyStore::MarkIndexed() {
  return redis_->Command({"SET", IndexedMarkerKey(), "1"}).status();
}

absl::StatusOr<bool> KeyStore::IsIndexed() {
  HUB_ASSIGN_OR_RETURN(Reply reply, redis_->Command({"EXISTS", IndexedMarkerKey()}));
  return reply.integer == 1;
}

}  // namespace hub::seal
