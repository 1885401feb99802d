#include "services/common/rpc/error_details.h"

#include "google/rpc/status.pb.h"

namespace hub::rpc {

grpc::Status InvalidArgument(const std::string& message,
                             const std::vector<FieldViolation>& violations) {
  google::rpc::BadRequest bad_request;
  for (const FieldViolation& violation : violations) {
    google::rpc::BadRequest::FieldViolation* added = bad_request.add_field_violations();
    added->set_field(violation.field);
    added->set_description(violation.description);
  }
  google::rpc::Status status;
  status.set_code(grpc::StatusCode::INVALID_ARGUMENT);
  status.set_message(message);
  status.add_details()->PackFrom(bad_request);
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message, status.SerializeAsString());
}

absl::StatusOr<google::rpc::BadRequest> BadRequestOf(const grpc::Status& status) {
  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) {
    return absl::NotFoundError("the status carries no google.rpc.Status details");
  }
  for (const google::protobuf::Any& detail : details.details()) {
    google::rpc::BadRequest bad_request;
    if (detail.UnpackTo(&bad_request)) {
      return bad_request;
    }
  }
  return absl::NotFoundError("the status details hold no google.rpc.BadRequest");
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) {
    return grpc::Status::OK;
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace hub::rpc
