#include "bench/pipeline/latency.h"

#include <algorithm>
#include <cmath>

namespace hub::bench {

double NearestRank(const std::vector<double>& sorted_ms, double q) {
  // Rank ceil(q * n), 1-based; clamp so q = 1 is the maximum and tiny q the minimum.
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted_ms.size())));
  return sorted_ms[std::clamp<size_t>(rank, 1, sorted_ms.size()) - 1];
}

LatencySummary Summarize(std::vector<double> samples_ms) {
  LatencySummary summary;
  summary.count = samples_ms.size();
  if (samples_ms.empty()) {
    return summary;
  }
  std::sort(samples_ms.begin(), samples_ms.end());
  summary.p50_ms = NearestRank(samples_ms, 0.50);
  summary.p90_ms = NearestRank(samples_ms, 0.90);
  summary.p99_ms = NearestRank(samples_ms, 0.99);
  summary.max_ms = samples_ms.back();
  return summary;
}

}  // namespace hub::bench
