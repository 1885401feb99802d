// The librdkafka-backed ConsumerLoop.
//
// At-least-once by construction: offsets are stored (enable.auto.offset.store=false) only
// after the handler succeeded or the record reached the dead-letter topic, and only stored
// offsets are ever committed (by auto commit, on revoke and on stop). A transient failure
// seeks the partition back to the failed record instead of retrying in a private loop, so
// the member keeps calling consume() (no max.poll.interval eviction) and a revoke during
// the backoff simply hands the record to the partition's next owner.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include "services/common/kafka/internal/rdkafka_util.h"
#include "services/common/kafka/internal/testing_hooks.h"
#include "services/common/kafka/kafka.h"
#include "services/common/status/status_macros.h"

namespace hub::kafka {
namespace {

constexpr int kConsumeTimeoutMs = 100;
constexpr int kSeekTimeoutMs = 1000;
constexpr absl::Duration kLogInterval = absl::Seconds(10);

struct TopicPartitionDeleter {
  void operator()(RdKafka::TopicPartition* partition) const { delete partition; }
};
using TopicPartitionPtr = std::unique_ptr<RdKafka::TopicPartition, TopicPartitionDeleter>;

std::string PartitionName(const std::string& topic, int32_t partition) {
  return absl::StrCat(topic, "[", partition, "]");
}

bool IsPermanentFailure(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument ||
         status.code() == absl::StatusCode::kDataLoss;
}

class ConsumerLoopImpl final : public ConsumerLoop,
                               public RdKafka::RebalanceCb,
                               public RdKafka::EventCb {
 public:
  ConsumerLoopImpl(ConsumerConfig config, RecordHandler handler, Producer* dead_letter_producer)
      : config_(std::move(config)),
        handler_(std::move(handler)),
        dead_letter_producer_(dead_letter_producer),
        log_(config_.log, kLogInterval) {}
  ~ConsumerLoopImpl() override;

  ConsumerLoopImpl(const ConsumerLoopImpl&) = delete;
  ConsumerLoopImpl& operator=(const ConsumerLoopImpl&) = delete;

  // Creates the librdkafka consumer and subscribes; the group is joined by Run().
  absl::Status Init();

  absl::Status Run() override;
  void Stop() override;
  bool Ready() const override { return assigned_.load() && running_.load(); }
  const ConsumerStats& stats() const override { return stats_; }

  absl::Status TriggerFatalError();

  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override;
  void event_cb(RdKafka::Event& event) override;

 private:
  // Where a partition stands in retrying its current record.
  struct RetryState {
    int64_t offset = -1;
    int attempts = 0;
  };

  void Handle(RdKafka::Message& message);
  // Rewinds the record's partition to `offset` so consume() returns that record again.
  void SeekBack(const std::string& topic, int32_t partition, int64_t offset);
  absl::Status DeadLetter(const ConsumedRecord& record, const absl::Status& reason);
  void StoreOffset(const ConsumedRecord& record);
  void RetryLater(const ConsumedRecord& record, const absl::Status& status);
  absl::Duration NextBackoff(int attempts);
  void CommitStored(const std::string& why);
  void Close();

  const ConsumerConfig config_;
  const RecordHandler handler_;
  Producer* const dead_letter_producer_;
  internal::RateLimitedLog log_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;

  ConsumerStats stats_;
  std::atomic<bool> run_called_{false};
  std::atomic<bool> running_{false};
  std::atomic<bool> assigned_{false};
  std::atomic<bool> stop_requested_{false};
  // Wakes a backoff sleep when Stop() is called.
  absl::Notification stop_notification_;
  bool closed_ = false;
  // Set by event_cb (on the Run() thread) when librdkafka reports a fatal error.
  RdKafka::ErrorCode fatal_error_ = RdKafka::ERR_NO_ERROR;

  // Touched only on the Run() thread (handler and librdkafka callbacks run there).
  std::map<std::pair<std::string, int32_t>, RetryState> retries_;
  absl::BitGen bitgen_;
};

absl::Status ConsumerLoopImpl::Init() {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  HUB_RETURN_IF_ERROR(internal::SetProperty(*conf, "bootstrap.servers", config_.bootstrap_servers));
  HUB_RETURN_IF_ERROR(internal::SetProperty(*conf, "group.id", config_.group_id));
  if (!config_.client_id.empty()) {
    HUB_RETURN_IF_ERROR(internal::SetProperty(*conf, "client.id", config_.client_id));
  }
  // Cooperative rebalancing: members keep the partitions they are not losing.
  HUB_RETURN_IF_ERROR(
      internal::SetProperty(*conf, "partition.assignment.strategy", "cooperative-sticky"));
  // Offsets are stored by hand after the effect; auto commit only commits stored offsets.
  HUB_RETURN_IF_ERROR(internal::SetProperty(*conf, "enable.auto.offset.store", "false"));
  HUB_RETURN_IF_ERROR(internal::SetProperty(*conf, "enable.auto.commit", "true"));
  HUB_RETURN_IF_ERROR(
      internal::SetProperty(*conf, "auto.commit.interval.ms",
                            internal::MillisecondsProperty(config_.auto_commit_interval)));
  HUB_RETURN_IF_ERROR(internal::SetProperty(
      *conf, "session.timeout.ms", internal::MillisecondsProperty(config_.session_timeout)));
  // A new group starts from the beginning: nothing published before it is lost.
  HUB_RETURN_IF_ERROR(internal::SetProperty(*conf, "auto.offset.reset", "earliest"));
  HUB_RETURN_IF_ERROR(internal::SetProperty(*conf, "enable.partition.eof", "false"));
  HUB_RETURN_IF_ERROR(internal::SetProperties(*conf, config_.extra));

  std::string errstr;
  if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), errstr) !=
          RdKafka::Conf::CONF_OK ||
      conf->set("event_cb", static_cast<RdKafka::EventCb*>(this), errstr) !=
          RdKafka::Conf::CONF_OK) {
    return absl::InternalError(absl::StrCat("kafka consumer callbacks rejected: ", errstr));
  }
  consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), errstr));
  if (consumer_ == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("kafka consumer not created: ", errstr));
  }
  if (RdKafka::ErrorCode err = consumer_->subscribe(config_.topics); err != RdKafka::ERR_NO_ERROR) {
    return internal::ErrorToStatus(err, "kafka subscribe");
  }
  return absl::OkStatus();
}

ConsumerLoopImpl::~ConsumerLoopImpl() {
  // A loop whose Run() never ran (or was never called) still leaves its group cleanly.
  Close();
}

void ConsumerLoopImpl::Close() {
  if (closed_ || consumer_ == nullptr) {
    return;
  }
  closed_ = true;
  CommitStored("stop");
  // close() revokes the assignment through rebalance_cb, which commits again (harmless).
  if (RdKafka::ErrorCode err = consumer_->close(); err != RdKafka::ERR_NO_ERROR) {
    log_.Log("warning", "close",
             absl::StrCat("kafka consumer close failed ", internal::ErrorName(err)));
  }
}

absl::Status ConsumerLoopImpl::Run() {
  if (run_called_.exchange(true)) {
    return absl::FailedPreconditionError("ConsumerLoop::Run may be called only once");
  }
  running_.store(true);
  absl::Status result;
  while (!stop_requested_.load()) {
    std::unique_ptr<RdKafka::Message> message(consumer_->consume(kConsumeTimeoutMs));
    const RdKafka::ErrorCode err = message->err();
    if (err == RdKafka::ERR_NO_ERROR) {
      Handle(*message);
    } else if (err == RdKafka::ERR__FATAL) {
      fatal_error_ = err;
    } else if (err != RdKafka::ERR__TIMED_OUT && err != RdKafka::ERR__PARTITION_EOF) {
      // E.g. a subscribed topic that does not exist yet, or a broker that is down:
      // librdkafka keeps retrying, so the loop keeps polling.
      const std::string name = internal::ErrorName(err);
      log_.Log("warning", name,
               absl::StrCat("kafka consumer error ", name, " on ",
                            message->topic_name().empty() ? "client" : message->topic_name()));
    }
    if (fatal_error_ != RdKafka::ERR_NO_ERROR) {
      // The instance is unusable; the caller decides whether to restart the service.
      std::string reason;
      RdKafka::ErrorCode fatal = consumer_->fatal_error(reason);
      if (fatal == RdKafka::ERR_NO_ERROR) {
        fatal = fatal_error_;
      }
      result = absl::InternalError(
          absl::StrCat("kafka consumer fatal error ", internal::ErrorName(fatal)));
      break;
    }
  }
  Close();
  running_.store(false);
  return result;
}

void ConsumerLoopImpl::Stop() {
  if (!stop_requested_.exchange(true)) {
    stop_notification_.Notify();
  }
}

void ConsumerLoopImpl::Handle(RdKafka::Message& message) {
  ConsumedRecord record;
  record.topic = message.topic_name();
  record.partition = message.partition();
  record.offset = message.offset();
  if (auto retry = retries_.find({record.topic, record.partition});
      retry != retries_.end() && record.offset > retry->second.offset) {
    // The rewind to a failed record did not take (seek failed or raced a fetch): handling
    // this later record could store an offset past the failed one, so rewind again.
    SeekBack(record.topic, record.partition, retry->second.offset);
    return;
  }
  if (const std::string* key = message.key(); key != nullptr) {
    record.key = *key;
  }
  if (message.payload() != nullptr) {
    record.value.assign(static_cast<const char*>(message.payload()), message.len());
  }
  const RdKafka::MessageTimestamp timestamp = message.timestamp();
  if (timestamp.type != RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE) {
    record.timestamp = absl::FromUnixMillis(timestamp.timestamp);
  }
  RdKafka::ErrorCode header_err = RdKafka::ERR_NO_ERROR;
  absl::Status status;
  if (RdKafka::Headers* headers = message.headers(&header_err); headers != nullptr) {
    for (const RdKafka::Headers::Header& header : headers->get_all()) {
      const char* value = static_cast<const char*>(header.value());
      record.headers.push_back(
          {header.key(), value != nullptr ? std::string(value, header.value_size()) : ""});
    }
  }
  if (header_err != RdKafka::ERR_NO_ERROR && header_err != RdKafka::ERR__NOENT) {
    // The handler cannot judge a record whose headers are unreadable.
    status = absl::DataLossError("kafka record headers could not be parsed");
  } else {
    status = handler_(record);
  }

  if (status.ok()) {
    StoreOffset(record);
    stats_.handled.fetch_add(1);
    return;
  }
  if (IsPermanentFailure(status)) {
    absl::Status dead_letter = DeadLetter(record, status);
    if (dead_letter.ok()) {
      StoreOffset(record);
      stats_.dead_lettered.fetch_add(1);
      log_.Log(
          "warning", "dead-letter",
          absl::StrCat("kafka record ", PartitionName(record.topic, record.partition), "@",
                       record.offset, " dead-lettered: ", absl::StatusCodeToString(status.code())));
      return;
    }
    // The record must not be skipped without a trace: retry it like a transient failure.
    status = dead_letter;
  }
  RetryLater(record, status);
}

absl::Status ConsumerLoopImpl::DeadLetter(const ConsumedRecord& record,
                                          const absl::Status& reason) {
  OutgoingRecord dead;
  dead.topic = config_.dead_letter_topic;
  dead.key = record.key;
  dead.value = record.value;
  dead.headers = record.headers;
  dead.headers.push_back(
      {kDeadLetterReasonHeader,
       absl::StrCat(absl::StatusCodeToString(reason.code()), ": ", reason.message())});
  dead.headers.push_back({kDeadLetterSourceTopicHeader, record.topic});
  dead.headers.push_back({kDeadLetterSourcePartitionHeader, absl::StrCat(record.partition)});
  dead.headers.push_back({kDeadLetterSourceOffsetHeader, absl::StrCat(record.offset)});
  dead.headers.push_back({kDeadLetterGroupHeader, config_.group_id});
  return dead_letter_producer_->ProduceSync(std::move(dead), config_.dead_letter_timeout);
}

void ConsumerLoopImpl::StoreOffset(const ConsumedRecord& record) {
  retries_.erase({record.topic, record.partition});
  // The committed offset is the next record to read, hence +1.
  std::vector<RdKafka::TopicPartition*> offsets = {
      RdKafka::TopicPartition::create(record.topic, record.partition, record.offset + 1)};
  const TopicPartitionPtr owner(offsets.front());
  if (RdKafka::ErrorCode err = consumer_->offsets_store(offsets); err != RdKafka::ERR_NO_ERROR) {
    // Typically the partition was revoked meanwhile; its next owner redelivers the record.
    log_.Log("warning", "offsets_store",
             absl::StrCat("kafka offset store failed for ",
                          PartitionName(record.topic, record.partition), "@", record.offset, ": ",
                          internal::ErrorName(err)));
  }
}

void ConsumerLoopImpl::RetryLater(const ConsumedRecord& record, const absl::Status& status) {
  stats_.retried.fetch_add(1);
  RetryState& state = retries_[{record.topic, record.partition}];
  if (state.offset != record.offset) {
    state = RetryState{record.offset, 0};
  }
  ++state.attempts;
  log_.Log("warning", "retry",
           absl::StrCat("kafka record ", PartitionName(record.topic, record.partition), "@",
                        record.offset, " failed transiently (",
                        absl::StatusCodeToString(status.code()), "); retrying"));
  SeekBack(record.topic, record.partition, record.offset);
  stop_notification_.WaitForNotificationWithTimeout(NextBackoff(state.attempts));
}

void ConsumerLoopImpl::SeekBack(const std::string& topic, int32_t partition, int64_t offset) {
  // librdkafka discards the partition's prefetched later records on seek.
  const TopicPartitionPtr position(RdKafka::TopicPartition::create(topic, partition, offset));
  if (RdKafka::ErrorCode err = consumer_->seek(*position, kSeekTimeoutMs);
      err != RdKafka::ERR_NO_ERROR) {
    log_.Log("warning", "seek",
             absl::StrCat("kafka seek failed for ", PartitionName(topic, partition), ": ",
                          internal::ErrorName(err)));
  }
}

absl::Duration ConsumerLoopImpl::NextBackoff(int attempts) {
  // Exponential, capped, with "equal jitter": at least half the nominal delay so retries
  // still back off, plus a random half so many members do not retry in lockstep.
  absl::Duration nominal = config_.retry_backoff_min;
  for (int i = 1; i < attempts && nominal < config_.retry_backoff_max; ++i) {
    nominal *= 2;
  }
  nominal = std::min(nominal, config_.retry_backoff_max);
  const double fraction = absl::Uniform(bitgen_, 0.5, 1.0);
  return std::max(config_.retry_backoff_min, nominal * fraction);
}

void ConsumerLoopImpl::CommitStored(const std::string& why) {
  // commitSync() with no list commits the stored offsets of the current assignment.
  const RdKafka::ErrorCode err = consumer_->commitSync();
  if (err != RdKafka::ERR_NO_ERROR && err != RdKafka::ERR__NO_OFFSET) {
    log_.Log("warning", absl::StrCat("commit-", why),
             absl::StrCat("kafka commit on ", why, " failed: ", internal::ErrorName(err)));
  }
}

void ConsumerLoopImpl::rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                                    std::vector<RdKafka::TopicPartition*>& partitions) {
  stats_.rebalances.fetch_add(1);
  const bool cooperative = consumer->rebalance_protocol() == "COOPERATIVE";
  if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
    if (cooperative) {
      if (RdKafka::Error* error = consumer->incremental_assign(partitions); error != nullptr) {
        log_.Log("error", "assign",
                 absl::StrCat("kafka incremental_assign failed: ", error->name()));
        delete error;
      }
    } else {
      consumer->assign(partitions);
    }
    assigned_.store(true);
    return;
  }

  if (err == RdKafka::ERR__REVOKE_PARTITIONS) {
    if (consumer->assignment_lost()) {
      // Lost (session timed out): another member may already own these partitions, so
      // committing could move their offsets backwards; their owner redelivers instead.
      log_.Log("warning", "lost", "kafka partitions lost; not committing their offsets");
    } else {
      CommitStored("revoke");
    }
  } else {
    log_.Log("error", "rebalance",
             absl::StrCat("kafka rebalance error ", internal::ErrorName(err)));
  }
  for (const RdKafka::TopicPartition* partition : partitions) {
    retries_.erase({partition->topic(), partition->partition()});
  }
  if (cooperative && err == RdKafka::ERR__REVOKE_PARTITIONS) {
    if (RdKafka::Error* error = consumer->incremental_unassign(partitions); error != nullptr) {
      log_.Log("error", "unassign",
               absl::StrCat("kafka incremental_unassign failed: ", error->name()));
      delete error;
    }
  } else {
    consumer->unassign();
  }
}

void ConsumerLoopImpl::event_cb(RdKafka::Event& event) {
  if (event.type() != RdKafka::Event::EVENT_ERROR) {
    return;
  }
  const std::string name = internal::ErrorName(event.err());
  if (event.fatal()) {
    fatal_error_ = event.err();
    log_.Log("error", "fatal", absl::StrCat("kafka consumer fatal error ", name));
    return;
  }
  log_.Log("warning", name, absl::StrCat("kafka consumer error ", name));
}

absl::Status ConsumerLoopImpl::TriggerFatalError() {
  const rd_kafka_resp_err_t err = rd_kafka_test_fatal_error(
      consumer_->c_ptr(), RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID, "fatal error raised by a test");
  return internal::ErrorToStatus(static_cast<RdKafka::ErrorCode>(err), "test fatal error");
}

absl::Status ValidateConfig(const ConsumerConfig& config, const RecordHandler& handler,
                            const Producer* dead_letter_producer) {
  if (config.bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("ConsumerConfig.bootstrap_servers is empty");
  }
  if (config.group_id.empty()) {
    return absl::InvalidArgumentError("ConsumerConfig.group_id is empty");
  }
  if (config.topics.empty()) {
    return absl::InvalidArgumentError("ConsumerConfig.topics is empty");
  }
  if (config.dead_letter_topic.empty()) {
    return absl::InvalidArgumentError("ConsumerConfig.dead_letter_topic is empty");
  }
  if (std::find(config.topics.begin(), config.topics.end(), config.dead_letter_topic) !=
      config.topics.end()) {
    return absl::InvalidArgumentError(
        "ConsumerConfig.dead_letter_topic must not be one of ConsumerConfig.topics");
  }
  if (config.retry_backoff_min <= absl::ZeroDuration() ||
      config.retry_backoff_max < config.retry_backoff_min) {
    return absl::InvalidArgumentError(
        "ConsumerConfig.retry_backoff_min must be positive and at most retry_backoff_max");
  }
  if (config.auto_commit_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("ConsumerConfig.auto_commit_interval must be positive");
  }
  if (config.dead_letter_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("ConsumerConfig.dead_letter_timeout must be positive");
  }
  if (!handler) {
    return absl::InvalidArgumentError("CreateConsumerLoop: handler is empty");
  }
  if (dead_letter_producer == nullptr) {
    return absl::InvalidArgumentError("CreateConsumerLoop: dead_letter_producer is null");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ConsumerLoop>> CreateConsumerLoop(const ConsumerConfig& config,
                                                                 RecordHandler handler,
                                                                 Producer* dead_letter_producer) {
  HUB_RETURN_IF_ERROR(ValidateConfig(config, handler, dead_letter_producer));
  auto loop = std::make_unique<ConsumerLoopImpl>(config, std::move(handler), dead_letter_producer);
  HUB_RETURN_IF_ERROR(loop->Init());
  return loop;
}

namespace internal {

absl::Status TriggerFatalErrorForTesting(ConsumerLoop& loop) {
  auto* impl = dynamic_cast<ConsumerLoopImpl*>(&loop);
  if (impl == nullptr) {
    return absl::InvalidArgumentError("not a loop made by CreateConsumerLoop");
  }
  return impl->TriggerFatalError();
}

}  // namespace internal
}  // namespace hub::kafka
