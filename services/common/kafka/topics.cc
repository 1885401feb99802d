// EnsureTopics: creates missing topics with librdkafka's Admin API (C API: the C++ API
// has no admin operations) and verifies partition counts through cluster metadata.
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include "services/common/kafka/internal/rdkafka_util.h"
#include "services/common/kafka/kafka.h"
#include "services/common/status/status_macros.h"

namespace hub::kafka {
namespace {

constexpr absl::Duration kMetadataRetryInterval = absl::Milliseconds(100);

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
  void operator()(rd_kafka_queue_t* queue) const { rd_kafka_queue_destroy(queue); }
  void operator()(rd_kafka_event_t* event) const { rd_kafka_event_destroy(event); }
  void operator()(rd_kafka_AdminOptions_t* options) const {
    rd_kafka_AdminOptions_destroy(options);
  }
  void operator()(rd_kafka_NewTopic_t* topic) const { rd_kafka_NewTopic_destroy(topic); }
  void operator()(const rd_kafka_metadata_t* metadata) const {
    rd_kafka_metadata_destroy(metadata);
  }
};
template <typename T>
using KafkaPtr = std::unique_ptr<T, KafkaDeleter>;

absl::Status CError(rd_kafka_resp_err_t err, const std::string& context) {
  return internal::ErrorToStatus(static_cast<RdKafka::ErrorCode>(err), context);
}

// Milliseconds left until `deadline`, at least 1 so librdkafka never treats it as "no wait".
int RemainingMs(absl::Time deadline) {
  return static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(deadline - absl::Now())));
}

absl::Status ValidateSpecs(const std::vector<TopicSpec>& specs) {
  for (const TopicSpec& spec : specs) {
    if (spec.name.empty()) {
      return absl::InvalidArgumentError("TopicSpec.name is empty");
    }
    if (spec.partitions < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("TopicSpec.partitions of ", spec.name, " must be at least 1"));
    }
    if (spec.cleanup_policy != "delete" && spec.cleanup_policy != "compact" &&
        spec.cleanup_policy != "compact,delete" && spec.cleanup_policy != "delete,compact") {
      return absl::InvalidArgumentError(absl::StrCat("TopicSpec.cleanup_policy of ", spec.name,
                                                     " must be delete, compact or both"));
    }
    if (spec.retention_ms < -1) {
      return absl::InvalidArgumentError(
          absl::StrCat("TopicSpec.retention_ms of ", spec.name, " must be -1 or more"));
    }
  }
  return absl::OkStatus();
}

struct ClusterView {
  int brokers = 0;
  // Topics the cluster knows, with their partition counts.
  std::map<std::string, int> partitions;
};

absl::StatusOr<ClusterView> Describe(rd_kafka_t* rk, absl::Time deadline) {
  const rd_kafka_metadata_t* raw = nullptr;
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk, /*all_topics=*/1, nullptr, &raw, RemainingMs(deadline));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return CError(err, "kafka metadata request");
  }
  KafkaPtr<const rd_kafka_metadata_t> metadata(raw);
  ClusterView view;
  view.brokers = metadata->broker_cnt;
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& topic = metadata->topics[i];
    // A topic still being created can show up with an error and no partitions yet.
    if (topic.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      view.partitions[topic.topic] = topic.partition_cnt;
    }
  }
  return view;
}

absl::Status CreateTopics(rd_kafka_t* rk, const std::vector<const TopicSpec*>& missing, int brokers,
                          absl::Time deadline) {
  // One broker (development, tests) cannot hold more than one replica.
  const int replication = brokers <= 1 ? 1 : std::min(3, brokers);
  std::vector<KafkaPtr<rd_kafka_NewTopic_t>> owned;
  std::vector<rd_kafka_NewTopic_t*> topics;
  char errstr[512];
  for (const TopicSpec* spec : missing) {
    KafkaPtr<rd_kafka_NewTopic_t> topic(rd_kafka_NewTopic_new(spec->name.c_str(), spec->partitions,
                                                              replication, errstr, sizeof(errstr)));
    if (topic == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("topic ", spec->name, ": ", errstr));
    }
    const std::string retention = absl::StrCat(spec->retention_ms);
    if (rd_kafka_resp_err_t err = rd_kafka_NewTopic_set_config(topic.get(), "cleanup.policy",
                                                               spec->cleanup_policy.c_str());
        err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return CError(err, absl::StrCat("topic ", spec->name, " cleanup.policy"));
    }
    if (rd_kafka_resp_err_t err =
            rd_kafka_NewTopic_set_config(topic.get(), "retention.ms", retention.c_str());
        err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return CError(err, absl::StrCat("topic ", spec->name, " retention.ms"));
    }
    for (const auto& [name, value] : spec->configs) {
      if (rd_kafka_resp_err_t err =
              rd_kafka_NewTopic_set_config(topic.get(), name.c_str(), value.c_str());
          err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return CError(err, absl::StrCat("topic ", spec->name, " ", name));
      }
    }
    topics.push_back(topic.get());
    owned.push_back(std::move(topic));
  }

  KafkaPtr<rd_kafka_AdminOptions_t> options(
      rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS));
  if (rd_kafka_AdminOptions_set_request_timeout(options.get(), RemainingMs(deadline), errstr,
                                                sizeof(errstr)) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_AdminOptions_set_operation_timeout(options.get(), RemainingMs(deadline), errstr,
                                                  sizeof(errstr)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InternalError(absl::StrCat("kafka admin options: ", errstr));
  }
  KafkaPtr<rd_kafka_queue_t> queue(rd_kafka_queue_new(rk));
  rd_kafka_CreateTopics(rk, topics.data(), topics.size(), options.get(), queue.get());
  // The admin request enforces the deadline itself; the extra second lets its timeout
  // result arrive instead of racing it.
  KafkaPtr<rd_kafka_event_t> event(rd_kafka_queue_poll(queue.get(), RemainingMs(deadline) + 1000));
  if (event == nullptr) {
    return absl::DeadlineExceededError("kafka CreateTopics got no answer in time");
  }
  if (rd_kafka_resp_err_t err = rd_kafka_event_error(event.get());
      err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return CError(err, "kafka CreateTopics");
  }
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
  if (result == nullptr) {
    return absl::InternalError("kafka CreateTopics returned an unexpected event");
  }
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
  std::vector<std::string> failures;
  bool invalid = false;
  for (size_t i = 0; i < count; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    // Another service creating the same topic at the same time is success too.
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      continue;
    }
    invalid = invalid || err == RD_KAFKA_RESP_ERR_INVALID_CONFIG ||
              err == RD_KAFKA_RESP_ERR_INVALID_PARTITIONS ||
              err == RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR ||
              err == RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION;
    const char* detail = rd_kafka_topic_result_error_string(results[i]);
    failures.push_back(absl::StrCat(rd_kafka_topic_result_name(results[i]), ": ",
                                    rd_kafka_err2name(err),
                                    detail != nullptr ? absl::StrCat(" (", detail, ")") : ""));
  }
  if (!failures.empty()) {
    std::string message =
        absl::StrCat("kafka CreateTopics failed for ", absl::StrJoin(failures, "; "));
    return invalid ? absl::InvalidArgumentError(message) : absl::InternalError(message);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status EnsureTopics(const std::string& bootstrap_servers, const std::vector<TopicSpec>& specs,
                          absl::Duration timeout) {
  if (bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("EnsureTopics: bootstrap_servers is empty");
  }
  HUB_RETURN_IF_ERROR(ValidateSpecs(specs));
  if (specs.empty()) {
    return absl::OkStatus();
  }
  const absl::Time deadline = absl::Now() + timeout;

  char errstr[512];
  KafkaPtr<rd_kafka_conf_t> conf(rd_kafka_conf_new());
  if (rd_kafka_conf_set(conf.get(), "bootstrap.servers", bootstrap_servers.c_str(), errstr,
                        sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    return absl::InvalidArgumentError(absl::StrCat("kafka bootstrap.servers rejected: ", errstr));
  }
  // librdkafka would log connection trouble straight to stderr, around the service's
  // logger; the returned status already says what went wrong.
  rd_kafka_conf_set_log_cb(conf.get(), [](const rd_kafka_t*, int, const char*, const char*) {});
  // rd_kafka_new takes ownership of the configuration only when it succeeds.
  KafkaPtr<rd_kafka_t> rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof(errstr)));
  if (rk == nullptr) {
    return absl::InternalError(absl::StrCat("kafka admin client not created: ", errstr));
  }
  static_cast<void>(conf.release());

  HUB_ASSIGN_OR_RETURN(ClusterView view, Describe(rk.get(), deadline));
  std::vector<const TopicSpec*> missing;
  for (const TopicSpec& spec : specs) {
    if (!view.partitions.contains(spec.name)) {
      missing.push_back(&spec);
    }
  }
  if (!missing.empty()) {
    HUB_RETURN_IF_ERROR(CreateTopics(rk.get(), missing, view.brokers, deadline));
  }

  // Metadata lags topic creation a little; wait until every topic is visible.
  while (true) {
    std::vector<std::string> not_visible;
    for (const TopicSpec& spec : specs) {
      auto it = view.partitions.find(spec.name);
      if (it == view.partitions.end()) {
        not_visible.push_back(spec.name);
      } else if (it->second < spec.partitions) {
        return absl::FailedPreconditionError(absl::StrCat("kafka topic ", spec.name, " has ",
                                                          it->second, " partitions, fewer than ",
                                                          spec.partitions));
      }
    }
    if (not_visible.empty()) {
      return absl::OkStatus();
    }
    if (absl::Now() + kMetadataRetryInterval >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "kafka topics not visible in metadata in time: ", absl::StrJoin(not_visible, ", ")));
    }
    absl::SleepFor(kMetadataRetryInterval);
    HUB_ASSIGN_OR_RETURN(view, Describe(rk.get(), deadline));
  }
}

}  // namespace hub::kafka
