// Service configuration: flags and environment turned into one validated struct.
//
// Every setting has one name, e.g. "redis-addr", read from the flag `--redis-addr=VALUE`
// (or `--redis-addr VALUE`) or, when the flag is absent, from the environment variable
// HUB_REDIS_ADDR. Flags win over the environment. Values are parsed and checked once, in
// main; a bad value stops the service with a message naming the setting in both spellings
// and the reason, e.g.
//   invalid setting --redis-addr (HUB_REDIS_ADDR): '127.0.0.1:70000': port must be 1-65535
//
// ConfigSource is immutable after construction and safe to share between threads.
#ifndef HUB_SERVICES_COMMON_CONFIG_CONFIG_H_
#define HUB_SERVICES_COMMON_CONFIG_CONFIG_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hub::config {

// A loopback or network endpoint.
struct HostPort {
  std::string host;
  int port = 0;
  std::string ToString() const;
};

// Raw settings from the command line and the environment.
class ConfigSource {
 public:
  // Reads `--name=value` / `--name value` flags from argv and HUB_* variables from
  // `environment` (each "KEY=VALUE"). A positional argument or a malformed flag is an error.
  static absl::StatusOr<ConfigSource> FromArgs(const std::vector<std::string>& args,
                                               const std::vector<std::string>& environment);
  // The same, from main's argc/argv and the process environment.
  static absl::StatusOr<ConfigSource> FromMain(int argc, char** argv);
  // For tests: settings given directly by name.
  static ConfigSource FromMap(std::map<std::string, std::string> settings);

  // The raw value of `setting` ("redis-addr"), from the flag or HUB_REDIS_ADDR.
  std::optional<std::string> Get(absl::string_view setting) const;

  // kInvalidArgument naming the first flag not in `known`: typos must not pass silently.
  absl::Status CheckNoUnknownFlags(const std::set<std::string>& known) const;

  // "HUB_REDIS_ADDR" for "redis-addr".
  static std::string EnvName(absl::string_view setting);

 private:
  std::map<std::string, std::string> flags_;
  std::map<std::string, std::string> env_;
};

// The message every parse error uses: names the setting in both spellings.
absl::Status InvalidSetting(absl::string_view setting, absl::string_view value,
                            absl::string_view reason);

// Typed readers. Each returns `fallback` when the setting is absent and an
// InvalidSetting error when it is present but bad.
absl::StatusOr<std::string> GetString(const ConfigSource& source, absl::string_view setting,
                                      const std::string& fallback);
absl::StatusOr<std::string> GetRequiredString(const ConfigSource& source,
                                              absl::string_view setting);
absl::StatusOr<HostPort> GetHostPort(const ConfigSource& source, absl::string_view setting,
                                     HostPort fallback);
absl::StatusOr<int64_t> GetInt(const ConfigSource& source, absl::string_view setting,
                               int64_t fallback, int64_t min, int64_t max);
absl::StatusOr<absl::Duration> GetDuration(const ConfigSource& source, absl::string_view setting,
                                           absl::Duration fallback, absl::Duration min,
                                           absl::Duration max);
absl::StatusOr<bool> GetBool(const ConfigSource& source, absl::string_view setting, bool fallback);

// Parses "host:port"; the host is a name or an IPv4 address ("[::1]:port" for IPv6).
absl::StatusOr<HostPort> ParseHostPort(absl::string_view value);

// The settings every hub service shares.
struct ServiceConfig {
  // "intake", "triage", "routing" or "notification".
  std::string service_name;
  // Prefix of every topic, consumer group and Redis key, so stacks can share a broker.
  std::string ns = "hub";
  // Kafka bootstrap servers, "host:port[,host:port...]".
  std::string kafka_bootstrap;
  HostPort redis;
  // Where the service's gRPC API listens.
  HostPort grpc;
  // Where /healthz, /readyz and /metrics listen.
  HostPort http;
  // "system", or "file:PATH" for a clock tests control (see clock.h).
  std::string clock = "system";
  // "debug", "info", "warning" or "error".
  std::string log_level = "info";
  // How callers prove who they are: "declared-loopback" (development: the x-hub-caller
  // header, accepted only from loopback peers).
  std::string identity = "declared-loopback";
};

// Default endpoints for one service, used when a setting is absent.
struct ServiceDefaults {
  HostPort grpc;
  HostPort http;
};

// Reads and validates the shared settings; names every accepted setting in `known` for
// CheckNoUnknownFlags.
absl::StatusOr<ServiceConfig> LoadServiceConfig(absl::string_view service_name,
                                                const ConfigSource& source,
                                                const ServiceDefaults& defaults);

// The setting names LoadServiceConfig reads.
std::set<std::string> ServiceSettingNames();

}  // namespace hub::config

#endif  // HUB_SERVICES_COMMON_CONFIG_CONFIG_H_
