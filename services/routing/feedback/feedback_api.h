// hub.routing.v1.ForceFeedbackService over the FeedbackStore: a police force's systems learn
// what happened to the victims they reported, so the officer in the case has the enhanced
// flag the Victims' Code requires be passed on, and whether support was made, accepted and
// closed.
//
// Callers must be police systems ("police:<FORCE>:<system>"); the force code is the
// principal's organisation, and a force only ever sees its own cases. Any other kind of
// caller is PERMISSION_DENIED.
//
// GetCrimeFeedback: the force's cases of one crime reference, by case id, each with the
// token of its last change. None (including another force's crime) is NOT_FOUND, so a force
// cannot learn which other forces' crime references exist. A bad crime_reference is
// INVALID_ARGUMENT with a google.rpc.BadRequest naming the field.
//
// FollowFeedback: every change to the force's cases after `after_token` (empty: from the
// oldest change retained; the store keeps about stream_max_len changes per force), oldest
// first, each a whole CaseFeedback with `token` set, then new changes as they happen
// (polled every poll_interval), until the client cancels or Shutdown(). Each message is the
// case's full state, so a client applies the latest per case_id and stores the token of the
// last message it processed; following again after that token repeats and skips nothing.
//   - A malformed after_token is INVALID_ARGUMENT (BadRequest on after_token).
//   - A token that can no longer be resumed from is OUT_OF_RANGE, never a silent jump: the
//     changes right after it were trimmed from the feed (the client was away for more
//     changes than are retained), or it is beyond the newest change (not a token of this
//     force's feed, or the hub's store was reset). Changes may have been missed, so the
//     client must re-read the crimes it tracks with GetCrimeFeedback and then follow again
//     with an empty token. (A force's integration would rather stop loudly than lose an
//     enhanced flag quietly; the same happens mid-stream if a client falls that far behind.)
//   - Redis unreachable: UNAVAILABLE; Shutdown(): UNAVAILABLE. Follow again with the last
//     token received.
// A FollowFeedback call holds one server thread while it runs (synchronous API).
//
// Thread-safe. Call Shutdown() before shutting the gRPC server down, so open streams end at
// once instead of at the server's deadline.
#ifndef HUB_SERVICES_ROUTING_FEEDBACK_FEEDBACK_API_H_
#define HUB_SERVICES_ROUTING_FEEDBACK_FEEDBACK_API_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

#include "hub/routing/v1/provider.grpc.pb.h"
#include "services/common/identity/identity.h"
#include "services/routing/feedback/feedback_store.h"

namespace hub::routing::feedback {

struct ForceFeedbackApiOptions {
  // How often an open FollowFeedback looks for new changes once it has caught up.
  absl::Duration poll_interval = absl::Milliseconds(200);
  // Changes read from Redis per step: 1 to FeedbackStore::kMaxReadLimit (clamped).
  int batch = 100;
};

class ForceFeedbackApi final : public hub::routing::v1::ForceFeedbackService::Service {
 public:
  // `identity` and `store` must outlive the service.
  ForceFeedbackApi(const identity::IdentityProvider* identity, FeedbackStore* store,
                   ForceFeedbackApiOptions options = {});

  grpc::Status GetCrimeFeedback(grpc::ServerContext* context,
                                const hub::routing::v1::GetCrimeFeedbackRequest* request,
                                hub::routing::v1::CrimeFeedback* response) override;

  grpc::Status FollowFeedback(grpc::ServerContext* context,
                              const hub::routing::v1::FollowFeedbackRequest* request,
                              grpc::ServerWriter<hub::routing::v1::CaseFeedback>* writer) override;

  // Ends every open FollowFeedback (UNAVAILABLE) and refuses new ones. Idempotent.
  void Shutdown();

 private:
  // The caller's force code, or the status to answer with.
  absl::StatusOr<std::string> CallerForce(const grpc::ServerContext& context,
                                          absl::string_view action) const;
  // Waits one poll interval; true when Shutdown() was called.
  bool WaitOrShutdown();
  bool ShuttingDown();

  const identity::IdentityProvider* identity_;
  FeedbackStore* store_;
  ForceFeedbackApiOptions options_;

  absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace hub::routing::feedback

#endif  // HUB_SERVICES_ROUTING_FEEDBACK_FEEDBACK_API_H_
