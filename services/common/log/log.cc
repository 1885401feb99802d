#include "services/common/log/log.h"

#include <iostream>
#include <mutex>
#include <string>

#include "absl/time/clock.h"
#include "nlohmann/json.hpp"

namespace hub::log {
namespace {

struct LoggerState {
  std::mutex mu;
  std::string service = "hub";
  std::atomic<int> min_level{static_cast<int>(Level::kInfo)};
  std::ostream* sink = &std::cerr;
};

LoggerState& State() {
  static auto* state = new LoggerState();  // Never destroyed: threads may log at exit.
  return *state;
}

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

Level ParseLevel(absl::string_view name) {
  if (name == "debug") {
    return Level::kDebug;
  }
  if (name == "warning") {
    return Level::kWarning;
  }
  if (name == "error") {
    return Level::kError;
  }
  return Level::kInfo;
}

void Init(absl::string_view service, Level min_level, std::ostream* sink) {
  LoggerState& state = State();
  std::lock_guard<std::mutex> lock(state.mu);
  state.service = std::string(service);
  state.min_level = static_cast<int>(min_level);
  state.sink = sink != nullptr ? sink : &std::cerr;
}

void Log(Level level, absl::string_view message, std::initializer_list<Field> fields) {
  LoggerState& state = State();
  if (static_cast<int>(level) < state.min_level.load(std::memory_order_relaxed)) {
    return;
  }
  nlohmann::ordered_json line;
  line["ts"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone());
  line["level"] = LevelName(level);
  {
    std::lock_guard<std::mutex> lock(state.mu);
    line["service"] = state.service;
  }
  line["msg"] = message;
  for (const Field& field : fields) {
    std::string key(field.key);
    std::visit([&](const auto& value) { line[key] = value; }, field.value);
  }
  // Invalid UTF-8 is replaced rather than thrown on: a log line must never crash a service.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.push_back('\n');
  std::lock_guard<std::mutex> lock(state.mu);
  *state.sink << text;
  state.sink->flush();
}

RateLimiter::RateLimiter(int per_interval, absl::Duration interval)
    : per_interval_(per_interval), interval_ns_(absl::ToInt64Nanoseconds(interval)) {}

bool RateLimiter::Allow() {
  int64_t now = absl::GetCurrentTimeNanos();
  int64_t start = window_start_ns_.load();
  if (now - start >= interval_ns_ && window_start_ns_.compare_exchange_strong(start, now)) {
    count_ = 0;
  }
  if (count_.fetch_add(1) < per_interval_) {
    suppressed_ = 0;
    return true;
  }
  suppressed_.fetch_add(1);
  return false;
}

}  // namespace hub::log
