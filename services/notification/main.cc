// hub-notification: what victims, providers and staff are told, and how.
#include "services/common/runtime/service_runtime.h"
#include "services/notification/notification_service.h"

int main(int argc, char** argv) {
  hub::runtime::ServiceSpec spec;
  spec.name = "notification";
  spec.defaults = {{"127.0.0.1", 50054}, {"127.0.0.1", 19104}};
  spec.produces = [](const hub::events::TopicNames& topics) {
    return std::vector<std::string>{topics.notification_recorded, topics.dead_letter};
  };
  spec.factory = [](hub::runtime::ServiceContext& context)
      -> absl::StatusOr<std::unique_ptr<hub::runtime::Service>> {
    return std::make_unique<hub::notification::NotificationService>(context);
  };
  return hub::runtime::RunService(argc, argv, spec);
}
