#include "services/common/log/log.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace hub::log {
namespace {

TEST(LogTest, WritesOneJsonObjectPerLineWithFields) {
  std::ostringstream out;
  Init("triage", Level::kInfo, &out);
  Info("assessed", {{"case_id", "c_1"}, {"partition", 3}, {"enhanced", true}});
  Debug("hidden");
  Init("hub", Level::kInfo, nullptr);

  std::string text = out.str();
  ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  nlohmann::json line = nlohmann::json::parse(text);
  EXPECT_EQ(line["service"], "triage");
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["msg"], "assessed");
  EXPECT_EQ(line["case_id"], "c_1");
  EXPECT_EQ(line["partition"], 3);
  EXPECT_EQ(line["enhanced"], true);
  EXPECT_TRUE(line.contains("ts"));
}

TEST(LogTest, EscapesControlCharactersAndBadUtf8) {
  std::ostringstream out;
  Init("intake", Level::kDebug, &out);
  Warn("odd", {{"detail", std::string("a\"b\n\xff")}});
  Init("hub", Level::kInfo, nullptr);
  std::string text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
  EXPECT_NO_THROW(nlohmann::json::parse(text));
}

TEST(RateLimiterTest, AllowsAtMostNPerInterval) {
  RateLimiter limiter(3, absl::Hours(1));
  int allowed = 0;
  for (int i = 0; i < 10; ++i) {
    allowed += limiter.Allow() ? 1 : 0;
  }
  EXPECT_EQ(allowed, 3);
  EXPECT_EQ(limiter.suppressed(), 7u);
}

TEST(ParseLevelTest, KnowsEveryLevel) {
  EXPECT_EQ(ParseLevel("debug"), Level::kDebug);
  EXPECT_EQ(ParseLevel("warning"), Level::kWarning);
  EXPECT_EQ(ParseLevel("error"), Level::kError);
  EXPECT_EQ(ParseLevel("info"), Level::kInfo);
}

}  // namespace
}  // namespace hub::log
