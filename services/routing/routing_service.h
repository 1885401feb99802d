// The routing stage: consumes NeedsAssessed, chooses the provider, publishes
// ReferralRouted and records the case as ROUTED. It also serves hub.cases.v1.CaseService,
// the read API for a case's live state and history.
//
// Idempotent like every stage (see services/common/stage/stage.h). Thread-safe.
#ifndef HUB_SERVICES_ROUTING_ROUTING_SERVICE_H_
#define HUB_SERVICES_ROUTING_ROUTING_SERVICE_H_

#include <string>
#include <vector>

#include "services/common/casestate/case_service.h"
#include "services/common/casestate/case_store.h"
#include "services/common/runtime/service_runtime.h"
#include "services/common/stage/stage.h"

namespace hub::routing {

class RoutingService : public runtime::Service {
 public:
  explicit RoutingService(runtime::ServiceContext& context);

  std::vector<grpc::Service*> GrpcServices() override { return {&cases_api_}; }
  std::vector<std::string> ConsumedTopics() override;
  absl::Status Handle(const kafka::ConsumedRecord& record) override;

 private:
  runtime::ServiceContext& context_;
  casestate::CaseStore store_;
  stage::StageRecorder recorder_;
  casestate::CaseServiceImpl cases_api_;
};

}  // namespace hub::routing

#endif  // HUB_SERVICES_ROUTING_ROUTING_SERVICE_H_
