// Rich gRPC errors: INVALID_ARGUMENT carrying a google.rpc.BadRequest with one field
// violation per bad field, in the standard `grpc-status-details-bin` trailer, so any gRPC
// client (grpcurl, Java's StatusProto, Go's status.FromError) can list them.
//
// Also converts absl::Status to grpc::Status for handlers. Pure and thread-safe.
#ifndef HUB_SERVICES_COMMON_RPC_ERROR_DETAILS_H_
#define HUB_SERVICES_COMMON_RPC_ERROR_DETAILS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/rpc/error_details.pb.h"
#include <grpcpp/support/status.h>

namespace hub::rpc {

struct FieldViolation {
  std::string field;
  std::string description;
};

// INVALID_ARGUMENT with `message` and a BadRequest listing `violations`.
grpc::Status InvalidArgument(const std::string& message,
                             const std::vector<FieldViolation>& violations);

// The BadRequest a status carries, or kNotFound when it carries none.
absl::StatusOr<google::rpc::BadRequest> BadRequestOf(const grpc::Status& status);

// Same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace hub::rpc

#endif  // HUB_SERVICES_COMMON_RPC_ERROR_DETAILS_H_
