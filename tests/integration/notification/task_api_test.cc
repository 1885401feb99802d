// The staff task API over gRPC (a real server on a loopback port, callers declared in
// x-hub-caller) against a real Redis, on a fake clock:
//   - the open tasks come oldest due first, cut at the limit;
//   - completing one records the caller and the outcome on the stored message and takes it
//     off the list; a repeat (another person, another outcome) returns the first completion;
//   - many people completing one task at once record exactly one completion;
//   - only staff may call; unknown messages, messages that are not tasks and bad requests
//     get their own codes.
#include "services/notification/task_api.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include <grpcpp/grpcpp.h>

#include "hub/notification/v1/notification.grpc.pb.h"
#include "services/common/clock/clock.h"
#include "services/common/identity/identity.h"
#include "services/common/redis/redis_client.h"
#include "services/common/rpc/error_details.h"
#include "services/common/status/status_matchers.h"
#include "services/notification/outbox/message_store.h"
#include "services/notification/outbox/outbox.h"
#include "tests/support/test_env.h"

namespace hub::notification {
namespace {

namespace nv1 = ::hub::notification::v1;
using ::google::protobuf::util::TimeUtil;
using ::hub::testing::IsOk;
using ::testing::HasSubstr;

constexpr char kStaff[] = "staff:hub:ops1";

// Monday 2 November 2026, 10:00 in London (GMT).
const absl::Time kT0 =
    absl::FromCivil(absl::CivilSecond(2026, 11, 2, 10, 0, 0), absl::UTCTimeZone());

google::protobuf::Timestamp Ts(absl::Time t) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}

int64_t Millis(const google::protobuf::Timestamp& timestamp) {
  return TimeUtil::TimestampToMilliseconds(timestamp);
}

class StaffTaskApiIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(hub::testing::HostPort address, hub::testing::RedisFromEnv());
    redis::RedisConfig config;
    config.host = address.host;
    config.port = address.port;
    config.pool_size = 12;
    config.command_timeout = absl::Seconds(10);
    ASSERT_OK_AND_ASSIGN(redis_, redis::CreateRedisClient(config));
    store_ =
        std::make_unique<outbox::MessageStore>(redis_.get(), hub::testing::UniqueName("tasks"));
    clock_ = std::make_shared<clock::FakeClock>(kT0 + absl::Hours(3));
    // CompleteTask reads and writes the stored message only: no producer, timers or
    // channels.
    outbox::OutboxDeps deps;
    deps.store = store_.get();
    deps.clock = clock_;
    outbox_ = std::make_unique<outbox::Outbox>(std::move(deps), outbox::OutboxOptions{});
    identity_ = identity::CreateDeclaredLoopbackIdentityProvider();
    api_ = std::make_unique<StaffTaskApi>(identity_.get(), store_.get(), outbox_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(api_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    stub_ = nv1::StaffTaskService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    }
  }

  // A call task as the outbox leaves it: stored in CALL_TASK and on the task list.
  std::string AddCallTask(const std::string& cause, absl::Time due, bool check_delivery = false) {
    nv1::OutgoingMessage message;
    message.set_message_id(outbox::MessageIdFor(cause, "victim.acknowledgement", "victim"));
    message.set_case_id(absl::StrCat("c_", cause));
    message.set_audience("victim");
    message.set_template_id("victim.acknowledgement");
    message.mutable_personal_data()->set_ciphertext("sealed");
    nv1::PlannedRoute* route = message.add_plan();
    route->set_channel(check_delivery ? hub::events::v1::CHANNEL_EMAIL
                                      : hub::events::v1::CHANNEL_CALL_TASK);
    route->set_route_index(2);
    route->set_voicemail_allowed(!check_delivery);
    route->set_reason("no written channel marked safe");
    *route->mutable_not_before() = Ts(due);
    message.add_decisions("route 2 (phone): call task");
    message.set_state(nv1::MESSAGE_STATE_CALL_TASK);
    message.set_check_delivery(check_delivery);
    message.set_final_reason(check_delivery ? "email delivery is in doubt"
                                            : "no written channel marked safe");
    message.set_state_reported(true);
    *message.mutable_created_at() = Ts(kT0);
    EXPECT_THAT(store_->Create(message), IsOk());
    EXPECT_THAT(store_->AddTask(message.message_id(), due), IsOk());
    return message.message_id();
  }

  static void Prepare(grpc::ClientContext* context, const std::string& caller) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    if (!caller.empty()) {
      context->AddMetadata(identity::kCallerMetadataKey, caller);
    }
  }

  grpc::Status List(const std::string& caller, int limit, nv1::ListTasksResponse* response) {
    grpc::ClientContext context;
    Prepare(&context, caller);
    nv1::ListTasksRequest request;
    request.set_limit(limit);
    return stub_->ListTasks(&context, request, response);
  }

  grpc::Status Complete(const std::string& caller, const std::string& message_id,
                        const std::string& outcome, nv1::StaffTask* response) {
    grpc::ClientContext context;
    Prepare(&context, caller);
    nv1::CompleteTaskRequest request;
    request.set_message_id(message_id);
    request.set_outcome(outcome);
    return stub_->CompleteTask(&context, request, response);
  }

  std::vector<std::string> ListedIds(int limit = 0) {
    nv1::ListTasksResponse response;
    grpc::Status status = List(kStaff, limit, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> ids;
    ids.reserve(response.tasks_size());
    for (const nv1::StaffTask& task : response.tasks()) {
      ids.push_back(task.message_id());
    }
    return ids;
  }

  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<outbox::MessageStore> store_;
  std::shared_ptr<clock::FakeClock> clock_;
  std::unique_ptr<outbox::Outbox> outbox_;
  std::unique_ptr<identity::IdentityProvider> identity_;
  std::unique_ptr<StaffTaskApi> api_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<nv1::StaffTaskService::Stub> stub_;
};

TEST_F(StaffTaskApiIntegrationTest, OpenTasksComeOldestDueFirstCutAtTheLimit) {
  const std::string later = AddCallTask("later", kT0 + absl::Hours(2));
  const std::string first = AddCallTask("first", kT0);
  const std::string check = AddCallTask("check", kT0 + absl::Hours(1), /*check_delivery=*/true);

  nv1::ListTasksResponse response;
  ASSERT_TRUE(List(kStaff, 0, &response).ok());
  ASSERT_EQ(response.tasks_size(), 3);
  EXPECT_EQ(response.tasks(0).message_id(), first);
  EXPECT_EQ(Millis(response.tasks(0).due()), absl::ToUnixMillis(kT0));
  EXPECT_EQ(response.tasks(0).kind(), "call");
  EXPECT_EQ(response.tasks(0).case_id(), "c_first");
  EXPECT_EQ(response.tasks(0).route_index(), 2);
  EXPECT_TRUE(response.tasks(0).voicemail_allowed());
  EXPECT_EQ(response.tasks(1).message_id(), check);
  EXPECT_EQ(response.tasks(1).kind(), "check_email_delivery");
  EXPECT_EQ(response.tasks(1).reason(), "email delivery is in doubt");
  EXPECT_EQ(response.tasks(2).message_id(), later);

  EXPECT_EQ(ListedIds(2), (std::vector<std::string>{first, check}));
}

TEST_F(StaffTaskApiIntegrationTest, CompletingRecordsTheCallerAndTakesTheTaskOffTheList) {
  const std::string first = AddCallTask("first", kT0);
  const std::string second = AddCallTask("second", kT0 + absl::Hours(1));

  nv1::StaffTask done;
  grpc::Status status = Complete(kStaff, first, "spoke to victim, referral explained", &done);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(done.message_id(), first);
  EXPECT_EQ(done.completed_by(), kStaff);
  EXPECT_EQ(done.outcome(), "spoke to victim, referral explained");
  EXPECT_EQ(Millis(done.completed_at()), absl::ToUnixMillis(clock_->Now()));
  EXPECT_EQ(Millis(done.due()), absl::ToUnixMillis(kT0));
  EXPECT_EQ(ListedIds(), (std::vector<std::string>{second}));

  ASSERT_OK_AND_ASSIGN(std::optional<outbox::StoredMessage> stored, store_->Get(first));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->message.state(), nv1::MESSAGE_STATE_CALL_TASK);
  EXPECT_EQ(stored->message.task_completed_by(), kStaff);
  EXPECT_EQ(stored->message.task_outcome(), "spoke to victim, referral explained");

  // Someone else, later, with another outcome: the first completion stands.
  clock_->Advance(absl::Minutes(10));
  nv1::StaffTask again;
  status = Complete("staff:hub:ops2", first, "no answer", &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(again.completed_by(), kStaff);
  EXPECT_EQ(again.outcome(), "spoke to victim, referral explained");
  EXPECT_EQ(Millis(again.completed_at()), Millis(done.completed_at()));
  EXPECT_EQ(ListedIds(), (std::vector<std::string>{second}));
}

TEST_F(StaffTaskApiIntegrationTest, ManyPeopleCompletingOneTaskAtOnceRecordOneCompletion) {
  const std::string id = AddCallTask("contended", kT0);
  constexpr int kPeople = 8;
  absl::Mutex mu;
  std::vector<nv1::StaffTask> answers;
  std::vector<std::thread> people;
  people.reserve(kPeople);
  for (int i = 0; i < kPeople; ++i) {
    people.emplace_back([&, i] {
      nv1::StaffTask task;
      grpc::Status status =
          Complete(absl::StrCat("staff:hub:ops", i), id, absl::StrCat("outcome ", i), &task);
      EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
      absl::MutexLock lock(&mu);
      answers.push_back(task);
    });
  }
  for (std::thread& person : people) {
    person.join();
  }
  ASSERT_OK_AND_ASSIGN(std::optional<outbox::StoredMessage> stored, store_->Get(id));
  ASSERT_TRUE(stored.has_value());
  ASSERT_EQ(answers.size(), static_cast<size_t>(kPeople));
  for (const nv1::StaffTask& answer : answers) {
    EXPECT_EQ(answer.completed_by(), stored->message.task_completed_by());
    EXPECT_EQ(answer.outcome(), stored->message.task_outcome());
  }
  EXPECT_TRUE(ListedIds().empty());
}

TEST_F(StaffTaskApiIntegrationTest, OnlyStaffMayCallOverTheWire) {
  const std::string id = AddCallTask("guarded", kT0);
  nv1::ListTasksResponse listed;
  EXPECT_EQ(List("", 0, &listed).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(List("service:hub:routing", 0, &listed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  nv1::StaffTask task;
  grpc::Status status = Complete("provider:idva-cambs", id, "spoke to victim", &task);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("provider:idva-cambs"));
  EXPECT_EQ(ListedIds(), (std::vector<std::string>{id}));
}

TEST_F(StaffTaskApiIntegrationTest, EachRefusalHasItsOwnCode) {
  nv1::StaffTask task;
  EXPECT_EQ(
      Complete(kStaff, outbox::MessageIdFor("nothing", "t", "victim"), "done", &task).error_code(),
      grpc::StatusCode::NOT_FOUND);

  nv1::OutgoingMessage sent;
  sent.set_message_id(outbox::MessageIdFor("sent", "victim.acknowledgement", "victim"));
  sent.set_state(nv1::MESSAGE_STATE_SENT);
  ASSERT_THAT(store_->Create(sent), IsOk());
  EXPECT_EQ(Complete(kStaff, sent.message_id(), "done", &task).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  grpc::Status status = Complete(kStaff, AddCallTask("bad", kT0), "", &task);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_OK_AND_ASSIGN(google::rpc::BadRequest bad_request, rpc::BadRequestOf(status));
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "outcome");

  nv1::ListTasksResponse listed;
  status = List(kStaff, -5, &listed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_OK_AND_ASSIGN(bad_request, rpc::BadRequestOf(status));
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "limit");
}

}  // namespace
}  // namespace hub::notification
