// The notification stage: consumes ReferralRouted, decides how the victim is told what
// happens next (or that nobody may contact them), publishes NotificationRecorded and
// records the case as NOTIFIED.
//
// In the walking skeleton the decision is recorded, not yet sent: channels, templates and
// exactly-once delivery come with the notification issue. Idempotent like every stage.
// Thread-safe.
#ifndef HUB_SERVICES_NOTIFICATION_NOTIFICATION_SERVICE_H_
#define HUB_SERVICES_NOTIFICATION_NOTIFICATION_SERVICE_H_

#include <string>
#include <vector>

#include "services/common/casestate/case_store.h"
#include "services/common/runtime/service_runtime.h"
#include "services/common/stage/stage.h"

namespace hub::notification {

class NotificationService : public runtime::Service {
 public:
  explicit NotificationService(runtime::ServiceContext& context);

  std::vector<std::string> ConsumedTopics() override;
  absl::Status Handle(const kafka::ConsumedRecord& record) override;

 private:
  runtime::ServiceContext& context_;
  casestate::CaseStore store_;
  stage::StageRecorder recorder_;
};

}  // namespace hub::notification

#endif  // HUB_SERVICES_NOTIFICATION_NOTIFICATION_SERVICE_H_
