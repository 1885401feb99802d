// Durable timers in Redis, generic over what a timer means: routing uses them for offers not
// accepted within the provider's target and for the 2-working-day Code deadline, but the
// store only knows an id, a kind, a due time and opaque payload bytes.
//
// Keys (timers are spread over `shard_count` shards; the shard of a timer is a stable hash of
// its id, ShardOf; every key of one shard shares the hash tag {timers:<n>}, so every script
// touches a single Redis Cluster slot):
//   <ns>:{timers:<n>}:due           sorted set: ids of scheduled timers not being handled,
//                                   scored by due time (unix ms)
//   <ns>:{timers:<n>}:inflight      sorted set: ids of claimed timers, scored by the claim's
//                                   lease expiry (unix ms, on the caller's clock)
//   <ns>:{timers:<n>}:timer:<id>    hash: kind, due, payload, attempts (claims of this
//                                   schedule), gen (bumped by Schedule), claim (bumped by
//                                   Claim: the token of the latest claim), claim_gen (gen
//                                   when claimed), owner (who holds the latest claim)
// A timer's id is in at most one of the two sorted sets, and in one exactly while its hash
// exists. Every change is one Lua script over one shard, so it is atomic.
//
// Lifecycle and contract. Schedule puts a timer in `due`. Claim moves a due timer (due at or
// before `now`) into `inflight` with a lease and returns a claim token; the claimer runs the
// timer's effect and then calls Complete (done: the timer is deleted) or Retry (failed: due
// again at a later time). A claim whose lease expired (its holder crashed or hung) can be
// claimed again, so firing is AT LEAST ONCE: a handler may run twice for one firing (after a
// crash between its effect and Complete, or when it outlives its lease) and must be
// idempotent. Claims are fenced: Complete and Retry with a token that is no longer the
// latest claim do nothing, so a holder that lost its lease cannot undo its successor's work.
// At most one holder's lease is valid at a time, so while handlers finish within the lease
// each due timer fires once at a time.
//
// Scheduling an id that exists UPDATES it: the new kind, due time and payload replace the
// old, and its attempt count restarts at 0. If the timer is being handled at that moment,
// the handler's Complete or Retry does not end the new schedule: the timer goes back to
// `due` at the new due time. Cancel deletes a timer in any state; a handler running for it
// finds its Complete ignored.
//
// All times are the caller's (the hub's controllable clock), never the Redis server's, so a
// test that moves the clock moves due times and lease expiries alike. `shard_count` is fixed
// for the life of a namespace: changing it moves ids to other shards and strands timers.
//
// Every call is idempotent (safe to retry after kUnavailable). Thread-safe (the Redis client
// is); the store keeps no state of its own, so any number of stores and processes may share
// a namespace.
#ifndef HUB_SERVICES_COMMON_TIMERS_TIMER_STORE_H_
#define HUB_SERVICES_COMMON_TIMERS_TIMER_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#include "services/common/redis/redis_client.h"

namespace hub::timers {

inline constexpr int kMaxShards = 1024;
inline constexpr size_t kMaxTimerIdLength = 200;
inline constexpr size_t kMaxKindLength = 64;
inline constexpr size_t kMaxPayloadBytes = size_t{64} * 1024;
inline constexpr int kMaxDueLimit = 10'000;

struct Timer {
  std::string id;
  std::string kind;
  absl::Time due_at;
  // Opaque bytes (binary safe).
  std::string payload;
  // Claims of this schedule so far, the current one included: 1 on the first firing, more
  // after a failed handler or a lost lease. 0 in Due's answer for a timer never claimed.
  int64_t attempts = 0;
  // The claim token, set by Claim (0 elsewhere): pass it to Complete or Retry.
  int64_t claim = 0;
};

class TimerStore {
 public:
  // kInvalidArgument for an `ns` that is not a valid id (ValidateTimerId rules) or a
  // `shard_count` outside 1..kMaxShards. `redis` must outlive the store.
  static absl::StatusOr<std::unique_ptr<TimerStore>> Create(redis::RedisClient* redis,
                                                            std::string ns, int shard_count);

  // Creates or updates the timer (see the file comment). True when it did not exist.
  absl::StatusOr<bool> Schedule(absl::string_view timer_id, absl::string_view kind,
                                absl::Time due_at, absl::string_view payload);

  // Deletes the timer in any state. True when it existed.
  absl::StatusOr<bool> Cancel(absl::string_view timer_id);

  // Up to `limit` timers that may be claimed at `now`: due at or before `now`, or claimed
  // with a lease that expired at or before `now`; earliest due first. Read only: the answer
  // may be stale by the time the caller claims, which Claim checks.
  absl::StatusOr<std::vector<Timer>> Due(absl::Time now, int limit);

  // Claims the timer for `owner` until now + `lease` if it may be claimed at `now` (see
  // Due). nullopt when it may not: not due yet, held by an unexpired claim, or gone.
  absl::StatusOr<std::optional<Timer>> Claim(absl::string_view timer_id, absl::string_view owner,
                                             absl::Time now, absl::Duration lease);

  // Ends the claim `claim`: the timer is deleted, or, if it was scheduled again while
  // claimed, due again at its new time. False when `claim` is not the timer's current claim
  // (lease lost and claimed again, cancelled, or completed already): nothing changes.
  absl::StatusOr<bool> Complete(absl::string_view timer_id, int64_t claim);

  // Ends the claim `claim` after a failed firing: the timer is due again at `next_due`
  // (or, if it was scheduled again while claimed, at its new time). False, changing
  // nothing, like Complete.
  absl::StatusOr<bool> Retry(absl::string_view timer_id, int64_t claim, absl::Time next_due);

  // The timer as stored, or nullopt when there is none (for tools and tests).
  absl::StatusOr<std::optional<Timer>> Get(absl::string_view timer_id);

  // Key names, for documentation, tools and tests.
  int shard_count() const { return shard_count_; }
  std::string DueKey(int shard) const;
  std::string InflightKey(int shard) const;
  std::string TimerKey(absl::string_view timer_id) const;

 private:
  TimerStore(redis::RedisClient* redis, std::string ns, int shard_count);
  std::vector<std::string> Keys(absl::string_view timer_id) const;
  std::string TimerKeyInShard(int shard, absl::string_view timer_id) const;

  redis::RedisClient* redis_;
  const std::string ns_;
  const int shard_count_;
};

// The shard of `timer_id` among `shard_count` (>= 1): FNV-1a (64 bit) of the id's bytes,
// modulo `shard_count`. Stable across processes, builds and platforms.
int ShardOf(absl::string_view timer_id, int shard_count);

// Timer ids, owners and namespaces go into keys and members: 1 to kMaxTimerIdLength
// letters, digits, '-', '_', '.' and ':'. kInvalidArgument naming `field` otherwise (so no
// caller can smuggle key syntax such as '}' into a key).
absl::Status ValidateTimerId(absl::string_view field, absl::string_view id);

// A timer time as Redis is given it (unix ms). kInvalidArgument naming `field` for a time
// before 1970 or from 2^53 ms on (scores are doubles; beyond that they are not exact).
absl::StatusOr<int64_t> TimerMillis(absl::string_view field, absl::Time time);

}  // namespace hub::timers

#endif  // HUB_SERVICES_COMMON_TIMERS_TIMER_STORE_H_
