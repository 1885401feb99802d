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
