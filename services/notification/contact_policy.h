// The safe-contact decision: whether, how and when the hub may reach a person without
// putting them at risk (Victims' Code Right 3: never, e.g., a letter to a home shared with an
// abuser; the commonest failures of real hubs are the abuser answering the phone and post
// intercepted at a shared home).
//
// PlanContact turns a ContactSituation (the person's contact routes with their safety marks
// and safe times, whether they asked for no contact, whether the suspect lives with them,
// whether the crime is sensitive) into a ContactPlan: the written routes to try, in order,
// then always a call task for Hub staff as the last resort, each with the earliest time it
// may be used; plus one decision line per route for the audit trail. VictimSituation builds
// the situation for the victim of an assessed case; a provider or staff message builds its
// own situation with only the media it has templates for.
//
// The rules (a later rule never overrides an earlier one):
//
// | # | Situation                        | Decision                                        |
// |---|----------------------------------|-------------------------------------------------|
// | 1 | No contact asked for             | No choices at all; no_contact_reason is set     |
// | 2 | A route marked UNSAFE            | Never used, for anything (not even a call)      |
// | 3 | Sensitive situation: a sensitive | Written routes (email, SMS, letter) only when   |
// |   | crime, or the suspect shares the | marked SAFE; UNSPECIFIED ones are refused       |
// |   | victim's address                 |                                                 |
// | 3 | Not sensitive                    | SAFE written routes, then UNSPECIFIED ones      |
// | 4 | Suspect shares the address       | Never a letter, even one marked SAFE            |
// | 5 | Order of written choices         | SAFE before UNSPECIFIED; then email, SMS,       |
// |   |                                  | letter; then route order. Only the media the    |
// |   |                                  | message has templates for are offered           |
// | 6 | Always, last (unless rule 1)     | One call task: the first SAFE phone route, else |
// |   |                                  | the first UNSPECIFIED one (staff confirm it is  |
// |   |                                  | safe to talk), else route_index -1 (reach the   |
// |   |                                  | person another way, e.g. through the officer in |
// |   |                                  | the case). SMS routes are never called          |
// | 6 | Voicemail on the called number   | Sensitive: only SAFE with voicemail_ok.         |
// |   |                                  | Otherwise: voicemail_ok (never UNSAFE)          |
// | 7 | When (not_before)                | `now` inside the route's safe times, else the   |
// |   |                                  | start of its next window. No safe times: email  |
// |   |                                  | and letter at any time, SMS and calls only in   |
// |   |                                  | reasonable hours (08:00-20:00 UK time by        |
// |   |                                  | default). Windows that never open: refused      |
// | 8 | Every route                      | One decision line: index, medium, used or       |
// |   |                                  | refused and why; never a value or an address    |
//
// Safe times and reasonable hours are UK local time (Europe/London, so a 09:00 window means
// 09:00 GMT in winter and 09:00 BST in summer). A window that starts in the hour skipped
// when clocks go forward opens at the change (02:00 BST); one that starts in the hour
// repeated when they go back opens at its first occurrence.
//
// Everything here is pure: no I/O beyond loading the time zone once, deterministic for the
// same input (the caller passes `now`), and safe to call from any number of threads.
#ifndef HUB_SERVICES_NOTIFICATION_CONTACT_POLICY_H_
#define HUB_SERVICES_NOTIFICATION_CONTACT_POLICY_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/repeated_ptr_field.h"

#include "hub/events/v1/events.pb.h"
#include "hub/intake/v1/intake.pb.h"

namespace hub::notification {

// How a message can reach a person.
enum class Medium {
  kEmail,
  kSms,
  kLetter,
  // A call task for Hub staff.
  kCall,
};

// "email", "sms", "letter", "call".
absl::string_view MediumName(Medium medium);

// One way to try, with when and why.
struct RouteChoice {
  Medium medium = Medium::kCall;
  // Index into ContactSituation::routes; -1 for a call task with no usable phone number
  // (staff must reach the person another way, e.g. through the officer in the case).
  int route_index = -1;
  // The situation's `now` when inside the route's safe times (or it has none and the
  // medium may go at any hour), else the start of the next safe window (or of reasonable
  // hours). Never before `now`.
  absl::Time not_before;
  // kCall only: a voicemail may be left on the number.
  bool voicemail_allowed = false;
  // Plain English, no personal data, e.g. "email marked safe".
  std::string reason;
};

struct ContactPlan {
  // Written routes to try in order, each safe to use; then, always last, one kCall choice
  // (the fallback when no written route is usable or every written one fails). Empty only
  // when no contact is allowed.
  std::vector<RouteChoice> choices;
  // One line per route considered, used or refused, and why ("route <i> (<channel>): ..."),
  // plus lines for what shaped the plan: a guardian's routes, a sensitive situation, no
  // written route at all, a call task with no number. No personal data: never a value, an address
  // or a safe time, e.g. "route 2 (letter): refused: the suspect lives at the victim's address".
  std::vector<std::string> decisions;
  // Set (and choices empty) when nothing may be sent at all, e.g. the victim asked for no
  // contact.
  std::string no_contact_reason;
  // The situation was sensitive (rule 3): for the record.
  bool sensitive = false;
};

struct ContactSituation {
  // The person's routes. Only channel, safety, safe_times and voicemail_ok are read; the
  // values and addresses may be empty (they are sealed).
  std::vector<hub::intake::v1::ContactRoute> routes;
  bool no_contact = false;
  bool suspect_shares_address = false;
  // IsSensitiveCrime of the case.
  bool sensitive_crime = false;
  // The routes are the parent's or guardian's, not the victim's (a victim under 18):
  // route_index in the plan indexes the guardian's contact_routes.
  bool guardian = false;
  // The written media the message has templates for (a provider or staff message may
  // only have kEmail). kCall here is ignored: the call task is always offered.
  std::vector<Medium> written_media;
  absl::Time now;
  // Reasonable hours for SMS and calls on routes without safe times, in minutes after
  // midnight UK time: [start, end). Configuration; these are the defaults.
  int reasonable_hours_start_minute = 8 * 60;
  int reasonable_hours_end_minute = 20 * 60;
};

// Domestic abuse, stalking or harassment, a sexual offence (incl. rape and child sexual
// exploitation), honour-based abuse, or modern slavery / trafficking: true when any of the
// crime's flags, the crime category, the need domains or a self-referral's category says
// so, or the victim's recorded relationship to the suspect is a partner, ex-partner or
// family member (domestic abuse even when the force did not flag it).
bool IsSensitiveCrime(const hub::events::v1::NeedsAssessed& assessment);

// The situation for the victim of `assessment` (its crime's first victim): their routes,
// or, for a victim under 18 (age_at_offence; with no age in clear, a recorded
// parent_guardian is taken to mean a child) with a parent_guardian and no no_contact, the
// guardian's routes (guardian set; the same rules apply, including the
// victim's suspect_shares_address). written_media: email, SMS, letter. A case with no
// victim gives a situation with no routes (a call task with no number).
ContactSituation VictimSituation(const hub::events::v1::NeedsAssessed& assessment, absl::Time now);

ContactPlan PlanContact(const ContactSituation& situation);

// Whether `t` is inside one of `windows` (UK local time; a window with
// DAY_OF_WEEK_UNSPECIFIED applies every day; start inclusive, end exclusive). Empty windows
// mean always: the caller limits SMS and calls to reasonable hours. Malformed windows
// (start outside 0..1439, end not after start or past 1440) never match.
bool WithinSafeTimes(const google::protobuf::RepeatedPtrField<hub::intake::v1::SafeTime>& windows,
                     absl::Time t);

// `now` when WithinSafeTimes(windows, now), else the start of the next window, searching up
// to 8 days ahead; absl::InfiniteFuture() when no window opens in that time (only possible
// when every window is malformed).
absl::Time NextSafeTime(
    const google::protobuf::RepeatedPtrField<hub::intake::v1::SafeTime>& windows, absl::Time now);

// The earliest time at or after `now` that `medium` may use `route` (rule 7): the route's
// safe times when it has any; otherwise reasonable hours ([start, end) minutes after
// midnight, UK time) for SMS and calls, and `now` for email and letters. What the outbox
// checks again at the moment of sending, so a retry or a later route never goes outside
// the window the plan was made for.
absl::Time EarliestUse(const hub::intake::v1::ContactRoute& route, Medium medium, absl::Time now,
                       int reasonable_hours_start_minute = 8 * 60,
                       int reasonable_hours_end_minute = 20 * 60);

}  // namespace hub::notification

#endif  // HUB_SERVICES_NOTIFICATION_CONTACT_POLICY_H_
