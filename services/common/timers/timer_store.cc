#include "services/common/timers/timer_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

#include "services/common/status/status_macros.h"

namespace hub::timers {
namespace {

// Scores are doubles in Redis: every integer below 2^53 is exact.
constexpr int64_t kMaxMillis = int64_t{1} << 53;

// KEYS: due, inflight, timer. ARGV: id, kind, due ms, payload.
// Returns 1 when the timer is new, 0 when it was updated.
constexpr char kScheduleScript[] = R"lua(
local created = redis.call('EXISTS', KEYS[3]) == 0
redis.call('HSET', KEYS[3], 'kind', ARGV[2], 'due', ARGV[3], 'payload', ARGV[4], 'attempts', 0)
redis.call('HINCRBY', KEYS[3], 'gen', 1)
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
if created then
  return 1
end
return 0
)lua";

// KEYS: due, inflight, timer. ARGV: id. Returns 1 when the timer existed.
constexpr char kCancelScript[] = R"lua(
local existed = redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return existed
)lua";

// KEYS: due, inflight, timer. ARGV: id, now ms, lease expiry ms, owner.
// Returns {0} when the timer may not be claimed, else
// {1, kind, due ms, payload, attempts, claim token}.
constexpr char kClaimScript[] = R"lua(
if redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {0}
end
local now = tonumber(ARGV[2])
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if due then
  if tonumber(due) > now then
    return {0}
  end
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  local lease = redis.call('ZSCORE', KEYS[2], ARGV[1])
  if not lease or tonumber(lease) > now then
    return {0}
  end
  -- The holder's lease expired. If the timer was scheduled again meanwhile, its new due
  -- time may still be ahead: then it just waits in the due set.
  local scheduled = redis.call('HGET', KEYS[3], 'due')
  if tonumber(scheduled) > now then
    redis.call('ZREM', KEYS[2], ARGV[1])
    redis.call('ZADD', KEYS[1], scheduled, ARGV[1])
    return {0}
  end
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local attempts = redis.call('HINCRBY', KEYS[3], 'attempts', 1)
local claim = redis.call('HINCRBY', KEYS[3], 'claim', 1)
redis.call('HSET', KEYS[3], 'owner', ARGV[4], 'claim_gen', redis.call('HGET', KEYS[3], 'gen'))
local fields = redis.call('HMGET', KEYS[3], 'kind', 'due', 'payload')
return {1, fields[1], fields[2], fields[3], attempts, claim}
)lua";

// Checks that ARGV[2] is the current claim of timer ARGV[1] and ends it; shared by Complete
// and Retry. Returns nil when it is not, else true when the timer was not scheduled again
// while claimed.
constexpr char kEndClaimFunction[] = R"lua(
local function end_claim()
  if redis.call('HGET', KEYS[3], 'claim') ~= ARGV[2] or
      not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
    return nil
  end
  redis.call('ZREM', KEYS[2], ARGV[1])
  return redis.call('HGET', KEYS[3], 'gen') == redis.call('HGET', KEYS[3], 'claim_gen')
end
)lua";

// KEYS: due, inflight, timer. ARGV: id, claim token.
// Returns 0 when the claim is not current, 1 when the timer was deleted, 2 when it was
// scheduled again while claimed and is due at its new time.
constexpr char kCompleteBody[] = R"lua(
local same = end_claim()
if same == nil then
  return 0
end
if same then
  redis.call('DEL', KEYS[3])
  return 1
end
redis.call('ZADD', KEYS[1], redis.call('HGET', KEYS[3], 'due'), ARGV[1])
return 2
)lua";

// KEYS: due, inflight, timer. ARGV: id, claim token, next due ms.
// Returns 0 when the claim is not current, 1 when the timer is due at ARGV[3], 2 when it
// was scheduled again while claimed and is due at its new time.
constexpr char kRetryBody[] = R"lua(
local same = end_claim()
if same == nil then
  return 0
end
if same then
  redis.call('HSET', KEYS[3], 'due', ARGV[3])
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
redis.call('ZADD', KEYS[1], redis.call('HGET', KEYS[3], 'due'), ARGV[1])
return 2
)lua";

const redis::Script& ScheduleScript() {
  static const auto* script = new redis::Script(kScheduleScript);
  return *script;
}
const redis::Script& CancelScript() {
  static const auto* script = new redis::Script(kCancelScript);
  return *script;
}
const redis::Script& ClaimScript() {
  static const auto* script = new redis::Script(kClaimScript);
  return *script;
}
const redis::Script& CompleteScript() {
  static const auto* script = new redis::Script(absl::StrCat(kEndClaimFunction, kCompleteBody));
  return *script;
}
const redis::Script& RetryScript() {
  static const auto* script = new redis::Script(absl::StrCat(kEndClaimFunction, kRetryBody));
  return *script;
}

absl::Status ValidateName(absl::string_view field, absl::string_view id, size_t max_length) {
  bool ok = !id.empty() && id.size() <= max_length;
  for (size_t i = 0; ok && i < id.size(); ++i) {
    const char c = id[i];
    ok = absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':';
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be 1 to ", max_length,
                                                   " letters, digits, '-', '_', '.' or ':'"));
  }
  return absl::OkStatus();
}

absl::Status ValidateLease(absl::Duration lease) {
  if (lease <= absl::ZeroDuration() || lease == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("lease: must be positive and finite, got ", absl::FormatDuration(lease)));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> IntegerReply(const redis::Reply& reply, absl::string_view what) {
  if (reply.type != redis::Reply::Type::kInteger) {
    return absl::InternalError(absl::StrCat("timer store: ", what, ": expected an integer"));
  }
  return reply.integer;
}

absl::StatusOr<std::string> StringReply(const redis::Reply& reply, absl::string_view what) {
  if (reply.type != redis::Reply::Type::kString) {
    return absl::InternalError(absl::StrCat("timer store: ", what, ": expected a string"));
  }
  return reply.str;
}

absl::StatusOr<absl::Time> MillisReply(const redis::Reply& reply, absl::string_view what) {
  HUB_ASSIGN_OR_RETURN(std::string text, StringReply(reply, what));
  int64_t millis = 0;
  // Scores come back as doubles formatted by Redis ("1.5e+12" is possible in principle).
  double as_double = 0;
  if (absl::SimpleAtoi(text, &millis)) {
    return absl::FromUnixMillis(millis);
  }
  if (absl::SimpleAtod(text, &as_double)) {
    return absl::FromUnixMillis(static_cast<int64_t>(as_double));
  }
  return absl::InternalError(absl::StrCat("timer store: ", what, ": expected a time"));
}

// A timer hash read with HMGET kind due payload attempts; nullopt when it does not exist.
absl::StatusOr<std::optional<Timer>> StoredTimer(absl::string_view id, const redis::Reply& reply,
                                                 absl::string_view what) {
  if (reply.type != redis::Reply::Type::kArray || reply.elements.size() != 4) {
    return absl::InternalError(absl::StrCat("timer store: ", what, ": expected 4 fields"));
  }
  if (reply.elements[0].is_nil()) {
    return std::nullopt;
  }
  Timer timer;
  timer.id = std::string(id);
  HUB_ASSIGN_OR_RETURN(timer.kind, StringReply(reply.elements[0], what));
  HUB_ASSIGN_OR_RETURN(timer.due_at, MillisReply(reply.elements[1], what));
  HUB_ASSIGN_OR_RETURN(timer.payload, StringReply(reply.elements[2], what));
  HUB_ASSIGN_OR_RETURN(std::string attempts, StringReply(reply.elements[3], what));
  if (!absl::SimpleAtoi(attempts, &timer.attempts)) {
    return absl::InternalError(absl::StrCat("timer store: ", what, ": attempts is not a number"));
  }
  return timer;
}

}  // namespace

int ShardOf(absl::string_view timer_id, int shard_count) {
  uint64_t hash = 14695981039346656037ULL;
  for (const char c : timer_id) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return static_cast<int>(hash % static_cast<uint64_t>(std::max(shard_count, 1)));
}

absl::Status ValidateTimerId(absl::string_view field, absl::string_view id) {
  return ValidateName(field, id, kMaxTimerIdLength);
}

absl::StatusOr<int64_t> TimerMillis(absl::string_view field, absl::Time time) {
  if (time < absl::UnixEpoch() || time >= absl::FromUnixMillis(kMaxMillis)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": out of range: ", absl::FormatTime(time)));
  }
  return absl::ToUnixMillis(time);
}

absl::StatusOr<std::unique_ptr<TimerStore>> TimerStore::Create(redis::RedisClient* redis,
                                                               std::string ns, int shard_count) {
  HUB_RETURN_IF_ERROR(ValidateTimerId("ns", ns));
  if (shard_count < 1 || shard_count > kMaxShards) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard_count: must be 1 to ", kMaxShards, ", got ", shard_count));
  }
  if (redis == nullptr) {
    return absl::InvalidArgumentError("redis: must not be null");
  }
  return std::unique_ptr<TimerStore>(new TimerStore(redis, std::move(ns), shard_count));
}

TimerStore::TimerStore(redis::RedisClient* redis, std::string ns, int shard_count)
    : redis_(redis), ns_(std::move(ns)), shard_count_(shard_count) {}

std::string TimerStore::DueKey(int shard) const {
  return absl::StrCat(ns_, ":{timers:", shard, "}:due");
}

std::string TimerStore::InflightKey(int shard) const {
  return absl::StrCat(ns_, ":{timers:", shard, "}:inflight");
}

std::string TimerStore::TimerKeyInShard(int shard, absl::string_view timer_id) const {
  return absl::StrCat(ns_, ":{timers:", shard, "}:timer:", timer_id);
}

std::string TimerStore::TimerKey(absl::string_view timer_id) const {
  return TimerKeyInShard(ShardOf(timer_id, shard_count_), timer_id);
}

std::vector<std::string> TimerStore::Keys(absl::string_view timer_id) const {
  const int shard = ShardOf(timer_id, shard_count_);
  return {DueKey(shard), InflightKey(shard), TimerKeyInShard(shard, timer_id)};
}

absl::StatusOr<bool> TimerStore::Schedule(absl::string_view timer_id, absl::string_view kind,
                                          absl::Time due_at, absl::string_view payload) {
  HUB_RETURN_IF_ERROR(ValidateTimerId("timer_id", timer_id));
  HUB_RETURN_IF_ERROR(ValidateName("kind", kind, kMaxKindLength));
  HUB_ASSIGN_OR_RETURN(int64_t due_ms, TimerMillis("due_at", due_at));
  if (payload.size() > kMaxPayloadBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload: at most ", kMaxPayloadBytes, " bytes, got ", payload.size()));
  }
  HUB_ASSIGN_OR_RETURN(redis::Reply reply,
                       redis_->Eval(ScheduleScript(), Keys(timer_id),
                                    {std::string(timer_id), std::string(kind), absl::StrCat(due_ms),
                                     std::string(payload)}));
  HUB_ASSIGN_OR_RETURN(int64_t created, IntegerReply(reply, "schedule"));
  return created == 1;
}

absl::StatusOr<bool> TimerStore::Cancel(absl::string_view timer_id) {
  HUB_RETURN_IF_ERROR(ValidateTimerId("timer_id", timer_id));
  HUB_ASSIGN_OR_RETURN(redis::Reply reply,
                       redis_->Eval(CancelScript(), Keys(timer_id), {std::string(timer_id)}));
  HUB_ASSIGN_OR_RETURN(int64_t existed, IntegerReply(reply, "cancel"));
  return existed == 1;
}

absl::StatusOr<std::vector<Timer>> TimerStore::Due(absl::Time now, int limit) {
  HUB_ASSIGN_OR_RETURN(int64_t now_ms, TimerMillis("now", now));
  if (limit < 1 || limit > kMaxDueLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit: must be 1 to ", kMaxDueLimit, ", got ", limit));
  }
  // One round trip for the candidate ids of every shard (due, and claimed with an expired
  // lease), one for their hashes. Not atomic, and need not be: Claim decides.
  std::vector<std::vector<std::string>> ranges;
  ranges.reserve(2 * static_cast<size_t>(shard_count_));
  for (int shard = 0; shard < shard_count_; ++shard) {
    for (const std::string& key : {DueKey(shard), InflightKey(shard)}) {
      ranges.push_back(
          {"ZRANGEBYSCORE", key, "-inf", absl::StrCat(now_ms), "LIMIT", "0", absl::StrCat(limit)});
    }
  }
  HUB_ASSIGN_OR_RETURN(std::vector<redis::Reply> range_replies, redis_->Pipeline(ranges));
  std::vector<std::string> ids;
  for (const redis::Reply& reply : range_replies) {
    if (reply.type != redis::Reply::Type::kArray) {
      return absl::InternalError("timer store: due: expected an array");
    }
    for (const redis::Reply& element : reply.elements) {
      HUB_ASSIGN_OR_RETURN(std::string id, StringReply(element, "due"));
      ids.push_back(std::move(id));
    }
  }
  if (ids.empty()) {
    return std::vector<Timer>{};
  }
  std::vector<std::vector<std::string>> reads;
  reads.reserve(ids.size());
  for (const std::string& id : ids) {
    reads.push_back({"HMGET", TimerKey(id), "kind", "due", "payload", "attempts"});
  }
  HUB_ASSIGN_OR_RETURN(std::vector<redis::Reply> read_replies, redis_->Pipeline(reads));
  std::vector<Timer> timers;
  for (size_t i = 0; i < ids.size() && i < read_replies.size(); ++i) {
    // nullopt: cancelled or completed since the range was read.
    HUB_ASSIGN_OR_RETURN(std::optional<Timer> timer, StoredTimer(ids[i], read_replies[i], "due"));
    if (timer.has_value()) {
      timers.push_back(*std::move(timer));
    }
  }
  std::stable_sort(timers.begin(), timers.end(),
                   [](const Timer& a, const Timer& b) { return a.due_at < b.due_at; });
  if (timers.size() > static_cast<size_t>(limit)) {
    timers.resize(static_cast<size_t>(limit));
  }
  return timers;
}

absl::StatusOr<std::optional<Timer>> TimerStore::Claim(absl::string_view timer_id,
                                                       absl::string_view owner, absl::Time now,
                                                       absl::Duration lease) {
  HUB_RETURN_IF_ERROR(ValidateTimerId("timer_id", timer_id));
  HUB_RETURN_IF_ERROR(ValidateTimerId("owner", owner));
  HUB_RETURN_IF_ERROR(ValidateLease(lease));
  HUB_ASSIGN_OR_RETURN(int64_t now_ms, TimerMillis("now", now));
  HUB_ASSIGN_OR_RETURN(int64_t expiry_ms, TimerMillis("now + lease", now + lease));
  HUB_ASSIGN_OR_RETURN(redis::Reply reply,
                       redis_->Eval(ClaimScript(), Keys(timer_id),
                                    {std::string(timer_id), absl::StrCat(now_ms),
                                     absl::StrCat(expiry_ms), std::string(owner)}));
  if (reply.type != redis::Reply::Type::kArray || reply.elements.empty()) {
    return absl::InternalError("timer store: claim: expected an array");
  }
  HUB_ASSIGN_OR_RETURN(int64_t claimed, IntegerReply(reply.elements[0], "claim"));
  if (claimed == 0) {
    return std::nullopt;
  }
  if (reply.elements.size() != 6) {
    return absl::InternalError("timer store: claim: expected 6 elements");
  }
  Timer timer;
  timer.id = std::string(timer_id);
  HUB_ASSIGN_OR_RETURN(timer.kind, StringReply(reply.elements[1], "claim"));
  HUB_ASSIGN_OR_RETURN(timer.due_at, MillisReply(reply.elements[2], "claim"));
  HUB_ASSIGN_OR_RETURN(timer.payload, StringReply(reply.elements[3], "claim"));
  HUB_ASSIGN_OR_RETURN(timer.attempts, IntegerReply(reply.elements[4], "claim"));
  HUB_ASSIGN_OR_RETURN(timer.claim, IntegerReply(reply.elements[5], "claim"));
  return timer;
}

absl::StatusOr<bool> TimerStore::Complete(absl::string_view timer_id, int64_t claim) {
  HUB_RETURN_IF_ERROR(ValidateTimerId("timer_id", timer_id));
  HUB_ASSIGN_OR_RETURN(
      redis::Reply reply,
      redis_->Eval(CompleteScript(), Keys(timer_id), {std::string(timer_id), absl::StrCat(claim)}));
  HUB_ASSIGN_OR_RETURN(int64_t ended, IntegerReply(reply, "complete"));
  return ended != 0;
}

absl::StatusOr<bool> TimerStore::Retry(absl::string_view timer_id, int64_t claim,
                                       absl::Time next_due) {
  HUB_RETURN_IF_ERROR(ValidateTimerId("timer_id", timer_id));
  HUB_ASSIGN_OR_RETURN(int64_t next_ms, TimerMillis("next_due", next_due));
  HUB_ASSIGN_OR_RETURN(redis::Reply reply, redis_->Eval(RetryScript(), Keys(timer_id),
                                                        {std::string(timer_id), absl::StrCat(claim),
                                                         absl::StrCat(next_ms)}));
  HUB_ASSIGN_OR_RETURN(int64_t ended, IntegerReply(reply, "retry"));
  return ended != 0;
}

absl::StatusOr<std::optional<Timer>> TimerStore::Get(absl::string_view timer_id) {
  HUB_RETURN_IF_ERROR(ValidateTimerId("timer_id", timer_id));
  HUB_ASSIGN_OR_RETURN(redis::Reply reply, redis_->Command({"HMGET", TimerKey(timer_id), "kind",
                                                            "due", "payload", "attempts"}));
  return StoredTimer(timer_id, reply, "get");
}

}  // namespace hub::timers
