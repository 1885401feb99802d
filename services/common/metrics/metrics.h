// Prometheus metrics for a service: counters, gauges and histograms in one registry,
// rendered in the Prometheus text exposition format (version 0.0.4) at /metrics.
//
// Names follow Prometheus conventions: hub_<service>_<thing>_<unit>, `_total` for
// counters, `_seconds` for durations. Label values are identifiers such as a topic, a
// stage or a status code — never personal data, and never unbounded (no case ids).
//
// Metrics are created at start-up (Add* returns a pointer owned by the registry, valid
// for its lifetime) and then updated lock-free from any thread. Render() is thread-safe.
#ifndef HUB_SERVICES_COMMON_METRICS_METRICS_H_
#define HUB_SERVICES_COMMON_METRICS_METRICS_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace hub::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Increment(double by = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double by);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  // `bounds` are the upper bounds of the buckets, ascending; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative count per bound, then the +Inf count.
  std::vector<uint64_t> CumulativeCounts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0.0};
  std::atomic<uint64_t> count_{0};
};

// Latency buckets from 0.5 ms to 10 s, for request and handler durations.
std::vector<double> LatencyBuckets();

class Registry {
 public:
  Counter* AddCounter(const std::string& name, const std::string& help, Labels labels = {});
  Gauge* AddGauge(const std::string& name, const std::string& help, Labels labels = {});
  // A gauge whose value is read from `read` at each scrape (e.g. a consumer's lag).
  void AddCallbackGauge(const std::string& name, const std::string& help,
                        std::function<double()> read, Labels labels = {});
  // A counter whose value is read from `read` at each scrape (e.g. a loop's own stats).
  void AddCallbackCounter(const std::string& name, const std::string& help,
                          std::function<double()> read, Labels labels = {});
  Histogram* AddHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds, Labels labels = {});

  // Every metric in the text exposition format, families sorted by name.
  std::string Render() const;

 private:
  struct Entry {
    std::string name;
    std::string help;
    std::string type;
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::function<double()> callback;
    std::unique_ptr<Histogram> histogram;
  };
  Entry& Add(const std::string& name, const std::string& help, const std::string& type,
             Labels labels) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hub::metrics

#endif  // HUB_SERVICES_COMMON_METRICS_METRICS_H_
