// CapacityStore against a real Redis: under many concurrent callers a provider of capacity
// K holds exactly K active referrals and never more, the rest wait in priority-then-age
// order, a freed place goes to the head of the list exactly once, and every call is
// idempotent under concurrency.
#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"
#include "services/routing/lifecycle/capacity.h"
#include "tests/support/test_env.h"

namespace hub::routing::lifecycle {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Optional;

constexpr int64_t kCapacity = 7;
constexpr int kThreads = 16;
constexpr int kPerThread = 50;
constexpr int64_t kReferrals = int64_t{kThreads} * kPerThread;
constexpr char kProvider[] = "idva-cambs";

const absl::Time kT0 = absl::FromUnixMillis(1'760'000'000'000);

class CapacityStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(hub::testing::HostPort address, hub::testing::RedisFromEnv());
    redis::RedisConfig config;
    config.host = address.host;
    config.port = address.port;
    config.pool_size = kThreads + 2;
    config.command_timeout = absl::Seconds(10);
    ASSERT_OK_AND_ASSIGN(redis_, redis::CreateRedisClient(config));
    // A namespace per test keeps every provider's keys our own.
    ns_ = absl::StrCat("t", std::hash<std::string>{}(hub::testing::UniqueName("cap")) % 1000000000);
    store_ = std::make_unique<CapacityStore>(redis_.get(), ns_);
  }

  int64_t Active() {
    absl::StatusOr<int64_t> active = store_->Active(kProvider);
    EXPECT_THAT(active, IsOk());
    return active.value_or(-1);
  }
  int64_t Waiting() {
    absl::StatusOr<int64_t> waiting = store_->Waiting(kProvider);
    EXPECT_THAT(waiting, IsOk());
    return waiting.value_or(-1);
  }

  std::string ns_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<CapacityStore> store_;
};

// Samples Active() on its own thread until stopped, remembering the largest value seen.
class ActiveSampler {
 public:
  explicit ActiveSampler(CapacityStore* store)
      : thread_([this, store] {
          while (!stop_.load()) {
            absl::StatusOr<int64_t> active = store->Active(kProvider);
            if (!active.ok()) {
              errors_.fetch_add(1);
              continue;
            }
            samples_.fetch_add(1);
            int64_t seen = max_seen_.load();
            while (*active > seen && !max_seen_.compare_exchange_weak(seen, *active)) {
            }
          }
        }) {}
  ~ActiveSampler() { Stop(); }

  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  int64_t max_seen() const { return max_seen_.load(); }
  int64_t samples() const { return samples_.load(); }
  int64_t errors() const { return errors_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> max_seen_{0};
  std::atomic<int64_t> samples_{0};
  std::atomic<int64_t> errors_{0};
  std::thread thread_;
};

TEST_F(CapacityStoreTest, ConcurrentReservesTakeExactlyKPlaces) {
  ActiveSampler sampler(store_.get());
  std::atomic<int> reserved{0};
  std::atomic<int> enqueued{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = absl::StrCat("r", t, "-", i);
        absl::StatusOr<bool> got = store_->Reserve(kProvider, id, kCapacity);
        if (got.ok() && *got) {
          reserved.fetch_add(1);
          continue;
        }
        if (got.ok() && store_->Enqueue(kProvider, id, i % 4, kT0 + absl::Milliseconds(i)).ok()) {
          enqueued.fetch_add(1);
          continue;
        }
        errors.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  sampler.Stop();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(reserved.load(), kCapacity);
  EXPECT_EQ(enqueued.load(), kReferrals - kCapacity);
  EXPECT_EQ(Active(), kCapacity);
  EXPECT_EQ(Waiting(), kReferrals - kCapacity);
  EXPECT_LE(sampler.max_seen(), kCapacity);
  EXPECT_GT(sampler.samples(), 0);
  EXPECT_EQ(sampler.errors(), 0);
}

// Referrals arrive (Admit) and finish (Release) on many threads at once; every referral
// that gets a place, at once or by promotion, is later released. A checker thread samples
// the active count throughout. At the end every referral held a place exactly once: no place
// was lost, none was used twice, and the provider never held more than K.
TEST_F(CapacityStoreTest, InterleavedAdmitsAndReleasesNeverExceedK) {
  ActiveSampler sampler(store_.get());
  absl::Mutex mu;
  std::deque<std::string> to_release;      // guarded by mu
  std::map<std::string, int> activations;  // guarded by mu
  std::atomic<int> errors{0};
  std::atomic<int> admitted_total{0};

  auto activated = [&](const std::string& id) {
    absl::MutexLock lock(&mu);
    ++activations[id];
    to_release.push_back(id);
  };
  auto release_one = [&]() -> bool {
    std::string id;
    {
      absl::MutexLock lock(&mu);
      if (to_release.empty()) {
        return false;
      }
      id = to_release.front();
      to_release.pop_front();
    }
    absl::StatusOr<Released> released = store_->Release(kProvider, id, kCapacity);
    if (!released.ok() || !released->released) {
      errors.fetch_add(1);
      return true;
    }
    if (released->promoted.has_value()) {
      activated(*released->promoted);
    }
    return true;
  };

  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = absl::StrCat("r", t, "-", i);
        absl::StatusOr<Admission> admission =
            store_->Admit(kProvider, id, kCapacity, (t + i) % 5, kT0 + absl::Milliseconds(i));
        if (!admission.ok()) {
          errors.fetch_add(1);
          continue;
        }
        admitted_total.fetch_add(1);
        if (admission->reserved) {
          activated(id);
        }
        for (const std::string& other : admission->promoted) {
          activated(other);
        }
        // Finish some work now and then, so releases interleave with arrivals.
        if (i % 3 == 0) {
          release_one();
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  // Drain: release everyone still holding a place; each release promotes the next.
  while (release_one()) {
  }
  sampler.Stop();

  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(admitted_total.load(), kReferrals);
  EXPECT_LE(sampler.max_seen(), kCapacity);
  EXPECT_EQ(sampler.errors(), 0);
  EXPECT_EQ(Active(), 0);
  EXPECT_EQ(Waiting(), 0);
  absl::MutexLock lock(&mu);
  EXPECT_EQ(activations.size(), static_cast<size_t>(kReferrals));
  for (const auto& [id, count] : activations) {
    EXPECT_EQ(count, 1) << id;
  }
}

TEST_F(CapacityStoreTest, WaitingListOrdersByPriorityThenAge) {
  // Provider full with nobody able to leave.
  ASSERT_OK_AND_ASSIGN(bool full, store_->Reserve(kProvider, "holder", 1));
  ASSERT_TRUE(full);
  ASSERT_OK_AND_ASSIGN(int64_t p1, store_->Enqueue(kProvider, "low-new", 1, kT0 + absl::Hours(2)));
  EXPECT_EQ(p1, 1);
  ASSERT_OK_AND_ASSIGN(int64_t p2, store_->Enqueue(kProvider, "high-new", 5, kT0 + absl::Hours(3)));
  EXPECT_EQ(p2, 1);
  ASSERT_OK_AND_ASSIGN(int64_t p3, store_->Enqueue(kProvider, "high-old", 5, kT0 + absl::Hours(1)));
  EXPECT_EQ(p3, 1);
  ASSERT_OK_AND_ASSIGN(int64_t p4, store_->Enqueue(kProvider, "low-old", 1, kT0));
  EXPECT_EQ(p4, 3);

  std::vector<std::pair<std::string, int64_t>> expected = {
      {"high-old", 1}, {"high-new", 2}, {"low-old", 3}, {"low-new", 4}};
  for (const auto& [id, position] : expected) {
    EXPECT_THAT(store_->Position(kProvider, id), IsOk());
    EXPECT_THAT(store_->Position(kProvider, id).value_or(std::nullopt), Optional(position)) << id;
  }
  ASSERT_OK_AND_ASSIGN(std::optional<int64_t> none, store_->Position(kProvider, "holder"));
  EXPECT_EQ(none, std::nullopt);

  // Cancelling one moves those behind it up.
  ASSERT_OK_AND_ASSIGN(bool removed, store_->Dequeue(kProvider, "high-new"));
  EXPECT_TRUE(removed);
  ASSERT_OK_AND_ASSIGN(bool again, store_->Dequeue(kProvider, "high-new"));
  EXPECT_FALSE(again);
  EXPECT_THAT(store_->Position(kProvider, "low-old").value_or(std::nullopt), Optional(2));
  EXPECT_EQ(Waiting(), 3);
}

TEST_F(CapacityStoreTest, ReleaseMovesExactlyTheHeadIn) {
  ASSERT_OK_AND_ASSIGN(bool a, store_->Reserve(kProvider, "a", 2));
  ASSERT_OK_AND_ASSIGN(bool b, store_->Reserve(kProvider, "b", 2));
  ASSERT_OK_AND_ASSIGN(bool c, store_->Reserve(kProvider, "c", 2));
  EXPECT_TRUE(a);
  EXPECT_TRUE(b);
  EXPECT_FALSE(c);
  ASSERT_THAT(store_->Enqueue(kProvider, "w-low", 1, kT0), IsOk());
  ASSERT_THAT(store_->Enqueue(kProvider, "w-high", 9, kT0 + absl::Minutes(5)), IsOk());
  ASSERT_THAT(store_->Enqueue(kProvider, "w-high-later", 9, kT0 + absl::Minutes(6)), IsOk());

  ASSERT_OK_AND_ASSIGN(Released released, store_->Release(kProvider, "a", 2));
  EXPECT_TRUE(released.released);
  EXPECT_THAT(released.promoted, Optional(std::string("w-high")));
  EXPECT_EQ(Active(), 2);
  EXPECT_EQ(Waiting(), 2);
  EXPECT_EQ(store_->Position(kProvider, "w-high").value_or(std::nullopt), std::nullopt);
  EXPECT_THAT(store_->Position(kProvider, "w-high-later").value_or(std::nullopt), Optional(1));

  // Releasing again frees nothing and promotes nobody.
  ASSERT_OK_AND_ASSIGN(Released twice, store_->Release(kProvider, "a", 2));
  EXPECT_FALSE(twice.released);
  EXPECT_EQ(twice.promoted, std::nullopt);
  EXPECT_EQ(Active(), 2);
  EXPECT_EQ(Waiting(), 2);

  // Enqueueing a referral that holds a place is refused.
  EXPECT_THAT(store_->Enqueue(kProvider, "w-high", 9, kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(CapacityStoreTest, AdmitIsFairToThoseWaiting) {
  // Nobody waiting: a place at once.
  ASSERT_OK_AND_ASSIGN(Admission first, store_->Admit(kProvider, "first", 1, 1, kT0));
  EXPECT_TRUE(first.reserved);
  EXPECT_EQ(first.position, 0);
  ASSERT_OK_AND_ASSIGN(Admission second, store_->Admit(kProvider, "second", 1, 1, kT0));
  EXPECT_FALSE(second.reserved);
  EXPECT_EQ(second.position, 1);
  ASSERT_OK_AND_ASSIGN(Admission urgent, store_->Admit(kProvider, "urgent", 1, 50, kT0));
  EXPECT_FALSE(urgent.reserved);
  EXPECT_EQ(urgent.position, 1);
  // Admitting again changes nothing.
  ASSERT_OK_AND_ASSIGN(Admission again, store_->Admit(kProvider, "second", 1, 99, kT0));
  EXPECT_FALSE(again.reserved);
  EXPECT_EQ(again.position, 2);
  ASSERT_OK_AND_ASSIGN(Admission held, store_->Admit(kProvider, "first", 1, 1, kT0));
  EXPECT_TRUE(held.reserved);

  // The maximum is raised to 3: the next arrival queues behind those already waiting, and
  // they take the new places.
  ASSERT_OK_AND_ASSIGN(Admission late,
                       store_->Admit(kProvider, "late", 3, 1, kT0 + absl::Hours(1)));
  EXPECT_FALSE(late.reserved);
  EXPECT_EQ(late.position, 1);
  EXPECT_THAT(late.promoted, ElementsAre("urgent", "second"));
  EXPECT_EQ(Active(), 3);

  // Raised again, with no new arrival: Fill moves the head in.
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> filled, store_->Fill(kProvider, 5));
  EXPECT_THAT(filled, ElementsAre("late"));
  EXPECT_EQ(Active(), 4);
  EXPECT_EQ(Waiting(), 0);
}

TEST_F(CapacityStoreTest, LoweredMaximumEvictsNobodyAndTakesNoOneNew) {
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_OK_AND_ASSIGN(bool got, store_->Reserve(kProvider, id, 3));
    ASSERT_TRUE(got);
  }
  ASSERT_THAT(store_->Enqueue(kProvider, "w", 1, kT0), IsOk());
  ASSERT_OK_AND_ASSIGN(Released released, store_->Release(kProvider, "a", 1));
  EXPECT_TRUE(released.released);
  EXPECT_EQ(released.promoted, std::nullopt);  // Still at or over the new maximum of 1.
  EXPECT_EQ(Active(), 2);
  ASSERT_OK_AND_ASSIGN(bool got, store_->Reserve(kProvider, "d", 1));
  EXPECT_FALSE(got);
  // A provider with no places at all takes nobody.
  ASSERT_OK_AND_ASSIGN(bool closed, store_->Reserve("closed-provider", "x", 0));
  EXPECT_FALSE(closed);
}

TEST_F(CapacityStoreTest, ConcurrentRetriesOfOneReferralCountOnce) {
  // Reserve: the same referral from every thread takes one place.
  std::atomic<int> reserve_true{0};
  std::atomic<int> errors{0};
  auto run = [](const std::function<void()>& body) {
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back(body);
    }
    for (std::thread& thread : threads) {
      thread.join();
    }
  };
  run([&] {
    for (int i = 0; i < 10; ++i) {
      absl::StatusOr<bool> got = store_->Reserve(kProvider, "same", 2);
      if (!got.ok()) {
        errors.fetch_add(1);
      } else if (*got) {
        reserve_true.fetch_add(1);
      }
    }
  });
  EXPECT_EQ(reserve_true.load(), kThreads * 10);
  EXPECT_EQ(Active(), 1);

  // Fill the second place, then queue three.
  ASSERT_OK_AND_ASSIGN(bool other, store_->Reserve(kProvider, "other", 2));
  ASSERT_TRUE(other);
  // Enqueue: the same referral from every thread joins once, at the position it first got.
  std::atomic<int> wrong_position{0};
  run([&] {
    for (int i = 0; i < 10; ++i) {
      absl::StatusOr<int64_t> position =
          store_->Enqueue(kProvider, "queued", 3, kT0 + absl::Milliseconds(i));
      if (!position.ok()) {
        errors.fetch_add(1);
      } else if (*position != 1) {
        wrong_position.fetch_add(1);
      }
    }
  });
  ASSERT_THAT(store_->Enqueue(kProvider, "queued-2", 3, kT0 + absl::Seconds(1)), IsOk());
  EXPECT_EQ(wrong_position.load(), 0);
  EXPECT_EQ(Waiting(), 2);

  // Release: the same referral from every thread frees one place and promotes one referral.
  std::atomic<int> released_count{0};
  absl::Mutex mu;
  std::vector<std::string> promoted;  // guarded by mu
  run([&] {
    for (int i = 0; i < 10; ++i) {
      absl::StatusOr<Released> released = store_->Release(kProvider, "same", 2);
      if (!released.ok()) {
        errors.fetch_add(1);
        continue;
      }
      if (released->released) {
        released_count.fetch_add(1);
      }
      if (released->promoted.has_value()) {
        absl::MutexLock lock(&mu);
        promoted.push_back(*released->promoted);
      }
    }
  });
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(released_count.load(), 1);
  EXPECT_THAT(promoted, ElementsAre("queued"));
  EXPECT_EQ(Active(), 2);
  EXPECT_EQ(Waiting(), 1);
  EXPECT_THAT(store_->Position(kProvider, "queued-2").value_or(std::nullopt), Optional(1));
}

}  // namespace
}  // namespace hub::routing::lifecycle
