#include "tests/support/test_env.h"

// Tests read their environment before starting threads; getenv is safe then.
// NOLINTBEGIN(concurrency-mt-unsafe)

#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace hub::testing {
namespace {

constexpr char kHowToRun[] =
    "integration tests need a real broker and Redis: run them with `make test` (or "
    "tests/run), which starts both on free loopback ports";

}  // namespace

std::string HostPort::ToString() const { return absl::StrCat(host, ":", port); }

absl::StatusOr<std::string> KafkaBootstrapFromEnv() {
  const char* value = std::getenv("HUB_TEST_KAFKA_BOOTSTRAP");
  if (value == nullptr || *value == '\0') {
    return absl::FailedPreconditionError(
        absl::StrCat("HUB_TEST_KAFKA_BOOTSTRAP is not set; ", kHowToRun));
  }
  return std::string(value);
}

absl::StatusOr<HostPort> RedisFromEnv() {
  const char* value = std::getenv("HUB_TEST_REDIS");
  if (value == nullptr || *value == '\0') {
    return absl::FailedPreconditionError(absl::StrCat("HUB_TEST_REDIS is not set; ", kHowToRun));
  }
  std::pair<std::string, std::string> parts = absl::StrSplit(value, ':');
  HostPort result{parts.first, 0};
  if (!absl::SimpleAtoi(parts.second, &result.port) || result.port <= 0 || result.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("HUB_TEST_REDIS must be host:port, got '", value, "'"));
  }
  return result;
}

std::string UniqueName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return absl::StrCat(prefix, "-", getpid(), "-", absl::ToUnixMicros(absl::Now()) % 100000000, "-",
                      counter.fetch_add(1));
}

std::string BinDir() {
  const char* value = std::getenv("HUB_BIN_DIR");
  return value != nullptr ? std::string(value) : std::string();
}

}  // namespace hub::testing
// NOLINTEND(concurrency-mt-unsafe)
