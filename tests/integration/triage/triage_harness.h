// What the triage integration tests need around the real hub-triage binary: the process
// started on free loopback ports in a namespace of its own (its /metrics read back), the
// events intake would publish to triage's input topics, and a reader that follows a topic
// from its beginning as records arrive.
//
// Not thread-safe; one test thread owns each object.
#ifndef HUB_TESTS_INTEGRATION_TRIAGE_TRIAGE_HARNESS_H_
#define HUB_TESTS_INTEGRATION_TRIAGE_TRIAGE_HARNESS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include <librdkafka/rdkafkacpp.h>

#include "hub/events/v1/events.pb.h"
#include "hub/triage/v1/triage.grpc.pb.h"
#include "services/common/events/cloudevents.h"
#include "services/common/kafka/kafka.h"
#include "tests/support/process.h"

namespace hub::triage::testing {

// Callers as they declare themselves in the x-hub-caller metadata.
inline constexpr char kStaff[] = "staff:hub:ops1";
inline constexpr char kPolice[] = "police:CAMBS:athena";

// The metric series the tests wait on.
inline constexpr char kHandledSeries[] = "hub_triage_records_handled_total";
inline constexpr char kHeldSeries[] = "hub_triage_updates_held_total";
inline constexpr char kDeadLetteredSeries[] = "hub_triage_records_dead_lettered_total";
inline constexpr char kReloadsOkSeries[] = "hub_triage_rules_reloads_total{result=\"ok\"}";
inline constexpr char kReloadsRefusedSeries[] =
    "hub_triage_rules_reloads_total{result=\"refused\"}";

// The hub-triage binary of this build, in its own namespace on free loopback ports; its
// output goes to a log file. The destructor kills it if it still runs.
class TriageProcess {
 public:
  struct Options {
    std::string bin_dir;
    std::string ns;
    std::string kafka_bootstrap;
    std::string redis_address;
    std::string log_path;
    // Further flags, e.g. "--rules=/tmp/x/triage-rules.yaml".
    std::vector<std::string> args;
  };

  // Starts the process without waiting for it.
  static absl::StatusOr<std::unique_ptr<TriageProcess>> Start(const Options& options);

  // Polls /readyz until it answers 200 (Redis reachable, partitions assigned).
  absl::Status WaitReady(absl::Duration timeout);

  // The value of one /metrics series, written as the exposition writes it (name, then the
  // labels if any): kNotFound when the series is absent.
  absl::StatusOr<double> Metric(const std::string& series) const;
  // Polls /metrics until `series` is at least `at_least`; the error says the last value.
  absl::Status WaitForMetric(const std::string& series, double at_least,
                             absl::Duration timeout) const;

  // SIGTERM, then the exit status (as from waitpid).
  absl::StatusOr<int> Stop(absl::Duration timeout);

  // The whole log so far.
  std::string Log() const;

  // A stub for triage's gRPC API.
  std::unique_ptr<hub::triage::v1::TriageService::Stub> NewStub() const;

  hub::testing::ChildProcess& process() { return *process_; }
  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_port_; }
  const std::string& log_path() const { return process_->log_path(); }

 private:
  TriageProcess() = default;

  std::unique_ptr<hub::testing::ChildProcess> process_;
  int grpc_port_ = 0;
  int http_port_ = 0;
};

// Follows one topic from the beginning of every partition, keeping each record read.
class TopicFollower {
 public:
  static absl::StatusOr<std::unique_ptr<TopicFollower>> Create(const std::string& bootstrap,
                                                               const std::string& topic,
                                                               int partitions);
  ~TopicFollower();
  TopicFollower(const TopicFollower&) = delete;
  TopicFollower& operator=(const TopicFollower&) = delete;

  // Reads until `done` holds for the records read so far, or `timeout` passes; whether it
  // held.
  bool ReadUntil(const std::function<bool(const std::vector<kafka::ConsumedRecord>&)>& done,
                 absl::Duration timeout);
  // Reads every record the topic holds now (up to each partition's end as it is when
  // called), so a count taken afterwards is complete.
  absl::Status CatchUp(absl::Duration timeout);

  const std::vector<kafka::ConsumedRecord>& records() const { return records_; }

 private:
  TopicFollower(std::string topic, int partitions);
  // One consume call of at most `wait`.
  void ReadOnce(absl::Duration wait);

  std::string topic_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  // The next offset to read in each partition.
  std::vector<int64_t> positions_;
  std::vector<kafka::ConsumedRecord> records_;
};

// Every NeedsAssessed of `case_id` among `records`, in topic order.
std::vector<hub::events::v1::NeedsAssessed> AssessmentsOf(
    const std::vector<kafka::ConsumedRecord>& records, const std::string& case_id);

// `digits` random lower-case hex digits.
std::string RandomHex(int digits);
// A police case id as intake makes them: "c_" and 24 hex digits.
std::string NewCaseId();
// A pseudonymous victim id as intake makes them: "pv_" and 32 hex digits.
std::string NewPseudonymousId();
// The victim's data key id the tests use for a pseudonymous id ("vk_" and its 32 digits).
std::string KeyIdFor(const std::string& pseudonymous_id);

google::protobuf::Timestamp Ts(absl::Time time);
// A UTC time.
absl::Time Utc(int year, int month, int day, int hour, int minute);

// CloudEvents headers as intake sets them: a new id and trace, source /hub/intake.
events::CloudEvent IntakeEvent(const char* type);

// A CrimeReported as intake publishes it for one victim of a CAMBS athena report:
// residential burglary (28E), an adult individual whose consent was not asked (opt-out),
// personal data sealed under KeyIdFor(pseudonymous_id), received a minute after
// `reported_at`.
hub::events::v1::CrimeReported MakeCrimeReported(const std::string& case_id,
                                                 const std::string& pseudonymous_id,
                                                 absl::Time reported_at);

// A CrimeUpdated for the case (same force, system and crime reference as
// MakeCrimeReported) carrying `update`'s change, made and received at `updated_at`.
hub::events::v1::CrimeUpdated MakeCrimeUpdated(const std::string& case_id,
                                               const hub::intake::v1::CrimeUpdate& update,
                                               absl::Time updated_at);
hub::events::v1::CrimeUpdated MakeConsentUpdate(const std::string& case_id,
                                                hub::intake::v1::ConsentStatus status,
                                                absl::Time recorded_at);
hub::events::v1::CrimeUpdated MakeMilestoneUpdate(const std::string& case_id,
                                                  hub::intake::v1::MilestoneType type,
                                                  absl::Time decided_at);

// The erasure intake publishes once the victim's data key is destroyed.
hub::events::v1::VictimErased MakeVictimErased(const std::string& pseudonymous_id,
                                               const std::vector<std::string>& case_ids);

// Copies `from` to `to`, or replaces `to` with `text`, atomically (a temporary file
// renamed over it), so a watcher never reads half a file.
absl::Status CopyFile(const std::string& from, const std::string& to);
absl::Status ReplaceFile(const std::string& path, const std::string& text);
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace hub::triage::testing

#endif  // HUB_TESTS_INTEGRATION_TRIAGE_TRIAGE_HARNESS_H_
