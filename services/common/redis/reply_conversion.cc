#include "services/common/redis/reply_conversion.h"

#include <cstddef>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace hub::redis {

Reply ConvertReply(const redisReply& reply) {
  Reply result;
  switch (reply.type) {
    case REDIS_REPLY_STRING:
      result.type = Reply::Type::kString;
      break;
    case REDIS_REPLY_STATUS:
      result.type = Reply::Type::kStatus;
      break;
    case REDIS_REPLY_ERROR:
      result.type = Reply::Type::kError;
      break;
    case REDIS_REPLY_INTEGER:
      result.type = Reply::Type::kInteger;
      result.integer = reply.integer;
      return result;
    case REDIS_REPLY_NIL:
      result.type = Reply::Type::kNil;
      return result;
    case REDIS_REPLY_ARRAY:
      result.type = Reply::Type::kArray;
      result.elements.reserve(reply.elements);
      for (size_t i = 0; i < reply.elements; ++i) {
        result.elements.push_back(ConvertReply(*reply.element[i]));
      }
      return result;
    default:
      // hiredis 0.14 speaks RESP2 only; a newer library could hand us RESP3 types.
      result.type = Reply::Type::kError;
      result.str = absl::StrCat("unsupported hiredis reply type ", reply.type);
      return result;
  }
  if (reply.str != nullptr) {
    result.str.assign(reply.str, reply.len);
  }
  return result;
}

absl::StatusOr<Reply> ReplyOrError(Reply reply) {
  if (reply.type == Reply::Type::kError) {
    return absl::InternalError(absl::StrCat("redis: ", reply.str));
  }
  return reply;
}

bool IsNoScriptError(const Reply& reply) {
  return reply.type == Reply::Type::kError && absl::StartsWith(reply.str, "NOSCRIPT");
}

}  // namespace hub::redis
