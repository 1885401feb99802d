#include "services/common/seal/internal/key_topic.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include <librdkafka/rdkafkacpp.h>

#include "services/common/seal/internal/primitives.h"
#include "services/common/status/status_macros.h"

namespace hub::seal::internal {
namespace {

constexpr int kPollMs = 50;

absl::Status KafkaError(RdKafka::ErrorCode err, absl::string_view context) {
  const std::string message =
      absl::StrCat(context, ": ", RdKafka::err2str(err), " (", static_cast<int>(err), ")");
  switch (err) {
    case RdKafka::ERR_NO_ERROR:
      return absl::OkStatus();
    case RdKafka::ERR__TIMED_OUT:
    case RdKafka::ERR__MSG_TIMED_OUT:
    case RdKafka::ERR__TRANSPORT:
    case RdKafka::ERR__ALL_BROKERS_DOWN:
    case RdKafka::ERR__QUEUE_FULL:
    case RdKafka::ERR_LEADER_NOT_AVAILABLE:
    case RdKafka::ERR_NOT_LEADER_FOR_PARTITION:
    case RdKafka::ERR_NOT_ENOUGH_REPLICAS:
    case RdKafka::ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RdKafka::ERR_REQUEST_TIMED_OUT:
      return absl::UnavailableError(message);
    case RdKafka::ERR__UNKNOWN_TOPIC:
    case RdKafka::ERR_UNKNOWN_TOPIC_OR_PART:
      return absl::NotFoundError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status Set(RdKafka::Conf& conf, const std::string& name, const std::string& value) {
  std::string errstr;
  if (conf.set(name, value, errstr) != RdKafka::Conf::CONF_OK) {
    return absl::InvalidArgumentError(absl::StrCat("kafka property ", name, ": ", errstr));
  }
  return absl::OkStatus();
}

int Milliseconds(absl::Duration duration) {
  return static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(duration)));
}

}  // namespace

// Counts the delivery reports of the current batch. Reports are served inside poll() or
// flush(), on the thread holding NullRecordWriter::mu_, so no lock of its own is needed.
class NullRecordWriter::DeliveryReports final : public RdKafka::DeliveryReportCb {
 public:
  // Starts a batch of `pending` records; returns the opaque its records carry.
  void* Begin(size_t pending) {
    ++batch_;
    pending_ = pending;
    first_error_ = absl::OkStatus();
    // The opaque is a batch number, so a late report of an abandoned batch is ignored.
    // It is only ever compared, never dereferenced.
    return reinterpret_cast<void*>(batch_);  // NOLINT(performance-no-int-to-ptr)
  }

  // Counts a record that never reached librdkafka.
  void Fail(absl::Status status) {
    if (first_error_.ok()) {
      first_error_ = std::move(status);
    }
    --pending_;
  }

  void dr_cb(RdKafka::Message& message) override {
    if (reinterpret_cast<uintptr_t>(message.msg_opaque()) != batch_) {
      return;
    }
    if (message.err() != RdKafka::ERR_NO_ERROR) {
      Fail(KafkaError(message.err(),
                      absl::StrCat("kafka delivery to topic ", message.topic_name())));
      return;
    }
    --pending_;
  }

  size_t pending() const { return pending_; }
  const absl::Status& first_error() const { return first_error_; }

 private:
  uintptr_t batch_ = 0;
  size_t pending_ = 0;
  absl::Status first_error_;
};

NullRecordWriter::NullRecordWriter(std::unique_ptr<DeliveryReports> reports,
                                   std::unique_ptr<RdKafka::Producer> handle)
    : reports_(std::move(reports)), handle_(std::move(handle)) {}

NullRecordWriter::~NullRecordWriter() {
  absl::MutexLock lock(&mu_);
  handle_->flush(1000);
}

absl::StatusOr<std::unique_ptr<NullRecordWriter>> NullRecordWriter::Create(
    const std::string& bootstrap_servers, const std::string& client_id) {
  auto reports = std::make_unique<DeliveryReports>();
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  HUB_RETURN_IF_ERROR(Set(*conf, "bootstrap.servers", bootstrap_servers));
  HUB_RETURN_IF_ERROR(Set(*conf, "client.id", client_id));
  HUB_RETURN_IF_ERROR(Set(*conf, "enable.idempotence", "true"));
  HUB_RETURN_IF_ERROR(Set(*conf, "acks", "all"));
  HUB_RETURN_IF_ERROR(Set(*conf, "linger.ms", "0"));
  HUB_RETURN_IF_ERROR(Set(*conf, "socket.nagle.disable", "true"));
  std::string errstr;
  if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(reports.get()), errstr) !=
      RdKafka::Conf::CONF_OK) {
    return absl::InternalError(absl::StrCat("kafka delivery callback rejected: ", errstr));
  }
  std::unique_ptr<RdKafka::Producer> handle(RdKafka::Producer::create(conf.get(), errstr));
  if (handle == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("kafka producer not created: ", errstr));
  }
  return std::unique_ptr<NullRecordWriter>(
      new NullRecordWriter(std::move(reports), std::move(handle)));
}

absl::Status NullRecordWriter::Produce(const std::string& topic,
                                       const std::vector<std::string>& keys,
                                       absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  const absl::Time deadline = absl::Now() + timeout;
  void* opaque = reports_->Begin(keys.size());
  for (const std::string& key : keys) {
    while (true) {
      // A null payload with length 0 is a null value: a tombstone on a compacted topic.
      const RdKafka::ErrorCode err =
          handle_->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                           /*payload=*/nullptr, /*len=*/0, key.data(), key.size(),
                           /*timestamp=*/0, opaque);
      if (err == RdKafka::ERR__QUEUE_FULL && absl::Now() < deadline) {
        handle_->poll(kPollMs);
        continue;
      }
      if (err != RdKafka::ERR_NO_ERROR) {
        reports_->Fail(KafkaError(err, absl::StrCat("kafka produce to topic ", topic)));
      }
      break;
    }
  }
  while (reports_->pending() > 0 && absl::Now() < deadline) {
    handle_->poll(kPollMs);
  }
  if (reports_->pending() > 0) {
    return absl::DeadlineExceededError(
        absl::StrCat(reports_->pending(), " of ", keys.size(), " null records to topic ", topic,
                     " not acknowledged within ", absl::FormatDuration(timeout)));
  }
  return reports_->first_error();
}

absl::Status ReadTopic(const std::string& bootstrap_servers, const std::string& topic,
                       absl::Duration timeout,
                       const std::function<void(const std::string& key,
                                                const std::optional<std::string>& value)>& visit) {
  const absl::Time deadline = absl::Now() + timeout;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  HUB_RETURN_IF_ERROR(Set(*conf, "bootstrap.servers", bootstrap_servers));
  // librdkafka's KafkaConsumer insists on a group id. The reader only assigns partitions
  // and never commits, so the group never holds any state on the broker.
  HUB_ASSIGN_OR_RETURN(std::string nonce, RandomBytes(8));
  HUB_RETURN_IF_ERROR(Set(*conf, "group.id", absl::StrCat("hub.seal.reader.", Hex(nonce))));
  HUB_RETURN_IF_ERROR(Set(*conf, "client.id", "hub-seal-reader"));
  HUB_RETURN_IF_ERROR(Set(*conf, "enable.auto.commit", "false"));
  HUB_RETURN_IF_ERROR(Set(*conf, "enable.auto.offset.store", "false"));
  HUB_RETURN_IF_ERROR(Set(*conf, "enable.partition.eof", "true"));
  HUB_RETURN_IF_ERROR(Set(*conf, "auto.offset.reset", "earliest"));
  std::string errstr;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(conf.get(), errstr));
  if (consumer == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("kafka reader not created: ", errstr));
  }

  // Which partitions exist, and where each ends now.
  std::map<int32_t, int64_t> end_offsets;
  std::vector<RdKafka::TopicPartition*> assignment;
  absl::Status status;
  {
    std::unique_ptr<RdKafka::Topic> handle(
        RdKafka::Topic::create(consumer.get(), topic, nullptr, errstr));
    if (handle == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("kafka topic handle for ", topic, ": ", errstr));
    }
    RdKafka::Metadata* raw_metadata = nullptr;
    RdKafka::ErrorCode err = consumer->metadata(/*all_topics=*/false, handle.get(), &raw_metadata,
                                                Milliseconds(timeout));
    std::unique_ptr<RdKafka::Metadata> metadata(raw_metadata);
    if (err != RdKafka::ERR_NO_ERROR) {
      status = KafkaError(err, absl::StrCat("kafka metadata of topic ", topic));
    } else if (metadata->topics()->empty() ||
               (*metadata->topics())[0]->err() != RdKafka::ERR_NO_ERROR) {
      status = metadata->topics()->empty()
                   ? absl::NotFoundError(absl::StrCat("kafka topic ", topic, " not found"))
                   : KafkaError((*metadata->topics())[0]->err(),
                                absl::StrCat("kafka metadata of topic ", topic));
    } else {
      for (const RdKafka::PartitionMetadata* partition : *(*metadata->topics())[0]->partitions()) {
        int64_t low = 0;
        int64_t high = 0;
        err = consumer->query_watermark_offsets(topic, partition->id(), &low, &high,
                                                Milliseconds(deadline - absl::Now()));
        if (err != RdKafka::ERR_NO_ERROR) {
          status = KafkaError(err, absl::StrCat("kafka end offsets of topic ", topic));
          break;
        }
        if (high > low) {
          end_offsets[partition->id()] = high;
          assignment.push_back(RdKafka::TopicPartition::create(topic, partition->id(), low));
        }
      }
    }
  }
  if (status.ok() && !assignment.empty()) {
    const RdKafka::ErrorCode err = consumer->assign(assignment);
    if (err != RdKafka::ERR_NO_ERROR) {
      status = KafkaError(err, absl::StrCat("kafka assign of topic ", topic));
    }
  }
  RdKafka::TopicPartition::destroy(assignment);

  while (status.ok() && !end_offsets.empty()) {
    if (absl::Now() >= deadline) {
      status = absl::DeadlineExceededError(absl::StrCat(
          "kafka topic ", topic, " not read to its end within ", absl::FormatDuration(timeout)));
      break;
    }
    std::unique_ptr<RdKafka::Message> message(consumer->consume(kPollMs));
    const int32_t partition = message->partition();
    switch (message->err()) {
      case RdKafka::ERR_NO_ERROR: {
        auto end = end_offsets.find(partition);
        if (end == end_offsets.end() || message->offset() >= end->second) {
          break;  // Written after the read started, or a partition already done.
        }
        const std::string key =
            message->key_pointer() == nullptr
                ? std::string()
                : std::string(static_cast<const char*>(message->key_pointer()), message->key_len());
        std::optional<std::string> value;
        if (message->payload() != nullptr) {
          value.emplace(static_cast<const char*>(message->payload()), message->len());
        }
        visit(key, value);
        if (message->offset() + 1 >= end->second) {
          end_offsets.erase(end);
        }
        break;
      }
      case RdKafka::ERR__PARTITION_EOF:
        end_offsets.erase(partition);
        break;
      case RdKafka::ERR__TIMED_OUT:
        break;
      default:
        if (message->err() == RdKafka::ERR__TRANSPORT ||
            message->err() == RdKafka::ERR__ALL_BROKERS_DOWN) {
          break;  // librdkafka reconnects; the deadline bounds the wait.
        }
        status = KafkaError(message->err(), absl::StrCat("kafka read of topic ", topic));
        break;
    }
  }
  consumer->close();
  return status;
}

}  // namespace hub::seal::internal
