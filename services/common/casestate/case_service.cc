#include "services/common/casestate/case_service.h"

#include <string>

#include "absl/strings/str_cat.h"

#include "services/common/rpc/error_details.h"

namespace hub::casestate {

CaseServiceImpl::CaseServiceImpl(CaseStore* store, const identity::IdentityProvider* identity)
    : store_(store), identity_(identity) {}

absl::Status CaseServiceImpl::Authorise(const grpc::ServerContext& context) const {
  absl::StatusOr<identity::CallerIdentity> caller = identity_->Identify(context);
  if (!caller.ok()) {
    return caller.status();
  }
  return identity::RequireKind(
      *caller, {identity::CallerKind::kStaff, identity::CallerKind::kService}, "read cases");
}

grpc::Status CaseServiceImpl::GetCase(grpc::ServerContext* context,
                                      const hub::cases::v1::GetCaseRequest* request,
                                      hub::cases::v1::GetCaseResponse* response) {
  if (absl::Status allowed = Authorise(*context); !allowed.ok()) {
    return rpc::ToGrpcStatus(allowed);
  }
  absl::StatusOr<std::optional<hub::cases::v1::CaseState>> state = store_->Get(request->case_id());
  if (!state.ok()) {
    return rpc::ToGrpcStatus(state.status());
  }
  if (!state->has_value()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("case_id: no case ", request->case_id()));
  }
  *response->mutable_state() = **std::move(state);
  return grpc::Status::OK;
}

grpc::Status CaseServiceImpl::ListCases(grpc::ServerContext* context,
                                        const hub::cases::v1::ListCasesRequest* request,
                                        hub::cases::v1::ListCasesResponse* response) {
  if (absl::Status allowed = Authorise(*context); !allowed.ok()) {
    return rpc::ToGrpcStatus(allowed);
  }
  if (request->limit() > 1000) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "limit: must be 0-1000");
  }
  int limit = request->limit() == 0 ? 50 : static_cast<int>(request->limit());
  absl::StatusOr<std::vector<hub::cases::v1::CaseState>> cases = store_->ListRecent(limit);
  if (!cases.ok()) {
    return rpc::ToGrpcStatus(cases.status());
  }
  for (hub::cases::v1::CaseState& state : *cases) {
    *response->add_cases() = std::move(state);
  }
  return grpc::Status::OK;
}

}  // namespace hub::casestate
