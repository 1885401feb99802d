// Each provider's offers, as a log it reads in order and acknowledges, so a provider that
// reconnects resumes right after its last acknowledged offer: nothing lost, nothing sent
// twice (the provider API's StreamOffers and AcknowledgeOffers sit on this).
//
// Keys (all of one provider share the hash tag {<provider key>}, so every script touches a
// single Redis Cluster slot):
//   <ns>:offers:{<provider key>}:last      string: the last sequence issued (0 when absent)
//   <ns>:offers:{<provider key>}:ids       hash: offer id -> its sequence (kept for good,
//                                          so an offer appended again is never re-issued;
//                                          a few dozen bytes per offer)
//   <ns>:offers:{<provider key>}:log       hash: sequence -> payload
//   <ns>:offers:{<provider key>}:log_ids   hash: sequence -> offer id
//   <ns>:offers:{<provider key>}:acked     string: the acknowledged pointer (0 when absent)
//   <ns>:offers:{<provider key>}:trimmed   string: every sequence up to this one has been
//                                          removed from log and log_ids (0 when absent)
// Sequences run 1, 2, 3, ... per provider with no gaps: Append issues the next one and
// stores the offer in the same script, so no reader ever sees a hole.
//
// Retention: offers after the acknowledged pointer are always kept. Acknowledged offers are
// kept until `retain_acknowledged` newer acknowledged ones exist (default 1000), then
// removed by Acknowledge, at most kTrimBatch per call (the rest on later calls), so After
// from an old sequence starts at the oldest offer still kept.
//
// Every call is idempotent (safe to retry after kUnavailable). Thread-safe (the Redis client
// is).
#ifndef HUB_SERVICES_ROUTING_REFERRALS_OFFER_LOG_H_
#define HUB_SERVICES_ROUTING_REFERRALS_OFFER_LOG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#include "services/common/redis/redis_client.h"

namespace hub::routing::referrals {

// One offer as stored.
struct LoggedOffer {
  int64_t sequence = 0;
  std::string offer_id;
  // Opaque to the log (the provider API stores a serialized Offer).
  std::string payload;
};

// What Append did.
struct Appended {
  int64_t sequence = 0;
  // False when the offer id was already in the log (the original sequence is returned and
  // nothing was added).
  bool added = false;
};

class OfferLog {
 public:
  static constexpr int64_t kDefaultRetainAcknowledged = 1000;
  // At most this many acknowledged offers are removed per Acknowledge call.
  static constexpr int64_t kTrimBatch = 1000;
  // After and Pending return at most this many offers per call.
  static constexpr int kMaxLimit = 1000;

  // `redis` must outlive the log. `ns` prefixes every key. `retain_acknowledged` (>= 0) is
  // how many acknowledged offers to keep (see Retention above).
  OfferLog(redis::RedisClient* redis, std::string ns,
           int64_t retain_acknowledged = kDefaultRetainAcknowledged);

  // Adds the offer and returns its sequence; for an offer id already in the log, returns
  // its original sequence and adds nothing. kInvalidArgument for a bad provider key or
  // offer id (1 to 128 letters, digits, '-', '_', '.' or ':').
  absl::StatusOr<Appended> Append(absl::string_view provider_key, absl::string_view offer_id,
                                  absl::string_view payload);

  // The offers after `after_sequence` (>= 0), in sequence order, at most `limit`
  // (1..kMaxLimit). Offers already trimmed are skipped: the reply starts at the oldest kept.
  absl::StatusOr<std::vector<LoggedOffer>> After(absl::string_view provider_key,
                                                 int64_t after_sequence, int limit);

  // The offers after the acknowledged pointer, read in the same step as the pointer.
  absl::StatusOr<std::vector<LoggedOffer>> Pending(absl::string_view provider_key, int limit);

  // Moves the acknowledged pointer to `sequence` (>= 0) when that is further on; it never
  // moves back and never passes the last sequence issued. Returns the pointer after the
  // call, and trims acknowledged offers beyond the retention.
  absl::StatusOr<int64_t> Acknowledge(absl::string_view provider_key, int64_t sequence);

  // The acknowledged pointer (0 when nothing was acknowledged), and the last sequence issued.
  absl::StatusOr<int64_t> Acknowledged(absl::string_view provider_key);
  absl::StatusOr<int64_t> LastSequence(absl::string_view provider_key);

  // Key names, for documentation, tools and tests.
  std::string LastKey(absl::string_view provider_key) const;
  std::string IdsKey(absl::string_view provider_key) const;
  std::string LogKey(absl::string_view provider_key) const;
  std::string LogIdsKey(absl::string_view provider_key) const;
  std::string AckedKey(absl::string_view provider_key) const;
  std::string TrimmedKey(absl::string_view provider_key) const;

 private:
  absl::StatusOr<std::vector<LoggedOffer>> Read(absl::string_view provider_key,
                                                int64_t after_sequence, int limit);

  redis::RedisClient* redis_;
  std::string ns_;
  int64_t retain_acknowledged_;
};

}  // namespace hub::routing::referrals

#endif  // HUB_SERVICES_ROUTING_REFERRALS_OFFER_LOG_H_
