#include "services/common/metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace hub::metrics {
namespace {

void AtomicAdd(std::atomic<double>& target, double by) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + by, std::memory_order_relaxed)) {
  }
}

std::string FormatValue(double value) {
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  if (std::isnan(value)) {
    return "NaN";
  }
  if (value == std::floor(value) && std::abs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  return absl::StrCat(value);
}

std::string EscapeLabelValue(const std::string& value) {
  return absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}});
}

std::string FormatLabels(const Labels& labels, const Labels& extra = {}) {
  if (labels.empty() && extra.empty()) {
    return "";
  }
  std::string out = "{";
  bool first = true;
  for (const Labels* set : {&labels, &extra}) {
    for (const auto& [key, value] : *set) {
      absl::StrAppend(&out, first ? "" : ",", key, "=\"", EscapeLabelValue(value), "\"");
      first = false;
    }
  }
  out.push_back('}');
  return out;
}

}  // namespace

void Counter::Increment(double by) { AtomicAdd(value_, by); }

void Gauge::Add(double by) { AtomicAdd(value_, by); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  std::sort(bounds_.begin(), bounds_.end());
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    buckets_[i] = 0;
  }
}

void Histogram::Observe(double value) {
  size_t index = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> counts(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    counts[i] = running;
  }
  return counts;
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Registry::Entry& Registry::Add(const std::string& name, const std::string& help,
                               const std::string& type, Labels labels) {
  auto entry = std::make_unique<Entry>();
  entry->name = name;
  entry->help = help;
  entry->type = type;
  entry->labels = std::move(labels);
  entries_.push_back(std::move(entry));
  return *entries_.back();
}

Counter* Registry::AddCounter(const std::string& name, const std::string& help, Labels labels) {
  absl::MutexLock lock(&mu_);
  Entry& entry = Add(name, help, "counter", std::move(labels));
  entry.counter = std::make_unique<Counter>();
  return entry.counter.get();
}

Gauge* Registry::AddGauge(const std::string& name, const std::string& help, Labels labels) {
  absl::MutexLock lock(&mu_);
  Entry& entry = Add(name, help, "gauge", std::move(labels));
  entry.gauge = std::make_unique<Gauge>();
  return entry.gauge.get();
}

void Registry::AddCallbackGauge(const std::string& name, const std::string& help,
                                std::function<double()> read, Labels labels) {
  absl::MutexLock lock(&mu_);
  Entry& entry = Add(name, help, "gauge", std::move(labels));
  entry.callback = std::move(read);
}

void Registry::AddCallbackCounter(const std::string& name, const std::string& help,
                                  std::function<double()> read, Labels labels) {
  absl::MutexLock lock(&mu_);
  Entry& entry = Add(name, help, "counter", std::move(labels));
  entry.callback = std::move(read);
}

Histogram* Registry::AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<double> bounds, Labels labels) {
  absl::MutexLock lock(&mu_);
  Entry& entry = Add(name, help, "histogram", std::move(labels));
  entry.histogram = std::make_unique<Histogram>(std::move(bounds));
  return entry.histogram.get();
}

std::string Registry::Render() const {
  absl::MutexLock lock(&mu_);
  std::map<std::string, std::vector<const Entry*>> families;
  for (const auto& entry : entries_) {
    families[entry->name].push_back(entry.get());
  }
  std::string out;
  for (const auto& [name, members] : families) {
    absl::StrAppend(&out, "# HELP ", name, " ", members.front()->help, "\n");
    absl::StrAppend(&out, "# TYPE ", name, " ", members.front()->type, "\n");
    for (const Entry* entry : members) {
      if (entry->histogram != nullptr) {
        const Histogram& histogram = *entry->histogram;
        std::vector<uint64_t> counts = histogram.CumulativeCounts();
        for (size_t i = 0; i < counts.size(); ++i) {
          std::string le =
              i < histogram.bounds().size() ? FormatValue(histogram.bounds()[i]) : "+Inf";
          absl::StrAppend(&out, name, "_bucket", FormatLabels(entry->labels, {{"le", le}}), " ",
                          counts[i], "\n");
        }
        absl::StrAppend(&out, name, "_sum", FormatLabels(entry->labels), " ",
                        FormatValue(histogram.sum()), "\n");
        absl::StrAppend(&out, name, "_count", FormatLabels(entry->labels), " ", histogram.count(),
                        "\n");
        continue;
      }
      double value = entry->counter != nullptr ? entry->counter->value()
                     : entry->gauge != nullptr ? entry->gauge->value()
                                               : entry->callback();
      absl::StrAppend(&out, name, FormatLabels(entry->labels), " ", FormatValue(value), "\n");
    }
  }
  return out;
}

}  // namespace hub::metrics
