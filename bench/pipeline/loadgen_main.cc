// hub-loadgen: sends a bounded load to the echo baseline or to hub-intake and prints one
// JSON line with throughput and latency (see loadgen.h for what is measured and how).
//
//   hub-loadgen --target=echo --addr=127.0.0.1:PORT [--requests=N] [--concurrency=C]
//               [--rate=R] [--duration-limit=2m] [--payload-bytes=B] [--label=TEXT]
//   hub-loadgen --target=intake --addr=127.0.0.1:INTAKE [--run-id=ID] ...
//   hub-loadgen --target=pipeline --addr=127.0.0.1:INTAKE --redis=127.0.0.1:PORT
//               [--namespace=hub] [--notify-timeout=1m] [--run-id=ID] ...
//
// Settings follow the services' convention (services/common/config): `--name=value` or
// `--name value`, or the variable HUB_<NAME> when the flag is absent. Exit status: 0 when
// every request succeeded, 1 when some failed (the JSON line is printed either way), 2 on
// bad settings, 3 when the run could not start.
#include <unistd.h>

#include <iostream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

#include "bench/pipeline/loadgen.h"
#include "services/common/config/config.h"
#include "services/common/status/status_macros.h"

namespace {

constexpr char kUsage[] =
    "usage: hub-loadgen --target=echo|intake|pipeline --addr=127.0.0.1:PORT [--requests=1000]\n"
    "         [--concurrency=16] [--rate=0] [--duration-limit=2m] [--rpc-timeout=10s]\n"
    "         [--connect-timeout=10s]\n"
    "         [--label=TEXT] [--payload-bytes=0] (echo)\n"
    "         [--redis=127.0.0.1:PORT] [--namespace=hub] [--notify-timeout=1m]\n"
    "         [--run-id=ID] (intake, pipeline)\n";

absl::StatusOr<hub::bench::LoadConfig> LoadConfigFrom(const hub::config::ConfigSource& source) {
  using hub::config::GetDuration;
  using hub::config::GetInt;
  using hub::config::GetString;
  HUB_RETURN_IF_ERROR(source.CheckNoUnknownFlags(
      {"target", "addr", "requests", "concurrency", "rate", "redis", "namespace", "duration-limit",
       "notify-timeout", "rpc-timeout", "connect-timeout", "run-id", "label", "payload-bytes"}));
  hub::bench::LoadConfig config;
  HUB_ASSIGN_OR_RETURN(std::string target, GetString(source, "target", ""));
  if (target == "echo") {
    config.target = hub::bench::Target::kEcho;
  } else if (target == "intake") {
    config.target = hub::bench::Target::kIntake;
  } else if (target == "pipeline") {
    config.target = hub::bench::Target::kPipeline;
  } else {
    return hub::config::InvalidSetting("target", target, "must be echo, intake or pipeline");
  }
  HUB_ASSIGN_OR_RETURN(config.addr, GetString(source, "addr", ""));
  HUB_ASSIGN_OR_RETURN(config.requests, GetInt(source, "requests", 1000, 1, 10'000'000));
  HUB_ASSIGN_OR_RETURN(int64_t concurrency, GetInt(source, "concurrency", 16, 1, 4096));
  config.concurrency = static_cast<int>(concurrency);
  HUB_ASSIGN_OR_RETURN(std::string rate, GetString(source, "rate", "0"));
  if (!absl::SimpleAtod(rate, &config.rate)) {
    return hub::config::InvalidSetting("rate", rate, "not a number of requests per second");
  }
  HUB_ASSIGN_OR_RETURN(config.redis_addr, GetString(source, "redis", ""));
  HUB_ASSIGN_OR_RETURN(config.ns, GetString(source, "namespace", "hub"));
  HUB_ASSIGN_OR_RETURN(config.duration_limit,
                       GetDuration(source, "duration-limit", absl::Minutes(2),
                                   absl::Milliseconds(1), absl::Hours(24)));
  HUB_ASSIGN_OR_RETURN(config.notify_timeout,
                       GetDuration(source, "notify-timeout", absl::Minutes(1),
                                   absl::Milliseconds(1), absl::Hours(24)));
  HUB_ASSIGN_OR_RETURN(config.rpc_timeout, GetDuration(source, "rpc-timeout", absl::Seconds(10),
                                                       absl::Milliseconds(1), absl::Minutes(10)));
  HUB_ASSIGN_OR_RETURN(config.connect_timeout,
                       GetDuration(source, "connect-timeout", absl::Seconds(10),
                                   absl::Milliseconds(1), absl::Minutes(10)));
  // Distinct per process, so repeated runs against one stack never reuse a report id.
  const std::string default_run_id =
      absl::StrCat(absl::ToUnixSeconds(absl::Now()) % 100'000'000, "-", getpid());
  HUB_ASSIGN_OR_RETURN(config.run_id, GetString(source, "run-id", default_run_id));
  HUB_ASSIGN_OR_RETURN(config.label, GetString(source, "label", ""));
  HUB_ASSIGN_OR_RETURN(int64_t payload_bytes,
                       GetInt(source, "payload-bytes", 0, 0,
                              static_cast<int64_t>(hub::bench::kMaxEchoPayloadBytes)));
  config.echo_payload_bytes = static_cast<size_t>(payload_bytes);
  HUB_RETURN_IF_ERROR(hub::bench::ValidateLoadConfig(config));
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<hub::config::ConfigSource> source =
      hub::config::ConfigSource::FromMain(argc, argv);
  absl::StatusOr<hub::bench::LoadConfig> config =
      source.ok() ? LoadConfigFrom(*source) : source.status();
  if (!config.ok()) {
    std::cerr << "hub-loadgen: " << config.status().message() << "\n" << kUsage;
    return 2;
  }
  absl::StatusOr<hub::bench::LoadResult> result = hub::bench::RunLoad(*config);
  if (!result.ok()) {
    std::cerr << "hub-loadgen: " << result.status() << "\n";
    return 3;
  }
  if (!result->first_error.empty()) {
    std::cerr << "hub-loadgen: " << result->errors() << " of " << result->sent
              << " failed; first: " << result->first_error << "\n";
  }
  std::cout << hub::bench::ToJsonLine(*result) << std::endl;
  return result->errors() == 0 ? 0 : 1;
}
