#include "services/notification/notification_service.h"

#include "absl/strings/str_cat.h"

#include "hub/events/v1/events.pb.h"
#include "services/common/events/topics.h"
#include "services/common/log/log.h"
#include "services/notification/contact_policy.h"

namespace hub::notification {

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
      events::ParseRecord(record, events::kReferralRoutedType, &routed);
  if (!input.ok()) {
    return input.status();
  }
  if (absl::Status id = casestate::ValidateCaseId(routed.case_id()); !id.ok()) {
    return id;
  }
  if (routed.assessment().crime().report().victims_size() != 1) {
    return absl::InvalidArgumentError(
        "ReferralRouted must carry the crime with exactly one victim");
  }
  absl::Time now = context_.clock->Now();
  ContactDecision decision = DecideVictimContact(routed);
  events::CloudEvent output =
      stage::NextEvent(*input, "notification", events::kNotificationRecordedType,
                       "notification/victim_first_contact", now);
  // The notification id is the event id: stable across redelivery.
  hub::events::v1::NotificationRecorded notification =
      MakeNotification(routed, decision, output.id, now);

  casestate::CaseStep step;
  step.case_id = routed.case_id();
  step.stage = hub::cases::v1::STAGE_NOTIFIED;
  step.service = "notification";
  step.event_id = output.id;
  step.recorded_at = now;
  std::string channel = hub::events::v1::Channel_Name(decision.channel);
  step.detail = absl::StrCat(decision.template_id, " by ", channel, ": ", decision.reason);
  step.attributes = {{"victim_contact_channel", channel},
                     {"victim_contact_template", decision.template_id},
                     {"notification_id", output.id}};
  absl::Status done =
      recorder_.PublishThenRecord(events::MakeRecord(context_.topics.notification_recorded,
                                                     routed.case_id(), notification, output),
                                  step);
  if (done.ok()) {
    log::Debug("notification recorded", {{"case_id", routed.case_id()}, {"event_id", output.id}});
  }
  return done;
}

}  // namespace hub::notification
