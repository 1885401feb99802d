#include "services/common/redis/redis_client.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <sys/time.h>

#include "services/common/redis/reply_conversion.h"
#include "services/common/status/status_macros.h"

namespace hub::redis {
namespace {

constexpr int kMaxPoolSize = 64;

struct ContextDeleter {
  void operator()(redisContext* context) const { redisFree(context); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

std::string Sha1Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha1(), nullptr) != 1) {
    return "";  // Eval then sends the source with EVAL every time.
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), static_cast<size_t>(length)));
}

// hiredis treats a zero timeval as "no timeout", so a positive duration below a microsecond
// must not round down to it.
timeval TimeoutTimeval(absl::Duration duration) {
  return absl::ToTimeval(std::max(duration, absl::Microseconds(1)));
}

absl::Status ValidateTimeout(const char* field, absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration() || timeout == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("RedisConfig.", field,
                                                   " must be positive and finite, got ",
                                                   absl::FormatDuration(timeout)));
  }
  return absl::OkStatus();
}

// The argv/argvlen arrays hiredis wants, pointing into strings the caller keeps alive.
// Lengths are explicit, so arguments may hold any bytes.
class Argv {
 public:
  void Add(std::string_view arg) {
    data_.push_back(arg.data());
    sizes_.push_back(arg.size());
  }
  void Add(const std::vector<std::string>& args) {
    for (const std::string& arg : args) {
      Add(arg);
    }
  }
  int argc() const { return static_cast<int>(data_.size()); }
  const char** argv() { return data_.data(); }
  const size_t* argvlen() const { return sizes_.data(); }

 private:
  std::vector<const char*> data_;
  std::vector<size_t> sizes_;
};

absl::Status CheckCommand(const std::vector<std::string>& args) {
  if (args.empty()) {
    return absl::InvalidArgumentError("redis: a command needs at least its name");
  }
  return absl::OkStatus();
}

// An idle connection has nothing to read: the hub never subscribes, and every reply was
// consumed by the call that caused it. If poll() says it is readable, the server closed it
// (restart, idle timeout, CLIENT KILL) and a command on it would fail; a fresh connection is
// better than failing a call that never reached the server.
bool IdleConnectionLooksAlive(const redisContext& context) {
  pollfd descriptor{};
  descriptor.fd = context.fd;
  descriptor.events = POLLIN;
  return poll(&descriptor, 1, 0) == 0;
}

class RedisClientImpl final : public RedisClient {
 public:
  explicit RedisClientImpl(const RedisConfig& config)
      : config_(config), address_(absl::StrCat(config.host, ":", config.port)) {}

  RedisClientImpl(const RedisClientImpl&) = delete;
  RedisClientImpl& operator=(const RedisClientImpl&) = delete;

  // Fails only when not even one connection can be made. The others are tried now too, and
  // a slot whose connect failed is connected again by the first call that takes it.
  absl::Status ConnectPool() {
    std::vector<ContextPtr> connections;
    HUB_ASSIGN_OR_RETURN(ContextPtr first, Connect());
    connections.push_back(std::move(first));
    for (int i = 1; i < config_.pool_size; ++i) {
      absl::StatusOr<ContextPtr> connection = Connect();
      connections.push_back(connection.ok() ? *std::move(connection) : nullptr);
    }
    absl::MutexLock lock(&mu_);
    idle_ = std::move(connections);
    return absl::OkStatus();
  }

  absl::StatusOr<Reply> Command(const std::vector<std::string>& args) override {
    HUB_RETURN_IF_ERROR(CheckCommand(args));
    Argv argv;
    argv.Add(args);
    HUB_ASSIGN_OR_RETURN(Lease lease, Acquire());
    HUB_ASSIGN_OR_RETURN(ReplyPtr reply, Run(lease, argv));
    return ReplyOrError(ConvertReply(*reply));
  }

  absl::StatusOr<std::vector<Reply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands) override {
    std::vector<Reply> replies;
    if (commands.empty()) {
      return replies;
    }
    for (const std::vector<std::string>& args : commands) {
      HUB_RETURN_IF_ERROR(CheckCommand(args));
    }
    HUB_ASSIGN_OR_RETURN(Lease lease, Acquire());
    redisContext* context = lease.context();
    // Appending only fills hiredis's output buffer; the first redisGetReply writes it all,
    // so the whole pipeline costs one round trip.
    for (const std::vector<std::string>& args : commands) {
      Argv argv;
      argv.Add(args);
      if (redisAppendCommandArgv(context, argv.argc(), argv.argv(), argv.argvlen()) != REDIS_OK) {
        absl::Status error = IoError(*context, errno);
        lease.Discard();  // Part of the pipeline may be buffered: never reuse this connection.
        return error;
      }
    }
    replies.reserve(commands.size());
    for (size_t i = 0; i < commands.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(context, &raw) != REDIS_OK) {
        absl::Status error = IoError(*context, errno);
        // Replies still owed would be read by the next call: discard the connection.
        lease.Discard();
        return error;
      }
      ReplyPtr reply(static_cast<redisReply*>(raw));
      replies.push_back(ConvertReply(*reply));
    }
    return replies;
  }

  absl::StatusOr<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                             const std::vector<std::string>& args) override {
    const std::string num_keys = absl::StrCat(keys.size());
    // Both attempts share everything after the script itself.
    auto build = [&](std::string_view verb, std::string_view script_arg) {
      Argv argv;
      argv.Add(verb);
      argv.Add(script_arg);
      argv.Add(num_keys);
      argv.Add(keys);
      argv.Add(args);
      return argv;
    };
    HUB_ASSIGN_OR_RETURN(Lease lease, Acquire());
    if (!script.sha1().empty()) {
      Argv by_sha = build("EVALSHA", script.sha1());
      HUB_ASSIGN_OR_RETURN(ReplyPtr reply, Run(lease, by_sha));
      Reply converted = ConvertReply(*reply);
      if (!IsNoScriptError(converted)) {
        return ReplyOrError(std::move(converted));
      }
    }
    // EVAL also caches the script on the server, so later calls go back to EVALSHA.
    Argv by_source = build("EVAL", script.source());
    HUB_ASSIGN_OR_RETURN(ReplyPtr reply, Run(lease, by_source));
    return ReplyOrError(ConvertReply(*reply));
  }

  absl::Status Ping() override { return Command({"PING"}).status(); }

 private:
  // A connection lent to one call. Going out of scope returns it to the pool, or returns an
  // empty slot when the connection broke, so the next call that takes it reconnects.
  class Lease {
   public:
    Lease(RedisClientImpl* client, ContextPtr context)
        : client_(client), context_(std::move(context)) {}
    Lease(Lease&& other) noexcept
        : client_(std::exchange(other.client_, nullptr)), context_(std::move(other.context_)) {}
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (client_ != nullptr) {
        client_->Release(std::move(context_));
      }
    }

    redisContext* context() const { return context_.get(); }
    void Discard() { context_.reset(); }

   private:
    RedisClientImpl* client_;
    ContextPtr context_;
  };

  absl::StatusOr<ContextPtr> Connect() const {
    ContextPtr context(redisConnectWithTimeout(config_.host.c_str(), config_.port,
                                               TimeoutTimeval(config_.connect_timeout)));
    if (context == nullptr) {
      return absl::UnavailableError(
          absl::StrCat("redis ", address_, ": connect failed: out of memory"));
    }
    if (context->err != 0) {
      return absl::UnavailableError(
          absl::StrCat("redis ", address_, ": connect failed: ", context->errstr));
    }
    // Keepalive finds a peer that vanished without closing (host down, NAT dropped the
    // flow) while the connection sits idle in the pool.
    if (redisSetTimeout(context.get(), TimeoutTimeval(config_.command_timeout)) != REDIS_OK ||
        redisEnableKeepAlive(context.get()) != REDIS_OK) {
      return absl::UnavailableError(
          absl::StrCat("redis ", address_, ": connection setup failed: ", context->errstr));
    }
    return context;
  }

  // Waits for a free slot; every holder is bounded by the connect and command timeouts.
  absl::StatusOr<Lease> Acquire() {
    ContextPtr context;
    {
      absl::MutexLock lock(&mu_);
      while (idle_.empty()) {
        slot_freed_.Wait(&mu_);
      }
      // Prefer a live connection over an empty slot that would need a connect.
      auto live = std::find_if(idle_.rbegin(), idle_.rend(),
                               [](const ContextPtr& slot) { return slot != nullptr; });
      auto chosen = live != idle_.rend() ? std::prev(live.base()) : std::prev(idle_.end());
      context = std::move(*chosen);
      idle_.erase(chosen);
    }
    if (context != nullptr && !IdleConnectionLooksAlive(*context)) {
      context.reset();
    }
    if (context == nullptr) {
      absl::StatusOr<ContextPtr> fresh = Connect();
      if (!fresh.ok()) {
        Release(nullptr);
        return fresh.status();
      }
      context = *std::move(fresh);
    }
    return Lease(this, std::move(context));
  }

  void Release(ContextPtr context) {
    // After an I/O error or timeout a reply may still be on its way, and hiredis will not
    // use the context again anyway: only a clean connection goes back.
    if (context != nullptr && context->err != 0) {
      context.reset();
    }
    absl::MutexLock lock(&mu_);
    idle_.push_back(std::move(context));
    slot_freed_.Signal();
  }

  absl::StatusOr<ReplyPtr> Run(const Lease& lease, Argv& argv) const {
    void* raw = redisCommandArgv(lease.context(), argv.argc(), argv.argv(), argv.argvlen());
    if (raw == nullptr) {
      return IoError(*lease.context(), errno);
    }
    return ReplyPtr(static_cast<redisReply*>(raw));
  }

  // Names the server and hiredis's reason, never the command: its arguments may carry
  // personal data.
  absl::Status IoError(const redisContext& context, int saved_errno) const {
    std::string message = absl::StrCat("redis ", address_, ": ", context.errstr);
    if (saved_errno == EAGAIN) {
      absl::StrAppend(&message, " (no reply within the ",
                      absl::FormatDuration(config_.command_timeout), " command timeout)");
    }
    return absl::UnavailableError(message);
  }

  const RedisConfig config_;
  const std::string address_;

  absl::Mutex mu_;
  absl::CondVar slot_freed_;
  // One entry per slot not lent out; nullptr is a slot whose connection failed or was never
  // made, connected again by the next call that takes it. Lent slots are not here, so
  // idle_.size() plus the leases outstanding is always pool_size.
  std::vector<ContextPtr> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

Script::Script(std::string source) : source_(std::move(source)), sha1_(Sha1Hex(source_)) {}

absl::Status ValidateRedisConfig(const RedisConfig& config) {
  if (config.host.empty()) {
    return absl::InvalidArgumentError("RedisConfig.host must not be empty");
  }
  if (config.port < 1 || config.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("RedisConfig.port must be in 1..65535, got ", config.port));
  }
  if (config.pool_size < 1 || config.pool_size > kMaxPoolSize) {
    return absl::InvalidArgumentError(absl::StrCat("RedisConfig.pool_size must be in 1..",
                                                   kMaxPoolSize, ", got ", config.pool_size));
  }
  HUB_RETURN_IF_ERROR(ValidateTimeout("connect_timeout", config.connect_timeout));
  HUB_RETURN_IF_ERROR(ValidateTimeout("command_timeout", config.command_timeout));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<RedisClient>> CreateRedisClient(const RedisConfig& config) {
  HUB_RETURN_IF_ERROR(ValidateRedisConfig(config));
  auto client = std::make_unique<RedisClientImpl>(config);
  HUB_RETURN_IF_ERROR(client->ConnectPool());
  return std::unique_ptr<RedisClient>(std::move(client));
}

}  // namespace hub::redis
