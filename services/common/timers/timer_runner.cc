#include "services/common/timers/timer_runner.h"

#include <unistd.h>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

#include "services/common/log/log.h"
#include "services/common/status/status_macros.h"

namespace hub::timers {

std::string ProcessTimerOwner(absl::string_view service) {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) {
    host[0] = '\0';
  }
  std::string owner = absl::StrCat(service, "-", host, "-", getpid());
  for (char& c : owner) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' &&
        c != ':') {
      c = '-';
    }
  }
  return owner;
}

namespace {

absl::Status ValidatePositive(absl::string_view field, absl::Duration duration) {
  if (duration <= absl::ZeroDuration() || duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be positive and finite, got ", absl::FormatDuration(duration)));
  }
  return absl::OkStatus();
}

// Shared by every runner in the process: a Redis outage must not flood the log.
log::RateLimiter& ErrorLogLimiter() {
  static auto* limiter = new log::RateLimiter(10, absl::Minutes(1));
  return *limiter;
}

void LogError(absl::string_view message, const absl::Status& status, absl::string_view timer_id) {
  if (ErrorLogLimiter().Allow()) {
    log::Error(message, {{"timer_id", timer_id},
                         {"code", absl::StatusCodeToString(status.code())},
                         {"error", status.message()}});
  }
}

}  // namespace

absl::Status ValidateTimerRunnerConfig(const TimerRunnerConfig& config) {
  HUB_RETURN_IF_ERROR(ValidateTimerId("owner", config.owner));
  HUB_RETURN_IF_ERROR(ValidatePositive("poll_interval", config.poll_interval));
  HUB_RETURN_IF_ERROR(ValidatePositive("lease", config.lease));
  HUB_RETURN_IF_ERROR(ValidatePositive("initial_backoff", config.initial_backoff));
  HUB_RETURN_IF_ERROR(ValidatePositive("max_backoff", config.max_backoff));
  if (config.batch_size < 1 || config.batch_size > kMaxDueLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_size: must be 1 to ", kMaxDueLimit, ", got ", config.batch_size));
  }
  if (config.max_backoff < config.initial_backoff) {
    return absl::InvalidArgumentError("max_backoff: must not be below initial_backoff");
  }
  return absl::OkStatus();
}

absl::Duration RetryBackoff(const TimerRunnerConfig& config, int64_t attempts) {
  absl::Duration backoff = config.initial_backoff;
  for (int64_t i = 1; i < attempts && backoff < config.max_backoff; ++i) {
    backoff *= 2;
  }
  return std::min(backoff, config.max_backoff);
}

absl::StatusOr<std::unique_ptr<TimerRunner>> TimerRunner::Create(TimerStore* store,
                                                                 const clock::Clock* clock,
                                                                 TimerHandler handler,
                                                                 TimerRunnerConfig config) {
  HUB_RETURN_IF_ERROR(ValidateTimerRunnerConfig(config));
  if (store == nullptr || clock == nullptr || !handler) {
    return absl::InvalidArgumentError("timer runner: store, clock and handler are required");
  }
  return std::unique_ptr<TimerRunner>(
      new TimerRunner(store, clock, std::move(handler), std::move(config)));
}

TimerRunner::TimerRunner(TimerStore* store, const clock::Clock* clock, TimerHandler handler,
                         TimerRunnerConfig config)
    : store_(store), clock_(clock), handler_(std::move(handler)), config_(std::move(config)) {}

TimerRunner::~TimerRunner() { Stop(); }

void TimerRunner::Start() {
  absl::MutexLock start_lock(&start_mu_);
  if (started_) {
    return;
  }
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void TimerRunner::Stop() {
  absl::MutexLock start_lock(&start_mu_);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

void TimerRunner::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        return;
      }
    }
    absl::StatusOr<int> handled = RunOnce();
    if (!handled.ok()) {
      poll_errors_.fetch_add(1);
      LogError("timer poll failed", handled.status(), "");
    }
    // A full batch means more may be due: poll again at once.
    const bool more = handled.ok() && *handled >= config_.batch_size;
    absl::MutexLock lock(&mu_);
    if (!more) {
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), config_.poll_interval);
    }
    if (stopping_) {
      return;
    }
  }
}

absl::StatusOr<int> TimerRunner::RunOnce() {
  const absl::Time now = clock_->Now();
  HUB_ASSIGN_OR_RETURN(std::vector<Timer> due, store_->Due(now, config_.batch_size));
  int handled = 0;
  for (const Timer& candidate : due) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        break;
      }
    }
    // Each claim reads the clock afresh: a handler may have run for a while.
    absl::StatusOr<std::optional<Timer>> claimed =
        store_->Claim(candidate.id, config_.owner, clock_->Now(), config_.lease);
    if (!claimed.ok()) {
      poll_errors_.fetch_add(1);
      LogError("timer claim failed", claimed.status(), candidate.id);
      continue;
    }
    if (!claimed->has_value()) {
      continue;  // Another runner has it, or it was cancelled or moved.
    }
    Handle(**claimed);
    ++handled;
  }
  return handled;
}

void TimerRunner::Handle(const Timer& timer) {
  const absl::Status status = handler_(timer);
  absl::StatusOr<bool> ended;
  if (status.ok()) {
    ended = store_->Complete(timer.id, timer.claim);
  } else {
    LogError("timer handler failed", status, timer.id);
    ended =
        store_->Retry(timer.id, timer.claim, clock_->Now() + RetryBackoff(config_, timer.attempts));
  }
  // Counted once the claim has ended, so a reader of the counters sees Redis up to date.
  (status.ok() ? fired_ : failed_).fetch_add(1);
  if (!ended.ok()) {
    // The claim stays; the timer fires again when its lease expires.
    poll_errors_.fetch_add(1);
    LogError("timer end of claim failed", ended.status(), timer.id);
  } else if (!*ended) {
    lost_.fetch_add(1);
  }
}

TimerRunner::Counters TimerRunner::counters() const {
  Counters counters;
  counters.fired = fired_.load();
  counters.failed = failed_.load();
  counters.lost = lost_.load();
  counters.poll_errors = poll_errors_.load();
  return counters;
}

}  // namespace hub::timers
