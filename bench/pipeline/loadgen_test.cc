// What the load generator sends and how it counts. Nothing here measures speed: on the
// shared machines timings are noise, so bench/pipeline/run reports them as ratios instead.
#include "bench/pipeline/loadgen.h"

#include <atomic>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <grpcpp/grpcpp.h>

#include "bench/pipeline/echo_service.h"
#include "bench/pipeline/latency.h"
#include "bench/pipeline/reports.h"
#include "hub/intake/v1/intake.grpc.pb.h"
#include "services/common/status/status_matchers.h"
#include "services/intake/validation.h"

namespace hub::bench {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::HasSubstr;

TEST(MakeSubmitRequestTest, IntakeAcceptsIt) {
  const absl::Time now = absl::Now();
  hub::intake::v1::SubmitCrimeReportRequest request = MakeSubmitRequest("run-1", 42, now);
  for (const auto& violation : hub::intake::ValidateCrimeReport(request.report(), now)) {
    ADD_FAILURE() << violation.field << ": " << violation.description;
  }
  const hub::intake::v1::CrimeReport& report = request.report();
  EXPECT_EQ(report.offence_class_code(), "49");
  EXPECT_EQ(report.reported_at().seconds(), absl::ToUnixSeconds(now - absl::Hours(1)));
  ASSERT_EQ(report.victims_size(), 1);
  EXPECT_EQ(report.victims(0).consent().status(), hub::intake::v1::CONSENT_STATUS_NOT_ASKED);
  ASSERT_EQ(report.victims(0).contact_routes_size(), 1);
  EXPECT_EQ(report.victims(0).contact_routes(0).channel(),
            hub::intake::v1::ContactRoute::CHANNEL_SMS);
  EXPECT_EQ(report.victims(0).contact_routes(0).safety(), hub::intake::v1::CHANNEL_SAFETY_SAFE);
}

TEST(MakeSubmitRequestTest, IdsAreUniquePerRunAndIndex) {
  const absl::Time now = absl::Now();
  std::set<std::string> event_ids;
  std::set<std::string> references;
  for (const char* run : {"a", "b"}) {
    for (int64_t i = 0; i < 100; ++i) {
      hub::intake::v1::SubmitCrimeReportRequest request = MakeSubmitRequest(run, i, now);
      event_ids.insert(request.report().source_event_id());
      references.insert(request.report().crime_reference());
    }
  }
  EXPECT_EQ(event_ids.size(), 200u);
  EXPECT_EQ(references.size(), 200u);
}

TEST(SubmitRequestBytesTest, MatchesTheLargestRequest) {
  EXPECT_EQ(SubmitRequestBytes("run", 1000),
            MakeSubmitRequest("run", 999, absl::Now()).ByteSizeLong());
}

TEST(ValidateRunIdTest, RefusesWhatIntakeWouldRefuse) {
  EXPECT_THAT(ValidateRunId("1732550000-4242"), IsOk());
  EXPECT_THAT(ValidateRunId(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateRunId("has space"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateRunId(std::string(25, 'a')), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SummarizeTest, NearestRankPercentiles) {
  std::vector<double> samples;
  for (int i = 100; i >= 1; --i) {
    samples.push_back(i);
  }
  LatencySummary summary = Summarize(samples);
  EXPECT_EQ(summary.count, 100u);
  EXPECT_EQ(summary.p50_ms, 50);
  EXPECT_EQ(summary.p90_ms, 90);
  EXPECT_EQ(summary.p99_ms, 99);
  EXPECT_EQ(summary.max_ms, 100);
}

TEST(SummarizeTest, SmallAndEmptySets) {
  EXPECT_EQ(Summarize({}).count, 0u);
  EXPECT_EQ(Summarize({}).p99_ms, 0);
  LatencySummary one = Summarize({7});
  EXPECT_EQ(one.p50_ms, 7);
  EXPECT_EQ(one.p99_ms, 7);
}

LoadConfig EchoConfig(const std::string& addr) {
  LoadConfig config;
  config.target = Target::kEcho;
  config.addr = addr;
  config.run_id = "test";
  return config;
}

TEST(ValidateLoadConfigTest, OnlyLoopback) {
  EXPECT_THAT(ValidateLoadConfig(EchoConfig("127.0.0.1:5000")), IsOk());
  EXPECT_THAT(ValidateLoadConfig(EchoConfig("10.0.0.1:5000")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--addr")));
  EXPECT_THAT(ValidateLoadConfig(EchoConfig("localhost:5000")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--addr")));
  LoadConfig pipeline = EchoConfig("127.0.0.1:5000");
  pipeline.target = Target::kPipeline;
  pipeline.redis_addr = "192.168.1.1:6379";
  EXPECT_THAT(ValidateLoadConfig(pipeline),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--redis")));
}

TEST(ValidateLoadConfigTest, RefusesUnboundedOrEmptyRuns) {
  LoadConfig config = EchoConfig("127.0.0.1:5000");
  config.requests = 0;
  EXPECT_THAT(ValidateLoadConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--requests")));
  config = EchoConfig("127.0.0.1:5000");
  config.duration_limit = absl::InfiniteDuration();
  EXPECT_THAT(ValidateLoadConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--duration-limit")));
  config = EchoConfig("127.0.0.1:5000");
  config.rate = -1;
  EXPECT_THAT(ValidateLoadConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--rate")));
}

// A real echo server on a free loopback port: every call is counted once, as OK.
class EchoRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown();
    }
  }
  std::string Addr() const { return absl::StrCat("127.0.0.1:", port_); }

  EchoServiceImpl service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(EchoRunTest, ClosedLoopCountsEveryCall) {
  LoadConfig config = EchoConfig(Addr());
  config.requests = 300;
  config.concurrency = 8;
  config.label = "unit";
  absl::StatusOr<LoadResult> result = RunLoad(config);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->sent, 300);
  EXPECT_EQ(result->ok(), 300);
  EXPECT_EQ(result->errors(), 0);
  EXPECT_FALSE(result->duration_limited);
  EXPECT_EQ(result->rpc_latency.count, 300u);
  EXPECT_EQ(result->payload_bytes, SubmitRequestBytes("test", 300));
  const std::string json = ToJsonLine(*result);
  EXPECT_THAT(json, HasSubstr(R"("target":"echo")"));
  EXPECT_THAT(json, HasSubstr(R"("ok":300)"));
  EXPECT_THAT(json, HasSubstr(R"("rpc_p99_ms":)"));
  EXPECT_THAT(json, ::testing::Not(HasSubstr("e2e")));
}

TEST_F(EchoRunTest, OpenLoopStopsAtTheDurationLimit) {
  LoadConfig config = EchoConfig(Addr());
  // 1000 calls at 100/s would take 10 s; the limit stops sending after about 200 ms.
  config.requests = 1000;
  config.rate = 100;
  config.duration_limit = absl::Milliseconds(200);
  absl::StatusOr<LoadResult> result = RunLoad(config);
  ASSERT_THAT(result, IsOk());
  EXPECT_TRUE(result->duration_limited);
  EXPECT_LE(result->sent, 20);
  EXPECT_EQ(result->ok(), result->sent);
}

TEST(ValidateLoadConfigTest, IntakeNeedsNoRedis) {
  LoadConfig config = EchoConfig("127.0.0.1:5000");
  config.target = Target::kIntake;
  EXPECT_THAT(ValidateLoadConfig(config), IsOk());
  EXPECT_STREQ(TargetName(Target::kIntake), "intake");
}

// Stands in for hub-intake: checks each report as intake's validation does, answers one
// case per report, and fails every `fail_every`-th call (by arrival) with UNAVAILABLE or,
// when `duplicate_instead`, answers it as a duplicate. Intake itself needs Kafka and Redis;
// what is tested here is how the tool counts.
class FakeIntake final : public hub::intake::v1::IntakeService::CallbackService {
 public:
  grpc::ServerUnaryReactor* SubmitCrimeReport(
      grpc::CallbackServerContext* context,
      const hub::intake::v1::SubmitCrimeReportRequest* request,
      hub::intake::v1::SubmitCrimeReportResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    const int64_t n = ++calls_;
    if (!hub::intake::ValidateCrimeReport(request->report(), absl::Now()).empty()) {
      invalid_++;
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "invalid report"));
      return reactor;
    }
    if (fail_every > 0 && n % fail_every == 0 && !duplicate_instead) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "outcome unknown"));
      return reactor;
    }
    hub::intake::v1::CaseReceipt& receipt = *response->add_cases();
    receipt.set_victim_ref(request->report().victims(0).victim_ref());
    receipt.set_case_id(absl::StrCat("case-", n));
    response->set_duplicate(fail_every > 0 && n % fail_every == 0);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  int64_t fail_every = 0;
  bool duplicate_instead = false;
  std::atomic<int64_t> calls_{0};
  std::atomic<int64_t> invalid_{0};
};

class IntakeRunTest : public ::testing::Test {
 protected:
  void Start() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown();
    }
  }
  LoadConfig Config() const {
    LoadConfig config = EchoConfig(absl::StrCat("127.0.0.1:", port_));
    config.target = Target::kIntake;
    config.requests = 200;
    config.concurrency = 8;
    return config;
  }

  FakeIntake service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(IntakeRunTest, CountsEveryAcceptedReportAndFollowsNothing) {
  Start();
  absl::StatusOr<LoadResult> result = RunLoad(Config());
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(service_.invalid_.load(), 0);
  EXPECT_EQ(service_.calls_.load(), 200);
  EXPECT_EQ(result->sent, 200);
  EXPECT_EQ(result->ok(), 200);
  EXPECT_EQ(result->errors(), 0);
  EXPECT_EQ(result->rpc_latency.count, 200u);
  EXPECT_GT(result->throughput_per_s(), 0);
  EXPECT_DOUBLE_EQ(result->throughput_per_s(), 200 / result->rpc_seconds);
  EXPECT_EQ(result->payload_bytes, SubmitRequestBytes("test", 200));
  const std::string json = ToJsonLine(*result);
  EXPECT_THAT(json, HasSubstr(R"("target":"intake")"));
  EXPECT_THAT(json, HasSubstr(R"("ok":200)"));
  EXPECT_THAT(json, HasSubstr(R"("rpc_p50_ms":)"));
  EXPECT_THAT(json, HasSubstr(R"("rpc_max_ms":)"));
  EXPECT_THAT(json, ::testing::Not(HasSubstr("e2e")));
  EXPECT_THAT(json, ::testing::Not(HasSubstr("submit_")));
}

TEST_F(IntakeRunTest, FailedCallsAreErrors) {
  service_.fail_every = 10;
  Start();
  absl::StatusOr<LoadResult> result = RunLoad(Config());
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->ok(), 180);
  EXPECT_EQ(result->errors(), 20);
  EXPECT_EQ(result->rpc_latency.count, 180u);
  EXPECT_THAT(result->first_error, HasSubstr("outcome unknown"));
}

TEST_F(IntakeRunTest, DuplicatesAreErrors) {
  // A duplicate answer means the ids were not unique: nothing was published for it.
  service_.fail_every = 50;
  service_.duplicate_instead = true;
  Start();
  absl::StatusOr<LoadResult> result = RunLoad(Config());
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->ok(), 196);
  EXPECT_EQ(result->errors(), 4);
  EXPECT_THAT(result->first_error, HasSubstr("duplicate"));
}

TEST(RunLoadTest, UnreachableTargetIsUnavailable) {
  // Port 1 on loopback: nothing listens there without root.
  LoadConfig config = EchoConfig("127.0.0.1:1");
  config.requests = 1;
  config.connect_timeout = absl::Milliseconds(300);
  EXPECT_THAT(RunLoad(config), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace hub::bench
