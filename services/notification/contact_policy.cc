#include "services/notification/contact_policy.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"

namespace hub::notification {
namespace {

using hub::intake::v1::ContactRoute;

// A route on `channel` confirmed safe (an unconfirmed route is not used for now).
bool HasSafeRoute(const hub::intake::v1::Victim& victim, ContactRoute::Channel channel) {
  for (const ContactRoute& route : victim.contact_routes()) {
    if (route.channel() == channel && route.safety() == hub::intake::v1::CHANNEL_SAFETY_SAFE) {
      return true;
    }
  }
  return false;
}

bool IsSensitive(const hub::events::v1::NeedsAssessed& assessment) {
  for (const std::string& need : assessment.needs()) {
    if (need == "domestic_abuse" || need == "sexual_violence") {
      return true;
    }
  }
  return assessment.crime().report().flags().domestic_abuse();
}

}  // namespace

ContactDecision DecideVictimContact(const hub::events::v1::ReferralRouted& routed) {
  const hub::events::v1::NeedsAssessed& assessment = routed.assessment();
  const hub::intake::v1::Victim& victim = assessment.crime().report().victims(0);
  ContactDecision decision;
  bool consent_needed = assessment.consent_required() &&
                        victim.consent().status() != hub::intake::v1::CONSENT_STATUS_GIVEN &&
                        victim.consent().status() != hub::intake::v1::CONSENT_STATUS_DECLINED;
  decision.template_id = consent_needed ? "victim.consent_request" : "victim.acknowledgement";

  if (victim.no_contact()) {
    decision.channel = hub::events::v1::CHANNEL_NONE;
    decision.reason = "The victim asked not to be contacted: nothing is sent.";
    return decision;
  }
  if (HasSafeRoute(victim, ContactRoute::CHANNEL_EMAIL)) {
    decision.channel = hub::events::v1::CHANNEL_EMAIL;
    decision.reason = "Email is marked safe.";
    return decision;
  }
  if (HasSafeRoute(victim, ContactRoute::CHANNEL_SMS)) {
    decision.channel = hub::events::v1::CHANNEL_SMS;
    decision.reason = "SMS is marked safe and no safe email was given.";
    return decision;
  }
  bool letter_risky = victim.suspect_shares_address() || IsSensitive(assessment);
  if (HasSafeRoute(victim, ContactRoute::CHANNEL_LETTER) && !letter_risky) {
    decision.channel = hub::events::v1::CHANNEL_LETTER;
    decision.reason = "A letter is marked safe and no safe email or SMS was given.";
    return decision;
  }
  decision.channel = hub::events::v1::CHANNEL_CALL_TASK;
  decision.reason =
      letter_risky ? "No safe email or SMS, and a letter could be read by the suspect or in a home "
                     "shared with an abuser: Hub staff will call."
                   : "No channel is marked safe for a written message: Hub staff will call.";
  return decision;
}

hub::events::v1::NotificationRecorded MakeNotification(
    const hub::events::v1::ReferralRouted& routed, const ContactDecision& decision,
    absl::string_view notification_id, absl::Time recorded_at) {
  hub::events::v1::NotificationRecorded notification;
  notification.set_case_id(routed.case_id());
  notification.set_referral_id(routed.referral_id());
  notification.set_notification_id(std::string(notification_id));
  notification.set_audience("victim");
  notification.set_template_id(decision.template_id);
  notification.set_channel(decision.channel);
  notification.set_reason(decision.reason);
  *notification.mutable_recorded_at() =
      google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(recorded_at));
  return notification;
}

}  // namespace hub::notification
