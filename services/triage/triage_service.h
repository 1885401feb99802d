// The triage stage: consumes CrimeReported, assesses the victim's needs, publishes
// NeedsAssessed and records the case as ASSESSED.
//
// Idempotent: a redelivered CrimeReported republishes the same event id (which routing
// drops) and the case store ignores the repeated step. A record that is not a valid
// CrimeReported is refused as kInvalidArgument and goes to the dead-letter topic.
// Thread-safe (the consumer loop calls Handle from one thread).
#ifndef HUB_SERVICES_TRIAGE_TRIAGE_SERVICE_H_
#define HUB_SERVICES_TRIAGE_TRIAGE_SERVICE_H_

#include <string>
#include <vector>

#include "services/common/casestate/case_store.h"
#include "services/common/runtime/service_runtime.h"
#include "services/common/stage/stage.h"
#include "services/common/workdays/working_calendar.h"

namespace hub::triage {

class TriageService : public runtime::Service {
 public:
  // `calendar` counts the Victims' Code working days.
  TriageService(runtime::ServiceContext& context, workdays::WorkingCalendar calendar);

  std::vector<std::string> ConsumedTopics() override;
  absl::Status Handle(const kafka::ConsumedRecord& record) override;

 private:
  runtime::ServiceContext& context_;
  workdays::WorkingCalendar calendar_;
  casestate::CaseStore store_;
  stage::StageRecorder recorder_;
};

}  // namespace hub::triage

#endif  // HUB_SERVICES_TRIAGE_TRIAGE_SERVICE_H_
