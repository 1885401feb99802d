// The stand-in must be as strict as Notify, or the client tests prove nothing: these
// tests talk to it with raw HTTP requests a correct client would never make.
#include "services/notification/notify/notify_stand_in.h"

#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include <sys/wait.h>

#include "services/common/clock/clock.h"
#include "services/common/status/status_matchers.h"
#include "services/notification/notify/jwt.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"

namespace hub::notification::notify {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kServiceId[] = "2b9d7c4e-1a6f-4e83-b5d0-9f3e2a7c8d14";
constexpr char kSecret[] = "6f1c2b8e-4d3a-4f7e-9b21-0c5d8e7a3f19";
constexpr char kTemplate[] = "f33517ff-2a88-4f6e-b855-c550268ce08a";

class NotifyStandInTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NotifyStandInOptions options;
    options.api_key = absl::StrCat("test-", kServiceId, "-", kSecret);
    options.clock = clock_;
    ASSERT_OK_AND_ASSIGN(stand_in_, NotifyStandIn::Start(options));
    http_ = std::make_unique<httplib::Client>(stand_in_->base_url());
  }

  std::string Bearer() const {
    return absl::StrCat("Bearer ", SignNotifyJwt(kServiceId, clock_->Now(), kSecret));
  }

  // POSTs `body` with a good token; returns status and parsed body.
  std::pair<int, json> Post(const std::string& path, const std::string& body) {
    httplib::Result result =
        http_->Post(path, httplib::Headers{{"Authorization", Bearer()}}, body, "application/json");
    if (!result) {
      ADD_FAILURE() << "no answer: " << httplib::to_string(result.error());
      return {0, json()};
    }
    return {result->status, json::parse(result->body, nullptr, false)};
  }

  static std::string FirstMessage(const json& body) {
    return body["errors"][0]["message"].get<std::string>();
  }

  std::shared_ptr<clock::FakeClock> clock_ =
      std::make_shared<clock::FakeClock>(absl::FromUnixSeconds(1767603600));
  std::unique_ptr<NotifyStandIn> stand_in_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(NotifyStandInTest, AcceptsAValidSmsAndAnswersLikeNotify) {
  auto [status, body] = Post("/v2/notifications/sms", json{{"phone_number", "+447700900123"},
                                                           {"template_id", kTemplate},
                                                           {"personalisation", {{"name", "Sam"}}},
                                                           {"reference", "r1"}}
                                                          .dump());
  EXPECT_EQ(status, 201);
  EXPECT_TRUE(IsUuid(body["id"].get<std::string>()));
  EXPECT_EQ(body["reference"], "r1");
  EXPECT_EQ(body["template"]["id"], kTemplate);
  EXPECT_EQ(body["template"]["version"], 1);
  EXPECT_TRUE(body.contains("content"));
  EXPECT_TRUE(body.contains("uri"));
  ASSERT_THAT(stand_in_->notifications(), SizeIs(1));
  EXPECT_EQ(stand_in_->notifications()[0].type, "sms");
}

TEST_F(NotifyStandInTest, RequiresABearerToken) {
  httplib::Result none = http_->Get("/v2/notifications");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(FirstMessage(json::parse(none->body)),
            "Unauthorized: authentication token must be provided");
  httplib::Result basic =
      http_->Get("/v2/notifications", httplib::Headers{{"Authorization", "Basic abc"}});
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->status, 401);
}

TEST_F(NotifyStandInTest, RefusesAnUnsignedToken) {
  std::string claims = absl::StrCat(R"({"iss":")", kServiceId, R"(","iat":)",
                                    absl::ToUnixSeconds(clock_->Now()), "}");
  std::string none = absl::StrCat(Base64UrlEncode(R"({"typ":"JWT","alg":"none"})"), ".",
                                  Base64UrlEncode(claims), ".");
  httplib::Result result =
      http_->Get("/v2/notifications", httplib::Headers{{"Authorization", "Bearer " + none}});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 403);
  EXPECT_EQ(FirstMessage(json::parse(result->body)), "Invalid token: algorithm used is not HS256");
}

TEST_F(NotifyStandInTest, RefusesUnknownAndMissingFields) {
  auto [status, body] = Post("/v2/notifications/sms",
                             json{{"phone", "07700900123"}, {"template_id", kTemplate}}.dump());
  EXPECT_EQ(status, 400);
  EXPECT_EQ(body["status_code"], 400);
  std::vector<std::string> messages;
  for (const json& error : body["errors"]) {
    EXPECT_EQ(error["error"], "ValidationError");
    messages.push_back(error["message"]);
  }
  EXPECT_THAT(messages, ::testing::UnorderedElementsAre(
                            "phone_number is a required property",
                            "Additional properties are not allowed (phone was unexpected)"));
  EXPECT_THAT(stand_in_->notifications(), SizeIs(0));
}

TEST_F(NotifyStandInTest, ChecksIdsRecipientsAndTypes) {
  EXPECT_EQ(FirstMessage(Post("/v2/notifications/email",
                              json{{"email_address", "a@b.org"}, {"template_id", "x"}}.dump())
                             .second),
            "template_id is not a valid UUID");
  EXPECT_EQ(FirstMessage(
                Post("/v2/notifications/email",
                     json{{"email_address", "not-an-address"}, {"template_id", kTemplate}}.dump())
                    .second),
            "email_address Not a valid email address");
  EXPECT_EQ(FirstMessage(Post("/v2/notifications/sms", json{{"phone_number", "07700900123"},
                                                            {"template_id", kTemplate},
                                                            {"reference", 7}}
                                                           .dump())
                             .second),
            "reference is not of type string");
  EXPECT_EQ(FirstMessage(Post("/v2/notifications/sms", json{{"phone_number", "07700900123"},
                                                            {"template_id", kTemplate},
                                                            {"personalisation", "Sam"}}
                                                           .dump())
                             .second),
            "personalisation is not of type object");
  auto [status, body] = Post("/v2/notifications/sms", "{not json");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(body["errors"][0]["error"], "BadRequestError");
}

TEST_F(NotifyStandInTest, ALetterNeedsAnAddressOfThreeLines) {
  auto [status, body] =
      Post("/v2/notifications/letter",
           json{{"template_id", kTemplate},
                {"personalisation", {{"address_line_1", "A"}, {"address_line_2", "B"}}}}
               .dump());
  EXPECT_EQ(status, 400);
  EXPECT_EQ(FirstMessage(body), "Address must be at least 3 lines");
  EXPECT_EQ(FirstMessage(
                Post("/v2/notifications/letter", json{{"template_id", kTemplate}}.dump()).second),
            "personalisation is a required property");
  EXPECT_EQ(Post("/v2/notifications/letter",
                 json{{"template_id", kTemplate},
                      {"personalisation",
                       {{"address_line_1", "A"}, {"address_line_2", "B"}, {"postcode", "CB1 2AB"}}}}
                     .dump())
                .first,
            201);
}

TEST_F(NotifyStandInTest, RecordsEveryRequestIncludingUnknownPaths) {
  httplib::Result result = http_->Post("/v2/notification/sms", "{}", "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  Post("/v2/notifications/sms", "{}");
  std::vector<RecordedRequest> requests = stand_in_->requests();
  ASSERT_THAT(requests, SizeIs(2));
  EXPECT_EQ(requests[0].path, "/v2/notification/sms");
  EXPECT_EQ(requests[0].status, 404);
  EXPECT_EQ(requests[1].status, 400);
  EXPECT_EQ(requests[1].error_type, "ValidationError");
  EXPECT_EQ(requests[1].body, "{}");
}

TEST_F(NotifyStandInTest, StartRefusesABadKey) {
  NotifyStandInOptions options;
  options.api_key = "not a key";
  EXPECT_THAT(NotifyStandIn::Start(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("notify-api-key")));
}

TEST_F(NotifyStandInTest, StopWakesADelayedAnswer) {
  stand_in_->DelayNextAnswer(1, absl::Hours(1));
  std::thread caller([this] { http_->Get("/v2/notifications"); });
  // Wait until the request is being held.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (stand_in_->requests().empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  absl::Time before = absl::Now();
  stand_in_->Stop();
  caller.join();
  EXPECT_LT(absl::Now() - before, absl::Seconds(10));
}

// The record file's lines: what a demo shows, so they must say what happened without
// repeating personal data unless asked to.
TEST_F(NotifyStandInTest, RecordLineListsPersonalisationKeysAndValuesOnlyWhenAsked) {
  Post("/v2/notifications/sms", json{{"phone_number", "+447700900123"},
                                     {"template_id", kTemplate},
                                     {"personalisation", {{"sms", "Hello Sam"}, {"ref", "A1"}}},
                                     {"reference", "msg-1"}}
                                    .dump());
  ASSERT_EQ(stand_in_->notifications().size(), 1U);
  ASSERT_EQ(stand_in_->requests().size(), 1U);
  const StoredNotification created = stand_in_->notifications()[0];
  const RecordedRequest request = stand_in_->requests()[0];

  const std::string without = RecordLine(request, &created, /*include_content=*/false);
  EXPECT_EQ(without.find('\n'), std::string::npos);
  json line = json::parse(without);
  EXPECT_EQ(line["event"], "accepted");
  EXPECT_EQ(line["id"], created.id);
  EXPECT_EQ(line["reference"], "msg-1");
  EXPECT_EQ(line["type"], "sms");
  EXPECT_EQ(line["template_id"], kTemplate);
  EXPECT_EQ(line["personalisation_keys"], json::array({"ref", "sms"}));
  EXPECT_FALSE(line.contains("personalisation"));
  EXPECT_THAT(without, Not(HasSubstr("Hello Sam")));
  EXPECT_THAT(without, Not(HasSubstr("7700900123")));

  json with = json::parse(RecordLine(request, &created, /*include_content=*/true));
  EXPECT_EQ(with["personalisation"], json({{"sms", "Hello Sam"}, {"ref", "A1"}}));
}

TEST_F(NotifyStandInTest, RecordLineForARefusalHasTheStatusAndErrorButNoToken) {
  httplib::Result result =
      http_->Get("/v2/notifications", httplib::Headers{{"Authorization", "Bearer not.a.token"}});
  ASSERT_TRUE(result);
  ASSERT_EQ(stand_in_->requests().size(), 1U);
  const std::string text = RecordLine(stand_in_->requests()[0], nullptr, true);
  json line = json::parse(text);
  EXPECT_EQ(line["event"], "refused");
  EXPECT_EQ(line["method"], "GET");
  EXPECT_EQ(line["path"], "/v2/notifications");
  EXPECT_EQ(line["status"], 403);
  EXPECT_EQ(line["error_type"], "AuthError");
  EXPECT_EQ(line["message"], "Invalid token: signature, api token not found");
  EXPECT_THAT(text, Not(HasSubstr("not.a.token")));
}

TEST_F(NotifyStandInTest, RecordLineIsEmptyForALookupThatSucceeded) {
  httplib::Result result =
      http_->Get("/v2/notifications", httplib::Headers{{"Authorization", Bearer()}});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  ASSERT_EQ(stand_in_->requests().size(), 1U);
  EXPECT_EQ(RecordLine(stand_in_->requests()[0], nullptr, true), "");
}

TEST(NotifyStandInHookTest, OnRequestSeesEveryRequestWithTheNotificationItCreated) {
  auto clock = std::make_shared<clock::FakeClock>(absl::FromUnixSeconds(1767603600));
  absl::Mutex mu;
  std::vector<std::string> seen;
  NotifyStandInOptions options;
  options.api_key = absl::StrCat("test-", kServiceId, "-", kSecret);
  options.clock = clock;
  options.on_request = [&](const RecordedRequest& request, const StoredNotification* created) {
    absl::MutexLock lock(&mu);
    seen.push_back(absl::StrCat(request.status, " ", created != nullptr ? created->type : "-"));
  };
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NotifyStandIn> stand_in, NotifyStandIn::Start(options));
  httplib::Client http(stand_in->base_url());
  std::string bearer = absl::StrCat("Bearer ", SignNotifyJwt(kServiceId, clock->Now(), kSecret));
  ASSERT_TRUE(http.Post("/v2/notifications/email", httplib::Headers{{"Authorization", bearer}},
                        json{{"email_address", "a@b.org"}, {"template_id", kTemplate}}.dump(),
                        "application/json"));
  ASSERT_TRUE(http.Get("/v2/notifications"));
  stand_in->Stop();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"201 email", "401 -"}));
}

TEST(NotifyStandInHookTest, ListensOnTheGivenPortAndRefusesATakenOne) {
  NotifyStandInOptions options;
  options.api_key = absl::StrCat("test-", kServiceId, "-", kSecret);
  options.port = ::hub::testing::FreePort();
  ASSERT_NE(options.port, 0);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NotifyStandIn> first, NotifyStandIn::Start(options));
  EXPECT_EQ(first->port(), options.port);
  EXPECT_EQ(first->base_url(), absl::StrCat("http://127.0.0.1:", options.port));
  EXPECT_THAT(NotifyStandIn::Start(options),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(absl::StrCat("cannot listen on 127.0.0.1:", options.port))));
}

// hub-notify-stand-in as the local stack runs it: a real process on a fixed port.
class StandInProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/notify-stand-in-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name(), "-",
                        getpid());
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(std::filesystem::create_directories(dir_)) << dir_;
    key_file_ = dir_ + "/notify-key";
    record_ = dir_ + "/record.jsonl";
    log_ = dir_ + "/stand-in.log";
    WriteFile(key_file_, absl::StrCat("local-demo-", kServiceId, "-", kSecret, "\n"));
  }

  static std::string Binary() {
    std::string bin = ::hub::testing::BinDir();
    return absl::StrCat(bin.empty() ? HUB_DEFAULT_BIN_DIR : bin, "/hub-notify-stand-in");
  }

  static void WriteFile(const std::string& path, const std::string& content) {
    std::ofstream(path) << content;
  }

  static std::string ReadFile(const std::string& path) {
    std::ifstream file(path);
    std::stringstream content;
    content << file.rdbuf();
    return content.str();
  }

  // Starts the executable with `extra` flags and waits until it says it listens.
  void StartProcess(const std::vector<std::string>& extra) {
    port_ = ::hub::testing::FreePort();
    do {
      health_port_ = ::hub::testing::FreePort();
    } while (health_port_ == port_);
    std::vector<std::string> args = {
        "--port", absl::StrCat(port_), "--api-key-file",          key_file_, "--record",
        record_,  "--health-port",     absl::StrCat(health_port_)};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_OK_AND_ASSIGN(process_, ::hub::testing::ChildProcess::Start(Binary(), args, {}, log_));
    ASSERT_THAT(::hub::testing::WaitForHttp200(health_port_, "/healthz", absl::Seconds(20)), IsOk())
        << ReadFile(log_);
    const std::string listening =
        absl::StrCat("hub-notify-stand-in: listening on http://127.0.0.1:", port_, "\n");
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!absl::StrContains(ReadFile(log_), listening) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    ASSERT_THAT(ReadFile(log_), HasSubstr(listening));
  }

  // Sends one SMS signed with `secret`; returns the status.
  int SendSms(const std::string& secret) {
    httplib::Client http("127.0.0.1", port_);
    std::string bearer = absl::StrCat("Bearer ", SignNotifyJwt(kServiceId, absl::Now(), secret));
    httplib::Result result =
        http.Post("/v2/notifications/sms", httplib::Headers{{"Authorization", bearer}},
                  json{{"phone_number", "07700900123"},
                       {"template_id", kTemplate},
                       {"personalisation", {{"sms", "Hello Sam, please call us"}}},
                       {"reference", "demo-1"}}
                      .dump(),
                  "application/json");
    return result ? result->status : 0;
  }

  std::vector<json> RecordLines() const {
    std::vector<json> lines;
    for (absl::string_view line : absl::StrSplit(ReadFile(record_), '\n', absl::SkipEmpty())) {
      lines.push_back(json::parse(line, nullptr, false));
    }
    return lines;
  }

  // SIGTERM, then the exit status 0 within 10 seconds.
  void StopCleanly() {
    process_->Signal(SIGTERM);
    absl::StatusOr<int> status = process_->Wait(absl::Seconds(10));
    ASSERT_THAT(status, IsOk());
    EXPECT_TRUE(WIFEXITED(*status)) << ReadFile(log_);
    EXPECT_EQ(WEXITSTATUS(*status), 0) << ReadFile(log_);
  }

  std::string dir_;
  std::string key_file_;
  std::string record_;
  std::string log_;
  int port_ = 0;
  int health_port_ = 0;
  std::unique_ptr<::hub::testing::ChildProcess> process_;
};

TEST_F(StandInProcessTest, RecordsAcceptedAndRefusedSendsAndStopsOnSigterm) {
  ASSERT_NO_FATAL_FAILURE(StartProcess({}));
  EXPECT_EQ(SendSms(kSecret), 201);
  EXPECT_EQ(SendSms("0d6c1f3a-9e2b-4c7d-8a15-3b4e6f7a8c90"), 403);
  std::vector<json> lines = RecordLines();
  ASSERT_EQ(lines.size(), 2U) << ReadFile(record_);
  EXPECT_EQ(lines[0]["event"], "accepted");
  EXPECT_EQ(lines[0]["type"], "sms");
  EXPECT_EQ(lines[0]["reference"], "demo-1");
  EXPECT_EQ(lines[0]["personalisation_keys"], json::array({"sms"}));
  EXPECT_FALSE(lines[0].contains("personalisation"));
  EXPECT_EQ(lines[1]["event"], "refused");
  EXPECT_EQ(lines[1]["status"], 403);
  EXPECT_EQ(lines[1]["error_type"], "AuthError");
  EXPECT_THAT(ReadFile(record_), Not(HasSubstr("Hello Sam")));
  StopCleanly();
}

TEST_F(StandInProcessTest, RecordContentAddsTheValuesAndTheFileIsAppendedTo) {
  WriteFile(record_, "{\"event\":\"earlier\"}\n");
  ASSERT_NO_FATAL_FAILURE(StartProcess({"--record-content"}));
  EXPECT_EQ(SendSms(kSecret), 201);
  std::vector<json> lines = RecordLines();
  ASSERT_EQ(lines.size(), 2U) << ReadFile(record_);
  EXPECT_EQ(lines[0]["event"], "earlier");
  EXPECT_EQ(lines[1]["personalisation"]["sms"], "Hello Sam, please call us");
  StopCleanly();
}

TEST_F(StandInProcessTest, ABadKeyFileStopsItWithoutShowingTheKey) {
  WriteFile(key_file_, "not-a-key-SECRETVALUE\n");
  ASSERT_OK_AND_ASSIGN(process_, ::hub::testing::ChildProcess::Start(
                                     Binary(),
                                     {"--port", absl::StrCat(::hub::testing::FreePort()),
                                      "--api-key-file", key_file_, "--record", record_},
                                     {}, log_));
  absl::StatusOr<int> status = process_->Wait(absl::Seconds(10));
  ASSERT_THAT(status, IsOk());
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_THAT(ReadFile(log_), HasSubstr(key_file_));
  EXPECT_THAT(ReadFile(log_), HasSubstr("notify-api-key"));
  EXPECT_THAT(ReadFile(log_), Not(HasSubstr("SECRETVALUE")));
}

}  // namespace
}  // namespace hub::notification::notify
