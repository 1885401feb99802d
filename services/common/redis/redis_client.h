// The hub's Redis seam: commands, pipelines and Lua scripts over hiredis.
//
// Every call has a timeout. A hiredis context is not thread-safe and is dead after an
// I/O error, so the client keeps a small pool of connections, lends one to each call,
// and replaces a connection that failed with a fresh one on the next call. Connection
// and timeout failures are kUnavailable, so consumer loops retry them; Redis error
// replies are kInternal with the server's message (which never contains the command's
// arguments, so no personal data).
//
// Thread-safe. Debian's hiredis 0.14 has no TLS, Sentinel or Cluster support: those go
// behind this interface, not into callers. Keys used together in one script or MULTI
// share a hash tag ("{...}") so the same code runs on Redis Cluster.
#ifndef HUB_SERVICES_COMMON_REDIS_REDIS_CLIENT_H_
#define HUB_SERVICES_COMMON_REDIS_REDIS_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace hub::redis {

// A decoded Redis reply.
struct Reply {
  enum class Type { kNil, kInteger, kString, kStatus, kArray, kError };
  Type type = Type::kNil;
  int64_t integer = 0;
  // For kString, kStatus and kError.
  std::string str;
  std::vector<Reply> elements;

  bool is_nil() const { return type == Type::kNil; }
};

struct RedisConfig {
  std::string host = "127.0.0.1";
  int port = 6379;
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration command_timeout = absl::Seconds(2);
  // Connections kept open; calls beyond this wait for a free one.
  int pool_size = 4;
};

// A Lua script, sent by SHA (EVALSHA) and loaded on NOSCRIPT.
class Script {
 public:
  explicit Script(std::string source);
  const std::string& source() const { return source_; }
  const std::string& sha1() const { return sha1_; }

 private:
  std::string source_;
  std::string sha1_;
};

class RedisClient {
 public:
  virtual ~RedisClient() = default;

  // Runs one command, e.g. {"HGETALL", "hub:case:{abc}"}. An error reply is kInternal.
  virtual absl::StatusOr<Reply> Command(const std::vector<std::string>& args) = 0;

  // Sends every command in one round trip and returns their replies in order. Error
  // replies are returned in place (type kError), not as a failed status, so a caller can
  // tell which command failed.
  virtual absl::StatusOr<std::vector<Reply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands) = 0;

  // Runs `script` with KEYS and ARGV in one round trip (plus one more the first time a
  // server sees the script). An error reply is kInternal.
  virtual absl::StatusOr<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                                     const std::vector<std::string>& args) = 0;

  // PING with the command timeout: OK when the server answers.
  virtual absl::Status Ping() = 0;
};

// kInvalidArgument naming the field when `config` cannot work: port outside 1..65535,
// pool_size outside 1..64, an empty host, or a timeout that is not positive and finite.
// CreateRedisClient calls it; `main` may call it first to refuse bad flags early.
absl::Status ValidateRedisConfig(const RedisConfig& config);

// True for the error EVALSHA returns when the server does not have the script cached (it
// restarted, or someone ran SCRIPT FLUSH). Eval handles it; a caller that sends EVALSHA
// inside a Pipeline checks its reply with this and falls back to Eval.
bool IsNoScriptError(const Reply& reply);

// Validates `config`, then connects (at least one connection must succeed, else kUnavailable
// naming host:port). The other pool_size - 1 connections are made now when possible and
// otherwise on first use. Destroy the client only after every call on it has returned.
absl::StatusOr<std::unique_ptr<RedisClient>> CreateRedisClient(const RedisConfig& config);

}  // namespace hub::redis

#endif  // HUB_SERVICES_COMMON_REDIS_REDIS_CLIENT_H_
