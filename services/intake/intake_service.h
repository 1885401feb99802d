// The intake gRPC API (hub.intake.v1.IntakeService): the front door for police systems.
//
// SubmitCrimeReport, step by step:
//   1. identify the caller (only police systems may submit) and validate the whole report;
//      a bad report gets INVALID_ARGUMENT listing every bad field, and nothing is kept;
//   2. claim the submission key (caller, source_system, source_event_id) in Redis; a key
//      already completed with the same content returns the original receipt
//      (duplicate=true) and publishes nothing; the same key with different content is
//      ALREADY_EXISTS; a key claimed by a submission still in flight is UNAVAILABLE (retry);
//   3. publish one CrimeReported per victim, each with an event id derived from the
//      submission key, so a retried submission republishes the same ids;
//   4. once Kafka acknowledged every event (acks=all), record each case as RECEIVED and
//      mark the submission complete; only then answer OK.
// If Kafka or Redis fails, the caller gets UNAVAILABLE and may resubmit safely: the claim is
// released and republished events carry the same ids, which every consumer deduplicates.
//
// Callback API: the handler never blocks on Kafka; the reply is sent from the producer's
// delivery callback. Thread-safe.
#ifndef HUB_SERVICES_INTAKE_INTAKE_SERVICE_H_
#define HUB_SERVICES_INTAKE_INTAKE_SERVICE_H_

#include <memory>
#include <string>

#include "hub/intake/v1/intake.grpc.pb.h"
#include "services/common/casestate/case_store.h"
#include "services/common/clock/clock.h"
#include "services/common/identity/identity.h"
#include "services/common/kafka/kafka.h"
#include "services/common/metrics/metrics.h"
#include "services/common/redis/redis_client.h"

namespace hub::intake {

struct IntakeDeps {
  kafka::Producer* producer = nullptr;
  redis::RedisClient* redis = nullptr;
  const identity::IdentityProvider* identity = nullptr;
  std::shared_ptr<clock::Clock> clock;
  metrics::Registry* metrics = nullptr;
  std::string ns = "hub";
  std::string crime_reported_topic;
  // How long a completed submission key is remembered for deduplication.
  absl::Duration dedupe_window = absl::Hours(24 * 30);
};

class IntakeServiceImpl final : public hub::intake::v1::IntakeService::CallbackService {
 public:
  explicit IntakeServiceImpl(IntakeDeps deps);

  grpc::ServerUnaryReactor* SubmitCrimeReport(
      grpc::CallbackServerContext* context,
      const hub::intake::v1::SubmitCrimeReportRequest* request,
      hub::intake::v1::SubmitCrimeReportResponse* response) override;

  // The Redis key that remembers a submission; public for tests and docs.
  std::string SubmissionKey(absl::string_view principal, absl::string_view source_system,
                            absl::string_view source_event_id) const;

 private:
  struct Submission;
  void Publish(const std::shared_ptr<Submission>& submission);
  void Complete(const std::shared_ptr<Submission>& submission);
  void Finish(const std::shared_ptr<Submission>& submission, const absl::Status& status);

  IntakeDeps deps_;
  casestate::CaseStore store_;
  metrics::Histogram* latency_;
  metrics::Counter* accepted_;
  metrics::Counter* duplicates_;
  metrics::Counter* rejected_;
  metrics::Counter* unavailable_;
};

}  // namespace hub::intake

#endif  // HUB_SERVICES_INTAKE_INTAKE_SERVICE_H_
