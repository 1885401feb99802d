#include "services/notification/templates/catalogue.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hub::notification::templates {
namespace {

using ::testing::ElementsAre;

TEST(CatalogueTest, EveryMessageVariableIsDescribedOnceAndHasExamples) {
  std::set<std::string> ids;
  for (const MessageSpec& message : MessageCatalogue()) {
    EXPECT_TRUE(ids.insert(std::string(message.id)).second) << "repeated id " << message.id;
    EXPECT_FALSE(message.channels.empty()) << message.id;
    std::set<std::string> seen;
    for (absl::string_view name : message.variables) {
      EXPECT_TRUE(seen.insert(std::string(name)).second) << message.id << " repeats " << name;
      const VariableSpec* variable = FindVariable(name);
      ASSERT_NE(variable, nullptr) << message.id << " uses undescribed " << name;
      EXPECT_FALSE(variable->example_en.empty()) << name;
      EXPECT_FALSE(variable->example_cy.empty()) << name;
    }
  }
  std::set<std::string> names;
  for (const VariableSpec& variable : VariableCatalogue()) {
    EXPECT_TRUE(names.insert(std::string(variable.name)).second) << variable.name;
  }
}

TEST(CatalogueTest, TheMessagesTheServiceAlreadyNamesExist) {
  // contact_policy.cc picks these two ids.
  EXPECT_NE(FindMessage("victim.acknowledgement"), nullptr);
  EXPECT_NE(FindMessage("victim.consent_request"), nullptr);
  EXPECT_EQ(FindMessage("victim.nonexistent"), nullptr);
}

TEST(CatalogueTest, NothingThatMayNameTheCrimeOrServiceIsLockScreenSafe) {
  for (absl::string_view name :
       {"provider_name", "hub_name", "crime_reference", "reported_on", "decision_date",
        "portal_url", "case_url", "dashboard_url", "deadline_name", "failure_reason"}) {
    const VariableSpec* variable = FindVariable(name);
    ASSERT_NE(variable, nullptr) << name;
    EXPECT_FALSE(variable->lock_screen_safe) << name;
  }
}

// The police's Milestone carries no bail end date or conditions, so bail updates must not
// ask for them: they need only what every other case update needs.
TEST(CatalogueTest, BailUpdatesNeedOnlyWhatEveryCaseUpdateNeeds) {
  const MessageSpec* arrest = FindMessage("victim.update.arrest");
  ASSERT_NE(arrest, nullptr);
  for (absl::string_view id : {"victim.update.bail", "victim.update.bail_changed"}) {
    const MessageSpec* bail = FindMessage(id);
    ASSERT_NE(bail, nullptr) << id;
    EXPECT_EQ(bail->variables, arrest->variables) << id;
  }
  EXPECT_EQ(FindVariable("bail_until"), nullptr);
  EXPECT_EQ(FindVariable("bail_conditions"), nullptr);
}

TEST(CatalogueTest, ChannelsMapToParts) {
  EXPECT_THAT(PartsOf(Channel::kSms), ElementsAre(Part::kSms));
  EXPECT_THAT(PartsOf(Channel::kEmail),
              ElementsAre(Part::kEmailSubject, Part::kEmailText, Part::kEmailHtml));
  EXPECT_THAT(PartsOf(Channel::kLetter), ElementsAre(Part::kLetter));
  const MessageSpec* staff = FindMessage("staff.deadline_breach");
  ASSERT_NE(staff, nullptr);
  EXPECT_FALSE(MessageHasPart(*staff, Part::kSms));
  EXPECT_TRUE(MessageHasPart(*staff, Part::kEmailHtml));
  EXPECT_TRUE(IsDiscreet(Part::kSms));
  EXPECT_TRUE(IsDiscreet(Part::kEmailSubject));
  EXPECT_FALSE(IsDiscreet(Part::kLetter));
  EXPECT_TRUE(HasPreview(Part::kEmailHtml));
  EXPECT_TRUE(IsHtml(Part::kEmailHtml));
  EXPECT_FALSE(IsHtml(Part::kEmailText));
}

struct TagCase {
  std::string tag;
  Language expected;
};

class LanguageForTagTest : public ::testing::TestWithParam<TagCase> {};

TEST_P(LanguageForTagTest, WelshOnlyForCyAndCyGb) {
  EXPECT_EQ(LanguageForTag(GetParam().tag), GetParam().expected) << "\"" << GetParam().tag << "\"";
}

INSTANTIATE_TEST_SUITE_P(
    Tags, LanguageForTagTest,
    ::testing::Values(TagCase{"cy", Language::kWelsh}, TagCase{"cy-GB", Language::kWelsh},
                      TagCase{"CY", Language::kWelsh}, TagCase{"cy-gb", Language::kWelsh},
                      TagCase{" cy ", Language::kWelsh}, TagCase{"en", Language::kEnglish},
                      TagCase{"en-GB", Language::kEnglish}, TagCase{"", Language::kEnglish},
                      TagCase{"pl", Language::kEnglish}, TagCase{"cym", Language::kEnglish},
                      TagCase{"cy-Latn", Language::kEnglish},
                      TagCase{"welsh", Language::kEnglish}));

TEST(FormatDateTest, EnglishAndWelsh) {
  EXPECT_EQ(FormatDate(absl::CivilDay(2025, 3, 21), Language::kEnglish), "21 March 2025");
  EXPECT_EQ(FormatDate(absl::CivilDay(2025, 3, 21), Language::kWelsh), "21 Mawrth 2025");
  EXPECT_EQ(FormatDayAndDate(absl::CivilDay(2025, 3, 21), Language::kEnglish),
            "Friday 21 March 2025");
  EXPECT_EQ(FormatDayAndDate(absl::CivilDay(2025, 3, 21), Language::kWelsh),
            "dydd Gwener 21 Mawrth 2025");
  EXPECT_EQ(FormatDayAndDate(absl::CivilDay(2026, 1, 4), Language::kWelsh),
            "dydd Sul 4 Ionawr 2026");
  EXPECT_EQ(FormatDate(absl::CivilDay(2025, 12, 1), Language::kWelsh), "1 Rhagfyr 2025");
}

TEST(ExampleVariablesTest, GivesExactlyTheMessageVariables) {
  const MessageSpec* message = FindMessage("victim.referral_made");
  ASSERT_NE(message, nullptr);
  const Variables welsh = ExampleVariables(*message, Language::kWelsh);
  EXPECT_EQ(welsh.size(), message->variables.size());
  EXPECT_EQ(welsh.at("contact_by"), "dydd Gwener 21 Mawrth 2025");
}

}  // namespace
}  // namespace hub::notification::templates
