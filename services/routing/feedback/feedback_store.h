// What police forces are told about their own reports, in Redis: per case, the feedback a
// force's system sees (hub.routing.v1.CaseFeedback: the enhanced flag and categories the
// Victims' Code requires be passed on, the referral decision, and each referral's status and
// how it closed), an index by the force's crime reference, and per force an append-only feed
// of every change, which ForceFeedbackService.FollowFeedback replays.
//
// Keys (every key of one force shares the hash tag {<force>}, so each update is one Lua
// script on one Redis Cluster slot, atomic):
//   <ns>:feedback:{<force>}:case:<case id>      hash: feedback (a serialized CaseFeedback,
//                                                token unset), assessment_sequence (of the
//                                                assessment shown), confirmed (1 once shown
//                                                to the force, see CaseState), version
//                                                (compare-and-set), token (the feed entry of
//                                                its last change)
//   <ns>:feedback:{<force>}:applied:<case id>   set: ids of the events applied to the case
//                                                (an event applied twice changes nothing)
//   <ns>:feedback:{<force>}:crime:<crime ref>   set: the case ids of that crime
//   <ns>:feedback:{<force>}:changes             stream: one entry per change a force can
//                                                see (case_id, feedback, prev = the id of
//                                                the entry before it), trimmed with
//                                                XADD MAXLEN ~ stream_max_len
// The entry id of a change ("<unix ms>-<n>") is the FollowFeedback token.
//
// Only police cases are shown; nothing here is personal data (victim_ref is the force's own
// reference for the person, and every field marked pii stays out). Nothing is removed except
// old feed entries by the trim (an unconfirmed case that is never confirmed stays hidden for
// good: a few hundred bytes). All of a force's keys live in one Redis Cluster slot: at the
// seed scale (about 32,000 victims a year in one force) that is a few tens of megabytes.
//
// Updates: Apply reads the case, lets the caller change it, then one script checks the event
// was not applied and the version is unchanged, records the event id, writes the case,
// indexes it, and appends to the feed, all or nothing. A lost race re-reads and retries.
//
// Thread-safe (the Redis client is).
#ifndef HUB_SERVICES_ROUTING_FEEDBACK_FEEDBACK_STORE_H_
#define HUB_SERVICES_ROUTING_FEEDBACK_FEEDBACK_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#include "hub/routing/v1/provider.pb.h"
#include "services/common/redis/redis_client.h"

namespace hub::routing::feedback {

// A case as the store keeps it: what the force sees, and which assessment that shows.
struct CaseState {
  // token is never set here.
  hub::routing::v1::CaseFeedback feedback;
  // The NeedsAssessed.sequence shown (0: no assessment seen yet). An older assessment
  // arriving late is ignored.
  int32_t assessment_sequence = 0;
  // Set once an event carrying the crime itself (NeedsAssessed, ReferralRouted) showed the
  // case is this force's police report. Until then the case is kept (so referral changes read
  // before the assessment are not lost) but shown to nobody: not indexed, not in the feed.
  bool confirmed = false;
};

enum class ApplyOutcome {
  // Something the force sees changed: stored and appended to the force's feed.
  kChanged,
  // Applied, but nothing the force sees changed (bookkeeping at most): nothing appended.
  kUnchanged,
  // The event was applied before: nothing changed.
  kDuplicate,
  // Not a police case (a self-referral): not stored (FeedbackProjector only).
  kSkipped,
};

struct Applied {
  ApplyOutcome outcome = ApplyOutcome::kUnchanged;
  // For kChanged: the feed entry id of the change.
  std::string token;
};

// A position in a force's feed: a Redis stream entry id "<ms>-<seq>".
struct FeedToken {
  uint64_t ms = 0;
  uint64_t seq = 0;

  std::string ToString() const;
  // Stream order: by time, then by sequence within the millisecond.
  friend bool operator==(const FeedToken& a, const FeedToken& b) {
    return a.ms == b.ms && a.seq == b.seq;
  }
  friend bool operator<(const FeedToken& a, const FeedToken& b) {
    return a.ms != b.ms ? a.ms < b.ms : a.seq < b.seq;
  }
  friend bool operator>(const FeedToken& a, const FeedToken& b) { return b < a; }
};

// Parses a token this store issued; kInvalidArgument naming `field` otherwise.
absl::StatusOr<FeedToken> ParseFeedToken(absl::string_view field, absl::string_view token);

// What goes into keys. kInvalidArgument naming `field` otherwise:
//  force: 1 to 64 letters, digits, '-', '_' or '.' (a principal's organisation part);
//  crime reference: 1 to 64 letters, digits, '-', '_', '/' or '.';
//  case id: 1 to 128 letters, digits, '-', '_' or '.'.
// Braces never pass, so a value can never change a key's hash tag.
absl::Status ValidateForce(absl::string_view field, absl::string_view force);
absl::Status ValidateCrimeReference(absl::string_view field, absl::string_view crime_reference);
absl::Status ValidateCaseId(absl::string_view field, absl::string_view case_id);

struct FeedbackStoreOptions {
  // Feed entries kept per force, approximately (XADD MAXLEN ~): at least 1.
  int64_t stream_max_len = 100000;
};

class FeedbackStore {
 public:
  // ReadChanges returns at most this many changes per call.
  static constexpr int kMaxReadLimit = 1000;
  // An update that loses the compare-and-set this many times in a row gives up (kAborted).
  static constexpr int kMaxAttempts = 32;

  // `redis` must outlive the store. `ns` prefixes every key. A stream_max_len below 1 is
  // taken as 1.
  FeedbackStore(redis::RedisClient* redis, std::string ns, FeedbackStoreOptions options = {});

  // Changes a case's state in place; an error aborts the update (and is returned).
  using Change = std::function<absl::Status(CaseState* state)>;

  // Applies event `event_id` to the force's case once: reads the case (a fresh CaseState
  // with only case_id set when there is none), runs `change` on it, and stores the result.
  // For a confirmed case whose feedback changed (or that was just confirmed), the case is
  // indexed by crime reference and the change appended to the feed (kChanged). Otherwise
  // (only the assessment sequence changed, or the case is not confirmed yet) it is stored
  // without an entry, and when nothing changed only the event id is recorded (kUnchanged). An event
  // id already applied to the case is kDuplicate and `change` may not run. The state after `change`
  // must carry the case id and a valid crime_reference (kInvalidArgument). kUnavailable when Redis
  // is unreachable, kAborted after kMaxAttempts lost races, kDataLoss when the stored case does not
  // parse.
  absl::StatusOr<Applied> Apply(absl::string_view force, absl::string_view case_id,
                                absl::string_view event_id, const Change& change);

  // The force's case, with token set to its last change; nullopt when there is none or it
  // is not confirmed.
  absl::StatusOr<std::optional<hub::routing::v1::CaseFeedback>> GetCase(absl::string_view force,
                                                                        absl::string_view case_id);
  // The stored state, confirmed or not, for tests and tools.
  absl::StatusOr<std::optional<CaseState>> GetState(absl::string_view force,
                                                    absl::string_view case_id);

  // The force's cases of a crime reference, by case id, each with its token; empty when the
  // force has none.
  absl::StatusOr<std::vector<hub::routing::v1::CaseFeedback>> GetCrime(
      absl::string_view force, absl::string_view crime_reference);

  // The force's changes after `after` (nullopt: from the oldest retained), oldest first, at
  // most `limit` (1..kMaxReadLimit), each with token set. kOutOfRange when `after` cannot be
  // resumed from: changes after it were trimmed from the feed, or it is beyond the force's
  // newest change (not a token of this feed, or the store was reset).
  absl::StatusOr<std::vector<hub::routing::v1::CaseFeedback>> ReadChanges(
      absl::string_view force, std::optional<FeedToken> after, int limit);

  // Key names, for documentation, tools and tests.
  std::string CaseKey(absl::string_view force, absl::string_view case_id) const;
  std::string AppliedKey(absl::string_view force, absl::string_view case_id) const;
  std::string CrimeKey(absl::string_view force, absl::string_view crime_reference) const;
  std::string ChangesKey(absl::string_view force) const;

 private:
  redis::RedisClient* redis_;
  std::string ns_;
  FeedbackStoreOptions options_;
};

}  // namespace hub::routing::feedback

#endif  // HUB_SERVICES_ROUTING_FEEDBACK_FEEDBACK_STORE_H_
