#include "services/common/offences/offences.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"

namespace hub::offences {
namespace {

using ::hub::intake::v1::SelfReferralCategory;
using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::NotNull;
using Consent = OffenceClass::Consent;

// ---------------------------------------------------------------------------------------
// The shipped table.

// Loaded once for all the tests that read it.
const absl::StatusOr<OffenceTable>& Shipped() {
  static const auto* shipped =
      new absl::StatusOr<OffenceTable>(OffenceTable::Load(DefaultOffenceTablePath()));
  return *shipped;
}

class ShippedTableTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_THAT(Shipped(), IsOk()); }
  static const OffenceTable& table() { return *Shipped(); }
};

TEST_F(ShippedTableTest, LoadsAndValidates) {
  EXPECT_FALSE(table().version().empty());
  EXPECT_GE(table().offences().size(), 60U);
  EXPECT_GE(table().cjs_offences().size(), 30U);
}

TEST_F(ShippedTableTest, DeclaresEveryCategoryTheHubReportsOn) {
  for (const char* id : {"homicide",
                         "attempted_murder",
                         "violence_with_injury",
                         "violence_without_injury",
                         "sexual_offences",
                         "rape",
                         "stalking_harassment",
                         "domestic_abuse",
                         "robbery",
                         "burglary_residential",
                         "burglary_business",
                         "vehicle_offences",
                         "theft",
                         "fraud",
                         "criminal_damage",
                         "arson_endangering_life",
                         "public_order",
                         "kidnap_false_imprisonment",
                         "modern_slavery",
                         "terrorism",
                         "death_by_driving",
                         "road_injury",
                         "hate",
                         "other"}) {
    EXPECT_THAT(table().FindCategory(id), NotNull()) << id;
  }
}

TEST_F(ShippedTableTest, EveryCodeDrivenCategoryHasOffences) {
  // Flag-driven categories, "other" and road_injury (reached by self-referral) need none.
  for (const CrimeCategory& category : table().categories()) {
    if (!category.flags.empty() && category.id != "modern_slavery" &&
        category.id != "sexual_offences") {
      continue;
    }
    if (category.id == "other" || category.id == "road_injury") {
      continue;
    }
    bool found = false;
    for (const OffenceClass& offence : table().offences()) {
      found = found || offence.category == category.id;
    }
    EXPECT_TRUE(found) << category.id << " has no offence class";
  }
}

struct Expected {
  const char* code;
  const char* category;
  bool most_serious;
  Consent consent;
};

TEST_F(ShippedTableTest, KnownCodesHaveTheirRules) {
  for (const Expected& want : std::vector<Expected>{
           {"1", "homicide", true, Consent::kOptOut},
           {"4.10", "homicide", true, Consent::kOptOut},
           {"2", "attempted_murder", true, Consent::kOptOut},
           {"5D", "violence_with_injury", true, Consent::kOptOut},
           {"8N", "violence_with_injury", false, Consent::kOptOut},
           {"8L", "stalking_harassment", false, Consent::kOptOut},
           {"8Q", "stalking_harassment", false, Consent::kOptOut},
           {"19C", "rape", true, Consent::kExplicit},
           {"17A", "sexual_offences", true, Consent::kExplicit},
           {"28E", "burglary_residential", false, Consent::kOptOut},
           {"34B", "robbery", false, Consent::kOptOut},
           {"36", "kidnap_false_imprisonment", true, Consent::kOptOut},
           {"56A", "arson_endangering_life", true, Consent::kOptOut},
           {"106", "modern_slavery", true, Consent::kOptOut},
           {"4.4", "death_by_driving", true, Consent::kOptOut},
           {"49", "theft", false, Consent::kOptOut},
       }) {
    const OffenceClass* offence = table().FindHomeOffice(want.code);
    ASSERT_THAT(offence, NotNull()) << want.code;
    EXPECT_EQ(offence->code, want.code);
    EXPECT_EQ(offence->category, want.category) << want.code;
    EXPECT_EQ(offence->most_serious, want.most_serious) << want.code;
    EXPECT_EQ(offence->consent, want.consent) << want.code;
    EXPECT_FALSE(offence->needs.empty()) << want.code;
  }
  EXPECT_THAT(
      table().FindHomeOffice("8L")->needs,
      ElementsAre("stalking", "safety_home_security", "emotional", "criminal_justice_information"));
  EXPECT_TRUE(table().FindHomeOffice("8P")->racially_or_religiously_aggravated);
  EXPECT_FALSE(table().FindHomeOffice("8N")->racially_or_religiously_aggravated);
}

TEST_F(ShippedTableTest, UnknownWellFormedCodesAreNotFound) {
  for (const char* code : {"8Z", "999", "3.2B", "8l", ""}) {
    EXPECT_EQ(table().FindHomeOffice(code), nullptr) << code;
  }
  const OffenceClass& general = table().GeneralRules();
  EXPECT_EQ(general.category, "other");
  EXPECT_FALSE(general.most_serious);
  EXPECT_EQ(general.consent, Consent::kOptOut);
  EXPECT_THAT(general.needs, ElementsAre("emotional", "practical", "criminal_justice_information"));
}

TEST_F(ShippedTableTest, CjsCodesMapToTheirHomeOfficeClass) {
  const OffenceClass* shop = table().FindCjs("TH68010");
  ASSERT_THAT(shop, NotNull());
  EXPECT_EQ(shop->code, "46");
  EXPECT_EQ(shop->category, "theft");
  // A suffix not listed on its own falls back to the base code.
  ASSERT_THAT(table().FindCjs("TH68010A"), NotNull());
  EXPECT_EQ(table().FindCjs("TH68010A")->code, "46");
  // A suffixed code that is listed wins: an attempted burglary is 28F, not 28E.
  EXPECT_EQ(table().FindCjs("TH68026")->code, "28E");
  EXPECT_EQ(table().FindCjs("TH68026A")->code, "28F");
  EXPECT_EQ(table().FindCjs("SX03002")->category, "rape");
  ASSERT_THAT(table().FindCjsEntry("TH68010"), NotNull());
  EXPECT_EQ(table().FindCjsEntry("TH68010")->title, "Theft from a shop");
  EXPECT_EQ(table().FindCjs("ZZ99999"), nullptr);
  EXPECT_EQ(table().FindCjs("TH68010X"), nullptr);
}

TEST_F(ShippedTableTest, FlagsLeadToFlagDrivenCategories) {
  const CrimeCategory* domestic = table().CategoryForFlag("domestic_abuse");
  ASSERT_THAT(domestic, NotNull());
  EXPECT_EQ(domestic->id, "domestic_abuse");
  EXPECT_TRUE(domestic->most_serious);
  EXPECT_EQ(domestic->consent, Consent::kExplicit);
  ASSERT_THAT(table().CategoryForFlag("hate_crime"), NotNull());
  EXPECT_EQ(table().CategoryForFlag("hate_crime")->id, "hate");
  EXPECT_EQ(table().CategoryForFlag("terrorism")->id, "terrorism");
  EXPECT_EQ(table().CategoryForFlag("not_a_flag"), nullptr);
}

TEST_F(ShippedTableTest, EverySelfReferralCategoryIsMapped) {
  const google::protobuf::EnumDescriptor* values =
      hub::intake::v1::SelfReferralCategory_descriptor();
  for (int i = 0; i < values->value_count(); ++i) {
    auto category = static_cast<SelfReferralCategory>(values->value(i)->number());
    if (category == hub::intake::v1::SELF_REFERRAL_CATEGORY_UNSPECIFIED) {
      EXPECT_EQ(table().ForSelfReferral(category), nullptr);
      continue;
    }
    const SelfReferralRule* rule = table().ForSelfReferral(category);
    ASSERT_THAT(rule, NotNull()) << values->value(i)->name();
    EXPECT_THAT(table().FindCategory(rule->category), NotNull());
  }
  EXPECT_EQ(table().ForSelfReferral(hub::intake::v1::SELF_REFERRAL_CATEGORY_FRAUD)->category,
            "fraud");
}

// ---------------------------------------------------------------------------------------
// Code formats.

TEST(CodeFormatTest, HomeOfficeCodes) {
  for (const char* code : {"1", "8L", "28E", "105A", "4.4", "4.10", "3.2B", "19C", "999ZZ"}) {
    EXPECT_TRUE(IsHomeOfficeCode(code)) << code;
  }
  for (const char* code : {"", "L8", "1234", "4.", "4.123", ".4", "8LLL", "8l", "4-4", "8 L"}) {
    EXPECT_FALSE(IsHomeOfficeCode(code)) << code;
  }
}

TEST(CodeFormatTest, CjsCodes) {
  for (const char* code :
       {"TH68010", "OF61016A", "TH68023B", "TH68023C", "SX03002I", "COML025", "COML020A"}) {
    EXPECT_TRUE(IsCjsCode(code)) << code;
  }
  for (const char* code : {"", "TH6801", "TH680100", "th68010", "T168010", "TH68010D", "TH68010AA",
                           "COML02", "COMX025"}) {
    EXPECT_FALSE(IsCjsCode(code)) << code;
  }
}

// ---------------------------------------------------------------------------------------
// Validation of bad tables. Each case edits one thing in a small valid table.

std::string SelfReferrals(absl::string_view skip) {
  std::string text = "self_referral_categories:\n";
  const google::protobuf::EnumDescriptor* values =
      hub::intake::v1::SelfReferralCategory_descriptor();
  for (int i = 0; i < values->value_count(); ++i) {
    const std::string& name = values->value(i)->name();
    if (values->value(i)->number() == 0 || name == skip) {
      continue;
    }
    absl::StrAppend(&text, "  ", name,
                    ": {category: other, most_serious: false, needs: [emotional]}\n");
  }
  return text;
}

std::string SmallTable(absl::string_view skip_self_referral = "") {
  return absl::StrCat(R"(version: "test.1"
effective_from: "2026-01-01"
general_rules:
  category: other
  most_serious: false
  consent: opt_out
  needs: [emotional]
categories:
  - {id: stalking_harassment, title: Stalking and harassment}
  - {id: sexual_offences, title: Sexual offences}
  - {id: other, title: Other}
  - id: domestic_abuse
    title: Domestic abuse
    flags: [domestic_abuse]
    most_serious: true
    consent: explicit
    needs: [domestic_abuse]
need_domains:
  - {id: emotional, title: Emotional}
  - {id: stalking, title: Stalking}
  - {id: domestic_abuse, title: Domestic abuse}
offences:
  - code: "8L"
    title: Harassment
    category: stalking_harassment
    most_serious: false
    consent: opt_out
    needs: [stalking, emotional]
  - {code: "20A", title: Sexual assault, category: sexual_offences, most_serious: true, consent: explicit, needs: [emotional]}
  - {code: "4.10", title: Corporate manslaughter, category: other, most_serious: true, consent: opt_out, needs: [emotional]}
cjs_offences:
  - {code: PH97004, title: Harassment without violence, home_office: "8L"}
)",
                      SelfReferrals(skip_self_referral));
}

TEST(ParseTest, SmallTableIsValid) {
  ASSERT_OK_AND_ASSIGN(OffenceTable table, OffenceTable::Parse(SmallTable()));
  EXPECT_EQ(table.version(), "test.1");
  EXPECT_EQ(table.effective_from(), absl::CivilDay(2026, 1, 1));
  ASSERT_THAT(table.FindHomeOffice("4.10"), NotNull());
  EXPECT_EQ(table.FindHomeOffice("4.10")->title, "Corporate manslaughter");
  EXPECT_EQ(table.FindCjs("PH97004")->code, "8L");
  EXPECT_EQ(table.CategoryForFlag("domestic_abuse")->id, "domestic_abuse");
}

struct BadTable {
  const char* name;
  const char* from;  // replaced in SmallTable() by `to`
  const char* to;
  const char* message;
};

class BadTableTest : public ::testing::TestWithParam<BadTable> {};

TEST_P(BadTableTest, NamesTheEntryAndField) {
  const BadTable& bad = GetParam();
  std::string text = SmallTable();
  ASSERT_THAT(text, HasSubstr(bad.from));
  text = absl::StrReplaceAll(text, {{bad.from, bad.to}});
  EXPECT_THAT(OffenceTable::Parse(text),
              StatusIs(absl::StatusCode::kInvalidArgument, std::string(bad.message)));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadTableTest,
    ::testing::Values(
        BadTable{"DuplicateCode", "cjs_offences:",
                 "  - {code: \"8L\", title: Again, category: other, most_serious: false, "
                 "consent: opt_out, needs: [emotional]}\ncjs_offences:",
                 "offences[3] (code 8L).code: repeats offences[0]"},
        BadTable{"UnknownCategory", "category: stalking_harassment", "category: violense",
                 "offences[0] (code 8L).category: unknown category 'violense'"},
        BadTable{"UnknownNeed", "needs: [stalking, emotional]", "needs: [stalking, emotionl]",
                 "offences[0] (code 8L).needs: unknown need domain 'emotionl'"},
        BadTable{"MalformedCode", "code: \"8L\"", "code: \"8LLL\"",
                 "offences[0] (code 8LLL).code: not a Home Office offence class code (1-3 "
                 "digits, optionally '.' and 1-2 digits, then up to 2 upper-case letters); "
                 "cjs_offences[0] (code PH97004).home_office: unknown Home Office class '8L': "
                 "list it under offences first"},
        BadTable{"UnquotedNumericCode", "code: \"4.10\"", "code: 4.10",
                 "offences[2] (code 4.10).code: must be quoted (\"4.10\"): unquoted, YAML reads "
                 "it as a number"},
        BadTable{"MalformedCjsCode", "code: PH97004", "code: PH9704",
                 "cjs_offences[0] (code PH9704).code: not a CJS offence code (2 upper-case "
                 "letters and 5 digits, or COML and 3 digits, then an optional suffix A, B, C "
                 "or I)"},
        BadTable{"CjsToUnknownClass", "home_office: \"8L\"", "home_office: \"8Q\"",
                 "cjs_offences[0] (code PH97004).home_office: unknown Home Office class '8Q': "
                 "list it under offences first"},
        BadTable{"UnmappedSelfReferral",
                 "  SELF_REFERRAL_CATEGORY_FRAUD: {category: other, most_serious: false, "
                 "needs: [emotional]}\n",
                 "", "self_referral_categories: SELF_REFERRAL_CATEGORY_FRAUD is not mapped"},
        BadTable{"SelfReferralToUnknownCategory", "SELF_REFERRAL_CATEGORY_FRAUD: {category: other",
                 "SELF_REFERRAL_CATEGORY_FRAUD: {category: fraud",
                 "self_referral_categories.SELF_REFERRAL_CATEGORY_FRAUD.category: unknown "
                 "category 'fraud'"},
        BadTable{"MissingVersion", "version: \"test.1\"\n", "", "version: is required"},
        BadTable{"BadDate", "effective_from: \"2026-01-01\"", "effective_from: \"2026-13-01\"",
                 "effective_from: must be a date YYYY-MM-DD, not '2026-13-01'"},
        BadTable{"MisspeltField",
                 "    most_serious: false\n    consent: opt_out\n    needs: "
                 "[stalking",
                 "    most_serius: false\n    consent: opt_out\n    needs: [stalking",
                 "offences[0] (code 8L): unknown field 'most_serius'; "
                 "offences[0] (code 8L).most_serious: is required"},
        BadTable{"BadConsent", "most_serious: true, consent: explicit",
                 "most_serious: true, consent: optin",
                 "offences[1] (code 20A).consent: must be opt_out or explicit, not 'optin'"},
        BadTable{"BadBool", "most_serious: true, consent: explicit",
                 "most_serious: yes, consent: explicit",
                 "offences[1] (code 20A).most_serious: must be true or false"},
        BadTable{"UnknownFlag", "flags: [domestic_abuse]", "flags: [domestic]",
                 "categories[3] (id domestic_abuse).flags: unknown crime flag 'domestic'"},
        BadTable{"RulesOnCodeDrivenCategory", "{id: other, title: Other}",
                 "{id: other, title: Other, consent: explicit}",
                 "categories[2] (id other).consent: only a flag-driven category (one with "
                 "flags) has rules of its own"},
        BadTable{"UnknownTopLevelField", "need_domains:", "need_domain:",
                 "need_domain: unknown top-level field; need_domains: is required"}),
    [](const ::testing::TestParamInfo<BadTable>& param_info) { return param_info.param.name; });

TEST(ParseTest, ReportsSelfReferralKeysThatAreNotCategories) {
  std::string text = absl::StrCat(SmallTable(),
                                  "  SELF_REFERRAL_CATEGORY_UNSPECIFIED: {category: other, "
                                  "most_serious: false, needs: [emotional]}\n");
  EXPECT_THAT(OffenceTable::Parse(text),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "self_referral_categories.SELF_REFERRAL_CATEGORY_UNSPECIFIED: UNSPECIFIED "
                       "is not a category and cannot be mapped"));
  text = absl::StrCat(SmallTable(),
                      "  SELF_REFERRAL_CATEGORY_BURGLERY: {category: other, most_serious: false, "
                      "needs: [emotional]}\n");
  EXPECT_THAT(OffenceTable::Parse(text),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "self_referral_categories.SELF_REFERRAL_CATEGORY_BURGLERY: not a "
                       "SelfReferralCategory value"));
}

TEST(ParseTest, RefusesTextThatIsNotATable) {
  EXPECT_THAT(OffenceTable::Parse("version: [unclosed"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not valid YAML: line 1")));
  EXPECT_THAT(OffenceTable::Parse(""), StatusIs(absl::StatusCode::kInvalidArgument,
                                                "the offence table must be a YAML mapping"));
  EXPECT_THAT(OffenceTable::Parse("- a\n- b\n"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ParseTest, ListsManyProblemsButNotEndlessly) {
  std::string text = SmallTable();
  for (int i = 0; i < 30; ++i) {
    absl::StrAppend(&text, "extra_", i, ": 1\n");
  }
  absl::StatusOr<OffenceTable> table = OffenceTable::Parse(text);
  EXPECT_THAT(table, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("; and 10 more")));
}

TEST(LoadTest, PrefixesErrorsWithThePath) {
  std::string path = absl::StrCat(::testing::TempDir(), "/offences_bad.yaml");
  {
    std::ofstream out(path);
    out << absl::StrReplaceAll(SmallTable(), {{"version: \"test.1\"\n", ""}});
  }
  EXPECT_THAT(OffenceTable::Load(path), StatusIs(absl::StatusCode::kInvalidArgument,
                                                 absl::StrCat(path, ": version: is required")));
  ASSERT_EQ(std::remove(path.c_str()), 0);
  EXPECT_THAT(OffenceTable::Load(path), StatusIs(absl::StatusCode::kNotFound, HasSubstr(path)));
}

}  // namespace
}  // namespace hub::offences
