#include "services/common/offences/offences.h"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "yaml-cpp/yaml.h"

#include "services/common/yamlcheck/yaml_check.h"

#ifndef HUB_DEFAULT_RULES_DIR
#error "HUB_DEFAULT_RULES_DIR must be defined by the build (see CMakeLists.txt)"
#endif

namespace hub::offences {
namespace {

using Consent = OffenceClass::Consent;
using yamlcheck::AllDigits;
using yamlcheck::Entry;
using yamlcheck::IsId;
using yamlcheck::Label;
using yamlcheck::Problems;
using yamlcheck::RequiredList;

// The consent rule at `field` of `entry`: opt_out or explicit.
std::optional<Consent> ReadConsent(const yamlcheck::Entry& entry, const std::string& field) {
  std::optional<std::string> value = entry.String(field);
  if (!value.has_value()) {
    return std::nullopt;
  }
  if (*value == ConsentName(Consent::kOptOut)) {
    return Consent::kOptOut;
  }
  if (*value == ConsentName(Consent::kExplicit)) {
    return Consent::kExplicit;
  }
  entry.problems()->Add(entry.Field(field),
                        absl::StrCat("must be opt_out or explicit, not '", *value, "'"));
  return std::nullopt;
}

// The bool fields of hub.intake.v1.CrimeFlags, read from the generated descriptor so the
// table follows the proto.
std::set<std::string> CrimeFlagNames() {
  std::set<std::string> names;
  const google::protobuf::Descriptor* flags = hub::intake::v1::CrimeFlags::descriptor();
  for (int i = 0; i < flags->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = flags->field(i);
    if (field->type() == google::protobuf::FieldDescriptor::TYPE_BOOL && !field->is_repeated()) {
      names.insert(field->name());
    }
  }
  return names;
}

const std::set<std::string>& TopLevelFields() {
  static const auto* fields = new std::set<std::string>{
      "version",      "effective_from", "general_rules", "categories",
      "need_domains", "offences",       "cjs_offences",  "self_referral_categories"};
  return *fields;
}

}  // namespace

// Builds an OffenceTable section by section, in dependency order: need domains, then
// categories (which name needs and flags), then offences (categories, needs), then CJS codes
// (offences) and self-referrals (categories, needs).
class TableBuilder {
 public:
  TableBuilder(const YAML::Node& root, Problems* problems) : root_(root), problems_(problems) {}

  OffenceTable Build() {
    ReadHeader();
    ReadNeedDomains();
    ReadCategories();
    ReadGeneralRules();
    ReadOffences();
    ReadCjsOffences();
    ReadSelfReferrals();
    return std::move(table_);
  }

 private:
  void ReadHeader() {
    yamlcheck::CheckTopLevel(root_, TopLevelFields(), problems_);
    table_.version_ = yamlcheck::ReadVersion(root_, problems_).value_or("");
    table_.effective_from_ =
        yamlcheck::ReadEffectiveFrom(root_, problems_).value_or(absl::CivilDay());
  }

  void ReadNeedDomains() {
    std::optional<YAML::Node> list = RequiredList(root_, "need_domains", problems_);
    if (!list.has_value()) {
      return;
    }
    need_domains_read_ = true;
    std::map<std::string, size_t> first;
    for (size_t i = 0; i < list->size(); ++i) {
      const YAML::Node node = (*list)[i];
      std::string where = Label("need_domains", i, "id", node);
      if (!node.IsMap()) {
        problems_->Add(where, "must be a mapping with id and title");
        continue;
      }
      Entry entry(node, where, problems_);
      entry.CheckFields({"id", "title"});
      std::optional<std::string> id = entry.String("id");
      std::optional<std::string> title = entry.String("title");
      if (!id.has_value() || !title.has_value()) {
        continue;
      }
      if (!IsId(*id)) {
        problems_->Add(entry.Field("id"), "must be lower-case letters, digits and '_'");
        continue;
      }
      if (auto [it, inserted] = first.emplace(*id, i); !inserted) {
        problems_->Add(entry.Field("id"), absl::StrCat("repeats need_domains[", it->second, "]"));
        continue;
      }
      needs_.insert(*id);
      table_.need_domains_.push_back({*id, *title});
    }
  }

  void ReadCategories() {
    std::optional<YAML::Node> list = RequiredList(root_, "categories", problems_);
    if (!list.has_value()) {
      return;
    }
    categories_read_ = true;
    const std::set<std::string> flag_names = CrimeFlagNames();
    std::map<std::string, size_t> first;
    for (size_t i = 0; i < list->size(); ++i) {
      const YAML::Node node = (*list)[i];
      std::string where = Label("categories", i, "id", node);
      if (!node.IsMap()) {
        problems_->Add(where, "must be a mapping with id and title");
        continue;
      }
      Entry entry(node, where, problems_);
      entry.CheckFields({"id", "title", "flags", "most_serious", "consent", "needs"});
      CrimeCategory category;
      std::optional<std::string> id = entry.String("id");
      std::optional<std::string> title = entry.String("title");
      if (!id.has_value() || !title.has_value()) {
        continue;
      }
      if (!IsId(*id)) {
        problems_->Add(entry.Field("id"), "must be lower-case letters, digits and '_'");
        continue;
      }
      if (auto [it, inserted] = first.emplace(*id, i); !inserted) {
        problems_->Add(entry.Field("id"), absl::StrCat("repeats categories[", it->second, "]"));
        continue;
      }
      category.id = *id;
      category.title = *title;
      if (entry.Has("flags")) {
        ReadCategoryFlags(entry, flag_names, &category);
      } else {
        for (const char* rule : {"most_serious", "consent", "needs"}) {
          if (entry.Has(rule)) {
            problems_->Add(entry.Field(rule),
                           "only a flag-driven category (one with flags) has rules of its own");
          }
        }
      }
      table_.category_by_id_[category.id] = table_.categories_.size();
      table_.categories_.push_back(std::move(category));
    }
  }

  void ReadCategoryFlags(const Entry& entry, const std::set<std::string>& flag_names,
                         CrimeCategory* category) {
    std::optional<std::vector<std::string>> flags =
        entry.IdList("flags", &flag_names, "crime flag");
    if (flags.has_value()) {
      for (const std::string& flag : *flags) {
        auto [it, inserted] = table_.category_by_flag_.emplace(flag, table_.categories_.size());
        if (!inserted) {
          problems_->Add(entry.Field("flags"),
                         absl::StrCat("flag '", flag, "' already puts crimes in category ",
                                      table_.categories_[it->second].id));
        } else {
          category->flags.push_back(flag);
        }
      }
    }
    category->most_serious = entry.Bool("most_serious").value_or(false);
    category->consent = ReadConsent(entry, "consent").value_or(Consent::kOptOut);
    category->needs = NeedList(entry);
  }

  // The category, most_serious, consent and needs fields shared by offences and the general
  // rules.
  void ReadRules(const Entry& entry, OffenceClass* rules) {
    if (std::optional<std::string> category = entry.String("category"); category.has_value()) {
      if (!KnownCategory(*category)) {
        problems_->Add(entry.Field("category"), absl::StrCat("unknown category '", *category, "'"));
      }
      rules->category = *category;
    }
    rules->most_serious = entry.Bool("most_serious").value_or(false);
    rules->consent = ReadConsent(entry, "consent").value_or(Consent::kOptOut);
    rules->needs = NeedList(entry);
  }

  void ReadGeneralRules() {
    YAML::Node node = root_["general_rules"];
    if (!node) {
      problems_->Add("general_rules", "is required");
      return;
    }
    if (!node.IsMap()) {
      problems_->Add("general_rules", "must be a mapping");
      return;
    }
    Entry entry(node, "general_rules", problems_);
    entry.CheckFields({"category", "most_serious", "consent", "needs"});
    table_.general_rules_.title = "Offence class not in the hub's table";
    ReadRules(entry, &table_.general_rules_);
  }

  void ReadOffences() {
    std::optional<YAML::Node> list = RequiredList(root_, "offences", problems_);
    if (!list.has_value()) {
      return;
    }
    std::map<std::string, size_t> first;
    for (size_t i = 0; i < list->size(); ++i) {
      const YAML::Node node = (*list)[i];
      std::string where = Label("offences", i, "code", node);
      if (!node.IsMap()) {
        problems_->Add(where, "must be a mapping");
        continue;
      }
      Entry entry(node, where, problems_);
      entry.CheckFields({"code", "title", "category", "most_serious", "consent", "needs",
                         "racially_or_religiously_aggravated"});
      OffenceClass offence;
      std::optional<std::string> code = entry.Code("code");
      if (code.has_value() && !IsHomeOfficeCode(*code)) {
        problems_->Add(entry.Field("code"),
                       "not a Home Office offence class code (1-3 digits, optionally '.' and "
                       "1-2 digits, then up to 2 upper-case letters)");
        code.reset();
      }
      offence.title = entry.String("title").value_or("");
      ReadRules(entry, &offence);
      offence.racially_or_religiously_aggravated =
          entry.Bool("racially_or_religiously_aggravated", /*required=*/false).value_or(false);
      if (!code.has_value()) {
        continue;
      }
      offence.code = *code;
      if (auto [it, inserted] = first.emplace(*code, i); !inserted) {
        problems_->Add(entry.Field("code"), absl::StrCat("repeats offences[", it->second, "]"));
        continue;
      }
      table_.offence_by_code_[*code] = table_.offences_.size();
      table_.offences_.push_back(std::move(offence));
    }
  }

  void ReadCjsOffences() {
    std::optional<YAML::Node> list = RequiredList(root_, "cjs_offences", problems_);
    if (!list.has_value()) {
      return;
    }
    std::map<std::string, size_t> first;
    for (size_t i = 0; i < list->size(); ++i) {
      const YAML::Node node = (*list)[i];
      std::string where = Label("cjs_offences", i, "code", node);
      if (!node.IsMap()) {
        problems_->Add(where, "must be a mapping");
        continue;
      }
      Entry entry(node, where, problems_);
      entry.CheckFields({"code", "title", "home_office"});
      std::optional<std::string> code = entry.String("code");
      if (code.has_value() && !IsCjsCode(*code)) {
        problems_->Add(entry.Field("code"),
                       "not a CJS offence code (2 upper-case letters and 5 digits, or COML and 3 "
                       "digits, then an optional suffix A, B, C or I)");
        code.reset();
      }
      std::optional<std::string> title = entry.String("title");
      std::optional<std::string> home_office = entry.Code("home_office");
      if (home_office.has_value() && table_.offence_by_code_.count(*home_office) == 0) {
        problems_->Add(entry.Field("home_office"),
                       absl::StrCat("unknown Home Office class '", *home_office,
                                    "': list it under offences first"));
        home_office.reset();
      }
      if (code.has_value()) {
        if (auto [it, inserted] = first.emplace(*code, i); !inserted) {
          problems_->Add(entry.Field("code"),
                         absl::StrCat("repeats cjs_offences[", it->second, "]"));
          continue;
        }
      }
      if (!code.has_value() || !title.has_value() || !home_office.has_value()) {
        continue;
      }
      table_.cjs_by_code_[*code] = table_.cjs_offences_.size();
      table_.cjs_offences_.push_back({*code, *title, *home_office});
    }
  }

  void ReadSelfReferrals() {
    static constexpr absl::string_view kList = "self_referral_categories";
    YAML::Node map = root_[std::string(kList)];
    if (!map) {
      problems_->Add(kList, "is required");
      return;
    }
    if (!map.IsMap()) {
      problems_->Add(kList, "must be a mapping from SelfReferralCategory names");
      return;
    }
    const google::protobuf::EnumDescriptor* categories =
        hub::intake::v1::SelfReferralCategory_descriptor();
    for (const auto& item : map) {
      const std::string name = item.first.IsScalar() ? item.first.Scalar() : "?";
      std::string where = absl::StrCat(kList, ".", name);
      const google::protobuf::EnumValueDescriptor* value = categories->FindValueByName(name);
      if (value == nullptr) {
        problems_->Add(where, "not a SelfReferralCategory value");
        continue;
      }
      if (value->number() == hub::intake::v1::SELF_REFERRAL_CATEGORY_UNSPECIFIED) {
        problems_->Add(where, "UNSPECIFIED is not a category and cannot be mapped");
        continue;
      }
      if (!item.second.IsMap()) {
        problems_->Add(where, "must be a mapping with category, most_serious and needs");
        continue;
      }
      Entry entry(item.second, where, problems_);
      entry.CheckFields({"category", "most_serious", "needs"});
      SelfReferralRule rule;
      if (std::optional<std::string> category = entry.String("category"); category.has_value()) {
        if (!KnownCategory(*category)) {
          problems_->Add(entry.Field("category"),
                         absl::StrCat("unknown category '", *category, "'"));
        }
        rule.category = *category;
      }
      rule.most_serious = entry.Bool("most_serious").value_or(false);
      rule.needs = NeedList(entry);
      table_.self_referrals_[value->number()] = std::move(rule);
    }
    for (int i = 0; i < categories->value_count(); ++i) {
      const google::protobuf::EnumValueDescriptor* value = categories->value(i);
      if (value->number() != hub::intake::v1::SELF_REFERRAL_CATEGORY_UNSPECIFIED &&
          table_.self_referrals_.count(value->number()) == 0) {
        problems_->Add(kList, absl::StrCat(value->name(), " is not mapped"));
      }
    }
  }

  std::vector<std::string> NeedList(const Entry& entry) const {
    return entry.IdList("needs", need_domains_read_ ? &needs_ : nullptr, "need domain")
        .value_or(std::vector<std::string>{});
  }

  bool KnownCategory(const std::string& id) const {
    return !categories_read_ || table_.category_by_id_.count(id) > 0;
  }

  const YAML::Node& root_;
  Problems* problems_;
  OffenceTable table_;
  std::set<std::string> needs_;
  bool need_domains_read_ = false;
  bool categories_read_ = false;
};

absl::string_view ConsentName(OffenceClass::Consent consent) {
  switch (consent) {
    case Consent::kOptOut:
      return "opt_out";
    case Consent::kExplicit:
      return "explicit";
  }
  return "opt_out";
}

bool IsHomeOfficeCode(absl::string_view code) {
  size_t digits = 0;
  while (digits < code.size() && absl::ascii_isdigit(code[digits])) {
    ++digits;
  }
  if (digits < 1 || digits > 3) {
    return false;
  }
  code.remove_prefix(digits);
  if (!code.empty() && code.front() == '.') {
    code.remove_prefix(1);
    size_t sub = 0;
    while (sub < code.size() && absl::ascii_isdigit(code[sub])) {
      ++sub;
    }
    if (sub < 1 || sub > 2) {
      return false;
    }
    code.remove_prefix(sub);
  }
  if (code.size() > 2) {
    return false;
  }
  for (char c : code) {
    if (!absl::ascii_isupper(c)) {
      return false;
    }
  }
  return true;
}

bool IsCjsCode(absl::string_view code) {
  if (code.size() != 7 && code.size() != 8) {
    return false;
  }
  const bool statute =
      absl::ascii_isupper(code[0]) && absl::ascii_isupper(code[1]) && AllDigits(code.substr(2, 5));
  const bool common_law = code.substr(0, 4) == "COML" && AllDigits(code.substr(4, 3));
  if (!statute && !common_law) {
    return false;
  }
  return code.size() == 7 || absl::string_view("ABCI").find(code[7]) != absl::string_view::npos;
}

absl::StatusOr<OffenceTable> OffenceTable::Parse(absl::string_view yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) {
      return absl::InvalidArgumentError(absl::StrCat("not valid YAML: ", e.msg));
    }
    return absl::InvalidArgumentError(absl::StrCat("not valid YAML: line ", e.mark.line + 1,
                                                   ", column ", e.mark.column + 1, ": ", e.msg));
  }
  if (!root.IsMap()) {
    return absl::InvalidArgumentError("the offence table must be a YAML mapping");
  }
  Problems problems;
  OffenceTable table;
  try {
    table = TableBuilder(root, &problems).Build();
  } catch (const YAML::Exception& e) {
    // The builder checks node types before reading them; this is a backstop so a malformed
    // file is an error, never a crash.
    problems.Add(e.mark.is_null() ? std::string("table") : absl::StrCat("line ", e.mark.line + 1),
                 e.msg);
  }
  if (!problems.empty()) {
    return problems.ToStatus();
  }
  return table;
}

absl::StatusOr<OffenceTable> OffenceTable::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot read the offence table"));
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<OffenceTable> table = Parse(text.str());
  if (!table.ok()) {
    return absl::Status(table.status().code(), absl::StrCat(path, ": ", table.status().message()));
  }
  return table;
}

const OffenceClass* OffenceTable::FindHomeOffice(absl::string_view code) const {
  auto it = offence_by_code_.find(code);
  return it == offence_by_code_.end() ? nullptr : &offences_[it->second];
}

const CjsOffence* OffenceTable::FindCjsEntry(absl::string_view cjs_code) const {
  auto it = cjs_by_code_.find(cjs_code);
  if (it == cjs_by_code_.end() && cjs_code.size() == 8 && IsCjsCode(cjs_code)) {
    it = cjs_by_code_.find(cjs_code.substr(0, 7));
  }
  return it == cjs_by_code_.end() ? nullptr : &cjs_offences_[it->second];
}

const OffenceClass* OffenceTable::FindCjs(absl::string_view cjs_code) const {
  const CjsOffence* entry = FindCjsEntry(cjs_code);
  return entry == nullptr ? nullptr : FindHomeOffice(entry->home_office);
}

const SelfReferralRule* OffenceTable::ForSelfReferral(
    hub::intake::v1::SelfReferralCategory category) const {
  auto it = self_referrals_.find(static_cast<int>(category));
  return it == self_referrals_.end() ? nullptr : &it->second;
}

const CrimeCategory* OffenceTable::FindCategory(absl::string_view id) const {
  auto it = category_by_id_.find(id);
  return it == category_by_id_.end() ? nullptr : &categories_[it->second];
}

const CrimeCategory* OffenceTable::CategoryForFlag(absl::string_view flag) const {
  auto it = category_by_flag_.find(flag);
  return it == category_by_flag_.end() ? nullptr : &categories_[it->second];
}

std::string DefaultOffenceTablePath() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read once at start-up, before threads start.
  const char* dir = std::getenv("HUB_RULES_DIR");
  std::string base = (dir != nullptr && *dir != '\0') ? dir : HUB_DEFAULT_RULES_DIR;
  return absl::StrCat(base, "/offences.yaml");
}

}  // namespace hub::offences
