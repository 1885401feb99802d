// Deciding how — and whether — to tell a victim what happens next, without putting them at
// risk, first cut.
//
// Only a channel the police marked safe is used. Email is preferred, then SMS, then a
// letter; a letter is never chosen when the suspect shares the victim's address or the
// crime is domestic abuse or a sexual offence, even if marked safe, because post is what
// abusers intercept. With no safe written channel, Hub staff get a call task. A victim
// who asked for no contact gets nothing. The notification issue adds safe times, real
// channels, templates and exactly-once sending behind this decision. Pure and thread-safe.
#ifndef HUB_SERVICES_NOTIFICATION_CONTACT_POLICY_H_
#define HUB_SERVICES_NOTIFICATION_CONTACT_POLICY_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#include "hub/events/v1/events.pb.h"

namespace hub::notification {

struct ContactDecision {
  hub::events::v1::Channel channel = hub::events::v1::CHANNEL_UNSPECIFIED;
  // The message template, e.g. "victim.acknowledgement".
  std::string template_id;
  // Why, in plain English, without personal data.
  std::string reason;
};

// The first message a victim gets after routing.
ContactDecision DecideVictimContact(const hub::events::v1::ReferralRouted& routed);

// Builds the NotificationRecorded event for `decision`.
hub::events::v1::NotificationRecorded MakeNotification(
    const hub::events::v1::ReferralRouted& routed, const ContactDecision& decision,
    absl::string_view notification_id, absl::Time recorded_at);

}  // namespace hub::notification

#endif  // HUB_SERVICES_NOTIFICATION_CONTACT_POLICY_H_
