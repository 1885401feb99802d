// The hub's Kafka seam: records, a producer and an at-least-once consumer loop.
//
// Services depend on the interfaces here, never on librdkafka directly, so business
// logic can be tested with fakes. The real implementations (CreateProducer,
// ConsumerLoop::Create) wrap librdkafka's C++ API.
//
// Guarantees:
//  - A produced record is reported delivered only after the broker stored it with
//    acks=all on an idempotent producer; every delivery report is checked.
//  - A consumed record's offset is stored only after its handler returned OK (or after a
//    record that can never succeed was written to the dead-letter topic).
//
// Thread safety: Producer is thread-safe. A ConsumerLoop runs its handler on the thread
// that called Run(); Stop() may be called from any thread or a signal-watching thread.
#ifndef HUB_SERVICES_COMMON_KAFKA_KAFKA_H_
#define HUB_SERVICES_COMMON_KAFKA_KAFKA_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace hub::kafka {

// Receives the adapter's few operational log lines ("warning", "error"). Messages carry
// only topic, partition, offset, group and librdkafka error names, never keys, values or
// header contents, so they are safe for any sink. Called from librdkafka-serving threads
// (the delivery thread or the thread running ConsumerLoop::Run): keep it cheap.
using LogHook = std::function<void(std::string_view level, std::string_view message)>;

struct Header {
  std::string key;
  std::string value;
};

// A record to publish. An empty `key` is sent as a null key, so keyless records are spread
// over partitions; `value` is sent as is (an empty value is not a null/tombstone).
struct OutgoingRecord {
  std::string topic;
  std::string key;
  std::string value;
  std::vector<Header> headers;
  // Sends a null value (`value` must be empty): on a compacted topic, the deletion of
  // every earlier record with this key.
  bool tombstone = false;
};

// A record read from a topic.
struct ConsumedRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  std::vector<Header> headers;
  absl::Time timestamp;

  // The value of the first header named `name`, if any.
  std::optional<std::string_view> FindHeader(std::string_view name) const;
};

struct ProducerConfig {
  // Comma-separated host:port list.
  std::string bootstrap_servers;
  // Shows in broker logs and metrics; never contains personal data.
  std::string client_id;
  // Small linger keeps latency low while still batching bursts.
  absl::Duration linger = absl::Milliseconds(2);
  // How long a record may wait for acknowledgement before it is reported failed.
  absl::Duration delivery_timeout = absl::Seconds(30);
  // How long Produce() keeps retrying while librdkafka's local queue is full (or while the
  // handle is being recreated after a fatal error) before reporting kUnavailable.
  absl::Duration enqueue_timeout = absl::Milliseconds(500);
  // Bound on the flush done by the destructor; records still unacknowledged afterwards are
  // reported failed (kUnavailable) rather than dropped.
  absl::Duration shutdown_timeout = absl::Seconds(5);
  // Topics this producer writes to. Their metadata is fetched when the handle is created:
  // librdkafka before 2.10.1 holds the first record produced (with headers) to a topic it
  // has no metadata for until its next 1-second timer (librdkafka #5032), which would add a
  // second to the first event of every stage. Best effort: an unreachable broker only logs.
  std::vector<std::string> topics;
  // Operational log lines; default: none.
  LogHook log;
  // Extra librdkafka properties, applied last (for tests and tuning).
  std::map<std::string, std::string> extra;
};

// Publishes records. Implementations are thread-safe.
class Producer {
 public:
  // Called exactly once per record: OK once the broker has durably stored it (acks=all),
  // otherwise the reason it was not. Runs on the producer's delivery thread: keep it short
  // and never block on another Produce from inside it. (Only records still unreported when
  // the producer is destroyed are failed on the destroying thread, after the delivery
  // thread stopped.)
  using DeliveryCallback = std::function<void(absl::Status)>;

  virtual ~Producer() = default;

  // Queues `record` for delivery. `on_delivery` is always called, also when queueing fails.
  virtual void Produce(OutgoingRecord record, DeliveryCallback on_delivery) = 0;

  // Produces `record` and waits for its delivery report, at most `timeout`
  // (kDeadlineExceeded after that; the record may still be delivered later). From inside a
  // DeliveryCallback it returns kFailedPrecondition instead of deadlocking.
  virtual absl::Status ProduceSync(OutgoingRecord record, absl::Duration timeout) = 0;

  // Waits until every queued record has a delivery report, at most `timeout`
  // (kDeadlineExceeded). From inside a DeliveryCallback it returns kFailedPrecondition.
  virtual absl::Status Flush(absl::Duration timeout) = 0;
};

// Creates an idempotent producer (enable.idempotence=true, acks=all). Recreates the
// underlying librdkafka handle if it reports a fatal error; records in flight at that
// moment are reported failed, never silently dropped.
absl::StatusOr<std::unique_ptr<Producer>> CreateProducer(const ProducerConfig& config);

struct ConsumerConfig {
  std::string bootstrap_servers;
  // The consumer group: one per service.
  std::string group_id;
  std::string client_id;
  std::vector<std::string> topics;
  // Topic that receives records which can never be processed (see RecordHandler).
  std::string dead_letter_topic;
  // Backoff between retries of a record whose handler failed transiently.
  absl::Duration retry_backoff_min = absl::Milliseconds(100);
  absl::Duration retry_backoff_max = absl::Seconds(5);
  // How often stored offsets are committed in the background (auto.commit.interval.ms).
  // Short, so a crash redelivers few records; revoke and Stop() also commit synchronously.
  absl::Duration auto_commit_interval = absl::Milliseconds(500);
  // How long the group waits for a silent member before giving its partitions to the
  // others. Short, so a crashed instance's work moves on within seconds; the broker's
  // group.min.session.timeout.ms (6 s by default) is the floor.
  absl::Duration session_timeout = absl::Seconds(10);
  // How long one dead-letter write may take before it counts as a transient failure.
  absl::Duration dead_letter_timeout = absl::Seconds(10);
  // Operational log lines; default: none.
  LogHook log;
  // Extra librdkafka properties, applied last.
  std::map<std::string, std::string> extra;
};

// Processes one record. The returned status decides what happens to it:
//  - OK: the effect is done; the offset is stored.
//  - kInvalidArgument or kDataLoss: the record can never succeed (undecodable, missing
//    headers): it is written to the dead-letter topic with the reason, then its offset is
//    stored.
//  - anything else (e.g. kUnavailable when Redis is down): transient; the same record is
//    retried with exponential backoff until it succeeds or the loop stops. Its offset is
//    not stored, so after a restart it is delivered again. Handlers must be idempotent.
using RecordHandler = std::function<absl::Status(const ConsumedRecord&)>;

// A dead-letter record keeps the original key, value and headers (so it can be replayed
// as is) and adds these headers, whose values are plain text:
//  - hub_dl_reason: the handler's status, "INVALID_ARGUMENT: <message>". Handlers must
//    keep personal data out of their status messages.
//  - hub_dl_source_topic, hub_dl_source_partition, hub_dl_source_offset: where it came from.
//  - hub_dl_group: the consumer group that gave up on it.
inline constexpr char kDeadLetterReasonHeader[] = "hub_dl_reason";
inline constexpr char kDeadLetterSourceTopicHeader[] = "hub_dl_source_topic";
inline constexpr char kDeadLetterSourcePartitionHeader[] = "hub_dl_source_partition";
inline constexpr char kDeadLetterSourceOffsetHeader[] = "hub_dl_source_offset";
inline constexpr char kDeadLetterGroupHeader[] = "hub_dl_group";

// Counters a consumer loop keeps; read them for metrics.
struct ConsumerStats {
  // Records whose handler returned OK.
  std::atomic<uint64_t> handled{0};
  // Transient handler (or dead-letter write) failures, each followed by a retry.
  std::atomic<uint64_t> retried{0};
  // Records written to the dead-letter topic.
  std::atomic<uint64_t> dead_lettered{0};
  // Rebalance callbacks (assign, revoke or lost) this member went through.
  std::atomic<uint64_t> rebalances{0};
};

// A consumer-group member that runs `handler` on every record, at least once.
class ConsumerLoop {
 public:
  virtual ~ConsumerLoop() = default;

  // Consumes and handles records until Stop() is called, then commits stored offsets and
  // leaves the group cleanly. Returns an error only for a fatal consumer error (kInternal).
  // The handler, rebalance handling and dead-letter writes all run on the calling thread.
  // A loop runs once: a second call returns kFailedPrecondition.
  virtual absl::Status Run() = 0;

  // Asks Run() to return. Safe from any thread; idempotent.
  virtual void Stop() = 0;

  // True once the group has assigned this member its partitions (even if zero of them)
  // and the loop is polling.
  virtual bool Ready() const = 0;

  virtual const ConsumerStats& stats() const = 0;
};

// Creates a consumer loop (cooperative-sticky assignment, enable.auto.offset.store=false,
// auto commit of stored offsets, commit on revoke and on stop). `dead_letter_producer`
// must outlive the loop.
absl::StatusOr<std::unique_ptr<ConsumerLoop>> CreateConsumerLoop(const ConsumerConfig& config,
                                                                 RecordHandler handler,
                                                                 Producer* dead_letter_producer);

// How one topic is created.
struct TopicSpec {
  std::string name;
  int partitions = 1;
  // "delete" or "compact".
  std::string cleanup_policy = "delete";
  // -1 keeps records forever.
  int64_t retention_ms = -1;
  // Further topic configuration (e.g. {"segment.ms", "3600000"}), set at creation.
  std::vector<std::pair<std::string, std::string>> configs = {};
};

// Creates every topic in `specs` that does not exist yet, with its partitions and
// configuration; leaves existing topics alone but returns kFailedPrecondition if one has
// fewer partitions than its spec. Idempotent.
absl::Status EnsureTopics(const std::string& bootstrap_servers, const std::vector<TopicSpec>& specs,
                          absl::Duration timeout = absl::Seconds(30));

}  // namespace hub::kafka

#endif  // HUB_SERVICES_COMMON_KAFKA_KAFKA_H_
