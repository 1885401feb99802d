// The catalogue of messages the hub sends: for each message id, who reads it, the channels it
// may go on, and the exact set of variables the sender provides. The template files in
// deploy/templates are checked against this catalogue when they load (templates.h), so a
// template can only use what the sender gives it, and the sender must give all of it.
//
// Each variable says whether its value may appear where a lock screen or a shared inbox
// shows it (the SMS text, the email subject, the opening of an email body). Values such as a
// provider's name ("Rape Crisis"), the hub's name ("Victim and Witness Hub"), a police crime
// reference or a link may reveal what happened, so they are kept to the body of an email or
// a letter. No variable carries the crime type: no message may say it.
//
// Also here: the language choice rule (Welsh for "cy" and "cy-GB", English otherwise) and
// date formatting in both languages. Everything is constant data; thread-safe.
#ifndef HUB_SERVICES_NOTIFICATION_TEMPLATES_CATALOGUE_H_
#define HUB_SERVICES_NOTIFICATION_TEMPLATES_CATALOGUE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"

namespace hub::notification::templates {

enum class Audience { kVictim, kProvider, kStaff };
enum class Channel { kSms, kEmail, kLetter };
enum class Language { kEnglish, kWelsh };

// One template file per part and language. An SMS is one part; an email is three (subject,
// plain text body, HTML body); a letter is one (the body; the address comes separately).
enum class Part { kSms, kEmailSubject, kEmailText, kEmailHtml, kLetter };

// Variable name → value, as the sender provides them for one message and one language.
using Variables = std::map<std::string, std::string>;

struct VariableSpec {
  absl::string_view name;
  // Whether the value may be shown on a lock screen or in an inbox list: the SMS text, the
  // email subject and the email preview (the opening of the body) may use only these.
  bool lock_screen_safe = false;
  // What the sender puts in it, in the recipient's language where it is words.
  absl::string_view meaning;
  // Realistic values for previews and tests; deliberately indiscreet where a real value
  // may be, so that the tests show such values stay out of the discreet parts.
  absl::string_view example_en;
  absl::string_view example_cy;
};

struct MessageSpec {
  absl::string_view id;  // e.g. "victim.acknowledgement"; also its directory name
  Audience audience = Audience::kVictim;
  std::vector<Channel> channels;
  // Exactly what the sender provides; every one is required and non-empty.
  std::vector<absl::string_view> variables;
  absl::string_view purpose;
};

// Every variable any message provides, in a fixed order.
const std::vector<VariableSpec>& VariableCatalogue();
// nullptr when `name` is not in the catalogue.
const VariableSpec* FindVariable(absl::string_view name);

// Every message, in a fixed order.
const std::vector<MessageSpec>& MessageCatalogue();
// nullptr when `id` is not in the catalogue.
const MessageSpec* FindMessage(absl::string_view id);

// The parts a channel needs, and the parts a message needs over all its channels.
std::vector<Part> PartsOf(Channel channel);
std::vector<Part> PartsOf(const MessageSpec& message);
bool MessageHasPart(const MessageSpec& message, Part part);

// "sms.txt", "email.subject.txt", "email.txt", "email.html", "letter.txt".
absl::string_view PartFileName(Part part);
// "sms", "email.subject", "email.text", "email.html", "letter".
absl::string_view PartName(Part part);
absl::string_view ChannelName(Channel channel);
absl::string_view AudienceName(Audience audience);

// HTML parts escape variables; the others are plain text and do not.
bool IsHtml(Part part);
// The whole part is what a lock screen or an inbox list shows: SMS text and email subject.
bool IsDiscreet(Part part);
// The part has a preview (its opening is shown in inbox lists): the email bodies.
bool HasPreview(Part part);

// "en" or "cy": the directory name of the language.
absl::string_view LanguageCode(Language language);
// The victim's language preference (a BCP 47 tag, any case, surrounding spaces ignored):
// "cy" and "cy-GB" mean Welsh; anything else, including empty or unknown tags, English.
Language LanguageForTag(absl::string_view tag);

// "21 March 2025" / "21 Mawrth 2025".
std::string FormatDate(absl::CivilDay day, Language language);
// "Friday 21 March 2025" / "dydd Gwener 21 Mawrth 2025".
std::string FormatDayAndDate(absl::CivilDay day, Language language);

// The catalogue's example value of every variable `message` provides, in `language`.
Variables ExampleVariables(const MessageSpec& message, Language language);

}  // namespace hub::notification::templates

#endif  // HUB_SERVICES_NOTIFICATION_TEMPLATES_CATALOGUE_H_
