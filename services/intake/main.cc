// hub-intake: the gRPC front door for police crime-recording systems and self-referrals.
//
// Settings beyond the shared ones:
//   --master-key-file (HUB_MASTER_KEY_FILE)  the master key that wraps victims' data keys:
//                                            64 hex digits, mode 0600. Required.
//   --offence-table (HUB_OFFENCE_TABLE)      the offence reference table (default: the
//                                            repository's deploy/rules/offences.yaml).
#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

#include "hub/intake/v1/intake.grpc.pb.h"
#include "services/common/config/config.h"
#include "services/common/log/log.h"
#include "services/common/offences/offences.h"
#include "services/common/runtime/service_runtime.h"
#include "services/common/seal/key_store.h"
#include "services/common/seal/master_key.h"
#include "services/common/seal/pseudonym.h"
#include "services/common/status/status_macros.h"
#include "services/common/workers/worker_pool.h"
#include "services/intake/intake.h"
#include "services/intake/intake_service.h"

namespace {

constexpr char kMasterKeySetting[] = "master-key-file";
constexpr char kOffenceTableSetting[] = "offence-table";
// Threads that take work off Kafka's delivery thread (sealing, Redis writes, replies):
// Redis round trips dominate them, so a few more than the cores keep the pipeline full.
constexpr int kWorkerThreads = 4;
// How long intake waits at start to rebuild the key index after Redis lost it.
constexpr absl::Duration kRebuildTimeout = absl::Seconds(120);

class IntakeProcess : public hub::runtime::Service {
 public:
  IntakeProcess(hub::runtime::ServiceContext& context, hub::seal::MasterKey master,
                hub::offences::OffenceTable offences)
      : workers_(kWorkerThreads),
        pseudonyms_(master),
        offences_(std::move(offences)),
        keys_(std::move(master), context.producer, context.redis, context.clock,
              hub::seal::KeyStore::Options{context.config.ns, context.topics.data_keys,
                                           context.config.kafka_bootstrap, absl::Seconds(30),
                                           workers_.Executor()}),
        intake_(hub::intake::IntakeDeps{context.producer, context.redis, context.clock,
                                        context.metrics, context.config.ns, context.topics, &keys_,
                                        &pseudonyms_, &offences_, &workers_}),
        api_(&intake_, context.identity, context.metrics),
        redis_(context.redis),
        ns_(context.config.ns) {}

  ~IntakeProcess() override {
    stop_.Notify();
    if (roller_.joinable()) {
      roller_.join();
    }
  }

  // The key index in Redis is a cache of the key topic: rebuild it if Redis lost it.
  absl::Status Start() {
    const std::string marker = absl::StrCat(ns_, ":keys:indexed");
    absl::StatusOr<hub::redis::Reply> exists = redis_->Command({"EXISTS", marker});
    if (!exists.ok()) {
      return exists.status();
    }
    if (exists->integer == 0) {
      hub::log::Info("rebuilding the data key index from the key topic", {});
      // A topic created a moment ago may not have a leader yet: retry until the timeout.
      const absl::Time give_up = absl::Now() + kRebuildTimeout;
      absl::Status rebuilt = keys_.RebuildIndex(kRebuildTimeout);
      while (absl::IsUnavailable(rebuilt) && absl::Now() < give_up) {
        absl::SleepFor(absl::Milliseconds(500));
        rebuilt = keys_.RebuildIndex(give_up - absl::Now());
      }
      HUB_RETURN_IF_ERROR(rebuilt);
      HUB_RETURN_IF_ERROR(redis_->Command({"SET", marker, "1"}).status());
    }
    // Kafka never compacts the active segment: append a marker now and then so an
    // erased key's record is compacted away within the documented bound.
    roller_ = std::thread([this] {
      const absl::Duration period = absl::Milliseconds(hub::events::kDataKeySegmentMs) / 2;
      while (!stop_.WaitForNotificationWithTimeout(period)) {
        if (absl::Status rolled = keys_.AppendRollMarker(); !rolled.ok()) {
          hub::log::Warn("could not append the key topic's roll marker",
                         {{"status", rolled.ToString()}});
        }
      }
    });
    return absl::OkStatus();
  }

  std::vector<grpc::Service*> GrpcServices() override { return {&api_}; }

 private:
  // First member, so it is destroyed last: the others hand it work.
  hub::workers::WorkerPool workers_;
  hub::seal::Pseudonymizer pseudonyms_;
  hub::offences::OffenceTable offences_;
  hub::seal::KeyStore keys_;
  hub::intake::Intake intake_;
  hub::intake::IntakeServiceImpl api_;
  hub::redis::RedisClient* redis_;
  std::string ns_;
  absl::Notification stop_;
  std::thread roller_;
};

}  // namespace

int main(int argc, char** argv) {
  hub::runtime::ServiceSpec spec;
  spec.name = "intake";
  spec.defaults = {{"127.0.0.1", 50051}, {"127.0.0.1", 19101}};
  spec.produces = [](const hub::events::TopicNames& topics) {
    return std::vector<std::string>{topics.crime_reported, topics.crime_updated,
                                    topics.victim_erased, topics.data_keys};
  };
  spec.extra_settings = {kMasterKeySetting, kOffenceTableSetting};
  spec.factory = [](hub::runtime::ServiceContext& context)
      -> absl::StatusOr<std::unique_ptr<hub::runtime::Service>> {
    HUB_ASSIGN_OR_RETURN(std::string key_file,
                         hub::config::GetRequiredString(*context.settings, kMasterKeySetting));
    HUB_ASSIGN_OR_RETURN(hub::seal::MasterKey master, hub::seal::MasterKey::FromFile(key_file));
    std::string table_path = context.settings->Get(kOffenceTableSetting)
                                 .value_or(hub::offences::DefaultOffenceTablePath());
    HUB_ASSIGN_OR_RETURN(hub::offences::OffenceTable offences,
                         hub::offences::OffenceTable::Load(table_path));
    hub::log::Info("offence table loaded", {{"version", offences.version()}});
    auto process = std::make_unique<IntakeProcess>(context, std::move(master), std::move(offences));
    HUB_RETURN_IF_ERROR(process->Start());
    return process;
  };
  return hub::runtime::RunService(argc, argv, spec);
}
