// The durable store of victims' data keys.
//
// The compacted Kafka topic <ns>.intake.data-keys.v1 is the record: one record per key
// generation, key "<key_id>/<generation>", value a serialized hub.seal.v1.WrappedKey (the
// data key wrapped by the master key, so the topic holds nothing usable without it). A
// tombstone (null value) under that key is the erasure. Redis is only the index and
// cache, and can be rebuilt from the topic (RebuildIndex):
//   <ns>:key:{<key_id>}   hash: "current" -> generation in use for new seals;
//                               "g:<generation>" -> serialized WrappedKey
// Every script touches one key, hash-tagged by key id, so it runs on Redis Cluster.
//
// Lifecycle: a key is created on first use (GetOrCreate), produced to the topic and
// acknowledged with acks=all BEFORE it is indexed and returned, so a key that sealed
// anything is always durable. Concurrent creators, in threads or processes, converge: the
// indexing script makes a generation current only if none is, records every creator's
// generation (so erasure finds them all) and returns the current one, which every
// creator then uses. Erase tombstones every generation on the topic, then removes them
// from the index. Clear data keys are never cached in the process, so an erasure takes
// effect everywhere at once.
//
// The record after an erasure: the sealed copies in every event log are unreadable at
// once; the wrapped key itself leaves the topic when compaction removes it, which Kafka
// only does once the segment holding it is no longer the active one (segment.ms) and the
// cleaner has run (max.compaction.lag.ms plus the cleaner's back-off). AppendRollMarker
// makes sure a segment rolls even when no other key is created.
//
// Thread-safe: the producer and the Redis client are. Tombstones and roll markers go
// through the same kafka::Producer as new keys (OutgoingRecord::tombstone).
#ifndef HUB_SERVICES_COMMON_SEAL_KEY_STORE_H_
#define HUB_SERVICES_COMMON_SEAL_KEY_STORE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

#include "services/common/clock/clock.h"
#include "services/common/kafka/kafka.h"
#include "services/common/redis/redis_client.h"
#include "services/common/seal/crypto.h"
#include "services/common/seal/master_key.h"

namespace hub::seal {

// The key of the roll marker record on the key topic (never a key id: those start "vk_").
inline constexpr char kRollMarkerKey[] = "_roll";

class KeyStore {
 public:
  struct Options {
    // Prefix of every Redis key.
    std::string ns = "hub";
    // The key topic, events::Topics(ns).data_keys in a service.
    std::string topic;
    // The Kafka cluster of `topic`, which RebuildIndex reads.
    std::string bootstrap_servers;
    // Bound on each Kafka write the store waits for (tombstones, roll marker) and on
    // GetOrCreate's blocking wait.
    absl::Duration kafka_timeout = absl::Seconds(30);
    // Runs the work that follows a new key's delivery (indexing it in Redis, then the
    // caller's callback) off Kafka's delivery thread. Unset: runs it on that thread.
    std::function<void(std::function<void()>)> executor;
  };

  // `producer`, `redis` and `clock` must outlive the store. The producer must be the
  // hub's idempotent acks=all producer (kafka::CreateProducer). Delivery callbacks of keys
  // being created refer to the store: flush the producer (or destroy it) before the store.
  KeyStore(MasterKey master, kafka::Producer* producer, redis::RedisClient* redis,
           std::shared_ptr<clock::Clock> clock, Options options);
  ~KeyStore();

  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  // Calls `done` with the current generation of `key_id`, creating one if there is none.
  // A new key is produced to the topic and acknowledged (acks=all) before it is indexed
  // in Redis and returned; when several creators race, all get the generation that won
  // the index (the losers' records stay on the topic, indexed but never current, and are
  // erased with the rest). `done` runs inline when the key exists or a step fails before
  // producing, otherwise on the producer's delivery thread (after one Redis round trip
  // there): keep it short and never wait on the producer from it.
  // kInvalidArgument for a malformed key id; kUnavailable when Redis or Kafka is down
  // (retry); kFailedPrecondition or kDataLoss when the indexed key cannot be unwrapped.
  void GetOrCreateAsync(absl::string_view key_id,
                        std::function<void(absl::StatusOr<DataKey>)> done);

  // The blocking form of GetOrCreateAsync; at most Options::kafka_timeout
  // (kDeadlineExceeded). Never call it from a delivery callback.
  absl::StatusOr<DataKey> GetOrCreate(absl::string_view key_id);

  // One generation of `key_id`, to open what it sealed. kNotFound when it was erased or
  // never existed; kInvalidArgument for a malformed key id or generation.
  absl::StatusOr<DataKey> Get(absl::string_view key_id, absl::string_view generation);

  // Erases every generation of `key_id`: tombstones each on the topic (acks=all), then
  // removes them from the index. Returns the generations destroyed, sorted (empty when
  // there were none). Idempotent: a failed call can be repeated. The generations are
  // found in Redis, so after a Redis loss call RebuildIndex first, or a generation only
  // the topic knows would survive.
  absl::StatusOr<std::vector<std::string>> Erase(absl::string_view key_id);

  // Reads the whole key topic from its beginning to its current end and rewrites the
  // index from it: every live generation is indexed, every tombstoned one removed; a key
  // with no current generation gets the one whose record came last. Pipelined; never
  // removes a generation created concurrently. For startup after Redis lost its data:
  // a service calls it when the marker key IndexedMarkerKey() is missing, then sets the
  // marker (MarkIndexed). kDeadlineExceeded if the topic was not read within `timeout`.
  absl::Status RebuildIndex(absl::Duration timeout);

  // The marker key "<ns>:keys:indexed", and setting it.
  std::string IndexedMarkerKey() const;
  absl::Status MarkIndexed();
  // True when the marker is present (the index is believed complete).
  absl::StatusOr<bool> IsIndexed();

  // Appends the roll marker record (key "_roll", null value) to the topic. Kafka never
  // compacts the active segment, and a segment only rolls when a record arrives after
  // segment.ms; without this marker an erasure on a quiet topic could stay in the active
  // segment indefinitely. The owner calls it every segment.ms / 2, so an erased key's
  // record leaves the topic within about segment.ms + max.compaction.lag.ms + the
  // cleaner's back-off.
  absl::Status AppendRollMarker();

  // The Redis key of `key_id`'s index hash.
  std::string IndexKey(absl::string_view key_id) const;

 private:
  // Produces a tombstone per key and waits (at most kafka_timeout) for all to be stored.
  absl::Status ProduceTombstones(const std::vector<std::string>& record_keys);
  absl::StatusOr<DataKey> UnwrapRecord(absl::string_view key_id, absl::string_view generation,
                                       absl::string_view serialized) const;
  void Create(const std::string& key_id, std::function<void(absl::StatusOr<DataKey>)> done);

  const MasterKey master_;
  kafka::Producer* const producer_;
  redis::RedisClient* const redis_;
  const std::shared_ptr<clock::Clock> clock_;
  const Options options_;
};

// kInvalidArgument unless `key_id` is "vk_" and 32 lower-case hex digits.
absl::Status ValidateKeyId(absl::string_view key_id);
// kInvalidArgument unless `generation` is 16 lower-case hex digits.
absl::Status ValidateGeneration(absl::string_view generation);

}  // namespace hub::seal

#endif  // HUB_SERVICES_COMMON_SEAL_KEY_STORE_H_
