// An in-process librdkafka mock cluster for the adapter's unit tests (test-only).
//
// librdkafka can serve the Kafka protocol from a fake cluster inside the process
// (rdkafka_mock.h), which lets unit tests exercise delivery reports, broker outages and
// consumer groups without a real broker. It lives as long as this object; create topics
// explicitly. Only the adapter's own unit tests may use it: services test against fakes of
// kafka.h, and integration tests use the real broker.
//
// Thread safety: the mock cluster runs its own thread; these methods may be called from
// any thread.
#ifndef HUB_SERVICES_COMMON_KAFKA_INTERNAL_MOCK_CLUSTER_H_
#define HUB_SERVICES_COMMON_KAFKA_INTERNAL_MOCK_CLUSTER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace hub::kafka::internal {

class MockCluster {
 public:
  static absl::StatusOr<std::unique_ptr<MockCluster>> Create(int brokers) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    // Its only log line is a warning that it has no bootstrap.servers, which is the point.
    rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t*, int, const char*, const char*) {});
    // The mock cluster needs a client handle to live in; this one never talks to it.
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == nullptr) {
      rd_kafka_conf_destroy(conf);
      return absl::InternalError(absl::StrCat("mock cluster handle: ", errstr));
    }
    rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, brokers);
    if (cluster == nullptr) {
      rd_kafka_destroy(rk);
      return absl::InternalError("rd_kafka_mock_cluster_new failed");
    }
    return std::unique_ptr<MockCluster>(new MockCluster(rk, cluster));
  }

  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(rk_);
  }

  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

  absl::Status CreateTopic(const std::string& topic, int partitions) {
    const rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, /*replication_factor=*/1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::InternalError(absl::StrCat("mock topic ", topic, ": ", rd_kafka_err2name(err)));
    }
    return absl::OkStatus();
  }

  // Makes broker `id` (1-based) refuse connections, or accept them again.
  void SetBrokerDown(int id) { rd_kafka_mock_broker_set_down(cluster_, id); }
  void SetBrokerUp(int id) { rd_kafka_mock_broker_set_up(cluster_, id); }

 private:
  MockCluster(rd_kafka_t* rk, rd_kafka_mock_cluster_t* cluster) : rk_(rk), cluster_(cluster) {}

  rd_kafka_t* const rk_;
  rd_kafka_mock_cluster_t* const cluster_;
};

}  // namespace hub::kafka::internal

#endif  // HUB_SERVICES_COMMON_KAFKA_INTERNAL_MOCK_CLUSTER_H_
