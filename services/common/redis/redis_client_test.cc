#include "services/common/redis/redis_client.h"

#include <ostream>
#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"

namespace hub::redis {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ScriptTest, Sha1IsTheLowercaseHexSha1OfTheSource) {
  // Known values from `printf '%s' SOURCE | sha1sum`; Redis names scripts the same way.
  EXPECT_EQ(Script("return redis.call('GET', KEYS[1])").sha1(),
            "d3c21d0c2b9ca22f82737626a27bcaf5d288f99f");
  EXPECT_EQ(Script("").sha1(), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(Script("abc").source(), "abc");
}

TEST(ValidateRedisConfigTest, DefaultsAreValid) { EXPECT_THAT(ValidateRedisConfig({}), IsOk()); }

struct InvalidCase {
  std::string name;
  RedisConfig config;
  std::string field;
};

// Names the case in test output instead of dumping the struct's bytes.
void PrintTo(const InvalidCase& invalid_case, std::ostream* os) { *os << invalid_case.name; }

RedisConfig With(void (*change)(RedisConfig&)) {
  RedisConfig config;
  change(config);
  return config;
}

class InvalidConfigTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidConfigTest, IsRejectedNamingTheField) {
  EXPECT_THAT(ValidateRedisConfig(GetParam().config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().field)));
  // CreateRedisClient refuses before any connect attempt, so the code is not kUnavailable.
  EXPECT_THAT(CreateRedisClient(GetParam().config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().field)));
}

INSTANTIATE_TEST_SUITE_P(
    Fields, InvalidConfigTest,
    ::testing::Values(
        InvalidCase{"EmptyHost", With([](RedisConfig& c) { c.host = ""; }), "host"},
        InvalidCase{"PortZero", With([](RedisConfig& c) { c.port = 0; }), "port"},
        InvalidCase{"PortTooLarge", With([](RedisConfig& c) { c.port = 65536; }), "port"},
        InvalidCase{"PoolEmpty", With([](RedisConfig& c) { c.pool_size = 0; }), "pool_size"},
        InvalidCase{"PoolTooLarge", With([](RedisConfig& c) { c.pool_size = 65; }), "pool_size"},
        InvalidCase{"ZeroConnectTimeout",
                    With([](RedisConfig& c) { c.connect_timeout = absl::ZeroDuration(); }),
                    "connect_timeout"},
        InvalidCase{"InfiniteConnectTimeout",
                    With([](RedisConfig& c) { c.connect_timeout = absl::InfiniteDuration(); }),
                    "connect_timeout"},
        InvalidCase{"NegativeCommandTimeout",
                    With([](RedisConfig& c) { c.command_timeout = absl::Milliseconds(-1); }),
                    "command_timeout"}),
    [](const ::testing::TestParamInfo<InvalidCase>& param_info) { return param_info.param.name; });

TEST(ValidateRedisConfigTest, AcceptsTheBoundaries) {
  RedisConfig config;
  config.port = 65535;
  config.pool_size = 64;
  config.command_timeout = absl::Nanoseconds(1);
  EXPECT_THAT(ValidateRedisConfig(config), IsOk());
  config.port = 1;
  config.pool_size = 1;
  EXPECT_THAT(ValidateRedisConfig(config), IsOk());
}

}  // namespace
}  // namespace hub::redis
