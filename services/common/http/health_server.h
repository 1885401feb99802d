// The operations endpoint every service runs beside its gRPC port:
//   GET /healthz  200 while the process is alive and not shutting down
//   GET /readyz   200 when every readiness check passes, else 503 listing the failures
//   GET /metrics  the service's Prometheus metrics
// Readiness checks are cheap functions (is the consumer assigned? does Redis answer a
// PING?) that must not block for long: a load balancer or the stack script polls them.
//
// Lifecycle: Create() binds the port (so a taken port fails start-up, naming it), Start()
// serves on a background thread, Stop() (or the destructor) stops serving. Thread-safe.
#ifndef HUB_SERVICES_COMMON_HTTP_HEALTH_SERVER_H_
#define HUB_SERVICES_COMMON_HTTP_HEALTH_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "services/common/config/config.h"
#include "services/common/metrics/metrics.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace hub::http {

// A named readiness check: OK when ready, otherwise the reason (no personal data).
struct ReadinessCheck {
  std::string name;
  std::function<absl::Status()> check;
};

class HealthServer {
 public:
  static absl::StatusOr<std::unique_ptr<HealthServer>> Create(const config::HostPort& address,
                                                              const metrics::Registry* registry);
  ~HealthServer();
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

  void AddReadinessCheck(ReadinessCheck check);
  // Serves on a background thread.
  void Start();
  // /healthz and /readyz answer 503 from now on (shutdown has begun).
  void MarkStopping() { stopping_ = true; }
  void Stop();
  // The bound port (useful when created with port 0).
  int port() const { return port_; }

 private:
  HealthServer() = default;
  std::string ReadyReport(bool* ready) const;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::vector<ReadinessCheck> checks_;
  const metrics::Registry* registry_ = nullptr;
};

}  // namespace hub::http

#endif  // HUB_SERVICES_COMMON_HTTP_HEALTH_SERVER_H_
