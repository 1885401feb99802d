// RedisClient against a real redis-server. Most tests use the shared server at
// HUB_TEST_REDIS and fail when it is unset; the restart test runs its own redis-server.

#include <atomic>
#include <cerrno>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/redis/redis_client.h"
#include "services/common/redis/reply_matchers.h"
#include "services/common/status/status_matchers.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"

namespace hub::redis {
namespace {

using ::hub::testing::HostPort;
using ::hub::testing::IsArrayReply;
using ::hub::testing::IsErrorReply;
using ::hub::testing::IsIntegerReply;
using ::hub::testing::IsNilReply;
using ::hub::testing::IsOk;
using ::hub::testing::IsStatusReply;
using ::hub::testing::IsStringReply;
using ::hub::testing::StatusIs;
using ::hub::testing::UniqueName;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class RedisClientIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<HostPort> server = ::hub::testing::RedisFromEnv();
    ASSERT_THAT(server, IsOk());
    address_ = server->ToString();
    config_.host = server->host;
    config_.port = server->port;
    config_.connect_timeout = absl::Seconds(1);
    config_.command_timeout = absl::Seconds(2);
    config_.pool_size = 2;
    prefix_ = UniqueName("hub-redis-it");
  }

  void TearDown() override {
    if (keys_.empty()) {
      return;
    }
    absl::StatusOr<std::unique_ptr<RedisClient>> client = CreateRedisClient(config_);
    ASSERT_THAT(client, IsOk());
    std::vector<std::string> del = {"DEL"};
    del.insert(del.end(), keys_.begin(), keys_.end());
    EXPECT_THAT((*client)->Command(del), IsOk());
  }

  std::unique_ptr<RedisClient> Connect(const RedisConfig& config) {
    absl::StatusOr<std::unique_ptr<RedisClient>> client = CreateRedisClient(config);
    EXPECT_THAT(client, IsOk());
    return client.ok() ? *std::move(client) : nullptr;
  }

  // A key unique to this test, deleted in TearDown. The hash tag keeps a test's keys in one
  // slot, as scripts touching several keys need on Redis Cluster.
  std::string Key(const std::string& name) {
    keys_.push_back(absl::StrCat("{", prefix_, "}:", name));
    return keys_.back();
  }

  RedisConfig config_;
  std::string address_;
  std::string prefix_;
  std::vector<std::string> keys_;
};

TEST_F(RedisClientIntegrationTest, CommandRoundTripsABinaryValue) {
  std::unique_ptr<RedisClient> client = Connect(config_);
  ASSERT_NE(client, nullptr);
  const std::string key = Key("binary");
  const std::string value("name\0\xff\r\nend", 11);

  EXPECT_THAT(client->Ping(), IsOk());
  ASSERT_OK_AND_ASSIGN(Reply set, client->Command({"SET", key, value}));
  EXPECT_THAT(set, IsStatusReply("OK"));
  ASSERT_OK_AND_ASSIGN(Reply get, client->Command({"GET", key}));
  EXPECT_THAT(get, IsStringReply(value));
  ASSERT_OK_AND_ASSIGN(Reply missing, client->Command({"GET", Key("missing")}));
  EXPECT_THAT(missing, IsNilReply());
}

TEST_F(RedisClientIntegrationTest, ErrorReplyIsInternalAndDoesNotEchoArguments) {
  std::unique_ptr<RedisClient> client = Connect(config_);
  ASSERT_NE(client, nullptr);
  const std::string key = Key("not-a-number");
  ASSERT_THAT(client->Command({"SET", key, "victim-name-Jane"}), IsOk());

  EXPECT_THAT(
      client->Command({"INCR", key}),
      StatusIs(absl::StatusCode::kInternal,
               AllOf(StartsWith("redis: ERR"), Not(HasSubstr("Jane")), Not(HasSubstr(key)))));
  EXPECT_THAT(client->Command({}), StatusIs(absl::StatusCode::kInvalidArgument));
  // The error reply did not break the connection.
  EXPECT_THAT(client->Ping(), IsOk());
}

TEST_F(RedisClientIntegrationTest, PipelineReturnsRepliesInOrderWithErrorsInPlace) {
  std::unique_ptr<RedisClient> client = Connect(config_);
  ASSERT_NE(client, nullptr);
  const std::string text = Key("text");
  const std::string list = Key("list");

  ASSERT_OK_AND_ASSIGN(std::vector<Reply> replies, client->Pipeline({{"SET", text, "v"},
                                                                     {"INCR", text},
                                                                     {"GET", text},
                                                                     {"RPUSH", list, "a", "b"},
                                                                     {"LRANGE", list, "0", "-1"},
                                                                     {"GET", Key("missing")}}));
  EXPECT_THAT(
      replies,
      ElementsAre(IsStatusReply("OK"), IsErrorReply(StartsWith("ERR")), IsStringReply("v"),
                  IsIntegerReply(2),
                  IsArrayReply(ElementsAre(IsStringReply("a"), IsStringReply("b"))), IsNilReply()));

  ASSERT_OK_AND_ASSIGN(std::vector<Reply> none, client->Pipeline({}));
  EXPECT_TRUE(none.empty());
  EXPECT_THAT(client->Pipeline({{"PING"}, {}}), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RedisClientIntegrationTest, EvalReturnsNestedArray) {
  std::unique_ptr<RedisClient> client = Connect(config_);
  ASSERT_NE(client, nullptr);
  const Script script(
      "redis.call('SET', KEYS[1], ARGV[1])\n"
      "return {redis.call('GET', KEYS[1]), tonumber(ARGV[2]) + 1, {KEYS[2], ARGV[1]}}");
  const std::string first = Key("first");
  const std::string second = Key("second");

  ASSERT_OK_AND_ASSIGN(Reply reply, client->Eval(script, {first, second}, {"v", "7"}));
  EXPECT_THAT(reply, IsArrayReply(ElementsAre(
                         IsStringReply("v"), IsIntegerReply(8),
                         IsArrayReply(ElementsAre(IsStringReply(second), IsStringReply("v"))))));
}

TEST_F(RedisClientIntegrationTest, EvalErrorIsInternal) {
  std::unique_ptr<RedisClient> client = Connect(config_);
  ASSERT_NE(client, nullptr);
  const Script script("return redis.error_reply('HUB_REJECTED transition not allowed')");

  EXPECT_THAT(client->Eval(script, {}, {}),
              StatusIs(absl::StatusCode::kInternal, "redis: HUB_REJECTED transition not allowed"));
}

TEST_F(RedisClientIntegrationTest, EvalFallsBackToEvalAfterScriptFlush) {
  std::unique_ptr<RedisClient> client = Connect(config_);
  ASSERT_NE(client, nullptr);
  // A source no server has seen, so the first Eval also takes the NOSCRIPT path.
  const Script script(absl::StrCat("return ARGV[1] .. '/", prefix_, "'"));
  auto cached = [&]() -> absl::StatusOr<Reply> {
    return client->Command({"SCRIPT", "EXISTS", script.sha1()});
  };

  EXPECT_THAT(cached(), IsOk());
  EXPECT_THAT(*cached(), IsArrayReply(ElementsAre(IsIntegerReply(0))));
  ASSERT_OK_AND_ASSIGN(Reply first, client->Eval(script, {}, {"a"}));
  EXPECT_THAT(first, IsStringReply(absl::StrCat("a/", prefix_)));
  EXPECT_THAT(*cached(), IsArrayReply(ElementsAre(IsIntegerReply(1))));

  ASSERT_THAT(client->Command({"SCRIPT", "FLUSH"}), IsOk());
  EXPECT_THAT(*cached(), IsArrayReply(ElementsAre(IsIntegerReply(0))));
  ASSERT_OK_AND_ASSIGN(Reply second, client->Eval(script, {}, {"b"}));
  EXPECT_THAT(second, IsStringReply(absl::StrCat("b/", prefix_)));

  // The client's SHA-1 is the server's name for the script.
  ASSERT_OK_AND_ASSIGN(Reply loaded, client->Command({"SCRIPT", "LOAD", script.source()}));
  EXPECT_THAT(loaded, IsStringReply(script.sha1()));
}

TEST_F(RedisClientIntegrationTest, EightThreadsShareTwoConnections) {
  constexpr int kThreads = 8;
  constexpr int kCommandsPerThread = 100;
  constexpr int kScriptsPerThread = 25;
  constexpr int kPipelinesPerThread = 25;  // Two INCRs each.
  config_.pool_size = 2;
  std::unique_ptr<RedisClient> client = Connect(config_);
  ASSERT_NE(client, nullptr);
  const std::string counter = Key("counter");
  const Script incr("return redis.call('INCR', KEYS[1])");

  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCommandsPerThread; ++i) {
        failures += client->Command({"INCR", counter}).ok() ? 0 : 1;
      }
      for (int i = 0; i < kScriptsPerThread; ++i) {
        failures += client->Eval(incr, {counter}, {}).ok() ? 0 : 1;
      }
      for (int i = 0; i < kPipelinesPerThread; ++i) {
        failures += client->Pipeline({{"INCR", counter}, {"INCR", counter}}).ok() ? 0 : 1;
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }

  EXPECT_EQ(failures.load(), 0);
  ASSERT_OK_AND_ASSIGN(Reply total, client->Command({"GET", counter}));
  EXPECT_THAT(total, IsStringReply(absl::StrCat(kThreads * (kCommandsPerThread + kScriptsPerThread +
                                                            2 * kPipelinesPerThread))));
}

TEST_F(RedisClientIntegrationTest, TimeoutIsUnavailableAndTheNextCallReconnects) {
  config_.pool_size = 1;  // The next call must reuse the slot whose connection timed out.
  config_.command_timeout = absl::Milliseconds(100);
  std::unique_ptr<RedisClient> client = Connect(config_);
  ASSERT_NE(client, nullptr);
  const std::string empty_list = Key("empty-list");
  ASSERT_OK_AND_ASSIGN(Reply id_before, client->Command({"CLIENT", "ID"}));

  // BLPOP waits 2 s on the server; the client gives up after 100 ms.
  const absl::Time start = absl::Now();
  EXPECT_THAT(
      client->Command({"BLPOP", empty_list, "2"}),
      StatusIs(absl::StatusCode::kUnavailable,
               AllOf(HasSubstr(address_), HasSubstr("timeout"), Not(HasSubstr(empty_list)))));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));

  ASSERT_OK_AND_ASSIGN(Reply id_after, client->Command({"CLIENT", "ID"}));
  EXPECT_NE(id_after.integer, id_before.integer) << "expected a fresh connection";
  EXPECT_THAT(client->Command({"SET", Key("after"), "ok"}), IsOk());

  // A pipeline that times out part-way must not leave its late replies for the next call.
  EXPECT_THAT(client->Pipeline({{"PING"}, {"BLPOP", empty_list, "2"}, {"PING"}}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(address_)));
  ASSERT_OK_AND_ASSIGN(Reply echo, client->Command({"ECHO", "next"}));
  EXPECT_THAT(echo, IsStringReply("next"));
}

// A private redis-server child process this test can kill and restart on the same port.
class RedisServerProcess {
 public:
  explicit RedisServerProcess(int port) : port_(port) {}

  // Starts the server and waits until it answers PING.
  absl::Status Start() {
    // Its log would only repeat what the assertions say; keep the test output readable.
    absl::StatusOr<std::unique_ptr<hub::testing::ChildProcess>> process =
        hub::testing::ChildProcess::Start(
            "redis-server",
            {"--port", absl::StrCat(port_), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no", "--daemonize", "no", "--logfile", "/dev/null"},
            {}, "/dev/null");
    if (!process.ok()) {
      return process.status();
    }
    process_ = *std::move(process);
    RedisConfig probe_config;
    probe_config.port = port_;
    probe_config.pool_size = 1;
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    absl::Status last = absl::UnknownError("not probed");
    while (absl::Now() < deadline) {
      absl::StatusOr<std::unique_ptr<RedisClient>> probe = CreateRedisClient(probe_config);
      last = probe.ok() ? (*probe)->Ping() : probe.status();
      if (last.ok()) {
        return last;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return last;
  }

  // SIGKILL, as a crash would: no goodbye to connected clients beyond the kernel's FIN.
  void Kill() { process_.reset(); }

 private:
  const int port_;
  // Its destructor kills and reaps the server.
  std::unique_ptr<hub::testing::ChildProcess> process_;
};

TEST(RedisClientServerLifecycleTest, UnreachableServerIsUnavailableNamingHostPort) {
  RedisConfig config;
  config.port = hub::testing::FreePort();
  ASSERT_NE(config.port, 0);

  EXPECT_THAT(
      CreateRedisClient(config),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr(absl::StrCat("127.0.0.1:", config.port))));
}

TEST(RedisClientServerLifecycleTest, RestartedServerRecoversWithoutANewClient) {
  RedisConfig config;
  config.port = hub::testing::FreePort();
  ASSERT_NE(config.port, 0);
  config.pool_size = 2;
  config.connect_timeout = absl::Milliseconds(500);
  config.command_timeout = absl::Milliseconds(500);
  const std::string address = absl::StrCat("127.0.0.1:", config.port);
  RedisServerProcess server(config.port);
  ASSERT_THAT(server.Start(), IsOk());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisClient> client, CreateRedisClient(config));
  ASSERT_THAT(client->Command({"SET", "k", "before"}), IsOk());

  // Restarted between calls: the pooled connections are stale, yet no call fails.
  server.Kill();
  ASSERT_THAT(server.Start(), IsOk());
  for (int i = 0; i < 2 * config.pool_size; ++i) {
    EXPECT_THAT(client->Command({"SET", "k", "restarted"}), IsOk()) << "call " << i;
  }

  // Down: every call fails fast as kUnavailable naming the server.
  server.Kill();
  for (int i = 0; i < 2 * config.pool_size; ++i) {
    EXPECT_THAT(client->Command({"GET", "k"}),
                StatusIs(absl::StatusCode::kUnavailable, HasSubstr(address)))
        << "call " << i;
  }
  EXPECT_THAT(client->Ping(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(client->Pipeline({{"PING"}}), StatusIs(absl::StatusCode::kUnavailable));

  // Back (empty, as nothing is persisted): the same client works again.
  ASSERT_THAT(server.Start(), IsOk());
  for (int i = 0; i < 2 * config.pool_size; ++i) {
    ASSERT_OK_AND_ASSIGN(Reply reply, client->Command({"GET", "k"}));
    EXPECT_THAT(reply, IsNilReply()) << "call " << i;
  }
  EXPECT_THAT(client->Eval(Script("return 1"), {}, {}), IsOk());
}

}  // namespace
}  // namespace hub::redis
