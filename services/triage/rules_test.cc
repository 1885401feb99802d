// The triage rules file is refused, whole, when anything in it is wrong, and the error
// names the rule and the field (docs/triage-rules.md promises this to whoever edits the
// file). Each broken variant is the shipped file with one edit, so the tests follow the file
// as it changes. Then RuleBookSource: reloading from files in a temporary directory, a
// refused reload keeping the book in force.
#include "services/triage/rules.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"

namespace hub::triage {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  ASSERT_TRUE(out) << "cannot write " << path;
  out << text;
}

struct Texts {
  std::string rules;
  std::string offences;
  std::string calendar;
};

// The three shipped files, read once.
const Texts& Shipped() {
  static const Texts* texts = [] {
    const RulePaths paths = DefaultRulePaths();
    return new Texts{ReadText(paths.rules), ReadText(paths.offences), ReadText(paths.calendar)};
  }();
  return *texts;
}

const offences::OffenceTable& ShippedOffences() {
  static const auto* table = [] {
    absl::StatusOr<offences::OffenceTable> parsed =
        offences::OffenceTable::Parse(Shipped().offences);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return new offences::OffenceTable(*std::move(parsed));
  }();
  return *table;
}

// ---- Editing the shipped text -------------------------------------------------------------
// The file's layout: top-level keys at column 0, rule ids at 2 spaces, a rule's fields at 4,
// list items and mapping entries inside a field at 6.

// `text` with the only occurrence of `from` replaced; a test that matches nothing or more
// than one place would test the wrong thing, so that fails.
std::string ReplaceOnce(const std::string& text, absl::string_view from, absl::string_view to) {
  const std::string needle(from);
  const size_t at = text.find(needle);
  if (at == std::string::npos || text.find(needle, at + 1) != std::string::npos) {
    ADD_FAILURE() << "'" << from << "' does not occur exactly once in the file";
    return text;
  }
  std::string out = text;
  out.replace(at, needle.size(), std::string(to));
  return out;
}

// End of the line that starts at `at` (past its '\n').
size_t LineEnd(const std::string& text, size_t at) {
  const size_t newline = text.find('\n', at);
  return newline == std::string::npos ? text.size() : newline + 1;
}

bool LineStartsWith(const std::string& text, size_t at, absl::string_view prefix) {
  return absl::string_view(text).substr(at, prefix.size()) == prefix;
}

// [start, end) of the lines at deeper indentation than `indent` following the line at
// `header`.
std::pair<size_t, size_t> Block(const std::string& text, size_t header, size_t indent) {
  const size_t start = LineEnd(text, header);
  size_t end = start;
  const std::string deeper(indent + 2, ' ');
  while (end < text.size() && LineStartsWith(text, end, deeper)) {
    end = LineEnd(text, end);
  }
  return {start, end};
}

// Where the header line of rule `rule` starts; npos (and a failure) when absent.
size_t RuleHeader(const std::string& text, absl::string_view rule) {
  const std::string header = absl::StrCat("\n  ", rule, ":\n");
  const size_t at = text.find(header);
  if (at == std::string::npos) {
    ADD_FAILURE() << "rule " << rule << " is not in the file";
    return std::string::npos;
  }
  return at + 1;
}

// Where `field`'s line (and its nested lines) is inside rule `rule`: {start, end}, or
// {insert point, insert point} when the rule has no such field.
std::pair<size_t, size_t> FieldLines(const std::string& text, absl::string_view rule,
                                     absl::string_view field, bool* found) {
  *found = false;
  const size_t header = RuleHeader(text, rule);
  if (header == std::string::npos) {
    return {text.size(), text.size()};
  }
  const auto [start, end] = Block(text, header, 2);
  const std::string prefix = absl::StrCat("    ", field, ":");
  for (size_t line = start; line < end; line = LineEnd(text, line)) {
    if (LineStartsWith(text, line, prefix)) {
      *found = true;
      return {line, Block(text, line, 4).second};
    }
  }
  return {start, start};
}

// Rule `rule` with `field: value` (replacing the field if the rule has it).
std::string WithField(const std::string& text, absl::string_view rule, absl::string_view field,
                      absl::string_view value) {
  bool found = false;
  const auto [start, end] = FieldLines(text, rule, field, &found);
  std::string out = text;
  out.replace(start, end - start, absl::StrCat("    ", field, ": ", value, "\n"));
  return out;
}

std::string WithoutField(const std::string& text, absl::string_view rule, absl::string_view field) {
  bool found = false;
  const auto [start, end] = FieldLines(text, rule, field, &found);
  EXPECT_TRUE(found) << "rule " << rule << " has no field " << field;
  std::string out = text;
  out.erase(start, end - start);
  return out;
}

std::string WithoutRule(const std::string& text, absl::string_view rule) {
  const size_t header = RuleHeader(text, rule);
  if (header == std::string::npos) {
    return text;
  }
  std::string out = text;
  out.erase(header, Block(text, header, 2).second - header);
  return out;
}

// The top-level line `key: ...` replaced by `key: value`, or removed when value is empty.
std::string WithTopLevel(const std::string& text, absl::string_view key, absl::string_view value) {
  const std::string prefix = absl::StrCat(key, ":");
  size_t at = LineStartsWith(text, 0, prefix) ? 0 : text.find(absl::StrCat("\n", prefix));
  if (at == std::string::npos) {
    ADD_FAILURE() << "no top-level " << key;
    return text;
  }
  if (at != 0) {
    ++at;
  }
  std::string out = text;
  out.replace(at, LineEnd(text, at) - at,
              value.empty() ? std::string() : absl::StrCat(key, ": ", value, "\n"));
  return out;
}

// ---- Refusals -----------------------------------------------------------------------------

struct Refusal {
  const char* name;
  std::string (*edit)(const std::string& shipped);
  // Each must be in the error.
  std::vector<std::string> expected;
};

void PrintTo(const Refusal& refusal, std::ostream* os) { *os << refusal.name; }

std::vector<Refusal> Refusals() {
  return {
      {"UnknownRule",
       [](const std::string& t) {
         return ReplaceOnce(t, "\nrules:\n", "\nrules:\n  enhanced.frobnicate:\n    reason: x\n");
       },
       {"rules.enhanced.frobnicate: unknown rule"}},
      {"MissingRule",
       [](const std::string& t) { return WithoutRule(t, "enhanced.intimidated"); },
       {"rules.enhanced.intimidated: is required"}},
      {"MissingLocalRule",
       [](const std::string& t) { return WithoutRule(t, "risk.potential_escalation"); },
       {"rules.risk.potential_escalation: is required"}},
      {"RuleNotAMapping",
       [](const std::string& t) {
         return ReplaceOnce(WithoutRule(t, "enhanced.intimidated"), "\nrules:\n",
                            "\nrules:\n  enhanced.intimidated: yes\n");
       },
       {"rules.enhanced.intimidated: must be a mapping with a reason"}},
      {"UnknownField",
       [](const std::string& t) { return WithField(t, "deadline.referral", "days", "2"); },
       {"rules.deadline.referral: unknown field 'days'"}},
      {"DisablingACodeRule",
       [](const std::string& t) { return WithField(t, "deadline.referral", "enabled", "false"); },
       {"rules.deadline.referral.enabled: this rule cannot be disabled"}},
      {"DisablingTheStalkingCampaignRule",
       [](const std::string& t) {
         return WithField(t, "enhanced.persistently_targeted.campaign", "enabled", "false");
       },
       {"rules.enhanced.persistently_targeted.campaign.enabled: this rule cannot be disabled"}},
      {"EnabledNotABoolean",
       [](const std::string& t) {
         return WithField(t, "deadline.first_contact", "enabled", "yes");
       },
       {"rules.deadline.first_contact.enabled: must be true or false"}},
      {"IntegerAsText",
       [](const std::string& t) {
         return WithField(t, "deadline.referral", "working_days", "two");
       },
       {"rules.deadline.referral.working_days: must be a whole number from 1 to 20, not 'two'"}},
      {"IntegerNegative",
       [](const std::string& t) { return WithField(t, "deadline.referral", "working_days", "-1"); },
       {"rules.deadline.referral.working_days: must be a whole number from 1 to 20, not '-1'"}},
      {"IntegerZero",
       [](const std::string& t) { return WithField(t, "deadline.referral", "working_days", "0"); },
       {"rules.deadline.referral.working_days: must be a whole number from 1 to 20, not '0'"}},
      {"IntegerTooLarge",
       [](const std::string& t) { return WithField(t, "deadline.referral", "working_days", "21"); },
       {"rules.deadline.referral.working_days: must be a whole number from 1 to 20, not '21'"}},
      {"IntegerFraction",
       [](const std::string& t) {
         return WithField(t, "deadline.consent_contact", "working_days", "2.5");
       },
       {"rules.deadline.consent_contact.working_days: must be a whole number from 1 to 20, not "
        "'2.5'"}},
      {"IntegerOverflow",
       [](const std::string& t) {
         return WithField(t, "deadline.first_contact", "hours", "99999999999999999999");
       },
       {"rules.deadline.first_contact.hours: must be a whole number from 1 to 720"}},
      {"DashThresholdAboveTheChecklist",
       [](const std::string& t) { return WithField(t, "risk.dash_high", "threshold", "28"); },
       {"rules.risk.dash_high.threshold: must be a whole number from 1 to 27, not '28'"}},
      {"RepeatThresholdOfOne",
       [](const std::string& t) {
         return WithField(t, "enhanced.persistently_targeted.repeat", "threshold", "1");
       },
       {"rules.enhanced.persistently_targeted.repeat.threshold: must be a whole number from 2 "
        "to 100, not '1'"}},
      {"MissingInteger",
       [](const std::string& t) {
         return WithoutField(t, "deadline.case_update", "enhanced_working_days");
       },
       {"rules.deadline.case_update.enhanced_working_days: is required"}},
      {"UnknownPlaceholder",
       [](const std::string& t) {
         return WithField(t, "needs.staff", "reason", "\"Hub staff added: {name}.\"");
       },
       {"rules.needs.staff.reason: unknown placeholder {name}; this rule offers {needs}"}},
      {"PlaceholderOfAnotherRule",
       [](const std::string& t) {
         return WithField(t, "deadline.referral", "reason", "\"Due within {hours} hours.\"");
       },
       {"rules.deadline.referral.reason: unknown placeholder {hours}; this rule offers "
        "{working_days}, {due}"}},
      {"PlaceholderWhereNoneIsOffered",
       [](const std::string& t) {
         return WithField(t, "enhanced.intimidated", "reason", "\"A {victim_type}.\"");
       },
       {"rules.enhanced.intimidated.reason: unknown placeholder {victim_type}; this rule "
        "offers none"}},
      {"UnclosedBrace",
       [](const std::string& t) {
         return WithField(t, "needs.staff", "reason", "\"Hub staff added: {needs.\"");
       },
       {"rules.needs.staff.reason: unclosed '{'"}},
      {"UnmatchedClosingBrace",
       [](const std::string& t) {
         return WithField(t, "needs.staff", "reason", "\"Hub staff added: needs}.\"");
       },
       {"rules.needs.staff.reason: unmatched '}'"}},
      {"MissingReason",
       [](const std::string& t) { return WithoutField(t, "deadline.referral", "reason"); },
       {"rules.deadline.referral.reason: is required"}},
      {"RuleWithNothingInIt",
       [](const std::string& t) { return WithoutField(t, "enhanced.intimidated", "reason"); },
       {"rules.enhanced.intimidated: must be a mapping with a reason"}},
      {"EmptyReason",
       [](const std::string& t) { return WithField(t, "consent.opt_out", "reason", "\"\""); },
       {"rules.consent.opt_out.reason: must be a non-empty string"}},
      {"UnknownCategory",
       [](const std::string& t) {
         return WithField(t, "enhanced.persistently_targeted.campaign", "categories", "[stalking]");
       },
       {"rules.enhanced.persistently_targeted.campaign.categories: unknown category "
        "'stalking'"}},
      {"UnknownEscalationCategory",
       [](const std::string& t) {
         return WithField(t, "risk.potential_escalation", "categories", "[domestic_violence]");
       },
       {"rules.risk.potential_escalation.categories: unknown category 'domestic_violence'"}},
      {"EmptyCategoryList",
       [](const std::string& t) {
         return WithField(t, "enhanced.persistently_targeted.campaign", "categories", "[]");
       },
       {"rules.enhanced.persistently_targeted.campaign.categories: must be a list of at least "
        "one category"}},
      {"UnknownNeed",
       [](const std::string& t) {
         return WithField(t, "needs.shared_address", "needs", "[home_security]");
       },
       {"rules.needs.shared_address.needs: unknown need domain 'home_security'"}},
      {"UnknownNeedOfAVictimType",
       [](const std::string& t) {
         return ReplaceOnce(t, "VICTIM_TYPE_BUSINESS: [practical, financial]",
                            "VICTIM_TYPE_BUSINESS: [practical, money]");
       },
       {"rules.needs.victim_type.victim_types.VICTIM_TYPE_BUSINESS: unknown need domain "
        "'money'"}},
      {"UnknownVictimType",
       [](const std::string& t) {
         return WithField(t, "enhanced.most_serious.victim_type", "victim_types",
                          "[VICTIM_TYPE_RELATIVE]");
       },
       {"rules.enhanced.most_serious.victim_type.victim_types: unknown victim type "
        "'VICTIM_TYPE_RELATIVE'"}},
      {"UnspecifiedVictimType",
       [](const std::string& t) {
         return WithField(t, "consent.explicit.victim_type", "victim_types",
                          "[VICTIM_TYPE_UNSPECIFIED]");
       },
       {"rules.consent.explicit.victim_type.victim_types: unknown victim type "
        "'VICTIM_TYPE_UNSPECIFIED'"}},
      {"UnknownVictimTypeWithNeeds",
       [](const std::string& t) {
         return ReplaceOnce(t, "      VICTIM_TYPE_BUSINESS: [practical, financial]",
                            "      VICTIM_TYPE_SHOP: [practical, financial]");
       },
       {"rules.needs.victim_type.victim_types.VICTIM_TYPE_SHOP: unknown victim type"}},
      {"UnknownMarker",
       [](const std::string& t) {
         return ReplaceOnce(t, "      - VULNERABILITY_MARKER_PHYSICAL_DISABILITY\n",
                            "      - VULNERABILITY_MARKER_BLIND\n");
       },
       {"rules.enhanced.vulnerable.marker.markers: unknown vulnerability marker "
        "'VULNERABILITY_MARKER_BLIND'"}},
      {"UnknownMilestone",
       [](const std::string& t) {
         return ReplaceOnce(t, "      - MILESTONE_TYPE_ARREST\n",
                            "      - MILESTONE_TYPE_ARRESTED\n");
       },
       {"rules.deadline.case_update.milestones: unknown milestone 'MILESTONE_TYPE_ARRESTED'"}},
      {"RepeatedMilestone",
       [](const std::string& t) {
         return ReplaceOnce(t, "      - MILESTONE_TYPE_CHARGE\n",
                            "      - MILESTONE_TYPE_ARREST\n");
       },
       {"rules.deadline.case_update.milestones: repeats milestone 'MILESTONE_TYPE_ARREST'"}},
      {"MissingVersion",
       [](const std::string& t) { return WithTopLevel(t, "version", ""); },
       {"version: is required"}},
      {"VersionWithSpaces",
       [](const std::string& t) { return WithTopLevel(t, "version", "\"25 Nov 2026\""); },
       {"version: must be 1-64 characters without spaces"}},
      {"MissingEffectiveFrom",
       [](const std::string& t) { return WithTopLevel(t, "effective_from", ""); },
       {"effective_from: is required"}},
      {"BadEffectiveFrom",
       [](const std::string& t) { return WithTopLevel(t, "effective_from", "\"25/11/2026\""); },
       {"effective_from: must be a date YYYY-MM-DD, not '25/11/2026'"}},
      {"ImpossibleEffectiveFrom",
       [](const std::string& t) { return WithTopLevel(t, "effective_from", "\"2026-02-30\""); },
       {"effective_from: must be a date YYYY-MM-DD, not '2026-02-30'"}},
      {"UnknownTopLevelField",
       [](const std::string& t) { return absl::StrCat("versoin: \"x\"\n", t); },
       {"versoin: unknown top-level field"}},
      {"MissingRules",
       [](const std::string&) {
         return std::string("version: \"2026-11-25.1\"\neffective_from: \"2026-11-25\"\n");
       },
       {"rules: is required"}},
      {"RulesNotAMapping",
       [](const std::string&) {
         return std::string(
             "version: \"2026-11-25.1\"\neffective_from: \"2026-11-25\"\nrules: [a, b]\n");
       },
       {"rules: must be a mapping from rule id to rule"}},
      {"NotYaml",
       [](const std::string& t) {
         return ReplaceOnce(t, "\nrules:\n", "\nrules: [unclosed\n  x: {\n");
       },
       {"not valid YAML: line "}},
      {"NotAMapping",
       [](const std::string&) { return std::string("- a\n- b\n"); },
       {"the file must be a YAML mapping"}},
      {"Empty",
       [](const std::string&) { return std::string(); },
       {"the file must be a YAML mapping"}},
      {"EveryProblemIsNamed",
       [](const std::string& t) {
         return WithField(
             WithField(WithoutRule(t, "needs.staff"), "deadline.referral", "working_days", "two"),
             "risk.dash_high", "threshold", "0");
       },
       {"rules.deadline.referral.working_days: must be a whole number",
        "rules.risk.dash_high.threshold: must be a whole number",
        "rules.needs.staff: is "
        "required"}},
  };
}

class RefusalTest : public ::testing::TestWithParam<Refusal> {};

TEST_P(RefusalTest, ParseRefusesTheFileNamingTheRuleAndField) {
  const std::string text = GetParam().edit(Shipped().rules);
  ASSERT_NE(text, Shipped().rules) << "the edit changed nothing";
  absl::StatusOr<TriageRules> rules = TriageRules::Parse(text, ShippedOffences());
  ASSERT_FALSE(rules.ok()) << "accepted:\n" << text;
  EXPECT_EQ(rules.status().code(), absl::StatusCode::kInvalidArgument) << rules.status();
  for (const std::string& expected : GetParam().expected) {
    EXPECT_THAT(std::string(rules.status().message()), HasSubstr(expected));
  }
}

TEST_P(RefusalTest, FromTextsRefusesTheBookWithTheSameError) {
  const std::string text = GetParam().edit(Shipped().rules);
  absl::StatusOr<std::shared_ptr<const RuleBook>> book =
      RuleBook::FromTexts(text, Shipped().offences, Shipped().calendar);
  ASSERT_FALSE(book.ok());
  EXPECT_EQ(book.status(), TriageRules::Parse(text, ShippedOffences()).status());
}

INSTANTIATE_TEST_SUITE_P(TriageRules, RefusalTest, ::testing::ValuesIn(Refusals()),
                         [](const ::testing::TestParamInfo<Refusal>& param_info) {
                           return std::string(param_info.param.name);
                         });

TEST(TriageRulesTest, ShippedFileParses) {
  absl::StatusOr<TriageRules> rules = TriageRules::Parse(Shipped().rules, ShippedOffences());
  ASSERT_THAT(rules, IsOk());
  EXPECT_FALSE(rules->version().empty());
  // The defaults of ../shared/domain.md, as shipped.
  EXPECT_EQ(rules->referral_working_days(), 2);
  EXPECT_EQ(rules->consent_contact_working_days(), 2);
  EXPECT_EQ(rules->referral_after_consent_working_days(), 2);
  EXPECT_EQ(rules->first_contact_hours(), 24);
  EXPECT_EQ(rules->update_standard_working_days(), 5);
  EXPECT_EQ(rules->update_enhanced_working_days(), 1);
  EXPECT_EQ(rules->dash_threshold(), 14);
  EXPECT_EQ(rules->vulnerable_under_age(), 18);
  EXPECT_EQ(rules->repeat_threshold(), 3);
  EXPECT_EQ(rules->repeat_window_days(), 365);
  EXPECT_EQ(rules->history_window_days(), 365);
  EXPECT_EQ(rules->vulnerability_markers().size(), 3u);
  EXPECT_EQ(rules->update_milestones().count(hub::intake::v1::MILESTONE_TYPE_ARREST), 1u);
  EXPECT_EQ(rules->update_milestones().count(
                hub::intake::v1::MILESTONE_TYPE_VICTIM_PERSONAL_STATEMENT_OFFERED),
            0u);
  EXPECT_EQ(rules->victim_type_needs().count(hub::intake::v1::VICTIM_TYPE_BUSINESS), 1u);
  for (size_t i = 0; i < kRuleCount; ++i) {
    EXPECT_TRUE(rules->rule(static_cast<RuleId>(i)).enabled) << RuleName(static_cast<RuleId>(i));
  }
}

TEST(TriageRulesTest, LocalRulesMayBeSwitchedOff) {
  const std::string text = WithField(
      WithField(Shipped().rules, "enhanced.persistently_targeted.repeat", "enabled", "false"),
      "risk.potential_escalation", "enabled", "false");
  absl::StatusOr<TriageRules> rules = TriageRules::Parse(text, ShippedOffences());
  ASSERT_THAT(rules, IsOk());
  EXPECT_FALSE(rules->rule(RuleId::kPersistentlyTargetedRepeat).enabled);
  EXPECT_FALSE(rules->rule(RuleId::kRiskPotentialEscalation).enabled);
  EXPECT_EQ(rules->history_window_days(), 0);
}

TEST(TriageRulesTest, NumbersAreTakenFromTheFile) {
  const std::string text =
      WithField(WithField(Shipped().rules, "deadline.referral", "working_days", "3"),
                "enhanced.persistently_targeted.repeat", "window_days", "730");
  absl::StatusOr<TriageRules> rules = TriageRules::Parse(text, ShippedOffences());
  ASSERT_THAT(rules, IsOk());
  EXPECT_EQ(rules->referral_working_days(), 3);
  EXPECT_EQ(rules->history_window_days(), 730);
}

TEST(RuleBookTest, FromTextsRefusesABrokenOffenceTable) {
  const std::string offences =
      ReplaceOnce(Shipped().offences, "title: Shoplifting\n    category: theft\n",
                  "title: Shoplifting\n    category: thefts\n");
  EXPECT_THAT(RuleBook::FromTexts(Shipped().rules, offences, Shipped().calendar),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("(code 46).category: unknown category 'thefts'")));
}

// ---- RuleBookSource -----------------------------------------------------------------------

class RuleBookSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir();
    if (pattern.empty() || pattern.back() != '/') {
      pattern += '/';
    }
    pattern += "triage_rules_XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    ASSERT_NE(::mkdtemp(buffer.data()), nullptr) << pattern;
    dir_ = buffer.data();
    paths_ = RulePaths{dir_ + "/triage-rules.yaml", dir_ + "/offences.yaml",
                       dir_ + "/bank-holidays-england-wales.yaml"};
    WriteText(paths_.rules, Shipped().rules);
    WriteText(paths_.offences, Shipped().offences);
    WriteText(paths_.calendar, Shipped().calendar);
  }

  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // The shipped rules with another version (a different length each time, so the file's
  // size changes too) and, optionally, one more edit.
  static std::string RulesVersion(absl::string_view version) {
    return WithTopLevel(Shipped().rules, "version", absl::StrCat("\"", version, "\""));
  }

  std::unique_ptr<RuleBookSource> MustCreate() {
    absl::StatusOr<std::unique_ptr<RuleBookSource>> source = RuleBookSource::Create(paths_);
    EXPECT_THAT(source, IsOk());
    return source.ok() ? *std::move(source) : nullptr;
  }

  std::string dir_;
  RulePaths paths_;
};

TEST_F(RuleBookSourceTest, CreateLoadsTheFiles) {
  std::unique_ptr<RuleBookSource> source = MustCreate();
  ASSERT_NE(source, nullptr);
  std::shared_ptr<const RuleBook> book = source->Current();
  ASSERT_NE(book, nullptr);
  EXPECT_THAT(book->version, StartsWith("triage "));
  absl::StatusOr<TriageRules> shipped = TriageRules::Parse(Shipped().rules, ShippedOffences());
  ASSERT_THAT(shipped, IsOk());
  EXPECT_EQ(book->rules.version(), shipped->version());
  EXPECT_EQ(source->Current(), book);
  EXPECT_FALSE(source->Changed());
}

TEST_F(RuleBookSourceTest, ReloadAcceptsAGoodFileRefusesABadOneAndKeepsTheBookInForce) {
  std::unique_ptr<RuleBookSource> source = MustCreate();
  ASSERT_NE(source, nullptr);
  const std::shared_ptr<const RuleBook> original = source->Current();
  EXPECT_FALSE(source->Changed());

  // A new version.
  WriteText(paths_.rules, RulesVersion("2026-11-26.10"));
  EXPECT_TRUE(source->Changed());
  absl::StatusOr<std::string> reloaded = source->Reload();
  ASSERT_THAT(reloaded, IsOk());
  EXPECT_THAT(*reloaded, StartsWith("triage 2026-11-26.10; offences "));
  const std::shared_ptr<const RuleBook> second = source->Current();
  EXPECT_EQ(second->rules.version(), "2026-11-26.10");
  EXPECT_EQ(second->version, *reloaded);
  EXPECT_FALSE(source->Changed());
  // An assessment that started before the reload keeps the book it started with.
  EXPECT_NE(original->rules.version(), "2026-11-26.10");

  // A broken file: refused, naming the file and the rule; the book in force stays.
  WriteText(paths_.rules,
            WithField(RulesVersion("2026-11-26.111"), "deadline.referral", "working_days", "two"));
  EXPECT_TRUE(source->Changed());
  EXPECT_THAT(source->Reload(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(StartsWith(paths_.rules + ": "),
                             HasSubstr("rules.deadline.referral.working_days: must be a whole "
                                       "number from 1 to 20, not 'two'"))));
  EXPECT_EQ(source->Current(), second);
  EXPECT_EQ(source->Current()->rules.version(), "2026-11-26.10");
  // The refused file is not retried until it changes again.
  EXPECT_FALSE(source->Changed());

  // Fixed.
  WriteText(paths_.rules,
            WithField(RulesVersion("2026-11-26.1112"), "deadline.referral", "working_days", "3"));
  EXPECT_TRUE(source->Changed());
  reloaded = source->Reload();
  ASSERT_THAT(reloaded, IsOk());
  EXPECT_THAT(*reloaded, StartsWith("triage 2026-11-26.1112;"));
  EXPECT_EQ(source->Current()->rules.version(), "2026-11-26.1112");
  EXPECT_EQ(source->Current()->rules.referral_working_days(), 3);
  EXPECT_FALSE(source->Changed());
}

TEST_F(RuleBookSourceTest, ReplacingAFileWithARenameIsAChange) {
  std::unique_ptr<RuleBookSource> source = MustCreate();
  ASSERT_NE(source, nullptr);
  // How a deployment replaces a file atomically: same contents, new inode.
  const std::string staged = paths_.calendar + ".new";
  WriteText(staged, Shipped().calendar);
  std::filesystem::rename(staged, paths_.calendar);
  EXPECT_TRUE(source->Changed());
  EXPECT_THAT(source->Reload(), IsOk());
  EXPECT_FALSE(source->Changed());
}

TEST_F(RuleBookSourceTest, BrokenOffenceTableIsRefusedWithItsPath) {
  std::unique_ptr<RuleBookSource> source = MustCreate();
  ASSERT_NE(source, nullptr);
  const std::shared_ptr<const RuleBook> before = source->Current();
  WriteText(paths_.offences,
            ReplaceOnce(Shipped().offences, "title: Shoplifting\n    category: theft\n",
                        "title: Shoplifting\n    category: thefts\n"));
  EXPECT_TRUE(source->Changed());
  EXPECT_THAT(source->Reload(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(StartsWith(paths_.offences + ": "),
                             HasSubstr("(code 46).category: unknown category 'thefts'"),
                             Not(HasSubstr(paths_.rules)))));
  EXPECT_EQ(source->Current(), before);
  EXPECT_FALSE(source->Changed());
}

TEST_F(RuleBookSourceTest, BrokenCalendarIsRefusedWithItsPath) {
  std::unique_ptr<RuleBookSource> source = MustCreate();
  ASSERT_NE(source, nullptr);
  const std::shared_ptr<const RuleBook> before = source->Current();
  // 26 December 2026 is a Saturday: a bank holiday is never on a weekend.
  WriteText(paths_.calendar,
            ReplaceOnce(Shipped().calendar, "{date: \"2026-12-28\"", "{date: \"2026-12-26\""));
  EXPECT_TRUE(source->Changed());
  EXPECT_THAT(source->Reload(),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith(paths_.calendar + ": ")));
  EXPECT_EQ(source->Current(), before);
}

TEST_F(RuleBookSourceTest, CreateRefusesABrokenFile) {
  WriteText(paths_.rules, WithoutRule(Shipped().rules, "deadline.case_update"));
  EXPECT_THAT(RuleBookSource::Create(paths_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(StartsWith(paths_.rules + ": "),
                             HasSubstr("rules.deadline.case_update: is required"))));
}

TEST_F(RuleBookSourceTest, CreateRefusesAMissingFile) {
  std::filesystem::remove(paths_.calendar);
  EXPECT_THAT(RuleBookSource::Create(paths_),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(paths_.calendar)));
}

}  // namespace
}  // namespace hub::triage
