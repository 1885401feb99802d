// Durable timers against a real Redis, with time driven through a file clock (the hub's
// controllable clock): timers fire when the clock passes their due time and not before, a
// cancelled timer never fires, scheduling again updates, timers survive a runner's restart,
// a crashed or hung instance's claim is fired again once its lease expires (and its late
// completion is ignored), a failed handler is retried after a backoff, and several runners
// on one store handle each timer once.
#include <atomic>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/clock/clock.h"
#include "services/common/status/status_matchers.h"
#include "services/common/timers/timer_runner.h"
#include "services/common/timers/timer_store.h"
#include "tests/support/test_env.h"

namespace hub::timers {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::IsOkAndHolds;
using ::testing::Eq;

const absl::Time kT0 = absl::FromUnixSeconds(1'767'600'000);  // 2026-01-05T08:00:00Z
constexpr int kShards = 8;
constexpr absl::Duration kLease = absl::Seconds(30);
// Real time for "nothing happened": many poll intervals and clock-file re-reads.
constexpr absl::Duration kQuiet = absl::Milliseconds(300);

// Waits in real time until `done` holds, at most 20 s.
bool WaitFor(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    if (done()) {
      return true;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  return done();
}

// Counts firings per timer id.
class Recorder {
 public:
  absl::Status Record(const Timer& timer) {
    absl::MutexLock lock(&mu_);
    ++fired_[timer.id];
    last_[timer.id] = timer;
    return absl::OkStatus();
  }
  int Fired(const std::string& id) {
    absl::MutexLock lock(&mu_);
    auto it = fired_.find(id);
    return it == fired_.end() ? 0 : it->second;
  }
  std::optional<Timer> Last(const std::string& id) {
    absl::MutexLock lock(&mu_);
    auto it = last_.find(id);
    if (it == last_.end()) {
      return std::nullopt;
    }
    return it->second;
  }
  TimerHandler Handler() {
    return [this](const Timer& timer) { return Record(timer); };
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, int> fired_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Timer> last_ ABSL_GUARDED_BY(mu_);
};

class TimersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ns_ = hub::testing::UniqueName("timers");
    for (char& c : ns_) {
      if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != ':' && c != '.') {
        c = '-';
      }
    }
    clock_path_ = absl::StrCat(::testing::TempDir(), "/", ns_, ".clock");
    SetClock(kT0);
    ASSERT_OK_AND_ASSIGN(clock_, clock::CreateClock(absl::StrCat("file:", clock_path_)));
    ASSERT_OK_AND_ASSIGN(redis_, Connect());
    ASSERT_OK_AND_ASSIGN(store_, TimerStore::Create(redis_.get(), ns_, kShards));
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove(clock_path_, ignored);
  }

  static absl::StatusOr<std::unique_ptr<redis::RedisClient>> Connect() {
    absl::StatusOr<hub::testing::HostPort> address = hub::testing::RedisFromEnv();
    if (!address.ok()) {
      return address.status();
    }
    redis::RedisConfig config;
    config.host = address->host;
    config.port = address->port;
    config.command_timeout = absl::Seconds(10);
    return redis::CreateRedisClient(config);
  }

  // Stands the file clock still at `now`, and waits until this process's clock sees it.
  // FileClock notices a change by the file's modification time, whose granularity is the
  // kernel's tick (a few ms): a second write within one tick goes unseen, so write again
  // until it is seen.
  void SetClock(absl::Time now) {
    clock::ClockSetting setting;
    setting.mode = clock::ClockSetting::Mode::kFrozen;
    setting.frozen_at = now;
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    do {
      ASSERT_THAT(clock::WriteClockFile(clock_path_, setting), IsOk());
      if (clock_ == nullptr) {
        return;
      }
      for (int i = 0; i < 20; ++i) {
        if (clock_->Now() == now) {
          return;
        }
        absl::SleepFor(absl::Milliseconds(5));
      }
    } while (absl::Now() < deadline);
    FAIL() << "the file clock never showed " << absl::FormatTime(now);
  }

  TimerRunnerConfig RunnerConfig(const std::string& owner) {
    TimerRunnerConfig config;
    config.owner = owner;
    config.poll_interval = absl::Milliseconds(10);
    config.lease = kLease;
    config.batch_size = 50;
    config.initial_backoff = absl::Seconds(1);
    config.max_backoff = absl::Minutes(1);
    return config;
  }

  std::unique_ptr<TimerRunner> StartRunner(TimerStore* store, TimerHandler handler,
                                           const std::string& owner) {
    absl::StatusOr<std::unique_ptr<TimerRunner>> runner =
        TimerRunner::Create(store, clock_.get(), std::move(handler), RunnerConfig(owner));
    EXPECT_THAT(runner, IsOk());
    if (!runner.ok()) {
      return nullptr;
    }
    (*runner)->Start();
    return *std::move(runner);
  }

  std::string ns_;
  std::string clock_path_;
  std::shared_ptr<clock::Clock> clock_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<TimerStore> store_;
};

TEST_F(TimersTest, FiresWhenTheClockPassesItsDueTimeAndNotBefore) {
  const absl::Time due = kT0 + absl::Hours(49);
  ASSERT_THAT(store_->Schedule("code-deadline:ref-1", "code-deadline", due, "ref-1"),
              IsOkAndHolds(true));
  Recorder recorder;
  std::unique_ptr<TimerRunner> runner = StartRunner(store_.get(), recorder.Handler(), "r0");
  ASSERT_NE(runner, nullptr);

  absl::SleepFor(kQuiet);
  EXPECT_EQ(recorder.Fired("code-deadline:ref-1"), 0);
  SetClock(due - absl::Milliseconds(1));
  absl::SleepFor(kQuiet);
  EXPECT_EQ(recorder.Fired("code-deadline:ref-1"), 0);

  SetClock(due);
  ASSERT_TRUE(WaitFor([&] { return recorder.Fired("code-deadline:ref-1") == 1; }));
  std::optional<Timer> fired = recorder.Last("code-deadline:ref-1");
  ASSERT_TRUE(fired.has_value());
  EXPECT_EQ(fired->kind, "code-deadline");
  EXPECT_EQ(fired->payload, "ref-1");
  EXPECT_EQ(fired->due_at, due);
  EXPECT_EQ(fired->attempts, 1);

  // Completed: gone from Redis and never fired again.
  ASSERT_TRUE(WaitFor([&] { return runner->counters().fired == 1; }));
  EXPECT_THAT(store_->Get("code-deadline:ref-1"), IsOkAndHolds(Eq(std::nullopt)));
  SetClock(due + absl::Hours(1));
  absl::SleepFor(kQuiet);
  EXPECT_EQ(recorder.Fired("code-deadline:ref-1"), 1);
}

TEST_F(TimersTest, PayloadBytesSurviveUnchanged) {
  const std::string payload{'a', '\0', 'b', '\xff', '\n', '{', '}'};
  ASSERT_THAT(store_->Schedule("offer:ref-2", "offer-timeout", kT0, payload), IsOk());
  Recorder recorder;
  std::unique_ptr<TimerRunner> runner = StartRunner(store_.get(), recorder.Handler(), "r0");
  ASSERT_TRUE(WaitFor([&] { return recorder.Fired("offer:ref-2") == 1; }));
  EXPECT_EQ(recorder.Last("offer:ref-2")->payload, payload);
}

TEST_F(TimersTest, CancelledBeforeDueNeverFires) {
  ASSERT_THAT(store_->Schedule("offer:cancelled", "offer-timeout", kT0 + absl::Hours(4), ""),
              IsOk());
  ASSERT_THAT(store_->Schedule("offer:kept", "offer-timeout", kT0 + absl::Hours(4), ""), IsOk());
  Recorder recorder;
  std::unique_ptr<TimerRunner> runner = StartRunner(store_.get(), recorder.Handler(), "r0");
  EXPECT_THAT(store_->Cancel("offer:cancelled"), IsOkAndHolds(true));
  EXPECT_THAT(store_->Cancel("offer:cancelled"), IsOkAndHolds(false));  // Idempotent.
  EXPECT_THAT(store_->Cancel("offer:never-scheduled"), IsOkAndHolds(false));

  SetClock(kT0 + absl::Hours(5));
  // The kept timer is the barrier: once it fired, the cancelled one had its chance.
  ASSERT_TRUE(WaitFor([&] { return recorder.Fired("offer:kept") == 1; }));
  absl::SleepFor(kQuiet);
  EXPECT_EQ(recorder.Fired("offer:cancelled"), 0);
  EXPECT_THAT(store_->Get("offer:cancelled"), IsOkAndHolds(Eq(std::nullopt)));
}

TEST_F(TimersTest, SchedulingAgainUpdatesDueTimeAndPayload) {
  ASSERT_THAT(store_->Schedule("offer:ref-3", "offer-timeout", kT0 + absl::Hours(1), "first"),
              IsOkAndHolds(true));
  ASSERT_THAT(store_->Schedule("offer:ref-3", "offer-timeout", kT0 + absl::Hours(3), "second"),
              IsOkAndHolds(false));
  ASSERT_THAT(store_->Schedule("offer:ref-3", "offer-timeout", kT0 + absl::Hours(3), "second"),
              IsOkAndHolds(false));
  Recorder recorder;
  std::unique_ptr<TimerRunner> runner = StartRunner(store_.get(), recorder.Handler(), "r0");

  SetClock(kT0 + absl::Hours(2));  // Past the first due time only.
  absl::SleepFor(kQuiet);
  EXPECT_EQ(recorder.Fired("offer:ref-3"), 0);

  SetClock(kT0 + absl::Hours(3));
  ASSERT_TRUE(WaitFor([&] { return recorder.Fired("offer:ref-3") == 1; }));
  EXPECT_EQ(recorder.Last("offer:ref-3")->payload, "second");
  absl::SleepFor(kQuiet);
  EXPECT_EQ(recorder.Fired("offer:ref-3"), 1);
}

TEST_F(TimersTest, ATimerSurvivesARestartAndFiresOnce) {
  ASSERT_THAT(
      store_->Schedule("code-deadline:ref-4", "code-deadline", kT0 + absl::Hours(49), "ref-4"),
      IsOk());
  Recorder before;
  {
    std::unique_ptr<TimerRunner> runner = StartRunner(store_.get(), before.Handler(), "r0");
    absl::SleepFor(kQuiet);
  }  // The instance stops before the deadline; nothing of it remains.
  store_.reset();
  redis_.reset();

  // A new instance: its own connection, store and runner.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<redis::RedisClient> redis, Connect());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TimerStore> store,
                       TimerStore::Create(redis.get(), ns_, kShards));
  Recorder after;
  std::unique_ptr<TimerRunner> runner = StartRunner(store.get(), after.Handler(), "r1");
  SetClock(kT0 + absl::Hours(50));
  ASSERT_TRUE(WaitFor([&] { return after.Fired("code-deadline:ref-4") == 1; }));
  absl::SleepFor(kQuiet);
  EXPECT_EQ(after.Fired("code-deadline:ref-4"), 1);
  EXPECT_EQ(before.Fired("code-deadline:ref-4"), 0);
}

TEST_F(TimersTest, ACrashedInstancesClaimFiresAgainAfterItsLease) {
  ASSERT_THAT(store_->Schedule("offer:ref-5", "offer-timeout", kT0, "ref-5"), IsOk());
  // What an instance that crashed in its handler leaves behind: a claim never completed.
  ASSERT_OK_AND_ASSIGN(std::optional<Timer> crashed,
                       store_->Claim("offer:ref-5", "crashed", kT0, kLease));
  ASSERT_TRUE(crashed.has_value());
  EXPECT_EQ(crashed->attempts, 1);

  Recorder recorder;
  std::unique_ptr<TimerRunner> runner = StartRunner(store_.get(), recorder.Handler(), "r1");
  SetClock(kT0 + kLease - absl::Milliseconds(1));
  absl::SleepFor(kQuiet);
  EXPECT_EQ(recorder.Fired("offer:ref-5"), 0);

  SetClock(kT0 + kLease);
  ASSERT_TRUE(WaitFor([&] { return recorder.Fired("offer:ref-5") == 1; }));
  EXPECT_EQ(recorder.Last("offer:ref-5")->attempts, 2);
  ASSERT_TRUE(WaitFor([&] { return runner->counters().fired == 1; }));
  EXPECT_THAT(store_->Get("offer:ref-5"), IsOkAndHolds(Eq(std::nullopt)));
  // The crashed instance's claim is dead: completing it late changes nothing.
  EXPECT_THAT(store_->Complete("offer:ref-5", crashed->claim), IsOkAndHolds(false));
  absl::SleepFor(kQuiet);
  EXPECT_EQ(recorder.Fired("offer:ref-5"), 1);
}

TEST_F(TimersTest, AHungHandlerIsOvertakenAndItsLateCompletionIgnored) {
  ASSERT_THAT(store_->Schedule("offer:ref-6", "offer-timeout", kT0, "ref-6"), IsOk());
  absl::Notification entered;
  absl::Notification release;
  std::atomic<int> hung_calls{0};
  std::unique_ptr<TimerRunner> hung = StartRunner(
      store_.get(),
      [&](const Timer&) {
        hung_calls.fetch_add(1);
        entered.Notify();
        release.WaitForNotification();
        return absl::OkStatus();
      },
      "hung");
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(absl::Seconds(20)));

  Recorder recorder;
  std::unique_ptr<TimerRunner> successor =
      StartRunner(store_.get(), recorder.Handler(), "successor");
  absl::SleepFor(kQuiet);
  EXPECT_EQ(recorder.Fired("offer:ref-6"), 0);  // The lease still holds.

  SetClock(kT0 + kLease);
  ASSERT_TRUE(WaitFor([&] { return recorder.Fired("offer:ref-6") == 1; }));
  EXPECT_EQ(recorder.Last("offer:ref-6")->attempts, 2);
  ASSERT_TRUE(WaitFor([&] { return successor->counters().fired == 1; }));

  release.Notify();
  ASSERT_TRUE(WaitFor([&] { return hung->counters().lost == 1; }));
  hung.reset();
  EXPECT_EQ(hung_calls.load(), 1);
  EXPECT_THAT(store_->Get("offer:ref-6"), IsOkAndHolds(Eq(std::nullopt)));
}

TEST_F(TimersTest, AFailedHandlerIsRetriedAfterABackoff) {
  ASSERT_THAT(store_->Schedule("offer:ref-7", "offer-timeout", kT0, ""), IsOk());
  std::atomic<int> calls{0};
  std::atomic<int64_t> last_attempts{0};
  std::unique_ptr<TimerRunner> runner = StartRunner(
      store_.get(),
      [&](const Timer& timer) {
        last_attempts.store(timer.attempts);
        if (calls.fetch_add(1) == 0) {
          return absl::UnavailableError("kafka down");
        }
        return absl::OkStatus();
      },
      "r0");
  ASSERT_TRUE(WaitFor([&] { return runner->counters().failed == 1; }));
  ASSERT_OK_AND_ASSIGN(std::optional<Timer> stored, store_->Get("offer:ref-7"));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->due_at, kT0 + absl::Seconds(1));  // initial_backoff on the clock.
  EXPECT_EQ(stored->attempts, 1);
  absl::SleepFor(kQuiet);
  EXPECT_EQ(calls.load(), 1);  // The clock stands still: no retry yet.

  SetClock(kT0 + absl::Seconds(1));
  ASSERT_TRUE(WaitFor([&] { return runner->counters().fired == 1; }));
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(last_attempts.load(), 2);
  EXPECT_THAT(store_->Get("offer:ref-7"), IsOkAndHolds(Eq(std::nullopt)));
}

TEST_F(TimersTest, SchedulingAgainWhileHandledKeepsTheNewSchedule) {
  ASSERT_THAT(store_->Schedule("offer:ref-8", "offer-timeout", kT0, "old"), IsOk());
  ASSERT_OK_AND_ASSIGN(std::optional<Timer> claimed,
                       store_->Claim("offer:ref-8", "r0", kT0, kLease));
  ASSERT_TRUE(claimed.has_value());
  // Held: nobody else may claim it, and Due does not offer it.
  EXPECT_THAT(store_->Claim("offer:ref-8", "r1", kT0, kLease), IsOkAndHolds(Eq(std::nullopt)));
  ASSERT_OK_AND_ASSIGN(std::vector<Timer> due, store_->Due(kT0, 10));
  EXPECT_TRUE(due.empty());

  ASSERT_THAT(store_->Schedule("offer:ref-8", "offer-timeout", kT0 + absl::Hours(2), "new"),
              IsOkAndHolds(false));
  EXPECT_THAT(store_->Complete("offer:ref-8", claimed->claim), IsOkAndHolds(true));
  EXPECT_THAT(store_->Complete("offer:ref-8", claimed->claim), IsOkAndHolds(false));
  ASSERT_OK_AND_ASSIGN(std::optional<Timer> stored, store_->Get("offer:ref-8"));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->due_at, kT0 + absl::Hours(2));
  EXPECT_EQ(stored->payload, "new");
  EXPECT_EQ(stored->attempts, 0);
  EXPECT_THAT(store_->Claim("offer:ref-8", "r1", kT0 + absl::Hours(1), kLease),
              IsOkAndHolds(Eq(std::nullopt)));
  ASSERT_OK_AND_ASSIGN(std::optional<Timer> again,
                       store_->Claim("offer:ref-8", "r1", kT0 + absl::Hours(2), kLease));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->payload, "new");
  EXPECT_THAT(store_->Complete("offer:ref-8", again->claim), IsOkAndHolds(true));
  EXPECT_THAT(store_->Get("offer:ref-8"), IsOkAndHolds(Eq(std::nullopt)));
}

TEST_F(TimersTest, DueListsEarliestFirstUpToTheLimit) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_THAT(store_->Schedule(absl::StrCat("t", i), "k", kT0 + absl::Seconds(20 - i), ""),
                IsOk());
  }
  ASSERT_OK_AND_ASSIGN(std::vector<Timer> due, store_->Due(kT0 + absl::Seconds(10), 5));
  ASSERT_EQ(due.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(due[i].id, absl::StrCat("t", 19 - i));
    EXPECT_EQ(due[i].due_at, kT0 + absl::Seconds(1 + i));
  }
  ASSERT_OK_AND_ASSIGN(due, store_->Due(kT0 + absl::Seconds(10), 100));
  EXPECT_EQ(due.size(), 10u);
}

TEST_F(TimersTest, TwoRunnersHandleEachOfManyTimersOnce) {
  constexpr int kTimers = 500;
  for (int i = 0; i < kTimers; ++i) {
    ASSERT_THAT(store_->Schedule(absl::StrCat("offer:many-", i), "offer-timeout",
                                 kT0 + absl::Seconds(1 + i % 50), absl::StrCat(i)),
                IsOk());
  }
  std::vector<std::atomic<int>> fired(kTimers);
  std::atomic<int> total{0};
  std::atomic<int> bad_payloads{0};
  auto handler = [&](const Timer& timer) {
    int index = -1;
    if (!absl::SimpleAtoi(timer.payload, &index) || index < 0 || index >= kTimers) {
      bad_payloads.fetch_add(1);
      return absl::OkStatus();
    }
    fired[static_cast<size_t>(index)].fetch_add(1);
    total.fetch_add(1);
    return absl::OkStatus();
  };
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<redis::RedisClient> other_redis, Connect());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TimerStore> other_store,
                       TimerStore::Create(other_redis.get(), ns_, kShards));
  std::unique_ptr<TimerRunner> a = StartRunner(store_.get(), handler, "a");
  std::unique_ptr<TimerRunner> b = StartRunner(other_store.get(), handler, "b");

  const absl::Time start = absl::Now();
  SetClock(kT0 + absl::Minutes(5));
  ASSERT_TRUE(WaitFor([&] { return total.load() >= kTimers; })) << total.load();
  const absl::Duration took = absl::Now() - start;
  absl::SleepFor(kQuiet);
  a->Stop();
  b->Stop();

  EXPECT_EQ(total.load(), kTimers);
  EXPECT_EQ(bad_payloads.load(), 0);
  for (int i = 0; i < kTimers; ++i) {
    EXPECT_EQ(fired[static_cast<size_t>(i)].load(), 1) << "timer " << i;
  }
  const TimerRunner::Counters ca = a->counters();
  const TimerRunner::Counters cb = b->counters();
  EXPECT_EQ(ca.fired + cb.fired, uint64_t{kTimers});
  EXPECT_EQ(ca.lost + cb.lost, 0u);
  ASSERT_OK_AND_ASSIGN(std::vector<Timer> due, store_->Due(kT0 + absl::Hours(1), 100));
  EXPECT_TRUE(due.empty());
  std::cout << "[ metrics  ] " << kTimers << " timers by two runners in "
            << absl::FormatDuration(took) << " (a fired " << ca.fired << ", b fired " << cb.fired
            << ")\n";
}

}  // namespace
}  // namespace hub::timers
