#include "services/intake/intake_service.h"

#include <atomic>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "nlohmann/json.hpp"

#include "hub/events/v1/events.pb.h"
#include "services/common/events/cloudevents.h"
#include "services/common/events/topics.h"
#include "services/common/log/log.h"
#include "services/common/rpc/error_details.h"
#include "services/intake/cases.h"
#include "services/intake/validation.h"

namespace hub::intake {
namespace {

using hub::intake::v1::SubmitCrimeReportRequest;
using hub::intake::v1::SubmitCrimeReportResponse;

// Claims a submission key, or returns what it already holds. KEYS: the key. ARGV: the
// pending record, its time to live in ms. Returns nil when claimed.
constexpr char kClaimScript[] = R"lua(
local existing = redis.call('GET', KEYS[1])
if existing then
  return existing
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
)lua";

// Deletes the key only if it still holds ARGV[1] (our pending claim).
constexpr char kReleaseScript[] = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
)lua";

// A claim left by a crashed intake expires after this, so the caller's retry can proceed.
constexpr absl::Duration kPendingClaimTtl = absl::Minutes(2);

const redis::Script& ClaimScript() {
  static const auto* script = new redis::Script(kClaimScript);
  return *script;
}

const redis::Script& ReleaseScript() {
  static const auto* script = new redis::Script(kReleaseScript);
  return *script;
}

}  // namespace

struct IntakeServiceImpl::Submission {
  grpc::ServerUnaryReactor* reactor = nullptr;
  SubmitCrimeReportResponse* response = nullptr;
  std::string key;
  std::string pending_record;
  std::string digest;
  std::string traceparent;
  absl::Time started;
  absl::Time received_at;
  std::vector<hub::events::v1::CrimeReported> cases;
  std::vector<std::string> event_ids;
  std::atomic<int> outstanding{0};
  absl::Mutex mu;
  absl::Status first_error ABSL_GUARDED_BY(mu);
};

IntakeServiceImpl::IntakeServiceImpl(IntakeDeps deps)
    : deps_(std::move(deps)), store_(deps_.redis, deps_.ns) {
  metrics::Registry& registry = *deps_.metrics;
  latency_ = registry.AddHistogram("hub_intake_submit_seconds",
                                   "Time from request to reply for SubmitCrimeReport.",
                                   metrics::LatencyBuckets());
  const std::string name = "hub_intake_submissions_total";
  const std::string help = "SubmitCrimeReport calls by outcome.";
  accepted_ = registry.AddCounter(name, help, {{"outcome", "accepted"}});
  duplicates_ = registry.AddCounter(name, help, {{"outcome", "duplicate"}});
  rejected_ = registry.AddCounter(name, help, {{"outcome", "rejected"}});
  unavailable_ = registry.AddCounter(name, help, {{"outcome", "unavailable"}});
}

std::string IntakeServiceImpl::SubmissionKey(absl::string_view principal,
                                             absl::string_view source_system,
                                             absl::string_view source_event_id) const {
  std::string digest =
      events::Sha256Hex(absl::StrCat(principal, "\n", source_system, "\n", source_event_id));
  return absl::StrCat(deps_.ns, ":intake:submission:{", digest.substr(0, 32), "}");
}

grpc::ServerUnaryReactor* IntakeServiceImpl::SubmitCrimeReport(
    grpc::CallbackServerContext* context, const SubmitCrimeReportRequest* request,
    SubmitCrimeReportResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Time started = absl::Now();
  auto reject = [&](const absl::Status& status, metrics::Counter* counter) {
    counter->Increment();
    latency_->Observe(absl::ToDoubleSeconds(absl::Now() - started));
    reactor->Finish(rpc::ToGrpcStatus(status));
    return reactor;
  };

  absl::StatusOr<identity::CallerIdentity> caller = deps_.identity->Identify(*context);
  if (!caller.ok()) {
    return reject(caller.status(), rejected_);
  }
  if (absl::Status allowed = identity::RequireKind(*caller, {identity::CallerKind::kPoliceSystem},
                                                   "submit crime reports");
      !allowed.ok()) {
    return reject(allowed, rejected_);
  }
  const hub::intake::v1::CrimeReport& report = request->report();
  absl::Time now = deps_.clock->Now();
  if (std::vector<FieldViolation> violations = ValidateCrimeReport(report, now);
      !violations.empty()) {
    log::Info("crime report rejected", {{"caller", caller->principal},
                                        {"reason", "invalid"},
                                        {"violations", static_cast<int>(violations.size())}});
    rejected_->Increment();
    latency_->Observe(absl::ToDoubleSeconds(absl::Now() - started));
    reactor->Finish(
        rpc::InvalidArgument(std::string(ViolationsToStatus(violations).message()), violations));
    return reactor;
  }

  auto submission = std::make_shared<Submission>();
  submission->reactor = reactor;
  submission->response = response;
  submission->started = started;
  submission->received_at = now;
  submission->key =
      SubmissionKey(caller->principal, report.source_system(), report.source_event_id());
  submission->digest = ContentDigest(report);
  submission->pending_record =
      nlohmann::json{{"state", "pending"}, {"digest", submission->digest}}.dump();

  absl::StatusOr<redis::Reply> claim = deps_.redis->Eval(
      ClaimScript(), {submission->key},
      {submission->pending_record, absl::StrCat(absl::ToInt64Milliseconds(kPendingClaimTtl))});
  if (!claim.ok()) {
    return reject(absl::UnavailableError("the hub's state store is unavailable; retry later"),
                  unavailable_);
  }
  if (!claim->is_nil()) {
    nlohmann::json existing = nlohmann::json::parse(claim->str, nullptr, false);
    if (existing.is_discarded() || existing.value("digest", "") != submission->digest) {
      return reject(absl::AlreadyExistsError(
                        "report.source_event_id: already used by this caller and source_system "
                        "for a different report; send changes as an update"),
                    rejected_);
    }
    if (existing.value("state", "") != "done") {
      return reject(absl::UnavailableError(
                        "report.source_event_id: the same submission is still being processed; "
                        "retry shortly"),
                    unavailable_);
    }
    for (const auto& item : existing["cases"]) {
      hub::intake::v1::CaseReceipt* receipt = response->add_cases();
      receipt->set_victim_ref(item.value("victim_ref", ""));
      receipt->set_case_id(item.value("case_id", ""));
    }
    response->set_duplicate(true);
    duplicates_->Increment();
    latency_->Observe(absl::ToDoubleSeconds(absl::Now() - started));
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  // Carry the caller's trace if it sent one.
  auto metadata = context->client_metadata().find("traceparent");
  absl::StatusOr<events::TraceContext> trace =
      metadata != context->client_metadata().end()
          ? events::ParseTraceparent(
                absl::string_view(metadata->second.data(), metadata->second.size()))
          : absl::StatusOr<events::TraceContext>(absl::NotFoundError("none"));
  submission->traceparent =
      trace.ok() ? trace->ToTraceparent() : events::NewTrace().ToTraceparent();
  submission->cases = SplitIntoCases(report, now, caller->principal);
  Publish(submission);
  return reactor;
}

void IntakeServiceImpl::Publish(const std::shared_ptr<Submission>& submission) {
  submission->outstanding = static_cast<int>(submission->cases.size());
  for (const hub::events::v1::CrimeReported& event : submission->cases) {
    events::CloudEvent header;
    header.id =
        events::DeriveEventId(submission->key, absl::StrCat("crime_reported/", event.case_id()));
    header.source = "/hub/intake";
    header.type = events::kCrimeReportedType;
    header.time = submission->received_at;
    header.traceparent = submission->traceparent;
    submission->event_ids.push_back(header.id);
    deps_.producer->Produce(
        events::MakeRecord(deps_.crime_reported_topic, event.case_id(), event, header),
        [this, submission](const absl::Status& delivered) {
          if (!delivered.ok()) {
            absl::MutexLock lock(&submission->mu);
            if (submission->first_error.ok()) {
              submission->first_error = delivered;
            }
          }
          if (submission->outstanding.fetch_sub(1) == 1) {
            Complete(submission);
          }
        });
  }
}

void IntakeServiceImpl::Complete(const std::shared_ptr<Submission>& submission) {
  absl::Status error;
  {
    absl::MutexLock lock(&submission->mu);
    error = submission->first_error;
  }
  if (!error.ok()) {
    log::Warn("crime report not stored in kafka", {{"status", error.ToString()}});
    Finish(submission,
           absl::UnavailableError("the event log did not confirm the report; nothing was accepted, "
                                  "resubmit with the same source_event_id"));
    return;
  }
  nlohmann::json receipts = nlohmann::json::array();
  for (size_t i = 0; i < submission->cases.size(); ++i) {
    const hub::events::v1::CrimeReported& event = submission->cases[i];
    casestate::CaseStep step;
    step.case_id = event.case_id();
    step.stage = hub::cases::v1::STAGE_RECEIVED;
    step.service = "intake";
    step.event_id = submission->event_ids[i];
    step.recorded_at = submission->received_at;
    step.detail = absl::StrCat("crime report received from ", event.submitted_by());
    step.attributes = {
        {"force_code", event.report().force_code()},
        {"offence_class_code", event.report().offence_class_code()},
        {"reported_at", google::protobuf::util::TimeUtil::ToString(event.report().reported_at())}};
    absl::StatusOr<bool> recorded = store_.RecordStep(step);
    if (!recorded.ok()) {
      Finish(submission, absl::UnavailableError(
                             "the report is stored but the hub's state store did not confirm it; "
                             "resubmit with the same source_event_id"));
      return;
    }
    receipts.push_back(
        {{"victim_ref", event.report().victims(0).victim_ref()}, {"case_id", event.case_id()}});
    hub::intake::v1::CaseReceipt* receipt = submission->response->add_cases();
    receipt->set_victim_ref(event.report().victims(0).victim_ref());
    receipt->set_case_id(event.case_id());
  }
  std::string done =
      nlohmann::json{{"state", "done"}, {"digest", submission->digest}, {"cases", receipts}}.dump();
  absl::StatusOr<redis::Reply> saved =
      deps_.redis->Command({"SET", submission->key, done, "PX",
                            absl::StrCat(absl::ToInt64Milliseconds(deps_.dedupe_window))});
  if (!saved.ok()) {
    submission->response->clear_cases();
    Finish(submission, absl::UnavailableError(
                           "the report is stored but the hub's state store did not confirm it; "
                           "resubmit with the same source_event_id"));
    return;
  }
  accepted_->Increment();
  log::Info("crime report accepted", {{"cases", static_cast<int>(submission->cases.size())}});
  latency_->Observe(absl::ToDoubleSeconds(absl::Now() - submission->started));
  submission->reactor->Finish(grpc::Status::OK);
}

void IntakeServiceImpl::Finish(const std::shared_ptr<Submission>& submission,
                               const absl::Status& status) {
  // Release our claim so the caller's retry is not told "still in progress".
  absl::StatusOr<redis::Reply> released =
      deps_.redis->Eval(ReleaseScript(), {submission->key}, {submission->pending_record});
  if (!released.ok()) {
    log::Warn("could not release submission claim; it expires by itself",
              {{"status", released.status().ToString()}});
  }
  unavailable_->Increment();
  latency_->Observe(absl::ToDoubleSeconds(absl::Now() - submission->started));
  submission->reactor->Finish(rpc::ToGrpcStatus(status));
}

}  // namespace hub::intake
