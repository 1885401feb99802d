#include "services/common/http/health_server.h"

#include <httplib.h>

#include "absl/strings/str_cat.h"

namespace hub::http {

absl::StatusOr<std::unique_ptr<HealthServer>> HealthServer::Create(
    const config::HostPort& address, const metrics::Registry* registry) {
  std::unique_ptr<HealthServer> server(new HealthServer());
  server->registry_ = registry;
  server->server_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *server->server_;
  // httplib's default sets SO_REUSEPORT, which would let a second stack silently share
  // this port. SO_REUSEADDR alone allows a quick restart but refuses a live listener.
  http.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  HealthServer* self = server.get();
  http.Get("/healthz", [self](const httplib::Request&, httplib::Response& response) {
    if (self->stopping_) {
      response.status = 503;
      response.set_content("stopping\n", "text/plain");
      return;
    }
    response.set_content("ok\n", "text/plain");
  });
  http.Get("/readyz", [self](const httplib::Request&, httplib::Response& response) {
    bool ready = false;
    std::string report = self->ReadyReport(&ready);
    response.status = ready ? 200 : 503;
    response.set_content(report, "text/plain");
  });
  http.Get("/metrics", [self](const httplib::Request&, httplib::Response& response) {
    response.set_content(self->registry_ != nullptr ? self->registry_->Render() : "",
                         "text/plain; version=0.0.4");
  });
  int port = address.port;
  if (port == 0) {
    port = http.bind_to_any_port(address.host);
  } else if (!http.bind_to_port(address.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for /healthz and /metrics on ", address.ToString(),
                     ": the port is taken or the address is not local (setting --http-addr)"));
  }
  server->port_ = port;
  return server;
}

HealthServer::~HealthServer() { Stop(); }

void HealthServer::AddReadinessCheck(ReadinessCheck check) { checks_.push_back(std::move(check)); }

std::string HealthServer::ReadyReport(bool* ready) const {
  *ready = !stopping_;
  std::string report = stopping_ ? "stopping: shutdown in progress\n" : "";
  for (const ReadinessCheck& check : checks_) {
    absl::Status status = check.check();
    if (status.ok()) {
      absl::StrAppend(&report, check.name, ": ok\n");
    } else {
      *ready = false;
      absl::StrAppend(&report, check.name, ": ", status.ToString(), "\n");
    }
  }
  return report;
}

void HealthServer::Start() {
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

void HealthServer::Stop() {
  stopping_ = true;
  if (server_ != nullptr) {
    server_->stop();
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

}  // namespace hub::http
