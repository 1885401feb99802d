#include "services/common/config/config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"

namespace hub::config {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::HasSubstr;

const ServiceDefaults kDefaults{{"127.0.0.1", 50051}, {"127.0.0.1", 19101}};

TEST(ConfigSourceTest, FlagsWinOverEnvironment) {
  ASSERT_OK_AND_ASSIGN(ConfigSource source,
                       ConfigSource::FromArgs({"--redis-addr=10.0.0.1:1"},
                                              {"HUB_REDIS_ADDR=127.0.0.1:2", "HUB_NAMESPACE=t1"}));
  EXPECT_EQ(source.Get("redis-addr"), "10.0.0.1:1");
  EXPECT_EQ(source.Get("namespace"), "t1");
  EXPECT_EQ(source.Get("clock"), std::nullopt);
}

TEST(ConfigSourceTest, AcceptsSpaceSeparatedFlagValues) {
  ASSERT_OK_AND_ASSIGN(ConfigSource source,
                       ConfigSource::FromArgs({"--log-level", "debug", "--clock=system"}, {}));
  EXPECT_EQ(source.Get("log-level"), "debug");
  EXPECT_EQ(source.Get("clock"), "system");
}

TEST(ConfigSourceTest, RefusesPositionalArguments) {
  EXPECT_THAT(ConfigSource::FromArgs({"stray"}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'stray'")));
}

TEST(ConfigSourceTest, RefusesUnknownFlagsNamingThem) {
  ASSERT_OK_AND_ASSIGN(ConfigSource source, ConfigSource::FromArgs({"--redis-adr=x:1"}, {}));
  EXPECT_THAT(source.CheckNoUnknownFlags(ServiceSettingNames()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--redis-adr")));
}

TEST(LoadServiceConfigTest, DefaultsAreLoopback) {
  ASSERT_OK_AND_ASSIGN(ServiceConfig config,
                       LoadServiceConfig("intake", ConfigSource::FromMap({}), kDefaults));
  EXPECT_EQ(config.ns, "hub");
  EXPECT_EQ(config.kafka_bootstrap, "127.0.0.1:19092");
  EXPECT_EQ(config.redis.ToString(), "127.0.0.1:16379");
  EXPECT_EQ(config.grpc.ToString(), "127.0.0.1:50051");
  EXPECT_EQ(config.http.ToString(), "127.0.0.1:19101");
}

struct BadSettingCase {
  std::string setting;
  std::string value;
  std::string expected_reason;
};

class BadSettingTest : public ::testing::TestWithParam<BadSettingCase> {};

TEST_P(BadSettingTest, IsRefusedNamingTheSettingAndReason) {
  const BadSettingCase& bad = GetParam();
  absl::StatusOr<ServiceConfig> config =
      LoadServiceConfig("intake", ConfigSource::FromMap({{bad.setting, bad.value}}), kDefaults);
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("--" + bad.setting + " (" +
                                         ConfigSource::EnvName(bad.setting) + ")")));
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(bad.expected_reason)));
}

INSTANTIATE_TEST_SUITE_P(
    Settings, BadSettingTest,
    ::testing::Values(BadSettingCase{"redis-addr", "127.0.0.1:70000", "port must be"},
                      BadSettingCase{"redis-addr", "localhost", "expected host:port"},
                      BadSettingCase{"grpc-addr", "a b:1", "host may hold only"},
                      BadSettingCase{"kafka-bootstrap", "x:1,,", "host:port"},
                      BadSettingCase{"namespace", "Hub", "lower-case"},
                      BadSettingCase{"clock", "fake", "'system' or 'file:PATH'"},
                      BadSettingCase{"log-level", "loud", "debug, info"},
                      BadSettingCase{"identity", "none", "declared-loopback"}));

TEST(TypedReadersTest, ParseDurationsIntsAndBools) {
  ConfigSource source =
      ConfigSource::FromMap({{"timeout", "250ms"}, {"count", "12"}, {"flag", "true"}});
  EXPECT_THAT(
      GetDuration(source, "timeout", absl::Seconds(1), absl::Milliseconds(1), absl::Seconds(10)),
      IsOk());
  EXPECT_EQ(
      *GetDuration(source, "timeout", absl::Seconds(1), absl::Milliseconds(1), absl::Seconds(10)),
      absl::Milliseconds(250));
  EXPECT_THAT(GetInt(source, "count", 0, 0, 10),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must be 0-10")));
  EXPECT_EQ(*GetBool(source, "flag", false), true);
  EXPECT_THAT(GetRequiredString(source, "missing"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("HUB_MISSING")));
}

}  // namespace
}  // namespace hub::config
