// The routing service: consumes NeedsAssessed and makes the referrals (router.h), serves
// support providers (hub.routing.v1.ProviderService), police systems' feedback
// (hub.routing.v1.ForceFeedbackService) and the case read API (hub.cases.v1.CaseService),
// and runs routing's durable timers and its sweep.
//
// It also consumes its own referral-routed and referral-status topics: they feed the
// feedback to forces and the case history, so both follow exactly what the log says.
//
// Background work: a TimerRunner (offer lapses, releases, Code deadlines) and one
// maintenance thread that reloads the provider directory when its file changes and sweeps
// for referrals holding a place that were never offered. Thread-safe.
#ifndef HUB_SERVICES_ROUTING_ROUTING_SERVICE_H_
#define HUB_SERVICES_ROUTING_ROUTING_SERVICE_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

#include "services/common/casestate/case_service.h"
#include "services/common/casestate/case_store.h"
#include "services/common/events/cloudevents.h"
#include "services/common/offences/offences.h"
#include "services/common/runtime/service_runtime.h"
#include "services/common/seal/key_store.h"
#include "services/common/seal/master_key.h"
#include "services/common/stage/stage.h"
#include "services/common/timers/timer_runner.h"
#include "services/common/timers/timer_store.h"
#include "services/routing/directory/directory.h"
#include "services/routing/feedback/feedback_api.h"
#include "services/routing/feedback/feedback_projector.h"
#include "services/routing/feedback/feedback_store.h"
#include "services/routing/lifecycle/capacity.h"
#include "services/routing/provider/provider_api.h"
#include "services/routing/referrals/offer_log.h"
#include "services/routing/referrals/referral_store.h"
#include "services/routing/router.h"

namespace hub::routing {

struct RoutingOptions {
  // How often the directory file is checked for changes (0: only on SIGHUP).
  absl::Duration directory_check_interval = absl::Seconds(2);
  // How often the sweep runs.
  absl::Duration sweep_interval = absl::Seconds(30);
  // How often timers and provider streams poll Redis.
  absl::Duration timer_poll_interval = absl::Milliseconds(200);
  absl::Duration stream_poll_interval = absl::Milliseconds(200);
  int timer_shards = 16;
};

class RoutingService : public runtime::Service {
 public:
  // Starts the timer runner and the maintenance thread. `offences` must outlive the
  // service (the directory checks needs and categories against it).
  static absl::StatusOr<std::unique_ptr<RoutingService>> Create(
      runtime::ServiceContext& context, std::unique_ptr<offences::OffenceTable> offences,
      std::unique_ptr<DirectorySource> directory, seal::MasterKey master, RoutingOptions options);
  ~RoutingService() override;

  std::vector<grpc::Service*> GrpcServices() override;
  std::vector<std::string> ConsumedTopics() override;
  absl::Status Handle(const kafka::ConsumedRecord& record) override;
  void OnReloadSignal() override;
  void OnStopping() override;

 private:
  RoutingService(runtime::ServiceContext& context, std::unique_ptr<offences::OffenceTable> offences,
                 std::unique_ptr<DirectorySource> directory, seal::MasterKey master,
                 std::unique_ptr<timers::TimerStore> timer_store, RoutingOptions options);

  absl::Status HandleAssessment(const hub::events::v1::NeedsAssessed& assessment,
                                const events::CloudEvent& input);
  absl::Status HandleStatusChange(const hub::events::v1::ReferralStatusChanged& changed,
                                  const events::CloudEvent& input);
  void ReloadDirectory(const char* why);
  void Maintain();

  runtime::ServiceContext& context_;
  const RoutingOptions options_;
  std::unique_ptr<offences::OffenceTable> offences_;
  std::unique_ptr<DirectorySource> directory_;
  casestate::CaseStore store_;
  stage::StageRecorder recorder_;
  casestate::CaseServiceImpl cases_api_;
  seal::KeyStore keys_;
  referrals::ReferralStore referrals_;
  referrals::OfferLog offers_;
  lifecycle::CapacityStore capacity_;
  std::unique_ptr<timers::TimerStore> timer_store_;
  Router router_;
  feedback::FeedbackStore feedback_store_;
  feedback::FeedbackProjector feedback_;
  feedback::ForceFeedbackApi feedback_api_;
  provider::ProviderApi provider_api_;
  std::unique_ptr<timers::TimerRunner> timer_runner_;
  absl::Notification stop_;
  std::thread maintenance_;
};

}  // namespace hub::routing

#endif  // HUB_SERVICES_ROUTING_ROUTING_SERVICE_H_
