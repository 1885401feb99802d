// Discretion checks for what a lock screen or a shared inbox shows: the list of words that
// must never appear there (crime types, service names, police and court words, in English
// and Welsh), and the text helpers the checks need — the visible text of an email part,
// its preview, and UTF-8 character counts.
//
// The word list is data (deploy/templates/discreet-words.txt): one entry a line, `#` starts a
// comment, case-insensitive. An entry is one or more words ("rape crisis", "cam-drin") that
// must appear as whole consecutive words; a trailing `*` makes the last word a prefix
// ("victim*" also catches "victims"). Words are runs of letters and digits (any non-ASCII
// byte counts as a letter, so Welsh letters such as "ŵ" stay inside words); everything else,
// including hyphens and apostrophes, separates words. Welsh mutates the start of words
// ("trosedd", "drosedd", "nhrosedd", "throsedd"), so the list spells out the mutated forms.
//
// Immutable after parsing; thread-safe.
#ifndef HUB_SERVICES_NOTIFICATION_TEMPLATES_DISCRETION_H_
#define HUB_SERVICES_NOTIFICATION_TEMPLATES_DISCRETION_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hub::notification::templates {

class DiscreetWords {
 public:
  // Refused, naming the line: an entry with no word in it. An empty list is refused too:
  // it would switch discretion off.
  static absl::StatusOr<DiscreetWords> Parse(absl::string_view text);
  // Reads and parses `path`; errors start with the path.
  static absl::StatusOr<DiscreetWords> Load(const std::string& path);

  // The first entry (as written in the list) that occurs in `text`, or nullopt.
  std::optional<std::string> FindIn(absl::string_view text) const;

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string text;
    std::vector<std::string> words;
    bool last_is_prefix = false;
  };
  std::vector<Entry> entries_;
};

// Lower-cased words of `text` (ASCII letters lower-cased, other bytes kept), split as the
// word list describes.
std::vector<std::string> SplitWords(absl::string_view text);

// What a reader sees of a rendered part, with runs of whitespace collapsed to one space and
// no space at either end. For HTML: the <head>, comments, <style> and <script> are dropped,
// inline tags (a, b, strong, em, i, span, abbr) vanish, other tags become a space, and the
// entities the renderer produces (&amp; &lt; &gt; &quot; &#39; &apos; &nbsp;) are decoded.
// For plain text: a leading "- " or "* " list marker on a line is dropped.
std::string VisibleText(absl::string_view text, bool html);

// The first `count` UTF-8 characters of `text`.
std::string FirstCharacters(absl::string_view text, size_t count);
// The number of UTF-8 characters (code points) in `text`.
size_t CountCharacters(absl::string_view text);
// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
bool IsValidUtf8(absl::string_view text);

}  // namespace hub::notification::templates

#endif  // HUB_SERVICES_NOTIFICATION_TEMPLATES_DISCRETION_H_
