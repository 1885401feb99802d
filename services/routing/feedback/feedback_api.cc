#include "services/routing/feedback/feedback_api.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include <grpcpp/server_context.h>

#include "services/common/rpc/error_details.h"

namespace hub::routing::feedback {
namespace {

using hub::routing::v1::CaseFeedback;

constexpr char kNoCases[] = "no cases for this crime reference from your force";
constexpr char kShuttingDown[] =
    "the hub is shutting down: follow again with the last token received";

grpc::Status BadField(const std::string& field, const absl::Status& status) {
  return rpc::InvalidArgument(std::string(status.message()),
                              {{field, std::string(status.message())}});
}

grpc::Status FollowError(const absl::Status& status) {
  if (absl::IsOutOfRange(status)) {
    return grpc::Status(
        grpc::StatusCode::OUT_OF_RANGE,
        absl::StrCat(status.message(),
                     ": changes may have been missed; re-read the crimes you track with "
                     "GetCrimeFeedback, then follow again with an empty after_token"));
  }
  return rpc::ToGrpcStatus(status);
}

}  // namespace

ForceFeedbackApi::ForceFeedbackApi(const identity::IdentityProvider* identity, FeedbackStore* store,
                                   ForceFeedbackApiOptions options)
    : identity_(identity), store_(store), options_(options) {
  options_.batch = std::clamp(options_.batch, 1, FeedbackStore::kMaxReadLimit);
  options_.poll_interval = std::max(options_.poll_interval, absl::Milliseconds(1));
}

absl::StatusOr<std::string> ForceFeedbackApi::CallerForce(const grpc::ServerContext& context,
                                                          absl::string_view action) const {
  absl::StatusOr<identity::CallerIdentity> caller = identity_->Identify(context);
  if (!caller.ok()) {
    return caller.status();
  }
  absl::Status allowed =
      identity::RequireKind(*caller, {identity::CallerKind::kPoliceSystem}, action);
  if (!allowed.ok()) {
    return allowed;
  }
  absl::Status valid = ValidateForce("caller force", caller->organisation);
  if (!valid.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("caller ", caller->principal, " does not name a force the hub knows"));
  }
  return caller->organisation;
}

grpc::Status ForceFeedbackApi::GetCrimeFeedback(
    grpc::ServerContext* context, const hub::routing::v1::GetCrimeFeedbackRequest* request,
    hub::routing::v1::CrimeFeedback* response) {
  absl::StatusOr<std::string> force = CallerForce(*context, "read force feedback");
  if (!force.ok()) {
    return rpc::ToGrpcStatus(force.status());
  }
  absl::Status valid = ValidateCrimeReference("crime_reference", request->crime_reference());
  if (!valid.ok()) {
    return BadField("crime_reference", valid);
  }
  absl::StatusOr<std::vector<CaseFeedback>> cases =
      store_->GetCrime(*force, request->crime_reference());
  if (!cases.ok()) {
    return rpc::ToGrpcStatus(cases.status());
  }
  if (cases->empty()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, kNoCases);
  }
  response->set_crime_reference(request->crime_reference());
  for (CaseFeedback& feedback : *cases) {
    *response->add_cases() = std::move(feedback);
  }
  return grpc::Status::OK;
}

grpc::Status ForceFeedbackApi::FollowFeedback(
    grpc::ServerContext* context, const hub::routing::v1::FollowFeedbackRequest* request,
    grpc::ServerWriter<CaseFeedback>* writer) {
  absl::StatusOr<std::string> force = CallerForce(*context, "follow force feedback");
  if (!force.ok()) {
    return rpc::ToGrpcStatus(force.status());
  }
  std::optional<FeedToken> after;
  if (!request->after_token().empty()) {
    absl::StatusOr<FeedToken> token = ParseFeedToken("after_token", request->after_token());
    if (!token.ok()) {
      return BadField("after_token", token.status());
    }
    after = *token;
  }
  while (true) {
    if (context->IsCancelled()) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled");
    }
    if (ShuttingDown()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, kShuttingDown);
    }
    absl::StatusOr<std::vector<CaseFeedback>> changes =
        store_->ReadChanges(*force, after, options_.batch);
    if (!changes.ok()) {
      return FollowError(changes.status());
    }
    for (const CaseFeedback& change : *changes) {
      absl::StatusOr<FeedToken> token = ParseFeedToken("token", change.token());
      if (!token.ok()) {
        return grpc::Status(grpc::StatusCode::INTERNAL, "a stored change has no valid token");
      }
      if (!writer->Write(change)) {
        return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
      }
      after = *token;
    }
    if (static_cast<int>(changes->size()) < options_.batch && WaitOrShutdown()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, kShuttingDown);
    }
  }
}

void ForceFeedbackApi::Shutdown() {
  absl::MutexLock lock(&mu_);
  shutting_down_ = true;
}

bool ForceFeedbackApi::ShuttingDown() {
  absl::MutexLock lock(&mu_);
  return shutting_down_;
}

bool ForceFeedbackApi::WaitOrShutdown() {
  absl::MutexLock lock(&mu_);
  // Wakes as soon as Shutdown() sets the flag (Mutex conditions are re-checked on unlock).
  mu_.AwaitWithTimeout(absl::Condition(&shutting_down_), options_.poll_interval);
  return shutting_down_;
}

}  // namespace hub::routing::feedback
