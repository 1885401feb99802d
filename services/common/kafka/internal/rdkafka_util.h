// Small helpers shared by the librdkafka-backed producer, consumer loop and topic admin.
//
// Private to services/common/kafka: turns librdkafka error codes into absl::Status with one
// documented mapping, sets configuration properties with errors that name the property,
// and rate-limits the adapter's log lines so a broker outage does not flood the log.
//
// Thread safety: the free functions are thread-safe; RateLimitedLog is thread-safe.
#ifndef HUB_SERVICES_COMMON_KAFKA_INTERNAL_RDKAFKA_UTIL_H_
#define HUB_SERVICES_COMMON_KAFKA_INTERNAL_RDKAFKA_UTIL_H_

#include <map>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include <librdkafka/rdkafkacpp.h>

#include "services/common/kafka/kafka.h"

namespace hub::kafka::internal {

// Maps a librdkafka error to a status whose message is `context` plus the error's name and
// description (never record contents). Timeouts, transport failures, unavailable leaders
// and local queue/purge conditions become kUnavailable: retrying the same record later is
// expected to work. Everything else becomes kInternal. ERR_NO_ERROR becomes OK.
absl::Status ErrorToStatus(RdKafka::ErrorCode err, const std::string& context);

// True for the errors ErrorToStatus maps to kUnavailable.
bool IsTransientError(RdKafka::ErrorCode err);

// librdkafka's symbolic name for `err`, e.g. "_MSG_TIMED_OUT".
std::string ErrorName(RdKafka::ErrorCode err);

// Sets one property; kInvalidArgument naming the property if librdkafka rejects it.
absl::Status SetProperty(RdKafka::Conf& conf, const std::string& name, const std::string& value);

// Sets every property of `properties` in order (used for the caller's `extra` map).
absl::Status SetProperties(RdKafka::Conf& conf,
                           const std::map<std::string, std::string>& properties);

// Whole milliseconds, as librdkafka's *.ms properties expect.
std::string MillisecondsProperty(absl::Duration duration);

// Forwards log lines to a LogHook, dropping repeats of the same key within `interval` so a
// loop that keeps hitting one error (a broker that is down) logs it once per interval.
class RateLimitedLog {
 public:
  RateLimitedLog(LogHook hook, absl::Duration interval);

  // `key` identifies the kind of line (e.g. the error name); `message` is logged as is.
  void Log(std::string_view level, const std::string& key, std::string_view message);

 private:
  const LogHook hook_;
  const absl::Duration interval_;
  absl::Mutex mu_;
  std::map<std::string, absl::Time, std::less<>> last_logged_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hub::kafka::internal

#endif  // HUB_SERVICES_COMMON_KAFKA_INTERNAL_RDKAFKA_UTIL_H_
