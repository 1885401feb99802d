#include "services/intake/intake.h"

#include <atomic>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/util/time_util.h"
#include "nlohmann/json.hpp"

#include "services/common/events/cloudevents.h"
#include "services/common/log/log.h"
#include "services/common/rpc/error_details.h"
#include "services/common/seal/pii.h"
#include "services/common/status/status_macros.h"
#include "services/intake/cases.h"
#include "services/intake/validation.h"

namespace hub::intake {
namespace {

using google::protobuf::util::TimeUtil;
using hub::events::v1::CrimeReported;
using hub::events::v1::CrimeUpdated;
using hub::intake::v1::CaseReceipt;
using hub::intake::v1::CrimeReport;

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

google::protobuf::Timestamp ToProto(absl::Time time) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(time));
}

absl::Time FromProto(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixMillis(TimeUtil::TimestampToMilliseconds(timestamp));
}

grpc::Status Unavailable(absl::string_view what) {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      absl::StrCat(what, "; outcome unknown: retry with the same id"));
}

// At most this many violations are returned: the BadRequest travels in a trailer, and gRPC
// refuses metadata over 8 KiB by default. A report this broken needs fixing at its source
// anyway; the last violation says how many more there were.
constexpr size_t kMaxViolationsReturned = 25;

grpc::Status Invalid(std::vector<FieldViolation> violations) {
  if (violations.size() > kMaxViolationsReturned) {
    const size_t more = violations.size() - (kMaxViolationsReturned - 1);
    violations.resize(kMaxViolationsReturned - 1);
    violations.push_back(
        {"request", absl::StrCat("and ", more, " more violations not listed; fix these first")});
  }
  return rpc::InvalidArgument(std::string(ViolationsToStatus(violations).message()), violations);
}

// The crime's details without its victims: what the crime index keeps.
CrimeReport Details(const CrimeReport& report) {
  CrimeReport details = report;
  details.clear_victims();
  return details;
}

std::optional<std::string> PseudonymOf(const seal::Pseudonymizer& pseudonyms,
                                       const hub::intake::v1::Victim& victim) {
  if (!victim.has_name() || !victim.has_date_of_birth()) {
    return std::nullopt;
  }
  return pseudonyms.VictimId(victim.name(), victim.date_of_birth());
}

}  // namespace

struct Intake::Claim {
  std::string key;
  std::string digest;
  std::string pending_record;
};

struct Intake::Counters {
  metrics::Counter* accepted;
  metrics::Counter* duplicates;
  metrics::Counter* rejected;
  metrics::Counter* unavailable;
  metrics::Counter* merged;
  metrics::Counter* unknown_offence;
  metrics::Counter* not_matched;
  metrics::Counter* erasures;
};

// Everything one call publishes.
struct Intake::Publication {
  Claim claim;
  std::string traceparent;
  absl::Time received_at;
  // New cases, with the victim's personal data in clear until sealed.
  std::vector<CrimeReported> cases;
  std::vector<std::string> case_key_ids;
  // Updates to existing cases; for a victim change, personal data in clear until sealed.
  std::vector<CrimeUpdated> updates;
  std::vector<std::string> update_key_ids;
  // Filled while sealing and publishing.
  std::vector<std::string> case_event_ids;
  std::vector<std::string> update_event_ids;
  std::map<std::string, seal::DataKey> keys;
  std::atomic<int> outstanding{0};
  absl::Mutex mu;
  absl::Status first_error ABSL_GUARDED_BY(mu);

  void Fail(const absl::Status& status) {
    absl::MutexLock lock(&mu);
    if (first_error.ok()) {
      first_error = status;
    }
  }
  absl::Status Error() {
    absl::MutexLock lock(&mu);
    return first_error;
  }
};

Intake::Intake(IntakeDeps deps)
    : deps_(std::move(deps)),
      store_(deps_.redis, deps_.ns),
      index_(deps_.redis, deps_.ns),
      counters_(std::make_unique<Counters>()) {
  metrics::Registry& registry = *deps_.metrics;
  const std::string name = "hub_intake_requests_total";
  const std::string help = "Intake calls (reports, updates, self-referrals) by outcome.";
  counters_->accepted = registry.AddCounter(name, help, {{"outcome", "accepted"}});
  counters_->duplicates = registry.AddCounter(name, help, {{"outcome", "duplicate"}});
  counters_->rejected = registry.AddCounter(name, help, {{"outcome", "rejected"}});
  counters_->unavailable = registry.AddCounter(name, help, {{"outcome", "unavailable"}});
  counters_->merged = registry.AddCounter(
      "hub_intake_cases_merged_total",
      "Victims reported again by another feed, answered with the existing case.", {});
  counters_->unknown_offence = registry.AddCounter(
      "hub_intake_unknown_offence_codes_total",
      "Cases accepted with a well-formed offence code the offence table does not know.", {});
  counters_->not_matched = registry.AddCounter(
      "hub_intake_victims_not_matched_total",
      "Victims without name and date of birth, so not matched for repeat victimisation.", {});
  counters_->erasures =
      registry.AddCounter("hub_intake_erasures_total", "Victim data keys destroyed.", {});
}

Intake::~Intake() = default;

std::string Intake::SubmissionKey(absl::string_view kind, absl::string_view principal,
                                  absl::string_view source_system,
                                  absl::string_view source_event_id) const {
  std::string digest = events::Sha256Hex(
      absl::StrCat(kind, "\n", principal, "\n", source_system, "\n", source_event_id));
  return absl::StrCat(deps_.ns, ":intake:submission:{", digest.substr(0, 32), "}");
}

std::string Intake::CaseKeyRecord(absl::string_view case_id) const {
  return absl::StrCat(deps_.ns, ":intake:case:{", case_id, "}");
}

std::string Intake::KeyCasesKey(absl::string_view key_id) const {
  return absl::StrCat(deps_.ns, ":intake:key-cases:{", key_id, "}");
}

void Intake::Hand(std::function<void()> work) {
  if (deps_.workers == nullptr) {
    work();
    return;
  }
  deps_.workers->Schedule(std::move(work));
}

absl::StatusOr<Intake::ClaimResult> Intake::ClaimSubmission(const Claim& claim,
                                                            std::string* stored) {
  absl::StatusOr<redis::Reply> reply = deps_.redis->Eval(
      ClaimScript(), {claim.key},
      {claim.pending_record, absl::StrCat(absl::ToInt64Milliseconds(kPendingClaimTtl))});
  if (!reply.ok() || reply->type == redis::Reply::Type::kError) {
    return absl::UnavailableError("the hub's state store is unavailable");
  }
  if (reply->is_nil()) {
    return ClaimResult::kClaimed;
  }
  nlohmann::json existing = nlohmann::json::parse(reply->str, nullptr, false);
  if (existing.is_discarded() || existing.value("digest", "") != claim.digest) {
    return absl::AlreadyExistsError(
        "source_event_id: already used by this caller and source_system for a different "
        "request; send changes as an update with a new source_event_id");
  }
  if (existing.value("state", "") != "done") {
    return absl::UnavailableError("the same request is still being processed");
  }
  std::string decoded;
  if (!absl::Base64Unescape(existing.value("response", ""), &decoded)) {
    return absl::DataLossError("stored result is unreadable");
  }
  *stored = std::move(decoded);
  return ClaimResult::kDone;
}

absl::Status Intake::CompleteSubmission(const Claim& claim, const std::string& response) {
  std::string done =
      nlohmann::json{
          {"state", "done"}, {"digest", claim.digest}, {"response", absl::Base64Escape(response)}}
          .dump();
  absl::StatusOr<redis::Reply> saved = deps_.redis->Command(
      {"SET", claim.key, done, "PX", absl::StrCat(absl::ToInt64Milliseconds(deps_.dedupe_window))});
  if (!saved.ok() || saved->type == redis::Reply::Type::kError) {
    return absl::UnavailableError("the hub's state store did not confirm the result");
  }
  return absl::OkStatus();
}

void Intake::ReleaseSubmission(const Claim& claim) {
  absl::StatusOr<redis::Reply> released =
      deps_.redis->Eval(ReleaseScript(), {claim.key}, {claim.pending_record});
  if (!released.ok()) {
    log::Warn("could not release submission claim; it expires by itself",
              {{"status", released.status().ToString()}});
  }
}

void Intake::SealAndPublish(const std::shared_ptr<Publication>& publication,
                            std::function<void(const absl::Status&)> finish) {
  std::set<std::string> key_ids;
  for (const std::string& id : publication->case_key_ids) {
    key_ids.insert(id);
  }
  for (const std::string& id : publication->update_key_ids) {
    if (!id.empty()) {
      key_ids.insert(id);
    }
  }
  if (key_ids.empty()) {
    PublishAll(publication, std::move(finish));
    return;
  }
  auto remaining = std::make_shared<std::atomic<int>>(static_cast<int>(key_ids.size()));
  auto shared_finish =
      std::make_shared<std::function<void(const absl::Status&)>>(std::move(finish));
  for (const std::string& key_id : key_ids) {
    deps_.keys->GetOrCreateAsync(key_id, [this, publication, remaining, shared_finish,
                                          key_id](absl::StatusOr<seal::DataKey> key) {
      if (key.ok()) {
        absl::MutexLock lock(&publication->mu);
        publication->keys[key_id] = *std::move(key);
      } else {
        publication->Fail(key.status());
      }
      if (remaining->fetch_sub(1) != 1) {
        return;
      }
      // Sealing and what follows leave the thread that delivered the key.
      Hand([this, publication, shared_finish] {
        if (absl::Status error = publication->Error(); !error.ok()) {
          (*shared_finish)(error);
          return;
        }
        PublishAll(publication, std::move(*shared_finish));
      });
    });
  }
}

void Intake::PublishAll(const std::shared_ptr<Publication>& publication,
                        std::function<void(const absl::Status&)> finish) {
  // Seal, then check nothing personal is left in clear before anything leaves.
  for (size_t i = 0; i < publication->cases.size(); ++i) {
    CrimeReported& event = publication->cases[i];
    const seal::DataKey& key = publication->keys.at(publication->case_key_ids[i]);
    DeriveAgeAtOffence(event.mutable_report()->mutable_victims(0),
                       FromProto(event.report().reported_at()));
    absl::StatusOr<std::optional<hub::seal::v1::SealedData>> sealed =
        seal::SealPii(key, event.mutable_report()->mutable_victims(0), event.case_id());
    if (!sealed.ok()) {
      finish(sealed.status());
      return;
    }
    if (sealed->has_value()) {
      *event.mutable_personal_data() = **sealed;
    }
    if (seal::ContainsPii(event)) {
      finish(absl::InternalError("personal data left in clear after sealing"));
      return;
    }
  }
  for (size_t i = 0; i < publication->updates.size(); ++i) {
    CrimeUpdated& event = publication->updates[i];
    if (!publication->update_key_ids[i].empty() && event.update().has_victim()) {
      const seal::DataKey& key = publication->keys.at(publication->update_key_ids[i]);
      DeriveAgeAtOffence(event.mutable_update()->mutable_victim(),
                         FromProto(event.update().updated_at()));
      absl::StatusOr<std::optional<hub::seal::v1::SealedData>> sealed =
          seal::SealPii(key, event.mutable_update()->mutable_victim(), event.case_id());
      if (!sealed.ok()) {
        finish(sealed.status());
        return;
      }
      if (sealed->has_value()) {
        *event.mutable_personal_data() = **sealed;
      }
    }
    if (seal::ContainsPii(event)) {
      finish(absl::InternalError("personal data left in clear after sealing"));
      return;
    }
  }

  const int total = static_cast<int>(publication->cases.size() + publication->updates.size());
  if (total == 0) {
    finish(absl::OkStatus());
    return;
  }
  publication->outstanding = total;
  auto shared_finish =
      std::make_shared<std::function<void(const absl::Status&)>>(std::move(finish));
  auto on_delivery = [this, publication, shared_finish](const absl::Status& delivered) {
    if (!delivered.ok()) {
      publication->Fail(delivered);
    }
    if (publication->outstanding.fetch_sub(1) == 1) {
      // Redis writes and the reply leave Kafka's delivery thread.
      Hand([publication, shared_finish] { (*shared_finish)(publication->Error()); });
    }
  };
  auto header_for = [&](absl::string_view step, absl::string_view type) {
    events::CloudEvent header;
    header.id = events::DeriveEventId(publication->claim.key, step);
    header.source = "/hub/intake";
    header.type = std::string(type);
    header.time = publication->received_at;
    header.traceparent = publication->traceparent;
    return header;
  };
  for (const CrimeReported& event : publication->cases) {
    events::CloudEvent header =
        header_for(absl::StrCat("crime_reported/", event.case_id()), events::kCrimeReportedType);
    publication->case_event_ids.push_back(header.id);
    deps_.producer->Produce(
        events::MakeRecord(deps_.topics.crime_reported, event.case_id(), event, header),
        on_delivery);
  }
  for (const CrimeUpdated& event : publication->updates) {
    events::CloudEvent header =
        header_for(absl::StrCat("crime_updated/", event.case_id()), events::kCrimeUpdatedType);
    publication->update_event_ids.push_back(header.id);
    deps_.producer->Produce(
        events::MakeRecord(deps_.topics.crime_updated, event.case_id(), event, header),
        on_delivery);
  }
}

absl::Status Intake::RecordCases(const Publication& publication,
                                 std::vector<std::vector<std::string>> also) {
  std::vector<casestate::CaseStep> steps;
  for (size_t i = 0; i < publication.cases.size(); ++i) {
    const CrimeReported& event = publication.cases[i];
    casestate::CaseStep step;
    step.case_id = event.case_id();
    step.stage = hub::cases::v1::STAGE_RECEIVED;
    step.service = "intake";
    step.event_id = publication.case_event_ids[i];
    step.recorded_at = publication.received_at;
    step.detail = event.origin() == hub::events::v1::ORIGIN_SELF_REFERRAL
                      ? "self-referral received"
                      : absl::StrCat("crime report received from ", event.submitted_by());
    step.attributes = {{"force_code", event.report().force_code()},
                       {"offence_class_code", event.report().offence_class_code()},
                       {"reported_at", TimeUtil::ToString(event.report().reported_at())},
                       {"origin", hub::events::v1::Origin_Name(event.origin())}};
    steps.push_back(std::move(step));
  }
  for (size_t i = 0; i < publication.updates.size(); ++i) {
    const CrimeUpdated& event = publication.updates[i];
    casestate::CaseStep step;
    step.case_id = event.case_id();
    // Recorded in the history without moving the case's stage (the store fences stages).
    step.stage = hub::cases::v1::STAGE_RECEIVED;
    step.service = "intake";
    step.event_id = publication.update_event_ids[i];
    step.recorded_at = publication.received_at;
    std::string change;
    switch (event.update().change_case()) {
      case hub::intake::v1::CrimeUpdate::kReclassification:
        change = absl::StrCat("reclassified as ",
                              event.update().reclassification().offence_class_code());
        break;
      case hub::intake::v1::CrimeUpdate::kVictim:
        change = "victim details corrected";
        break;
      case hub::intake::v1::CrimeUpdate::kConsent:
        change = absl::StrCat("consent ", hub::intake::v1::ConsentStatus_Name(
                                              event.update().consent().consent().status()));
        break;
      case hub::intake::v1::CrimeUpdate::kCancellation:
        change = hub::intake::v1::CancellationReason_Name(event.update().cancellation().reason());
        break;
      case hub::intake::v1::CrimeUpdate::kMilestone:
        change = hub::intake::v1::MilestoneType_Name(event.update().milestone().type());
        break;
      case hub::intake::v1::CrimeUpdate::CHANGE_NOT_SET:
        change = "no change";
        break;
    }
    step.detail = absl::StrCat("update received: ", change);
    steps.push_back(std::move(step));
  }
  // Which data key seals each new case, so erasure by case id finds it (no personal data:
  // key ids and pseudonymous ids are keyed hashes).
  for (size_t i = 0; i < publication.cases.size(); ++i) {
    const CrimeReported& event = publication.cases[i];
    also.push_back({"HSET", CaseKeyRecord(event.case_id()), "key_id", publication.case_key_ids[i],
                    "pseudonymous_id", event.pseudonymous_victim_id(), "crime_key",
                    index_.Key(event.report().force_code(), event.report().crime_reference())});
    also.push_back({"SADD", KeyCasesKey(publication.case_key_ids[i]), event.case_id()});
  }
  // One round trip for all of it.
  return store_.RecordSteps(steps, also);
}

template <typename Response>
std::shared_ptr<Intake::Publication> Intake::Begin(const Caller& caller, absl::Time now,
                                                   absl::string_view kind,
                                                   absl::string_view source_system,
                                                   absl::string_view source_event_id,
                                                   const google::protobuf::Message& request,
                                                   Done<Response>& done) {
  auto publication = std::make_shared<Publication>();
  publication->received_at = now;
  publication->traceparent = caller.traceparent;
  Claim& claim = publication->claim;
  claim.key = SubmissionKey(kind, caller.principal, source_system, source_event_id);
  claim.digest = ContentDigest(request);
  claim.pending_record = nlohmann::json{{"state", "pending"}, {"digest", claim.digest}}.dump();
  std::string stored;
  absl::StatusOr<ClaimResult> claimed = ClaimSubmission(claim, &stored);
  if (!claimed.ok()) {
    const bool unavailable = absl::IsUnavailable(claimed.status());
    (unavailable ? counters_->unavailable : counters_->rejected)->Increment();
    done(
        unavailable ? Unavailable(claimed.status().message()) : rpc::ToGrpcStatus(claimed.status()),
        Response());
    return nullptr;
  }
  if (*claimed == ClaimResult::kDone) {
    Response response;
    if (!response.ParseFromString(stored)) {
      done(grpc::Status(grpc::StatusCode::INTERNAL, "stored result is unreadable"), Response());
      return nullptr;
    }
    response.set_duplicate(true);
    counters_->duplicates->Increment();
    done(grpc::Status::OK, std::move(response));
    return nullptr;
  }
  return publication;
}

void Intake::SubmitReport(const Caller& caller, const CrimeReport& report,
                          Done<hub::intake::v1::SubmitCrimeReportResponse> done) {
  using Response = hub::intake::v1::SubmitCrimeReportResponse;
  const absl::Time now = deps_.clock->Now();
  if (std::vector<FieldViolation> violations = ValidateCrimeReport(report, now);
      !violations.empty()) {
    counters_->rejected->Increment();
    log::Info("crime report rejected", {{"caller", caller.principal},
                                        {"reason", "invalid"},
                                        {"violations", static_cast<int>(violations.size())}});
    done(Invalid(violations), Response());
    return;
  }
  if (!caller.force_code.empty() && caller.force_code != report.force_code()) {
    counters_->rejected->Increment();
    done(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                      "report.force_code: this caller may submit only its own force's crimes"),
         Response());
    return;
  }
  std::shared_ptr<Publication> publication = Begin<Response>(
      caller, now, "report", report.source_system(), report.source_event_id(), report, done);
  if (publication == nullptr) {
    return;
  }
  const Claim& claim = publication->claim;

  // Cases, pseudonyms and the crime index.
  std::vector<CrimeReported> cases = SplitIntoCases(report, now, caller.principal);
  std::vector<VictimKey> victims;
  for (const CrimeReported& event : cases) {
    const hub::intake::v1::Victim& victim = event.report().victims(0);
    std::optional<std::string> pseudonym = PseudonymOf(*deps_.pseudonyms, victim);
    victims.push_back({victim.victim_ref(), pseudonym.value_or(""), event.case_id()});
  }
  const bool offence_known =
      deps_.offences->FindHomeOffice(report.offence_class_code()) != nullptr &&
      (report.cjs_offence_code().empty() ||
       deps_.offences->FindCjs(report.cjs_offence_code()) != nullptr);
  absl::StatusOr<std::vector<CaseResolution>> resolved =
      index_.Resolve(report.force_code(), report.crime_reference(), claim.key, victims, now);
  if (!resolved.ok()) {
    ReleaseSubmission(claim);
    counters_->unavailable->Increment();
    done(Unavailable(resolved.status().message()), Response());
    return;
  }
  auto response = std::make_shared<Response>();
  for (size_t i = 0; i < cases.size(); ++i) {
    CaseReceipt& receipt = *response->add_cases();
    receipt.set_victim_ref(victims[i].victim_ref);
    receipt.set_case_id((*resolved)[i].case_id);
    if ((*resolved)[i].kind == CaseResolution::Kind::kMerged) {
      receipt.add_flags(hub::intake::v1::RECEIPT_FLAG_MERGED_WITH_EXISTING_CASE);
      counters_->merged->Increment();
      continue;
    }
    CrimeReported& event = cases[i];
    event.set_case_id((*resolved)[i].case_id);
    if (!offence_known) {
      receipt.add_flags(hub::intake::v1::RECEIPT_FLAG_OFFENCE_CODE_UNKNOWN);
      event.add_flags(hub::intake::v1::RECEIPT_FLAG_OFFENCE_CODE_UNKNOWN);
      counters_->unknown_offence->Increment();
    }
    if (victims[i].pseudonymous_id.empty()) {
      receipt.add_flags(hub::intake::v1::RECEIPT_FLAG_VICTIM_NOT_MATCHED);
      event.add_flags(hub::intake::v1::RECEIPT_FLAG_VICTIM_NOT_MATCHED);
      counters_->not_matched->Increment();
      publication->case_key_ids.push_back(deps_.pseudonyms->KeyIdForCase(event.case_id()));
    } else {
      event.set_pseudonymous_victim_id(victims[i].pseudonymous_id);
      publication->case_key_ids.push_back(
          deps_.pseudonyms->KeyIdForVictim(victims[i].pseudonymous_id));
    }
    publication->cases.push_back(std::move(event));
  }
  if (!offence_known) {
    // The code itself is not personal data; staff need it to extend the table.
    log::Warn("offence code not in the offence table; accepted and flagged",
              {{"offence_class_code", report.offence_class_code()},
               {"cjs_offence_code", report.cjs_offence_code()},
               {"table_version", deps_.offences->version()}});
  }

  // After Kafka acknowledged: the crime index, the cases' live state and the key records
  // in one round trip, then the submission's result.
  std::vector<std::string> index_command =
      index_.CompleteCommand(report.force_code(), report.crime_reference(), claim.key, victims,
                             *resolved, Details(report));
  auto shared_done = std::make_shared<Done<Response>>(std::move(done));
  SealAndPublish(
      publication, [this, publication, response, index_command = std::move(index_command),
                    force_code = report.force_code(), crime_reference = report.crime_reference(),
                    shared_done](const absl::Status& published) {
        absl::Status status = published;
        if (status.ok()) {
          status = RecordCases(*publication, {index_command});
        }
        if (status.ok()) {
          status = CompleteSubmission(publication->claim, response->SerializeAsString());
        }
        if (!status.ok()) {
          log::Warn("crime report not accepted", {{"status", status.ToString()}});
          if (absl::Status released =
                  index_.Release(force_code, crime_reference, publication->claim.key);
              !released.ok()) {
            log::Warn("could not release crime index entries; they expire by themselves",
                      {{"status", released.ToString()}});
          }
          ReleaseSubmission(publication->claim);
          counters_->unavailable->Increment();
          (*shared_done)(
              Unavailable("the report was not confirmed by the event log or state store"),
              Response());
          return;
        }
        counters_->accepted->Increment();
        log::Info("crime report accepted", {{"cases", static_cast<int>(publication->cases.size())},
                                            {"victims", response->cases_size()}});
        (*shared_done)(grpc::Status::OK, *response);
      });
}

void Intake::SelfRefer(const Caller& caller, const hub::intake::v1::SelfReferral& referral,
                       Done<hub::intake::v1::SubmitSelfReferralResponse> done) {
  using Response = hub::intake::v1::SubmitSelfReferralResponse;
  const absl::Time now = deps_.clock->Now();
  if (std::vector<FieldViolation> violations = ValidateSelfReferral(referral, now);
      !violations.empty()) {
    counters_->rejected->Increment();
    done(Invalid(violations), Response());
    return;
  }
  std::shared_ptr<Publication> publication =
      Begin<Response>(caller, now, "self", "self-referral", referral.referral_id(), referral, done);
  if (publication == nullptr) {
    return;
  }
  CrimeReported event = SelfReferralToCase(referral, now, caller.principal);
  auto response = std::make_shared<Response>();
  CaseReceipt& receipt = *response->mutable_receipt();
  receipt.set_victim_ref(event.report().victims(0).victim_ref());
  receipt.set_case_id(event.case_id());
  std::optional<std::string> pseudonym = PseudonymOf(*deps_.pseudonyms, event.report().victims(0));
  if (pseudonym.has_value()) {
    event.set_pseudonymous_victim_id(*pseudonym);
    publication->case_key_ids.push_back(deps_.pseudonyms->KeyIdForVictim(*pseudonym));
  } else {
    receipt.add_flags(hub::intake::v1::RECEIPT_FLAG_VICTIM_NOT_MATCHED);
    event.add_flags(hub::intake::v1::RECEIPT_FLAG_VICTIM_NOT_MATCHED);
    publication->case_key_ids.push_back(deps_.pseudonyms->KeyIdForCase(event.case_id()));
  }
  publication->cases.push_back(std::move(event));
  auto shared_done = std::make_shared<Done<Response>>(std::move(done));
  SealAndPublish(publication,
                 [this, publication, response, shared_done](const absl::Status& published) {
                   absl::Status status = published;
                   if (status.ok()) {
                     status = RecordCases(*publication, {});
                   }
                   if (status.ok()) {
                     status = CompleteSubmission(publication->claim, response->SerializeAsString());
                   }
                   if (!status.ok()) {
                     log::Warn("self-referral not accepted", {{"status", status.ToString()}});
                     ReleaseSubmission(publication->claim);
                     counters_->unavailable->Increment();
                     (*shared_done)(Unavailable("the self-referral was not confirmed"), Response());
                     return;
                   }
                   counters_->accepted->Increment();
                   log::Info("self-referral accepted", {});
                   (*shared_done)(grpc::Status::OK, *response);
                 });
}

void Intake::UpdateReport(const Caller& caller, const hub::intake::v1::CrimeUpdate& update,
                          Done<hub::intake::v1::UpdateCrimeReportResponse> done) {
  using Response = hub::intake::v1::UpdateCrimeReportResponse;
  const absl::Time now = deps_.clock->Now();
  if (std::vector<FieldViolation> violations = ValidateCrimeUpdate(update, now);
      !violations.empty()) {
    counters_->rejected->Increment();
    done(Invalid(violations), Response());
    return;
  }
  if (!caller.force_code.empty() && caller.force_code != update.force_code()) {
    counters_->rejected->Increment();
    done(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                      "update.force_code: this caller may update only its own force's crimes"),
         Response());
    return;
  }
  std::shared_ptr<Publication> publication = Begin<Response>(
      caller, now, "update", update.source_system(), update.source_event_id(), update, done);
  if (publication == nullptr) {
    return;
  }
  const Claim& claim = publication->claim;
  auto refuse = [&](const grpc::Status& status) {
    ReleaseSubmission(claim);
    counters_->rejected->Increment();
    done(status, Response());
  };
  absl::StatusOr<CrimeRecord> crime = index_.Get(update.force_code(), update.crime_reference());
  if (!crime.ok()) {
    ReleaseSubmission(claim);
    counters_->unavailable->Increment();
    done(Unavailable(crime.status().message()), Response());
    return;
  }
  if (!crime->report.has_value()) {
    refuse(grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "update.crime_reference: the hub has no report of this crime from this "
                        "force; submit the crime report first"));
    return;
  }
  std::map<std::string, std::string> case_of(crime->cases.begin(), crime->cases.end());

  // Which cases the update applies to.
  std::vector<std::string> targets;
  std::optional<CrimeReport> new_details;
  switch (update.change_case()) {
    case hub::intake::v1::CrimeUpdate::kReclassification: {
      new_details = *crime->report;
      new_details->set_offence_class_code(update.reclassification().offence_class_code());
      new_details->set_cjs_offence_code(update.reclassification().cjs_offence_code());
      *new_details->mutable_flags() = update.reclassification().flags();
      for (const auto& [ref, case_id] : case_of) {
        targets.push_back(case_id);
      }
      break;
    }
    case hub::intake::v1::CrimeUpdate::kCancellation:
      for (const auto& [ref, case_id] : case_of) {
        targets.push_back(case_id);
      }
      break;
    case hub::intake::v1::CrimeUpdate::kMilestone: {
      const auto& refs = update.milestone().victim_refs();
      if (refs.empty()) {
        for (const auto& [ref, case_id] : case_of) {
          targets.push_back(case_id);
        }
      }
      for (int i = 0; i < refs.size(); ++i) {
        auto found = case_of.find(refs[i]);
        if (found == case_of.end()) {
          refuse(grpc::Status(
              grpc::StatusCode::NOT_FOUND,
              absl::StrCat("update.milestone.victim_refs[", i, "]: no such victim in this crime")));
          return;
        }
        targets.push_back(found->second);
      }
      break;
    }
    case hub::intake::v1::CrimeUpdate::kConsent: {
      auto found = case_of.find(update.consent().victim_ref());
      if (found == case_of.end()) {
        refuse(grpc::Status(grpc::StatusCode::NOT_FOUND,
                            "update.consent.victim_ref: no such victim in this crime"));
        return;
      }
      targets.push_back(found->second);
      break;
    }
    case hub::intake::v1::CrimeUpdate::kVictim: {
      auto found = case_of.find(update.victim().victim_ref());
      if (found == case_of.end()) {
        // A new victim of the crime: a new case, exactly as if reported with the crime.
        CrimeReport report = *crime->report;
        report.set_source_system(update.source_system());
        report.set_source_event_id(update.source_event_id());
        *report.add_victims() = update.victim();
        // The update's own claim stays until the new case is in: a repeat of this update
        // then gets this answer back instead of being read as a correction.
        SubmitReport(
            caller, report,
            [this, publication, done = std::move(done)](
                const grpc::Status& status,
                const hub::intake::v1::SubmitCrimeReportResponse& result) {
              Response response;
              if (!status.ok() || result.cases_size() != 1) {
                ReleaseSubmission(publication->claim);
                done(status.ok() ? Unavailable("the new victim's case was not confirmed") : status,
                     Response());
                return;
              }
              *response.mutable_new_case() = result.cases(0);
              response.add_case_ids(result.cases(0).case_id());
              if (absl::Status saved =
                      CompleteSubmission(publication->claim, response.SerializeAsString());
                  !saved.ok()) {
                ReleaseSubmission(publication->claim);
                done(Unavailable(saved.message()), Response());
                return;
              }
              done(grpc::Status::OK, std::move(response));
            });
        return;
      }
      targets.push_back(found->second);
      break;
    }
    case hub::intake::v1::CrimeUpdate::CHANGE_NOT_SET:
      refuse(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "update: no change given"));
      return;
  }

  auto response = std::make_shared<Response>();
  for (const std::string& case_id : targets) {
    CrimeUpdated event;
    event.set_case_id(case_id);
    *event.mutable_update() = update;
    *event.mutable_received_at() = ToProto(now);
    event.set_submitted_by(caller.principal);
    std::string key_id;
    if (update.has_victim()) {
      std::optional<std::string> pseudonym = PseudonymOf(*deps_.pseudonyms, update.victim());
      if (pseudonym.has_value()) {
        event.set_pseudonymous_victim_id(*pseudonym);
        key_id = deps_.pseudonyms->KeyIdForVictim(*pseudonym);
      } else {
        key_id = deps_.pseudonyms->KeyIdForCase(case_id);
      }
    }
    publication->update_key_ids.push_back(key_id);
    publication->updates.push_back(std::move(event));
    response->add_case_ids(case_id);
  }
  std::vector<std::vector<std::string>> also;
  if (new_details.has_value()) {
    also.push_back(
        index_.SetDetailsCommand(update.force_code(), update.crime_reference(), *new_details));
  }
  auto shared_done = std::make_shared<Done<Response>>(std::move(done));
  SealAndPublish(publication, [this, publication, response, shared_done,
                               also = std::move(also)](const absl::Status& published) {
    absl::Status status = published;
    if (status.ok()) {
      status = RecordCases(*publication, also);
    }
    if (status.ok()) {
      status = CompleteSubmission(publication->claim, response->SerializeAsString());
    }
    if (!status.ok()) {
      log::Warn("crime update not accepted", {{"status", status.ToString()}});
      ReleaseSubmission(publication->claim);
      counters_->unavailable->Increment();
      (*shared_done)(Unavailable("the update was not confirmed"), Response());
      return;
    }
    counters_->accepted->Increment();
    log::Info("crime update accepted", {{"cases", response->case_ids_size()}});
    (*shared_done)(grpc::Status::OK, *response);
  });
}

grpc::Status Intake::Erase(const Caller& caller,
                           const hub::intake::v1::RequestErasureRequest& request,
                           hub::intake::v1::RequestErasureResponse* response) {
  if (std::vector<FieldViolation> violations = ValidateErasureRequest(request);
      !violations.empty()) {
    return Invalid(violations);
  }
  std::string key_id;
  std::string pseudonym;
  if (request.target().has_identity()) {
    std::optional<std::string> id = deps_.pseudonyms->VictimId(
        request.target().identity().name(), request.target().identity().date_of_birth());
    if (!id.has_value()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "target.identity: needs a family name, a given name and a valid date "
                          "of birth");
    }
    pseudonym = *id;
    key_id = deps_.pseudonyms->KeyIdForVictim(pseudonym);
  } else {
    absl::StatusOr<redis::Reply> record = deps_.redis->Command(
        {"HMGET", CaseKeyRecord(request.target().case_id()), "key_id", "pseudonymous_id"});
    if (!record.ok() || record->elements.size() != 2) {
      return Unavailable("the hub's state store is unavailable");
    }
    if (record->elements[0].is_nil()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "target.case_id: the hub holds no sealed data for this case");
    }
    key_id = record->elements[0].str;
    pseudonym = record->elements[1].str;
  }
  absl::StatusOr<std::vector<std::string>> destroyed = deps_.keys->Erase(key_id);
  if (!destroyed.ok()) {
    return Unavailable(absl::StrCat("the key store did not confirm the erasure (",
                                    destroyed.status().message(), ")"));
  }
  // Forget which cases the key sealed and the pseudonym's place in each crime's index.
  absl::StatusOr<redis::Reply> members = deps_.redis->Command({"SMEMBERS", KeyCasesKey(key_id)});
  if (!members.ok()) {
    return Unavailable("the hub's state store is unavailable");
  }
  hub::events::v1::VictimErased erased;
  erased.set_key_id(key_id);
  erased.set_pseudonymous_victim_id(pseudonym);
  *erased.mutable_erased_at() = ToProto(deps_.clock->Now());
  erased.set_request_reference(request.request_reference());
  for (const redis::Reply& member : members->elements) {
    erased.add_case_ids(member.str);
    absl::StatusOr<redis::Reply> crime_key =
        deps_.redis->Command({"HGET", CaseKeyRecord(member.str), "crime_key"});
    if (crime_key.ok() && !crime_key->is_nil() && !pseudonym.empty()) {
      if (absl::Status forgot = index_.ForgetPseudonym(crime_key->str, pseudonym); !forgot.ok()) {
        return Unavailable("the hub's state store is unavailable");
      }
    }
    deps_.redis->Command({"HDEL", CaseKeyRecord(member.str), "pseudonymous_id"}).IgnoreError();
  }
  deps_.redis->Command({"DEL", KeyCasesKey(key_id)}).IgnoreError();

  // Tell every service to drop what it holds under the pseudonym.
  events::CloudEvent header;
  header.id =
      events::DeriveEventId(absl::StrCat("erasure/", key_id),
                            absl::StrCat(destroyed->size(), "/", request.request_reference()));
  header.source = "/hub/intake";
  header.type = events::kVictimErasedType;
  header.time = deps_.clock->Now();
  header.traceparent = caller.traceparent;
  absl::Notification delivered;
  absl::Status delivery;
  deps_.producer->Produce(events::MakeRecord(deps_.topics.victim_erased, key_id, erased, header),
                          [&delivered, &delivery](const absl::Status& status) {
                            delivery = status;
                            delivered.Notify();
                          });
  delivered.WaitForNotification();
  if (!delivery.ok()) {
    return Unavailable("the event log did not confirm the erasure notice");
  }
  counters_->erasures->Increment();
  log::Info("victim erased", {{"caller", caller.principal},
                              {"generations", static_cast<int>(destroyed->size())},
                              {"cases", erased.case_ids_size()}});
  if (!destroyed->empty()) {
    response->add_key_ids(key_id);
  }
  *response->mutable_compacted_by() =
      ToProto(deps_.clock->Now() + absl::Milliseconds(events::kDataKeySegmentMs) +
              absl::Milliseconds(events::kDataKeyMaxCompactionLagMs) + absl::Minutes(1));
  return grpc::Status::OK;
}

}  // namespace hub::intake
