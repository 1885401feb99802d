// The load generator: drives either the echo baseline or the hub's intake with a bounded
// number of requests and reports throughput and latency.
//
// Three targets: `echo` (the baseline), `intake` (SubmitCrimeReport only: a call counts
// when intake answers OK, which it does only once Kafka acknowledged the events with
// acks=all and Redis confirmed the case state; nothing is followed afterwards) and
// `pipeline` (the same submissions, then each case followed to notification).
//
// Requests are issued by one dispatching thread through gRPC's callback stubs, so up to
// `concurrency` calls are in flight on one channel without a thread per call. With
// `rate` = 0 the run is closed-loop (a new call as soon as one finishes: maximum
// throughput); with `rate` > 0 it is open-loop (call i is due at start + i / rate), and a
// call's latency is measured from when it was due, so a stall that delays later sends
// shows up in their latency instead of being hidden (coordinated omission).
//
// In pipeline mode the tool then follows every accepted case in Redis (pipelined HMGET of
// stage_name and updated_at on `<ns>:case:{<id>}`) until all are STAGE_NOTIFIED or the
// notify timeout passes. End-to-end latency is notification's updated_at (unix ms) minus
// the call's send time (both in whole milliseconds), so polling speed does not affect it;
// notification stamps updated_at when it starts handling the case. The case's history list
// (`<ns>:case:{<id>}:history`, one `at_ms` per stage, also stamped when each stage starts
// handling) then splits that time into hops: send -> intake -> triage -> routing ->
// notification, so a report can say which stage the time goes to.
//
// Every phase is bounded by a count and a time limit, and the tool talks only to
// 127.0.0.1. RunLoad is not reentrant; call it from one thread.
#ifndef HUB_BENCH_PIPELINE_LOADGEN_H_
#define HUB_BENCH_PIPELINE_LOADGEN_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

#include "bench/pipeline/latency.h"

namespace hub::bench {

enum class Target { kEcho, kIntake, kPipeline };

// "echo", "intake" or "pipeline": the name on the command line and in the JSON line.
const char* TargetName(Target target);

// Far above a crime report's size, far below gRPC's default 4 MiB message limit.
inline constexpr size_t kMaxEchoPayloadBytes = size_t{1} << 20;

struct LoadConfig {
  Target target = Target::kEcho;
  // 127.0.0.1:PORT of the echo server or of hub-intake.
  std::string addr;
  // Calls to make (1 to 10,000,000).
  int64_t requests = 1000;
  // Calls in flight at most (1 to 4096).
  int concurrency = 16;
  // Calls per second, open loop; 0 sends as fast as `concurrency` allows.
  double rate = 0;
  // Pipeline only: 127.0.0.1:PORT of the stack's Redis and the stack's namespace.
  std::string redis_addr;
  std::string ns = "hub";
  // Sending stops at this limit even if calls remain (the result says so).
  absl::Duration duration_limit = absl::Seconds(120);
  // Pipeline only: how long to wait, after the last call returned, for every case to be
  // notified.
  absl::Duration notify_timeout = absl::Seconds(60);
  // Deadline of each call.
  absl::Duration rpc_timeout = absl::Seconds(10);
  // How long to wait for the target's gRPC port before giving up (before any call).
  absl::Duration connect_timeout = absl::Seconds(10);
  // Makes the reports' ids unique across runs (see reports.h).
  std::string run_id;
  // Free text copied into the result, e.g. the benchmark phase.
  std::string label;
  // Echo only: payload size (at most kMaxEchoPayloadBytes); 0 means the size of this run's
  // SubmitCrimeReportRequest.
  size_t echo_payload_bytes = 0;
};

// kInvalidArgument naming the setting when `config` cannot run, including any address
// that is not 127.0.0.1:PORT.
absl::Status ValidateLoadConfig(const LoadConfig& config);

struct LoadResult {
  Target target = Target::kEcho;
  std::string label;
  int64_t requested = 0;
  // Calls actually sent (fewer than requested when the duration limit cut sending short).
  int64_t sent = 0;
  bool duration_limited = false;
  int concurrency = 0;
  double rate = 0;
  size_t payload_bytes = 0;

  // Calls answered OK and not.
  int64_t rpc_ok = 0;
  int64_t rpc_errors = 0;
  // The first failed call's status, for the operator (never personal data: the reports
  // are synthetic).
  std::string first_error;
  // From the first send to the last answer.
  double rpc_seconds = 0;
  // From due time to answer.
  LatencySummary rpc_latency;

  // Pipeline only: cases that reached STAGE_NOTIFIED and those that did not in time.
  int64_t notified = 0;
  int64_t not_notified = 0;
  // From the first send to the last case's notification.
  double e2e_seconds = 0;
  LatencySummary e2e_latency;
  // Pipeline only: time from the previous stamp to each stage's own, in kHopNames order
  // (the first hop starts at the client's send time).
  static constexpr std::array<const char*, 4> kHopNames = {"intake", "triage", "routing",
                                                           "notification"};
  std::array<LatencySummary, 4> hops;

  // What the target delivered end to end: answered calls (echo, intake) or notified cases
  // (pipeline) per second of the whole run.
  int64_t ok() const;
  int64_t errors() const;
  double seconds() const;
  double throughput_per_s() const;
};

// Connects, runs the whole load and, in pipeline mode, the follow-up in Redis. Failed calls
// are counted, not returned; an error status means the run could not happen (bad config,
// target not reachable within connect_timeout, Redis not reachable).
absl::StatusOr<LoadResult> RunLoad(const LoadConfig& config);

// One JSON object on one line (no newline): target, label, requests, ok, errors, seconds,
// throughput_per_s, rpc_* latencies in ms (the echo or the submit call) and, for the
// pipeline, submit_*, e2e_* and hop_<stage>_p50_ms / _p99_ms fields.
std::string ToJsonLine(const LoadResult& result);

}  // namespace hub::bench

#endif  // HUB_BENCH_PIPELINE_LOADGEN_H_
