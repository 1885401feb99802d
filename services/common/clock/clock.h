// The hub's clock: every service reads the time through a Clock, never absl::Now().
//
// Victims' Code deadlines run over working days, and timers fire hours or days after an
// event. Tests must move time forward across several processes without sleeping, so a
// service can be started with `--clock=file:PATH`: it then reads the time from PATH, a
// one-line file that a test (or `hubctl clock`) rewrites:
//   offset <duration>     real time shifted by the duration, e.g. "offset 49h30m"
//   frozen <RFC 3339>     time stands still at that instant, e.g. "frozen 2026-01-05T09:00:00Z"
// Every process pointed at the same file sees the same time. The file is re-read when
// its modification time changes (checked at most every 20 ms). A controlled clock is
// for tests and demos only; services log a warning and export a metric when using one.
//
// Implementations are thread-safe.
#ifndef HUB_SERVICES_COMMON_CLOCK_CLOCK_H_
#define HUB_SERVICES_COMMON_CLOCK_CLOCK_H_

#include <array>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace hub::clock {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  // True for a clock that does not follow real time (file or fake).
  virtual bool IsControlled() const = 0;
};

// The real time. Never destroyed.
Clock& SystemClock();

// A clock a single-process test sets directly.
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override;
  bool IsControlled() const override { return true; }
  void Set(absl::Time now);
  void Advance(absl::Duration by);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

// What a clock file says.
struct ClockSetting {
  enum class Mode { kOffset, kFrozen };
  Mode mode = Mode::kOffset;
  absl::Duration offset;
  absl::Time frozen_at;
};

// Parses one clock-file line; kInvalidArgument saying what is wrong.
absl::StatusOr<ClockSetting> ParseClockSetting(absl::string_view text);
// The line that ParseClockSetting reads back.
std::string FormatClockSetting(const ClockSetting& setting);
// Writes `setting` to `path` atomically (write to a temporary file, then rename), so a
// reader never sees half a line.
absl::Status WriteClockFile(const std::string& path, const ClockSetting& setting);

// A clock read from a file that tests control (see the file comment).
class FileClock : public Clock {
 public:
  // Fails if the file exists but does not parse. A missing file means real time.
  static absl::StatusOr<std::unique_ptr<FileClock>> Create(std::string path);
  absl::Time Now() const override;
  bool IsControlled() const override { return true; }

 private:
  explicit FileClock(std::string path) : path_(std::move(path)) {}
  // Re-reads the file if it changed; keeps the last good setting if it no longer parses.
  void MaybeReload() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  mutable absl::Mutex mu_;
  mutable ClockSetting setting_ ABSL_GUARDED_BY(mu_);
  // Modification time, inode and size of the file as last loaded.
  mutable std::array<int64_t, 3> loaded_stamp_ ABSL_GUARDED_BY(mu_) = {-1, -1, -1};
  mutable absl::Time last_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// "system" → SystemClock (not owned: the returned pointer wraps it); "file:PATH" → FileClock.
absl::StatusOr<std::shared_ptr<Clock>> CreateClock(absl::string_view spec);

}  // namespace hub::clock

#endif  // HUB_SERVICES_COMMON_CLOCK_CLOCK_H_
