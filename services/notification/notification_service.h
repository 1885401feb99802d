// The notification stage: decides who is told what after each event (messages.h), records
// each message in the outbox before anything is sent (outbox/outbox.h), and sends it at
// most once on a safe channel from the outbox's timers.
//
// Consumes:
//   <ns>.triage.needs-assessed.v1       acknowledgements, consent requests, case updates
//   <ns>.routing.referral-routed.v1     "a referral was made"; the case reaches NOTIFIED
//   <ns>.routing.referral-status.v1     new offers to providers (and a reminder timer half
//                                       way to the offer's deadline, cancelled when the
//                                       provider answers)
//   <ns>.routing.staff-alerts.v1        Code breaches, urgent cases and failed deliveries, to
//                                       the Hub team
// Publishes NotificationRecorded per message, NotificationStatusChanged per delivery step,
// dead letters and DELIVERY_FAILED staff alerts (see outbox.h).
//
// Handling an event only records messages and sets timers, so the event's offset is
// committed once the intent is stored; sending happens on the timers, whatever happens to
// the consumer. Every handler is idempotent. Thread-safe.
#ifndef HUB_SERVICES_NOTIFICATION_NOTIFICATION_SERVICE_H_
#define HUB_SERVICES_NOTIFICATION_NOTIFICATION_SERVICE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

#include "services/common/casestate/case_store.h"
#include "services/common/runtime/service_runtime.h"
#include "services/common/seal/key_store.h"
#include "services/common/seal/master_key.h"
#include "services/common/stage/stage.h"
#include "services/common/timers/timer_runner.h"
#include "services/common/timers/timer_store.h"
#include "services/notification/messages.h"
#include "services/notification/outbox/channels.h"
#include "services/notification/outbox/message_store.h"
#include "services/notification/outbox/outbox.h"
#include "services/notification/task_api.h"
#include "services/notification/templates/templates.h"
#include "services/routing/directory/directory.h"

namespace hub::notification {

struct NotificationOptions {
  HubDetails hub;
  outbox::OutboxOptions outbox;
  absl::Duration timer_poll_interval = absl::Milliseconds(200);
};

// What the service is built from; it owns all of it.
struct NotificationParts {
  std::unique_ptr<templates::TemplateSet> templates;
  std::unique_ptr<outbox::Channels> channels;
  // The providers' referral email addresses; null: no provider emails.
  std::unique_ptr<routing::DirectorySource> directory;
  std::unique_ptr<offences::OffenceTable> offences;
};

class NotificationService : public runtime::Service {
 public:
  // `master` opens victims' data keys (seal::KeyStore).
  static absl::StatusOr<std::unique_ptr<NotificationService>> Create(
      runtime::ServiceContext& context, NotificationParts parts, seal::MasterKey master,
      NotificationOptions options);
  ~NotificationService() override;

  std::vector<grpc::Service*> GrpcServices() override;
  std::vector<std::string> ConsumedTopics() override;
  absl::Status Handle(const kafka::ConsumedRecord& record) override;
  void OnReloadSignal() override;
  void OnStopping() override;

  outbox::Outbox& outbox() { return outbox_; }
  outbox::MessageStore& messages() { return messages_; }

 private:
  NotificationService(runtime::ServiceContext& context, NotificationParts parts,
                      seal::MasterKey master, NotificationOptions options,
                      std::unique_ptr<timers::TimerStore> timers);

  absl::Status OnAssessment(const kafka::ConsumedRecord& record);
  absl::Status OnRouted(const kafka::ConsumedRecord& record);
  absl::Status OnReferralStatus(const kafka::ConsumedRecord& record);
  absl::Status OnStaffAlert(const kafka::ConsumedRecord& record);
  absl::Status OnTimer(const timers::Timer& timer);
  // The provider's referral address, or "" when the directory has none.
  std::string ProviderEmail(const std::string& provider_id) const;

  runtime::ServiceContext& context_;
  NotificationParts parts_;
  const NotificationOptions options_;
  casestate::CaseStore cases_;
  stage::StageRecorder recorder_;
  seal::KeyStore keys_;
  outbox::MessageStore messages_;
  std::unique_ptr<timers::TimerStore> timers_;
  outbox::Outbox outbox_;
  StaffTaskApi task_api_;
  std::unique_ptr<timers::TimerRunner> runner_;
};

// The default templates directory: $HUB_TEMPLATES_DIR, else the source tree's.
std::string DefaultTemplatesDir();

}  // namespace hub::notification

#endif  // HUB_SERVICES_NOTIFICATION_NOTIFICATION_SERVICE_H_
