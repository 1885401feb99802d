// Checked reading of the hub's YAML data files (the offence table, the triage rules):
// every problem in a file is collected with the path of the entry and field it concerns,
// so a refused file names everything wrong with it at once, e.g.
//   offences[12] (code 8L).category: unknown category 'violense'
//   rules.deadline.referral.working_days: must be a whole number from 1 to 10, not 'two'
//
// Not thread-safe; a Problems and its Entries belong to one parse.
#ifndef HUB_SERVICES_COMMON_YAMLCHECK_YAML_CHECK_H_
#define HUB_SERVICES_COMMON_YAMLCHECK_YAML_CHECK_H_

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "yaml-cpp/yaml.h"

namespace hub::yamlcheck {

// Past this many problems the rest are counted, not listed: a wholly wrong file would
// otherwise produce a message nobody reads.
inline constexpr size_t kMaxListedProblems = 20;

// Collects every problem in a file with the path of the entry and field it concerns.
class Problems {
 public:
  void Add(absl::string_view where, absl::string_view what);
  bool empty() const { return messages_.empty(); }
  size_t size() const { return messages_.size(); }
  // kInvalidArgument listing the problems, separated by "; " (the first
  // kMaxListedProblems, then how many more). OK when there are none.
  absl::Status ToStatus() const;

 private:
  std::vector<std::string> messages_;
};

// Reads the fields of one YAML mapping, reporting each problem under "<where>.<field>".
class Entry {
 public:
  Entry(const YAML::Node& node, std::string where, Problems* problems)
      : node_(node), where_(std::move(where)), problems_(problems) {}

  const std::string& where() const { return where_; }
  Problems* problems() const { return problems_; }
  std::string Field(absl::string_view field) const;
  bool Has(const std::string& field) const { return static_cast<bool>(node_[field]); }
  YAML::Node Get(const std::string& field) const { return node_[field]; }

  // Every key of the entry must be one the file format defines: a misspelt field must not
  // pass silently as a missing optional one.
  void CheckFields(const std::set<std::string>& known) const;
  // A non-empty scalar.
  std::optional<std::string> String(const std::string& field, bool required = true) const;
  // A code: a string, quoted when it looks like a number.
  std::optional<std::string> Code(const std::string& field) const;
  std::optional<bool> Bool(const std::string& field, bool required = true) const;
  // A whole number in [min, max].
  std::optional<int> Int(const std::string& field, int min, int max, bool required = true) const;
  // A list of ids, each in `declared` (named `what` in messages), no repeats, at least one.
  // `declared` is null when the section declaring the ids is itself missing: that is
  // reported once, not again for every reference.
  std::optional<std::vector<std::string>> IdList(const std::string& field,
                                                 const std::set<std::string>* declared,
                                                 absl::string_view what) const;

 private:
  YAML::Node node_;
  std::string where_;
  Problems* problems_;
};

bool AllDigits(absl::string_view text);
// Lower-case identifiers: category, need domain, flag and rule-part ids.
bool IsId(absl::string_view id);
// YAML reads an unquoted 1, 4.4 or 4.10 as a number (and 4.10 as 4.1), so numeric codes
// must be quoted. yaml-cpp tags plain scalars "?" and quoted ones "!".
bool IsUnquotedNumber(const YAML::Node& node);
// "<list>[<index>]", plus " (<key> <value>)" when the entry has that key.
std::string Label(absl::string_view list, size_t index, absl::string_view key,
                  const YAML::Node& entry);
// The node at `key` of `root` if it is a sequence; reports it otherwise.
std::optional<YAML::Node> RequiredList(const YAML::Node& root, const std::string& key,
                                       Problems* problems);
// Reports every top-level key of `root` not in `known`.
void CheckTopLevel(const YAML::Node& root, const std::set<std::string>& known, Problems* problems);
// The `version` field: 1-64 characters without spaces.
std::optional<std::string> ReadVersion(const YAML::Node& root, Problems* problems);
// The `effective_from` field: a date YYYY-MM-DD.
std::optional<absl::CivilDay> ReadEffectiveFrom(const YAML::Node& root, Problems* problems);
// Parses YAML text to a mapping; kInvalidArgument naming the line for a syntax error or a
// document that is not a mapping.
absl::Status ParseMapping(absl::string_view yaml_text, YAML::Node* root);
// Reads a whole file; kNotFound naming the path when it cannot be read.
absl::Status ReadFile(const std::string& path, std::string* contents);

}  // namespace hub::yamlcheck

#endif  // HUB_SERVICES_COMMON_YAMLCHECK_YAML_CHECK_H_
