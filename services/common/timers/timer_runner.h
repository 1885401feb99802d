// Fires durable timers: a thread that, every poll interval, reads the hub's clock, claims the
// timers due by then from a TimerStore and calls a handler for each.
//
// The handler's OK completes the timer (it is deleted); an error puts it back, due again
// after a backoff that doubles with each attempt (initial_backoff, 2x, 4x, ... up to
// max_backoff). The runner keeps nothing in memory that a restart would lose: everything is
// in Redis, so a runner created after a crash finds every timer, and one whose predecessor
// crashed mid-handler fires that timer again once the claim's lease expires.
//
// Contract for handlers (see timer_store.h): firing is at least once, so a handler must be
// idempotent; it must finish well within `lease`, or another runner may fire the same timer
// in parallel; a timer whose effect can never succeed should be logged and answered with OK,
// or it is retried forever. Any number of runners (threads or processes) may share a store:
// each due timer is claimed by one of them at a time.
//
// Time: due times and leases are on the injected clock (a file clock moves them in tests);
// the poll interval is real time. Lifecycle: Create, Start, then Stop (or destroy), which
// wakes the thread and joins it after the handler in progress, if any, returns. RunOnce
// polls once on the caller's thread, for tests and tools; do not call it while started.
// Thread-safe: Start, Stop and the counters may be called from any thread.
#ifndef HUB_SERVICES_COMMON_TIMERS_TIMER_RUNNER_H_
#define HUB_SERVICES_COMMON_TIMERS_TIMER_RUNNER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

#include "services/common/clock/clock.h"
#include "services/common/timers/timer_store.h"

namespace hub::timers {

struct TimerRunnerConfig {
  // Who holds the claims (an instance id: host, pod or process name); ValidateTimerId rules.
  std::string owner;
  absl::Duration poll_interval = absl::Milliseconds(200);
  // How long a claim lasts before another runner may fire the timer again.
  absl::Duration lease = absl::Seconds(30);
  // Timers claimed per poll at most; more due timers are taken on the next poll at once.
  int batch_size = 100;
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Minutes(10);
};

// kInvalidArgument naming the field: an invalid owner, a duration that is not positive and
// finite, batch_size outside 1..kMaxDueLimit, or max_backoff below initial_backoff.
absl::Status ValidateTimerRunnerConfig(const TimerRunnerConfig& config);

// "<service>-<host>-<pid>" with anything ValidateTimerId would refuse replaced by '-': a
// claim owner that names this process.
std::string ProcessTimerOwner(absl::string_view service);

// How long to wait before firing again a timer whose attempt number `attempts` (1-based)
// failed: initial * 2^(attempts - 1), at most max_backoff.
absl::Duration RetryBackoff(const TimerRunnerConfig& config, int64_t attempts);

// Runs a timer's effect; see the contract above.
using TimerHandler = std::function<absl::Status(const Timer&)>;

class TimerRunner {
 public:
  struct Counters {
    uint64_t fired = 0;        // Handler returned OK.
    uint64_t failed = 0;       // Handler returned an error; retried later.
    uint64_t lost = 0;         // Complete or Retry found the claim gone (lease lost, cancelled).
    uint64_t poll_errors = 0;  // Redis calls that failed; the poll is tried again.
  };

  // Validates `config`. `store` and `clock` must outlive the runner.
  static absl::StatusOr<std::unique_ptr<TimerRunner>> Create(TimerStore* store,
                                                             const clock::Clock* clock,
                                                             TimerHandler handler,
                                                             TimerRunnerConfig config);
  ~TimerRunner();
  TimerRunner(const TimerRunner&) = delete;
  TimerRunner& operator=(const TimerRunner&) = delete;

  // Starts the polling thread (once; later calls do nothing).
  void Start();
  // Stops polling and joins the thread. Idempotent.
  void Stop();

  // Claims and handles the timers due now, once. Returns how many were handled (OK or not);
  // an error when Redis could not be read.
  absl::StatusOr<int> RunOnce();

  Counters counters() const;

 private:
  TimerRunner(TimerStore* store, const clock::Clock* clock, TimerHandler handler,
              TimerRunnerConfig config);
  void Loop();
  // Runs the handler for one claimed timer and ends the claim.
  void Handle(const Timer& timer);

  TimerStore* const store_;
  const clock::Clock* const clock_;
  const TimerHandler handler_;
  const TimerRunnerConfig config_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Start and Stop hold it: the thread is started once and joined once.
  absl::Mutex start_mu_;
  bool started_ ABSL_GUARDED_BY(start_mu_) = false;
  std::thread thread_ ABSL_GUARDED_BY(start_mu_);

  std::atomic<uint64_t> fired_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> lost_{0};
  std::atomic<uint64_t> poll_errors_{0};
};

}  // namespace hub::timers

#endif  // HUB_SERVICES_COMMON_TIMERS_TIMER_RUNNER_H_
