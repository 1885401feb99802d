#include "services/common/redis/reply_conversion.h"

#include <memory>
#include <string>
#include <string_view>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <hiredis/hiredis.h>

#include "services/common/redis/reply_matchers.h"
#include "services/common/status/status_matchers.h"

namespace hub::redis {
namespace {

using ::hub::testing::IsArrayReply;
using ::hub::testing::IsErrorReply;
using ::hub::testing::IsIntegerReply;
using ::hub::testing::IsNilReply;
using ::hub::testing::IsOk;
using ::hub::testing::IsStatusReply;
using ::hub::testing::IsStringReply;
using ::hub::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct ReaderDeleter {
  void operator()(redisReader* reader) const { redisReaderFree(reader); }
};
struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};

// Parses raw RESP bytes with hiredis's own reader, so the test sees exactly the reply
// objects a live connection would produce.
Reply Parse(std::string_view resp) {
  std::unique_ptr<redisReader, ReaderDeleter> reader(redisReaderCreate());
  EXPECT_EQ(redisReaderFeed(reader.get(), resp.data(), resp.size()), REDIS_OK);
  void* raw = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader.get(), &raw), REDIS_OK);
  EXPECT_NE(raw, nullptr) << "incomplete RESP in test input";
  if (raw == nullptr) {
    return Reply{Reply::Type::kError, 0, "test parse failed", {}};
  }
  std::unique_ptr<redisReply, ReplyDeleter> reply(static_cast<redisReply*>(raw));
  return ConvertReply(*reply);
}

TEST(ConvertReplyTest, ConvertsScalars) {
  EXPECT_THAT(Parse(":-42\r\n"), IsIntegerReply(-42));
  EXPECT_THAT(Parse("+OK\r\n"), IsStatusReply("OK"));
  EXPECT_THAT(Parse("-WRONGTYPE wrong kind\r\n"), IsErrorReply("WRONGTYPE wrong kind"));
  EXPECT_THAT(Parse("$5\r\nhello\r\n"), IsStringReply("hello"));
  EXPECT_THAT(Parse("$0\r\n\r\n"), IsStringReply(""));
}

TEST(ConvertReplyTest, KeepsNulBytesInStrings) {
  EXPECT_THAT(Parse(std::string_view("$3\r\na\0b\r\n", 9)), IsStringReply(std::string("a\0b", 3)));
}

TEST(ConvertReplyTest, NilBulkStringAndNilArrayAreNil) {
  Reply nil_string = Parse("$-1\r\n");
  EXPECT_THAT(nil_string, IsNilReply());
  EXPECT_TRUE(nil_string.is_nil());
  EXPECT_THAT(Parse("*-1\r\n"), IsNilReply());
}

TEST(ConvertReplyTest, ConvertsNestedArraysInOrder) {
  Reply reply = Parse(
      "*4\r\n"
      ":1\r\n"
      "$-1\r\n"
      "*2\r\n$1\r\na\r\n*1\r\n-ERR inner\r\n"
      "*0\r\n");
  EXPECT_THAT(reply,
              IsArrayReply(ElementsAre(
                  IsIntegerReply(1), IsNilReply(),
                  IsArrayReply(ElementsAre(IsStringReply("a"),
                                           IsArrayReply(ElementsAre(IsErrorReply("ERR inner"))))),
                  IsArrayReply(IsEmpty()))));
}

TEST(ReplyOrErrorTest, ErrorReplyBecomesInternalWithServerMessage) {
  EXPECT_THAT(ReplyOrError(Parse("-ERR value is not an integer\r\n")),
              StatusIs(absl::StatusCode::kInternal, "redis: ERR value is not an integer"));
}

TEST(ReplyOrErrorTest, OtherRepliesPassThroughIncludingNestedErrors) {
  EXPECT_THAT(ReplyOrError(Parse("$-1\r\n")), IsOk());
  absl::StatusOr<Reply> nested = ReplyOrError(Parse("*1\r\n-ERR inner\r\n"));
  ASSERT_THAT(nested, IsOk());
  EXPECT_THAT(*nested, IsArrayReply(ElementsAre(IsErrorReply("ERR inner"))));
}

TEST(IsNoScriptErrorTest, RecognizesOnlyNoScript) {
  EXPECT_TRUE(IsNoScriptError(Parse("-NOSCRIPT No matching script. Please use EVAL.\r\n")));
  EXPECT_FALSE(IsNoScriptError(Parse("-ERR NOSCRIPT lookalike\r\n")));
  EXPECT_FALSE(IsNoScriptError(Parse("$8\r\nNOSCRIPT\r\n")));
}

}  // namespace
}  // namespace hub::redis
