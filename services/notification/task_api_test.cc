// StaffTaskApi without a server: who may call it, how requests are checked (nothing bad
// reaches Redis), how a stored message is shown to staff (never its personal data), and the
// store paths that need only plain commands (listing, unknown messages, messages that are
// not tasks, a repeated completion), answered by a recording Redis. The first completion
// (a compare-and-set script) runs against a real Redis in
// tests/integration/notification/task_api_test.cc.
#include "services/notification/task_api.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include <grpcpp/server_context.h>

#include "services/common/clock/clock.h"
#include "services/common/redis/recording_redis.h"
#include "services/common/rpc/error_details.h"
#include "services/common/status/status_matchers.h"

namespace hub::notification {
namespace {

namespace nv1 = ::hub::notification::v1;
using ::google::protobuf::util::TimeUtil;
using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTaskId[] = "0123456789abcdef0123456789abcdef";
constexpr char kOtherId[] = "fedcba9876543210fedcba9876543210";
constexpr char kGoneId[] = "00000000000000000000000000000000";
constexpr char kSealedBytes[] = "sealed-victim-bytes";
constexpr char kAddress[] = "team@provider.example";

const absl::Time kT0 =
    absl::FromCivil(absl::CivilSecond(2026, 11, 2, 10, 0, 0), absl::UTCTimeZone());

// Answers Identify with a fixed caller (or error), whatever the context holds.
class FixedIdentity final : public identity::IdentityProvider {
 public:
  explicit FixedIdentity(absl::StatusOr<identity::CallerIdentity> caller)
      : caller_(std::move(caller)) {}
  absl::StatusOr<identity::CallerIdentity> Identify(
      const grpc::ServerContextBase& /*context*/) const override {
    return caller_;
  }

 private:
  absl::StatusOr<identity::CallerIdentity> caller_;
};

identity::CallerIdentity Caller(const std::string& principal) {
  absl::StatusOr<identity::CallerIdentity> caller = identity::ParsePrincipal(principal);
  EXPECT_THAT(caller, IsOk());
  return *caller;
}

// A victim's call task: no safe written channel, the second route is the phone to ring.
nv1::OutgoingMessage CallTask(const std::string& id) {
  nv1::OutgoingMessage message;
  message.set_message_id(id);
  message.set_case_id("c_000000000000000000000001");
  message.set_referral_id("r_000000000000000000000001");
  message.set_audience("victim");
  message.set_template_id("victim.acknowledgement");
  message.set_address(kAddress);
  (*message.mutable_variables())["provider_name"] = "Victim and Witness Hub";
  message.mutable_personal_data()->set_key_id("vk_0123456789abcdef0123456789abcdef");
  message.mutable_personal_data()->set_ciphertext(kSealedBytes);
  nv1::PlannedRoute* call = message.add_plan();
  call->set_channel(hub::events::v1::CHANNEL_CALL_TASK);
  call->set_route_index(1);
  call->set_voicemail_allowed(true);
  call->set_reason("domestic abuse: no written channel marked safe");
  *call->mutable_not_before() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(kT0));
  message.add_decisions("route 0 (email): not marked safe");
  message.add_decisions("route 1 (phone): call task, voicemail allowed");
  message.set_current(0);
  message.set_state(nv1::MESSAGE_STATE_CALL_TASK);
  message.set_final_reason("domestic abuse: no written channel marked safe");
  message.set_state_reported(true);
  return message;
}

redis::Reply Str(const std::string& text) {
  redis::Reply reply;
  reply.type = redis::Reply::Type::kString;
  reply.str = text;
  return reply;
}

redis::Reply Array(std::vector<redis::Reply> elements) {
  redis::Reply reply;
  reply.type = redis::Reply::Type::kArray;
  reply.elements = std::move(elements);
  return reply;
}

redis::Reply Int(int64_t value) {
  redis::Reply reply;
  reply.type = redis::Reply::Type::kInteger;
  reply.integer = value;
  return reply;
}

class StaffTaskApiTest : public ::testing::Test {
 protected:
  StaffTaskApiTest() : store_(&redis_, "t") {
    redis_.on_command = [this](const std::vector<std::string>& args) { return Answer(args); };
    outbox::OutboxDeps deps;
    deps.store = &store_;
    deps.clock = std::make_shared<clock::FakeClock>(kT0);
    outbox_ = std::make_unique<outbox::Outbox>(std::move(deps), outbox::OutboxOptions{});
  }

  // Plain commands against `messages_` and `tasks_` (id, due in unix ms, in order).
  absl::StatusOr<redis::Reply> Answer(const std::vector<std::string>& args) {
    if (args[0] == "ZRANGE") {
      std::vector<redis::Reply> elements;
      int stop = 0;
      EXPECT_TRUE(absl::SimpleAtoi(args[3], &stop));
      for (int i = 0; i < static_cast<int>(tasks_.size()) && i <= stop; ++i) {
        elements.push_back(Str(tasks_[i].first));
        elements.push_back(Str(absl::StrCat(tasks_[i].second)));
      }
      return Array(std::move(elements));
    }
    if (args[0] == "HMGET") {
      for (const auto& [id, message] : messages_) {
        if (args[1] == store_.MessageKey(id)) {
          return Array({Str("3"), Str(message.SerializeAsString())});
        }
      }
      return Array({redis::Reply{}, redis::Reply{}});
    }
    if (args[0] == "ZREM") {
      removed_.push_back(args[2]);
      return Int(1);
    }
    return absl::UnimplementedError(args[0]);
  }

  StaffTaskApi Api(const std::string& principal) {
    identity_ = std::make_unique<FixedIdentity>(Caller(principal));
    return StaffTaskApi(identity_.get(), &store_, outbox_.get());
  }

  grpc::Status List(StaffTaskApi& api, int limit, nv1::ListTasksResponse* response) {
    grpc::ServerContext context;
    nv1::ListTasksRequest request;
    request.set_limit(limit);
    return api.ListTasks(&context, &request, response);
  }

  grpc::Status Complete(StaffTaskApi& api, const std::string& id, const std::string& outcome,
                        nv1::StaffTask* response) {
    grpc::ServerContext context;
    nv1::CompleteTaskRequest request;
    request.set_message_id(id);
    request.set_outcome(outcome);
    return api.CompleteTask(&context, &request, response);
  }

  redis::testing::RecordingRedis redis_;
  outbox::MessageStore store_;
  std::unique_ptr<outbox::Outbox> outbox_;
  std::unique_ptr<identity::IdentityProvider> identity_;
  std::map<std::string, nv1::OutgoingMessage> messages_;
  std::vector<std::pair<std::string, int64_t>> tasks_;
  std::vector<std::string> removed_;
};

std::string BadRequestFields(const grpc::Status& status) {
  absl::StatusOr<google::rpc::BadRequest> bad_request = rpc::BadRequestOf(status);
  if (!bad_request.ok()) {
    return "(no BadRequest)";
  }
  std::string fields;
  for (const auto& violation : bad_request->field_violations()) {
    absl::StrAppend(&fields, fields.empty() ? "" : ",", violation.field());
  }
  return fields;
}

TEST_F(StaffTaskApiTest, OnlyStaffMayListOrCompleteAndOthersReachNothing) {
  for (const char* principal :
       {"provider:idva-cambs", "police:CAMBS:athena", "service:hub:routing", "victim:self"}) {
    SCOPED_TRACE(principal);
    StaffTaskApi api = Api(principal);
    nv1::ListTasksResponse listed;
    grpc::Status status = List(api, 0, &listed);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(status.error_message(), HasSubstr("allowed: staff"));
    nv1::StaffTask task;
    status = Complete(api, kTaskId, "spoke to victim", &task);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  FixedIdentity anonymous(absl::UnauthenticatedError("missing 'x-hub-caller'"));
  StaffTaskApi api(&anonymous, &store_, outbox_.get());
  nv1::ListTasksResponse listed;
  EXPECT_EQ(List(api, 0, &listed).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(redis_.calls, 0);
}

TEST_F(StaffTaskApiTest, NegativeLimitIsRefusedNamingLimit) {
  StaffTaskApi api = Api("staff:hub:ops1");
  nv1::ListTasksResponse listed;
  grpc::Status status = List(api, -1, &listed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadRequestFields(status), "limit");
  EXPECT_EQ(redis_.calls, 0);
}

TEST_F(StaffTaskApiTest, LimitDefaultsToFiftyAndIsCutAtFiveHundred) {
  StaffTaskApi api = Api("staff:hub:ops1");
  const std::vector<std::pair<int, std::string>> cases = {
      {0, "49"}, {1, "0"}, {7, "6"}, {500, "499"}, {501, "499"}, {100000, "499"}};
  for (const auto& [limit, stop] : cases) {
    SCOPED_TRACE(limit);
    redis_.commands.clear();
    nv1::ListTasksResponse listed;
    ASSERT_TRUE(List(api, limit, &listed).ok());
    ASSERT_EQ(redis_.commands.size(), 1U);
    EXPECT_EQ(redis_.commands[0], (std::vector<std::string>{"ZRANGE", "t:notification:tasks", "0",
                                                            stop, "WITHSCORES"}));
  }
}

TEST_F(StaffTaskApiTest, ListShowsOpenTasksInListOrderWithTheirDueTime) {
  nv1::OutgoingMessage check = CallTask(kOtherId);
  check.set_check_delivery(true);
  check.mutable_plan(0)->set_channel(hub::events::v1::CHANNEL_EMAIL);
  check.mutable_plan(0)->set_route_index(0);
  check.mutable_plan(0)->set_voicemail_allowed(true);  // Means nothing for an email.
  check.set_final_reason("email delivery is in doubt and cannot be looked up");
  messages_[kTaskId] = CallTask(kTaskId);
  messages_[kOtherId] = check;
  tasks_ = {{kOtherId, absl::ToUnixMillis(kT0)},
            {kTaskId, absl::ToUnixMillis(kT0 + absl::Minutes(5))}};

  StaffTaskApi api = Api("staff:hub:ops1");
  nv1::ListTasksResponse listed;
  ASSERT_TRUE(List(api, 0, &listed).ok());
  ASSERT_EQ(listed.tasks_size(), 2);

  const nv1::StaffTask& first = listed.tasks(0);
  EXPECT_EQ(first.message_id(), kOtherId);
  EXPECT_EQ(first.kind(), "check_email_delivery");
  EXPECT_EQ(first.route_index(), 0);
  EXPECT_FALSE(first.voicemail_allowed());
  EXPECT_EQ(first.reason(), "email delivery is in doubt and cannot be looked up");
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(first.due()), absl::ToUnixMillis(kT0));

  const nv1::StaffTask& second = listed.tasks(1);
  EXPECT_EQ(second.message_id(), kTaskId);
  EXPECT_EQ(second.kind(), "call");
  EXPECT_EQ(second.case_id(), "c_000000000000000000000001");
  EXPECT_EQ(second.referral_id(), "r_000000000000000000000001");
  EXPECT_EQ(second.template_id(), "victim.acknowledgement");
  EXPECT_EQ(second.route_index(), 1);
  EXPECT_TRUE(second.voicemail_allowed());
  EXPECT_FALSE(second.guardian_routes());
  EXPECT_EQ(second.decisions_size(), 2);
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(second.due()),
            absl::ToUnixMillis(kT0 + absl::Minutes(5)));
  EXPECT_FALSE(second.has_completed_at());
  EXPECT_TRUE(removed_.empty());
}

TEST_F(StaffTaskApiTest, ListLeavesOutAndTakesOffEntriesThatAreNoLongerOpenTasks) {
  nv1::OutgoingMessage done = CallTask(kOtherId);
  *done.mutable_task_completed_at() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(kT0));
  done.set_task_completed_by("staff:hub:ops2");
  done.set_task_outcome("spoke to victim");
  messages_[kTaskId] = CallTask(kTaskId);
  messages_[kOtherId] = done;
  tasks_ = {{kGoneId, 1}, {kOtherId, 2}, {kTaskId, 3}};

  StaffTaskApi api = Api("staff:hub:ops1");
  nv1::ListTasksResponse listed;
  ASSERT_TRUE(List(api, 0, &listed).ok());
  ASSERT_EQ(listed.tasks_size(), 1);
  EXPECT_EQ(listed.tasks(0).message_id(), kTaskId);
  EXPECT_EQ(removed_, (std::vector<std::string>{kGoneId, kOtherId}));
}

TEST_F(StaffTaskApiTest, ListFailsWhenRedisIsUnreachable) {
  redis_.on_command = nullptr;
  StaffTaskApi api = Api("staff:hub:ops1");
  nv1::ListTasksResponse listed;
  EXPECT_EQ(List(api, 0, &listed).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(StaffTaskApiTest, ShowsNoPersonalDataOrMessageContent) {
  nv1::OutgoingMessage message = CallTask(kTaskId);
  nv1::StaffTask task = ToStaffTask(message);
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(task, &json).ok());
  EXPECT_THAT(json, Not(HasSubstr(kAddress)));
  EXPECT_THAT(json, Not(HasSubstr("Victim and Witness Hub")));
  EXPECT_THAT(json, Not(HasSubstr("vk_")));
  EXPECT_THAT(task.SerializeAsString(), Not(HasSubstr(kSealedBytes)));
}

TEST(ToStaffTaskTest, GuardianRoutesAndATaskWithNoRouteToUse) {
  nv1::OutgoingMessage message = CallTask(kTaskId);
  message.set_use_guardian(true);
  EXPECT_TRUE(ToStaffTask(message).guardian_routes());

  message.mutable_plan(0)->set_route_index(-1);
  EXPECT_EQ(ToStaffTask(message).route_index(), -1);

  message.set_current(1);  // Past the plan: no route at all.
  nv1::StaffTask task = ToStaffTask(message);
  EXPECT_EQ(task.route_index(), -1);
  EXPECT_FALSE(task.voicemail_allowed());
  EXPECT_EQ(task.reason(), "domestic abuse: no written channel marked safe");
}

TEST(ValidateTaskOutcomeTest, AcceptsWhatStaffWriteAndRefusesContactDetails) {
  for (const std::string& outcome : std::vector<std::string>{
           "spoke to victim, referral explained", "x", "left voicemail at 10:30 on 02/11/2026",
           "reviewed case c_000000000000000000000001 with the OIC",
           "called 3 times on 2026-11-02 10", "email arrived (checked with victim by phone)",
           "no answer; will try again at 14:00", std::string(kMaxTaskOutcomeBytes, 'a')}) {
    SCOPED_TRACE(outcome);
    EXPECT_THAT(ValidateTaskOutcome(outcome), IsOk());
  }
  for (const std::string& outcome : std::vector<std::string>{
           "", " \t\n", std::string(kMaxTaskOutcomeBytes + 1, 'a'),
           "victim asked to use 07700 900123 instead", "new number +44 7700 900123",
           "call (01223) 456789", "new email jo.bloggs@example.com, confirmed"}) {
    SCOPED_TRACE(outcome);
    absl::Status valid = ValidateTaskOutcome(outcome);
    EXPECT_THAT(valid, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(valid.message(), HasSubstr("outcome: "));
  }
}

TEST_F(StaffTaskApiTest, CompleteRefusesBadRequestsNamingTheFieldBeforeReachingRedis) {
  StaffTaskApi api = Api("staff:hub:ops1");
  const std::vector<std::pair<std::pair<std::string, std::string>, std::string>> cases = {
      {{"", "spoke to victim"}, "message_id"},
      {{"0123456789ABCDEF0123456789ABCDEF", "spoke to victim"}, "message_id"},
      {{kTaskId, ""}, "outcome"},
      {{kTaskId, "   "}, "outcome"},
      {{kTaskId, std::string(kMaxTaskOutcomeBytes + 1, 'a')}, "outcome"},
      {{kTaskId, "new number 07700 900123"}, "outcome"},
  };
  for (const auto& [request, field] : cases) {
    SCOPED_TRACE(absl::StrCat(request.first, " / ", request.second));
    nv1::StaffTask task;
    grpc::Status status = Complete(api, request.first, request.second, &task);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(BadRequestFields(status), field);
    EXPECT_THAT(status.error_message(), HasSubstr(field + ": "));
  }
  EXPECT_EQ(redis_.calls, 0);
}

TEST_F(StaffTaskApiTest, CompleteAnUnknownMessageIsNotFound) {
  StaffTaskApi api = Api("staff:hub:ops1");
  nv1::StaffTask task;
  grpc::Status status = Complete(api, kGoneId, "spoke to victim", &task);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr(kGoneId));
}

TEST_F(StaffTaskApiTest, CompleteAMessageThatIsNotATaskIsAFailedPrecondition) {
  nv1::OutgoingMessage sent = CallTask(kTaskId);
  sent.set_state(nv1::MESSAGE_STATE_SENT);
  messages_[kTaskId] = sent;
  StaffTaskApi api = Api("staff:hub:ops1");
  nv1::StaffTask task;
  grpc::Status status = Complete(api, kTaskId, "spoke to victim", &task);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("not waiting for staff"));
}

TEST_F(StaffTaskApiTest, RepeatedCompletionReturnsTheFirstAndTakesTheTaskOff) {
  nv1::OutgoingMessage done = CallTask(kTaskId);
  *done.mutable_task_completed_at() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(kT0 - absl::Hours(1)));
  done.set_task_completed_by("staff:hub:ops2");
  done.set_task_outcome("spoke to victim, referral explained");
  messages_[kTaskId] = done;
  StaffTaskApi api = Api("staff:hub:ops1");
  nv1::StaffTask task;
  ASSERT_TRUE(Complete(api, kTaskId, "a different outcome", &task).ok());
  EXPECT_EQ(task.completed_by(), "staff:hub:ops2");
  EXPECT_EQ(task.outcome(), "spoke to victim, referral explained");
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(task.completed_at()),
            absl::ToUnixMillis(kT0 - absl::Hours(1)));
  EXPECT_EQ(task.kind(), "call");
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(task.due()), absl::ToUnixMillis(kT0));
  EXPECT_EQ(removed_, (std::vector<std::string>{kTaskId}));
}

}  // namespace
}  // namespace hub::notification
