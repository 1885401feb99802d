// Where integration tests find the real Kafka broker and Redis server.
//
// `make test` (tests/run) starts both on free loopback ports and exports
// HUB_TEST_KAFKA_BOOTSTRAP (host:port) and HUB_TEST_REDIS (host:port). An integration
// test without them fails with a message saying how to run it: it never skips.
#ifndef HUB_TESTS_SUPPORT_TEST_ENV_H_
#define HUB_TESTS_SUPPORT_TEST_ENV_H_

#include <string>

#include "absl/status/statusor.h"

namespace hub::testing {

struct HostPort {
  std::string host;
  int port = 0;
  std::string ToString() const;
};

// HUB_TEST_KAFKA_BOOTSTRAP, or kFailedPrecondition explaining how to start a broker.
absl::StatusOr<std::string> KafkaBootstrapFromEnv();

// HUB_TEST_REDIS parsed, or kFailedPrecondition explaining how to start Redis.
absl::StatusOr<HostPort> RedisFromEnv();

// A name unique to this test process and call, for topics, groups and key prefixes, so
// tests sharing one broker and one Redis never see each other's data.
std::string UniqueName(const std::string& prefix);

// The build directory's bin/ folder, where service executables are (HUB_BIN_DIR, set by
// ctest), for end-to-end tests that start real processes.
std::string BinDir();

}  // namespace hub::testing

#endif  // HUB_TESTS_SUPPORT_TEST_ENV_H_
