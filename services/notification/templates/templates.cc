#include "services/notification/templates/templates.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

#include "services/common/status/status_macros.h"
#include "services/notification/templates/mustache.h"

namespace hub::notification::templates {
namespace {

namespace fs = std::filesystem;

constexpr std::array<Language, 2> kLanguages = {Language::kEnglish, Language::kWelsh};

// One Mustache tag as kainjow reads it with the default {{ }} delimiters. The scanner only
// finds names to check them; kainjow does all parsing and rendering.
struct Tag {
  enum class Kind {
    kVariable,
    kUnescaped,
    kSection,
    kInverted,
    kClose,
    kComment,
    kPartial,
    kDelimiter
  };
  Kind kind = Kind::kVariable;
  std::string name;
  std::string text;  // the whole tag, for messages
  size_t offset = 0;
};

int LineOf(absl::string_view source, size_t offset) {
  const absl::string_view before = source.substr(0, offset);
  return 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
}

// Mirrors kainjow's parser: "{{{" opens a triple tag closed by "}}}", anything else "{{" is
// closed by the next "}}"; the contents are trimmed and the first character says the kind.
// Unclosed tags are left to kainjow, which has already refused them.
std::vector<Tag> ScanTags(absl::string_view source) {
  std::vector<Tag> tags;
  size_t pos = 0;
  while (true) {
    const size_t start = source.find("{{", pos);
    if (start == absl::string_view::npos) {
      break;
    }
    const bool triple = start + 2 < source.size() && source[start + 2] == '{';
    const absl::string_view close = triple ? "}}}" : "}}";
    const size_t contents_start = start + (triple ? 3 : 2);
    const size_t end = source.find(close, contents_start);
    if (end == absl::string_view::npos) {
      break;
    }
    Tag tag;
    tag.offset = start;
    tag.text = std::string(source.substr(start, end + close.size() - start));
    absl::string_view contents =
        absl::StripAsciiWhitespace(source.substr(contents_start, end - contents_start));
    if (triple) {
      tag.kind = Tag::Kind::kUnescaped;
    } else if (!contents.empty()) {
      switch (contents.front()) {
        case '#':
          tag.kind = Tag::Kind::kSection;
          break;
        case '^':
          tag.kind = Tag::Kind::kInverted;
          break;
        case '/':
          tag.kind = Tag::Kind::kClose;
          break;
        case '>':
          tag.kind = Tag::Kind::kPartial;
          break;
        case '&':
          tag.kind = Tag::Kind::kUnescaped;
          break;
        case '!':
          tag.kind = Tag::Kind::kComment;
          break;
        case '=':
          tag.kind = Tag::Kind::kDelimiter;
          break;
        default:
          break;
      }
      if (tag.kind != Tag::Kind::kVariable) {
        contents = absl::StripAsciiWhitespace(contents.substr(1));
      }
    }
    tag.name = std::string(contents);
    tags.push_back(std::move(tag));
    pos = end + close.size();
  }
  return tags;
}

bool IsVariableName(absl::string_view name) {
  if (name.empty() || !absl::ascii_islower(static_cast<unsigned char>(name.front()))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return absl::ascii_islower(byte) || absl::ascii_isdigit(byte) || c == '_';
  });
}

bool Provides(const MessageSpec& message, absl::string_view name) {
  return std::find(message.variables.begin(), message.variables.end(), name) !=
         message.variables.end();
}

// kainjow reports "... at <byte offset>"; authors want a line number.
std::string WithLine(absl::string_view error, absl::string_view source) {
  const size_t at = error.rfind(" at ");
  size_t offset = 0;
  if (at != absl::string_view::npos && absl::SimpleAtoi(error.substr(at + 4), &offset)) {
    return absl::StrCat(error, " (line ", LineOf(source, offset), ")");
  }
  return std::string(error);
}

// Renders with kainjow and trims the ends: a comment or section line at either end leaves
// blank lines that no part wants.
absl::StatusOr<std::string> RenderSource(const std::string& source, bool html,
                                         const Variables& values) {
  HUB_ASSIGN_OR_RETURN(std::string out, RenderMustache(source, values, html));
  return std::string(absl::StripAsciiWhitespace(out));
}

bool ReadFile(const fs::path& path, std::string* contents) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *contents = buffer.str();
  return true;
}

// Short stand-ins for values when checking a template: no letters (so they never form a
// discreet word) and shorter than real values (so a preview check on them covers at least
// as much of the template as any real rendering shows).
std::string Probe(size_t index) { return absl::StrCat("\x01", index, "\x02"); }

Variables ProbeValues(const MessageSpec& message) {
  Variables values;
  for (size_t i = 0; i < message.variables.size(); ++i) {
    values[std::string(message.variables[i])] = Probe(i);
  }
  return values;
}

// Puts the variable names back in place of the stand-ins, for messages.
std::string Readable(absl::string_view probed, const MessageSpec& message) {
  std::vector<std::pair<std::string, std::string>> replacements;
  for (size_t i = 0; i < message.variables.size(); ++i) {
    replacements.emplace_back(Probe(i), absl::StrCat("{{", message.variables[i], "}}"));
  }
  return absl::StrReplaceAll(probed, replacements);
}

std::string ShowDifference(absl::string_view text, absl::string_view html,
                           const MessageSpec& message) {
  size_t i = 0;
  while (i < text.size() && i < html.size() && text[i] == html[i]) {
    ++i;
  }
  const size_t from = i > 30 ? i - 30 : 0;
  return absl::StrCat("after \"", Readable(text.substr(from, i - from), message),
                      "\" the text says \"", Readable(text.substr(i, 40), message),
                      "\" and the HTML says \"", Readable(html.substr(i, 40), message), "\"");
}

std::string JoinNames(const std::set<std::string>& names) {
  return names.empty() ? "nothing" : absl::StrJoin(names, ", ");
}

class Problems {
 public:
  void Add(absl::string_view file, absl::string_view problem) {
    list_.push_back(absl::StrCat(file, ": ", problem));
  }
  bool empty() const { return list_.empty(); }
  absl::Status ToStatus(const std::string& dir) const {
    return absl::InvalidArgumentError(absl::StrCat("templates in ", dir, " refused, ", list_.size(),
                                                   " problem(s):\n  ",
                                                   absl::StrJoin(list_, "\n  ")));
  }

 private:
  std::vector<std::string> list_;
};

// Files and directories that do not belong: a stray file is usually a misspelt part name,
// and a stray directory a message id that was renamed.
void CheckLayout(const fs::path& root, Problems& problems) {
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(root, error)) {
    const std::string name = entry.path().filename().string();
    if (absl::StartsWith(name, ".")) {
      continue;
    }
    if (!entry.is_directory()) {
      if (name != "README.md" && name != TemplateSet::kDiscreetWordsFile) {
        problems.Add(name,
                     "unexpected file: only message directories, README.md and "
                     "discreet-words.txt belong here");
      }
      continue;
    }
    const MessageSpec* message = FindMessage(name);
    if (message == nullptr) {
      problems.Add(name + "/", "not a message id in the catalogue (catalogue.cc)");
      continue;
    }
    for (const fs::directory_entry& language : fs::directory_iterator(entry.path(), error)) {
      const std::string language_name = language.path().filename().string();
      if (absl::StartsWith(language_name, ".")) {
        continue;
      }
      const std::string language_path = absl::StrCat(name, "/", language_name);
      if (!language.is_directory() || (language_name != "en" && language_name != "cy")) {
        problems.Add(language_path, "unexpected: only en/ and cy/ belong in a message directory");
        continue;
      }
      std::vector<std::string> expected;
      for (Part part : PartsOf(*message)) {
        expected.emplace_back(PartFileName(part));
      }
      for (const fs::directory_entry& file : fs::directory_iterator(language.path(), error)) {
        const std::string file_name = file.path().filename().string();
        if (absl::StartsWith(file_name, ".")) {
          continue;
        }
        if (std::find(expected.begin(), expected.end(), file_name) == expected.end()) {
          problems.Add(
              absl::StrCat(language_path, "/", file_name),
              absl::StrCat("unexpected file: ", name, " has only ", absl::StrJoin(expected, ", ")));
        }
      }
    }
  }
}

// Checks one template on its own. Returns the variables it uses, or nullopt when it cannot
// be used (the problems are recorded).
std::optional<std::set<std::string>> CheckTemplate(const std::string& file, std::string& source,
                                                   const MessageSpec& message, Language language,
                                                   Part part, Problems& problems) {
  if (!IsValidUtf8(source)) {
    problems.Add(file, "not valid UTF-8 (save it as UTF-8)");
    return std::nullopt;
  }
  if (absl::StartsWith(source, "\xEF\xBB\xBF")) {
    source.erase(0, 3);  // a byte-order mark some editors add
  }
  source = absl::StrReplaceAll(source, {{"\r\n", "\n"}});
  if (absl::StripAsciiWhitespace(source).empty()) {
    problems.Add(file, "empty");
    return std::nullopt;
  }
  if (const std::string error = MustacheParseError(source); !error.empty()) {
    problems.Add(file, absl::StrCat("does not parse: ", WithLine(error, source)));
    return std::nullopt;
  }
  bool usable = true;
  std::set<std::string> used;
  for (const Tag& tag : ScanTags(source)) {
    const std::string where = absl::StrCat("line ", LineOf(source, tag.offset), ": ", tag.text);
    switch (tag.kind) {
      case Tag::Kind::kComment:
        continue;
      case Tag::Kind::kPartial:
        problems.Add(file, absl::StrCat(where, " is a partial; each template is one file"));
        usable = false;
        continue;
      case Tag::Kind::kDelimiter:
        problems.Add(file, absl::StrCat(where, " changes the delimiters, which is not allowed"));
        usable = false;
        continue;
      default:
        break;
    }
    if (!IsVariableName(tag.name)) {
      problems.Add(file, absl::StrCat(where, ": \"", tag.name,
                                      "\" is not a variable name (lower-case letters, digits, _)"));
      usable = false;
      continue;
    }
    if (!Provides(message, tag.name)) {
      problems.Add(
          file, absl::StrCat(where, ": variable \"", tag.name, "\" is not provided by ", message.id,
                             " (it provides ", absl::StrJoin(message.variables, ", "), ")"));
      usable = false;
      continue;
    }
    if (IsHtml(part) && tag.kind == Tag::Kind::kUnescaped) {
      problems.Add(file, absl::StrCat(where, " inserts \"", tag.name,
                                      "\" without HTML escaping; write {{", tag.name, "}}"));
      usable = false;
    }
    const VariableSpec* variable = FindVariable(tag.name);
    if (IsDiscreet(part) && (variable == nullptr || !variable->lock_screen_safe)) {
      problems.Add(file, absl::StrCat(where, ": \"", tag.name,
                                      "\" may reveal too much on a lock screen or in an inbox "
                                      "list; use it in the body only"));
      usable = false;
    }
    used.insert(tag.name);
  }
  if (part == Part::kEmailSubject && absl::StrContains(absl::StripAsciiWhitespace(source), '\n')) {
    problems.Add(file, "a subject must be one line");
    usable = false;
  }
  if (IsHtml(part)) {
    const std::string lang = absl::StrCat("lang=\"", LanguageCode(language));
    const size_t at = source.find(lang);
    if (at == std::string::npos || at + lang.size() >= source.size() ||
        (source[at + lang.size()] != '"' && source[at + lang.size()] != '-')) {
      problems.Add(file, absl::StrCat("needs lang=\"", LanguageCode(language),
                                      "\" on <html> so that screen readers speak it right"));
      usable = false;
    }
    if (absl::StrContains(absl::AsciiStrToLower(source), "<script")) {
      problems.Add(file, "has a <script>; email HTML must not");
      usable = false;
    }
  }
  if (!usable) {
    return std::nullopt;
  }
  return used;
}

}  // namespace

absl::StatusOr<TemplateSet> TemplateSet::Load(const std::string& dir, const LoadOptions& options) {
  const fs::path root(dir);
  std::error_code error;
  if (!fs::is_directory(root, error)) {
    return absl::NotFoundError(absl::StrCat(dir, ": not a directory"));
  }
  Problems problems;

  std::optional<DiscreetWords> words;
  std::string words_text;
  if (!ReadFile(root / std::string(kDiscreetWordsFile), &words_text)) {
    problems.Add(kDiscreetWordsFile, "missing: the list of words no discreet part may contain");
  } else if (absl::StatusOr<DiscreetWords> parsed = DiscreetWords::Parse(words_text);
             !parsed.ok()) {
    problems.Add(kDiscreetWordsFile, parsed.status().message());
  } else {
    words = *std::move(parsed);
  }
  CheckLayout(root, problems);

  std::map<Key, std::string> sources;
  for (const MessageSpec& message : MessageCatalogue()) {
    // Variables each part uses, per language, to compare the translations.
    std::map<std::pair<Language, Part>, std::set<std::string>> used_by;
    const Variables probe_values = ProbeValues(message);
    for (Language language : kLanguages) {
      const std::string language_dir = absl::StrCat(message.id, "/", LanguageCode(language));
      bool complete = true;
      std::set<std::string> used_in_language;
      std::map<Part, std::string> probes;
      for (Part part : PartsOf(message)) {
        const std::string file = absl::StrCat(language_dir, "/", PartFileName(part));
        std::string source;
        if (!ReadFile(root / file, &source)) {
          problems.Add(file, absl::StrCat("missing (", message.id, " needs ", PartName(part),
                                          " in ", LanguageCode(language), ")"));
          complete = false;
          continue;
        }
        std::optional<std::set<std::string>> used =
            CheckTemplate(file, source, message, language, part, problems);
        if (!used.has_value()) {
          complete = false;
          continue;
        }
        used_in_language.insert(used->begin(), used->end());
        used_by[{language, part}] = *used;
        absl::StatusOr<std::string> probe = RenderSource(source, IsHtml(part), probe_values);
        if (!probe.ok()) {
          problems.Add(file, probe.status().message());
          complete = false;
          continue;
        }
        probes[part] = *probe;
        sources[Key(std::string(message.id), language, part)] = std::move(source);
      }
      if (!complete) {
        continue;
      }
      for (absl::string_view variable : message.variables) {
        if (used_in_language.count(std::string(variable)) == 0) {
          problems.Add(language_dir + "/", absl::StrCat("variable \"", variable,
                                                        "\" is provided "
                                                        "but no part uses it"));
        }
      }
      for (const auto& [part, probe] : probes) {
        const std::string file = absl::StrCat(language_dir, "/", PartFileName(part));
        if (IsDiscreet(part) && words.has_value()) {
          if (std::optional<std::string> word = words->FindIn(probe)) {
            problems.Add(file, absl::StrCat("contains \"", *word,
                                            "\", a discreet word (discreet-words.txt)"));
          }
        }
        if (!HasPreview(part)) {
          continue;
        }
        const std::string visible = VisibleText(probe, IsHtml(part));
        const std::string preview = FirstCharacters(visible, options.preview_characters);
        if (words.has_value()) {
          if (std::optional<std::string> word = words->FindIn(preview)) {
            problems.Add(file, absl::StrCat("the preview (first ", options.preview_characters,
                                            " characters) contains \"", *word,
                                            "\", a discreet word (discreet-words.txt)"));
          }
        }
        for (size_t i = 0; i < message.variables.size(); ++i) {
          const VariableSpec* variable = FindVariable(message.variables[i]);
          const size_t at = visible.find(Probe(i));
          if (variable != nullptr && !variable->lock_screen_safe && at != std::string::npos &&
              at < preview.size()) {
            problems.Add(file, absl::StrCat("the preview (first ", options.preview_characters,
                                            " characters) shows \"", variable->name,
                                            "\", which may reveal too much; move it later"));
          }
        }
      }
      if (probes.count(Part::kEmailText) > 0 && probes.count(Part::kEmailHtml) > 0) {
        const std::string text = VisibleText(probes[Part::kEmailText], false);
        const std::string html = VisibleText(probes[Part::kEmailHtml], true);
        if (text != html) {
          problems.Add(absl::StrCat(language_dir, "/", PartFileName(Part::kEmailHtml)),
                       absl::StrCat("does not say the same as email.txt: ",
                                    ShowDifference(text, html, message)));
        }
      }
    }
    for (Part part : PartsOf(message)) {
      const auto english = used_by.find({Language::kEnglish, part});
      const auto welsh = used_by.find({Language::kWelsh, part});
      if (english != used_by.end() && welsh != used_by.end() && english->second != welsh->second) {
        problems.Add(absl::StrCat(message.id, "/cy/", PartFileName(part)),
                     absl::StrCat("uses ", JoinNames(welsh->second), " but the English uses ",
                                  JoinNames(english->second),
                                  ": both languages must carry the same information"));
      }
    }
  }
  if (!problems.empty()) {
    return problems.ToStatus(dir);
  }
  TemplateSet set(*std::move(words), options);
  set.sources_ = std::move(sources);
  return set;
}

absl::StatusOr<std::string> TemplateSet::Render(absl::string_view message_id, Language language,
                                                Part part, const Variables& variables) const {
  const MessageSpec* message = FindMessage(message_id);
  if (message == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown message id \"", message_id, "\""));
  }
  const auto source = sources_.find(Key(std::string(message_id), language, part));
  if (!MessageHasPart(*message, part) || source == sources_.end()) {
    return absl::NotFoundError(
        absl::StrCat("message ", message_id, " has no ", PartName(part), " part"));
  }
  for (absl::string_view name : message->variables) {
    const auto value = variables.find(std::string(name));
    if (value == variables.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(message_id, " needs variable \"", name, "\", which was not given"));
    }
    if (absl::StripAsciiWhitespace(value->second).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(message_id, ": variable \"", name, "\" is empty"));
    }
  }
  for (const auto& [name, value] : variables) {
    if (!Provides(*message, name)) {
      return absl::InvalidArgumentError(
          absl::StrCat(message_id, " does not provide variable \"", name, "\""));
    }
    if (!IsValidUtf8(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat(message_id, ": variable \"", name, "\" is not valid UTF-8"));
    }
    const bool control = std::any_of(value.begin(), value.end(), [](char c) {
      const auto byte = static_cast<unsigned char>(c);
      return (byte < 0x20 && c != '\n') || byte == 0x7F;
    });
    if (control) {
      return absl::InvalidArgumentError(
          absl::StrCat(message_id, ": variable \"", name, "\" holds a control character"));
    }
    if (absl::EndsWith(name, "_url") &&
        (!absl::StartsWith(value, "https://") ||
         std::any_of(value.begin(), value.end(), [](char c) {
           return absl::ascii_isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\'' ||
                  c == '<' || c == '>';
         }))) {
      return absl::InvalidArgumentError(
          absl::StrCat(message_id, ": variable \"", name, "\" is not a plain https:// link"));
    }
  }
  HUB_ASSIGN_OR_RETURN(std::string out, RenderSource(source->second, IsHtml(part), variables));

  const std::string where =
      absl::StrCat(message_id, " ", PartName(part), " (", LanguageCode(language), ")");
  if (part == Part::kEmailSubject && absl::StrContains(out, '\n')) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": a value put a line break into the subject"));
  }
  if (IsDiscreet(part)) {
    if (std::optional<std::string> word = discreet_words_.FindIn(out)) {
      return absl::InvalidArgumentError(absl::StrCat(where, " would show the discreet word \"",
                                                     *word, "\" (it came from a value)"));
    }
  }
  if (HasPreview(part)) {
    const std::string preview =
        FirstCharacters(VisibleText(out, IsHtml(part)), options_.preview_characters);
    if (std::optional<std::string> word = discreet_words_.FindIn(preview)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": the preview would show the discreet word \"", *word, "\" (from a value)"));
    }
  }
  const size_t limit = part == Part::kSms            ? options_.sms_max_characters
                       : part == Part::kEmailSubject ? options_.subject_max_characters
                                                     : 0;
  if (limit > 0 && CountCharacters(out) > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " would be ", CountCharacters(out), " characters, more than ", limit));
  }
  return out;
}

absl::StatusOr<RenderedMessage> TemplateSet::RenderChannel(absl::string_view message_id,
                                                           Language language, Channel channel,
                                                           const Variables& variables) const {
  const MessageSpec* message = FindMessage(message_id);
  if (message == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown message id \"", message_id, "\""));
  }
  if (std::find(message->channels.begin(), message->channels.end(), channel) ==
      message->channels.end()) {
    return absl::NotFoundError(
        absl::StrCat("message ", message_id, " does not go by ", ChannelName(channel)));
  }
  RenderedMessage rendered;
  rendered.channel = channel;
  for (Part part : PartsOf(channel)) {
    HUB_ASSIGN_OR_RETURN(std::string text, Render(message_id, language, part, variables));
    switch (part) {
      case Part::kSms:
        rendered.sms = std::move(text);
        break;
      case Part::kEmailSubject:
        rendered.email_subject = std::move(text);
        break;
      case Part::kEmailText:
        rendered.email_text = std::move(text);
        break;
      case Part::kEmailHtml:
        rendered.email_html = std::move(text);
        break;
      case Part::kLetter:
        rendered.letter = std::move(text);
        break;
    }
  }
  return rendered;
}

const std::string* TemplateSet::Source(absl::string_view message_id, Language language,
                                       Part part) const {
  const auto found = sources_.find(Key(std::string(message_id), language, part));
  return found == sources_.end() ? nullptr : &found->second;
}

std::string SourceTreeTemplatesDir() { return HUB_SOURCE_TEMPLATES_DIR; }

}  // namespace hub::notification::templates
