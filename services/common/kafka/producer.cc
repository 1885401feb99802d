// The librdkafka-backed Producer.
//
// Design: a "generation" is one librdkafka handle plus the callbacks of the records queued
// on it, keyed by the address of each callback's heap cell, which librdkafka carries as the
// message opaque. A delivery report takes its callback out of that map, so a callback runs
// at most once; whatever is still in the map when a generation is destroyed is failed, so
// it runs at least once. A fatal error makes the delivery thread swap in a fresh generation
// and retire the old one (purge, serve the purged reports, destroy), which is how in-flight
// records are failed instead of dropped. Records that fail before reaching librdkafka are
// queued for the delivery thread too, so callbacks never run inside the caller's Produce().
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include "services/common/kafka/internal/rdkafka_util.h"
#include "services/common/kafka/internal/testing_hooks.h"
#include "services/common/kafka/kafka.h"
#include "services/common/status/status_macros.h"

namespace hub::kafka {
namespace {

using DeliveryCallback = Producer::DeliveryCallback;

constexpr int kPollIntervalMs = 100;
constexpr int kWarmTimeoutMs = 2000;
// How long a retired generation is polled so the reports of its purged records run on the
// delivery thread; whatever is left after that is failed by the generation's destructor.
constexpr absl::Duration kRetireDrainTimeout = absl::Milliseconds(500);
constexpr absl::Duration kLogInterval = absl::Seconds(10);

class ProducerImpl;

// One librdkafka handle and the callbacks of the records queued on it. Thread-safe.
class Generation final : public RdKafka::DeliveryReportCb, public RdKafka::EventCb {
 public:
  explicit Generation(ProducerImpl* owner) : owner_(owner) {}
  ~Generation() override;

  Generation(const Generation&) = delete;
  Generation& operator=(const Generation&) = delete;

  absl::Status Init(const ProducerConfig& config);

  RdKafka::Producer& handle() { return *handle_; }

  // Keeps `callback` until its record is reported; returns the opaque to give librdkafka.
  void* Register(DeliveryCallback callback) ABSL_LOCKS_EXCLUDED(mu_) {
    auto owned = std::make_unique<DeliveryCallback>(std::move(callback));
    void* opaque = owned.get();
    absl::MutexLock lock(&mu_);
    pending_.emplace(opaque, std::move(owned));
    return opaque;
  }

  // The callback registered as `opaque`, removed from the map; empty if it was already
  // taken. The opaque is only compared, never dereferenced, so a stale one is harmless.
  DeliveryCallback Take(const void* opaque) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto it = pending_.find(opaque);
    if (it == pending_.end()) {
      return nullptr;
    }
    DeliveryCallback callback = std::move(*it->second);
    pending_.erase(it);
    return callback;
  }

  size_t PendingCount() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return pending_.size();
  }

  // Hands `record` to librdkafka with `opaque` as its message opaque.
  RdKafka::ErrorCode Enqueue(const OutgoingRecord& record, void* opaque);

  void dr_cb(RdKafka::Message& message) override;
  void event_cb(RdKafka::Event& event) override;

 private:
  void WarmTopics(const std::vector<std::string>& topics);

  ProducerImpl* const owner_;
  std::unique_ptr<RdKafka::Producer> handle_;
  std::vector<std::unique_ptr<RdKafka::Topic>> warm_topics_;
  absl::Mutex mu_;
  absl::flat_hash_map<const void*, std::unique_ptr<DeliveryCallback>> pending_ ABSL_GUARDED_BY(mu_);
};

class ProducerImpl final : public Producer {
 public:
  explicit ProducerImpl(ProducerConfig config)
      : config_(std::move(config)), log_(config_.log, kLogInterval) {}
  ~ProducerImpl() override;

  ProducerImpl(const ProducerImpl&) = delete;
  ProducerImpl& operator=(const ProducerImpl&) = delete;

  // Creates the first handle and starts the delivery thread.
  absl::Status Start();

  void Produce(OutgoingRecord record, DeliveryCallback on_delivery) override;
  absl::Status ProduceSync(OutgoingRecord record, absl::Duration timeout) override;
  absl::Status Flush(absl::Duration timeout) override;

  // Runs `callback` with `status` and counts the record as done. Every record passes
  // through here exactly once.
  void Finish(const DeliveryCallback& callback, const absl::Status& status);

  // Fails a record that never got (or will never get) a delivery report. The callback
  // runs on the delivery thread like every other one: right away when called there,
  // otherwise at the delivery thread's next wake-up (or by the destructor once it stopped).
  void Reject(DeliveryCallback callback, absl::Status status) ABSL_LOCKS_EXCLUDED(rejected_mu_);

  // Asks the delivery thread to replace `generation` if it is still the current one.
  void RequestRecreate(const Generation* generation);

  void Log(std::string_view level, const std::string& key, std::string_view message) {
    log_.Log(level, key, message);
  }

  absl::Status TriggerFatalError();
  int generations_created() const { return generations_created_.load(); }

 private:
  std::shared_ptr<Generation> Current() ABSL_LOCKS_EXCLUDED(generation_mu_) {
    absl::ReaderMutexLock lock(&generation_mu_);
    return current_;
  }
  bool OnDeliveryThread() const { return std::this_thread::get_id() == poll_thread_id_.load(); }
  void PollLoop();
  void Recreate();
  void RunRejected() ABSL_LOCKS_EXCLUDED(rejected_mu_);

  const ProducerConfig config_;
  internal::RateLimitedLog log_;

  absl::Mutex generation_mu_;
  std::shared_ptr<Generation> current_ ABSL_GUARDED_BY(generation_mu_);
  std::atomic<int> generations_created_{0};
  std::atomic<bool> recreate_requested_{false};

  // Records accepted by Produce() whose callback has not returned yet; Flush waits for 0.
  absl::Mutex outstanding_mu_;
  int64_t outstanding_ ABSL_GUARDED_BY(outstanding_mu_) = 0;

  absl::Mutex rejected_mu_;
  std::vector<std::pair<DeliveryCallback, absl::Status>> rejected_ ABSL_GUARDED_BY(rejected_mu_);

  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> stop_polling_{false};
  // Set by the delivery thread itself, so it is known before its first callback runs.
  std::atomic<std::thread::id> poll_thread_id_;
  std::thread poll_thread_;
};

// --- Generation ---------------------------------------------------------------------------

absl::Status Generation::Init(const ProducerConfig& config) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  HUB_RETURN_IF_ERROR(internal::SetProperty(*conf, "bootstrap.servers", config.bootstrap_servers));
  if (!config.client_id.empty()) {
    HUB_RETURN_IF_ERROR(internal::SetProperty(*conf, "client.id", config.client_id));
  }
  HUB_RETURN_IF_ERROR(internal::SetProperty(*conf, "enable.idempotence", "true"));
  HUB_RETURN_IF_ERROR(internal::SetProperty(*conf, "acks", "all"));
  HUB_RETURN_IF_ERROR(
      internal::SetProperty(*conf, "linger.ms", internal::MillisecondsProperty(config.linger)));
  HUB_RETURN_IF_ERROR(internal::SetProperty(*conf, "socket.nagle.disable", "true"));
  HUB_RETURN_IF_ERROR(internal::SetProperty(
      *conf, "delivery.timeout.ms", internal::MillisecondsProperty(config.delivery_timeout)));
  HUB_RETURN_IF_ERROR(internal::SetProperties(*conf, config.extra));

  std::string errstr;
  if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), errstr) !=
          RdKafka::Conf::CONF_OK ||
      conf->set("event_cb", static_cast<RdKafka::EventCb*>(this), errstr) !=
          RdKafka::Conf::CONF_OK) {
    return absl::InternalError(absl::StrCat("kafka producer callbacks rejected: ", errstr));
  }
  handle_.reset(RdKafka::Producer::create(conf.get(), errstr));
  if (handle_ == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("kafka producer not created: ", errstr));
  }
  WarmTopics(config.topics);
  return absl::OkStatus();
}

void Generation::WarmTopics(const std::vector<std::string>& topics) {
  for (const std::string& name : topics) {
    std::string errstr;
    std::unique_ptr<RdKafka::Topic> topic(
        RdKafka::Topic::create(handle_.get(), name, nullptr, errstr));
    if (topic == nullptr) {
      continue;
    }
    RdKafka::Metadata* metadata = nullptr;
    RdKafka::ErrorCode error =
        handle_->metadata(/*all_topics=*/false, topic.get(), &metadata, kWarmTimeoutMs);
    delete metadata;
    if (error != RdKafka::ERR_NO_ERROR) {
      owner_->Log("warning", "warm", "kafka topic metadata not fetched at start");
    }
    // Kept open so librdkafka keeps the topic's partitions known.
    warm_topics_.push_back(std::move(topic));
  }
}

Generation::~Generation() {
  warm_topics_.clear();  // Topic handles must go before the handle they belong to.
  // Destroying the handle discards whatever it still holds without delivery reports, so
  // the callbacks still registered are failed here: never dropped.
  handle_.reset();
  absl::flat_hash_map<const void*, std::unique_ptr<DeliveryCallback>> leftovers;
  {
    absl::MutexLock lock(&mu_);
    leftovers.swap(pending_);
  }
  for (auto& [opaque, callback] : leftovers) {
    owner_->Reject(std::move(*callback),
                   absl::UnavailableError("kafka record not delivered: producer handle was "
                                          "shut down or replaced before a delivery report"));
  }
}

RdKafka::ErrorCode Generation::Enqueue(const OutgoingRecord& record, void* opaque) {
  RdKafka::Headers* headers = nullptr;
  if (!record.headers.empty()) {
    headers = RdKafka::Headers::create();
    for (const Header& header : record.headers) {
      headers->add(header.key, header.value.data(), header.value.size());
    }
  }
  // An empty key goes out as a null key so the partitioner spreads keyless records.
  const void* key = record.key.empty() ? nullptr : record.key.data();
  // RK_MSG_COPY: librdkafka copies the payload, so the const_cast never leads to a write.
  // A tombstone is a null payload, not an empty one.
  char* payload = record.tombstone ? nullptr : const_cast<char*>(record.value.data());
  const RdKafka::ErrorCode err =
      handle_->produce(record.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                       payload, record.tombstone ? 0 : record.value.size(), key, record.key.size(),
                       /*timestamp=*/0, headers, opaque);
  if (err != RdKafka::ERR_NO_ERROR) {
    // librdkafka takes ownership of the headers only when produce() succeeds.
    delete headers;
  }
  return err;
}

void Generation::dr_cb(RdKafka::Message& message) {
  DeliveryCallback callback = Take(message.msg_opaque());
  if (!callback) {
    return;
  }
  const RdKafka::ErrorCode err = message.err();
  if (err == RdKafka::ERR__FATAL) {
    owner_->RequestRecreate(this);
  }
  owner_->Finish(callback, internal::ErrorToStatus(
                               err, absl::StrCat("kafka delivery to topic ", message.topic_name(),
                                                 " partition ", message.partition())));
}

void Generation::event_cb(RdKafka::Event& event) {
  if (event.type() != RdKafka::Event::EVENT_ERROR) {
    return;
  }
  const std::string name = internal::ErrorName(event.err());
  if (event.fatal()) {
    owner_->Log("error", "fatal", absl::StrCat("kafka producer fatal error ", name));
    owner_->RequestRecreate(this);
    return;
  }
  // Transport errors are retried by librdkafka itself; they only matter if they persist,
  // and then the delivery reports say so.
  owner_->Log("warning", name, absl::StrCat("kafka producer error ", name));
}

// --- ProducerImpl -------------------------------------------------------------------------

absl::Status ProducerImpl::Start() {
  auto first = std::make_shared<Generation>(this);
  HUB_RETURN_IF_ERROR(first->Init(config_));
  generations_created_.fetch_add(1);
  {
    absl::MutexLock lock(&generation_mu_);
    current_ = std::move(first);
  }
  poll_thread_ = std::thread([this] { PollLoop(); });
  return absl::OkStatus();
}

ProducerImpl::~ProducerImpl() {
  shutting_down_.store(true);
  if (poll_thread_.joinable()) {
    if (!Flush(config_.shutdown_timeout).ok()) {
      // Give up on what is left, but let the delivery thread report it as failed.
      Current()->handle().purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
      Flush(kRetireDrainTimeout).IgnoreError();
    }
    stop_polling_.store(true);
    poll_thread_.join();
  }
  std::shared_ptr<Generation> last;
  {
    absl::MutexLock lock(&generation_mu_);
    last = std::move(current_);
  }
  // Destroying the last generation fails any record that is still unreported; with the
  // delivery thread gone, this thread runs those callbacks.
  last.reset();
  RunRejected();
}

void ProducerImpl::PollLoop() {
  poll_thread_id_.store(std::this_thread::get_id());
  while (!stop_polling_.load()) {
    Current()->handle().poll(kPollIntervalMs);
    RunRejected();
    if (recreate_requested_.exchange(false)) {
      Recreate();
    }
  }
}

void ProducerImpl::Reject(DeliveryCallback callback, absl::Status status) {
  if (OnDeliveryThread()) {
    Finish(callback, status);
    return;
  }
  absl::MutexLock lock(&rejected_mu_);
  rejected_.emplace_back(std::move(callback), std::move(status));
}

void ProducerImpl::RunRejected() {
  std::vector<std::pair<DeliveryCallback, absl::Status>> rejected;
  {
    absl::MutexLock lock(&rejected_mu_);
    rejected.swap(rejected_);
  }
  for (const auto& [callback, status] : rejected) {
    Finish(callback, status);
  }
}

void ProducerImpl::RequestRecreate(const Generation* generation) {
  absl::ReaderMutexLock lock(&generation_mu_);
  if (current_.get() == generation) {
    recreate_requested_.store(true);
  }
}

void ProducerImpl::Recreate() {
  std::shared_ptr<Generation> old = Current();
  std::string reason;
  const RdKafka::ErrorCode fatal = old->handle().fatal_error(reason);
  if (fatal == RdKafka::ERR_NO_ERROR) {
    return;
  }
  auto fresh = std::make_shared<Generation>(this);
  if (absl::Status status = fresh->Init(config_); !status.ok()) {
    // Cannot happen with a config that worked once; keep trying on the next poll.
    Log("error", "recreate", "kafka producer handle could not be recreated");
    recreate_requested_.store(true);
    return;
  }
  generations_created_.fetch_add(1);
  {
    absl::MutexLock lock(&generation_mu_);
    current_ = fresh;
  }
  Log("error", "recreated",
      absl::StrCat("kafka producer handle recreated after fatal error ",
                   internal::ErrorName(fatal)));
  // Fail what the old handle still holds, on this thread, through its delivery reports.
  old->handle().purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT |
                      RdKafka::Producer::PURGE_NON_BLOCKING);
  const absl::Time deadline = absl::Now() + kRetireDrainTimeout;
  while (old->PendingCount() > 0 && absl::Now() < deadline) {
    old->handle().poll(10);
  }
  // If a Produce() still holds the old generation, the last holder destroys it and fails
  // any record that slipped in; otherwise that happens right here.
  old.reset();
}

void ProducerImpl::Finish(const DeliveryCallback& callback, const absl::Status& status) {
  callback(status);
  absl::MutexLock lock(&outstanding_mu_);
  --outstanding_;
}

void ProducerImpl::Produce(OutgoingRecord record, DeliveryCallback on_delivery) {
  if (!on_delivery) {
    on_delivery = [](const absl::Status&) {};
  }
  {
    absl::MutexLock lock(&outstanding_mu_);
    ++outstanding_;
  }
  if (shutting_down_.load()) {
    Reject(std::move(on_delivery),
           absl::FailedPreconditionError("kafka producer is shutting down"));
    return;
  }
  if (record.topic.empty()) {
    Reject(std::move(on_delivery), absl::InvalidArgumentError("kafka record has no topic"));
    return;
  }
  const bool on_delivery_thread = OnDeliveryThread();
  const absl::Time deadline = absl::Now() + config_.enqueue_timeout;
  while (true) {
    std::shared_ptr<Generation> generation = Current();
    // Registered before produce(): the delivery thread may report the record at once.
    void* opaque = generation->Register(std::move(on_delivery));
    const RdKafka::ErrorCode err = generation->Enqueue(record, opaque);
    if (err == RdKafka::ERR_NO_ERROR) {
      return;
    }
    // A failed produce() never yields a delivery report, so the callback is still there.
    on_delivery = generation->Take(opaque);
    if (err == RdKafka::ERR__FATAL) {
      RequestRecreate(generation.get());
    }
    // Only the delivery thread recreates handles, so it cannot wait for one itself.
    const bool retryable =
        err == RdKafka::ERR__QUEUE_FULL || (err == RdKafka::ERR__FATAL && !on_delivery_thread);
    if (!retryable || absl::Now() >= deadline) {
      Reject(std::move(on_delivery),
             internal::ErrorToStatus(err, absl::StrCat("kafka produce to topic ", record.topic)));
      return;
    }
    if (on_delivery_thread) {
      // Called from a delivery callback: serve reports here to make room in the queue.
      generation->handle().poll(10);
    } else {
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
}

absl::Status ProducerImpl::ProduceSync(OutgoingRecord record, absl::Duration timeout) {
  if (OnDeliveryThread()) {
    return absl::FailedPreconditionError(
        "ProduceSync called from a delivery callback would wait for itself");
  }
  struct SyncState {
    absl::Notification done;
    absl::Status status;
  };
  auto state = std::make_shared<SyncState>();
  Produce(std::move(record), [state](const absl::Status& status) {
    state->status = status;
    state->done.Notify();
  });
  if (!state->done.WaitForNotificationWithTimeout(timeout)) {
    return absl::DeadlineExceededError(
        absl::StrCat("no kafka delivery report within ", absl::FormatDuration(timeout)));
  }
  return state->status;
}

absl::Status ProducerImpl::Flush(absl::Duration timeout) {
  if (OnDeliveryThread()) {
    return absl::FailedPreconditionError(
        "Flush called from a delivery callback would wait for itself");
  }
  absl::MutexLock lock(&outstanding_mu_);
  const auto drained = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(outstanding_mu_) {
    return outstanding_ == 0;
  };
  if (!outstanding_mu_.AwaitWithTimeout(absl::Condition(&drained), timeout)) {
    return absl::DeadlineExceededError(absl::StrCat(outstanding_,
                                                    " kafka records still awaiting delivery "
                                                    "reports after ",
                                                    absl::FormatDuration(timeout)));
  }
  return absl::OkStatus();
}

absl::Status ProducerImpl::TriggerFatalError() {
  const rd_kafka_resp_err_t err = rd_kafka_test_fatal_error(
      Current()->handle().c_ptr(), RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
      "fatal error raised by a test");
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::ErrorToStatus(static_cast<RdKafka::ErrorCode>(err), "test fatal error");
  }
  return absl::OkStatus();
}

absl::Status ValidateConfig(const ProducerConfig& config) {
  if (config.bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("ProducerConfig.bootstrap_servers is empty");
  }
  if (config.linger < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("ProducerConfig.linger is negative");
  }
  if (config.delivery_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("ProducerConfig.delivery_timeout must be positive");
  }
  if (config.enqueue_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("ProducerConfig.enqueue_timeout is negative");
  }
  if (config.shutdown_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("ProducerConfig.shutdown_timeout is negative");
  }
  return absl::OkStatus();
}

absl::StatusOr<ProducerImpl*> AsImpl(Producer& producer) {
  auto* impl = dynamic_cast<ProducerImpl*>(&producer);
  if (impl == nullptr) {
    return absl::InvalidArgumentError("not a producer made by CreateProducer");
  }
  return impl;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Producer>> CreateProducer(const ProducerConfig& config) {
  HUB_RETURN_IF_ERROR(ValidateConfig(config));
  auto producer = std::make_unique<ProducerImpl>(config);
  HUB_RETURN_IF_ERROR(producer->Start());
  return producer;
}

namespace internal {

absl::Status TriggerFatalErrorForTesting(Producer& producer) {
  HUB_ASSIGN_OR_RETURN(ProducerImpl * impl, AsImpl(producer));
  return impl->TriggerFatalError();
}

absl::StatusOr<int> HandleGenerationsForTesting(Producer& producer) {
  HUB_ASSIGN_OR_RETURN(ProducerImpl * impl, AsImpl(producer));
  return impl->generations_created();
}

}  // namespace internal
}  // namespace hub::kafka
