// GoogleTest matchers for redis::Reply, for tests only (target hub_redis_matchers).
//
// Replies are trees of tagged values; matching type and payload together keeps tests short
// and their failure messages readable:
//   EXPECT_THAT(reply, IsArrayReply(ElementsAre(IsIntegerReply(1), IsNilReply())));
//   EXPECT_THAT(replies[2], IsErrorReply(HasSubstr("WRONGTYPE")));
// Stateless: thread-safe.
#ifndef HUB_SERVICES_COMMON_REDIS_REPLY_MATCHERS_H_
#define HUB_SERVICES_COMMON_REDIS_REPLY_MATCHERS_H_

#include <ostream>
#include <string>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"

#include "services/common/redis/redis_client.h"

namespace hub::redis {

// Lets GoogleTest print a Reply in failure messages. Tests hold no personal data, so
// printing values is fine here; production code must not log replies.
inline void PrintTo(const Reply& reply, std::ostream* os) {
  switch (reply.type) {
    case Reply::Type::kNil:
      *os << "nil";
      return;
    case Reply::Type::kInteger:
      *os << "(integer) " << reply.integer;
      return;
    case Reply::Type::kString:
      *os << "\"" << absl::CEscape(reply.str) << "\"";
      return;
    case Reply::Type::kStatus:
      *os << "(status) " << absl::CEscape(reply.str);
      return;
    case Reply::Type::kError:
      *os << "(error) " << absl::CEscape(reply.str);
      return;
    case Reply::Type::kArray:
      *os << "[";
      for (size_t i = 0; i < reply.elements.size(); ++i) {
        *os << (i == 0 ? "" : ", ");
        PrintTo(reply.elements[i], os);
      }
      *os << "]";
      return;
  }
}

}  // namespace hub::redis

namespace hub::testing {

MATCHER(IsNilReply, "is a nil reply") { return arg.type == ::hub::redis::Reply::Type::kNil; }

MATCHER_P(IsIntegerReply, value,
          "is an integer reply equal to " + ::testing::PrintToString(value)) {
  return arg.type == ::hub::redis::Reply::Type::kInteger && arg.integer == value;
}

MATCHER_P(IsStringReply, matcher, "is a string reply whose value matches") {
  return arg.type == ::hub::redis::Reply::Type::kString &&
         ::testing::ExplainMatchResult(matcher, arg.str, result_listener);
}

MATCHER_P(IsStatusReply, matcher, "is a status reply whose text matches") {
  return arg.type == ::hub::redis::Reply::Type::kStatus &&
         ::testing::ExplainMatchResult(matcher, arg.str, result_listener);
}

MATCHER_P(IsErrorReply, matcher, "is an error reply whose message matches") {
  return arg.type == ::hub::redis::Reply::Type::kError &&
         ::testing::ExplainMatchResult(matcher, arg.str, result_listener);
}

MATCHER_P(IsArrayReply, matcher, "is an array reply whose elements match") {
  return arg.type == ::hub::redis::Reply::Type::kArray &&
         ::testing::ExplainMatchResult(matcher, arg.elements, result_listener);
}

}  // namespace hub::testing

#endif  // HUB_SERVICES_COMMON_REDIS_REPLY_MATCHERS_H_
