#include "services/common/runtime/service_runtime.h"

#include <signal.h>

#include <csignal>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.pb.h"
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "services/common/log/log.h"
#include "services/common/status/status_macros.h"

namespace hub::runtime {
namespace {

constexpr absl::Duration kRedisStartupWait = absl::Seconds(30);
constexpr absl::Duration kGrpcShutdownDeadline = absl::Seconds(5);
constexpr absl::Duration kProducerFlushTimeout = absl::Seconds(10);

// Sends the Kafka adapter's operational lines (already PII-free and rate-limited) to the
// service's JSON log.
void LogKafka(std::string_view level, std::string_view message) {
  log::Log(level == "error" ? log::Level::kError : log::Level::kWarning, "kafka",
           {{"detail", absl::string_view(message.data(), message.size())}});
}

absl::StatusOr<std::unique_ptr<redis::RedisClient>> ConnectRedis(const config::HostPort& address,
                                                                 int pool_size) {
  redis::RedisConfig redis_config;
  redis_config.host = address.host;
  redis_config.port = address.port;
  redis_config.pool_size = pool_size;
  absl::Time give_up = absl::Now() + kRedisStartupWait;
  while (true) {
    absl::StatusOr<std::unique_ptr<redis::RedisClient>> client =
        redis::CreateRedisClient(redis_config);
    if (client.ok() || client.status().code() != absl::StatusCode::kUnavailable ||
        absl::Now() > give_up) {
      return client;
    }
    log::Warn("waiting for redis", {{"addr", address.ToString()}});
    absl::SleepFor(absl::Seconds(1));
  }
}

// The process's state, built in order and torn down in reverse.
class Process {
 public:
  explicit Process(const ServiceSpec& spec) : spec_(spec) {}

  absl::Status Start(const config::ConfigSource& source) {
    std::set<std::string> known = config::ServiceSettingNames();
    known.insert(spec_.extra_settings.begin(), spec_.extra_settings.end());
    HUB_RETURN_IF_ERROR(source.CheckNoUnknownFlags(known));
    HUB_ASSIGN_OR_RETURN(context_.config,
                         config::LoadServiceConfig(spec_.name, source, spec_.defaults));
    const config::ServiceConfig& config = context_.config;
    log::Init(absl::StrCat("hub-", spec_.name), log::ParseLevel(config.log_level));
    HUB_ASSIGN_OR_RETURN(context_.clock, clock::CreateClock(config.clock));
    if (context_.clock->IsControlled()) {
      log::Warn("using a controlled clock: for tests and demos only", {{"clock", config.clock}});
    }
    context_.settings = &source;
    context_.metrics = &metrics_;
    context_.topics = events::Topics(config.ns);
    identity_ = identity::CreateDeclaredLoopbackIdentityProvider();
    context_.identity = identity_.get();
    metrics_
        .AddGauge(absl::StrCat("hub_", spec_.name, "_controlled_clock"),
                  "1 when the service reads time from a test-controlled clock.")
        ->Set(context_.clock->IsControlled() ? 1 : 0);

    if (spec_.check_files) {
      // The service's own files (rules, tables) before any connection: a bad file is bad
      // configuration (exit 2, named), not something to wait for Redis to find out.
      absl::Status files = spec_.check_files(source);
      if (!files.ok()) {
        return absl::InvalidArgumentError(files.message());
      }
    }
    HUB_ASSIGN_OR_RETURN(redis_, ConnectRedis(config.redis, 8));
    context_.redis = redis_.get();

    kafka::ProducerConfig producer_config;
    producer_config.bootstrap_servers = config.kafka_bootstrap;
    producer_config.client_id = absl::StrCat(config.ns, ".", spec_.name);
    // Every publish here waits for its own acknowledgement before the caller goes on, so
    // lingering only adds latency; under load librdkafka still batches what queues up
    // while a request is in flight.
    producer_config.linger = absl::ZeroDuration();
    producer_config.log = LogKafka;
    if (spec_.produces) {
      producer_config.topics = spec_.produces(context_.topics);
    }
    HUB_ASSIGN_OR_RETURN(producer_, kafka::CreateProducer(producer_config));
    context_.producer = producer_.get();

    HUB_ASSIGN_OR_RETURN(service_, spec_.factory(context_));

    HUB_ASSIGN_OR_RETURN(health_, http::HealthServer::Create(config.http, &metrics_));
    redis::RedisClient* redis = redis_.get();
    health_->AddReadinessCheck({"redis", [redis] { return redis->Ping(); }});
    for (http::ReadinessCheck& check : service_->ReadinessChecks()) {
      health_->AddReadinessCheck(std::move(check));
    }

    std::vector<std::string> topics = service_->ConsumedTopics();
    if (!topics.empty()) {
      kafka::ConsumerConfig consumer_config;
      consumer_config.bootstrap_servers = config.kafka_bootstrap;
      consumer_config.group_id = events::ConsumerGroup(config.ns, spec_.name);
      consumer_config.client_id = producer_config.client_id;
      consumer_config.topics = topics;
      consumer_config.dead_letter_topic = context_.topics.dead_letter;
      consumer_config.log = LogKafka;
      Service* service = service_.get();
      metrics::Histogram* latency = metrics_.AddHistogram(
          absl::StrCat("hub_", spec_.name, "_handle_seconds"),
          "Time to handle one consumed record, including retries.", metrics::LatencyBuckets());
      HUB_ASSIGN_OR_RETURN(consumer_,
                           kafka::CreateConsumerLoop(
                               consumer_config,
                               [service, latency](const kafka::ConsumedRecord& record) {
                                 absl::Time start = absl::Now();
                                 absl::Status status = service->Handle(record);
                                 latency->Observe(absl::ToDoubleSeconds(absl::Now() - start));
                                 return status;
                               },
                               producer_.get()));
      kafka::ConsumerLoop* consumer = consumer_.get();
      const kafka::ConsumerStats* stats = &consumer_->stats();
      std::string prefix = absl::StrCat("hub_", spec_.name, "_records_");
      metrics_.AddCallbackCounter(absl::StrCat(prefix, "handled_total"),
                                  "Consumed records whose effect is done.",
                                  [stats] { return static_cast<double>(stats->handled.load()); });
      metrics_.AddCallbackCounter(absl::StrCat(prefix, "retried_total"),
                                  "Transient handler failures that were retried.",
                                  [stats] { return static_cast<double>(stats->retried.load()); });
      metrics_.AddCallbackCounter(
          absl::StrCat(prefix, "dead_lettered_total"),
          "Records that could never be processed and went to the dead-letter topic.",
          [stats] { return static_cast<double>(stats->dead_lettered.load()); });
      health_->AddReadinessCheck({"consumer", [consumer] {
                                    return consumer->Ready() ? absl::OkStatus()
                                                             : absl::UnavailableError(
                                                                   "no partitions assigned yet");
                                  }});
    }

    grpc::EnableDefaultHealthCheckService(true);
    // Link the health protocol's descriptor in, so reflection clients can call it too.
    (void)grpc::health::v1::HealthCheckRequest::descriptor();
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    int bound_port = 0;
    builder.AddListeningPort(config.grpc.ToString(), grpc::InsecureServerCredentials(),
                             &bound_port);
    for (grpc::Service* grpc_service : service_->GrpcServices()) {
      builder.RegisterService(grpc_service);
    }
    grpc_server_ = builder.BuildAndStart();
    if (grpc_server_ == nullptr || bound_port == 0) {
      return absl::UnavailableError(absl::StrCat("cannot serve gRPC on ", config.grpc.ToString(),
                                                 ": the port is taken (setting --grpc-addr)"));
    }
    health_->Start();
    if (consumer_ != nullptr) {
      consumer_thread_ = std::thread([this] {
        absl::Status status = consumer_->Run();
        if (!status.ok()) {
          log::Error("consumer loop failed", {{"status", status.ToString()}});
          consumer_failed_ = true;
          (void)std::raise(SIGTERM);
        }
      });
    }
    log::Info("service started", {{"grpc", config.grpc.ToString()},
                                  {"http", config.http.ToString()},
                                  {"namespace", config.ns}});
    return absl::OkStatus();
  }

  // Tears down in the reverse order of Start; safe after a partial Start.
  void Stop() {
    if (health_ != nullptr) {
      health_->MarkStopping();
    }
    if (consumer_ != nullptr) {
      consumer_->Stop();
    }
    if (consumer_thread_.joinable()) {
      consumer_thread_.join();
    }
    if (service_ != nullptr) {
      service_->OnStopping();
    }
    if (grpc_server_ != nullptr) {
      grpc_server_->Shutdown(absl::ToChronoTime(absl::Now() + kGrpcShutdownDeadline));
    }
    if (producer_ != nullptr) {
      absl::Status flushed = producer_->Flush(kProducerFlushTimeout);
      if (!flushed.ok()) {
        log::Error("producer flush failed at shutdown", {{"status", flushed.ToString()}});
      }
    }
    if (health_ != nullptr) {
      health_->Stop();
    }
    log::Info("service stopped");
  }

  bool consumer_failed() const { return consumer_failed_; }
  Service* service() const { return service_.get(); }

 private:
  const ServiceSpec& spec_;
  ServiceContext context_;
  metrics::Registry metrics_;
  std::unique_ptr<identity::IdentityProvider> identity_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<http::HealthServer> health_;
  std::unique_ptr<kafka::ConsumerLoop> consumer_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::thread consumer_thread_;
  std::atomic<bool> consumer_failed_{false};
};

}  // namespace

absl::Status Service::Handle(const kafka::ConsumedRecord&) {
  return absl::UnimplementedError("this service consumes no records");
}

int RunService(int argc, char** argv, const ServiceSpec& spec) {
  // Debian builds Abseil with mutex deadlock detection on: a global graph lock on every
  // mutex acquisition (measured at 2-3 % of intake's CPU under load). Tests keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // A peer that closes a socket mid-write (Redis, Kafka, an HTTP channel) must be an error
  // on that write, never the end of the process.
  (void)std::signal(SIGPIPE, SIG_IGN);
  // Block the stop signals and SIGHUP in every thread; main waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::StatusOr<config::ConfigSource> source = config::ConfigSource::FromMain(argc, argv);
  if (!source.ok()) {
    std::cerr << "hub-" << spec.name << ": " << source.status().message() << "\n";
    return 2;
  }
  Process process(spec);
  absl::Status started = process.Start(*source);
  if (!started.ok()) {
    log::Error("service failed to start", {{"status", started.ToString()}});
    process.Stop();
    return started.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) == 0 && signal_number == SIGHUP) {
    log::Info("SIGHUP received: reloading");
    process.service()->OnReloadSignal();
  }
  log::Info("stop signal received", {{"signal", signal_number}});
  process.Stop();
  return process.consumer_failed() ? 1 : 0;
}

}  // namespace hub::runtime
