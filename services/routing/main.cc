// hub-routing: matching, referrals and the case read API.
#include "services/common/runtime/service_runtime.h"
#include "services/routing/routing_service.h"

int main(int argc, char** argv) {
  hub::runtime::ServiceSpec spec;
  spec.name = "routing";
  spec.defaults = {{"127.0.0.1", 50053}, {"127.0.0.1", 19103}};
  spec.produces = [](const hub::events::TopicNames& topics) {
    return std::vector<std::string>{topics.referral_routed, topics.dead_letter};
  };
  spec.factory = [](hub::runtime::ServiceContext& context)
      -> absl::StatusOr<std::unique_ptr<hub::runtime::Service>> {
    return std::make_unique<hub::routing::RoutingService>(context);
  };
  return hub::runtime::RunService(argc, argv, spec);
}
