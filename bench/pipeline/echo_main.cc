// hub-bench-echo: serves hub.bench.v1.EchoService on 127.0.0.1:PORT, the baseline that
// bench/pipeline/run measures the hub against.
//
//   hub-bench-echo --port=PORT [--lifetime=30m]
//
// Settings follow the services' convention (services/common/config): `--name=value`, or
// the variable HUB_<NAME> when the flag is absent. Loopback only, like everything the
// benchmark starts. Stops on SIGTERM or SIGINT, and by itself after --lifetime, so a
// benchmark run that was killed cannot leave it behind for long.
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include <grpcpp/grpcpp.h>

#include "bench/pipeline/echo_service.h"
#include "services/common/config/config.h"

namespace {

// Waits for SIGTERM/SIGINT (already blocked in every thread) or the end of the lifetime.
void WaitForStop(const sigset_t& stop_signals, absl::Duration lifetime) {
  const absl::Time end =
      lifetime > absl::ZeroDuration() ? absl::Now() + lifetime : absl::InfiniteFuture();
  while (true) {
    const absl::Duration left = end - absl::Now();
    if (left <= absl::ZeroDuration()) {
      std::cerr << "hub-bench-echo: lifetime over, stopping\n";
      return;
    }
    // Wake at least every minute so an infinite lifetime needs no special case.
    const timespec wait = absl::ToTimespec(std::min(left, absl::Minutes(1)));
    const int signal_number = sigtimedwait(&stop_signals, nullptr, &wait);
    if (signal_number > 0) {
      return;
    }
    if (errno != EAGAIN && errno != EINTR) {
      std::cerr << "hub-bench-echo: sigtimedwait failed (errno " << errno << ")\n";
      return;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<hub::config::ConfigSource> source =
      hub::config::ConfigSource::FromMain(argc, argv);
  absl::Status unknown =
      source.ok() ? source->CheckNoUnknownFlags({"port", "lifetime"}) : source.status();
  if (!unknown.ok()) {
    std::cerr << "hub-bench-echo: " << unknown.message()
              << "\nusage: hub-bench-echo --port=PORT [--lifetime=30m]\n";
    return 2;
  }
  absl::StatusOr<int64_t> port = hub::config::GetInt(*source, "port", 0, 1, 65535);
  // 0 means no limit: run until SIGTERM or SIGINT.
  absl::StatusOr<absl::Duration> lifetime = hub::config::GetDuration(
      *source, "lifetime", absl::ZeroDuration(), absl::ZeroDuration(), absl::Hours(24));
  for (const absl::Status& status : {port.status(), lifetime.status()}) {
    if (!status.ok()) {
      std::cerr << "hub-bench-echo: " << status.message() << "\n";
      return 2;
    }
  }
  if (*port == 0) {
    std::cerr << "hub-bench-echo: --port is required\n";
    return 2;
  }

  // Blocked before any gRPC thread exists, so every thread inherits the mask and only
  // sigtimedwait below ever receives these signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  hub::bench::EchoServiceImpl service;
  grpc::ServerBuilder builder;
  const std::string addr = absl::StrCat("127.0.0.1:", *port);
  int bound_port = 0;
  builder.AddListeningPort(addr, grpc::InsecureServerCredentials(), &bound_port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_port == 0) {
    std::cerr << "hub-bench-echo: cannot serve on " << addr << " (port taken?)\n";
    return 1;
  }
  std::cerr << "hub-bench-echo: serving on " << addr << "\n";

  WaitForStop(stop_signals, *lifetime);
  server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  return 0;
}
