// The intake service wired as hub-intake's main.cc wires it (key store, pseudonymizer,
// offence table, Intake, IntakeServiceImpl on the callback API), served in-process on a
// loopback port with the development identity provider, for integration tests against a
// real Kafka broker and Redis. Also builds valid reports and calls the API as a named
// caller.
//
// Lifecycle: Start() returns a serving harness over a producer and Redis client the test
// owns. Before destroying the producer, call Shutdown() (stops the server); destroy the
// producer (or Flush it) before the harness, since delivery callbacks still running refer
// to the key store and intake. Not thread-safe; one test thread owns each harness.
#ifndef HUB_TESTS_INTEGRATION_INTAKE_INTAKE_HARNESS_H_
#define HUB_TESTS_INTEGRATION_INTAKE_INTAKE_HARNESS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include <grpcpp/grpcpp.h>

#include "hub/intake/v1/intake.grpc.pb.h"
#include "services/common/identity/identity.h"
#include "services/common/kafka/kafka.h"
#include "services/common/metrics/metrics.h"
#include "services/common/offences/offences.h"
#include "services/common/redis/redis_client.h"
#include "services/common/seal/key_store.h"
#include "services/common/seal/master_key.h"
#include "services/common/seal/pseudonym.h"
#include "services/common/workers/worker_pool.h"
#include "services/intake/intake.h"
#include "services/intake/intake_service.h"

namespace hub::intake::testing {

// Callers as they declare themselves in the x-hub-caller metadata.
inline constexpr char kAthena[] = "police:CAMBS:athena";
inline constexpr char kNiche[] = "police:CAMBS:niche";
inline constexpr char kBedsPolice[] = "police:BEDS:athena";
inline constexpr char kProvider[] = "provider:idva-cambs";
inline constexpr char kWebForm[] = "victim:web-form";
inline constexpr char kDpo[] = "staff:dpo";

class IntakeHarness {
 public:
  // `producer`, `redis`, `master` and `offences` must outlive the harness.
  static absl::StatusOr<std::unique_ptr<IntakeHarness>> Start(
      const std::string& ns, const std::string& bootstrap_servers, kafka::Producer* producer,
      redis::RedisClient* redis, const seal::MasterKey& master,
      const offences::OffenceTable* offences);
  ~IntakeHarness();
  IntakeHarness(const IntakeHarness&) = delete;
  IntakeHarness& operator=(const IntakeHarness&) = delete;

  // Stops the server (idempotent).
  void Shutdown();

  Intake& intake() { return *intake_; }
  seal::KeyStore& keys() { return *keys_; }
  const seal::Pseudonymizer& pseudonyms() const { return pseudonyms_; }
  const events::TopicNames& topics() const { return topics_; }
  int port() const { return port_; }

  grpc::Status Submit(const hub::intake::v1::CrimeReport& report,
                      hub::intake::v1::SubmitCrimeReportResponse* response,
                      const std::string& caller = kAthena,
                      absl::Duration deadline = absl::Seconds(30));
  grpc::Status Update(const hub::intake::v1::CrimeUpdate& update,
                      hub::intake::v1::UpdateCrimeReportResponse* response,
                      const std::string& caller = kAthena,
                      absl::Duration deadline = absl::Seconds(30));
  grpc::Status SelfRefer(const hub::intake::v1::SelfReferral& referral,
                         hub::intake::v1::SubmitSelfReferralResponse* response,
                         const std::string& caller = kWebForm,
                         absl::Duration deadline = absl::Seconds(30));
  grpc::Status Erase(const hub::intake::v1::RequestErasureRequest& request,
                     hub::intake::v1::RequestErasureResponse* response,
                     const std::string& caller = kDpo, absl::Duration deadline = absl::Seconds(30));
  // A bulk stream of `reports`, written then half-closed; every result read back.
  grpc::Status BulkSubmit(const std::vector<hub::intake::v1::CrimeReport>& reports,
                          std::vector<hub::intake::v1::BulkSubmitCrimeReportsResponse>* results,
                          const std::string& caller = kAthena,
                          absl::Duration deadline = absl::Seconds(60));

 private:
  IntakeHarness(const seal::MasterKey& master, std::string ns);

  std::string ns_;
  events::TopicNames topics_;
  // Before the store and intake, so it outlives them: both hand it work, as in hub-intake.
  workers::WorkerPool workers_{4};
  seal::Pseudonymizer pseudonyms_;
  metrics::Registry metrics_;
  std::unique_ptr<identity::IdentityProvider> identity_;
  std::unique_ptr<seal::KeyStore> keys_;
  std::unique_ptr<Intake> intake_;
  std::unique_ptr<IntakeServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<hub::intake::v1::IntakeService::Stub> stub_;
  int port_ = 0;
  bool shut_down_ = false;
};

// A valid adult victim (no age given; the date of birth makes them an adult): a safe
// mobile phone route with `phone`, consent given to all providers half an hour ago.
hub::intake::v1::Victim MakeVictim(const std::string& victim_ref, const std::string& given,
                                   const std::string& family, int birth_year, int birth_month,
                                   int birth_day, const std::string& phone);

// A valid CAMBS report from "athena" (burglary, 28E), reported two hours ago, with
// `victims`.
hub::intake::v1::CrimeReport MakeReport(const std::string& source_event_id,
                                        const std::string& crime_reference,
                                        const std::vector<hub::intake::v1::Victim>& victims);

// `time` as a protobuf Timestamp (milliseconds).
google::protobuf::Timestamp Ts(absl::Time time);

}  // namespace hub::intake::testing

#endif  // HUB_TESTS_INTEGRATION_INTAKE_INTAKE_HARNESS_H_
