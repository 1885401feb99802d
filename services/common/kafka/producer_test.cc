#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/kafka/internal/mock_cluster.h"
#include "services/common/kafka/internal/testing_hooks.h"
#include "services/common/kafka/kafka.h"
#include "services/common/status/status_matchers.h"

namespace hub::kafka {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kTopic[] = "events";

// Collects every delivery report so tests can assert "exactly once".
class DeliveryLog {
 public:
  Producer::DeliveryCallback Callback() {
    return [this](const absl::Status& status) {
      absl::MutexLock lock(&mu_);
      statuses_.push_back(status);
    };
  }

  // Waits until at least `count` reports arrived (or `timeout` passed) and returns them.
  std::vector<absl::Status> WaitFor(size_t count, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    const auto enough = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return statuses_.size() >= count;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return statuses_;
  }

 private:
  absl::Mutex mu_;
  std::vector<absl::Status> statuses_ ABSL_GUARDED_BY(mu_);
};

class ProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(cluster_, internal::MockCluster::Create(1));
    ASSERT_THAT(cluster_->CreateTopic(kTopic, 2), IsOk());
  }

  ProducerConfig Config() const {
    ProducerConfig config;
    config.bootstrap_servers = cluster_->bootstrap();
    config.client_id = "producer-test";
    config.delivery_timeout = absl::Seconds(5);
    return config;
  }

  std::unique_ptr<internal::MockCluster> cluster_;
};

TEST_F(ProducerTest, ProduceSyncReportsDelivery) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Producer> producer, CreateProducer(Config()));
  OutgoingRecord record{kTopic, "case-1", "payload", {{"hub_type", "referral.created"}}};
  EXPECT_THAT(producer->ProduceSync(record, absl::Seconds(10)), IsOk());
}

TEST_F(ProducerTest, ProduceCallsCallbackOnceWithOk) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Producer> producer, CreateProducer(Config()));
  DeliveryLog log;
  for (int i = 0; i < 5; ++i) {
    producer->Produce({kTopic, "", "value", {}}, log.Callback());
  }
  ASSERT_THAT(producer->Flush(absl::Seconds(10)), IsOk());
  const std::vector<absl::Status> statuses = log.WaitFor(5, absl::ZeroDuration());
  EXPECT_THAT(statuses, SizeIs(5));
  EXPECT_THAT(statuses, Each(IsOk()));
}

TEST_F(ProducerTest, RejectedRecordFailsItsCallbackExactlyOnce) {
  ProducerConfig config = Config();
  config.extra["message.max.bytes"] = "1000";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Producer> producer, CreateProducer(config));
  DeliveryLog log;
  producer->Produce({kTopic, "k", std::string(5000, 'x'), {}}, log.Callback());
  ASSERT_THAT(producer->Flush(absl::Seconds(5)), IsOk());
  const std::vector<absl::Status> statuses = log.WaitFor(1, absl::ZeroDuration());
  ASSERT_THAT(statuses, SizeIs(1));
  EXPECT_THAT(statuses[0], StatusIs(absl::StatusCode::kInternal, HasSubstr("MSG_SIZE_TOO_LARGE")));
  // The failure message never carries the record's contents.
  EXPECT_THAT(std::string(statuses[0].message()), Not(HasSubstr("xxx")));
}

TEST_F(ProducerTest, RecordWithoutTopicFailsWithInvalidArgument) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Producer> producer, CreateProducer(Config()));
  EXPECT_THAT(producer->ProduceSync({"", "k", "v", {}}, absl::Seconds(1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ProducerTest, ImmediateFailureIsReportedOnTheDeliveryThread) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Producer> producer, CreateProducer(Config()));
  // A caller may hold a lock across Produce() that its callback also takes: the callback
  // must not run inline on the calling thread, even when queueing fails at once.
  absl::Mutex caller_lock;
  absl::Notification done;
  std::thread::id callback_thread;
  {
    absl::MutexLock lock(&caller_lock);
    producer->Produce({"", "k", "v", {}}, [&](const absl::Status& status) {
      absl::MutexLock callback_lock(&caller_lock);
      EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
      callback_thread = std::this_thread::get_id();
      done.Notify();
    });
  }
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_NE(callback_thread, std::this_thread::get_id());
}

TEST_F(ProducerTest, DeliveryTimeoutIsUnavailableAndReportedOnce) {
  cluster_->SetBrokerDown(1);
  ProducerConfig config = Config();
  config.delivery_timeout = absl::Seconds(1);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Producer> producer, CreateProducer(config));
  DeliveryLog log;
  producer->Produce({kTopic, "k", "v", {}}, log.Callback());
  EXPECT_THAT(producer->ProduceSync({kTopic, "k", "v2", {}}, absl::Seconds(10)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("MSG_TIMED_OUT")));
  ASSERT_THAT(producer->Flush(absl::Seconds(5)), IsOk());
  EXPECT_THAT(log.WaitFor(1, absl::ZeroDuration()),
              ElementsAre(StatusIs(absl::StatusCode::kUnavailable)));
}

TEST_F(ProducerTest, FullQueueFailsAfterEnqueueTimeout) {
  cluster_->SetBrokerDown(1);
  ProducerConfig config = Config();
  config.extra["queue.buffering.max.messages"] = "1";
  config.enqueue_timeout = absl::Milliseconds(200);
  config.shutdown_timeout = absl::Milliseconds(100);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Producer> producer, CreateProducer(config));
  DeliveryLog log;
  producer->Produce({kTopic, "k", "fits", {}}, log.Callback());
  const absl::Time start = absl::Now();
  producer->Produce({kTopic, "k", "does not fit", {}}, log.Callback());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
  std::vector<absl::Status> statuses = log.WaitFor(1, absl::Seconds(2));
  ASSERT_THAT(statuses, SizeIs(1));
  EXPECT_THAT(statuses[0], StatusIs(absl::StatusCode::kUnavailable, HasSubstr("QUEUE_FULL")));

  // Destruction cannot deliver the queued record either: it is failed, not dropped.
  producer.reset();
  statuses = log.WaitFor(2, absl::ZeroDuration());
  ASSERT_THAT(statuses, SizeIs(2));
  EXPECT_THAT(statuses[1], StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(ProducerTest, FatalErrorRecreatesHandleAndFailsInFlightRecords) {
  cluster_->SetBrokerDown(1);
  ProducerConfig config = Config();
  config.delivery_timeout = absl::Seconds(60);
  config.enqueue_timeout = absl::Seconds(2);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Producer> producer, CreateProducer(config));
  DeliveryLog log;
  for (int i = 0; i < 3; ++i) {
    producer->Produce({kTopic, "k", "stuck", {}}, log.Callback());
  }

  ASSERT_THAT(internal::TriggerFatalErrorForTesting(*producer), IsOk());
  // Failed long before the 60 s delivery timeout, each exactly once.
  std::vector<absl::Status> statuses = log.WaitFor(3, absl::Seconds(5));
  ASSERT_THAT(statuses, SizeIs(3));
  EXPECT_THAT(statuses, Each(Not(IsOk())));
  // The delivery thread swaps the handle right after serving the fatal error.
  absl::StatusOr<int> generations;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  do {
    absl::SleepFor(absl::Milliseconds(10));
    generations = internal::HandleGenerationsForTesting(*producer);
  } while (generations.ok() && *generations < 2 && absl::Now() < deadline);
  ASSERT_THAT(generations, IsOk());
  EXPECT_EQ(*generations, 2);

  // The fresh handle delivers.
  cluster_->SetBrokerUp(1);
  EXPECT_THAT(producer->ProduceSync({kTopic, "k", "after", {}}, absl::Seconds(10)), IsOk());
  EXPECT_THAT(log.WaitFor(4, absl::Milliseconds(100)), SizeIs(3));
}

TEST_F(ProducerTest, ProduceSyncFromDeliveryCallbackIsRefused) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Producer> producer, CreateProducer(Config()));
  absl::Notification done;
  absl::Status nested;
  producer->Produce({kTopic, "k", "outer", {}}, [&](const absl::Status&) {
    nested = producer->ProduceSync({kTopic, "k", "inner", {}}, absl::Seconds(1));
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_THAT(nested, StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(CreateProducerTest, RejectsMissingBootstrapServers) {
  EXPECT_THAT(CreateProducer(ProducerConfig{}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bootstrap_servers")));
}

TEST(CreateProducerTest, RejectsUnknownProperty) {
  ProducerConfig config;
  config.bootstrap_servers = "127.0.0.1:1";
  config.extra["no.such.property"] = "1";
  EXPECT_THAT(CreateProducer(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no.such.property")));
}

}  // namespace
}  // namespace hub::kafka
