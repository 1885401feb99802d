#include "services/triage/rules.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "yaml-cpp/yaml.h"
#include <sys/stat.h>

#include "hub/intake/v1/intake.pb.h"
#include "services/common/status/status_macros.h"
#include "services/common/yamlcheck/yaml_check.h"

namespace hub::triage {
namespace {

using yamlcheck::Entry;
using yamlcheck::Problems;

// What a rule's parameter holds.
enum class Kind {
  kInt,
  // A list of hub.intake.v1.VictimType names.
  kVictimTypes,
  // A list of hub.intake.v1.VulnerabilityMarker names.
  kMarkers,
  // A list of hub.intake.v1.MilestoneType names.
  kMilestones,
  // A list of offence-table category ids.
  kCategories,
  // A list of offence-table need domain ids.
  kNeeds,
  // A mapping VictimType name → list of need domain ids.
  kVictimTypeNeeds,
};

struct ParamSpec {
  const char* name;
  Kind kind;
  int min = 0;
  int max = 0;
};

struct RuleSpec {
  RuleId id;
  const char* name;
  // Local rules may be switched off; Victims' Code rules may not.
  bool may_disable;
  std::vector<ParamSpec> params;
  std::vector<std::string> placeholders;
};

const std::vector<RuleSpec>& Specs() {
  static const auto* specs = new std::vector<RuleSpec>{
      {RuleId::kMostSeriousOffence,
       "enhanced.most_serious.offence",
       false,
       {},
       {"offence_code", "offence_title"}},
      {RuleId::kMostSeriousFlag, "enhanced.most_serious.flag", false, {}, {"category_title"}},
      {RuleId::kMostSeriousVictimType,
       "enhanced.most_serious.victim_type",
       false,
       {{"victim_types", Kind::kVictimTypes}},
       {"victim_type"}},
      {RuleId::kMostSeriousSelfReferral,
       "enhanced.most_serious.self_referral",
       false,
       {},
       {"category_title"}},
      {RuleId::kPersistentlyTargetedRepeat,
       "enhanced.persistently_targeted.repeat",
       true,
       {{"threshold", Kind::kInt, 2, 100}, {"window_days", Kind::kInt, 1, 3660}},
       {"reports", "window_days", "threshold"}},
      {RuleId::kPersistentlyTargetedCampaign,
       "enhanced.persistently_targeted.campaign",
       false,
       {{"categories", Kind::kCategories}},
       {"category_title"}},
      {RuleId::kVulnerableUnderAge,
       "enhanced.vulnerable.under_age",
       false,
       {{"age", Kind::kInt, 1, 25}},
       {"age", "age_limit"}},
      {RuleId::kVulnerableMarker,
       "enhanced.vulnerable.marker",
       false,
       {{"markers", Kind::kMarkers}},
       {"marker"}},
      {RuleId::kIntimidated, "enhanced.intimidated", false, {}, {}},
      {RuleId::kNotApplicableBusiness, "enhanced.not_applicable.business", false, {}, {}},
      {RuleId::kConsentExplicitOffence,
       "consent.explicit.offence",
       false,
       {},
       {"offence_code", "offence_title"}},
      {RuleId::kConsentExplicitCategory,
       "consent.explicit.category",
       false,
       {},
       {"category_title"}},
      {RuleId::kConsentExplicitVictimType,
       "consent.explicit.victim_type",
       false,
       {{"victim_types", Kind::kVictimTypes}},
       {"victim_type"}},
      {RuleId::kConsentOptOut, "consent.opt_out", false, {}, {}},
      {RuleId::kConsentSelfReferral, "consent.self_referral", false, {}, {}},
      {RuleId::kReferralRefer, "referral.refer", false, {}, {"consent_basis"}},
      {RuleId::kReferralSeekConsent, "referral.seek_consent", false, {}, {}},
      {RuleId::kReferralNoSupportWanted, "referral.no_support_wanted", false, {}, {}},
      {RuleId::kReferralCancelOpenReferrals, "referral.cancel_open_referrals", false, {}, {}},
      {RuleId::kReferralClose, "referral.close", false, {}, {"cancellation"}},
      {RuleId::kRiskDashHigh,
       "risk.dash_high",
       false,
       {{"threshold", Kind::kInt, 1, 27}},
       {"dash_score", "threshold"}},
      {RuleId::kRiskPotentialEscalation,
       "risk.potential_escalation",
       true,
       {{"categories", Kind::kCategories},
        {"threshold", Kind::kInt, 2, 100},
        {"window_days", Kind::kInt, 1, 3660}},
       {"reports", "category_title", "window_days", "threshold"}},
      {RuleId::kRiskStaffMarac, "risk.staff_marac", false, {}, {"request_reason"}},
      {RuleId::kPriorityImmediate, "priority.immediate", false, {}, {"why"}},
      {RuleId::kPriorityEnhanced, "priority.enhanced", false, {}, {"why"}},
      {RuleId::kPriorityStandard, "priority.standard", false, {}, {}},
      {RuleId::kNeedsOffence,
       "needs.offence",
       false,
       {},
       {"offence_code", "offence_title", "needs"}},
      {RuleId::kNeedsUnknownOffence,
       "needs.unknown_offence",
       false,
       {},
       {"offence_code", "offences_version", "needs"}},
      {RuleId::kNeedsCategory, "needs.category", false, {}, {"category_title", "needs"}},
      {RuleId::kNeedsSelfReferral, "needs.self_referral", false, {}, {"category_title", "needs"}},
      {RuleId::kNeedsVictimType,
       "needs.victim_type",
       true,
       {{"victim_types", Kind::kVictimTypeNeeds}},
       {"victim_type", "needs"}},
      {RuleId::kNeedsYoungVictim,
       "needs.young_victim",
       true,
       {{"age", Kind::kInt, 1, 25}, {"needs", Kind::kNeeds}},
       {"age_limit", "needs"}},
      {RuleId::kNeedsSharedAddress,
       "needs.shared_address",
       true,
       {{"needs", Kind::kNeeds}},
       {"needs"}},
      {RuleId::kNeedsStaff, "needs.staff", false, {}, {"needs"}},
      {RuleId::kDeadlineReferral,
       "deadline.referral",
       false,
       {{"working_days", Kind::kInt, 1, 20}},
       {"working_days", "due"}},
      {RuleId::kDeadlineConsentContact,
       "deadline.consent_contact",
       false,
       {{"working_days", Kind::kInt, 1, 20}},
       {"working_days", "due"}},
      {RuleId::kDeadlineReferralAfterConsent,
       "deadline.referral_after_consent",
       false,
       {{"working_days", Kind::kInt, 1, 20}},
       {"working_days", "due"}},
      {RuleId::kDeadlineFirstContact,
       "deadline.first_contact",
       true,
       {{"hours", Kind::kInt, 1, 720}},
       {"hours", "due"}},
      {RuleId::kDeadlineCaseUpdate,
       "deadline.case_update",
       false,
       {{"standard_working_days", Kind::kInt, 1, 20},
        {"enhanced_working_days", Kind::kInt, 1, 20},
        {"milestones", Kind::kMilestones}},
       {"milestone", "decided_at", "working_days", "service", "due"}},
      {RuleId::kDeadlineCaseUpdateNone, "deadline.case_update_none", false, {}, {"milestone"}},
      {RuleId::kDeadlineCalendarGap,
       "deadline.calendar_gap",
       false,
       {},
       {"calendar_version", "first_year", "last_year"}},
  };
  return *specs;
}

// Enum value names of `descriptor`, except the UNSPECIFIED one, mapped to their numbers.
std::map<std::string, int> EnumNames(const google::protobuf::EnumDescriptor* descriptor) {
  std::map<std::string, int> names;
  for (int i = 0; i < descriptor->value_count(); ++i) {
    if (descriptor->value(i)->number() != 0) {
      names.emplace(descriptor->value(i)->name(), descriptor->value(i)->number());
    }
  }
  return names;
}

std::set<std::string> Keys(const std::map<std::string, int>& names) {
  std::set<std::string> keys;
  for (const auto& [name, number] : names) {
    keys.insert(name);
  }
  return keys;
}

}  // namespace

absl::string_view RuleName(RuleId id) { return Specs()[static_cast<size_t>(id)].name; }

std::optional<ReasonTemplate> ReasonTemplate::Compile(absl::string_view text,
                                                      const std::vector<std::string>& offered,
                                                      std::string* error) {
  ReasonTemplate compiled;
  size_t at = 0;
  while (at < text.size()) {
    size_t open = text.find('{', at);
    size_t close_brace = text.find('}', at);
    if (close_brace != absl::string_view::npos &&
        (open == absl::string_view::npos || close_brace < open)) {
      *error = "unmatched '}'";
      return std::nullopt;
    }
    if (open == absl::string_view::npos) {
      compiled.segments_.push_back({std::string(text.substr(at)), false, 0});
      break;
    }
    if (open > at) {
      compiled.segments_.push_back({std::string(text.substr(at, open - at)), false, 0});
    }
    size_t close = text.find('}', open);
    if (close == absl::string_view::npos) {
      *error = "unclosed '{'";
      return std::nullopt;
    }
    std::string name(text.substr(open + 1, close - open - 1));
    auto found = std::find(offered.begin(), offered.end(), name);
    if (found == offered.end()) {
      *error = offered.empty()
                   ? absl::StrCat("unknown placeholder {", name, "}; this rule offers none")
                   : absl::StrCat("unknown placeholder {", name, "}; this rule offers {",
                                  absl::StrJoin(offered, "}, {"), "}");
      return std::nullopt;
    }
    compiled.segments_.push_back(
        {std::move(name), true, static_cast<size_t>(found - offered.begin())});
    at = close + 1;
  }
  return compiled;
}

std::string ReasonTemplate::Render(Args args) const {
  size_t size = 0;
  for (const Segment& segment : segments_) {
    size += segment.placeholder ? 32 : segment.text.size();
  }
  std::string out;
  out.reserve(size);
  for (const Segment& segment : segments_) {
    if (!segment.placeholder) {
      out.append(segment.text);
      continue;
    }
    if (segment.index < args.size()) {
      const auto& [name, value] = *(args.begin() + segment.index);
      if (name == segment.text) {
        out.append(value.data(), value.size());
        continue;
      }
    }
    bool found = false;
    for (const auto& [name, value] : args) {
      if (name == segment.text) {
        out.append(value.data(), value.size());
        found = true;
        break;
      }
    }
    if (!found) {
      absl::StrAppend(&out, "{", segment.text, "}");
    }
  }
  return out;
}

absl::string_view TriageRules::NeedTitle(absl::string_view need) const {
  auto it = need_titles_.find(need);
  return it == need_titles_.end() ? need : absl::string_view(it->second);
}

int TriageRules::history_window_days() const {
  int days = 0;
  if (rule(RuleId::kPersistentlyTargetedRepeat).enabled) {
    days = std::max(days, repeat_window_days_);
  }
  if (rule(RuleId::kRiskPotentialEscalation).enabled) {
    days = std::max(days, escalation_window_days_);
  }
  return days;
}

// Reads triage-rules.yaml into a TriageRules, rule by rule, reporting every problem.
class RulesBuilder {
 public:
  RulesBuilder(const YAML::Node& root, const offences::OffenceTable& offences, Problems* problems)
      : root_(root), problems_(problems) {
    for (const auto& category : offences.categories()) {
      categories_.insert(category.id);
    }
    for (const auto& need : offences.need_domains()) {
      needs_.insert(need.id);
      std::string title = need.title;
      if (!title.empty()) {
        title[0] = absl::ascii_tolower(static_cast<unsigned char>(title[0]));
      }
      rules_.need_titles_[need.id] = std::move(title);
    }
  }

  TriageRules Build() {
    yamlcheck::CheckTopLevel(root_, {"version", "effective_from", "rules"}, problems_);
    rules_.version_ = yamlcheck::ReadVersion(root_, problems_).value_or("");
    rules_.effective_from_ =
        yamlcheck::ReadEffectiveFrom(root_, problems_).value_or(absl::CivilDay());
    YAML::Node rules = root_["rules"];
    if (!rules) {
      problems_->Add("rules", "is required");
      return std::move(rules_);
    }
    if (!rules.IsMap()) {
      problems_->Add("rules", "must be a mapping from rule id to rule");
      return std::move(rules_);
    }
    std::set<std::string> known;
    for (const RuleSpec& spec : Specs()) {
      known.insert(spec.name);
    }
    for (const auto& item : rules) {
      const std::string key = item.first.IsScalar() ? item.first.Scalar() : "?";
      if (known.count(key) == 0) {
        problems_->Add(absl::StrCat("rules.", key),
                       "unknown rule (docs/triage-rules.md lists the rules the service knows)");
      }
    }
    for (const RuleSpec& spec : Specs()) {
      ReadRule(spec, rules[spec.name]);
    }
    return std::move(rules_);
  }

 private:
  void ReadRule(const RuleSpec& spec, const YAML::Node& node) {
    const std::string where = absl::StrCat("rules.", spec.name);
    if (!node) {
      problems_->Add(where, "is required: every rule the service knows must be in the file");
      return;
    }
    if (!node.IsMap()) {
      problems_->Add(where, "must be a mapping with a reason");
      return;
    }
    Entry entry(node, where, problems_);
    std::set<std::string> fields = {"enabled", "reason"};
    for (const ParamSpec& param : spec.params) {
      fields.insert(param.name);
    }
    entry.CheckFields(fields);
    Rule& rule = rules_.rules_[static_cast<size_t>(spec.id)];
    if (entry.Has("enabled")) {
      std::optional<bool> enabled = entry.Bool("enabled");
      if (enabled.has_value() && !*enabled && !spec.may_disable) {
        problems_->Add(entry.Field("enabled"),
                       "this rule cannot be disabled: it is the Victims' Code, not a local rule");
      } else if (enabled.has_value()) {
        rule.enabled = *enabled;
      }
    }
    if (std::optional<std::string> reason = entry.String("reason"); reason.has_value()) {
      std::string error;
      std::optional<ReasonTemplate> compiled =
          ReasonTemplate::Compile(*reason, spec.placeholders, &error);
      if (compiled.has_value()) {
        rule.reason = *std::move(compiled);
      } else {
        problems_->Add(entry.Field("reason"), error);
      }
    }
    for (const ParamSpec& param : spec.params) {
      ReadParam(spec.id, param, entry);
    }
  }

  // A list of enum value names of `names`, as numbers.
  std::set<int> EnumList(const Entry& entry, const std::string& field,
                         const std::map<std::string, int>& names, absl::string_view what) {
    std::set<std::string> declared = Keys(names);
    std::set<int> values;
    for (const std::string& name :
         entry.IdList(field, &declared, what).value_or(std::vector<std::string>{})) {
      values.insert(names.at(name));
    }
    return values;
  }

  std::vector<std::string> IdList(const Entry& entry, const std::string& field,
                                  const std::set<std::string>& declared, absl::string_view what) {
    return entry.IdList(field, &declared, what).value_or(std::vector<std::string>{});
  }

  std::map<int, std::vector<std::string>> VictimTypeNeeds(const Entry& entry,
                                                          const std::string& field) {
    std::map<int, std::vector<std::string>> out;
    YAML::Node node = entry.Get(field);
    if (!node) {
      problems_->Add(entry.Field(field), "is required");
      return out;
    }
    if (!node.IsMap() || node.size() == 0) {
      problems_->Add(entry.Field(field),
                     "must map victim types (e.g. VICTIM_TYPE_BUSINESS) to lists of needs");
      return out;
    }
    const std::map<std::string, int> types = EnumNames(hub::intake::v1::VictimType_descriptor());
    Entry inner(node, entry.Field(field), problems_);
    for (const auto& item : node) {
      const std::string key = item.first.IsScalar() ? item.first.Scalar() : "?";
      auto type = types.find(key);
      if (type == types.end()) {
        problems_->Add(inner.Field(key), "unknown victim type");
        continue;
      }
      out[type->second] = IdList(inner, key, needs_, "need domain");
    }
    return out;
  }

  void ReadParam(RuleId id, const ParamSpec& param, const Entry& entry) {
    const std::string name = param.name;
    switch (param.kind) {
      case Kind::kInt:
        Int(id, name) = entry.Int(name, param.min, param.max).value_or(0);
        return;
      case Kind::kVictimTypes:
        (id == RuleId::kMostSeriousVictimType ? rules_.most_serious_victim_types_
                                              : rules_.explicit_consent_victim_types_) =
            EnumList(entry, name, EnumNames(hub::intake::v1::VictimType_descriptor()),
                     "victim type");
        return;
      case Kind::kMarkers:
        rules_.vulnerability_markers_ =
            EnumList(entry, name, EnumNames(hub::intake::v1::VulnerabilityMarker_descriptor()),
                     "vulnerability marker");
        return;
      case Kind::kMilestones:
        rules_.update_milestones_ = EnumList(
            entry, name, EnumNames(hub::intake::v1::MilestoneType_descriptor()), "milestone");
        return;
      case Kind::kCategories: {
        std::vector<std::string> ids = IdList(entry, name, categories_, "category");
        (id == RuleId::kPersistentlyTargetedCampaign ? rules_.campaign_categories_
                                                     : rules_.escalation_categories_) =
            std::set<std::string>(ids.begin(), ids.end());
        return;
      }
      case Kind::kNeeds:
        (id == RuleId::kNeedsYoungVictim ? rules_.young_victim_needs_
                                         : rules_.shared_address_needs_) =
            IdList(entry, name, needs_, "need domain");
        return;
      case Kind::kVictimTypeNeeds:
        rules_.victim_type_needs_ = VictimTypeNeeds(entry, name);
        return;
    }
  }

  // Where an integer parameter of a rule is kept.
  int& Int(RuleId id, const std::string& name) {
    switch (id) {
      case RuleId::kPersistentlyTargetedRepeat:
        return name == "threshold" ? rules_.repeat_threshold_ : rules_.repeat_window_days_;
      case RuleId::kVulnerableUnderAge:
        return rules_.vulnerable_under_age_;
      case RuleId::kRiskDashHigh:
        return rules_.dash_threshold_;
      case RuleId::kRiskPotentialEscalation:
        return name == "threshold" ? rules_.escalation_threshold_ : rules_.escalation_window_days_;
      case RuleId::kNeedsYoungVictim:
        return rules_.young_victim_age_;
      case RuleId::kDeadlineReferral:
        return rules_.referral_working_days_;
      case RuleId::kDeadlineConsentContact:
        return rules_.consent_contact_working_days_;
      case RuleId::kDeadlineReferralAfterConsent:
        return rules_.referral_after_consent_working_days_;
      case RuleId::kDeadlineFirstContact:
        return rules_.first_contact_hours_;
      case RuleId::kDeadlineCaseUpdate:
        return name == "standard_working_days" ? rules_.update_standard_working_days_
                                               : rules_.update_enhanced_working_days_;
      default:
        // Specs() declares no other integer parameters.
        static int unused = 0;
        return unused;
    }
  }

  const YAML::Node& root_;
  Problems* problems_;
  std::set<std::string> categories_;
  std::set<std::string> needs_;
  TriageRules rules_;
};

absl::StatusOr<TriageRules> TriageRules::Parse(absl::string_view yaml_text,
                                               const offences::OffenceTable& offences) {
  YAML::Node root;
  HUB_RETURN_IF_ERROR(yamlcheck::ParseMapping(yaml_text, &root));
  Problems problems;
  TriageRules rules;
  try {
    rules = RulesBuilder(root, offences, &problems).Build();
  } catch (const YAML::Exception& e) {
    // The builder checks node types before reading them; this is a backstop so a malformed
    // file is an error, never a crash.
    problems.Add(e.mark.is_null() ? std::string("rules") : absl::StrCat("line ", e.mark.line + 1),
                 e.msg);
  }
  if (!problems.empty()) {
    return problems.ToStatus();
  }
  return rules;
}

RulePaths DefaultRulePaths() {
  std::string offences = offences::DefaultOffenceTablePath();
  std::string dir = offences.substr(0, offences.rfind('/'));
  return RulePaths{absl::StrCat(dir, "/triage-rules.yaml"), offences,
                   workdays::DefaultCalendarPath()};
}

namespace {

// Prefixes `status` with the file it concerns, when known.
absl::Status Named(const std::string* path, const absl::Status& status) {
  if (path == nullptr) {
    return status;
  }
  return absl::Status(status.code(), absl::StrCat(*path, ": ", status.message()));
}

absl::StatusOr<std::shared_ptr<const RuleBook>> Assemble(absl::string_view rules_yaml,
                                                         absl::string_view offences_yaml,
                                                         absl::string_view calendar_yaml,
                                                         const RulePaths* paths) {
  absl::StatusOr<offences::OffenceTable> offences = offences::OffenceTable::Parse(offences_yaml);
  if (!offences.ok()) {
    return Named(paths == nullptr ? nullptr : &paths->offences, offences.status());
  }
  absl::StatusOr<workdays::WorkingCalendar> calendar =
      workdays::WorkingCalendar::Parse(calendar_yaml);
  if (!calendar.ok()) {
    return Named(paths == nullptr ? nullptr : &paths->calendar, calendar.status());
  }
  absl::StatusOr<TriageRules> rules = TriageRules::Parse(rules_yaml, *offences);
  if (!rules.ok()) {
    return Named(paths == nullptr ? nullptr : &paths->rules, rules.status());
  }
  std::string version = absl::StrCat("triage ", rules->version(), "; offences ",
                                     offences->version(), "; calendar ", calendar->version());
  return std::make_shared<const RuleBook>(
      RuleBook{*std::move(rules), *std::move(offences), *std::move(calendar), std::move(version)});
}

}  // namespace

absl::StatusOr<std::shared_ptr<const RuleBook>> RuleBook::FromTexts(
    absl::string_view rules_yaml, absl::string_view offences_yaml,
    absl::string_view calendar_yaml) {
  return Assemble(rules_yaml, offences_yaml, calendar_yaml, nullptr);
}

absl::StatusOr<std::shared_ptr<const RuleBook>> RuleBook::Load(const RulePaths& paths) {
  std::string rules_text;
  std::string offences_text;
  std::string calendar_text;
  HUB_RETURN_IF_ERROR(yamlcheck::ReadFile(paths.rules, &rules_text));
  HUB_RETURN_IF_ERROR(yamlcheck::ReadFile(paths.offences, &offences_text));
  HUB_RETURN_IF_ERROR(yamlcheck::ReadFile(paths.calendar, &calendar_text));
  return Assemble(rules_text, offences_text, calendar_text, &paths);
}

absl::StatusOr<std::unique_ptr<RuleBookSource>> RuleBookSource::Create(RulePaths paths) {
  std::unique_ptr<RuleBookSource> source(new RuleBookSource(std::move(paths)));
  Stamps stamps = source->Stat();
  HUB_ASSIGN_OR_RETURN(std::shared_ptr<const RuleBook> book, RuleBook::Load(source->paths_));
  absl::MutexLock lock(&source->mu_);
  source->current_ = std::move(book);
  source->stamps_ = stamps;
  return source;
}

std::shared_ptr<const RuleBook> RuleBookSource::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

absl::StatusOr<std::string> RuleBookSource::Reload() {
  // Stat before reading: a write that lands while we read changes the stamp again, so it
  // is picked up next time rather than lost.
  Stamps stamps = Stat();
  absl::StatusOr<std::shared_ptr<const RuleBook>> book = RuleBook::Load(paths_);
  absl::MutexLock lock(&mu_);
  stamps_ = stamps;
  if (!book.ok()) {
    return book.status();
  }
  current_ = *std::move(book);
  return current_->version;
}

bool RuleBookSource::Changed() {
  Stamps stamps = Stat();
  absl::MutexLock lock(&mu_);
  return !(stamps == stamps_);
}

RuleBookSource::Stamps RuleBookSource::Stat() const {
  const std::array<const std::string*, 3> paths = {&paths_.rules, &paths_.offences,
                                                   &paths_.calendar};
  Stamps stamps;
  for (size_t i = 0; i < stamps.size(); ++i) {
    struct stat info {};
    if (::stat(paths[i]->c_str(), &info) == 0) {
      stamps[i].size = static_cast<int64_t>(info.st_size);
      stamps[i].mtime_ns = static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 +
                           static_cast<int64_t>(info.st_mtim.tv_nsec);
      stamps[i].inode = static_cast<int64_t>(info.st_ino);
    }
  }
  return stamps;
}

}  // namespace hub::triage
