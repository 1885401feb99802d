// Structured JSON-lines logging for every service.
//
// One line per event on stderr: {"ts":"...","level":"info","service":"triage",
// "msg":"...", ...fields}. Messages are fixed strings chosen by the programmer and fields
// carry identifiers (case id, event id, topic, partition, offset, status code), never
// personal data: no names, addresses, phone numbers, dates of birth or free text from a
// report. Callers log what happened to a record, never what the record said.
//
// Thread-safe: a line is formatted off-lock and written under a mutex so lines never
// interleave. Init() is called once in main before any other thread starts.
#ifndef HUB_SERVICES_COMMON_LOG_LOG_H_
#define HUB_SERVICES_COMMON_LOG_LOG_H_

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <variant>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hub::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Parses "debug", "info", "warning" or "error"; anything else is kInfo.
Level ParseLevel(absl::string_view name);

// One key/value pair on a log line.
struct Field {
  Field(absl::string_view k, absl::string_view v) : key(k), value(std::string(v)) {}
  Field(absl::string_view k, const char* v) : key(k), value(std::string(v)) {}
  Field(absl::string_view k, const std::string& v) : key(k), value(v) {}
  Field(absl::string_view k, int64_t v) : key(k), value(v) {}
  Field(absl::string_view k, int v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(absl::string_view k, uint64_t v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(absl::string_view k, double v) : key(k), value(v) {}
  Field(absl::string_view k, bool v) : key(k), value(v) {}

  absl::string_view key;
  std::variant<std::string, int64_t, double, bool> value;
};

// Sets the service name on every line, the minimum level and where lines go (stderr by
// default; tests pass a stringstream).
void Init(absl::string_view service, Level min_level, std::ostream* sink = nullptr);

// Writes one line if `level` is at or above the minimum.
void Log(Level level, absl::string_view message, std::initializer_list<Field> fields = {});

inline void Debug(absl::string_view message, std::initializer_list<Field> fields = {}) {
  Log(Level::kDebug, message, fields);
}
inline void Info(absl::string_view message, std::initializer_list<Field> fields = {}) {
  Log(Level::kInfo, message, fields);
}
inline void Warn(absl::string_view message, std::initializer_list<Field> fields = {}) {
  Log(Level::kWarning, message, fields);
}
inline void Error(absl::string_view message, std::initializer_list<Field> fields = {}) {
  Log(Level::kError, message, fields);
}

// Lets through at most `per_interval` events per `interval`, for logs inside loops (a
// consumer retrying a record must not write thousands of identical lines). Thread-safe.
class RateLimiter {
 public:
  RateLimiter(int per_interval, absl::Duration interval);
  // True if this event may be logged. Counts the ones that may not.
  bool Allow();
  // Events suppressed since the last allowed one; reset by Allow() returning true.
  uint64_t suppressed() const { return suppressed_.load(); }

 private:
  const int per_interval_;
  const int64_t interval_ns_;
  std::atomic<int64_t> window_start_ns_{0};
  std::atomic<int> count_{0};
  std::atomic<uint64_t> suppressed_{0};
};

}  // namespace hub::log

#endif  // HUB_SERVICES_COMMON_LOG_LOG_H_
