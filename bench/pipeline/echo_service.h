// The benchmark's baseline service: hub.bench.v1.EchoService, which answers every call
// with the payload it was sent.
//
// It does nothing else on purpose: no identity check, no state, no logging. Its throughput
// is what gRPC itself reaches for a message the size of a crime report on this machine, so
// the pipeline's throughput can be stated as a fraction of it. Uses the callback API (as the
// hub's services do) and finishes each call inline. Stateless, so thread-safe.
#ifndef HUB_BENCH_PIPELINE_ECHO_SERVICE_H_
#define HUB_BENCH_PIPELINE_ECHO_SERVICE_H_

#include "bench/pipeline/echo.grpc.pb.h"

namespace hub::bench {

class EchoServiceImpl final : public hub::bench::v1::EchoService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const hub::bench::v1::EchoRequest* request,
                                 hub::bench::v1::EchoResponse* response) override;
};

}  // namespace hub::bench

#endif  // HUB_BENCH_PIPELINE_ECHO_SERVICE_H_
