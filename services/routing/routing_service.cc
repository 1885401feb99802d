#include "services/routing/routing_service.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

#include "hub/events/v1/events.pb.h"
#include "services/common/events/cloudevents.h"
#include "services/common/events/topics.h"
#include "services/common/log/log.h"
#include "services/common/status/status_macros.h"

namespace hub::routing {
namespace {

namespace ev = ::hub::events::v1;

constexpr stage::StageSpec kStage{"routing", "routing/referral_routed", events::kReferralRoutedType,
                                  hub::cases::v1::STAGE_ROUTED};

// "REFERRAL_EVENT_KIND_IN_PROGRESS" -> "in_progress".
std::string KindWord(ev::ReferralEventKind kind) {
  std::string name = ev::ReferralEventKind_Name(kind);
  constexpr absl::string_view kPrefix = "REFERRAL_EVENT_KIND_";
  if (absl::string_view(name).substr(0, kPrefix.size()) == kPrefix) {
    name = name.substr(kPrefix.size());
  }
  return absl::AsciiStrToLower(name);
}

}  // namespace

absl::StatusOr<std::unique_ptr<RoutingService>> RoutingService::Create(
    runtime::ServiceContext& context, std::unique_ptr<offences::OffenceTable> offences,
    std::unique_ptr<DirectorySource> directory, seal::MasterKey master, RoutingOptions options) {
  HUB_ASSIGN_OR_RETURN(
      std::unique_ptr<timers::TimerStore> timer_store,
      timers::TimerStore::Create(context.redis, absl::StrCat(context.config.ns, ":routing"),
                                 options.timer_shards));
  std::unique_ptr<RoutingService> service(
      new RoutingService(context, std::move(offences), std::move(directory), std::move(master),
                         std::move(timer_store), options));
  timers::TimerRunnerConfig config;
  config.owner = timers::ProcessTimerOwner("routing");
  config.poll_interval = options.timer_poll_interval;
  RoutingService* self = service.get();
  HUB_ASSIGN_OR_RETURN(
      service->timer_runner_,
      timers::TimerRunner::Create(
          service->timer_store_.get(), context.clock.get(),
          [self](const timers::Timer& timer) { return self->router_.OnTimer(timer); }, config));
  service->timer_runner_->Start();
  service->maintenance_ = std::thread([self] { self->Maintain(); });
  return service;
}

RoutingService::RoutingService(runtime::ServiceContext& context,
                               std::unique_ptr<offences::OffenceTable> offences,
                               std::unique_ptr<DirectorySource> directory, seal::MasterKey master,
                               std::unique_ptr<timers::TimerStore> timer_store,
                               RoutingOptions options)
    : context_(context),
      options_(options),
      offences_(std::move(offences)),
      directory_(std::move(directory)),
      store_(context.redis, context.config.ns),
      recorder_(context.producer, &store_),
      cases_api_(&store_, context.identity),
      keys_(std::move(master), context.producer, context.redis, context.clock,
            seal::KeyStore::Options{context.config.ns,
                                    context.topics.data_keys,
                                    context.config.kafka_bootstrap,
                                    absl::Seconds(30),
                                    {}}),
      referrals_(context.redis, context.config.ns),
      offers_(context.redis, context.config.ns),
      capacity_(context.redis, context.config.ns),
      timer_store_(std::move(timer_store)),
      router_(RouterDeps{directory_.get(), &referrals_, &offers_, &capacity_, timer_store_.get(),
                         context.redis, context.producer, context.clock, context.topics,
                         context.config.ns, context.metrics}),
      feedback_store_(context.redis, context.config.ns),
      feedback_(&feedback_store_),
      feedback_api_(context.identity, &feedback_store_),
      provider_api_(
          context.identity, &referrals_, &offers_, &router_,
          [this](absl::string_view key_id, absl::string_view generation) {
            return keys_.Get(key_id, generation);
          },
          context.producer, context.topics.contact_reads, context.clock,
          provider::ProviderApiOptions{options.stream_poll_interval, 100, absl::Seconds(30),
                                       context.metrics}) {}

RoutingService::~RoutingService() {
  OnStopping();
  if (maintenance_.joinable()) {
    maintenance_.join();
  }
}

std::vector<grpc::Service*> RoutingService::GrpcServices() {
  return {&cases_api_, &provider_api_, &feedback_api_};
}

std::vector<std::string> RoutingService::ConsumedTopics() {
  return {context_.topics.needs_assessed, context_.topics.referral_routed,
          context_.topics.referral_status};
}

// Every input also feeds what the force sees (idempotent by event id); the two that routing
// acts on are parsed once and handed over parsed.
absl::Status RoutingService::Handle(const kafka::ConsumedRecord& record) {
  if (record.topic == context_.topics.needs_assessed) {
    ev::NeedsAssessed assessment;
    absl::StatusOr<events::CloudEvent> input =
        stage::ParseStageInput(record, events::kNeedsAssessedType, &assessment);
    if (!input.ok()) {
      return input.status();
    }
    HUB_RETURN_IF_ERROR(HandleAssessment(assessment, *input));
    return feedback_.ApplyEvent(assessment, input->id).status();
  }
  if (record.topic == context_.topics.referral_status) {
    ev::ReferralStatusChanged changed;
    absl::StatusOr<events::CloudEvent> input =
        events::ParseRecord(record, events::kReferralStatusChangedType, &changed);
    if (!input.ok()) {
      return input.status();
    }
    HUB_RETURN_IF_ERROR(HandleStatusChange(changed, *input));
    return feedback_.ApplyEvent(changed, input->id).status();
  }
  return feedback_.Apply(record);
}

absl::Status RoutingService::HandleAssessment(const ev::NeedsAssessed& assessment,
                                              const events::CloudEvent& input) {
  const absl::Time now = context_.clock->Now();
  absl::StatusOr<std::optional<RoutingResult>> result = router_.OnAssessment(assessment);
  if (!result.ok()) {
    return result.status();
  }
  stage::StageOutput output = stage::BeginStep(kStage, input, assessment.case_id(), now);
  if (!result->has_value()) {
    // A re-assessment that makes no new decision: record what it meant for the referrals.
    const std::string decision = ev::ReferralDecision_Name(assessment.referral_decision());
    const bool stop =
        assessment.referral_decision() == ev::REFERRAL_DECISION_CANCEL_OPEN_REFERRALS ||
        assessment.referral_decision() == ev::REFERRAL_DECISION_CLOSE;
    output.step.detail = absl::StrCat("re-assessment ", assessment.sequence(), " received (",
                                      decision, stop ? "): open referrals cancelled" : ")");
    output.step.attributes = {{"referral_status", stop ? "cancelled" : "open"}};
    output.step.overwrite_attributes = true;
    absl::StatusOr<bool> recorded = store_.RecordStep(output.step);
    return recorded.ok() ? absl::OkStatus() : absl::UnavailableError(recorded.status().message());
  }
  const ev::ReferralRouted& routed = (*result)->routed;
  std::string detail;
  for (const ev::RoutedReferral& referral : routed.referrals()) {
    absl::StrAppend(&detail, detail.empty() ? "" : "; ", referral.provider_id(), " ",
                    KindWord(referral.state()),
                    referral.waiting_position() > 0
                        ? absl::StrCat(" (position ", referral.waiting_position(), ")")
                        : "");
  }
  output.step.detail = detail.empty() ? routed.reason() : absl::StrCat("referred to ", detail);
  output.step.attributes = {{"provider_id", routed.provider_id()},
                            {"referral_id", routed.referral_id()},
                            {"referrals", absl::StrCat(routed.referrals_size())},
                            {"external", routed.external() ? "true" : "false"},
                            {"referral_status", (*result)->any_referral ? "open" : "none"}};
  if (assessment.sequence() > 1) {
    output.step.overwrite_attributes = true;
  }
  return recorder_.PublishThenRecord(events::MakeRecord(context_.topics.referral_routed,
                                                        assessment.case_id(), routed, output.event),
                                     output.step);
}

absl::Status RoutingService::HandleStatusChange(const ev::ReferralStatusChanged& changed,
                                                const events::CloudEvent& input) {
  if (absl::Status id = casestate::ValidateCaseId(changed.case_id()); !id.ok()) {
    return id;
  }
  casestate::CaseStep step;
  step.case_id = changed.case_id();
  step.stage = hub::cases::v1::STAGE_ROUTED;
  step.service = "routing";
  step.event_id = input.id;
  step.recorded_at = input.time;
  step.detail =
      absl::StrCat(changed.provider_id(), " ", KindWord(changed.kind()), ": ", changed.reason());
  step.attributes = {{absl::StrCat("referral:", changed.provider_id()), KindWord(changed.kind())}};
  step.overwrite_attributes = true;
  absl::StatusOr<bool> recorded = store_.RecordStep(step);
  return recorded.ok() ? absl::OkStatus() : absl::UnavailableError(recorded.status().message());
}

void RoutingService::OnReloadSignal() { ReloadDirectory("signal"); }

void RoutingService::OnStopping() {
  if (!stop_.HasBeenNotified()) {
    stop_.Notify();
  }
  provider_api_.Shutdown();
  feedback_api_.Shutdown();
  if (timer_runner_ != nullptr) {
    timer_runner_->Stop();
  }
}

void RoutingService::ReloadDirectory(const char* why) {
  absl::StatusOr<std::string> version = directory_->Reload();
  if (!version.ok()) {
    log::Error("provider directory refused; the directory in force stays",
               {{"why", why}, {"status", version.status().ToString()}});
    return;
  }
  log::Info("provider directory reloaded", {{"why", why}, {"version", *version}});
  // A raised maximum frees places at once.
  absl::StatusOr<int> swept = router_.Sweep();
  if (!swept.ok()) {
    log::Warn("sweep after directory reload failed", {{"status", swept.status().ToString()}});
  }
}

void RoutingService::Maintain() {
  absl::Time next_sweep = absl::Now();
  const absl::Duration tick =
      options_.directory_check_interval > absl::ZeroDuration()
          ? std::min(options_.directory_check_interval, options_.sweep_interval)
          : options_.sweep_interval;
  do {
    if (options_.directory_check_interval > absl::ZeroDuration() && directory_->Changed()) {
      ReloadDirectory("file changed");
    }
    if (absl::Now() >= next_sweep) {
      absl::StatusOr<int> swept = router_.Sweep();
      if (!swept.ok()) {
        log::Warn("sweep failed; retried later", {{"status", swept.status().ToString()}});
      } else if (*swept > 0) {
        log::Info("sweep offered referrals left holding a place", {{"offers", *swept}});
      }
      next_sweep = absl::Now() + options_.sweep_interval;
    }
  } while (!stop_.WaitForNotificationWithTimeout(tick));
}

}  // namespace hub::routing
