#include "services/notification/templates/discretion.h"

#include <array>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace hub::notification::templates {
namespace {

bool IsWordByte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte >= 0x80 || absl::ascii_isalnum(byte);
}

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Case-insensitive find of `needle` (lower-case ASCII) in `haystack` from `from`.
size_t FindNoCase(absl::string_view haystack, absl::string_view needle, size_t from) {
  if (needle.size() > haystack.size()) {
    return absl::string_view::npos;
  }
  for (size_t i = from; i + needle.size() <= haystack.size(); ++i) {
    if (absl::EqualsIgnoreCase(haystack.substr(i, needle.size()), needle)) {
      return i;
    }
  }
  return absl::string_view::npos;
}

// Removes everything from each `open` to the next `close` (case-insensitive).
std::string DropBlocks(absl::string_view text, absl::string_view open, absl::string_view close) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = FindNoCase(text, open, pos);
    if (start == absl::string_view::npos) {
      break;
    }
    absl::StrAppend(&out, text.substr(pos, start - pos), " ");
    const size_t end = FindNoCase(text, close, start + open.size());
    pos = end == absl::string_view::npos ? text.size() : end + close.size();
  }
  if (pos < text.size()) {
    absl::StrAppend(&out, text.substr(pos));
  }
  return out;
}

bool IsInlineTag(absl::string_view tag) {
  // `tag` is what follows '<': "a href=...", "/strong", ...
  absl::ConsumePrefix(&tag, "/");
  size_t end = 0;
  while (end < tag.size() && absl::ascii_isalnum(static_cast<unsigned char>(tag[end]))) {
    ++end;
  }
  const std::string name = absl::AsciiStrToLower(tag.substr(0, end));
  static constexpr std::array<absl::string_view, 7> kInline = {"a", "b",    "strong", "em",
                                                               "i", "span", "abbr"};
  for (absl::string_view inline_name : kInline) {
    if (name == inline_name) {
      return true;
    }
  }
  return false;
}

std::string StripTags(absl::string_view html) {
  std::string out;
  size_t pos = 0;
  while (pos < html.size()) {
    const size_t open = html.find('<', pos);
    if (open == absl::string_view::npos) {
      break;
    }
    absl::StrAppend(&out, html.substr(pos, open - pos));
    const size_t close = html.find('>', open);
    if (close == absl::string_view::npos) {
      pos = html.size();
      break;
    }
    if (!IsInlineTag(html.substr(open + 1, close - open - 1))) {
      out.push_back(' ');
    }
    pos = close + 1;
  }
  if (pos < html.size()) {
    absl::StrAppend(&out, html.substr(pos));
  }
  return out;
}

std::string DecodeEntities(absl::string_view text) {
  static constexpr std::array<std::pair<absl::string_view, absl::string_view>, 7> kEntities = {{
      {"&lt;", "<"},
      {"&gt;", ">"},
      {"&quot;", "\""},
      {"&#39;", "'"},
      {"&apos;", "'"},
      {"&nbsp;", " "},
      {"&amp;", "&"},
  }};
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    if (text[pos] == '&') {
      bool decoded = false;
      for (const auto& [entity, replacement] : kEntities) {
        if (text.substr(pos, entity.size()) == entity) {
          absl::StrAppend(&out, replacement);
          pos += entity.size();
          decoded = true;
          break;
        }
      }
      if (decoded) {
        continue;
      }
    }
    out.push_back(text[pos]);
    ++pos;
  }
  return out;
}

std::string CollapseWhitespace(absl::string_view text) {
  std::string out;
  bool pending_space = false;
  for (char c : text) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) {
      out.push_back(' ');
      pending_space = false;
    }
    out.push_back(c);
  }
  return out;
}

std::string DropListMarkers(absl::string_view text) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    absl::string_view rest = absl::StripLeadingAsciiWhitespace(line);
    if (absl::StartsWith(rest, "- ") || absl::StartsWith(rest, "* ")) {
      line = rest.substr(2);
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

}  // namespace

absl::StatusOr<DiscreetWords> DiscreetWords::Parse(absl::string_view text) {
  DiscreetWords words;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    const size_t hash = line.find('#');
    if (hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) {
      continue;
    }
    Entry entry;
    entry.text = std::string(line);
    absl::string_view body = line;
    entry.last_is_prefix = absl::ConsumeSuffix(&body, "*");
    entry.words = SplitWords(body);
    if (entry.words.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": \"", line, "\" has no word in it"));
    }
    words.entries_.push_back(std::move(entry));
  }
  if (words.entries_.empty()) {
    return absl::InvalidArgumentError(
        "the list is empty: discretion checks would pass anything, so it is refused");
  }
  return words;
}

absl::StatusOr<DiscreetWords> DiscreetWords::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot be read"));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  absl::StatusOr<DiscreetWords> words = Parse(contents.str());
  if (!words.ok()) {
    return absl::Status(words.status().code(), absl::StrCat(path, ": ", words.status().message()));
  }
  return words;
}

std::optional<std::string> DiscreetWords::FindIn(absl::string_view text) const {
  const std::vector<std::string> words = SplitWords(text);
  for (const Entry& entry : entries_) {
    const size_t n = entry.words.size();
    for (size_t start = 0; start + n <= words.size(); ++start) {
      bool match = true;
      for (size_t k = 0; k < n && match; ++k) {
        const bool prefix = entry.last_is_prefix && k + 1 == n;
        match = prefix ? absl::StartsWith(words[start + k], entry.words[k])
                       : words[start + k] == entry.words[k];
      }
      if (match) {
        return entry.text;
      }
    }
  }
  return std::nullopt;
}

std::vector<std::string> SplitWords(absl::string_view text) {
  std::vector<std::string> words;
  std::string current;
  for (char c : text) {
    if (IsWordByte(c)) {
      current.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    } else if (!current.empty()) {
      words.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) {
    words.push_back(std::move(current));
  }
  return words;
}

std::string VisibleText(absl::string_view text, bool html) {
  if (!html) {
    return CollapseWhitespace(DropListMarkers(text));
  }
  std::string body = DropBlocks(text, "<!--", "-->");
  body = DropBlocks(body, "<head", "</head>");
  body = DropBlocks(body, "<style", "</style>");
  body = DropBlocks(body, "<script", "</script>");
  return CollapseWhitespace(DecodeEntities(StripTags(body)));
}

std::string FirstCharacters(absl::string_view text, size_t count) {
  size_t seen = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (!IsContinuationByte(text[i])) {
      if (seen == count) {
        return std::string(text.substr(0, i));
      }
      ++seen;
    }
  }
  return std::string(text);
}

size_t CountCharacters(absl::string_view text) {
  size_t count = 0;
  for (char c : text) {
    if (!IsContinuationByte(c)) {
      ++count;
    }
  }
  return count;
}

bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    size_t length = 0;
    uint32_t code_point = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      code_point = lead & 0x1Fu;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      code_point = lead & 0x0Fu;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      code_point = lead & 0x07u;
    } else {
      return false;
    }
    if (i + length > text.size()) {
      return false;
    }
    for (size_t k = 1; k < length; ++k) {
      if (!IsContinuationByte(text[i + k])) {
        return false;
      }
      code_point = (code_point << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3Fu);
    }
    static constexpr std::array<uint32_t, 5> kSmallest = {0, 0, 0x80, 0x800, 0x10000};
    if (code_point < kSmallest[length] || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

}  // namespace hub::notification::templates
