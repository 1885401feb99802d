#include "services/common/clock/clock.h"

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include <sys/stat.h>

#include "services/common/status/status_macros.h"

namespace hub::clock {
namespace {

class RealClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  bool IsControlled() const override { return false; }
};

constexpr absl::Duration kRecheckInterval = absl::Milliseconds(20);

// What identifies one version of the file: modification time, inode and size. The
// modification time alone is not enough: it moves in steps of a few milliseconds on some
// filesystems, so two writes within one step look the same; WriteClockFile renames a new
// file into place, so the inode changes on every write.
std::array<int64_t, 3> FileStamp(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    return {0, 0, 0};
  }
  return {static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec,
          static_cast<int64_t>(info.st_ino), static_cast<int64_t>(info.st_size)};
}

}  // namespace

Clock& SystemClock() {
  static auto* clock = new RealClock();
  return *clock;
}

absl::Time FakeClock::Now() const {
  absl::MutexLock lock(&mu_);
  return now_;
}

void FakeClock::Set(absl::Time now) {
  absl::MutexLock lock(&mu_);
  now_ = now;
}

void FakeClock::Advance(absl::Duration by) {
  absl::MutexLock lock(&mu_);
  now_ += by;
}

absl::StatusOr<ClockSetting> ParseClockSetting(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  ClockSetting setting;
  if (absl::ConsumePrefix(&text, "offset ")) {
    setting.mode = ClockSetting::Mode::kOffset;
    if (!absl::ParseDuration(absl::StripAsciiWhitespace(text), &setting.offset)) {
      return absl::InvalidArgumentError(
          absl::StrCat("clock file: '", text, "' is not a duration (e.g. 49h30m)"));
    }
    return setting;
  }
  if (absl::ConsumePrefix(&text, "frozen ")) {
    setting.mode = ClockSetting::Mode::kFrozen;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, absl::StripAsciiWhitespace(text), &setting.frozen_at,
                         &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("clock file: '", text, "' is not an RFC 3339 time: ", error));
    }
    return setting;
  }
  return absl::InvalidArgumentError(
      "clock file: expected 'offset <duration>' or 'frozen <RFC 3339 time>'");
}

std::string FormatClockSetting(const ClockSetting& setting) {
  if (setting.mode == ClockSetting::Mode::kFrozen) {
    return absl::StrCat(
        "frozen ", absl::FormatTime(absl::RFC3339_full, setting.frozen_at, absl::UTCTimeZone()));
  }
  return absl::StrCat("offset ", absl::FormatDuration(setting.offset));
}

absl::Status WriteClockFile(const std::string& path, const ClockSetting& setting) {
  std::string temp = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(temp, std::ios::trunc);
    out << FormatClockSetting(setting) << "\n";
    if (!out.good()) {
      return absl::UnavailableError(absl::StrCat("cannot write clock file ", temp));
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot rename clock file into ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FileClock>> FileClock::Create(std::string path) {
  std::unique_ptr<FileClock> clock(new FileClock(std::move(path)));
  std::ifstream in(clock->path_);
  if (in.good()) {
    std::stringstream text;
    text << in.rdbuf();
    HUB_ASSIGN_OR_RETURN(ClockSetting setting, ParseClockSetting(text.str()));
    absl::MutexLock lock(&clock->mu_);
    clock->setting_ = setting;
    clock->loaded_stamp_ = FileStamp(clock->path_);
  }
  return clock;
}

void FileClock::MaybeReload() const {
  absl::Time real_now = absl::Now();
  if (real_now - last_check_ < kRecheckInterval) {
    return;
  }
  last_check_ = real_now;
  const std::array<int64_t, 3> stamp = FileStamp(path_);
  if (stamp == loaded_stamp_) {
    return;
  }
  std::ifstream in(path_);
  if (!in.good()) {
    setting_ = ClockSetting{};  // File removed: back to real time.
    loaded_stamp_ = stamp;
    return;
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<ClockSetting> parsed = ParseClockSetting(text.str());
  if (parsed.ok()) {
    setting_ = *parsed;
    loaded_stamp_ = stamp;
  }
}

absl::Time FileClock::Now() const {
  absl::MutexLock lock(&mu_);
  MaybeReload();
  if (setting_.mode == ClockSetting::Mode::kFrozen) {
    return setting_.frozen_at;
  }
  return absl::Now() + setting_.offset;
}

absl::StatusOr<std::shared_ptr<Clock>> CreateClock(absl::string_view spec) {
  if (spec == "system") {
    return std::shared_ptr<Clock>(&SystemClock(), [](Clock*) {});
  }
  if (absl::ConsumePrefix(&spec, "file:") && !spec.empty()) {
    HUB_ASSIGN_OR_RETURN(std::unique_ptr<FileClock> clock, FileClock::Create(std::string(spec)));
    return std::shared_ptr<Clock>(std::move(clock));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("clock '", spec, "': must be 'system' or 'file:PATH'"));
}

}  // namespace hub::clock
