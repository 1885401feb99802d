#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/kafka/kafka.h"
#include "services/common/status/status_matchers.h"

namespace hub::kafka {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::HasSubstr;

// Creating topics needs a real broker (the mock cluster has no CreateTopics); see
// tests/integration/kafka. These tests cover what is decided before talking to one.

TEST(EnsureTopicsTest, RejectsInvalidSpecs) {
  EXPECT_THAT(EnsureTopics("127.0.0.1:1", {{"t", 0, "delete", -1}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("partitions")));
  EXPECT_THAT(EnsureTopics("127.0.0.1:1", {{"", 1, "delete", -1}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name")));
  EXPECT_THAT(EnsureTopics("127.0.0.1:1", {{"t", 1, "shred", -1}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cleanup_policy")));
  EXPECT_THAT(EnsureTopics("", {{"t", 1, "delete", -1}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bootstrap_servers")));
}

TEST(EnsureTopicsTest, NoSpecsIsOkWithoutContactingBroker) {
  EXPECT_THAT(EnsureTopics("127.0.0.1:1", {}, absl::Milliseconds(1)), IsOk());
}

TEST(EnsureTopicsTest, UnreachableBrokerIsUnavailable) {
  EXPECT_THAT(EnsureTopics("127.0.0.1:1", {{"t", 1, "delete", -1}}, absl::Seconds(1)),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace hub::kafka
