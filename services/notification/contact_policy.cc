#include "services/notification/contact_policy.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"

#include "services/common/workdays/working_calendar.h"

namespace hub::notification {
namespace {

using hub::intake::v1::ContactRoute;
using hub::intake::v1::SafeTime;
using SafeTimes = google::protobuf::RepeatedPtrField<SafeTime>;

constexpr int kMinutesPerDay = 24 * 60;
// Safe times repeat weekly, so a week and a day always reaches the next opening.
constexpr int kSearchDays = 8;
// Under 18 at the time of the offence: a child, reached through a parent or guardian.
constexpr unsigned kAdultAge = 18;

constexpr std::array<absl::string_view, 5> kSensitiveCategories = {
    "domestic_abuse", "stalking_harassment", "sexual_offences", "rape", "modern_slavery"};
constexpr std::array<absl::string_view, 4> kSensitiveNeeds = {
    "domestic_abuse", "sexual_violence", "stalking", "exploitation_modern_slavery"};

// UK local time. Loaded once (function-local static: thread-safe initialisation). Without
// tzdata (an image missing /usr/share/zoneinfo) this is a fixed UTC+0: summer windows then
// open an hour late by the clock on the wall, which delays a message but never sends one
// outside the window the victim gave in winter time.
const absl::TimeZone& UkTimeZone() {
  static const absl::TimeZone zone = workdays::LondonTimeZone();
  return zone;
}

// ISO 8601 day number (Monday 1 ... Sunday 7), as DayOfWeek numbers them.
int IsoWeekday(absl::CivilDay day) {
  switch (absl::GetWeekday(day)) {
    case absl::Weekday::monday:
      return 1;
    case absl::Weekday::tuesday:
      return 2;
    case absl::Weekday::wednesday:
      return 3;
    case absl::Weekday::thursday:
      return 4;
    case absl::Weekday::friday:
      return 5;
    case absl::Weekday::saturday:
      return 6;
    case absl::Weekday::sunday:
      return 7;
  }
  return 0;
}

bool WellFormed(const SafeTime& window) {
  return window.day() >= hub::intake::v1::DAY_OF_WEEK_UNSPECIFIED &&
         window.day() <= hub::intake::v1::SUNDAY && window.start_minute() >= 0 &&
         window.start_minute() < kMinutesPerDay && window.end_minute() > window.start_minute() &&
         window.end_minute() <= kMinutesPerDay;
}

bool AppliesOn(const SafeTime& window, absl::CivilDay day) {
  return window.day() == hub::intake::v1::DAY_OF_WEEK_UNSPECIFIED ||
         static_cast<int>(window.day()) == IsoWeekday(day);
}

// `local` (UK civil time) is inside this one window.
bool Inside(const SafeTime& window, absl::CivilSecond local) {
  if (!WellFormed(window) || !AppliesOn(window, absl::CivilDay(local))) {
    return false;
  }
  const int minute = local.hour() * 60 + local.minute();
  return minute >= window.start_minute() && minute < window.end_minute();
}

// The instants at which the UK clock first reads `local`: one normally; none that read it
// exactly when the clocks go forward (then the change itself, when the clock jumps past
// it); two when they go back (the hour happens twice).
std::vector<absl::Time> InstantsOf(absl::CivilSecond local) {
  const absl::TimeZone::TimeInfo info = UkTimeZone().At(local);
  switch (info.kind) {
    case absl::TimeZone::TimeInfo::UNIQUE:
      return {info.pre};
    case absl::TimeZone::TimeInfo::SKIPPED:
      return {info.trans};
    case absl::TimeZone::TimeInfo::REPEATED:
      return {info.pre, info.post};
  }
  return {info.pre};
}

bool IsSafe(const ContactRoute& route) {
  return route.safety() == hub::intake::v1::CHANNEL_SAFETY_SAFE;
}

// Anything but SAFE or UNSPECIFIED (including a value this build does not know) is unsafe.
bool IsUnsafe(const ContactRoute& route) {
  return route.safety() != hub::intake::v1::CHANNEL_SAFETY_SAFE &&
         route.safety() != hub::intake::v1::CHANNEL_SAFETY_UNSPECIFIED;
}

std::optional<Medium> WrittenMedium(ContactRoute::Channel channel) {
  switch (channel) {
    case ContactRoute::CHANNEL_EMAIL:
      return Medium::kEmail;
    case ContactRoute::CHANNEL_SMS:
      return Medium::kSms;
    case ContactRoute::CHANNEL_LETTER:
      return Medium::kLetter;
    default:
      return std::nullopt;
  }
}

absl::string_view ChannelName(ContactRoute::Channel channel) {
  switch (channel) {
    case ContactRoute::CHANNEL_PHONE:
      return "phone";
    case ContactRoute::CHANNEL_SMS:
      return "sms";
    case ContactRoute::CHANNEL_EMAIL:
      return "email";
    case ContactRoute::CHANNEL_LETTER:
      return "letter";
    default:
      return "no channel";
  }
}

std::string RouteLabel(int index, const ContactRoute& route) {
  return absl::StrCat("route ", index, " (", ChannelName(route.channel()), ")");
}

// Everything PlanContact works out once per situation.
struct Context {
  const ContactSituation& situation;
  bool sensitive;
  // Why the situation is sensitive, for refusals.
  std::string sensitive_why;
  SafeTimes reasonable_hours;
};

// SMS and calls wake a household: without the victim's own safe times they wait for
// reasonable hours. Email and letters may go at any time.
bool NeedsReasonableHours(Medium medium) {
  return medium == Medium::kSms || medium == Medium::kCall;
}

absl::Time EarliestUse(const Context& context, const ContactRoute& route, Medium medium) {
  if (!route.safe_times().empty()) {
    return NextSafeTime(route.safe_times(), context.situation.now);
  }
  if (NeedsReasonableHours(medium)) {
    return NextSafeTime(context.reasonable_hours, context.situation.now);
  }
  return context.situation.now;
}

std::string WaitNote(const Context& context, const ContactRoute& route, absl::Time not_before) {
  if (not_before <= context.situation.now) {
    return "";
  }
  return route.safe_times().empty() ? "; waits for reasonable hours"
                                    : "; waits for the next safe time";
}

std::string NeverOpens(const ContactRoute& route) {
  return route.safe_times().empty() ? "reasonable hours are configured so they never open"
                                    : "its safe times never open";
}

struct Candidate {
  RouteChoice choice;
  // 0 for SAFE, 1 for UNSPECIFIED.
  int tier = 0;
};

// A written route: its refusal, or a candidate choice.
std::optional<Candidate> ConsiderWritten(const Context& context, int index,
                                         const ContactRoute& route, Medium medium,
                                         std::string& refusal) {
  const ContactSituation& situation = context.situation;
  if (medium == Medium::kLetter && situation.suspect_shares_address) {
    refusal = "refused: the suspect lives at the victim's address";
    return std::nullopt;
  }
  if (context.sensitive && !IsSafe(route)) {
    refusal = absl::StrCat("refused: not marked safe, and ", context.sensitive_why);
    return std::nullopt;
  }
  if (std::find(situation.written_media.begin(), situation.written_media.end(), medium) ==
      situation.written_media.end()) {
    refusal = absl::StrCat("not used: this message has no ", MediumName(medium), " version");
    return std::nullopt;
  }
  const absl::Time not_before = EarliestUse(context, route, medium);
  if (not_before == absl::InfiniteFuture()) {
    refusal = absl::StrCat("refused: ", NeverOpens(route));
    return std::nullopt;
  }
  Candidate candidate;
  candidate.tier = IsSafe(route) ? 0 : 1;
  candidate.choice.medium = medium;
  candidate.choice.route_index = index;
  candidate.choice.not_before = not_before;
  candidate.choice.reason =
      absl::StrCat(MediumName(medium),
                   IsSafe(route) ? " marked safe" : " not marked safe or unsafe, not sensitive",
                   WaitNote(context, route, not_before));
  return candidate;
}

// The call task on route `index` (a phone route, not unsafe, with a finite not_before).
RouteChoice CallChoice(const Context& context, int index, const ContactRoute& route,
                       absl::Time not_before) {
  RouteChoice call;
  call.medium = Medium::kCall;
  call.route_index = index;
  call.not_before = not_before;
  call.voicemail_allowed = route.voicemail_ok() && (IsSafe(route) || !context.sensitive);
  std::string voicemail;
  if (call.voicemail_allowed) {
    voicemail = "; voicemail allowed";
  } else if (!route.voicemail_ok()) {
    voicemail = "; no voicemail: not agreed for this number";
  } else {
    voicemail = "; no voicemail: the number is not marked safe";
  }
  call.reason =
      absl::StrCat(IsSafe(route) ? "phone marked safe"
                                 : "phone not marked safe or unsafe: confirm it is safe to talk",
                   voicemail, WaitNote(context, route, not_before));
  return call;
}

}  // namespace

absl::string_view MediumName(Medium medium) {
  switch (medium) {
    case Medium::kEmail:
      return "email";
    case Medium::kSms:
      return "sms";
    case Medium::kLetter:
      return "letter";
    case Medium::kCall:
      return "call";
  }
  return "call";
}

bool IsSensitiveCrime(const hub::events::v1::NeedsAssessed& assessment) {
  const hub::events::v1::CrimeReported& crime = assessment.crime();
  const hub::intake::v1::CrimeFlags& flags = crime.report().flags();
  if (flags.domestic_abuse() || flags.honour_based_abuse() || flags.modern_slavery() ||
      flags.child_sexual_exploitation()) {
    return true;
  }
  const auto is = [](absl::string_view value) {
    return [value](absl::string_view listed) { return listed == value; };
  };
  if (std::any_of(kSensitiveCategories.begin(), kSensitiveCategories.end(),
                  is(assessment.crime_category()))) {
    return true;
  }
  for (const std::string& need : assessment.needs()) {
    if (std::any_of(kSensitiveNeeds.begin(), kSensitiveNeeds.end(), is(need))) {
      return true;
    }
  }
  switch (crime.self_referral_category()) {
    case hub::intake::v1::SELF_REFERRAL_CATEGORY_SEXUAL_VIOLENCE:
    case hub::intake::v1::SELF_REFERRAL_CATEGORY_DOMESTIC_ABUSE:
    case hub::intake::v1::SELF_REFERRAL_CATEGORY_STALKING_HARASSMENT:
    case hub::intake::v1::SELF_REFERRAL_CATEGORY_EXPLOITATION:
      return true;
    default:
      break;
  }
  // A partner, ex-partner or family member as suspect is domestic abuse whether or not the
  // force flagged it: a missing flag must not put a letter through the abuser's door.
  for (const hub::intake::v1::Victim& victim : crime.report().victims()) {
    switch (victim.relationship_to_suspect()) {
      case hub::intake::v1::RELATIONSHIP_TO_SUSPECT_PARTNER:
      case hub::intake::v1::RELATIONSHIP_TO_SUSPECT_EX_PARTNER:
      case hub::intake::v1::RELATIONSHIP_TO_SUSPECT_FAMILY:
        return true;
      default:
        break;
    }
  }
  return false;
}

ContactSituation VictimSituation(const hub::events::v1::NeedsAssessed& assessment, absl::Time now) {
  ContactSituation situation;
  situation.now = now;
  situation.sensitive_crime = IsSensitiveCrime(assessment);
  situation.written_media = {Medium::kEmail, Medium::kSms, Medium::kLetter};
  const hub::intake::v1::CrimeReport& report = assessment.crime().report();
  if (report.victims().empty()) {
    return situation;
  }
  const hub::intake::v1::Victim& victim = report.victims(0);
  situation.no_contact = victim.no_contact();
  situation.suspect_shares_address = victim.suspect_shares_address();
  // A guardian is recorded only for a child, so a guardian with no age in clear (the date of
  // birth is sealed) is taken as a child's too.
  const bool child = victim.has_age_at_offence() ? victim.age_at_offence() < kAdultAge
                                                 : victim.has_parent_guardian();
  const bool via_guardian = child && victim.has_parent_guardian() && !victim.no_contact();
  situation.guardian = via_guardian;
  const google::protobuf::RepeatedPtrField<ContactRoute>& routes =
      via_guardian ? victim.parent_guardian().contact_routes() : victim.contact_routes();
  // Only what the decision reads is copied: the situation never carries a value or address,
  // even when handed an assessment whose personal data was not sealed.
  situation.routes.reserve(static_cast<std::size_t>(routes.size()));
  for (const ContactRoute& route : routes) {
    ContactRoute& copy = situation.routes.emplace_back();
    copy.set_channel(route.channel());
    copy.set_safety(route.safety());
    *copy.mutable_safe_times() = route.safe_times();
    copy.set_voicemail_ok(route.voicemail_ok());
  }
  return situation;
}

ContactPlan PlanContact(const ContactSituation& situation) {
  ContactPlan plan;
  plan.sensitive = situation.sensitive_crime || situation.suspect_shares_address;
  if (situation.no_contact) {
    plan.no_contact_reason = "the victim asked not to be contacted: nothing is sent";
    plan.decisions.push_back(absl::StrCat("no contact: ", plan.no_contact_reason));
    return plan;
  }

  Context context{situation, plan.sensitive, "", {}};
  if (situation.sensitive_crime) {
    context.sensitive_why = "the crime is sensitive";
  } else if (situation.suspect_shares_address) {
    context.sensitive_why = "the suspect lives at the victim's address";
  }
  SafeTime* hours = context.reasonable_hours.Add();
  hours->set_start_minute(situation.reasonable_hours_start_minute);
  hours->set_end_minute(situation.reasonable_hours_end_minute);

  if (situation.guardian) {
    plan.decisions.emplace_back(
        "routes: the parent's or guardian's, because the victim is under 18");
  }
  if (plan.sensitive) {
    plan.decisions.push_back(absl::StrCat("sensitive: ", context.sensitive_why,
                                          ": written routes and voicemail need a safe mark"));
  }

  const int route_count = static_cast<int>(situation.routes.size());
  // Each route's line after its label; filled in as the route is decided.
  std::vector<std::string> lines(situation.routes.size());
  std::vector<Candidate> written;
  for (int i = 0; i < route_count; ++i) {
    const ContactRoute& route = situation.routes[static_cast<std::size_t>(i)];
    std::string& line = lines[static_cast<std::size_t>(i)];
    if (IsUnsafe(route)) {
      line = "refused: marked unsafe";
      continue;
    }
    if (route.channel() == ContactRoute::CHANNEL_PHONE) {
      continue;  // Decided with the call task below.
    }
    const std::optional<Medium> medium = WrittenMedium(route.channel());
    if (!medium.has_value()) {
      line = "refused: no channel recorded";
      continue;
    }
    std::optional<Candidate> candidate = ConsiderWritten(context, i, route, *medium, line);
    if (candidate.has_value()) {
      written.push_back(*std::move(candidate));
    }
  }
  std::stable_sort(written.begin(), written.end(), [](const Candidate& a, const Candidate& b) {
    return std::pair(a.tier, static_cast<int>(a.choice.medium)) <
           std::pair(b.tier, static_cast<int>(b.choice.medium));
  });
  plan.choices.reserve(written.size() + 1);
  for (Candidate& candidate : written) {
    lines[static_cast<std::size_t>(candidate.choice.route_index)] =
        absl::StrCat("used, choice ", plan.choices.size() + 1, ": ", candidate.choice.reason);
    plan.choices.push_back(std::move(candidate.choice));
  }

  // The call task: the first SAFE phone route, else the first UNSPECIFIED one, whose times
  // open at all.
  std::optional<RouteChoice> call;
  for (const bool want_safe : {true, false}) {
    for (int i = 0; i < route_count && !call.has_value(); ++i) {
      const ContactRoute& route = situation.routes[static_cast<std::size_t>(i)];
      if (route.channel() != ContactRoute::CHANNEL_PHONE || IsUnsafe(route) ||
          IsSafe(route) != want_safe) {
        continue;
      }
      const absl::Time not_before = EarliestUse(context, route, Medium::kCall);
      if (not_before == absl::InfiniteFuture()) {
        lines[static_cast<std::size_t>(i)] = absl::StrCat("refused for calls: ", NeverOpens(route));
        continue;
      }
      call = CallChoice(context, i, route, not_before);
      lines[static_cast<std::size_t>(i)] = absl::StrCat("used for the call task: ", call->reason);
    }
  }
  for (int i = 0; i < route_count; ++i) {
    const ContactRoute& route = situation.routes[static_cast<std::size_t>(i)];
    std::string& line = lines[static_cast<std::size_t>(i)];
    if (line.empty() && route.channel() == ContactRoute::CHANNEL_PHONE && call.has_value()) {
      line = absl::StrCat("not used: route ", call->route_index, " is called instead");
    }
  }

  for (int i = 0; i < route_count; ++i) {
    plan.decisions.push_back(
        absl::StrCat(RouteLabel(i, situation.routes[static_cast<std::size_t>(i)]), ": ",
                     lines[static_cast<std::size_t>(i)]));
  }
  if (written.empty()) {
    plan.decisions.emplace_back("written: no written route may be used: only the call task");
  }
  if (!call.has_value()) {
    call.emplace();
    call->medium = Medium::kCall;
    call->route_index = -1;
    call->not_before = situation.now;
    call->reason =
        "no usable phone number: reach them another way, e.g. through the officer in the case";
    plan.decisions.push_back(absl::StrCat("call task: ", call->reason));
  }
  plan.choices.push_back(*std::move(call));
  return plan;
}

bool WithinSafeTimes(const SafeTimes& windows, absl::Time t) {
  if (windows.empty()) {
    return true;
  }
  const absl::CivilSecond local = absl::ToCivilSecond(t, UkTimeZone());
  return std::any_of(windows.begin(), windows.end(),
                     [local](const SafeTime& window) { return Inside(window, local); });
}

absl::Time EarliestUse(const ContactRoute& route, Medium medium, absl::Time now,
                       int reasonable_hours_start_minute, int reasonable_hours_end_minute) {
  if (!route.safe_times().empty()) {
    return NextSafeTime(route.safe_times(), now);
  }
  if (NeedsReasonableHours(medium)) {
    SafeTimes hours;
    SafeTime* window = hours.Add();
    window->set_start_minute(reasonable_hours_start_minute);
    window->set_end_minute(reasonable_hours_end_minute);
    return NextSafeTime(hours, now);
  }
  return now;
}

absl::Time NextSafeTime(const SafeTimes& windows, absl::Time now) {
  if (WithinSafeTimes(windows, now)) {
    return now;
  }
  const absl::CivilDay today = absl::ToCivilDay(now, UkTimeZone());
  absl::Time next = absl::InfiniteFuture();
  for (int offset = 0; offset <= kSearchDays; ++offset) {
    const absl::CivilDay day = today + offset;
    for (const SafeTime& window : windows) {
      if (!WellFormed(window) || !AppliesOn(window, day)) {
        continue;
      }
      const absl::CivilSecond start = absl::CivilMinute(day) + window.start_minute();
      for (const absl::Time instant : InstantsOf(start)) {
        // A window starting in the hour skipped in spring may not exist at all that day
        // (e.g. 01:00-02:00): the change lands outside it, so check.
        if (instant > now && instant < next &&
            Inside(window, absl::ToCivilSecond(instant, UkTimeZone()))) {
          next = instant;
        }
      }
    }
  }
  return next;
}

}  // namespace hub::notification
