#include "services/notification/notification_service.h"

#include "absl/strings/str_cat.h"

#include "hub/events/v1/events.pb.h"
#include "services/common/events/topics.h"
#include "services/notification/contact_policy.h"

namespace hub::notification {
namespace {

constexpr stage::StageSpec kStage{"notification", "notification/victim_first_contact",
                                  events::kNotificationRecordedType,
                                  hub::cases::v1::STAGE_NOTIFIED};

}  // namespace

NotificationService::NotificationService(runtime::ServiceContext& context)
    : context_(context),
      store_(context.redis, context.config.ns),
      recorder_(context.producer, &store_) {}

std::vector<std::string> NotificationService::ConsumedTopics() {
  return {context_.topics.referral_routed};
}

absl::Status NotificationService::Handle(const kafka::ConsumedRecord& record) {
  hub::events::v1::ReferralRouted routed;
  absl::StatusOr<events::CloudEvent> input =
      stage::ParseStageInput(record, events::kReferralRoutedType, &routed);
  if (!input.ok()) {
    return input.status();
  }
  absl::Time now = context_.clock->Now();
  ContactDecision decision = DecideVictimContact(routed);
  stage::StageOutput output = stage::BeginStep(kStage, *input, routed.case_id(), now);
  // The notification id is the event id: stable across redelivery.
  hub::events::v1::NotificationRecorded notification =
      MakeNotification(routed, decision, output.event.id, now);
  std::string channel = hub::events::v1::Channel_Name(decision.channel);
  output.step.detail = absl::StrCat(decision.template_id, " by ", channel, ": ", decision.reason);
  output.step.attributes = {{"victim_contact_channel", channel},
                            {"victim_contact_template", decision.template_id},
                            {"notification_id", output.event.id}};
  return recorder_.PublishThenRecord(
      events::MakeRecord(context_.topics.notification_recorded, routed.case_id(), notification,
                         output.event),
      output.step);
}

}  // namespace hub::notification
