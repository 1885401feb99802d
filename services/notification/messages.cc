#include "services/notification/messages.h"

#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"

#include "services/common/events/cloudevents.h"
#include "services/common/workdays/working_calendar.h"
#include "services/notification/contact_policy.h"
#include "services/notification/outbox/message_store.h"
#include "services/notification/templates/catalogue.h"

namespace hub::notification {
namespace {

using google::protobuf::util::TimeUtil;
using hub::notification::v1::OutgoingMessage;

google::protobuf::Timestamp ToProto(absl::Time time) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(time));
}

absl::Time FromProto(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixMillis(TimeUtil::TimestampToMilliseconds(timestamp));
}

const absl::TimeZone& London() {
  static const absl::TimeZone zone = workdays::LondonTimeZone();
  return zone;
}

absl::CivilDay DayOf(const google::protobuf::Timestamp& timestamp) {
  return absl::ToCivilDay(FromProto(timestamp), London());
}

std::string Date(const google::protobuf::Timestamp& timestamp, templates::Language language) {
  return templates::FormatDate(DayOf(timestamp), language);
}

std::string DayAndDate(const google::protobuf::Timestamp& timestamp, templates::Language language) {
  return templates::FormatDayAndDate(DayOf(timestamp), language);
}

std::string DateAndTime(absl::Time time, templates::Language language) {
  const absl::CivilSecond local = absl::ToCivilSecond(time, London());
  return absl::StrCat(templates::FormatDayAndDate(absl::CivilDay(local), language), " ",
                      absl::FormatCivilTime(local).substr(11, 5));
}

hub::events::v1::Channel ChannelOf(Medium medium) {
  switch (medium) {
    case Medium::kEmail:
      return hub::events::v1::CHANNEL_EMAIL;
    case Medium::kSms:
      return hub::events::v1::CHANNEL_SMS;
    case Medium::kLetter:
      return hub::events::v1::CHANNEL_LETTER;
    case Medium::kCall:
      return hub::events::v1::CHANNEL_CALL_TASK;
  }
  return hub::events::v1::CHANNEL_UNSPECIFIED;
}

// "A and B" / "A a B" ("ac" before a vowel in Welsh).
std::string JoinNames(const std::vector<std::string>& names, templates::Language language) {
  std::string joined;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) {
      if (language != templates::Language::kWelsh) {
        joined += " and ";
      } else {
        const char first = names[i].empty() ? 'x' : absl::ascii_tolower(names[i][0]);
        joined += absl::StrContains("aeiouwy", first) ? " ac " : " a ";
      }
    }
    joined += names[i];
  }
  return joined;
}

// The case reference a victim or staff member is given: the case id, which says nothing.
std::string CaseReference(const std::string& case_id) { return case_id; }

// A referral's reference in a provider's inbox: "R-" and 10 hex digits of its id's hash.
// The id itself names the provider ("...:young-victims"), which a lock screen must not show;
// the portal link carries the id.
std::string ReferralReference(const std::string& referral_id) {
  return absl::StrCat("R-", absl::AsciiStrToUpper(events::Sha256Hex(referral_id).substr(0, 10)));
}

// A message to the victim of `assessment`, with its plan and sealed contact details.
OutgoingMessage VictimMessage(const hub::events::v1::NeedsAssessed& assessment,
                              absl::string_view template_id, const Cause& cause,
                              const HubDetails& hub, absl::Time now) {
  const hub::events::v1::CrimeReported& crime = assessment.crime();
  const hub::intake::v1::Victim& victim = crime.report().victims(0);
  const templates::Language language = templates::LanguageForTag(victim.language());

  OutgoingMessage message;
  message.set_message_id(outbox::MessageIdFor(cause.event_id, template_id, "victim"));
  message.set_case_id(assessment.case_id());
  message.set_audience("victim");
  message.set_template_id(std::string(template_id));
  message.set_language(std::string(templates::LanguageCode(language)));
  message.set_cause_event_id(cause.event_id);
  message.set_cause_topic(cause.topic);
  // An assessment's messages are history of the assessed case: they must not move it to
  // NOTIFIED before routing has decided (ReferralMadeFor raises it).
  message.set_history_stage(hub::cases::v1::STAGE_ASSESSED);
  *message.mutable_created_at() = ToProto(now);
  *message.mutable_updated_at() = ToProto(now);
  *message.mutable_victim() = victim;
  if (crime.has_personal_data()) {
    *message.mutable_personal_data() = crime.personal_data();
  }
  auto& variables = *message.mutable_variables();
  variables["case_reference"] = CaseReference(assessment.case_id());
  variables["support_phone"] = hub.support_phone;
  variables["hub_name"] = language == templates::Language::kWelsh ? hub.name_cy : hub.name_en;

  ContactSituation situation = VictimSituation(assessment, now);
  situation.reasonable_hours_start_minute = hub.reasonable_hours_start_minute;
  situation.reasonable_hours_end_minute = hub.reasonable_hours_end_minute;
  const ContactPlan plan = PlanContact(situation);
  message.set_use_guardian(situation.guardian);
  for (const std::string& decision : plan.decisions) {
    message.add_decisions(decision);
  }
  for (const RouteChoice& choice : plan.choices) {
    hub::notification::v1::PlannedRoute* route = message.add_plan();
    route->set_channel(ChannelOf(choice.medium));
    route->set_route_index(choice.route_index);
    *route->mutable_not_before() = ToProto(choice.not_before);
    route->set_voicemail_allowed(choice.voicemail_allowed);
    route->set_reason(choice.reason);
  }
  if (plan.choices.empty()) {
    message.set_state(hub::notification::v1::MESSAGE_STATE_WITHHELD);
    message.set_final_reason(plan.no_contact_reason.empty() ? "no way to contact the victim"
                                                            : plan.no_contact_reason);
  } else {
    message.set_state(hub::notification::v1::MESSAGE_STATE_PENDING);
  }
  return message;
}

bool ConsentContactNeeded(const hub::events::v1::NeedsAssessed& assessment) {
  return assessment.consent_required() && assessment.has_consent_contact_due() &&
         assessment.consent_status() != hub::intake::v1::CONSENT_STATUS_GIVEN &&
         assessment.consent_status() != hub::intake::v1::CONSENT_STATUS_DECLINED &&
         assessment.consent_status() != hub::intake::v1::CONSENT_STATUS_WITHDRAWN;
}

}  // namespace

absl::string_view UpdateTemplateFor(hub::intake::v1::MilestoneType milestone) {
  switch (milestone) {
    case hub::intake::v1::MILESTONE_TYPE_ARREST:
      return "victim.update.arrest";
    case hub::intake::v1::MILESTONE_TYPE_INTERVIEW_UNDER_CAUTION:
      return "victim.update.interview_under_caution";
    case hub::intake::v1::MILESTONE_TYPE_CHARGE:
      return "victim.update.charge";
    case hub::intake::v1::MILESTONE_TYPE_BAIL:
      return "victim.update.bail";
    case hub::intake::v1::MILESTONE_TYPE_BAIL_CHANGED:
      return "victim.update.bail_changed";
    case hub::intake::v1::MILESTONE_TYPE_RELEASED_WITHOUT_CHARGE:
      return "victim.update.released_without_charge";
    case hub::intake::v1::MILESTONE_TYPE_RELEASED_UNDER_INVESTIGATION:
      return "victim.update.released_under_investigation";
    case hub::intake::v1::MILESTONE_TYPE_NO_FURTHER_ACTION:
      return "victim.update.no_further_action";
    case hub::intake::v1::MILESTONE_TYPE_DECISION_NOT_TO_INVESTIGATE:
      return "victim.update.not_investigated";
    default:
      return "";
  }
}

std::vector<OutgoingMessage> VictimMessagesFor(const hub::events::v1::NeedsAssessed& assessment,
                                               const Cause& cause, const HubDetails& hub,
                                               absl::Time now) {
  std::vector<OutgoingMessage> messages;
  if (assessment.crime().report().victims_size() != 1) {
    return messages;
  }
  const hub::intake::v1::Victim& victim = assessment.crime().report().victims(0);
  const templates::Language language = templates::LanguageForTag(victim.language());
  const bool self_referral = assessment.crime().origin() == hub::events::v1::ORIGIN_SELF_REFERRAL;

  if (assessment.trigger() == hub::events::v1::ASSESSMENT_TRIGGER_INITIAL ||
      (assessment.trigger() == hub::events::v1::ASSESSMENT_TRIGGER_UNSPECIFIED &&
       assessment.sequence() <= 1)) {
    OutgoingMessage acknowledgement = VictimMessage(
        assessment,
        self_referral ? "victim.self_referral_acknowledgement" : "victim.acknowledgement", cause,
        hub, now);
    if (!self_referral) {
      auto& variables = *acknowledgement.mutable_variables();
      variables["crime_reference"] = assessment.crime().report().crime_reference();
      variables["reported_on"] = Date(assessment.crime().report().reported_at(), language);
    }
    messages.push_back(std::move(acknowledgement));
    if (ConsentContactNeeded(assessment)) {
      messages.push_back(VictimMessage(assessment, "victim.consent_request", cause, hub, now));
    }
    return messages;
  }

  if (assessment.trigger() == hub::events::v1::ASSESSMENT_TRIGGER_MILESTONE) {
    for (const hub::events::v1::CaseUpdateDeadline& deadline : assessment.case_update_deadlines()) {
      if (deadline.source_event_id() != assessment.trigger_event_id()) {
        continue;
      }
      const absl::string_view template_id = UpdateTemplateFor(deadline.milestone());
      if (template_id.empty()) {
        continue;
      }
      OutgoingMessage update = VictimMessage(assessment, template_id, cause, hub, now);
      auto& variables = *update.mutable_variables();
      variables["crime_reference"] = assessment.crime().report().crime_reference();
      variables["decision_date"] = Date(deadline.decided_at(), language);
      messages.push_back(std::move(update));
    }
  }
  return messages;
}

std::optional<OutgoingMessage> ReferralMadeFor(const hub::events::v1::ReferralRouted& routed,
                                               const Cause& cause, const HubDetails& hub,
                                               absl::Time now) {
  const hub::events::v1::NeedsAssessed& assessment = routed.assessment();
  if (!routed.external() || routed.referrals_size() == 0 ||
      assessment.crime().report().victims_size() != 1) {
    return std::nullopt;
  }
  std::vector<std::string> names;
  for (const hub::events::v1::RoutedReferral& referral : routed.referrals()) {
    if (!referral.provider_name().empty()) {
      names.push_back(referral.provider_name());
    }
  }
  if (names.empty()) {
    return std::nullopt;
  }
  const templates::Language language =
      templates::LanguageForTag(assessment.crime().report().victims(0).language());
  OutgoingMessage message = VictimMessage(assessment, "victim.referral_made", cause, hub, now);
  message.set_referral_id(routed.referral_id());
  message.set_history_stage(hub::cases::v1::STAGE_NOTIFIED);
  auto& variables = *message.mutable_variables();
  variables["provider_name"] = JoinNames(names, language);
  const google::protobuf::Timestamp contact_by = assessment.has_first_contact_due()
                                                     ? assessment.first_contact_due()
                                                     : ToProto(now + absl::Hours(48));
  variables["contact_by"] = DayAndDate(contact_by, language);
  return message;
}

OutgoingMessage ProviderOfferFor(const hub::events::v1::ReferralStatusChanged& offered,
                                 const Cause& cause, const HubDetails& hub,
                                 const std::string& address, bool reminder, absl::Time now) {
  const absl::string_view template_id = reminder ? "provider.reminder" : "provider.new_offer";
  OutgoingMessage message;
  message.set_message_id(outbox::MessageIdFor(cause.event_id, template_id,
                                              absl::StrCat("provider:", offered.provider_id())));
  message.set_case_id(offered.case_id());
  message.set_referral_id(offered.referral_id());
  message.set_audience("provider");
  message.set_history_stage(hub::cases::v1::STAGE_ROUTED);
  message.set_template_id(std::string(template_id));
  message.set_language("en");
  message.set_address(address);
  message.set_cause_event_id(cause.event_id);
  message.set_cause_topic(cause.topic);
  *message.mutable_created_at() = ToProto(now);
  *message.mutable_updated_at() = ToProto(now);
  auto& variables = *message.mutable_variables();
  variables["provider_name"] = offered.provider_name();
  variables["referral_reference"] = ReferralReference(offered.referral_id());
  variables["respond_by"] =
      DateAndTime(FromProto(offered.respond_by()), templates::Language::kEnglish);
  variables["portal_url"] = absl::StrCat(hub.portal_url, offered.referral_id());
  variables["hub_name"] = hub.name_en;
  if (reminder) {
    variables["offered_on"] = Date(offered.changed_at(), templates::Language::kEnglish);
  }
  hub::notification::v1::PlannedRoute* route = message.add_plan();
  route->set_channel(hub::events::v1::CHANNEL_EMAIL);
  route->set_route_index(-1);
  *route->mutable_not_before() = ToProto(now);
  route->set_reason("the provider's referral address in the directory");
  message.add_decisions("provider: email to the referral address in the directory");
  message.set_state(hub::notification::v1::MESSAGE_STATE_PENDING);
  return message;
}

std::optional<OutgoingMessage> StaffMessageFor(const hub::events::v1::StaffAlert& alert,
                                               const Cause& cause, const HubDetails& hub,
                                               absl::Time now) {
  absl::string_view template_id;
  std::map<std::string, std::string> variables;
  const std::string case_url = absl::StrCat(hub.console_url, alert.case_id());
  switch (alert.kind()) {
    case hub::events::v1::STAFF_ALERT_KIND_REFERRAL_DEADLINE_BREACHED:
      template_id = "staff.deadline_breach";
      variables = {{"case_reference", CaseReference(alert.case_id())},
                   {"deadline_name", "Referral to support (Victims' Code Right 4)"},
                   {"due_at", DateAndTime(alert.has_deadline() ? FromProto(alert.deadline())
                                                               : FromProto(alert.raised_at()),
                                          templates::Language::kEnglish)},
                   {"case_url", case_url}};
      break;
    case hub::events::v1::STAFF_ALERT_KIND_DELIVERY_FAILED:
      template_id = "staff.delivery_failed";
      variables = {
          {"case_reference",
           alert.case_id().empty() ? alert.message_id() : CaseReference(alert.case_id())},
          {"channel_name", alert.channel()},
          {"failure_reason",
           alert.failure_reason().empty() ? std::string("unknown") : alert.failure_reason()},
          {"failed_at", DateAndTime(FromProto(alert.raised_at()), templates::Language::kEnglish)},
          {"case_url", case_url}};
      break;
    case hub::events::v1::STAFF_ALERT_KIND_IMMEDIATE_RISK_WAITING:
    case hub::events::v1::STAFF_ALERT_KIND_NO_PROVIDER_LEFT:
      template_id = "staff.urgent_case";
      variables = {
          {"case_reference", CaseReference(alert.case_id())},
          {"alert_summary",
           alert.kind() == hub::events::v1::STAFF_ALERT_KIND_IMMEDIATE_RISK_WAITING
               ? "A victim at immediate risk is waiting for a place with a provider. Act now: "
                 "find support today and review the safety plan."
               : "Every eligible provider has declined or let the offer lapse. Place the "
                 "referral by hand."},
          {"raised_at", DateAndTime(FromProto(alert.raised_at()), templates::Language::kEnglish)},
          {"case_url", case_url}};
      break;
    default:
      return std::nullopt;
  }
  OutgoingMessage message;
  message.set_message_id(outbox::MessageIdFor(cause.event_id, template_id, "staff"));
  message.set_case_id(alert.case_id());
  message.set_referral_id(alert.referral_id());
  message.set_audience("staff");
  message.set_history_stage(hub::cases::v1::STAGE_ROUTED);
  message.set_template_id(std::string(template_id));
  message.set_language("en");
  message.set_address(hub.staff_email);
  message.set_cause_event_id(cause.event_id);
  message.set_cause_topic(cause.topic);
  *message.mutable_created_at() = ToProto(now);
  *message.mutable_updated_at() = ToProto(now);
  message.mutable_variables()->insert(variables.begin(), variables.end());
  hub::notification::v1::PlannedRoute* route = message.add_plan();
  route->set_channel(hub::events::v1::CHANNEL_EMAIL);
  route->set_route_index(-1);
  *route->mutable_not_before() = ToProto(now);
  route->set_reason("the Hub team's mailbox");
  message.add_decisions("staff: email to the Hub team's mailbox");
  message.set_state(hub::notification::v1::MESSAGE_STATE_PENDING);
  return message;
}

}  // namespace hub::notification
