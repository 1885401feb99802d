// A fixed set of threads that run handed-over work in the order it was handed over.
//
// Kafka's producer runs every delivery callback on one thread of its own; work that waits
// on Redis or does real computation must not run there, or one slow step holds back every
// other delivery. Callbacks hand such work to a WorkerPool instead.
//
// Thread-safe. The destructor runs everything already scheduled, then joins the threads;
// work scheduled after destruction has begun runs inline on the caller's thread, so nothing
// handed over is ever dropped.
#ifndef HUB_SERVICES_COMMON_WORKERS_WORKER_POOL_H_
#define HUB_SERVICES_COMMON_WORKERS_WORKER_POOL_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace hub::workers {

class WorkerPool {
 public:
  // `threads` is at least 1.
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Schedule(std::function<void()> work);

  // Schedule as a plain function, for components that take an executor.
  std::function<void(std::function<void()>)> Executor();

 private:
  void Run();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace hub::workers

#endif  // HUB_SERVICES_COMMON_WORKERS_WORKER_POOL_H_
