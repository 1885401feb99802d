#include "services/common/metrics/metrics.h"

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hub::metrics {
namespace {

using ::testing::HasSubstr;

TEST(RegistryTest, RendersCountersGaugesAndLabels) {
  Registry registry;
  Counter* ok = registry.AddCounter("hub_test_requests_total", "Requests.", {{"code", "OK"}});
  Counter* bad =
      registry.AddCounter("hub_test_requests_total", "Requests.", {{"code", "INVALID_ARGUMENT"}});
  Gauge* ready = registry.AddGauge("hub_test_ready", "1 when ready.");
  registry.AddCallbackGauge("hub_test_lag", "Lag.", [] { return 42.0; });
  ok->Increment();
  ok->Increment(2);
  bad->Increment();
  ready->Set(1);

  std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("# HELP hub_test_requests_total Requests.\n"
                              "# TYPE hub_test_requests_total counter\n"
                              "hub_test_requests_total{code=\"OK\"} 3\n"
                              "hub_test_requests_total{code=\"INVALID_ARGUMENT\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("hub_test_ready 1\n"));
  EXPECT_THAT(text, HasSubstr("hub_test_lag 42\n"));
  // One HELP line per family, however many label sets it has.
  EXPECT_EQ(text.find("# HELP hub_test_requests_total"),
            text.rfind("# HELP hub_test_requests_total"));
}

TEST(RegistryTest, RendersHistogramsCumulatively) {
  Registry registry;
  Histogram* latency =
      registry.AddHistogram("hub_test_seconds", "Latency.", {0.01, 0.1}, {{"stage", "triage"}});
  latency->Observe(0.005);
  latency->Observe(0.05);
  latency->Observe(3);
  std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("hub_test_seconds_bucket{stage=\"triage\",le=\"0.01\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("hub_test_seconds_bucket{stage=\"triage\",le=\"0.1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("hub_test_seconds_bucket{stage=\"triage\",le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("hub_test_seconds_count{stage=\"triage\"} 3\n"));
}

TEST(RegistryTest, EscapesLabelValues) {
  Registry registry;
  registry.AddGauge("hub_test_g", "G.", {{"reason", "a\"b\\c\nd"}});
  EXPECT_THAT(registry.Render(), HasSubstr("hub_test_g{reason=\"a\\\"b\\\\c\\nd\"} 0\n"));
}

TEST(CounterTest, IsExactUnderConcurrentIncrements) {
  Counter counter;
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&counter] {
      for (int i = 0; i < 10000; ++i) {
        counter.Increment();
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(counter.value(), 40000);
}

}  // namespace
}  // namespace hub::metrics
