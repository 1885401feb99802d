#include <optional>
#include <string_view>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/kafka/kafka.h"

namespace hub::kafka {
namespace {

TEST(ConsumedRecordTest, FindHeaderReturnsFirstMatch) {
  ConsumedRecord record;
  record.headers = {{"hub_type", "referral.created"}, {"hub_type", "second"}, {"empty", ""}};
  EXPECT_EQ(record.FindHeader("hub_type"), std::optional<std::string_view>("referral.created"));
  EXPECT_EQ(record.FindHeader("empty"), std::optional<std::string_view>(""));
}

TEST(ConsumedRecordTest, FindHeaderMissingIsNullopt) {
  ConsumedRecord record;
  record.headers = {{"hub_type", "x"}};
  EXPECT_EQ(record.FindHeader("HUB_TYPE"), std::nullopt);
  EXPECT_EQ(ConsumedRecord{}.FindHeader("hub_type"), std::nullopt);
}

}  // namespace
}  // namespace hub::kafka
