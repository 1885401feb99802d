#include "bench/pipeline/loadgen.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include <grpcpp/grpcpp.h>

#include "bench/pipeline/echo.grpc.pb.h"
#include "bench/pipeline/reports.h"
#include "hub/intake/v1/intake.grpc.pb.h"
#include "services/common/redis/redis_client.h"
#include "services/common/status/status_macros.h"

namespace hub::bench {
namespace {

constexpr char kLoopbackPrefix[] = "127.0.0.1:";
constexpr int64_t kMaxRequests = 10'000'000;
constexpr int kMaxConcurrency = 4096;
constexpr double kMaxRate = 1'000'000;
// Cases asked about in one Redis round trip, and the pause between sweeps: the poll only
// has to notice completion, since latency comes from the stamped updated_at.
constexpr size_t kPollBatch = 500;
constexpr absl::Duration kPollInterval = absl::Milliseconds(100);
constexpr char kNotifiedStage[] = "STAGE_NOTIFIED";

// What happened to one call. Written by the gRPC thread that finishes the call, read by
// the dispatching thread only after InFlight::WaitIdle, whose mutex orders the two.
struct Slot {
  absl::Time due;
  absl::Time answered;
  bool ok = false;
  std::string case_id;
  // Notification's updated_at for the case, once seen; -1 until then.
  int64_t notified_ms = -1;
  // Each stage's at_ms from the case history (index = hub.cases.v1.Stage - 1); -1 if absent.
  std::array<int64_t, 4> stage_ms = {-1, -1, -1, -1};
};

// Bounds the calls in flight. Thread-safe.
class InFlight {
 public:
  explicit InFlight(int limit) : limit_(limit) {}

  // Takes a place, waiting for one until `deadline`; false if none freed up in time.
  bool Acquire(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto has_room = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return count_ < limit_; };
    if (!mu_.AwaitWithDeadline(absl::Condition(&has_room), deadline)) {
      return false;
    }
    ++count_;
    return true;
  }

  void Release() {
    absl::MutexLock lock(&mu_);
    --count_;
  }

  // Waits until no call is in flight, at most until `deadline`.
  bool WaitIdle(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return count_ == 0; };
    return mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
  }

 private:
  absl::Mutex mu_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
  const int limit_;
};

// Keeps the first failure's description. Thread-safe.
class FirstError {
 public:
  void Record(const std::string& description) {
    absl::MutexLock lock(&mu_);
    if (first_.empty()) {
      first_ = description;
    }
  }
  std::string Get() {
    absl::MutexLock lock(&mu_);
    return first_;
  }

 private:
  absl::Mutex mu_;
  std::string first_ ABSL_GUARDED_BY(mu_);
};

std::string Describe(const grpc::Status& status) {
  return absl::StrCat("grpc code ", static_cast<int>(status.error_code()), ": ",
                      status.error_message());
}

// Starts call `index` asynchronously; `finished` must be called exactly once, last.
using IssueFn = std::function<void(int64_t index, Slot* slot, std::function<void()> finished)>;

struct DispatchOutcome {
  int64_t sent = 0;
  bool duration_limited = false;
};

// Issues up to config.requests calls (see the header for the two pacing modes) and waits
// until every call sent has finished.
DispatchOutcome Dispatch(const LoadConfig& config, std::vector<Slot>& slots, const IssueFn& issue) {
  InFlight in_flight(config.concurrency);
  DispatchOutcome outcome;
  const absl::Time start = absl::Now();
  const absl::Time stop_sending = start + config.duration_limit;
  for (int64_t i = 0; i < config.requests; ++i) {
    absl::Time due = start;
    if (config.rate > 0) {
      due = start + absl::Seconds(static_cast<double>(i) / config.rate);
      if (due >= stop_sending) {
        outcome.duration_limited = true;
        break;
      }
      if (absl::Duration wait = due - absl::Now(); wait > absl::ZeroDuration()) {
        absl::SleepFor(wait);
      }
    }
    if (absl::Now() >= stop_sending || !in_flight.Acquire(stop_sending)) {
      outcome.duration_limited = true;
      break;
    }
    Slot& slot = slots[static_cast<size_t>(i)];
    slot.due = config.rate > 0 ? due : absl::Now();
    issue(i, &slot, [&in_flight] { in_flight.Release(); });
    ++outcome.sent;
  }
  // Every call has a deadline, so gRPC finishes each one well within this; should it not,
  // returning would free what the late callbacks still write to.
  if (!in_flight.WaitIdle(absl::Now() + config.rpc_timeout + absl::Seconds(30))) {
    std::cerr << "hub-loadgen: calls still in flight long after their deadline" << std::endl;
    std::_Exit(3);
  }
  return outcome;
}

absl::StatusOr<int> LoopbackPort(const std::string& addr, absl::string_view setting) {
  int port = 0;
  if (!absl::StartsWith(addr, kLoopbackPrefix) ||
      !absl::SimpleAtoi(absl::string_view(addr).substr(sizeof(kLoopbackPrefix) - 1), &port) ||
      port < 1 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(setting, " must be 127.0.0.1:PORT (the tool talks only to loopback)"));
  }
  return port;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const std::string& addr,
                                                       absl::Duration timeout) {
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(absl::ToChronoTime(absl::Now() + timeout))) {
    return absl::UnavailableError(absl::StrCat("no gRPC server answered on ", addr, " within ",
                                               absl::FormatDuration(timeout)));
  }
  return channel;
}

void PrepareContext(const LoadConfig& config, grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + config.rpc_timeout));
  context->AddMetadata("x-hub-caller", kLoadgenCaller);
}

DispatchOutcome RunEcho(const LoadConfig& config, const std::shared_ptr<grpc::Channel>& channel,
                        size_t payload_bytes, std::vector<Slot>& slots, FirstError& first_error) {
  auto stub = hub::bench::v1::EchoService::NewStub(channel);
  const std::string payload(payload_bytes, 'x');
  struct Call {
    grpc::ClientContext context;
    hub::bench::v1::EchoRequest request;
    hub::bench::v1::EchoResponse response;
  };
  return Dispatch(config, slots, [&](int64_t, Slot* slot, std::function<void()> finished) {
    auto* call = new Call;  // Owned by the callback below.
    PrepareContext(config, &call->context);
    call->request.set_payload(payload);
    stub->async()->Echo(&call->context, &call->request, &call->response,
                        [call, slot, finished = std::move(finished), &first_error,
                         size = payload.size()](const grpc::Status& status) {
                          slot->answered = absl::Now();
                          slot->ok = status.ok() && call->response.payload().size() == size;
                          if (!status.ok()) {
                            first_error.Record(Describe(status));
                          } else if (!slot->ok) {
                            first_error.Record("echo returned a different payload");
                          }
                          delete call;
                          finished();
                        });
  });
}

DispatchOutcome RunSubmits(const LoadConfig& config, const std::shared_ptr<grpc::Channel>& channel,
                           std::vector<Slot>& slots, FirstError& first_error) {
  auto stub = hub::intake::v1::IntakeService::NewStub(channel);
  struct Call {
    grpc::ClientContext context;
    hub::intake::v1::SubmitCrimeReportRequest request;
    hub::intake::v1::SubmitCrimeReportResponse response;
  };
  return Dispatch(config, slots, [&](int64_t index, Slot* slot, std::function<void()> finished) {
    auto* call = new Call;  // Owned by the callback below.
    call->request = MakeSubmitRequest(config.run_id, index, absl::Now());
    PrepareContext(config, &call->context);
    stub->async()->SubmitCrimeReport(
        &call->context, &call->request, &call->response,
        [call, slot, finished = std::move(finished), &first_error](const grpc::Status& status) {
          slot->answered = absl::Now();
          if (!status.ok()) {
            first_error.Record(Describe(status));
          } else if (call->response.duplicate() || call->response.cases_size() != 1) {
            // A duplicate means the ids were not unique: that case's timing is not ours.
            first_error.Record("intake answered with a duplicate or an unexpected receipt");
          } else {
            slot->ok = true;
            slot->case_id = call->response.cases(0).case_id();
          }
          delete call;
          finished();
        });
  });
}

// Polls Redis until every accepted case is notified or config.notify_timeout passes.
void FollowCases(const LoadConfig& config, redis::RedisClient& redis, std::vector<Slot>& slots,
                 int64_t sent, FirstError& first_error) {
  std::vector<size_t> pending;
  for (size_t i = 0; i < static_cast<size_t>(sent); ++i) {
    if (slots[i].ok) {
      pending.push_back(i);
    }
  }
  const absl::Time deadline = absl::Now() + config.notify_timeout;
  while (!pending.empty()) {
    std::vector<size_t> still_pending;
    for (size_t begin = 0; begin < pending.size(); begin += kPollBatch) {
      const size_t end = std::min(pending.size(), begin + kPollBatch);
      std::vector<std::vector<std::string>> commands;
      commands.reserve(end - begin);
      for (size_t j = begin; j < end; ++j) {
        commands.push_back({"HMGET",
                            absl::StrCat(config.ns, ":case:{", slots[pending[j]].case_id, "}"),
                            "stage_name", "updated_at"});
      }
      absl::StatusOr<std::vector<redis::Reply>> replies = redis.Pipeline(commands);
      for (size_t j = begin; j < end; ++j) {
        Slot& slot = slots[pending[j]];
        const redis::Reply* reply = replies.ok() ? &(*replies)[j - begin] : nullptr;
        int64_t updated_at = 0;
        if (reply != nullptr && reply->type == redis::Reply::Type::kArray &&
            reply->elements.size() == 2 && reply->elements[0].str == kNotifiedStage &&
            absl::SimpleAtoi(reply->elements[1].str, &updated_at)) {
          slot.notified_ms = updated_at;
        } else {
          still_pending.push_back(pending[j]);
        }
      }
      if (!replies.ok()) {
        first_error.Record(absl::StrCat("redis: ", replies.status().message()));
      }
    }
    pending = std::move(still_pending);
    if (pending.empty() || absl::Now() >= deadline) {
      break;
    }
    absl::SleepFor(kPollInterval);
  }
  if (!pending.empty()) {
    first_error.Record(absl::StrCat(pending.size(), " cases not STAGE_NOTIFIED within ",
                                    absl::FormatDuration(config.notify_timeout)));
  }
}

// Reads the history of every notified case for its per-stage stamps. Best effort: a case
// whose history cannot be read only leaves its hops out.
void ReadStageStamps(const LoadConfig& config, redis::RedisClient& redis,
                     std::vector<Slot>& slots) {
  std::vector<Slot*> notified;
  for (Slot& slot : slots) {
    if (slot.notified_ms >= 0) {
      notified.push_back(&slot);
    }
  }
  for (size_t begin = 0; begin < notified.size(); begin += kPollBatch) {
    const size_t end = std::min(notified.size(), begin + kPollBatch);
    std::vector<std::vector<std::string>> commands;
    commands.reserve(end - begin);
    for (size_t j = begin; j < end; ++j) {
      commands.push_back({"LRANGE",
                          absl::StrCat(config.ns, ":case:{", notified[j]->case_id, "}:history"),
                          "0", "-1"});
    }
    absl::StatusOr<std::vector<redis::Reply>> replies = redis.Pipeline(commands);
    if (!replies.ok()) {
      continue;
    }
    for (size_t j = begin; j < end; ++j) {
      Slot& slot = *notified[j];
      for (const redis::Reply& item : (*replies)[j - begin].elements) {
        nlohmann::json entry = nlohmann::json::parse(item.str, nullptr, /*allow_exceptions=*/false);
        if (!entry.is_object() || !entry.contains("stage") || !entry.contains("at_ms") ||
            !entry["stage"].is_number_integer() || !entry["at_ms"].is_number_integer()) {
          continue;
        }
        const int stage = entry["stage"].get<int>();
        if (stage >= 1 && stage <= static_cast<int>(slot.stage_ms.size()) &&
            slot.stage_ms[static_cast<size_t>(stage - 1)] < 0) {
          slot.stage_ms[static_cast<size_t>(stage - 1)] = entry["at_ms"].get<int64_t>();
        }
      }
    }
  }
}

double UnixMs(absl::Time time) { return static_cast<double>(absl::ToUnixMicros(time)) / 1000.0; }

double Round3(double value) { return std::round(value * 1000.0) / 1000.0; }

void AddLatency(nlohmann::ordered_json& out, const std::string& prefix,
                const LatencySummary& latency) {
  out[prefix + "_p50_ms"] = Round3(latency.p50_ms);
  out[prefix + "_p90_ms"] = Round3(latency.p90_ms);
  out[prefix + "_p99_ms"] = Round3(latency.p99_ms);
  out[prefix + "_max_ms"] = Round3(latency.max_ms);
}

}  // namespace

const char* TargetName(Target target) {
  switch (target) {
    case Target::kEcho:
      return "echo";
    case Target::kIntake:
      return "intake";
    case Target::kPipeline:
      return "pipeline";
  }
  return "unknown";
}

int64_t LoadResult::ok() const { return target == Target::kPipeline ? notified : rpc_ok; }

int64_t LoadResult::errors() const {
  return target == Target::kPipeline ? rpc_errors + not_notified : rpc_errors;
}

double LoadResult::seconds() const {
  return target == Target::kPipeline ? e2e_seconds : rpc_seconds;
}

double LoadResult::throughput_per_s() const {
  return seconds() > 0 ? static_cast<double>(ok()) / seconds() : 0;
}

absl::Status ValidateLoadConfig(const LoadConfig& config) {
  HUB_RETURN_IF_ERROR(LoopbackPort(config.addr, "--addr").status());
  if (config.requests < 1 || config.requests > kMaxRequests) {
    return absl::InvalidArgumentError(absl::StrCat("--requests must be 1-", kMaxRequests));
  }
  if (config.concurrency < 1 || config.concurrency > kMaxConcurrency) {
    return absl::InvalidArgumentError(absl::StrCat("--concurrency must be 1-", kMaxConcurrency));
  }
  if (!std::isfinite(config.rate) || config.rate < 0 || config.rate > kMaxRate) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rate must be 0 (as fast as possible) to ", kMaxRate, " per second"));
  }
  for (const auto& [duration, setting] : {std::pair{config.duration_limit, "--duration-limit"},
                                          std::pair{config.notify_timeout, "--notify-timeout"},
                                          std::pair{config.rpc_timeout, "--rpc-timeout"},
                                          std::pair{config.connect_timeout, "--connect-timeout"}}) {
    if (duration <= absl::ZeroDuration() || duration == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(setting, " must be positive and finite"));
    }
  }
  if (absl::Status run_id = ValidateRunId(config.run_id); !run_id.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--run-id: ", run_id.message()));
  }
  if (config.target == Target::kPipeline) {
    HUB_RETURN_IF_ERROR(LoopbackPort(config.redis_addr, "--redis").status());
    if (config.ns.empty() || config.ns.size() > 64 ||
        !std::all_of(config.ns.begin(), config.ns.end(), [](char c) {
          return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.';
        })) {
      return absl::InvalidArgumentError(
          "--namespace must be 1-64 letters, digits, '-', '_' or '.'");
    }
  }
  if (config.echo_payload_bytes > kMaxEchoPayloadBytes) {
    return absl::InvalidArgumentError("--payload-bytes must be at most 1 MiB");
  }
  return absl::OkStatus();
}

absl::StatusOr<LoadResult> RunLoad(const LoadConfig& config) {
  HUB_RETURN_IF_ERROR(ValidateLoadConfig(config));
  LoadResult result;
  result.target = config.target;
  result.label = config.label;
  result.requested = config.requests;
  result.concurrency = config.concurrency;
  result.rate = config.rate;

  // Redis first: a pipeline run that cannot follow its cases should not load the stack.
  std::unique_ptr<redis::RedisClient> redis;
  if (config.target == Target::kPipeline) {
    redis::RedisConfig redis_config;
    redis_config.port = *LoopbackPort(config.redis_addr, "--redis");
    redis_config.command_timeout = absl::Seconds(5);
    redis_config.pool_size = 1;
    HUB_ASSIGN_OR_RETURN(redis, redis::CreateRedisClient(redis_config));
  }
  HUB_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel,
                       Connect(config.addr, config.connect_timeout));

  std::vector<Slot> slots(static_cast<size_t>(config.requests));
  FirstError first_error;
  DispatchOutcome outcome;
  if (config.target == Target::kEcho) {
    result.payload_bytes = config.echo_payload_bytes > 0
                               ? config.echo_payload_bytes
                               : SubmitRequestBytes(config.run_id, config.requests);
    outcome = RunEcho(config, channel, result.payload_bytes, slots, first_error);
  } else {
    // Intake and pipeline send the same reports; only the pipeline follows them.
    result.payload_bytes = SubmitRequestBytes(config.run_id, config.requests);
    outcome = RunSubmits(config, channel, slots, first_error);
  }
  result.sent = outcome.sent;
  result.duration_limited = outcome.duration_limited;
  slots.resize(static_cast<size_t>(outcome.sent));
  if (config.target == Target::kPipeline) {
    FollowCases(config, *redis, slots, outcome.sent, first_error);
    ReadStageStamps(config, *redis, slots);
  }

  std::vector<double> rpc_ms;
  std::vector<double> e2e_ms;
  std::array<std::vector<double>, 4> hop_ms;
  rpc_ms.reserve(slots.size());
  double last_answer_ms = 0;
  double last_notified_ms = 0;
  for (const Slot& slot : slots) {
    last_answer_ms = std::max(last_answer_ms, UnixMs(slot.answered));
    if (!slot.ok) {
      ++result.rpc_errors;
      continue;
    }
    ++result.rpc_ok;
    rpc_ms.push_back(absl::ToDoubleMilliseconds(slot.answered - slot.due));
    if (slot.notified_ms >= 0) {
      ++result.notified;
      const auto notified = static_cast<double>(slot.notified_ms);
      // The services stamp whole milliseconds (truncated); truncating the send time the
      // same way keeps the difference unbiased, instead of 0.5 ms short on average.
      const double sent_ms = std::floor(UnixMs(slot.due));
      e2e_ms.push_back(notified - sent_ms);
      last_notified_ms = std::max(last_notified_ms, notified);
      double previous = sent_ms;
      for (size_t hop = 0; hop < hop_ms.size(); ++hop) {
        if (slot.stage_ms[hop] < 0) {
          break;
        }
        const auto stamp = static_cast<double>(slot.stage_ms[hop]);
        hop_ms[hop].push_back(stamp - previous);
        previous = stamp;
      }
    } else if (config.target == Target::kPipeline) {
      ++result.not_notified;
    }
  }
  if (!slots.empty()) {
    const double first_due_ms = UnixMs(slots.front().due);
    result.rpc_seconds = (last_answer_ms - first_due_ms) / 1000.0;
    if (result.notified > 0) {
      result.e2e_seconds = (last_notified_ms - first_due_ms) / 1000.0;
    }
  }
  result.rpc_latency = Summarize(std::move(rpc_ms));
  result.e2e_latency = Summarize(std::move(e2e_ms));
  for (size_t hop = 0; hop < hop_ms.size(); ++hop) {
    result.hops[hop] = Summarize(std::move(hop_ms[hop]));
  }
  result.first_error = first_error.Get();
  return result;
}

std::string ToJsonLine(const LoadResult& result) {
  nlohmann::ordered_json out;
  const bool pipeline = result.target == Target::kPipeline;
  out["target"] = TargetName(result.target);
  out["label"] = result.label;
  out["requests"] = result.sent;
  out["ok"] = result.ok();
  out["errors"] = result.errors();
  out["seconds"] = Round3(result.seconds());
  out["throughput_per_s"] = Round3(result.throughput_per_s());
  out["requested"] = result.requested;
  out["duration_limited"] = result.duration_limited;
  out["concurrency"] = result.concurrency;
  out["rate_per_s"] = Round3(result.rate);
  out["payload_bytes"] = result.payload_bytes;
  AddLatency(out, "rpc", result.rpc_latency);
  if (pipeline) {
    out["submit_ok"] = result.rpc_ok;
    out["submit_errors"] = result.rpc_errors;
    out["not_notified"] = result.not_notified;
    out["submit_seconds"] = Round3(result.rpc_seconds);
    out["submit_throughput_per_s"] = Round3(
        result.rpc_seconds > 0 ? static_cast<double>(result.rpc_ok) / result.rpc_seconds : 0);
    AddLatency(out, "e2e", result.e2e_latency);
    for (size_t hop = 0; hop < result.hops.size(); ++hop) {
      const std::string prefix = absl::StrCat("hop_", LoadResult::kHopNames[hop]);
      out[prefix + "_p50_ms"] = Round3(result.hops[hop].p50_ms);
      out[prefix + "_p99_ms"] = Round3(result.hops[hop].p99_ms);
    }
  }
  return out.dump();
}

}  // namespace hub::bench
