#include "services/triage/triage_api.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"

#include "services/common/casestate/case_store.h"
#include "services/common/events/cloudevents.h"
#include "services/common/events/topics.h"
#include "services/common/identity/identity.h"
#include "services/common/log/log.h"

namespace hub::triage {
namespace {

using hub::triage::v1::RequestReassessmentRequest;

constexpr int kMaxAdditionalNeeds = 13;
// The longest a request waits for Kafka to store its event.
constexpr absl::Duration kPublishTimeout = absl::Seconds(10);

bool IsRequestId(const std::string& id) {
  if (id.empty() || id.size() > 64) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

grpc::Status Authorise(const runtime::ServiceContext& context, const grpc::ServerContext& call,
                       absl::string_view action, std::string* principal) {
  absl::StatusOr<identity::CallerIdentity> caller = context.identity->Identify(call);
  if (!caller.ok()) {
    return rpc::ToGrpcStatus(caller.status());
  }
  absl::Status allowed = identity::RequireKind(*caller, {identity::CallerKind::kStaff}, action);
  if (!allowed.ok()) {
    return rpc::ToGrpcStatus(allowed);
  }
  *principal = caller->principal;
  return grpc::Status::OK;
}

}  // namespace

std::vector<rpc::FieldViolation> ValidateReassessmentRequest(
    const RequestReassessmentRequest& request, const offences::OffenceTable& offences) {
  std::vector<rpc::FieldViolation> violations;
  if (absl::Status id = casestate::ValidateCaseId(request.case_id()); !id.ok()) {
    violations.push_back({"case_id", "must be a hub case id: \"c_\" or \"s_\" and 24 hex digits"});
  }
  if (!IsRequestId(request.request_id())) {
    violations.push_back({"request_id", "required: 1 to 64 letters, digits, '-', '_' or '.'"});
  }
  if (request.reason() == hub::events::v1::REASSESSMENT_REASON_UNSPECIFIED ||
      !hub::events::v1::ReassessmentReason_IsValid(request.reason())) {
    violations.push_back({"reason", "required: one of the ReassessmentReason values"});
  }
  if (!hub::events::v1::Priority_IsValid(request.minimum_priority())) {
    violations.push_back({"minimum_priority", "not a Priority value"});
  }
  if (request.additional_needs_size() > kMaxAdditionalNeeds) {
    violations.push_back({"additional_needs", absl::StrCat("at most ", kMaxAdditionalNeeds)});
  }
  std::set<std::string> seen;
  for (int i = 0; i < request.additional_needs_size(); ++i) {
    const std::string& need = request.additional_needs(i);
    const bool declared =
        std::any_of(offences.need_domains().begin(), offences.need_domains().end(),
                    [&](const auto& domain) { return domain.id == need; });
    const std::string field = absl::StrCat("additional_needs[", i, "]");
    if (!declared) {
      violations.push_back({field, "not a need domain of the offence table (docs/offences.md)"});
    } else if (!seen.insert(need).second) {
      violations.push_back({field, "repeats an earlier need"});
    }
  }
  return violations;
}

TriageApi::TriageApi(runtime::ServiceContext& context, TriageStore* store, RuleBookSource* rules)
    : context_(context), store_(store), rules_(rules) {}

grpc::Status TriageApi::RequestReassessment(
    grpc::ServerContext* context, const RequestReassessmentRequest* request,
    hub::triage::v1::RequestReassessmentResponse* response) {
  std::string principal;
  if (grpc::Status status = Authorise(context_, *context, "request re-assessments", &principal);
      !status.ok()) {
    return status;
  }
  std::vector<rpc::FieldViolation> violations =
      ValidateReassessmentRequest(*request, rules_->Current()->offences);
  if (!violations.empty()) {
    return rpc::InvalidArgument("the re-assessment request is not valid", violations);
  }
  absl::StatusOr<std::optional<hub::triage::v1::CaseRecord>> record =
      store_->Get(request->case_id());
  if (!record.ok()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "triage's case records are unavailable; retry with the same request_id");
  }
  if (!record->has_value() || !(*record)->has_crime()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("triage has not assessed case ", request->case_id()));
  }

  hub::events::v1::ReassessmentRequested event;
  event.set_case_id(request->case_id());
  event.set_requested_by(principal);
  const absl::Time now = context_.clock->Now();
  *event.mutable_requested_at() =
      google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(now));
  event.set_reason(request->reason());
  event.set_minimum_priority(request->minimum_priority());
  event.set_refer_to_marac(request->refer_to_marac());
  *event.mutable_additional_needs() = request->additional_needs();

  events::CloudEvent header;
  header.id =
      events::DeriveEventId(absl::StrCat("staff-request:", principal, "/", request->request_id()),
                            "triage/reassessment_requested");
  header.source = "/hub/triage";
  header.type = events::kReassessmentRequestedType;
  header.time = now;
  header.traceparent = events::NewTrace().ToTraceparent();
  absl::Duration timeout = kPublishTimeout;
  const absl::Time deadline = absl::FromChrono(context->deadline());
  if (deadline < absl::Now() + timeout) {
    timeout = std::max(absl::ZeroDuration(), deadline - absl::Now() - absl::Milliseconds(50));
  }
  absl::Status published = context_.producer->ProduceSync(
      events::MakeRecord(context_.topics.reassessment_requested, request->case_id(), event, header),
      timeout);
  if (!published.ok()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "Kafka did not confirm the request in time; retry with the same "
                        "request_id");
  }
  // Published first, then remembered: a retry after a lost answer republishes the same
  // event id (applied once) and is told it is a duplicate.
  absl::StatusOr<bool> claimed = store_->ClaimRequest(principal, request->request_id(), header.id);
  response->set_event_id(header.id);
  response->set_duplicate(claimed.ok() && !*claimed);
  log::Info("re-assessment requested", {{"case_id", request->case_id()},
                                        {"event_id", header.id},
                                        {"by", principal},
                                        {"duplicate", response->duplicate() ? "true" : "false"}});
  return grpc::Status::OK;
}

grpc::Status TriageApi::GetAssessments(grpc::ServerContext* context,
                                       const hub::triage::v1::GetAssessmentsRequest* request,
                                       hub::triage::v1::GetAssessmentsResponse* response) {
  std::string principal;
  if (grpc::Status status = Authorise(context_, *context, "read assessments", &principal);
      !status.ok()) {
    return status;
  }
  if (!casestate::ValidateCaseId(request->case_id()).ok()) {
    return rpc::InvalidArgument(
        "the request is not valid",
        {{"case_id", "must be a hub case id: \"c_\" or \"s_\" and 24 hex digits"}});
  }
  absl::StatusOr<std::optional<hub::triage::v1::CaseRecord>> record =
      store_->Get(request->case_id());
  if (!record.ok()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "triage's case records are unavailable");
  }
  if (!record->has_value() || (*record)->assessments().empty()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("triage has not assessed case ", request->case_id()));
  }
  *response->mutable_assessments() = (*record)->assessments();
  return grpc::Status::OK;
}

}  // namespace hub::triage
