#include "services/notification/notification_service.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"

#include "hub/events/v1/events.pb.h"
#include "services/common/events/cloudevents.h"
#include "services/common/events/topics.h"
#include "services/common/log/log.h"
#include "services/common/status/status_macros.h"

namespace hub::notification {
namespace {

namespace ev = ::hub::events::v1;
using google::protobuf::util::TimeUtil;

constexpr stage::StageSpec kStage{"notification", "notification/victim_first_contact",
                                  events::kNotificationRecordedType,
                                  hub::cases::v1::STAGE_NOTIFIED};

constexpr absl::string_view kReminderTimerKind = "reminder";

absl::Time FromProto(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixMillis(TimeUtil::TimestampToMilliseconds(timestamp));
}

std::string ReminderTimerId(const std::string& referral_id) {
  return absl::StrCat("remind:", events::Sha256Hex(referral_id).substr(0, 32));
}

// "victim.acknowledgement by EMAIL, then CALL_TASK" for the case history.
std::string PlanSummary(const hub::notification::v1::OutgoingMessage& message) {
  std::vector<std::string> channels;
  for (const hub::notification::v1::PlannedRoute& route : message.plan()) {
    channels.push_back(ev::Channel_Name(route.channel()).substr(8));
  }
  if (channels.empty()) {
    return absl::StrCat(message.template_id(), ": nothing sent (", message.final_reason(), ")");
  }
  return absl::StrCat(message.template_id(), " by ", absl::StrJoin(channels, ", then "));
}

}  // namespace

std::string DefaultTemplatesDir() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read once at start-up, before threads start.
  const char* dir = std::getenv("HUB_TEMPLATES_DIR");
  return dir != nullptr && *dir != '\0' ? std::string(dir) : templates::SourceTreeTemplatesDir();
}

absl::StatusOr<std::unique_ptr<NotificationService>> NotificationService::Create(
    runtime::ServiceContext& context, NotificationParts parts, seal::MasterKey master,
    NotificationOptions options) {
  HUB_ASSIGN_OR_RETURN(std::unique_ptr<timers::TimerStore> timers,
                       timers::TimerStore::Create(
                           context.redis, absl::StrCat(context.config.ns, ":notification"), 16));
  std::unique_ptr<NotificationService> service(new NotificationService(
      context, std::move(parts), std::move(master), std::move(options), std::move(timers)));
  timers::TimerRunnerConfig config;
  config.owner = timers::ProcessTimerOwner("notification");
  config.poll_interval = service->options_.timer_poll_interval;
  // A send can take the channel's whole timeout; the lease must outlast it.
  config.lease = absl::Minutes(2);
  NotificationService* self = service.get();
  HUB_ASSIGN_OR_RETURN(
      service->runner_,
      timers::TimerRunner::Create(
          service->timers_.get(), context.clock.get(),
          [self](const timers::Timer& timer) { return self->OnTimer(timer); }, config));
  service->runner_->Start();
  return service;
}

NotificationService::NotificationService(runtime::ServiceContext& context, NotificationParts parts,
                                         seal::MasterKey master, NotificationOptions options,
                                         std::unique_ptr<timers::TimerStore> timers)
    : context_(context),
      parts_(std::move(parts)),
      options_(std::move(options)),
      cases_(context.redis, context.config.ns),
      recorder_(context.producer, &cases_),
      keys_(std::move(master), context.producer, context.redis, context.clock,
            seal::KeyStore::Options{context.config.ns,
                                    context.topics.data_keys,
                                    context.config.kafka_bootstrap,
                                    absl::Seconds(30),
                                    {}}),
      messages_(context.redis, context.config.ns),
      timers_(std::move(timers)),
      outbox_(
          outbox::OutboxDeps{&messages_, timers_.get(), context.producer, &cases_, context.clock,
                             context.topics, parts_.templates.get(), parts_.channels.get(),
                             [this](absl::string_view key_id, absl::string_view generation) {
                               return keys_.Get(key_id, generation);
                             },
                             context.metrics},
          [&] {
            outbox::OutboxOptions outbox_options = options_.outbox;
            outbox_options.consumer_group =
                events::ConsumerGroup(context.config.ns, "notification");
            return outbox_options;
          }()),
      task_api_(context.identity, &messages_, &outbox_) {}

NotificationService::~NotificationService() { OnStopping(); }

void NotificationService::OnStopping() {
  if (runner_ != nullptr) {
    runner_->Stop();
  }
}

void NotificationService::OnReloadSignal() {
  if (parts_.directory != nullptr) {
    absl::StatusOr<std::string> version = parts_.directory->Reload();
    if (version.ok()) {
      log::Info("provider directory reloaded", {{"version", *version}});
    } else {
      log::Error("provider directory refused; the one in force stays",
                 {{"error", version.status().ToString()}});
    }
  }
}

std::vector<grpc::Service*> NotificationService::GrpcServices() { return {&task_api_}; }

std::vector<std::string> NotificationService::ConsumedTopics() {
  return {context_.topics.needs_assessed, context_.topics.referral_routed,
          context_.topics.referral_status, context_.topics.staff_alerts};
}

absl::Status NotificationService::Handle(const kafka::ConsumedRecord& record) {
  if (record.topic == context_.topics.needs_assessed) {
    return OnAssessment(record);
  }
  if (record.topic == context_.topics.referral_routed) {
    return OnRouted(record);
  }
  if (record.topic == context_.topics.referral_status) {
    return OnReferralStatus(record);
  }
  if (record.topic == context_.topics.staff_alerts) {
    return OnStaffAlert(record);
  }
  return absl::InvalidArgumentError(absl::StrCat("notification does not read ", record.topic));
}

absl::Status NotificationService::OnAssessment(const kafka::ConsumedRecord& record) {
  ev::NeedsAssessed assessment;
  HUB_ASSIGN_OR_RETURN(events::CloudEvent input,
                       stage::ParseStageInput(record, events::kNeedsAssessedType, &assessment));
  const Cause cause{input.id, record.topic};
  for (const hub::notification::v1::OutgoingMessage& message :
       VictimMessagesFor(assessment, cause, options_.hub, context_.clock->Now())) {
    HUB_RETURN_IF_ERROR(outbox_.Enqueue(message).status());
  }
  return absl::OkStatus();
}

absl::Status NotificationService::OnRouted(const kafka::ConsumedRecord& record) {
  ev::ReferralRouted routed;
  HUB_ASSIGN_OR_RETURN(events::CloudEvent input,
                       stage::ParseStageInput(record, events::kReferralRoutedType, &routed));
  const absl::Time now = context_.clock->Now();
  stage::StageOutput output = stage::BeginStep(kStage, input, routed.case_id(), now);
  std::optional<hub::notification::v1::OutgoingMessage> made =
      ReferralMadeFor(routed, Cause{input.id, record.topic}, options_.hub, now);
  if (made.has_value()) {
    HUB_ASSIGN_OR_RETURN(outbox::StoredMessage stored, outbox_.Enqueue(*made));
    output.step.detail = PlanSummary(stored.message);
    output.step.attributes = {{"victim_message", stored.message.template_id()},
                              {"notification_id", stored.message.message_id()}};
  } else {
    output.step.detail = routed.external() ? "no external referral to tell the victim about"
                                           : "the Hub's Victim Care team will contact the victim";
  }
  HUB_RETURN_IF_ERROR(cases_.RecordStep(output.step).status());
  return absl::OkStatus();
}

absl::Status NotificationService::OnReferralStatus(const kafka::ConsumedRecord& record) {
  ev::ReferralStatusChanged status;
  HUB_ASSIGN_OR_RETURN(events::CloudEvent input,
                       events::ParseRecord(record, events::kReferralStatusChangedType, &status));
  if (status.kind() != ev::REFERRAL_EVENT_KIND_OFFERED) {
    // Any answer (or the end of the offer) makes a reminder pointless.
    if (!status.referral_id().empty()) {
      HUB_RETURN_IF_ERROR(timers_->Cancel(ReminderTimerId(status.referral_id())).status());
    }
    return absl::OkStatus();
  }
  const std::string address = ProviderEmail(status.provider_id());
  if (address.empty()) {
    log::Warn("no referral email for the provider in the directory: no offer notice sent",
              {{"provider_id", status.provider_id()}, {"referral_id", status.referral_id()}});
    return absl::OkStatus();
  }
  const absl::Time now = context_.clock->Now();
  HUB_RETURN_IF_ERROR(outbox_
                          .Enqueue(ProviderOfferFor(status, Cause{input.id, record.topic},
                                                    options_.hub, address, false, now))
                          .status());
  if (status.has_respond_by() && status.has_changed_at()) {
    const absl::Time offered = FromProto(status.changed_at());
    const absl::Time respond_by = FromProto(status.respond_by());
    if (respond_by > offered) {
      // The reminder carries the offer event, so it is built from the same facts.
      std::string payload;
      status.SerializeToString(&payload);
      HUB_RETURN_IF_ERROR(timers_
                              ->Schedule(ReminderTimerId(status.referral_id()), kReminderTimerKind,
                                         offered + (respond_by - offered) / 2,
                                         absl::StrCat(input.id, "\n", payload))
                              .status());
    }
  }
  return absl::OkStatus();
}

absl::Status NotificationService::OnStaffAlert(const kafka::ConsumedRecord& record) {
  ev::StaffAlert alert;
  HUB_ASSIGN_OR_RETURN(events::CloudEvent input,
                       events::ParseRecord(record, events::kStaffAlertType, &alert));
  std::optional<hub::notification::v1::OutgoingMessage> message =
      StaffMessageFor(alert, Cause{input.id, record.topic}, options_.hub, context_.clock->Now());
  if (!message.has_value()) {
    return absl::OkStatus();
  }
  return outbox_.Enqueue(*message).status();
}

absl::Status NotificationService::OnTimer(const timers::Timer& timer) {
  if (timer.kind != kReminderTimerKind) {
    return outbox_.OnTimer(timer);
  }
  const size_t newline = timer.payload.find('\n');
  ev::ReferralStatusChanged offered;
  if (newline == std::string::npos || !offered.ParseFromString(timer.payload.substr(newline + 1))) {
    log::Error("reminder timer without a readable offer ignored", {{"timer_id", timer.id}});
    return absl::OkStatus();
  }
  const std::string address = ProviderEmail(offered.provider_id());
  if (address.empty()) {
    return absl::OkStatus();
  }
  const Cause cause{timer.payload.substr(0, newline), context_.topics.referral_status};
  return outbox_
      .Enqueue(ProviderOfferFor(offered, cause, options_.hub, address, true, context_.clock->Now()))
      .status();
}

std::string NotificationService::ProviderEmail(const std::string& provider_id) const {
  if (parts_.directory == nullptr) {
    return "";
  }
  std::shared_ptr<const routing::Directory> directory = parts_.directory->Current();
  const routing::Service* service = directory->FindService(provider_id);
  if (service == nullptr || service->emails.empty()) {
    return "";
  }
  return service->emails.front();
}

}  // namespace hub::notification
