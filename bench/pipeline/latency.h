// Percentiles of a set of latency samples, as the benchmark reports them.
//
// Nearest-rank percentiles over every sample (no histogram buckets, no interpolation): a
// run keeps at most a few hundred thousand samples, so sorting them is cheap and the p99
// is a latency some request really had. Pure and thread-safe.
#ifndef HUB_BENCH_PIPELINE_LATENCY_H_
#define HUB_BENCH_PIPELINE_LATENCY_H_

#include <cstddef>
#include <vector>

namespace hub::bench {

struct LatencySummary {
  size_t count = 0;
  // Milliseconds; all zero when there are no samples.
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

LatencySummary Summarize(std::vector<double> samples_ms);

// The nearest-rank percentile `q` (0 < q <= 1) of `sorted_ms`, which must be sorted and
// not empty.
double NearestRank(const std::vector<double>& sorted_ms, double q);

}  // namespace hub::bench

#endif  // HUB_BENCH_PIPELINE_LATENCY_H_
