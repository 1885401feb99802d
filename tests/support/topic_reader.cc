#include "tests/support/topic_reader.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include <librdkafka/rdkafkacpp.h>

namespace hub::testing {
namespace {

int Milliseconds(absl::Duration duration) {
  return static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(duration)));
}

absl::Status KafkaError(RdKafka::ErrorCode err, const std::string& what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", RdKafka::err2str(err)));
}

}  // namespace

absl::StatusOr<Watermarks> QueryWatermarks(RdKafka::KafkaConsumer& consumer,
                                           const std::string& topic, int32_t partition,
                                           absl::Time deadline) {
  Watermarks marks;
  while (true) {
    const RdKafka::ErrorCode err = consumer.query_watermark_offsets(
        topic, partition, &marks.low, &marks.high, Milliseconds(deadline - absl::Now()));
    if (err == RdKafka::ERR_NO_ERROR) {
      return marks;
    }
    const bool retriable = err == RdKafka::ERR_NOT_LEADER_FOR_PARTITION ||
                           err == RdKafka::ERR_LEADER_NOT_AVAILABLE ||
                           err == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART ||
                           err == RdKafka::ERR__TIMED_OUT || err == RdKafka::ERR__TRANSPORT;
    if (!retriable || absl::Now() + absl::Milliseconds(100) >= deadline) {
      return KafkaError(err, absl::StrCat("end offsets of ", topic, " [", partition, "]"));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

kafka::ConsumedRecord ToConsumedRecord(RdKafka::Message& message) {
  kafka::ConsumedRecord record;
  record.topic = message.topic_name();
  record.partition = message.partition();
  record.offset = message.offset();
  if (message.key() != nullptr) {
    record.key = *message.key();
  }
  if (message.payload() != nullptr) {
    record.value.assign(static_cast<const char*>(message.payload()), message.len());
  }
  if (RdKafka::Headers* headers = message.headers(); headers != nullptr) {
    for (const RdKafka::Headers::Header& header : headers->get_all()) {
      kafka::Header copy;
      copy.key = header.key();
      if (header.value() != nullptr) {
        copy.value.assign(static_cast<const char*>(header.value()), header.value_size());
      }
      record.headers.push_back(std::move(copy));
    }
  }
  record.timestamp = absl::FromUnixMillis(message.timestamp().timestamp);
  return record;
}

absl::StatusOr<std::vector<kafka::ConsumedRecord>> ReadWholeTopic(
    const std::string& bootstrap_servers, const std::string& topic, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string error;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  for (const auto& [name, value] : std::map<std::string, std::string>{
           {"bootstrap.servers", bootstrap_servers},
           // KafkaConsumer insists on a group id; the reader never joins or commits.
           {"group.id", absl::StrCat("hub.test.reader.", absl::ToUnixNanos(absl::Now()))},
           {"client.id", "hub-test-reader"},
           {"enable.auto.commit", "false"},
           {"enable.auto.offset.store", "false"},
           // A broker answers one connection's requests in order: a fetch waiting for data
           // (500 ms by default) would hold up the reader's end-offset queries behind it.
           {"fetch.wait.max.ms", "10"}}) {
    if (conf->set(name, value, error) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat("reader config ", name, ": ", error));
    }
  }
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(conf.get(), error));
  if (consumer == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("reader not created: ", error));
  }

  // Which partitions exist and where each ends now.
  std::map<int32_t, int64_t> end_offsets;
  std::vector<RdKafka::TopicPartition*> assignment;
  {
    std::unique_ptr<RdKafka::Topic> handle(
        RdKafka::Topic::create(consumer.get(), topic, nullptr, error));
    if (handle == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("topic handle for ", topic, ": ", error));
    }
    RdKafka::Metadata* raw_metadata = nullptr;
    RdKafka::ErrorCode err = consumer->metadata(/*all_topics=*/false, handle.get(), &raw_metadata,
                                                Milliseconds(deadline - absl::Now()));
    std::unique_ptr<RdKafka::Metadata> metadata(raw_metadata);
    if (err != RdKafka::ERR_NO_ERROR) {
      return KafkaError(err, absl::StrCat("metadata of ", topic));
    }
    if (metadata->topics()->empty() ||
        (*metadata->topics())[0]->err() == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART) {
      return absl::NotFoundError(absl::StrCat("topic ", topic, " not found"));
    }
    if ((*metadata->topics())[0]->err() != RdKafka::ERR_NO_ERROR) {
      return KafkaError((*metadata->topics())[0]->err(), absl::StrCat("metadata of ", topic));
    }
    for (const RdKafka::PartitionMetadata* partition : *(*metadata->topics())[0]->partitions()) {
      absl::StatusOr<Watermarks> marks =
          QueryWatermarks(*consumer, topic, partition->id(), deadline);
      if (!marks.ok()) {
        RdKafka::TopicPartition::destroy(assignment);
        return marks.status();
      }
      const int64_t low = marks->low;
      const int64_t high = marks->high;
      if (high > low) {
        end_offsets[partition->id()] = high;
        assignment.push_back(RdKafka::TopicPartition::create(topic, partition->id(), low));
      }
    }
  }
  std::vector<kafka::ConsumedRecord> records;
  if (assignment.empty()) {
    consumer->close();
    return records;
  }
  const RdKafka::ErrorCode assigned = consumer->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  if (assigned != RdKafka::ERR_NO_ERROR) {
    return KafkaError(assigned, absl::StrCat("assign of ", topic));
  }

  std::map<int32_t, std::vector<kafka::ConsumedRecord>> by_partition;
  while (!end_offsets.empty()) {
    if (absl::Now() >= deadline) {
      consumer->close();
      return absl::DeadlineExceededError(
          absl::StrCat("not every record of ", topic, " was read in time"));
    }
    std::unique_ptr<RdKafka::Message> message(consumer->consume(200));
    if (message->err() != RdKafka::ERR_NO_ERROR) {
      continue;
    }
    auto end = end_offsets.find(message->partition());
    if (end == end_offsets.end() || message->offset() >= end->second) {
      continue;
    }
    by_partition[message->partition()].push_back(ToConsumedRecord(*message));
    if (message->offset() + 1 >= end->second) {
      end_offsets.erase(end);
    }
  }
  consumer->close();
  for (auto& [partition, partition_records] : by_partition) {
    for (kafka::ConsumedRecord& record : partition_records) {
      records.push_back(std::move(record));
    }
  }
  return records;
}

}  // namespace hub::testing
