// The hub's message templates: Mustache files in English and Welsh (deploy/templates, one
// directory per message id with `en/` and `cy/` inside), rendered with kainjow mustache.
// docs/templates.md describes the layout and the rules for template authors.
//
// Load checks the whole set against the catalogue (catalogue.h) and refuses all of it, with
// every problem listed by file, when any of these is true: a file the catalogue needs is
// missing, or a file or directory it does not know is present; a file is not UTF-8 or does
// not parse; a tag uses a variable the message does not provide, a partial, a delimiter
// change or a dotted name; an HTML part uses {{{x}}} or {{& x}}, or has no lang attribute
// matching its language; an SMS or subject uses a variable that is not lock-screen safe or
// contains a discreet word; an email's preview (its first `preview_characters` visible
// characters, rendered with short stand-ins for the values) does either; the HTML body
// does not say the same words as the text body; a subject is more than one line; a
// message's English and Welsh parts use different variables; a variable the message
// provides is used by none of its parts in a language. A loaded set is complete and valid,
// so rendering can only fail on the values given.
//
// Render refuses, never returning partial output, when a variable the message provides is
// missing or blank, an unknown variable is given, a value holds control characters (a
// newline is allowed outside one-line parts), a *_url value is not https, a discreet part
// or an email preview would contain a discreet word, or an SMS or subject would be longer
// than its limit. HTML parts escape values; plain-text parts do not.
//
// Immutable after Load; Render is const and thread-safe (each call parses its own copy of
// the template, so no kainjow object is shared between threads).
#ifndef HUB_SERVICES_NOTIFICATION_TEMPLATES_TEMPLATES_H_
#define HUB_SERVICES_NOTIFICATION_TEMPLATES_TEMPLATES_H_

#include <cstddef>
#include <map>
#include <string>
#include <tuple>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#include "services/notification/templates/catalogue.h"
#include "services/notification/templates/discretion.h"

namespace hub::notification::templates {

struct LoadOptions {
  // How much of an email body an inbox list or a lock screen may show.
  size_t preview_characters = 200;
  // GOV.UK Notify's limit for one text message (6 fragments of 153 GSM characters).
  size_t sms_max_characters = 918;
  // GOV.UK Notify's limit for an email subject.
  size_t subject_max_characters = 255;
};

// One channel's worth of rendered text; only the fields of that channel are set.
struct RenderedMessage {
  Channel channel = Channel::kEmail;
  std::string sms;
  std::string email_subject;
  std::string email_text;
  std::string email_html;
  std::string letter;
};

class TemplateSet {
 public:
  // The words list file every template directory holds.
  static constexpr absl::string_view kDiscreetWordsFile = "discreet-words.txt";

  // Loads and checks every message × language × part under `dir`. kNotFound when `dir` is
  // not a directory; kInvalidArgument listing every problem ("<message>/<lang>/<file>:
  // ...") otherwise.
  static absl::StatusOr<TemplateSet> Load(const std::string& dir,
                                          const LoadOptions& options = LoadOptions());

  // Renders one part. kNotFound for an unknown message id or a part the message does not
  // have; kInvalidArgument for bad variables or a discretion breach, naming the variable
  // or the word (never the value, which may be personal data).
  absl::StatusOr<std::string> Render(absl::string_view message_id, Language language, Part part,
                                     const Variables& variables) const;

  // Renders every part of `channel` for the message: all or nothing.
  absl::StatusOr<RenderedMessage> RenderChannel(absl::string_view message_id, Language language,
                                                Channel channel, const Variables& variables) const;

  // The template text of one part as loaded (after BOM removal and CRLF → LF), or nullptr.
  const std::string* Source(absl::string_view message_id, Language language, Part part) const;

  const DiscreetWords& discreet_words() const { return discreet_words_; }
  size_t template_count() const { return sources_.size(); }

 private:
  using Key = std::tuple<std::string, Language, Part>;

  TemplateSet(DiscreetWords discreet_words, LoadOptions options)
      : discreet_words_(std::move(discreet_words)), options_(options) {}

  DiscreetWords discreet_words_;
  LoadOptions options_;
  std::map<Key, std::string> sources_;
};

// deploy/templates of the source tree this library was built from (the directory the
// service's configuration should default to in development).
std::string SourceTreeTemplatesDir();

}  // namespace hub::notification::templates

#endif  // HUB_SERVICES_NOTIFICATION_TEMPLATES_TEMPLATES_H_
