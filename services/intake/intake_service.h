// The intake gRPC API (hub.intake.v1.IntakeService): identifies the caller, carries the
// trace, enforces the caller's deadline and hands the work to Intake (intake.h).
//
// Who may call what: police systems submit, update and bulk-submit (their own force's
// crimes only); victims and Hub staff submit self-referrals; only Hub staff request
// erasure. Anyone else gets PERMISSION_DENIED.
//
// Deadlines: a call whose outcome is not known shortly before the caller's deadline (or
// within `max_wait` when the caller set none) is answered UNAVAILABLE ("outcome unknown —
// retry with the same id") instead of running into DEADLINE_EXCEEDED, so a caller facing a
// stopped broker learns it within its own deadline. The work itself carries on and
// completes or is released; a retry with the same id is always safe.
//
// Callback API: handlers never block on Kafka (erasure excepted). Thread-safe.
#ifndef HUB_SERVICES_INTAKE_INTAKE_SERVICE_H_
#define HUB_SERVICES_INTAKE_INTAKE_SERVICE_H_

#include <memory>
#include <string>

#include "absl/time/time.h"

#include "hub/intake/v1/intake.grpc.pb.h"
#include "services/common/identity/identity.h"
#include "services/common/metrics/metrics.h"
#include "services/intake/intake.h"

namespace hub::intake {

struct IntakeServiceOptions {
  // The longest a call waits for its outcome when the caller set no deadline.
  absl::Duration max_wait = absl::Seconds(10);
  // How long before the caller's deadline the UNAVAILABLE answer is sent.
  absl::Duration deadline_margin = absl::Milliseconds(50);
  // Reports of one bulk stream processed at once.
  int bulk_window = 32;
};

class IntakeServiceImpl final : public hub::intake::v1::IntakeService::CallbackService {
 public:
  IntakeServiceImpl(Intake* intake, const identity::IdentityProvider* identity,
                    metrics::Registry* metrics, IntakeServiceOptions options = {});

  grpc::ServerUnaryReactor* SubmitCrimeReport(
      grpc::CallbackServerContext* context,
      const hub::intake::v1::SubmitCrimeReportRequest* request,
      hub::intake::v1::SubmitCrimeReportResponse* response) override;

  grpc::ServerUnaryReactor* UpdateCrimeReport(
      grpc::CallbackServerContext* context,
      const hub::intake::v1::UpdateCrimeReportRequest* request,
      hub::intake::v1::UpdateCrimeReportResponse* response) override;

  grpc::ServerBidiReactor<hub::intake::v1::BulkSubmitCrimeReportsRequest,
                          hub::intake::v1::BulkSubmitCrimeReportsResponse>*
  BulkSubmitCrimeReports(grpc::CallbackServerContext* context) override;

  grpc::ServerUnaryReactor* SubmitSelfReferral(
      grpc::CallbackServerContext* context,
      const hub::intake::v1::SubmitSelfReferralRequest* request,
      hub::intake::v1::SubmitSelfReferralResponse* response) override;

  grpc::ServerUnaryReactor* RequestErasure(
      grpc::CallbackServerContext* context, const hub::intake::v1::RequestErasureRequest* request,
      hub::intake::v1::RequestErasureResponse* response) override;

 private:
  // The caller, if allowed one of `kinds`; else the refusal.
  absl::StatusOr<Caller> Authorise(grpc::CallbackServerContext* context,
                                   std::initializer_list<identity::CallerKind> kinds,
                                   absl::string_view action) const;
  absl::Time ReplyBy(const grpc::CallbackServerContext* context) const;

  Intake* intake_;
  const identity::IdentityProvider* identity_;
  IntakeServiceOptions options_;
  metrics::Histogram* latency_;
  metrics::Counter* deadline_replies_;
};

}  // namespace hub::intake

#endif  // HUB_SERVICES_INTAKE_INTAKE_SERVICE_H_
