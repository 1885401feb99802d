#include "services/intake/intake_service.h"

#include <chrono>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/alarm.h"

#include "services/common/events/cloudevents.h"
#include "services/common/log/log.h"
#include "services/common/rpc/error_details.h"
#include "services/common/status/status_macros.h"

namespace hub::intake {
namespace {

using hub::intake::v1::BulkSubmitCrimeReportsRequest;
using hub::intake::v1::BulkSubmitCrimeReportsResponse;

std::string TraceparentOf(const grpc::CallbackServerContext& context) {
  auto metadata = context.client_metadata().find("traceparent");
  if (metadata != context.client_metadata().end()) {
    absl::StatusOr<events::TraceContext> trace = events::ParseTraceparent(
        absl::string_view(metadata->second.data(), metadata->second.size()));
    if (trace.ok()) {
      return trace->ToTraceparent();
    }
  }
  return events::NewTrace().ToTraceparent();
}

// One unary call: replies exactly once, with the outcome or, if the outcome is not known
// by `reply_by`, with UNAVAILABLE.
template <typename Response>
class UnaryCall : public std::enable_shared_from_this<UnaryCall<Response>> {
 public:
  UnaryCall(grpc::ServerUnaryReactor* reactor, Response* response, metrics::Histogram* latency,
            metrics::Counter* deadline_replies)
      : reactor_(reactor),
        response_(response),
        latency_(latency),
        deadline_replies_(deadline_replies),
        started_(absl::Now()) {}

  void ArmDeadline(absl::Time reply_by) {
    auto self = this->shared_from_this();
    alarm_.Set(absl::ToChronoTime(reply_by), [self](bool fired) {
      if (fired && self->Reply(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                            "the outcome is not known within the call's "
                                            "deadline (event log or state store slow or "
                                            "unreachable); retry with the same id"),
                               nullptr)) {
        self->deadline_replies_->Increment();
      }
    });
  }

  // Returns false if the call was already answered.
  bool Reply(const grpc::Status& status, const Response* response) {
    {
      absl::MutexLock lock(&mu_);
      if (replied_) {
        return false;
      }
      replied_ = true;
    }
    if (status.ok() && response != nullptr) {
      *response_ = *response;
    }
    latency_->Observe(absl::ToDoubleSeconds(absl::Now() - started_));
    reactor_->Finish(status);
    alarm_.Cancel();
    return true;
  }

  Done<Response> Callback() {
    auto self = this->shared_from_this();
    return
        [self](const grpc::Status& status, Response response) { self->Reply(status, &response); };
  }

 private:
  grpc::ServerUnaryReactor* reactor_;
  Response* response_;
  metrics::Histogram* latency_;
  metrics::Counter* deadline_replies_;
  absl::Time started_;
  grpc::Alarm alarm_;
  absl::Mutex mu_;
  bool replied_ ABSL_GUARDED_BY(mu_) = false;
};

// Bulk submission: reads reports, runs up to `window` at once, and writes one result per
// report in the order they came.
class BulkReactor final : public grpc::ServerBidiReactor<BulkSubmitCrimeReportsRequest,
                                                         BulkSubmitCrimeReportsResponse> {
 public:
  BulkReactor(Intake* intake, absl::StatusOr<Caller> caller, int window)
      : intake_(intake), caller_(std::move(caller)), window_(window) {
    if (!caller_.ok()) {
      Finish(rpc::ToGrpcStatus(caller_.status()));
      return;
    }
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      {
        absl::MutexLock lock(&mu_);
        reads_done_ = true;
      }
      Pump();
      return;
    }
    int64_t index = 0;
    {
      absl::MutexLock lock(&mu_);
      index = next_index_++;
      ++in_flight_;
    }
    // Intake copies what it needs before returning, so request_ can be reused.
    intake_->SubmitReport(*caller_, request_.report(),
                          [this, index](const grpc::Status& status,
                                        hub::intake::v1::SubmitCrimeReportResponse result) {
                            OnResult(index, status, std::move(result));
                          });
    bool read_more = false;
    {
      absl::MutexLock lock(&mu_);
      if (in_flight_ < window_) {
        read_more = true;
      } else {
        read_paused_ = true;
      }
    }
    if (read_more) {
      StartRead(&request_);
    }
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      if (!ok) {
        write_failed_ = true;
      }
      results_.erase(next_write_);
      ++next_write_;
      writing_ = false;
    }
    Pump();
  }

  void OnDone() override { delete this; }

 private:
  void OnResult(int64_t index, const grpc::Status& status,
                hub::intake::v1::SubmitCrimeReportResponse result) {
    BulkSubmitCrimeReportsResponse response;
    response.set_index(index);
    response.set_code(static_cast<int32_t>(status.error_code()));
    response.set_message(status.error_message());
    if (status.ok()) {
      *response.mutable_result() = std::move(result);
    } else if (absl::StatusOr<google::rpc::BadRequest> bad_request = rpc::BadRequestOf(status);
               bad_request.ok()) {
      response.set_details(bad_request->SerializeAsString());
    }
    bool resume = false;
    {
      absl::MutexLock lock(&mu_);
      results_[index] = std::move(response);
      --in_flight_;
      if (read_paused_ && in_flight_ < window_) {
        read_paused_ = false;
        resume = true;
      }
    }
    if (resume) {
      StartRead(&request_);
    }
    Pump();
  }

  // Starts the next write, or finishes the stream when everything is answered. Reactor
  // operations are started outside the lock (a reaction may run inline).
  void Pump() {
    const BulkSubmitCrimeReportsResponse* to_write = nullptr;
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      to_write = NextWriteLocked();
      if (to_write == nullptr && reads_done_ && in_flight_ == 0 && results_.empty() && !writing_ &&
          !finished_) {
        finished_ = true;
        finish = true;
      }
    }
    if (to_write != nullptr) {
      StartWrite(to_write);
    } else if (finish) {
      Finish(grpc::Status::OK);
    }
  }

  const BulkSubmitCrimeReportsResponse* NextWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    while (!writing_) {
      auto next = results_.find(next_write_);
      if (next == results_.end()) {
        return nullptr;
      }
      if (write_failed_) {
        // The client went away: drop results nobody can read.
        results_.erase(next);
        ++next_write_;
        continue;
      }
      writing_ = true;
      return &next->second;
    }
    return nullptr;
  }

  Intake* intake_;
  absl::StatusOr<Caller> caller_;
  const int window_;
  BulkSubmitCrimeReportsRequest request_;
  absl::Mutex mu_;
  int64_t next_index_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t next_write_ ABSL_GUARDED_BY(mu_) = 0;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::map<int64_t, BulkSubmitCrimeReportsResponse> results_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

IntakeServiceImpl::IntakeServiceImpl(Intake* intake, const identity::IdentityProvider* identity,
                                     metrics::Registry* metrics, IntakeServiceOptions options)
    : intake_(intake), identity_(identity), options_(options) {
  latency_ = metrics->AddHistogram("hub_intake_call_seconds",
                                   "Time from request to reply for intake's unary calls.",
                                   metrics::LatencyBuckets());
  deadline_replies_ = metrics->AddCounter(
      "hub_intake_deadline_replies_total",
      "Calls answered UNAVAILABLE because their outcome was not known before the deadline.", {});
}

absl::StatusOr<Caller> IntakeServiceImpl::Authorise(
    grpc::CallbackServerContext* context, std::initializer_list<identity::CallerKind> kinds,
    absl::string_view action) const {
  absl::StatusOr<identity::CallerIdentity> identity = identity_->Identify(*context);
  if (!identity.ok()) {
    return identity.status();
  }
  HUB_RETURN_IF_ERROR(identity::RequireKind(*identity, kinds, action));
  Caller caller;
  caller.principal = identity->principal;
  if (identity->kind == identity::CallerKind::kPoliceSystem) {
    caller.force_code = identity->organisation;
  }
  caller.traceparent = TraceparentOf(*context);
  return caller;
}

absl::Time IntakeServiceImpl::ReplyBy(const grpc::CallbackServerContext* context) const {
  const absl::Time now = absl::Now();
  absl::Time deadline = now + options_.max_wait;
  if (context->deadline() != std::chrono::system_clock::time_point::max()) {
    deadline = std::min(deadline, absl::FromChrono(context->deadline()));
  }
  return std::max(now, deadline - options_.deadline_margin);
}

grpc::ServerUnaryReactor* IntakeServiceImpl::SubmitCrimeReport(
    grpc::CallbackServerContext* context, const hub::intake::v1::SubmitCrimeReportRequest* request,
    hub::intake::v1::SubmitCrimeReportResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto call = std::make_shared<UnaryCall<hub::intake::v1::SubmitCrimeReportResponse>>(
      reactor, response, latency_, deadline_replies_);
  absl::StatusOr<Caller> caller =
      Authorise(context, {identity::CallerKind::kPoliceSystem}, "submit crime reports");
  if (!caller.ok()) {
    call->Reply(rpc::ToGrpcStatus(caller.status()), nullptr);
    return reactor;
  }
  call->ArmDeadline(ReplyBy(context));
  intake_->SubmitReport(*caller, request->report(), call->Callback());
  return reactor;
}

grpc::ServerUnaryReactor* IntakeServiceImpl::UpdateCrimeReport(
    grpc::CallbackServerContext* context, const hub::intake::v1::UpdateCrimeReportRequest* request,
    hub::intake::v1::UpdateCrimeReportResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto call = std::make_shared<UnaryCall<hub::intake::v1::UpdateCrimeReportResponse>>(
      reactor, response, latency_, deadline_replies_);
  absl::StatusOr<Caller> caller =
      Authorise(context, {identity::CallerKind::kPoliceSystem}, "update crime reports");
  if (!caller.ok()) {
    call->Reply(rpc::ToGrpcStatus(caller.status()), nullptr);
    return reactor;
  }
  call->ArmDeadline(ReplyBy(context));
  intake_->UpdateReport(*caller, request->update(), call->Callback());
  return reactor;
}

grpc::ServerBidiReactor<BulkSubmitCrimeReportsRequest, BulkSubmitCrimeReportsResponse>*
IntakeServiceImpl::BulkSubmitCrimeReports(grpc::CallbackServerContext* context) {
  return new BulkReactor(
      intake_, Authorise(context, {identity::CallerKind::kPoliceSystem}, "submit crime reports"),
      options_.bulk_window);
}

grpc::ServerUnaryReactor* IntakeServiceImpl::SubmitSelfReferral(
    grpc::CallbackServerContext* context, const hub::intake::v1::SubmitSelfReferralRequest* request,
    hub::intake::v1::SubmitSelfReferralResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto call = std::make_shared<UnaryCall<hub::intake::v1::SubmitSelfReferralResponse>>(
      reactor, response, latency_, deadline_replies_);
  absl::StatusOr<Caller> caller =
      Authorise(context, {identity::CallerKind::kVictim, identity::CallerKind::kStaff},
                "submit self-referrals");
  if (!caller.ok()) {
    call->Reply(rpc::ToGrpcStatus(caller.status()), nullptr);
    return reactor;
  }
  call->ArmDeadline(ReplyBy(context));
  intake_->SelfRefer(*caller, request->referral(), call->Callback());
  return reactor;
}

grpc::ServerUnaryReactor* IntakeServiceImpl::RequestErasure(
    grpc::CallbackServerContext* context, const hub::intake::v1::RequestErasureRequest* request,
    hub::intake::v1::RequestErasureResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Caller> caller =
      Authorise(context, {identity::CallerKind::kStaff}, "request erasure");
  if (!caller.ok()) {
    reactor->Finish(rpc::ToGrpcStatus(caller.status()));
    return reactor;
  }
  reactor->Finish(intake_->Erase(*caller, *request, response));
  return reactor;
}

}  // namespace hub::intake
