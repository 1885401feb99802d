#include "services/common/yamlcheck/yaml_check.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hub::yamlcheck {

void Problems::Add(absl::string_view where, absl::string_view what) {
  messages_.push_back(absl::StrCat(where, ": ", what));
}

absl::Status Problems::ToStatus() const {
  if (messages_.empty()) {
    return absl::OkStatus();
  }
  if (messages_.size() <= kMaxListedProblems) {
    return absl::InvalidArgumentError(absl::StrJoin(messages_, "; "));
  }
  std::vector<std::string> listed(
      messages_.begin(), messages_.begin() + static_cast<std::ptrdiff_t>(kMaxListedProblems));
  return absl::InvalidArgumentError(absl::StrCat(absl::StrJoin(listed, "; "), "; and ",
                                                 messages_.size() - kMaxListedProblems, " more"));
}

std::string Entry::Field(absl::string_view field) const { return absl::StrCat(where_, ".", field); }

void Entry::CheckFields(const std::set<std::string>& known) const {
  for (const auto& item : node_) {
    const std::string key = item.first.IsScalar() ? item.first.Scalar() : "?";
    if (known.count(key) == 0) {
      problems_->Add(where_, absl::StrCat("unknown field '", key, "'"));
    }
  }
}

std::optional<std::string> Entry::String(const std::string& field, bool required) const {
  YAML::Node value = node_[field];
  if (!value) {
    if (required) {
      problems_->Add(Field(field), "is required");
    }
    return std::nullopt;
  }
  if (!value.IsScalar() || value.Scalar().empty()) {
    problems_->Add(Field(field), "must be a non-empty string");
    return std::nullopt;
  }
  return value.Scalar();
}

std::optional<std::string> Entry::Code(const std::string& field) const {
  std::optional<std::string> code = String(field);
  if (code.has_value() && IsUnquotedNumber(node_[field])) {
    problems_->Add(Field(field), absl::StrCat("must be quoted (\"", *code,
                                              "\"): unquoted, YAML reads it as a number"));
    return std::nullopt;
  }
  return code;
}

std::optional<bool> Entry::Bool(const std::string& field, bool required) const {
  YAML::Node value = node_[field];
  if (!value) {
    if (required) {
      problems_->Add(Field(field), "is required");
    }
    return std::nullopt;
  }
  if (value.IsScalar() && (value.Scalar() == "true" || value.Scalar() == "false")) {
    return value.Scalar() == "true";
  }
  problems_->Add(Field(field), "must be true or false");
  return std::nullopt;
}

std::optional<int> Entry::Int(const std::string& field, int min, int max, bool required) const {
  YAML::Node value = node_[field];
  if (!value) {
    if (required) {
      problems_->Add(Field(field), "is required");
    }
    return std::nullopt;
  }
  int number = 0;
  if (!value.IsScalar() || !AllDigits(value.Scalar()) || value.Scalar().size() > 9 ||
      !absl::SimpleAtoi(value.Scalar(), &number) || number < min || number > max) {
    problems_->Add(Field(field),
                   absl::StrCat("must be a whole number from ", min, " to ", max, ", not '",
                                value.IsScalar() ? value.Scalar() : "?", "'"));
    return std::nullopt;
  }
  return number;
}

std::optional<std::vector<std::string>> Entry::IdList(const std::string& field,
                                                      const std::set<std::string>* declared,
                                                      absl::string_view what) const {
  YAML::Node value = node_[field];
  if (!value) {
    problems_->Add(Field(field), "is required");
    return std::nullopt;
  }
  if (!value.IsSequence() || value.size() == 0) {
    problems_->Add(Field(field), absl::StrCat("must be a list of at least one ", what));
    return std::nullopt;
  }
  std::vector<std::string> ids;
  bool ok = true;
  for (const YAML::Node& item : value) {
    if (!item.IsScalar()) {
      problems_->Add(Field(field), absl::StrCat("must be a list of ", what, " ids"));
      ok = false;
      continue;
    }
    const std::string& id = item.Scalar();
    if (declared != nullptr && declared->count(id) == 0) {
      problems_->Add(Field(field), absl::StrCat("unknown ", what, " '", id, "'"));
      ok = false;
    } else if (std::find(ids.begin(), ids.end(), id) != ids.end()) {
      problems_->Add(Field(field), absl::StrCat("repeats ", what, " '", id, "'"));
      ok = false;
    } else {
      ids.push_back(id);
    }
  }
  if (!ok) {
    return std::nullopt;
  }
  return ids;
}

bool AllDigits(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isdigit(c)) {
      return false;
    }
  }
  return true;
}

bool IsId(absl::string_view id) {
  if (id.empty() || id.size() > 64 || !absl::ascii_islower(id.front())) {
    return false;
  }
  for (char c : id) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') {
      return false;
    }
  }
  return true;
}

bool IsUnquotedNumber(const YAML::Node& node) {
  if (node.Tag() != "?") {
    return false;
  }
  const std::string& text = node.Scalar();
  size_t dot = text.find('.');
  if (dot == std::string::npos) {
    return !text.empty() && AllDigits(text);
  }
  absl::string_view whole(text);
  return dot > 0 && dot + 1 < text.size() && AllDigits(whole.substr(0, dot)) &&
         AllDigits(whole.substr(dot + 1));
}

std::string Label(absl::string_view list, size_t index, absl::string_view key,
                  const YAML::Node& entry) {
  std::string label = absl::StrCat(list, "[", index, "]");
  if (entry.IsMap()) {
    YAML::Node id = entry[std::string(key)];
    if (id && id.IsScalar() && !id.Scalar().empty()) {
      absl::StrAppend(&label, " (", key, " ", id.Scalar(), ")");
    }
  }
  return label;
}

std::optional<YAML::Node> RequiredList(const YAML::Node& root, const std::string& key,
                                       Problems* problems) {
  YAML::Node list = root[key];
  if (!list) {
    problems->Add(key, "is required");
    return std::nullopt;
  }
  if (!list.IsSequence()) {
    problems->Add(key, "must be a list");
    return std::nullopt;
  }
  return list;
}

void CheckTopLevel(const YAML::Node& root, const std::set<std::string>& known, Problems* problems) {
  for (const auto& item : root) {
    const std::string key = item.first.IsScalar() ? item.first.Scalar() : "?";
    if (known.count(key) == 0) {
      problems->Add(key, "unknown top-level field");
    }
  }
}

std::optional<std::string> ReadVersion(const YAML::Node& root, Problems* problems) {
  YAML::Node version = root["version"];
  if (!version) {
    problems->Add("version", "is required");
    return std::nullopt;
  }
  if (!version.IsScalar() || version.Scalar().empty() || version.Scalar().size() > 64 ||
      version.Scalar().find_first_of(" \t\n") != std::string::npos) {
    problems->Add("version", "must be 1-64 characters without spaces, e.g. \"2026-11-25.1\"");
    return std::nullopt;
  }
  return version.Scalar();
}

std::optional<absl::CivilDay> ReadEffectiveFrom(const YAML::Node& root, Problems* problems) {
  YAML::Node effective = root["effective_from"];
  if (!effective) {
    problems->Add("effective_from", "is required");
    return std::nullopt;
  }
  absl::CivilDay day;
  if (!effective.IsScalar() || effective.Scalar().size() != 10 ||
      !absl::ParseCivilTime(effective.Scalar(), &day)) {
    problems->Add("effective_from",
                  absl::StrCat("must be a date YYYY-MM-DD, not '",
                               effective.IsScalar() ? effective.Scalar() : "?", "'"));
    return std::nullopt;
  }
  return day;
}

absl::Status ParseMapping(absl::string_view yaml_text, YAML::Node* root) {
  try {
    *root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) {
      return absl::InvalidArgumentError(absl::StrCat("not valid YAML: ", e.msg));
    }
    return absl::InvalidArgumentError(absl::StrCat("not valid YAML: line ", e.mark.line + 1,
                                                   ", column ", e.mark.column + 1, ": ", e.msg));
  }
  if (!root->IsMap()) {
    return absl::InvalidArgumentError("the file must be a YAML mapping");
  }
  return absl::OkStatus();
}

absl::Status ReadFile(const std::string& path, std::string* contents) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot read the file"));
  }
  std::stringstream text;
  text << in.rdbuf();
  *contents = text.str();
  return absl::OkStatus();
}

}  // namespace hub::yamlcheck
