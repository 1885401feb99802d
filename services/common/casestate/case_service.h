// hub.cases.v1.CaseService over the CaseStore: reading a case's live state and history.
//
// Only Hub staff and the hub's own services may read cases; every other caller gets
// PERMISSION_DENIED. Read-only and thread-safe.
#ifndef HUB_SERVICES_COMMON_CASESTATE_CASE_SERVICE_H_
#define HUB_SERVICES_COMMON_CASESTATE_CASE_SERVICE_H_

#include "hub/cases/v1/cases.grpc.pb.h"
#include "services/common/casestate/case_store.h"
#include "services/common/identity/identity.h"

namespace hub::casestate {

class CaseServiceImpl final : public hub::cases::v1::CaseService::Service {
 public:
  // `store` and `identity` must outlive the service.
  CaseServiceImpl(CaseStore* store, const identity::IdentityProvider* identity);

  grpc::Status GetCase(grpc::ServerContext* context, const hub::cases::v1::GetCaseRequest* request,
                       hub::cases::v1::GetCaseResponse* response) override;
  grpc::Status ListCases(grpc::ServerContext* context,
                         const hub::cases::v1::ListCasesRequest* request,
                         hub::cases::v1::ListCasesResponse* response) override;

 private:
  absl::Status Authorise(const grpc::ServerContext& context) const;

  CaseStore* store_;
  const identity::IdentityProvider* identity_;
};

}  // namespace hub::casestate

#endif  // HUB_SERVICES_COMMON_CASESTATE_CASE_SERVICE_H_
