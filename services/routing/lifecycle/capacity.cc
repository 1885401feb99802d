#include "services/routing/lifecycle/capacity.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

#include "services/common/status/status_macros.h"

namespace hub::routing::lifecycle {
namespace {

// Waiting-list scores: (kMaxPriority - priority) * kPriorityStep + enqueued_at (unix ms).
// Every score stays below 2^53, so Redis (which keeps scores as doubles) holds it exactly.
constexpr int64_t kPriorityStep = 10'000'000'000'000;  // 10^13 ms: beyond the year 2286.
static_assert((kMaxPriority + 1) * kPriorityStep < (int64_t{1} << 53));

// Moves the waiting list's head into the active set while there is room, at most `limit`
// times. Shared by every script that frees or adds places.
constexpr char kFillFunction[] = R"lua(
local function fill(active, waiting, max, limit)
  local promoted = {}
  while #promoted < limit and redis.call('SCARD', active) < max do
    local head = redis.call('ZRANGE', waiting, 0, 0)
    if #head == 0 then
      break
    end
    redis.call('ZREM', waiting, head[1])
    redis.call('SADD', active, head[1])
    promoted[#promoted + 1] = head[1]
  end
  return promoted
end
)lua";

// KEYS: active, waiting. ARGV: referral id, max active.
// Returns 1 when the referral holds a place, 0 when the provider is full.
constexpr char kReserveScript[] = R"lua(
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  return 1
end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
)lua";

// KEYS: active, waiting. ARGV: referral id, max active.
// Returns {0} when the referral held no place, else {1} or {1, promoted id}.
constexpr char kReleaseBody[] = R"lua(
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then
  return {0}
end
local promoted = fill(KEYS[1], KEYS[2], tonumber(ARGV[2]), 1)
if #promoted == 0 then
  return {1}
end
return {1, promoted[1]}
)lua";

// KEYS: active, waiting. ARGV: referral id, score.
// Returns the 1-based position, or -1 when the referral holds a place.
constexpr char kEnqueueScript[] = R"lua(
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  return -1
end
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
return redis.call('ZRANK', KEYS[2], ARGV[1]) + 1
)lua";

// KEYS: active, waiting. ARGV: referral id, max active, score.
// Returns {reserved (0/1), position (0 when reserved), other promoted ids...}.
constexpr char kAdmitBody[] = R"lua(
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  return {1, 0}
end
redis.call('ZADD', KEYS[2], 'NX', ARGV[3], ARGV[1])
local promoted = fill(KEYS[1], KEYS[2], tonumber(ARGV[2]), math.huge)
local reply = {0, 0}
for _, id in ipairs(promoted) do
  if id == ARGV[1] then
    reply[1] = 1
  else
    reply[#reply + 1] = id
  end
end
if reply[1] == 0 then
  reply[2] = redis.call('ZRANK', KEYS[2], ARGV[1]) + 1
end
return reply
)lua";

// KEYS: active, waiting. ARGV: max active. Returns the promoted ids, head first.
constexpr char kFillBody[] = R"lua(
return fill(KEYS[1], KEYS[2], tonumber(ARGV[1]), math.huge)
)lua";

const redis::Script& ReserveScript() {
  static const auto* script = new redis::Script(kReserveScript);
  return *script;
}
const redis::Script& ReleaseScript() {
  static const auto* script = new redis::Script(absl::StrCat(kFillFunction, kReleaseBody));
  return *script;
}
const redis::Script& EnqueueScript() {
  static const auto* script = new redis::Script(kEnqueueScript);
  return *script;
}
const redis::Script& AdmitScript() {
  static const auto* script = new redis::Script(absl::StrCat(kFillFunction, kAdmitBody));
  return *script;
}
const redis::Script& FillScript() {
  static const auto* script = new redis::Script(absl::StrCat(kFillFunction, kFillBody));
  return *script;
}

absl::Status ValidateMaxActive(int64_t max_active) {
  if (max_active < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_active: must not be negative, got ", max_active));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> IntegerReply(const redis::Reply& reply, absl::string_view what) {
  if (reply.type != redis::Reply::Type::kInteger) {
    return absl::InternalError(absl::StrCat("capacity store: ", what, ": expected an integer"));
  }
  return reply.integer;
}

// An array reply of ids (bulk strings), from `first` on.
absl::StatusOr<std::vector<std::string>> IdsFrom(const redis::Reply& reply, size_t first,
                                                 absl::string_view what) {
  std::vector<std::string> ids;
  for (size_t i = first; i < reply.elements.size(); ++i) {
    if (reply.elements[i].type != redis::Reply::Type::kString) {
      return absl::InternalError(absl::StrCat("capacity store: ", what, ": expected an id"));
    }
    ids.push_back(reply.elements[i].str);
  }
  return ids;
}

}  // namespace

absl::Status ValidateCapacityId(absl::string_view field, absl::string_view id) {
  bool ok = !id.empty() && id.size() <= 128;
  for (size_t i = 0; ok && i < id.size(); ++i) {
    const char c = id[i];
    ok = absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':';
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be 1 to 128 letters, digits, '-', '_', '.' or ':'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> WaitingScore(int priority, absl::Time enqueued_at) {
  if (priority < 0 || priority > kMaxPriority) {
    return absl::InvalidArgumentError(
        absl::StrCat("priority: must be 0 to ", kMaxPriority, ", got ", priority));
  }
  const int64_t millis = absl::ToUnixMillis(enqueued_at);
  if (enqueued_at < absl::UnixEpoch() || millis >= kPriorityStep) {
    return absl::InvalidArgumentError(
        absl::StrCat("enqueued_at: out of range: ", absl::FormatTime(enqueued_at)));
  }
  return absl::StrCat((kMaxPriority - priority) * kPriorityStep + millis);
}

CapacityStore::CapacityStore(redis::RedisClient* redis, std::string ns)
    : redis_(redis), ns_(std::move(ns)) {}

std::string CapacityStore::ActiveKey(absl::string_view provider_id) const {
  return absl::StrCat(ns_, ":capacity:{", provider_id, "}:active");
}

std::string CapacityStore::WaitingKey(absl::string_view provider_id) const {
  return absl::StrCat(ns_, ":capacity:{", provider_id, "}:waiting");
}

absl::StatusOr<bool> CapacityStore::Reserve(absl::string_view provider_id,
                                            absl::string_view referral_id, int64_t max_active) {
  HUB_RETURN_IF_ERROR(ValidateCapacityId("provider_id", provider_id));
  HUB_RETURN_IF_ERROR(ValidateCapacityId("referral_id", referral_id));
  HUB_RETURN_IF_ERROR(ValidateMaxActive(max_active));
  HUB_ASSIGN_OR_RETURN(
      redis::Reply reply,
      redis_->Eval(ReserveScript(), {ActiveKey(provider_id), WaitingKey(provider_id)},
                   {std::string(referral_id), absl::StrCat(max_active)}));
  HUB_ASSIGN_OR_RETURN(int64_t reserved, IntegerReply(reply, "reserve"));
  return reserved == 1;
}

absl::StatusOr<Released> CapacityStore::Release(absl::string_view provider_id,
                                                absl::string_view referral_id, int64_t max_active) {
  HUB_RETURN_IF_ERROR(ValidateCapacityId("provider_id", provider_id));
  HUB_RETURN_IF_ERROR(ValidateCapacityId("referral_id", referral_id));
  HUB_RETURN_IF_ERROR(ValidateMaxActive(max_active));
  HUB_ASSIGN_OR_RETURN(
      redis::Reply reply,
      redis_->Eval(ReleaseScript(), {ActiveKey(provider_id), WaitingKey(provider_id)},
                   {std::string(referral_id), absl::StrCat(max_active)}));
  if (reply.type != redis::Reply::Type::kArray || reply.elements.empty()) {
    return absl::InternalError("capacity store: release: expected an array");
  }
  HUB_ASSIGN_OR_RETURN(int64_t released, IntegerReply(reply.elements[0], "release"));
  HUB_ASSIGN_OR_RETURN(std::vector<std::string> promoted, IdsFrom(reply, 1, "release"));
  Released result;
  result.released = released == 1;
  if (!promoted.empty()) {
    result.promoted = std::move(promoted.front());
  }
  return result;
}

absl::StatusOr<int64_t> CapacityStore::Enqueue(absl::string_view provider_id,
                                               absl::string_view referral_id, int priority,
                                               absl::Time enqueued_at) {
  HUB_RETURN_IF_ERROR(ValidateCapacityId("provider_id", provider_id));
  HUB_RETURN_IF_ERROR(ValidateCapacityId("referral_id", referral_id));
  HUB_ASSIGN_OR_RETURN(std::string score, WaitingScore(priority, enqueued_at));
  HUB_ASSIGN_OR_RETURN(
      redis::Reply reply,
      redis_->Eval(EnqueueScript(), {ActiveKey(provider_id), WaitingKey(provider_id)},
                   {std::string(referral_id), std::move(score)}));
  HUB_ASSIGN_OR_RETURN(int64_t position, IntegerReply(reply, "enqueue"));
  if (position < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("referral ", referral_id, " already holds a place at ", provider_id));
  }
  return position;
}

absl::StatusOr<Admission> CapacityStore::Admit(absl::string_view provider_id,
                                               absl::string_view referral_id, int64_t max_active,
                                               int priority, absl::Time enqueued_at) {
  HUB_RETURN_IF_ERROR(ValidateCapacityId("provider_id", provider_id));
  HUB_RETURN_IF_ERROR(ValidateCapacityId("referral_id", referral_id));
  HUB_RETURN_IF_ERROR(ValidateMaxActive(max_active));
  HUB_ASSIGN_OR_RETURN(std::string score, WaitingScore(priority, enqueued_at));
  HUB_ASSIGN_OR_RETURN(
      redis::Reply reply,
      redis_->Eval(AdmitScript(), {ActiveKey(provider_id), WaitingKey(provider_id)},
                   {std::string(referral_id), absl::StrCat(max_active), std::move(score)}));
  if (reply.type != redis::Reply::Type::kArray || reply.elements.size() < 2) {
    return absl::InternalError("capacity store: admit: expected an array");
  }
  Admission admission;
  HUB_ASSIGN_OR_RETURN(int64_t reserved, IntegerReply(reply.elements[0], "admit"));
  HUB_ASSIGN_OR_RETURN(admission.position, IntegerReply(reply.elements[1], "admit"));
  HUB_ASSIGN_OR_RETURN(admission.promoted, IdsFrom(reply, 2, "admit"));
  admission.reserved = reserved == 1;
  return admission;
}

absl::StatusOr<std::vector<std::string>> CapacityStore::Fill(absl::string_view provider_id,
                                                             int64_t max_active) {
  HUB_RETURN_IF_ERROR(ValidateCapacityId("provider_id", provider_id));
  HUB_RETURN_IF_ERROR(ValidateMaxActive(max_active));
  HUB_ASSIGN_OR_RETURN(redis::Reply reply,
                       redis_->Eval(FillScript(), {ActiveKey(provider_id), WaitingKey(provider_id)},
                                    {absl::StrCat(max_active)}));
  if (reply.type != redis::Reply::Type::kArray) {
    return absl::InternalError("capacity store: fill: expected an array");
  }
  return IdsFrom(reply, 0, "fill");
}

absl::StatusOr<std::optional<int64_t>> CapacityStore::Position(absl::string_view provider_id,
                                                               absl::string_view referral_id) {
  HUB_RETURN_IF_ERROR(ValidateCapacityId("provider_id", provider_id));
  HUB_RETURN_IF_ERROR(ValidateCapacityId("referral_id", referral_id));
  HUB_ASSIGN_OR_RETURN(redis::Reply reply, redis_->Command({"ZRANK", WaitingKey(provider_id),
                                                            std::string(referral_id)}));
  if (reply.is_nil()) {
    return std::nullopt;
  }
  HUB_ASSIGN_OR_RETURN(int64_t rank, IntegerReply(reply, "position"));
  return rank + 1;
}

absl::StatusOr<bool> CapacityStore::Dequeue(absl::string_view provider_id,
                                            absl::string_view referral_id) {
  HUB_RETURN_IF_ERROR(ValidateCapacityId("provider_id", provider_id));
  HUB_RETURN_IF_ERROR(ValidateCapacityId("referral_id", referral_id));
  HUB_ASSIGN_OR_RETURN(redis::Reply reply, redis_->Command({"ZREM", WaitingKey(provider_id),
                                                            std::string(referral_id)}));
  HUB_ASSIGN_OR_RETURN(int64_t removed, IntegerReply(reply, "dequeue"));
  return removed == 1;
}

absl::StatusOr<int64_t> CapacityStore::Active(absl::string_view provider_id) {
  HUB_RETURN_IF_ERROR(ValidateCapacityId("provider_id", provider_id));
  HUB_ASSIGN_OR_RETURN(redis::Reply reply, redis_->Command({"SCARD", ActiveKey(provider_id)}));
  return IntegerReply(reply, "active");
}

absl::StatusOr<int64_t> CapacityStore::Waiting(absl::string_view provider_id) {
  HUB_RETURN_IF_ERROR(ValidateCapacityId("provider_id", provider_id));
  HUB_ASSIGN_OR_RETURN(redis::Reply reply, redis_->Command({"ZCARD", WaitingKey(provider_id)}));
  return IntegerReply(reply, "waiting");
}

}  // namespace hub::routing::lifecycle
