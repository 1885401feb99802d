// A RedisClient for unit tests that never talks to a server: it counts and records every
// call and answers each with kUnavailable, unless a test sets `on_command` to answer plain
// commands itself. For checking that bad input never reaches Redis, and which keys a script
// would touch (their hash tags). Not thread-safe.
#ifndef HUB_SERVICES_COMMON_REDIS_RECORDING_REDIS_H_
#define HUB_SERVICES_COMMON_REDIS_RECORDING_REDIS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "services/common/redis/redis_client.h"

namespace hub::redis::testing {

class RecordingRedis : public RedisClient {
 public:
  absl::StatusOr<Reply> Command(const std::vector<std::string>& args) override {
    ++calls;
    commands.push_back(args);
    return on_command ? on_command(args) : absl::UnavailableError("unreachable");
  }
  absl::StatusOr<std::vector<Reply>> Pipeline(
      const std::vector<std::vector<std::string>>& batch) override {
    ++calls;
    pipelines.push_back(batch);
    return absl::UnavailableError("unreachable");
  }
  absl::StatusOr<Reply> Eval(const Script& /*script*/, const std::vector<std::string>& keys,
                             const std::vector<std::string>& /*args*/) override {
    ++calls;
    script_keys.push_back(keys);
    return absl::UnavailableError("unreachable");
  }
  absl::Status Ping() override { return absl::UnavailableError("unreachable"); }

  // Answers Command() when set.
  std::function<absl::StatusOr<Reply>(const std::vector<std::string>&)> on_command;
  // Every call of any kind.
  int calls = 0;
  std::vector<std::vector<std::string>> commands;
  std::vector<std::vector<std::vector<std::string>>> pipelines;
  // The KEYS of every script call, in order.
  std::vector<std::vector<std::string>> script_keys;
};

}  // namespace hub::redis::testing

#endif  // HUB_SERVICES_COMMON_REDIS_RECORDING_REDIS_H_
