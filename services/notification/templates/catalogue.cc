#include "services/notification/templates/catalogue.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace hub::notification::templates {
namespace {

// Victims, providers and staff read different things; the lists keep each message's
// variables to what its text needs.
const std::vector<VariableSpec>& AllVariables() {
  static const auto* variables = new std::vector<VariableSpec>{
      // Victim messages.
      {"first_name", true, "The recipient's first name, as they asked to be called.", "Sam",
       "Siân"},
      {"case_reference", true, "The hub's case reference: opaque, no letters that mean anything.",
       "CB-2025-004217", "CB-2025-004217"},
      {"support_phone", true, "The hub's general phone number.", "0300 123 4567", "0300 123 4567"},
      {"hub_name", false, "The hub's name in the recipient's language (it may say 'victim').",
       "Victim and Witness Hub", "Hwb Dioddefwyr a Thystion"},
      {"crime_reference", false, "The police crime reference number.", "CF0123450325",
       "CF0123450325"},
      {"reported_on", false, "The date the crime was reported (FormatDate).", "14 March 2025",
       "14 Mawrth 2025"},
      {"provider_name", false, "The support provider's name (it may name the crime).",
       "Independent Sexual Violence Advocate service",
       "Gwasanaeth Eiriolwr Annibynnol Trais Rhywiol"},
      {"contact_by", true, "The day by which someone will contact them (FormatDayAndDate).",
       "Friday 21 March 2025", "dydd Gwener 21 Mawrth 2025"},
      {"decision_date", false, "The date of the police decision (FormatDate).", "18 March 2025",
       "18 Mawrth 2025"},
      // Provider messages.
      {"referral_reference", true, "The referral's reference: opaque.", "REF-8842-KQ",
       "REF-8842-KQ"},
      {"respond_by", true, "The day by which the provider should accept or decline.",
       "Wednesday 19 March 2025", "dydd Mercher 19 Mawrth 2025"},
      {"offered_on", true, "The date the referral was offered (FormatDate).", "17 March 2025",
       "17 Mawrth 2025"},
      {"portal_url", false, "Link to the referral in the provider portal (https only).",
       "https://referrals.example.org/offers/REF-8842-KQ",
       "https://referrals.example.org/offers/REF-8842-KQ"},
      // Staff messages.
      {"deadline_name", false, "Which deadline, in the recipient's language.",
       "Right 4: referral to support within 2 working days",
       "Hawl 4: atgyfeirio at gymorth o fewn 2 ddiwrnod gwaith"},
      {"due_at", true, "When it was due: day, date and time.", "Tuesday 18 March 2025 23:59",
       "dydd Mawrth 18 Mawrth 2025 23:59"},
      {"case_url", false, "Link to the case in the staff console (https only).",
       "https://hub.example.org/cases/CB-2025-004217",
       "https://hub.example.org/cases/CB-2025-004217"},
      {"waiting_count", true, "How many referrals are waiting (a number).", "37", "37"},
      {"longest_wait_days", true, "The longest wait so far, in days (a number).", "64", "64"},
      {"as_of", true, "When the figures were taken: date and time.", "17 March 2025 09:00",
       "17 Mawrth 2025 09:00"},
      {"dashboard_url", false, "Link to the capacity dashboard (https only).",
       "https://hub.example.org/capacity", "https://hub.example.org/capacity"},
      {"channel_name", true, "The channel that failed, in the recipient's language.", "SMS",
       "neges destun"},
      {"failure_reason", false, "Why delivery failed, as the channel reported it.",
       "The phone number does not exist.", "Nid yw'r rhif ffôn yn bodoli."},
      {"failed_at", true, "When delivery failed: date and time.", "17 March 2025 10:42",
       "17 Mawrth 2025 10:42"},
      {"alert_summary", false,
       "What needs doing, in the recipient's language: a fixed sentence chosen by the kind of "
       "alert, never free text.",
       "Every eligible provider has declined or let the offer lapse. Place the referral by hand.",
       "Mae pob darparwr cymwys wedi gwrthod neu wedi gadael i'r cynnig ddod i ben. Gwnewch yr "
       "atgyfeiriad â llaw."},
      {"raised_at", true, "When the alert was raised: day, date and time.",
       "Monday 17 March 2025 11:05", "dydd Llun 17 Mawrth 2025 11:05"},
  };
  return *variables;
}

const std::vector<MessageSpec>& AllMessages() {
  using enum Audience;
  using enum Channel;
  // A police case update (Right 6) says which decision was made and when. Bail updates use
  // the same variables: the police's Milestone carries no bail end date or conditions, so
  // their templates send the victim to the officer in the case or the hub for those.
  const std::vector<absl::string_view> update = {"first_name", "case_reference",  "support_phone",
                                                 "hub_name",   "crime_reference", "decision_date"};
  static const auto* messages = new std::vector<MessageSpec>{
      {"victim.acknowledgement",
       kVictim,
       {kSms, kEmail, kLetter},
       {"first_name", "case_reference", "support_phone", "hub_name", "crime_reference",
        "reported_on"},
       "Written acknowledgement of a crime reported to police, with information about support "
       "(Victims' Code Right 3)."},
      {"victim.self_referral_acknowledgement",
       kVictim,
       {kSms, kEmail, kLetter},
       {"first_name", "case_reference", "support_phone", "hub_name"},
       "Acknowledgement of a self-referral (no police report needed)."},
      {"victim.consent_request",
       kVictim,
       {kSms, kEmail, kLetter},
       {"first_name", "case_reference", "support_phone", "hub_name"},
       "Consent-seeking contact before a referral that needs explicit consent."},
      {"victim.referral_made",
       kVictim,
       {kSms, kEmail, kLetter},
       {"first_name", "case_reference", "support_phone", "hub_name", "provider_name", "contact_by"},
       "The referral has been made; who will contact them, and by when (Right 4)."},
      {"victim.update.arrest",
       kVictim,
       {kSms, kEmail, kLetter},
       update,
       "Case update: someone was arrested (Right 6)."},
      {"victim.update.interview_under_caution",
       kVictim,
       {kSms, kEmail, kLetter},
       update,
       "Case update: someone was interviewed under caution (Right 6)."},
      {"victim.update.charge",
       kVictim,
       {kSms, kEmail, kLetter},
       update,
       "Case update: someone was charged (Right 6)."},
      {"victim.update.released_under_investigation",
       kVictim,
       {kSms, kEmail, kLetter},
       update,
       "Case update: released without charge while the investigation continues (Right 6)."},
      {"victim.update.released_without_charge",
       kVictim,
       {kSms, kEmail, kLetter},
       update,
       "Case update: released without charge (Right 6)."},
      {"victim.update.bail",
       kVictim,
       {kSms, kEmail, kLetter},
       update,
       "Case update: released on bail; the officer in the case or the hub explains the "
       "conditions (Right 6)."},
      {"victim.update.bail_changed",
       kVictim,
       {kSms, kEmail, kLetter},
       update,
       "Case update: bail or its conditions changed; the officer in the case or the hub "
       "explains them (Right 6)."},
      {"victim.update.no_further_action",
       kVictim,
       {kSms, kEmail, kLetter},
       update,
       "Case update: police decided to take no further action (Right 6)."},
      {"victim.update.not_investigated",
       kVictim,
       {kSms, kEmail, kLetter},
       update,
       "Case update: police decided not to investigate (Right 6)."},
      {"provider.new_offer",
       kProvider,
       {kEmail},
       {"provider_name", "referral_reference", "respond_by", "portal_url", "hub_name"},
       "A new referral is offered to a provider; details only in the portal."},
      {"provider.reminder",
       kProvider,
       {kEmail},
       {"provider_name", "referral_reference", "respond_by", "offered_on", "portal_url",
        "hub_name"},
       "A referral offer is still waiting for the provider's answer."},
      {"staff.deadline_breach",
       kStaff,
       {kEmail},
       {"case_reference", "deadline_name", "due_at", "case_url"},
       "A Victims' Code deadline was missed on a case."},
      {"staff.waiting_list",
       kStaff,
       {kEmail},
       {"provider_name", "waiting_count", "longest_wait_days", "as_of", "dashboard_url"},
       "A provider's waiting list needs attention."},
      {"staff.delivery_failed",
       kStaff,
       {kEmail},
       {"case_reference", "channel_name", "failure_reason", "failed_at", "case_url"},
       "A message to a victim could not be delivered."},
      {"staff.urgent_case",
       kStaff,
       {kEmail},
       {"case_reference", "alert_summary", "raised_at", "case_url"},
       "A victim at immediate risk is waiting for a place, or no provider is left for a "
       "referral: staff must act now."},
  };
  return *messages;
}

constexpr std::array<absl::string_view, 12> kMonthsEn = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};
constexpr std::array<absl::string_view, 12> kMonthsCy = {
    "Ionawr",     "Chwefror", "Mawrth", "Ebrill", "Mai",      "Mehefin",
    "Gorffennaf", "Awst",     "Medi",   "Hydref", "Tachwedd", "Rhagfyr"};

absl::string_view WeekdayName(absl::Weekday weekday, Language language) {
  const bool welsh = language == Language::kWelsh;
  switch (weekday) {
    case absl::Weekday::monday:
      return welsh ? "dydd Llun" : "Monday";
    case absl::Weekday::tuesday:
      return welsh ? "dydd Mawrth" : "Tuesday";
    case absl::Weekday::wednesday:
      return welsh ? "dydd Mercher" : "Wednesday";
    case absl::Weekday::thursday:
      return welsh ? "dydd Iau" : "Thursday";
    case absl::Weekday::friday:
      return welsh ? "dydd Gwener" : "Friday";
    case absl::Weekday::saturday:
      return welsh ? "dydd Sadwrn" : "Saturday";
    case absl::Weekday::sunday:
      return welsh ? "dydd Sul" : "Sunday";
  }
  return "";
}

}  // namespace

const std::vector<VariableSpec>& VariableCatalogue() { return AllVariables(); }

const VariableSpec* FindVariable(absl::string_view name) {
  for (const VariableSpec& variable : AllVariables()) {
    if (variable.name == name) {
      return &variable;
    }
  }
  return nullptr;
}

const std::vector<MessageSpec>& MessageCatalogue() { return AllMessages(); }

const MessageSpec* FindMessage(absl::string_view id) {
  for (const MessageSpec& message : AllMessages()) {
    if (message.id == id) {
      return &message;
    }
  }
  return nullptr;
}

std::vector<Part> PartsOf(Channel channel) {
  switch (channel) {
    case Channel::kSms:
      return {Part::kSms};
    case Channel::kEmail:
      return {Part::kEmailSubject, Part::kEmailText, Part::kEmailHtml};
    case Channel::kLetter:
      return {Part::kLetter};
  }
  return {};
}

std::vector<Part> PartsOf(const MessageSpec& message) {
  std::vector<Part> parts;
  for (Channel channel : message.channels) {
    for (Part part : PartsOf(channel)) {
      if (std::find(parts.begin(), parts.end(), part) == parts.end()) {
        parts.push_back(part);
      }
    }
  }
  return parts;
}

bool MessageHasPart(const MessageSpec& message, Part part) {
  const std::vector<Part> parts = PartsOf(message);
  return std::find(parts.begin(), parts.end(), part) != parts.end();
}

absl::string_view PartFileName(Part part) {
  switch (part) {
    case Part::kSms:
      return "sms.txt";
    case Part::kEmailSubject:
      return "email.subject.txt";
    case Part::kEmailText:
      return "email.txt";
    case Part::kEmailHtml:
      return "email.html";
    case Part::kLetter:
      return "letter.txt";
  }
  return "";
}

absl::string_view PartName(Part part) {
  switch (part) {
    case Part::kSms:
      return "sms";
    case Part::kEmailSubject:
      return "email.subject";
    case Part::kEmailText:
      return "email.text";
    case Part::kEmailHtml:
      return "email.html";
    case Part::kLetter:
      return "letter";
  }
  return "";
}

absl::string_view ChannelName(Channel channel) {
  switch (channel) {
    case Channel::kSms:
      return "sms";
    case Channel::kEmail:
      return "email";
    case Channel::kLetter:
      return "letter";
  }
  return "";
}

absl::string_view AudienceName(Audience audience) {
  switch (audience) {
    case Audience::kVictim:
      return "victim";
    case Audience::kProvider:
      return "provider";
    case Audience::kStaff:
      return "staff";
  }
  return "";
}

bool IsHtml(Part part) { return part == Part::kEmailHtml; }

bool IsDiscreet(Part part) { return part == Part::kSms || part == Part::kEmailSubject; }

bool HasPreview(Part part) { return part == Part::kEmailText || part == Part::kEmailHtml; }

absl::string_view LanguageCode(Language language) {
  return language == Language::kWelsh ? "cy" : "en";
}

Language LanguageForTag(absl::string_view tag) {
  const std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(tag));
  return lower == "cy" || lower == "cy-gb" ? Language::kWelsh : Language::kEnglish;
}

std::string FormatDate(absl::CivilDay day, Language language) {
  const auto& months = language == Language::kWelsh ? kMonthsCy : kMonthsEn;
  return absl::StrCat(day.day(), " ", months[static_cast<size_t>(day.month() - 1)], " ",
                      day.year());
}

std::string FormatDayAndDate(absl::CivilDay day, Language language) {
  return absl::StrCat(WeekdayName(absl::GetWeekday(day), language), " ", FormatDate(day, language));
}

Variables ExampleVariables(const MessageSpec& message, Language language) {
  Variables variables;
  for (absl::string_view name : message.variables) {
    const VariableSpec* spec = FindVariable(name);
    if (spec == nullptr) {
      continue;
    }
    variables[std::string(name)] =
        std::string(language == Language::kWelsh ? spec->example_cy : spec->example_en);
  }
  return variables;
}

}  // namespace hub::notification::templates
