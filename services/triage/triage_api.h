// hub.triage.v1.TriageService: Hub staff ask for a re-assessment, and read a case's
// assessment history. See protos/hub/triage/v1/triage.proto for the contract.
//
// RequestReassessment validates the request (every problem listed as a BadRequest field
// violation), checks triage holds the case, publishes ReassessmentRequested and waits for
// Kafka to store it (acks=all) before answering; the consumer loop then re-assesses. The
// event id is derived from the caller and request id, so a retried request republishes the
// same event, which the consumer applies once. Thread-safe.
#ifndef HUB_SERVICES_TRIAGE_TRIAGE_API_H_
#define HUB_SERVICES_TRIAGE_TRIAGE_API_H_

#include <string>
#include <vector>

#include "hub/triage/v1/triage.grpc.pb.h"
#include "services/common/rpc/error_details.h"
#include "services/common/runtime/service_runtime.h"
#include "services/triage/rules.h"
#include "services/triage/triage_store.h"

namespace hub::triage {

class TriageApi final : public hub::triage::v1::TriageService::Service {
 public:
  // All must outlive the API.
  TriageApi(runtime::ServiceContext& context, TriageStore* store, RuleBookSource* rules);

  grpc::Status RequestReassessment(grpc::ServerContext* context,
                                   const hub::triage::v1::RequestReassessmentRequest* request,
                                   hub::triage::v1::RequestReassessmentResponse* response) override;
  grpc::Status GetAssessments(grpc::ServerContext* context,
                              const hub::triage::v1::GetAssessmentsRequest* request,
                              hub::triage::v1::GetAssessmentsResponse* response) override;

 private:
  runtime::ServiceContext& context_;
  TriageStore* store_;
  RuleBookSource* rules_;
};

// Every problem with a re-assessment request; empty when it is valid. `offences` names the
// need domains that may be added.
std::vector<rpc::FieldViolation> ValidateReassessmentRequest(
    const hub::triage::v1::RequestReassessmentRequest& request,
    const offences::OffenceTable& offences);

}  // namespace hub::triage

#endif  // HUB_SERVICES_TRIAGE_TRIAGE_API_H_
