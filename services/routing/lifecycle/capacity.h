// Provider capacity and waiting lists in Redis: a provider never holds more active
// referrals than its maximum, under any concurrency, and a referral that cannot get a place
// waits in a list ordered by priority, then age, with a visible position, and moves in as
// soon as a place frees.
//
// Keys (all of one provider share the hash tag {<provider id>}, so every script touches a
// single Redis Cluster slot):
//   <ns>:capacity:{<provider id>}:active   set: the referral ids holding a place
//   <ns>:capacity:{<provider id>}:waiting  sorted set: the referral ids waiting for a place,
//                                          scored (kMaxPriority - priority) * 10^13 +
//                                          enqueued_at (unix ms), so the lowest score, the
//                                          head, is the highest priority and then the
//                                          oldest; equal scores order by referral id
// A referral id is in at most one of the two. Every change that involves both (or a count
// and a change) is one Lua script, so it is atomic; a place freed is filled from the head
// in the same script, so it is never lost or used twice.
//
// The maximum is not stored: it is the provider directory's (reloaded on change), and each
// call that may fill a place takes it. Lowering it never evicts anyone; the provider simply
// takes no one new until it is under the new maximum. Raising it takes effect on the next
// Admit, Release or Fill for that provider.
//
// Every call is idempotent (safe to retry after kUnavailable). Thread-safe (the Redis client
// is).
#ifndef HUB_SERVICES_ROUTING_LIFECYCLE_CAPACITY_H_
#define HUB_SERVICES_ROUTING_LIFECYCLE_CAPACITY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#include "services/common/redis/redis_client.h"

namespace hub::routing::lifecycle {

// Waiting-list priorities run from 0 (lowest) to kMaxPriority (most urgent).
inline constexpr int kMaxPriority = 100;

// What Admit did with a referral.
struct Admission {
  // True when the referral holds a place (now, or already did).
  bool reserved = false;
  // Its 1-based position in the waiting list when not reserved; 0 when reserved.
  int64_t position = 0;
  // Other referrals that were waiting and moved into places found free (only when the
  // maximum was raised since the last fill): the caller offers them to the provider.
  std::vector<std::string> promoted;
};

// What Release did.
struct Released {
  // False when the referral held no place (already released, or never reserved).
  bool released = false;
  // The head of the waiting list, moved into the freed place; the caller offers it.
  std::optional<std::string> promoted;
};

class CapacityStore {
 public:
  // `redis` must outlive the store. `ns` prefixes every key.
  CapacityStore(redis::RedisClient* redis, std::string ns);

  // Takes a place for `referral_id` if the provider has fewer than `max_active` active
  // referrals. True when the referral holds a place (also when it already did: reserving
  // twice counts once); false when full. A reserved referral leaves the waiting list. This
  // does not look at the waiting list: routing uses Admit, which is fair to those waiting.
  absl::StatusOr<bool> Reserve(absl::string_view provider_id, absl::string_view referral_id,
                               int64_t max_active);

  // Frees the referral's place, if it held one, and in the same step moves the head of the
  // waiting list into it while the provider is under `max_active`. Releasing twice frees
  // once and promotes once.
  absl::StatusOr<Released> Release(absl::string_view provider_id, absl::string_view referral_id,
                                   int64_t max_active);

  // Adds the referral to the waiting list at (priority, enqueued_at) and returns its 1-based
  // position. Enqueueing twice keeps the first entry and its place in the list.
  // kFailedPrecondition when the referral already holds a place.
  absl::StatusOr<int64_t> Enqueue(absl::string_view provider_id, absl::string_view referral_id,
                                  int priority, absl::Time enqueued_at);

  // Routing's one call: the referral joins the waiting list (unless it holds a place), then,
  // in the same step, the list's head moves into places while the provider is under
  // `max_active`. So a referral gets a place at once only when nobody is waiting ahead of
  // it, and no place is left free while someone waits.
  absl::StatusOr<Admission> Admit(absl::string_view provider_id, absl::string_view referral_id,
                                  int64_t max_active, int priority, absl::Time enqueued_at);

  // Moves waiting referrals into free places while the provider is under `max_active`
  // (after its maximum was raised); returns them, head first.
  absl::StatusOr<std::vector<std::string>> Fill(absl::string_view provider_id, int64_t max_active);

  // The referral's 1-based position in the waiting list, or nullopt when it is not waiting.
  absl::StatusOr<std::optional<int64_t>> Position(absl::string_view provider_id,
                                                  absl::string_view referral_id);

  // Takes the referral off the waiting list (cancelled, consent withdrawn, routed
  // elsewhere). True when it was waiting.
  absl::StatusOr<bool> Dequeue(absl::string_view provider_id, absl::string_view referral_id);

  // How many referrals hold a place, and how many wait.
  absl::StatusOr<int64_t> Active(absl::string_view provider_id);
  absl::StatusOr<int64_t> Waiting(absl::string_view provider_id);

  // Key names, for documentation, tools and tests.
  std::string ActiveKey(absl::string_view provider_id) const;
  std::string WaitingKey(absl::string_view provider_id) const;

 private:
  redis::RedisClient* redis_;
  std::string ns_;
};

// Provider and referral ids go into keys and members: 1 to 128 characters of letters,
// digits, '-', '_', '.' and ':'. kInvalidArgument naming `field` otherwise (so no caller
// can smuggle key syntax such as '}' into a key).
absl::Status ValidateCapacityId(absl::string_view field, absl::string_view id);

// The waiting-list score for (priority, enqueued_at), as Redis is given it. kInvalidArgument
// for a priority outside 0..kMaxPriority or a time before 1970 or after 2286.
absl::StatusOr<std::string> WaitingScore(int priority, absl::Time enqueued_at);

}  // namespace hub::routing::lifecycle

#endif  // HUB_SERVICES_ROUTING_LIFECYCLE_CAPACITY_H_
