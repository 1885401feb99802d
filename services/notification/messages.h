// Which messages an event calls for, and what each says: pure functions from an event to
// the OutgoingMessages the outbox records (protos/hub/notification/v1/notification.proto).
//
//   NeedsAssessed, first assessment   victim.acknowledgement (police report) or
//                                     victim.self_referral_acknowledgement (Right 3)
//                                     victim.consent_request, when explicit consent is
//                                     needed and the victim has not been asked
//   NeedsAssessed, a milestone        victim.update.<milestone> (Right 6): arrest, interview
//                                     under caution, charge, released without charge,
//                                     released under investigation, bail, bail changed, no
//                                     further action, not investigated. Other milestones
//                                     (court dates, the outcome, ...) are the Witness Care
//                                     Unit's to tell.
//   ReferralRouted                    victim.referral_made, naming who will contact them
//                                     and by when (Right 4), when an external referral
//                                     was made
//   ReferralStatusChanged OFFERED     provider.new_offer to the provider's referral address
//   a reminder timer                  provider.reminder, half way to the offer's deadline
//   StaffAlert                        staff.deadline_breach (a Code breach),
//                                     staff.delivery_failed, or staff.urgent_case (a
//                                     victim at immediate risk waiting, or no provider
//                                     left), to the Hub team's mailbox
//
// Each message's id is derived from the causing event's id, the template and the recipient
// (MessageIdFor), so a redelivered event makes the same message, which the outbox already
// has. A victim message carries its contact plan (contact_policy.h) and the sealed personal
// data, never a clear name or address; `decisions` explains the plan.
#ifndef HUB_SERVICES_NOTIFICATION_MESSAGES_H_
#define HUB_SERVICES_NOTIFICATION_MESSAGES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#include "hub/events/v1/events.pb.h"
#include "hub/notification/v1/notification.pb.h"

namespace hub::notification {

// What messages say about the hub, and where its people work.
struct HubDetails {
  std::string support_phone = "0300 123 4567";
  std::string name_en = "Victim and Witness Hub";
  std::string name_cy = "Hwb Dioddefwyr a Thystion";
  // https links; a referral's, case's id is appended.
  std::string portal_url = "https://portal.victimhub.example/referrals/";
  std::string console_url = "https://console.victimhub.example/cases/";
  // The Hub team's mailbox for staff messages.
  std::string staff_email = "hub-team@victimhub.example";
  // Reasonable hours for texts and calls to routes without safe times: [start, end)
  // minutes after midnight, UK time.
  int reasonable_hours_start_minute = 8 * 60;
  int reasonable_hours_end_minute = 20 * 60;
};

// The event that caused a message.
struct Cause {
  std::string event_id;
  std::string topic;
};

// The victim messages a (re-)assessment calls for: none, or the acknowledgement and maybe
// the consent request, or a case update.
std::vector<hub::notification::v1::OutgoingMessage> VictimMessagesFor(
    const hub::events::v1::NeedsAssessed& assessment, const Cause& cause, const HubDetails& hub,
    absl::Time now);

// victim.referral_made when the decision made an external referral; nullopt otherwise.
std::optional<hub::notification::v1::OutgoingMessage> ReferralMadeFor(
    const hub::events::v1::ReferralRouted& routed, const Cause& cause, const HubDetails& hub,
    absl::Time now);

// provider.new_offer (or provider.reminder when `reminder`) for an OFFERED status, to
// `address` (the provider's referral email).
hub::notification::v1::OutgoingMessage ProviderOfferFor(
    const hub::events::v1::ReferralStatusChanged& offered, const Cause& cause,
    const HubDetails& hub, const std::string& address, bool reminder, absl::Time now);

// The staff message for an alert, or nullopt when the alert has no message of its own
// (it is on the staff dashboard).
std::optional<hub::notification::v1::OutgoingMessage> StaffMessageFor(
    const hub::events::v1::StaffAlert& alert, const Cause& cause, const HubDetails& hub,
    absl::Time now);

// The template of a milestone's update, or "" when there is none.
absl::string_view UpdateTemplateFor(hub::intake::v1::MilestoneType milestone);

}  // namespace hub::notification

#endif  // HUB_SERVICES_NOTIFICATION_MESSAGES_H_
