// hub-intake: the gRPC front door for police crime-recording systems.
#include "hub/intake/v1/intake.grpc.pb.h"
#include "services/common/runtime/service_runtime.h"
#include "services/intake/intake_service.h"

namespace {

class IntakeProcess : public hub::runtime::Service {
 public:
  explicit IntakeProcess(hub::runtime::ServiceContext& context)
      : api_(hub::intake::IntakeDeps{context.producer, context.redis, context.identity,
                                     context.clock, context.metrics, context.config.ns,
                                     context.topics.crime_reported}) {}
  std::vector<grpc::Service*> GrpcServices() override { return {&api_}; }

 private:
  hub::intake::IntakeServiceImpl api_;
};

}  // namespace

int main(int argc, char** argv) {
  hub::runtime::ServiceSpec spec;
  spec.name = "intake";
  spec.defaults = {{"127.0.0.1", 50051}, {"127.0.0.1", 19101}};
  spec.produces = [](const hub::events::TopicNames& topics) {
    return std::vector<std::string>{topics.crime_reported};
  };
  spec.factory = [](hub::runtime::ServiceContext& context)
      -> absl::StatusOr<std::unique_ptr<hub::runtime::Service>> {
    return std::make_unique<IntakeProcess>(context);
  };
  return hub::runtime::RunService(argc, argv, spec);
}
