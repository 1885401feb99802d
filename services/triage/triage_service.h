// The triage stage: assesses every new case and re-assesses it whenever something that
// matters changes.
//
// Consumes:
//   crime-reported          a new case: its first assessment (sequence 1)
//   crime-updated           reclassification, corrected victim, consent, cancellation,
//                           milestone: a re-assessment (sequence n + 1)
//   reassessment-requested  Hub staff raised the case (TriageApi): a re-assessment
//   victim-erased           forget the victim's report history and triage's case records
// Publishes NeedsAssessed (one per assessment) and records each as a case step with the
// assessment's attributes (priority, deadlines, decision) replacing the previous ones.
//
// Exactly once in effect: per case, triage keeps a record in Redis (TriageStore) with the
// ids of the input events already applied. For each input it reads the record, assesses,
// publishes (Kafka first, acks=all), records the case step, then writes the record back
// with compare-and-set; a crash anywhere before that write redelivers the input, which
// derives the same output event id (consumers drop the repeat), and a redelivery after it
// changes nothing. An update that arrives before its case's report (the two topics are not
// ordered against each other) is held in the record and applied when the report arrives.
//
// The rules come from a RuleBookSource: every input is assessed with the book in force when
// it is handled; Reload() swaps in a new book, or keeps the old one and says why.
// Thread-safe.
#ifndef HUB_SERVICES_TRIAGE_TRIAGE_SERVICE_H_
#define HUB_SERVICES_TRIAGE_TRIAGE_SERVICE_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "google/protobuf/arena.h"

#include "services/common/casestate/case_store.h"
#include "services/common/metrics/metrics.h"
#include "services/common/runtime/service_runtime.h"
#include "services/common/stage/stage.h"
#include "services/triage/rules.h"
#include "services/triage/triage_api.h"
#include "services/triage/triage_store.h"

namespace hub::triage {

class TriageService : public runtime::Service {
 public:
  // Checks the rule files for changes every `check_interval` (zero: only on SIGHUP).
  TriageService(runtime::ServiceContext& context, std::unique_ptr<RuleBookSource> rules,
                absl::Duration check_interval);
  ~TriageService() override;

  std::vector<grpc::Service*> GrpcServices() override;
  std::vector<std::string> ConsumedTopics() override;
  absl::Status Handle(const kafka::ConsumedRecord& record) override;
  // SIGHUP: reload the rule files now.
  void OnReloadSignal() override;

  // Reloads the rule files if any changed since the last attempt (called by the watcher).
  void ReloadIfChanged();
  // Reloads now; logs and counts the outcome. The error names the file, rule and problem.
  absl::Status Reload(absl::string_view why);

  RuleBookSource& rules() { return *rules_; }

 private:
  // One assessment to publish and record.
  // The assessment lives on its own arena: allocation is most of an assessment's cost.
  struct Outcome {
    std::unique_ptr<google::protobuf::Arena> arena;
    hub::events::v1::NeedsAssessed* assessment = nullptr;
    events::CloudEvent trigger;
  };

  absl::Status HandleReport(const kafka::ConsumedRecord& record);
  absl::Status HandleUpdate(const kafka::ConsumedRecord& record);
  absl::Status HandleRequest(const kafka::ConsumedRecord& record);
  absl::Status HandleErasure(const kafka::ConsumedRecord& record);

  // Reads the case's record, lets `change` modify it and list the assessments to publish,
  // publishes and records them, and writes the record back; retries from the read when
  // another writer got there first. `change` returns false when there is nothing to do.
  absl::Status Update(const std::string& case_id,
                      const std::function<absl::StatusOr<bool>(hub::triage::v1::CaseRecord*,
                                                               std::vector<Outcome>*)>& change);
  // Assesses the record's case after an input and appends the result.
  absl::Status Reassess(const RuleBook& book, hub::triage::v1::CaseRecord* record,
                        hub::events::v1::AssessmentTrigger trigger, const events::CloudEvent& input,
                        std::vector<Outcome>* outcomes);
  absl::Status Publish(const Outcome& outcome);

  runtime::ServiceContext& context_;
  std::unique_ptr<RuleBookSource> rules_;
  TriageStore store_;
  casestate::CaseStore cases_;
  stage::StageRecorder recorder_;
  TriageApi api_;
  metrics::Counter* reloads_ok_;
  metrics::Counter* reloads_refused_;
  metrics::Counter* held_updates_;
  std::vector<metrics::Counter*> assessments_by_trigger_;
  absl::Notification stop_watching_;
  std::thread watcher_;
};

}  // namespace hub::triage

#endif  // HUB_SERVICES_TRIAGE_TRIAGE_SERVICE_H_
