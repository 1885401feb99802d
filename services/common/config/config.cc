#include "services/common/config/config.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

#include "services/common/status/status_macros.h"

extern char** environ;  // NOLINT(readability-identifier-naming): POSIX name.

namespace hub::config {
namespace {

constexpr absl::string_view kEnvPrefix = "HUB_";

bool IsValidNamespace(absl::string_view ns) {
  if (ns.empty() || ns.size() > 32) {
    return false;
  }
  for (char c : ns) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-') {
      return false;
    }
  }
  return absl::ascii_islower(ns.front());
}

}  // namespace

std::string HostPort::ToString() const {
  if (absl::StrContains(host, ':')) {
    return absl::StrCat("[", host, "]:", port);
  }
  return absl::StrCat(host, ":", port);
}

std::string ConfigSource::EnvName(absl::string_view setting) {
  return absl::StrCat(kEnvPrefix,
                      absl::AsciiStrToUpper(absl::StrReplaceAll(setting, {{"-", "_"}})));
}

absl::StatusOr<ConfigSource> ConfigSource::FromArgs(const std::vector<std::string>& args,
                                                    const std::vector<std::string>& environment) {
  ConfigSource source;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!absl::StartsWith(arg, "--") || arg.size() == 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "': settings are given as --name=value"));
    }
    std::string body = arg.substr(2);
    size_t eq = body.find('=');
    if (eq != std::string::npos) {
      source.flags_[body.substr(0, eq)] = body.substr(eq + 1);
    } else if (i + 1 < args.size() && !absl::StartsWith(args[i + 1], "--")) {
      source.flags_[body] = args[++i];
    } else {
      source.flags_[body] = "true";
    }
  }
  for (const std::string& entry : environment) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos || !absl::StartsWith(entry, kEnvPrefix)) {
      continue;
    }
    source.env_[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return source;
}

absl::StatusOr<ConfigSource> ConfigSource::FromMain(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    args.emplace_back(argv[i]);
  }
  std::vector<std::string> environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    environment.emplace_back(*entry);
  }
  return FromArgs(args, environment);
}

ConfigSource ConfigSource::FromMap(std::map<std::string, std::string> settings) {
  ConfigSource source;
  source.flags_ = std::move(settings);
  return source;
}

std::optional<std::string> ConfigSource::Get(absl::string_view setting) const {
  if (auto it = flags_.find(std::string(setting)); it != flags_.end()) {
    return it->second;
  }
  if (auto it = env_.find(EnvName(setting)); it != env_.end()) {
    return it->second;
  }
  return std::nullopt;
}

absl::Status ConfigSource::CheckNoUnknownFlags(const std::set<std::string>& known) const {
  for (const auto& [name, value] : flags_) {
    if (known.count(name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown setting --", name, "; known settings: --", absl::StrJoin(known, ", --")));
    }
  }
  return absl::OkStatus();
}

absl::Status InvalidSetting(absl::string_view setting, absl::string_view value,
                            absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat("invalid setting --", setting, " (",
                                                 ConfigSource::EnvName(setting), "): '", value,
                                                 "': ", reason));
}

absl::StatusOr<std::string> GetString(const ConfigSource& source, absl::string_view setting,
                                      const std::string& fallback) {
  std::optional<std::string> value = source.Get(setting);
  return value.has_value() ? *value : fallback;
}

absl::StatusOr<std::string> GetRequiredString(const ConfigSource& source,
                                              absl::string_view setting) {
  std::optional<std::string> value = source.Get(setting);
  if (!value.has_value() || value->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "missing setting --", setting, " (", ConfigSource::EnvName(setting), "): it is required"));
  }
  return *value;
}

absl::StatusOr<HostPort> ParseHostPort(absl::string_view value) {
  HostPort result;
  absl::string_view port_text;
  if (absl::StartsWith(value, "[")) {
    size_t close = value.find("]:");
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError("expected [ipv6]:port");
    }
    result.host = std::string(value.substr(1, close - 1));
    port_text = value.substr(close + 2);
  } else {
    size_t colon = value.rfind(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return absl::InvalidArgumentError("expected host:port");
    }
    result.host = std::string(value.substr(0, colon));
    port_text = value.substr(colon + 1);
  }
  if (!absl::SimpleAtoi(port_text, &result.port) || result.port < 0 || result.port > 65535) {
    return absl::InvalidArgumentError("port must be 0-65535");
  }
  for (char c : result.host) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '-' && c != ':') {
      return absl::InvalidArgumentError("host may hold only letters, digits, '.', '-' and ':'");
    }
  }
  return result;
}

absl::StatusOr<HostPort> GetHostPort(const ConfigSource& source, absl::string_view setting,
                                     HostPort fallback) {
  std::optional<std::string> value = source.Get(setting);
  if (!value.has_value()) {
    return fallback;
  }
  absl::StatusOr<HostPort> parsed = ParseHostPort(*value);
  if (!parsed.ok()) {
    return InvalidSetting(setting, *value, parsed.status().message());
  }
  return parsed;
}

absl::StatusOr<int64_t> GetInt(const ConfigSource& source, absl::string_view setting,
                               int64_t fallback, int64_t min, int64_t max) {
  std::optional<std::string> value = source.Get(setting);
  if (!value.has_value()) {
    return fallback;
  }
  int64_t parsed = 0;
  if (!absl::SimpleAtoi(*value, &parsed)) {
    return InvalidSetting(setting, *value, "not a whole number");
  }
  if (parsed < min || parsed > max) {
    return InvalidSetting(setting, *value, absl::StrCat("must be ", min, "-", max));
  }
  return parsed;
}

absl::StatusOr<absl::Duration> GetDuration(const ConfigSource& source, absl::string_view setting,
                                           absl::Duration fallback, absl::Duration min,
                                           absl::Duration max) {
  std::optional<std::string> value = source.Get(setting);
  if (!value.has_value()) {
    return fallback;
  }
  absl::Duration parsed;
  if (!absl::ParseDuration(*value, &parsed)) {
    return InvalidSetting(setting, *value, "not a duration (e.g. 250ms, 5s, 2m)");
  }
  if (parsed < min || parsed > max) {
    return InvalidSetting(setting, *value,
                          absl::StrCat("must be between ", absl::FormatDuration(min), " and ",
                                       absl::FormatDuration(max)));
  }
  return parsed;
}

absl::StatusOr<bool> GetBool(const ConfigSource& source, absl::string_view setting, bool fallback) {
  std::optional<std::string> value = source.Get(setting);
  if (!value.has_value()) {
    return fallback;
  }
  bool parsed = false;
  if (!absl::SimpleAtob(*value, &parsed)) {
    return InvalidSetting(setting, *value, "must be true or false");
  }
  return parsed;
}

std::set<std::string> ServiceSettingNames() {
  return {"namespace", "kafka-bootstrap", "redis-addr", "grpc-addr",
          "http-addr", "clock",           "log-level",  "identity"};
}

absl::StatusOr<ServiceConfig> LoadServiceConfig(absl::string_view service_name,
                                                const ConfigSource& source,
                                                const ServiceDefaults& defaults) {
  ServiceConfig config;
  config.service_name = std::string(service_name);
  HUB_ASSIGN_OR_RETURN(config.ns, GetString(source, "namespace", "hub"));
  if (!IsValidNamespace(config.ns)) {
    return InvalidSetting("namespace", config.ns,
                          "must be 1-32 lower-case letters, digits or '-', starting with a letter");
  }
  HUB_ASSIGN_OR_RETURN(config.kafka_bootstrap,
                       GetString(source, "kafka-bootstrap", "127.0.0.1:19092"));
  for (absl::string_view broker : absl::StrSplit(config.kafka_bootstrap, ',')) {
    if (!ParseHostPort(broker).ok()) {
      return InvalidSetting("kafka-bootstrap", config.kafka_bootstrap,
                            "must be host:port[,host:port...]");
    }
  }
  HUB_ASSIGN_OR_RETURN(config.redis,
                       GetHostPort(source, "redis-addr", HostPort{"127.0.0.1", 16379}));
  if (config.redis.port == 0) {
    return InvalidSetting("redis-addr", config.redis.ToString(), "port must be 1-65535");
  }
  HUB_ASSIGN_OR_RETURN(config.grpc, GetHostPort(source, "grpc-addr", defaults.grpc));
  HUB_ASSIGN_OR_RETURN(config.http, GetHostPort(source, "http-addr", defaults.http));
  HUB_ASSIGN_OR_RETURN(config.clock, GetString(source, "clock", "system"));
  if (config.clock != "system" && !absl::StartsWith(config.clock, "file:")) {
    return InvalidSetting("clock", config.clock, "must be 'system' or 'file:PATH'");
  }
  HUB_ASSIGN_OR_RETURN(config.log_level, GetString(source, "log-level", "info"));
  if (config.log_level != "debug" && config.log_level != "info" && config.log_level != "warning" &&
      config.log_level != "error") {
    return InvalidSetting("log-level", config.log_level, "must be debug, info, warning or error");
  }
  HUB_ASSIGN_OR_RETURN(config.identity, GetString(source, "identity", "declared-loopback"));
  if (config.identity != "declared-loopback") {
    return InvalidSetting("identity", config.identity,
                          "only 'declared-loopback' is available in this build");
  }
  return config;
}

}  // namespace hub::config
