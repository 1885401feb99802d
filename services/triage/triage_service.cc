#include "services/triage/triage_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"

#include "hub/events/v1/events.pb.h"
#include "services/common/events/topics.h"
#include "services/common/log/log.h"
#include "services/common/status/status_macros.h"
#include "services/triage/case_record.h"

namespace hub::triage {
namespace {

using hub::events::v1::AssessmentTrigger;
using hub::events::v1::NeedsAssessed;
using hub::triage::v1::CaseRecord;

constexpr stage::StageSpec kStage{"triage", "triage/needs_assessed", events::kNeedsAssessedType,
                                  hub::cases::v1::STAGE_ASSESSED};

// Compare-and-set attempts before giving up (the consumer retries the record later).
constexpr int kUpdateAttempts = 8;

absl::Time FromProto(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

std::string TimeAttribute(const google::protobuf::Timestamp& timestamp) {
  return timestamp.seconds() == 0 && timestamp.nanos() == 0
             ? std::string()
             : google::protobuf::util::TimeUtil::ToString(timestamp);
}

// The assessment as case attributes (the live view staff filter and sort on) and a one-line
// PII-free detail.
void Describe(const NeedsAssessed& assessment, casestate::CaseStep* step) {
  const std::string priority = hub::events::v1::Priority_Name(assessment.priority());
  const std::string decision =
      hub::events::v1::ReferralDecision_Name(assessment.referral_decision());
  std::vector<std::string> categories;
  for (int category : assessment.enhanced_categories()) {
    categories.push_back(hub::events::v1::EnhancedCategory_Name(
        static_cast<hub::events::v1::EnhancedCategory>(category)));
  }
  std::string next_update;
  for (const auto& deadline : assessment.case_update_deadlines()) {
    std::string due = TimeAttribute(deadline.due());
    if (next_update.empty() || due > next_update) {
      next_update = due;
    }
  }
  step->detail = absl::StrCat(
      assessment.sequence() == 1 ? "assessed: " : "re-assessed (",
      assessment.sequence() == 1
          ? ""
          : absl::StrCat(hub::events::v1::AssessmentTrigger_Name(assessment.trigger()), "): "),
      priority, assessment.enhanced() ? ", enhanced" : "",
      assessment.marac_referral() ? ", MARAC" : "", "; ", decision,
      assessment.has_referral_due()
          ? absl::StrCat("; referral due ", TimeAttribute(assessment.referral_due()))
          : "",
      assessment.has_consent_contact_due()
          ? absl::StrCat("; consent contact due ", TimeAttribute(assessment.consent_contact_due()))
          : "");
  step->attributes = {
      {"priority", priority},
      {"enhanced", assessment.enhanced() ? "true" : "false"},
      {"enhanced_categories", absl::StrJoin(categories, ",")},
      {"crime_category", assessment.crime_category()},
      {"consent_required", assessment.consent_required() ? "true" : "false"},
      {"consent_status", hub::intake::v1::ConsentStatus_Name(assessment.consent_status())},
      {"referral_decision", decision},
      {"marac", assessment.marac_referral() ? "true" : "false"},
      {"idva", assessment.idva_referral() ? "true" : "false"},
      {"needs", absl::StrJoin(assessment.needs(), ",")},
      {"referral_due", TimeAttribute(assessment.referral_due())},
      {"consent_contact_due", TimeAttribute(assessment.consent_contact_due())},
      {"first_contact_due", TimeAttribute(assessment.first_contact_due())},
      {"case_update_due", next_update},
      {"assessment_sequence", absl::StrCat(assessment.sequence())},
      {"rules_version", assessment.rules_version()}};
  step->overwrite_attributes = assessment.sequence() > 1;
}

// True for an erasure tombstone: the input is dropped (logged without personal data).
bool Erased(const CaseRecord& record, const std::string& case_id, const std::string& event_id) {
  if (!record.erased()) {
    return false;
  }
  log::Info("input for an erased case dropped", {{"case_id", case_id}, {"event_id", event_id}});
  return true;
}

}  // namespace

TriageService::TriageService(runtime::ServiceContext& context,
                             std::unique_ptr<RuleBookSource> rules, absl::Duration check_interval)
    : context_(context),
      rules_(std::move(rules)),
      store_(context.redis, context.config.ns),
      cases_(context.redis, context.config.ns),
      recorder_(context.producer, &cases_),
      api_(context, &store_, rules_.get()),
      reloads_ok_(context.metrics->AddCounter("hub_triage_rules_reloads_total",
                                              "Rule file reloads by outcome.", {{"result", "ok"}})),
      reloads_refused_(context.metrics->AddCounter("hub_triage_rules_reloads_total",
                                                   "Rule file reloads by outcome.",
                                                   {{"result", "refused"}})),
      held_updates_(context.metrics->AddCounter(
          "hub_triage_updates_held_total",
          "Updates that arrived before their case's report and were held until it came.")) {
  const google::protobuf::EnumDescriptor* triggers =
      hub::events::v1::AssessmentTrigger_descriptor();
  assessments_by_trigger_.resize(static_cast<size_t>(triggers->value_count()), nullptr);
  for (int i = 0; i < triggers->value_count(); ++i) {
    const int number = triggers->value(i)->number();
    if (number > 0 && static_cast<size_t>(number) < assessments_by_trigger_.size()) {
      assessments_by_trigger_[static_cast<size_t>(number)] = context.metrics->AddCounter(
          "hub_triage_assessments_total", "Assessments published, by what caused them.",
          {{"trigger", triggers->value(i)->name()}});
    }
  }
  if (check_interval > absl::ZeroDuration()) {
    watcher_ = std::thread([this, check_interval] {
      while (!stop_watching_.WaitForNotificationWithTimeout(check_interval)) {
        ReloadIfChanged();
      }
    });
  }
}

TriageService::~TriageService() {
  stop_watching_.Notify();
  if (watcher_.joinable()) {
    watcher_.join();
  }
}

std::vector<grpc::Service*> TriageService::GrpcServices() { return {&api_}; }

std::vector<std::string> TriageService::ConsumedTopics() {
  return {context_.topics.crime_reported, context_.topics.crime_updated,
          context_.topics.reassessment_requested, context_.topics.victim_erased};
}

absl::Status TriageService::Handle(const kafka::ConsumedRecord& record) {
  if (record.topic == context_.topics.crime_reported) {
    return HandleReport(record);
  }
  if (record.topic == context_.topics.crime_updated) {
    return HandleUpdate(record);
  }
  if (record.topic == context_.topics.reassessment_requested) {
    return HandleRequest(record);
  }
  if (record.topic == context_.topics.victim_erased) {
    return HandleErasure(record);
  }
  return absl::InvalidArgumentError(absl::StrCat("triage does not consume ", record.topic));
}

void TriageService::OnReloadSignal() { (void)Reload("SIGHUP"); }

void TriageService::ReloadIfChanged() {
  if (rules_->Changed()) {
    (void)Reload("a rule file changed");
  }
}

absl::Status TriageService::Reload(absl::string_view why) {
  absl::StatusOr<std::string> version = rules_->Reload();
  if (!version.ok()) {
    reloads_refused_->Increment();
    log::Error("rule files refused; the rules in force stay in force",
               {{"why", why},
                {"in_force", rules_->Current()->version},
                {"error", version.status().ToString()}});
    return version.status();
  }
  reloads_ok_->Increment();
  log::Info("rules reloaded", {{"why", why}, {"version", *version}});
  return absl::OkStatus();
}

absl::Status TriageService::Publish(const Outcome& outcome) {
  const NeedsAssessed& assessment = *outcome.assessment;
  stage::StageOutput output =
      stage::BeginStep(kStage, outcome.trigger, assessment.case_id(), context_.clock->Now());
  Describe(assessment, &output.step);
  HUB_RETURN_IF_ERROR(recorder_.PublishThenRecord(
      events::MakeRecord(context_.topics.needs_assessed, assessment.case_id(), assessment,
                         output.event),
      output.step));
  const size_t trigger = static_cast<size_t>(assessment.trigger());
  if (trigger < assessments_by_trigger_.size() && assessments_by_trigger_[trigger] != nullptr) {
    assessments_by_trigger_[trigger]->Increment();
  }
  return absl::OkStatus();
}

absl::Status TriageService::Reassess(const RuleBook& book, CaseRecord* record,
                                     AssessmentTrigger trigger, const events::CloudEvent& input,
                                     std::vector<Outcome>* outcomes) {
  const hub::events::v1::CrimeReported& crime = record->crime();
  std::vector<PriorReport> history;
  const int window_days = book.rules.history_window_days();
  if (!crime.pseudonymous_victim_id().empty() && window_days > 0) {
    const absl::Time reported = FromProto(crime.report().reported_at());
    HUB_ASSIGN_OR_RETURN(history, store_.History(crime.pseudonymous_victim_id(),
                                                 reported - absl::Hours(24) * window_days));
  }
  Outcome outcome{std::make_unique<google::protobuf::Arena>(), nullptr, input};
  outcome.assessment = google::protobuf::Arena::CreateMessage<NeedsAssessed>(outcome.arena.get());
  Assess(book, NextInput(*record, context_.clock->Now(), trigger, input.id, std::move(history)),
         outcome.assessment);
  RecordAssessment(record, *outcome.assessment);
  MarkApplied(record, input.id);
  outcomes->push_back(std::move(outcome));
  return absl::OkStatus();
}

absl::Status TriageService::Update(
    const std::string& case_id,
    const std::function<absl::StatusOr<bool>(CaseRecord*, std::vector<Outcome>*)>& change) {
  for (int attempt = 0; attempt < kUpdateAttempts; ++attempt) {
    HUB_ASSIGN_OR_RETURN(std::optional<CaseRecord> stored, store_.Get(case_id));
    CaseRecord record = stored.value_or(CaseRecord());
    std::vector<Outcome> outcomes;
    HUB_ASSIGN_OR_RETURN(bool changed, change(&record, &outcomes));
    if (!changed) {
      return absl::OkStatus();
    }
    for (const Outcome& outcome : outcomes) {
      HUB_RETURN_IF_ERROR(Publish(outcome));
    }
    // The victim's history learns this case (or its new category after a reclassification).
    const hub::events::v1::CrimeReported& crime = record.crime();
    const int window_days = rules_->Current()->rules.history_window_days();
    if (!outcomes.empty() && !crime.pseudonymous_victim_id().empty() && window_days > 0) {
      HUB_RETURN_IF_ERROR(
          store_.RecordReport(crime.pseudonymous_victim_id(),
                              PriorReport{case_id, FromProto(crime.report().reported_at()),
                                          outcomes.back().assessment->crime_category()},
                              context_.clock->Now(), absl::Hours(24) * window_days));
    }
    HUB_ASSIGN_OR_RETURN(bool written, store_.Put(case_id, record));
    if (written) {
      return absl::OkStatus();
    }
    log::Debug("triage record changed under us; redoing", {{"case_id", case_id}});
  }
  return absl::UnavailableError(
      absl::StrCat("triage record of case ", case_id, " kept changing; will retry"));
}

absl::Status TriageService::HandleReport(const kafka::ConsumedRecord& record) {
  hub::events::v1::CrimeReported crime;
  HUB_ASSIGN_OR_RETURN(events::CloudEvent input,
                       stage::ParseStageInput(record, events::kCrimeReportedType, &crime));
  std::shared_ptr<const RuleBook> book = rules_->Current();
  auto change = [&](CaseRecord* stored, std::vector<Outcome>* outcomes) -> absl::StatusOr<bool> {
    if (IsApplied(*stored, input.id) || Erased(*stored, crime.case_id(), input.id)) {
      return false;
    }
    if (stored->has_crime()) {
      // The case already has its report (intake publishes one per case); this is a replay
      // under another id. Nothing changes.
      log::Warn("second report for a case ignored",
                {{"case_id", crime.case_id()}, {"event_id", input.id}});
      MarkApplied(stored, input.id);
      return true;
    }
    *stored->mutable_crime() = crime;
    stored->set_report_event_id(input.id);
    HUB_RETURN_IF_ERROR(
        Reassess(*book, stored, hub::events::v1::ASSESSMENT_TRIGGER_INITIAL, input, outcomes));
    // Updates that came first, in the order they arrived, each its own re-assessment.
    std::vector<hub::triage::v1::PendingUpdate> pending(stored->pending().begin(),
                                                        stored->pending().end());
    stored->clear_pending();
    for (const auto& held : pending) {
      AssessmentTrigger trigger = ApplyUpdate(stored, held.update(), held.event_id());
      events::CloudEvent held_input;
      held_input.id = held.event_id();
      held_input.traceparent = held.traceparent();
      HUB_RETURN_IF_ERROR(Reassess(*book, stored, trigger, held_input, outcomes));
    }
    return true;
  };
  return Update(crime.case_id(), change);
}

absl::Status TriageService::HandleUpdate(const kafka::ConsumedRecord& record) {
  hub::events::v1::CrimeUpdated update;
  HUB_ASSIGN_OR_RETURN(events::CloudEvent input,
                       events::ParseRecord(record, events::kCrimeUpdatedType, &update));
  HUB_RETURN_IF_ERROR(casestate::ValidateCaseId(update.case_id()));
  if (update.update().change_case() == hub::intake::v1::CrimeUpdate::CHANGE_NOT_SET) {
    return absl::InvalidArgumentError("crime update carries no change");
  }
  std::shared_ptr<const RuleBook> book = rules_->Current();
  bool held = false;
  auto change = [&](CaseRecord* stored, std::vector<Outcome>* outcomes) -> absl::StatusOr<bool> {
    held = false;
    if (IsApplied(*stored, input.id) || Erased(*stored, update.case_id(), input.id)) {
      return false;
    }
    if (!stored->has_crime()) {
      for (const auto& pending : stored->pending()) {
        if (pending.event_id() == input.id) {
          return false;
        }
      }
      auto* pending = stored->add_pending();
      *pending->mutable_update() = update;
      pending->set_event_id(input.id);
      pending->set_traceparent(input.traceparent);
      held = true;
      return true;
    }
    AssessmentTrigger trigger = ApplyUpdate(stored, update, input.id);
    HUB_RETURN_IF_ERROR(Reassess(*book, stored, trigger, input, outcomes));
    return true;
  };
  HUB_RETURN_IF_ERROR(Update(update.case_id(), change));
  if (held) {
    held_updates_->Increment();
    log::Info("update held until its case's report arrives",
              {{"case_id", update.case_id()}, {"event_id", input.id}});
  }
  return absl::OkStatus();
}

absl::Status TriageService::HandleRequest(const kafka::ConsumedRecord& record) {
  hub::events::v1::ReassessmentRequested request;
  HUB_ASSIGN_OR_RETURN(events::CloudEvent input,
                       events::ParseRecord(record, events::kReassessmentRequestedType, &request));
  HUB_RETURN_IF_ERROR(casestate::ValidateCaseId(request.case_id()));
  std::shared_ptr<const RuleBook> book = rules_->Current();
  auto change = [&](CaseRecord* stored, std::vector<Outcome>* outcomes) -> absl::StatusOr<bool> {
    if (IsApplied(*stored, input.id) || Erased(*stored, request.case_id(), input.id)) {
      return false;
    }
    if (!stored->has_crime()) {
      // TriageApi accepts requests only for assessed cases.
      log::Warn("re-assessment request for a case triage does not hold",
                {{"case_id", request.case_id()}, {"event_id", input.id}});
      return false;
    }
    *stored->add_requests() = request;
    HUB_RETURN_IF_ERROR(Reassess(
        *book, stored, hub::events::v1::ASSESSMENT_TRIGGER_REASSESSMENT_REQUEST, input, outcomes));
    return true;
  };
  return Update(request.case_id(), change);
}

absl::Status TriageService::HandleErasure(const kafka::ConsumedRecord& record) {
  hub::events::v1::VictimErased erased;
  HUB_ASSIGN_OR_RETURN(events::CloudEvent input,
                       events::ParseRecord(record, events::kVictimErasedType, &erased));
  for (const std::string& case_id : erased.case_ids()) {
    HUB_RETURN_IF_ERROR(casestate::ValidateCaseId(case_id));
  }
  if (!erased.pseudonymous_victim_id().empty()) {
    HUB_RETURN_IF_ERROR(store_.EraseVictim(erased.pseudonymous_victim_id()));
  }
  for (const std::string& case_id : erased.case_ids()) {
    HUB_RETURN_IF_ERROR(store_.EraseCase(case_id));
  }
  log::Info("victim erased: report history and case records dropped",
            {{"event_id", input.id}, {"cases", static_cast<int64_t>(erased.case_ids_size())}});
  return absl::OkStatus();
}

}  // namespace hub::triage
