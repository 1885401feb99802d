// hub-triage: the Initial Victim Needs Assessment stage.
#include "services/common/runtime/service_runtime.h"
#include "services/triage/triage_service.h"

int main(int argc, char** argv) {
  hub::runtime::ServiceSpec spec;
  spec.name = "triage";
  spec.defaults = {{"127.0.0.1", 50052}, {"127.0.0.1", 19102}};
  spec.produces = [](const hub::events::TopicNames& topics) {
    return std::vector<std::string>{topics.needs_assessed, topics.dead_letter};
  };
  spec.factory = [](hub::runtime::ServiceContext& context)
      -> absl::StatusOr<std::unique_ptr<hub::runtime::Service>> {
    return std::make_unique<hub::triage::TriageService>(context);
  };
  return hub::runtime::RunService(argc, argv, spec);
}
