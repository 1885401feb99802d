// Turns hiredis reply objects into the hub's Reply and Redis error replies into statuses.
//
// Kept apart from the client so the conversion can be unit-tested on replies parsed from
// raw RESP bytes, without a server. Pure functions over their arguments: thread-safe.
// Internal to hub_redis; callers use redis_client.h.
#ifndef HUB_SERVICES_COMMON_REDIS_REPLY_CONVERSION_H_
#define HUB_SERVICES_COMMON_REDIS_REPLY_CONVERSION_H_

#include "absl/status/statusor.h"
#include <hiredis/hiredis.h>

#include "services/common/redis/redis_client.h"

namespace hub::redis {

// A deep copy of `reply`, nested arrays included. Strings are copied by length, so binary
// values (NUL bytes) survive. A reply type this hiredis does not know becomes kError.
Reply ConvertReply(const redisReply& reply);

// `reply` itself, or kInternal "redis: <server message>" when it is an error reply. Only the
// top level is checked: errors nested in arrays (EXEC, scripts) stay in place.
absl::StatusOr<Reply> ReplyOrError(Reply reply);

}  // namespace hub::redis

#endif  // HUB_SERVICES_COMMON_REDIS_REPLY_CONVERSION_H_
