// hub.notification.v1.StaffTaskService: Hub staff's list of the messages that need a person
// (call tasks, and emails whose delivery is in doubt), and marking one done.
//
// The list is the outbox's task set (MessageStore::Tasks, oldest due first); each entry is
// shown from its stored OutgoingMessage without any personal data: staff open the victim's
// contact details in the case system, by case id and route index. An entry whose message
// is gone or already done (a crash between completing it and taking it off the list) is
// left out and taken off the list, so a page may hold fewer tasks than asked for.
//
// CompleteTask goes through Outbox::CompleteTask (compare-and-set on the stored message),
// records the caller's principal as completed_by, and is idempotent: a repeat returns the
// task as first completed, whatever outcome the repeat carries.
//
// Callers must be Hub staff ("staff:..." principals); anyone else is PERMISSION_DENIED and
// reaches nothing. Bad requests are INVALID_ARGUMENT with a google.rpc.BadRequest naming the
// field. Thread-safe (the store and outbox are); synchronous handlers.
#ifndef HUB_SERVICES_NOTIFICATION_TASK_API_H_
#define HUB_SERVICES_NOTIFICATION_TASK_API_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#include "hub/notification/v1/notification.grpc.pb.h"
#include "services/common/identity/identity.h"
#include "services/common/log/log.h"
#include "services/notification/outbox/message_store.h"
#include "services/notification/outbox/outbox.h"

namespace hub::notification {

inline constexpr int kDefaultTaskLimit = 50;
inline constexpr int kMaxTaskLimit = 500;
inline constexpr size_t kMaxTaskOutcomeBytes = 500;

inline constexpr char kTaskKindCall[] = "call";
inline constexpr char kTaskKindCheckEmail[] = "check_email_delivery";

// The staff view of a stored message: identifiers, kind, reason, the route to use and the
// completion, never its sealed data, address or variables. `due` is left unset.
hub::notification::v1::StaffTask ToStaffTask(const hub::notification::v1::OutgoingMessage& message);

// kInvalidArgument naming `outcome` unless `outcome` holds 1..kMaxTaskOutcomeBytes bytes
// besides surrounding white space, and does not look like an email address or a phone
// number (an outcome is kept and shown to other staff; personal data belongs in the case
// system).
absl::Status ValidateTaskOutcome(absl::string_view outcome);

class StaffTaskApi final : public hub::notification::v1::StaffTaskService::Service {
 public:
  // Every argument must outlive the service.
  StaffTaskApi(const identity::IdentityProvider* identity, outbox::MessageStore* store,
               outbox::Outbox* outbox);

  grpc::Status ListTasks(grpc::ServerContext* context,
                         const hub::notification::v1::ListTasksRequest* request,
                         hub::notification::v1::ListTasksResponse* response) override;
  grpc::Status CompleteTask(grpc::ServerContext* context,
                            const hub::notification::v1::CompleteTaskRequest* request,
                            hub::notification::v1::StaffTask* response) override;

 private:
  // The caller, when Hub staff; the status to answer with otherwise.
  absl::StatusOr<identity::CallerIdentity> Authorise(const grpc::ServerContext& context,
                                                     absl::string_view action) const;

  const identity::IdentityProvider* identity_;
  outbox::MessageStore* store_;
  outbox::Outbox* outbox_;
  log::RateLimiter stale_log_{5, absl::Minutes(1)};
};

}  // namespace hub::notification

#endif  // HUB_SERVICES_NOTIFICATION_TASK_API_H_
