// The process around every hub service: configuration, connections, the gRPC server, the
// Kafka consumer loop, the health endpoint and an orderly shutdown.
//
// A service's main.cc is three lines: it names the service, its default ports, and a
// factory that builds the service's own components from a ServiceContext. RunService
// then:
//   1. reads flags and environment into a validated ServiceConfig (exit 2 on bad config,
//      naming the setting);
//   2. connects to Redis (retrying for a while: the stack may still be starting) and
//      creates the Kafka producer;
//   3. serves gRPC (with the standard health service and server reflection, so grpcurl
//      can discover the API) and /healthz, /readyz, /metrics;
//   4. runs the consumer loop, if the service consumes, on its own thread;
//   5. on SIGHUP calls the service's OnReloadSignal and carries on;
//   6. on SIGTERM or SIGINT: marks itself not ready, stops the consumer (committing the
//      offsets of finished records), shuts the gRPC server down with a deadline, flushes
//      the producer, and exits 0.
#ifndef HUB_SERVICES_COMMON_RUNTIME_SERVICE_RUNTIME_H_
#define HUB_SERVICES_COMMON_RUNTIME_SERVICE_RUNTIME_H_

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "services/common/clock/clock.h"
#include "services/common/config/config.h"
#include "services/common/events/topics.h"
#include "services/common/http/health_server.h"
#include "services/common/identity/identity.h"
#include "services/common/kafka/kafka.h"
#include "services/common/metrics/metrics.h"
#include "services/common/redis/redis_client.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace hub::runtime {

// Everything a service's components may use. Owned by RunService; outlives the service.
struct ServiceContext {
  config::ServiceConfig config;
  std::shared_ptr<clock::Clock> clock;
  metrics::Registry* metrics = nullptr;
  redis::RedisClient* redis = nullptr;
  kafka::Producer* producer = nullptr;
  identity::IdentityProvider* identity = nullptr;
  events::TopicNames topics;
  // The raw settings, for a service's own extra settings.
  const config::ConfigSource* settings = nullptr;
};

// What a service contributes to the process.
class Service {
 public:
  virtual ~Service() = default;
  // gRPC services to serve, owned by the Service. The standard health and reflection
  // services are added by the runtime.
  virtual std::vector<grpc::Service*> GrpcServices() { return {}; }
  // Topics to consume; none means the service has no consumer loop.
  virtual std::vector<std::string> ConsumedTopics() { return {}; }
  // Handles one consumed record (see kafka::RecordHandler for what the status means).
  virtual absl::Status Handle(const kafka::ConsumedRecord& record);
  // Extra readiness checks beyond Redis and the consumer.
  virtual std::vector<http::ReadinessCheck> ReadinessChecks() { return {}; }
  // SIGHUP: reload configuration files (the default does nothing). Called on the main
  // thread while the service runs.
  virtual void OnReloadSignal() {}
  // Shutdown has begun: end long-lived work (open server streams, background threads)
  // promptly. Called after the consumer stopped and before the gRPC server shuts down.
  virtual void OnStopping() {}
};

struct ServiceSpec {
  // "intake", "triage", "routing", "notification".
  std::string name;
  config::ServiceDefaults defaults;
  // The topics the service publishes to (including the dead-letter topic if it consumes),
  // so the producer fetches their metadata at start and no others.
  std::function<std::vector<std::string>(const events::TopicNames&)> produces;
  // Settings the service reads beyond the shared ones (so unknown flags are refused).
  std::set<std::string> extra_settings;
  std::function<absl::StatusOr<std::unique_ptr<Service>>(ServiceContext&)> factory;
  // Optional: checks the files the service reads (rules, tables) from its settings before
  // anything connects; an error stops the start with exit code 2 and its message.
  std::function<absl::Status(const config::ConfigSource&)> check_files;
};

// Runs the service until SIGTERM/SIGINT. Returns the process exit code: 0 after a clean
// shutdown, 2 for bad configuration, 1 for any other failure to start or run.
int RunService(int argc, char** argv, const ServiceSpec& spec);

}  // namespace hub::runtime

#endif  // HUB_SERVICES_COMMON_RUNTIME_SERVICE_RUNTIME_H_
