// The crime reports the load generator submits, and the echo payload that mirrors them.
//
// Each report is what a force's system would plausibly send for a common crime: one adult
// victim, not yet asked about consent, reachable by a safe SMS route, offence class 49,
// reported an hour ago. Its source_event_id and crime_reference are unique per (run id,
// index), so intake opens a new case for every request instead of answering from its
// deduplication record, and a second run against the same stack does not collide with the
// first. Pure and thread-safe.
#ifndef HUB_BENCH_PIPELINE_REPORTS_H_
#define HUB_BENCH_PIPELINE_REPORTS_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#include "hub/intake/v1/intake.pb.h"

namespace hub::bench {

// The caller the load generator declares to intake (and, for symmetry, to the echo).
inline constexpr char kLoadgenCaller[] = "police:CAMBS:loadgen";

// kInvalidArgument unless `run_id` is 1-24 letters, digits or '-': it becomes part of
// source_event_id and crime_reference, which intake checks.
absl::Status ValidateRunId(absl::string_view run_id);

// Request number `index` of run `run_id`, reported one hour before `now`.
hub::intake::v1::SubmitCrimeReportRequest MakeSubmitRequest(absl::string_view run_id, int64_t index,
                                                            absl::Time now);

// The serialized size of the largest request a run of `requests` requests sends, so the
// echo baseline moves messages of the same size as the pipeline does.
size_t SubmitRequestBytes(absl::string_view run_id, int64_t requests);

}  // namespace hub::bench

#endif  // HUB_BENCH_PIPELINE_REPORTS_H_
