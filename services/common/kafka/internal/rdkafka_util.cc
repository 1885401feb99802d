#include "services/common/kafka/internal/rdkafka_util.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include <librdkafka/rdkafka.h>

namespace hub::kafka::internal {

bool IsTransientError(RdKafka::ErrorCode err) {
  switch (err) {
    case RdKafka::ERR__MSG_TIMED_OUT:
    case RdKafka::ERR__TIMED_OUT:
    case RdKafka::ERR__TIMED_OUT_QUEUE:
    case RdKafka::ERR__TRANSPORT:
    case RdKafka::ERR__ALL_BROKERS_DOWN:
    case RdKafka::ERR__RESOLVE:
    case RdKafka::ERR__QUEUE_FULL:
    case RdKafka::ERR__PURGE_QUEUE:
    case RdKafka::ERR__PURGE_INFLIGHT:
    case RdKafka::ERR__DESTROY:
    case RdKafka::ERR_REQUEST_TIMED_OUT:
    case RdKafka::ERR_NETWORK_EXCEPTION:
    case RdKafka::ERR_BROKER_NOT_AVAILABLE:
    case RdKafka::ERR_LEADER_NOT_AVAILABLE:
    case RdKafka::ERR_NOT_LEADER_FOR_PARTITION:
    case RdKafka::ERR_NOT_ENOUGH_REPLICAS:
    case RdKafka::ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RdKafka::ERR_COORDINATOR_NOT_AVAILABLE:
    case RdKafka::ERR_NOT_COORDINATOR:
      return true;
    default:
      return false;
  }
}

std::string ErrorName(RdKafka::ErrorCode err) {
  // The C and C++ enums share their values; the C API is the one that exposes names.
  return rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err));
}

absl::Status ErrorToStatus(RdKafka::ErrorCode err, const std::string& context) {
  if (err == RdKafka::ERR_NO_ERROR) {
    return absl::OkStatus();
  }
  std::string message =
      absl::StrCat(context, ": ", ErrorName(err), " (", RdKafka::err2str(err), ")");
  if (IsTransientError(err)) {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

absl::Status SetProperty(RdKafka::Conf& conf, const std::string& name, const std::string& value) {
  std::string errstr;
  if (conf.set(name, value, errstr) != RdKafka::Conf::CONF_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("kafka property '", name, "' rejected: ", errstr));
  }
  return absl::OkStatus();
}

absl::Status SetProperties(RdKafka::Conf& conf,
                           const std::map<std::string, std::string>& properties) {
  for (const auto& [name, value] : properties) {
    if (absl::Status status = SetProperty(conf, name, value); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

std::string MillisecondsProperty(absl::Duration duration) {
  return absl::StrCat(absl::ToInt64Milliseconds(duration));
}

RateLimitedLog::RateLimitedLog(LogHook hook, absl::Duration interval)
    : hook_(std::move(hook)), interval_(interval) {}

void RateLimitedLog::Log(std::string_view level, const std::string& key, std::string_view message) {
  if (!hook_) {
    return;
  }
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = last_logged_.try_emplace(key, now);
    if (!inserted) {
      if (now - it->second < interval_) {
        return;
      }
      it->second = now;
    }
  }
  hook_(level, message);
}

}  // namespace hub::kafka::internal
