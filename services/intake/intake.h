// Intake's work, independent of gRPC plumbing: validating, deduplicating, sealing and
// publishing crime reports, updates and self-referrals, and erasing victims.
//
// Every change follows the same steps:
//   1. validate the whole request; a bad request is refused with every violation, and
//      nothing is stored or published;
//   2. claim the submission key (caller, kind, source system, source event id) in Redis:
//      a key already completed with the same content answers with the stored result
//      (duplicate=true) and publishes nothing; the same key with different content is
//      ALREADY_EXISTS; a key another call is still working on is UNAVAILABLE (retry);
//   3. resolve cases (the crime index merges the same victim of the same crime from
//      several feeds), compute each victim's pseudonymous id, fetch or create the victim's
//      data key (durably stored before use) and seal every personal field;
//   4. publish the events, each with an id derived from the submission key, so a retried
//      submission republishes the same ids and consumers deduplicate;
//   5. once Kafka acknowledged every event (acks=all), record the live state and mark the
//      submission complete; only then answer OK.
// On any failure after the claim the claim is released and the caller gets UNAVAILABLE:
// "outcome unknown — retry with the same id", which is always safe.
//
// Results are delivered through callbacks, called exactly once, possibly on a Kafka
// producer thread. Thread-safe.
#ifndef HUB_SERVICES_INTAKE_INTAKE_H_
#define HUB_SERVICES_INTAKE_INTAKE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/support/status.h"

#include "hub/events/v1/events.pb.h"
#include "hub/intake/v1/intake.pb.h"
#include "services/common/casestate/case_store.h"
#include "services/common/clock/clock.h"
#include "services/common/events/topics.h"
#include "services/common/kafka/kafka.h"
#include "services/common/metrics/metrics.h"
#include "services/common/offences/offences.h"
#include "services/common/redis/redis_client.h"
#include "services/common/seal/key_store.h"
#include "services/common/seal/pseudonym.h"
#include "services/common/workers/worker_pool.h"
#include "services/intake/crime_index.h"

namespace hub::intake {

struct IntakeDeps {
  kafka::Producer* producer = nullptr;
  redis::RedisClient* redis = nullptr;
  std::shared_ptr<clock::Clock> clock;
  metrics::Registry* metrics = nullptr;
  std::string ns = "hub";
  events::TopicNames topics;
  seal::KeyStore* keys = nullptr;
  const seal::Pseudonymizer* pseudonyms = nullptr;
  const offences::OffenceTable* offences = nullptr;
  // Runs the work that follows a Kafka acknowledgement (sealing, Redis writes, the reply)
  // off the producer's delivery thread. Null: runs it on that thread.
  workers::WorkerPool* workers = nullptr;
  // How long a completed submission key is remembered for deduplication.
  absl::Duration dedupe_window = absl::Hours(24 * 30);
};

// Who is calling, as the gRPC layer established it.
struct Caller {
  // e.g. "police:CAMBS:athena".
  std::string principal;
  // For police systems, the force the caller records for: it may submit and update only
  // that force's crimes. Empty for other callers.
  std::string force_code;
  // W3C traceparent to carry on the events.
  std::string traceparent;
};

template <typename Response>
using Done = std::function<void(const grpc::Status&, Response)>;

class Intake {
 public:
  explicit Intake(IntakeDeps deps);
  ~Intake();
  Intake(const Intake&) = delete;
  Intake& operator=(const Intake&) = delete;

  void SubmitReport(const Caller& caller, const hub::intake::v1::CrimeReport& report,
                    Done<hub::intake::v1::SubmitCrimeReportResponse> done);
  void UpdateReport(const Caller& caller, const hub::intake::v1::CrimeUpdate& update,
                    Done<hub::intake::v1::UpdateCrimeReportResponse> done);
  void SelfRefer(const Caller& caller, const hub::intake::v1::SelfReferral& referral,
                 Done<hub::intake::v1::SubmitSelfReferralResponse> done);
  // Blocking (erasure is rare and must finish before the reply).
  grpc::Status Erase(const Caller& caller, const hub::intake::v1::RequestErasureRequest& request,
                     hub::intake::v1::RequestErasureResponse* response);

  // Key names, for docs and tests.
  std::string SubmissionKey(absl::string_view kind, absl::string_view principal,
                            absl::string_view source_system,
                            absl::string_view source_event_id) const;
  std::string CaseKeyRecord(absl::string_view case_id) const;
  std::string KeyCasesKey(absl::string_view key_id) const;

 private:
  struct Claim;
  struct Publication;
  struct Counters;

  // Runs `work` on the worker pool, or here when there is none.
  void Hand(std::function<void()> work);

  // Starts a call's publication and claims its submission key. Returns null when the call
  // is already answered through `done`: with the stored result (a duplicate) or a refusal.
  template <typename Response>
  std::shared_ptr<Publication> Begin(const Caller& caller, absl::Time now, absl::string_view kind,
                                     absl::string_view source_system,
                                     absl::string_view source_event_id,
                                     const google::protobuf::Message& request,
                                     Done<Response>& done);

  // Claims a submission; on kDone fills `stored` with the stored response bytes.
  enum class ClaimResult { kClaimed, kDone };
  absl::StatusOr<ClaimResult> ClaimSubmission(const Claim& claim, std::string* stored);
  absl::Status CompleteSubmission(const Claim& claim, const std::string& response);
  void ReleaseSubmission(const Claim& claim);

  // Seals every case of `publication`, publishes them and its updates, and calls `finish`
  // once Kafka acknowledged all of them (or with the first error).
  void SealAndPublish(const std::shared_ptr<Publication>& publication,
                      std::function<void(const absl::Status&)> finish);
  void PublishAll(const std::shared_ptr<Publication>& publication,
                  std::function<void(const absl::Status&)> finish);
  // Records the live state of published cases and updates, and runs `also`, in one
  // pipelined round trip.
  absl::Status RecordCases(const Publication& publication,
                           std::vector<std::vector<std::string>> also);

  IntakeDeps deps_;
  casestate::CaseStore store_;
  CrimeIndex index_;
  std::unique_ptr<Counters> counters_;
};

}  // namespace hub::intake

#endif  // HUB_SERVICES_INTAKE_INTAKE_H_
