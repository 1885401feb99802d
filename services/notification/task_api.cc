#include "services/notification/task_api.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include <grpcpp/server_context.h>

#include "services/common/log/log.h"
#include "services/common/rpc/error_details.h"

namespace hub::notification {
namespace {

using google::protobuf::util::TimeUtil;
using hub::notification::v1::OutgoingMessage;
using hub::notification::v1::StaffTask;

// Digits in a phone number as people write it: 01223 456789, +44 7700 900123.
constexpr int kPhoneDigits = 10;

grpc::Status BadField(const std::string& field, const absl::Status& status) {
  return rpc::InvalidArgument(std::string(status.message()),
                              {{field, std::string(status.message())}});
}

bool IsWordChar(char c) { return absl::ascii_isalnum(c) || c == '_'; }

// A run of digits, spaces, '+', '(' and ')' standing alone (not inside a word or an id
// such as a case id) with kPhoneDigits digits or more.
bool LooksLikePhoneNumber(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const bool starts_run = absl::ascii_isdigit(c) || c == '+' || c == '(';
    if (!starts_run || (i > 0 && IsWordChar(text[i - 1]))) {
      ++i;
      continue;
    }
    size_t end = i;
    int digits = 0;
    while (end < text.size() && (absl::ascii_isdigit(text[end]) || text[end] == ' ' ||
                                 text[end] == '+' || text[end] == '(' || text[end] == ')')) {
      digits += absl::ascii_isdigit(text[end]) ? 1 : 0;
      ++end;
    }
    while (text[end - 1] == ' ') {
      --end;  // A trailing space belongs to the next word.
    }
    const bool stands_alone = end == text.size() || !IsWordChar(text[end]);
    if (digits >= kPhoneDigits && stands_alone) {
      return true;
    }
    i = end + 1;
  }
  return false;
}

// Something@something.something.
bool LooksLikeEmailAddress(absl::string_view text) {
  for (size_t at = text.find('@'); at != absl::string_view::npos; at = text.find('@', at + 1)) {
    if (at == 0 || at + 1 >= text.size() || !IsWordChar(text[at - 1]) ||
        !IsWordChar(text[at + 1])) {
      continue;
    }
    const size_t word_end = text.find_first_of(" \t\r\n,;", at + 1);
    const absl::string_view domain = text.substr(
        at + 1, word_end == absl::string_view::npos ? absl::string_view::npos : word_end - at - 1);
    const size_t dot = domain.find('.');
    if (dot != absl::string_view::npos && dot + 1 < domain.size()) {
      return true;
    }
  }
  return false;
}

google::protobuf::Timestamp ToProto(absl::Time time) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(time));
}

bool IsOpenTask(const OutgoingMessage& message) {
  return message.state() == hub::notification::v1::MESSAGE_STATE_CALL_TASK &&
         !message.has_task_completed_at();
}

}  // namespace

StaffTask ToStaffTask(const OutgoingMessage& message) {
  StaffTask task;
  task.set_message_id(message.message_id());
  task.set_case_id(message.case_id());
  task.set_referral_id(message.referral_id());
  task.set_template_id(message.template_id());
  task.set_kind(message.check_delivery() ? kTaskKindCheckEmail : kTaskKindCall);
  task.set_reason(message.final_reason());
  task.set_route_index(-1);
  task.set_guardian_routes(message.use_guardian());
  if (message.current() >= 0 && message.current() < message.plan_size()) {
    const hub::notification::v1::PlannedRoute& route = message.plan(message.current());
    task.set_route_index(route.route_index());
    task.set_voicemail_allowed(!message.check_delivery() && route.voicemail_allowed());
    if (task.reason().empty()) {
      task.set_reason(route.reason());
    }
  }
  *task.mutable_decisions() = message.decisions();
  if (message.has_task_completed_at()) {
    *task.mutable_completed_at() = message.task_completed_at();
    task.set_completed_by(message.task_completed_by());
    task.set_outcome(message.task_outcome());
  }
  return task;
}

absl::Status ValidateTaskOutcome(absl::string_view outcome) {
  const absl::string_view text = absl::StripAsciiWhitespace(outcome);
  if (text.empty()) {
    return absl::InvalidArgumentError(
        "outcome: required: say what was done, e.g. \"spoke to victim, referral explained\"");
  }
  if (outcome.size() > kMaxTaskOutcomeBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("outcome: at most ", kMaxTaskOutcomeBytes, " bytes, got ", outcome.size()));
  }
  if (LooksLikeEmailAddress(text) || LooksLikePhoneNumber(text)) {
    return absl::InvalidArgumentError(
        "outcome: looks like it holds an email address or a phone number; record contact "
        "details in the case system, not here");
  }
  return absl::OkStatus();
}

StaffTaskApi::StaffTaskApi(const identity::IdentityProvider* identity, outbox::MessageStore* store,
                           outbox::Outbox* outbox)
    : identity_(identity), store_(store), outbox_(outbox) {}

absl::StatusOr<identity::CallerIdentity> StaffTaskApi::Authorise(const grpc::ServerContext& context,
                                                                 absl::string_view action) const {
  absl::StatusOr<identity::CallerIdentity> caller = identity_->Identify(context);
  if (!caller.ok()) {
    return caller.status();
  }
  if (absl::Status allowed = identity::RequireKind(*caller, {identity::CallerKind::kStaff}, action);
      !allowed.ok()) {
    return allowed;
  }
  return caller;
}

grpc::Status StaffTaskApi::ListTasks(grpc::ServerContext* context,
                                     const hub::notification::v1::ListTasksRequest* request,
                                     hub::notification::v1::ListTasksResponse* response) {
  if (absl::StatusOr<identity::CallerIdentity> caller = Authorise(*context, "list staff tasks");
      !caller.ok()) {
    return rpc::ToGrpcStatus(caller.status());
  }
  if (request->limit() < 0) {
    return BadField("limit", absl::InvalidArgumentError(
                                 absl::StrCat("limit: must be 0 (meaning ", kDefaultTaskLimit,
                                              ") to ", kMaxTaskLimit, ", got ", request->limit())));
  }
  const int limit =
      request->limit() == 0 ? kDefaultTaskLimit : std::min(request->limit(), kMaxTaskLimit);
  absl::StatusOr<std::vector<outbox::TaskEntry>> entries = store_->Tasks(limit);
  if (!entries.ok()) {
    return rpc::ToGrpcStatus(entries.status());
  }
  response->mutable_tasks()->Reserve(static_cast<int>(entries->size()));
  for (const outbox::TaskEntry& entry : *entries) {
    absl::StatusOr<std::optional<outbox::StoredMessage>> stored = store_->Get(entry.message_id);
    if (!stored.ok()) {
      return rpc::ToGrpcStatus(stored.status());
    }
    if (!stored->has_value() || !IsOpenTask((*stored)->message)) {
      // Done (a crash between completing and taking it off the list) or gone: a task
      // state is final, so the entry can never become open again.
      absl::Status removed = store_->RemoveTask(entry.message_id);
      if (stale_log_.Allow()) {
        log::Warn("staff task list held a message that is not an open task; taken off",
                  {{"message_id", entry.message_id}, {"removed", removed.ok()}});
      }
      continue;
    }
    StaffTask* task = response->add_tasks();
    *task = ToStaffTask((*stored)->message);
    *task->mutable_due() = ToProto(entry.due);
  }
  return grpc::Status::OK;
}

grpc::Status StaffTaskApi::CompleteTask(grpc::ServerContext* context,
                                        const hub::notification::v1::CompleteTaskRequest* request,
                                        StaffTask* response) {
  absl::StatusOr<identity::CallerIdentity> caller = Authorise(*context, "complete staff tasks");
  if (!caller.ok()) {
    return rpc::ToGrpcStatus(caller.status());
  }
  if (absl::Status valid = outbox::ValidateMessageId("message_id", request->message_id());
      !valid.ok()) {
    return BadField("message_id", valid);
  }
  if (absl::Status valid = ValidateTaskOutcome(request->outcome()); !valid.ok()) {
    return BadField("outcome", valid);
  }
  absl::StatusOr<OutgoingMessage> done = outbox_->CompleteTask(
      request->message_id(), caller->principal, absl::StripAsciiWhitespace(request->outcome()));
  if (!done.ok()) {
    return rpc::ToGrpcStatus(done.status());
  }
  log::Info("staff task completed", {{"message_id", done->message_id()},
                                     {"case_id", done->case_id()},
                                     {"completed_by", done->task_completed_by()}});
  *response = ToStaffTask(*done);
  if (done->current() >= 0 && done->current() < done->plan_size() &&
      done->plan(done->current()).has_not_before()) {
    *response->mutable_due() = done->plan(done->current()).not_before();
  }
  return grpc::Status::OK;
}

}  // namespace hub::notification
