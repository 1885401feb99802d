// `hubctl tasks` against an in-process fake StaffTaskService on a loopback port: what is
// sent (caller, limit, id, outcome), how tasks are shown (UK local time, routes), JSON, and
// how usage errors and refusals end.
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include <grpcpp/grpcpp.h>

#include "hub/notification/v1/notification.grpc.pb.h"
#include "services/common/rpc/error_details.h"
#include "services/hubctl/hubctl.h"

namespace hub::hubctl {
namespace {

namespace nv1 = ::hub::notification::v1;
using ::google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kId[] = "0123456789abcdef0123456789abcdef";

google::protobuf::Timestamp Utc(int year, int month, int day, int hour, int minute) {
  return TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(
      absl::FromCivil(absl::CivilMinute(year, month, day, hour, minute), absl::UTCTimeZone())));
}

// Answers with canned tasks and remembers what it was asked and by whom.
class FakeStaffTasks final : public nv1::StaffTaskService::Service {
 public:
  grpc::Status ListTasks(grpc::ServerContext* context, const nv1::ListTasksRequest* request,
                         nv1::ListTasksResponse* response) override {
    absl::MutexLock lock(&mu_);
    Remember(*context);
    last_limit_ = request->limit();
    *response = tasks_;
    return grpc::Status::OK;
  }

  grpc::Status CompleteTask(grpc::ServerContext* context, const nv1::CompleteTaskRequest* request,
                            nv1::StaffTask* response) override {
    absl::MutexLock lock(&mu_);
    Remember(*context);
    last_complete_ = *request;
    if (!refusal_.ok()) {
      return refusal_;
    }
    *response = tasks_.tasks(0);
    response->set_message_id(request->message_id());
    if (already_done_by_.empty()) {
      response->set_completed_by(caller_);
      response->set_outcome(request->outcome());
    } else {
      response->set_completed_by(already_done_by_);
      response->set_outcome("spoke to victim earlier");
    }
    *response->mutable_completed_at() = Utc(2026, 7, 1, 13, 5);
    return grpc::Status::OK;
  }

  void SetTasks(nv1::ListTasksResponse tasks) {
    absl::MutexLock lock(&mu_);
    tasks_ = std::move(tasks);
  }
  void Refuse(grpc::Status status) {
    absl::MutexLock lock(&mu_);
    refusal_ = std::move(status);
  }
  void AlreadyDoneBy(std::string principal) {
    absl::MutexLock lock(&mu_);
    already_done_by_ = std::move(principal);
  }
  std::string caller() {
    absl::MutexLock lock(&mu_);
    return caller_;
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  int last_limit() {
    absl::MutexLock lock(&mu_);
    return last_limit_;
  }
  nv1::CompleteTaskRequest last_complete() {
    absl::MutexLock lock(&mu_);
    return last_complete_;
  }

 private:
  void Remember(const grpc::ServerContext& context) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++calls_;
    auto it = context.client_metadata().find("x-hub-caller");
    caller_ = it == context.client_metadata().end()
                  ? std::string()
                  : std::string(it->second.data(), it->second.size());
  }

  absl::Mutex mu_;
  nv1::ListTasksResponse tasks_ ABSL_GUARDED_BY(mu_);
  grpc::Status refusal_ ABSL_GUARDED_BY(mu_);
  std::string already_done_by_ ABSL_GUARDED_BY(mu_);
  std::string caller_ ABSL_GUARDED_BY(mu_);
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  int last_limit_ ABSL_GUARDED_BY(mu_) = -1;
  nv1::CompleteTaskRequest last_complete_ ABSL_GUARDED_BY(mu_);
};

nv1::ListTasksResponse TwoTasks() {
  nv1::ListTasksResponse response;
  nv1::StaffTask* call = response.add_tasks();
  call->set_message_id(kId);
  call->set_case_id("c_000000000000000000000001");
  call->set_template_id("victim.acknowledgement");
  call->set_kind("call");
  *call->mutable_due() = Utc(2026, 7, 1, 9, 0);  // 10:00 BST.
  call->set_reason("domestic abuse: no written channel marked safe");
  call->set_voicemail_allowed(true);
  call->set_route_index(1);
  nv1::StaffTask* check = response.add_tasks();
  check->set_message_id("fedcba9876543210fedcba9876543210");
  check->set_case_id("c_000000000000000000000002");
  check->set_template_id("victim.case_update");
  check->set_kind("check_email_delivery");
  *check->mutable_due() = Utc(2026, 12, 1, 9, 0);  // 09:00 GMT.
  check->set_reason("email delivery is in doubt and cannot be looked up");
  check->set_route_index(-1);
  return response;
}

class HubctlTasksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.SetTasks(TwoTasks());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = absl::StrCat("127.0.0.1:", port);
  }

  void TearDown() override {
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  }

  int Run(std::vector<std::string> args) {
    args.emplace_back("--notification");
    args.push_back(address_);
    out_.str("");
    err_.str("");
    return hub::hubctl::Run(args, out_, err_);
  }

  FakeStaffTasks fake_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(HubctlTasksTest, ListPrintsATableInUkTimeAsStaff) {
  ASSERT_EQ(Run({"tasks", "list"}), 0) << err_.str();
  const std::string table = out_.str();
  EXPECT_THAT(table, StartsWith("MESSAGE "));
  EXPECT_THAT(table, HasSubstr("DUE (UK)"));
  EXPECT_THAT(table, HasSubstr("2026-07-01 10:00 BST"));
  EXPECT_THAT(table, HasSubstr("2026-12-01 09:00 GMT"));
  EXPECT_THAT(table, HasSubstr("check_email_delivery"));
  EXPECT_THAT(table, HasSubstr("victim.case_update"));
  EXPECT_THAT(table, HasSubstr("c_000000000000000000000001"));
  EXPECT_THAT(table, HasSubstr("1, voicemail ok"));
  EXPECT_THAT(table, HasSubstr("none: via OIC"));
  EXPECT_THAT(table, HasSubstr("domestic abuse: no written channel marked safe\n"));
  EXPECT_THAT(table, Not(HasSubstr("{")));
  // Columns line up: every row's due time starts where the header's does.
  std::istringstream lines(table);
  std::string header;
  std::string row;
  std::getline(lines, header);
  std::getline(lines, row);
  EXPECT_EQ(row.find("2026-07-01"), header.find("DUE (UK)"));
  EXPECT_THAT(fake_.caller(), StartsWith("staff:hub:"));
  EXPECT_EQ(fake_.last_limit(), 0);  // The service's default.
}

TEST_F(HubctlTasksTest, ListSendsTheLimitAndTheCallerGiven) {
  ASSERT_EQ(Run({"tasks", "list", "--limit", "7", "--caller", "staff:hub:ops7"}), 0) << err_.str();
  EXPECT_EQ(fake_.last_limit(), 7);
  EXPECT_EQ(fake_.caller(), "staff:hub:ops7");
}

TEST_F(HubctlTasksTest, ListAsJsonIsTheResponse) {
  ASSERT_EQ(Run({"tasks", "list", "--json"}), 0) << err_.str();
  nv1::ListTasksResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out_.str(), &parsed).ok()) << out_.str();
  EXPECT_EQ(parsed.tasks_size(), 2);
  EXPECT_EQ(parsed.tasks(1).kind(), "check_email_delivery");
  EXPECT_THAT(out_.str(), HasSubstr("\"routeIndex\": -1"));
}

TEST_F(HubctlTasksTest, AnEmptyListSaysSo) {
  fake_.SetTasks(nv1::ListTasksResponse());
  ASSERT_EQ(Run({"tasks", "list"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "no open tasks\n");
}

TEST_F(HubctlTasksTest, BadUsageExitsTwoWithoutCallingTheService) {
  EXPECT_EQ(Run({"tasks"}), 2);
  EXPECT_EQ(Run({"tasks", "frob"}), 2);
  EXPECT_EQ(Run({"tasks", "list", "--limit", "many"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--limit must be a whole number"));
  EXPECT_EQ(Run({"tasks", "list", "--limit", "-3"}), 2);
  EXPECT_EQ(Run({"tasks", "done", kId}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--outcome TEXT"));
  EXPECT_EQ(Run({"tasks", "done", kId, "--outcome", "  "}), 2);
  EXPECT_EQ(Run({"tasks", "done", "--outcome", "spoke to victim"}), 2);
  EXPECT_EQ(fake_.calls(), 0);
}

TEST_F(HubctlTasksTest, DoneSendsTheTaskAndOutcomeAndShowsTheCompletion) {
  ASSERT_EQ(Run({"tasks", "done", kId, "--outcome", "spoke to victim, referral explained",
                 "--caller", "staff:hub:ops1"}),
            0)
      << err_.str();
  EXPECT_EQ(fake_.last_complete().message_id(), kId);
  EXPECT_EQ(fake_.last_complete().outcome(), "spoke to victim, referral explained");
  EXPECT_EQ(fake_.caller(), "staff:hub:ops1");
  EXPECT_EQ(out_.str(), absl::StrCat("task ", kId,
                                     " (call, case c_000000000000000000000001) done by "
                                     "staff:hub:ops1 at 2026-07-01 14:05 BST: spoke to victim, "
                                     "referral explained\n"));
}

TEST_F(HubctlTasksTest, DoneTwiceShowsTheFirstCompletion) {
  fake_.AlreadyDoneBy("staff:hub:ops2");
  ASSERT_EQ(Run({"tasks", "done", kId, "--outcome", "no answer", "--caller", "staff:hub:ops1"}), 0)
      << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("was already done by staff:hub:ops2"));
  EXPECT_THAT(out_.str(), HasSubstr(": spoke to victim earlier"));
}

TEST_F(HubctlTasksTest, ARefusalExitsOneNamingTheField) {
  fake_.Refuse(rpc::InvalidArgument("outcome: looks like a phone number",
                                    {{"outcome", "looks like a phone number"}}));
  EXPECT_EQ(Run({"tasks", "done", kId, "--outcome", "call 07700 900123"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("hubctl tasks done: refused: 3"));
  EXPECT_THAT(err_.str(), HasSubstr("  outcome: looks like a phone number"));
}

TEST_F(HubctlTasksTest, TheAddressComesFromTheEnvironmentWithoutAFlag) {
  // Only this thread reads the environment while the test runs (gRPC read its own at start).
  // NOLINTNEXTLINE(concurrency-mt-unsafe)
  ASSERT_EQ(setenv("HUB_NOTIFICATION_ADDR", address_.c_str(), 1), 0);
  std::ostringstream out;
  std::ostringstream err;
  const int code = hub::hubctl::Run({"tasks", "list"}, out, err);
  ASSERT_EQ(unsetenv("HUB_NOTIFICATION_ADDR"), 0);  // NOLINT(concurrency-mt-unsafe): as above.
  EXPECT_EQ(code, 0) << err.str();
  EXPECT_EQ(fake_.calls(), 1);
}

TEST(HubctlTasksUnreachableTest, AnUnreachableServiceExitsOne) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(hub::hubctl::Run({"tasks", "list", "--notification", "127.0.0.1:1"}, out, err), 1);
  EXPECT_THAT(err.str(), HasSubstr("hubctl tasks list: refused: 14"));
}

}  // namespace
}  // namespace hub::hubctl
