#include "services/common/workers/worker_pool.h"

#include <atomic>
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace hub::workers {
namespace {

TEST(WorkerPoolTest, RunsEverythingScheduledBeforeItIsDestroyed) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(3);
    for (int i = 0; i < 1000; ++i) {
      pool.Schedule([&ran] { ran.fetch_add(1); });
    }
  }
  EXPECT_EQ(ran.load(), 1000);
}

TEST(WorkerPoolTest, RunsWorkOffTheSchedulingThread) {
  WorkerPool pool(2);
  absl::Notification done;
  std::thread::id ran_on;
  pool.Schedule([&] {
    ran_on = std::this_thread::get_id();
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(WorkerPoolTest, UsesSeveralThreads) {
  WorkerPool pool(2);
  absl::Mutex mu;
  std::set<std::thread::id> threads;
  std::atomic<int> waiting{0};
  absl::Notification both;
  for (int i = 0; i < 2; ++i) {
    pool.Schedule([&] {
      {
        absl::MutexLock lock(&mu);
        threads.insert(std::this_thread::get_id());
      }
      if (waiting.fetch_add(1) == 1) {
        both.Notify();
      }
      // Each task waits for the other: only possible if they run at once.
      both.WaitForNotification();
    });
  }
  both.WaitForNotification();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(threads.size(), 2u);
}

TEST(WorkerPoolTest, ExecutorSchedulesOnThePool) {
  WorkerPool pool(1);
  absl::Notification done;
  pool.Executor()([&done] { done.Notify(); });
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

}  // namespace
}  // namespace hub::workers
