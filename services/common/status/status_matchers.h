// GoogleTest matchers for absl::Status and absl::StatusOr, for tests only.
//
// The Debian Abseil has no status matchers, so tests use these:
//   EXPECT_THAT(DoThing(), IsOk());
//   EXPECT_THAT(Parse("x"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("port")));
//   ASSERT_OK_AND_ASSIGN(auto value, MakeValue());
#ifndef HUB_SERVICES_COMMON_STATUS_STATUS_MATCHERS_H_
#define HUB_SERVICES_COMMON_STATUS_STATUS_MATCHERS_H_

#include <ostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace hub::testing {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  if (!status.ok()) {
    *result_listener << "status is " << status;
  }
  return status.ok();
}

MATCHER_P(StatusIs, code, "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code;
}

// NOLINTNEXTLINE(bugprone-macro-parentheses): gMock's MATCHER_P2 expansion.
MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + absl::StatusCodeToString(code) + " and a matching message") {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(status.message()),
                                       result_listener);
}

// The StatusOr is OK and its value matches `matcher`.
MATCHER_P(IsOkAndHolds, matcher, "is OK and holds a value that matches") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(matcher, *arg, result_listener);
}

}  // namespace hub::testing

#define HUB_TESTING_CONCAT_INNER_(a, b) a##b
#define HUB_TESTING_CONCAT_(a, b) HUB_TESTING_CONCAT_INNER_(a, b)

// Asserts that `rexpr` is OK and moves its value into `lhs`.
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(HUB_TESTING_CONCAT_(hub_test_statusor_, __LINE__), lhs, rexpr)
// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` may be a declaration.
#define ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                               \
  ASSERT_TRUE(statusor.ok()) << statusor.status();       \
  lhs = *std::move(statusor)
// NOLINTEND(bugprone-macro-parentheses)

#endif  // HUB_SERVICES_COMMON_STATUS_STATUS_MATCHERS_H_
