#include "services/routing/planner/planner.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/offences/offences.h"

namespace hub::routing {
namespace {

using ::hub::events::v1::NeedsAssessed;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const Directory& Shipped() {
  static const auto* directory = [] {
    static const auto* offences = [] {
      absl::StatusOr<offences::OffenceTable> table =
          offences::OffenceTable::Load(offences::DefaultOffenceTablePath());
      EXPECT_TRUE(table.ok()) << table.status();
      return new offences::OffenceTable(*std::move(table));
    }();
    absl::StatusOr<std::shared_ptr<const Directory>> loaded =
        Directory::Load(DefaultDirectoryPath(), *offences);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new std::shared_ptr<const Directory>(*std::move(loaded));
  }();
  return **directory;
}

// A REFER assessment for an adult in Cambridge (CB1), consent given.
NeedsAssessed Assessment(const std::string& category, const std::vector<std::string>& needs,
                         int age = 40, const std::string& la = "E07000008",
                         const std::string& district = "CB1") {
  NeedsAssessed assessment;
  assessment.set_case_id("c_000000000000000000000009");
  assessment.set_crime_category(category);
  for (const std::string& need : needs) {
    assessment.add_needs(need);
  }
  assessment.set_referral_decision(hub::events::v1::REFERRAL_DECISION_REFER);
  assessment.set_consent_rule(hub::events::v1::CONSENT_RULE_OPT_OUT);
  assessment.set_consent_status(hub::intake::v1::CONSENT_STATUS_GIVEN);
  auto* report = assessment.mutable_crime()->mutable_report();
  report->mutable_location()->set_local_authority_code(la);
  report->mutable_location()->set_postcode_district(district);
  auto* victim = report->add_victims();
  victim->set_age_at_offence(static_cast<uint32_t>(age));
  victim->mutable_consent()->set_status(hub::intake::v1::CONSENT_STATUS_GIVEN);
  victim->mutable_consent()->set_scope(hub::intake::v1::CONSENT_SCOPE_ALL_PROVIDERS);
  return assessment;
}

std::vector<std::string> Keys(const Plan& plan) {
  std::vector<std::string> keys;
  keys.reserve(plan.referrals.size());
  for (const PlannedReferral& referral : plan.referrals) {
    keys.push_back(referral.service->key);
  }
  return keys;
}

TEST(PlannerTest, TheftGoesToTheHubTeamAlone) {
  Plan plan = PlanReferrals(Shipped(), Assessment("theft", {"practical", "emotional"}), {});
  EXPECT_THAT(Keys(plan), ElementsAre("hub-victim-care"));
  EXPECT_THAT(plan.referrals[0].needs, ElementsAre("practical", "emotional"));
  EXPECT_FALSE(plan.referrals[0].full);
}

TEST(PlannerTest, ElderlyBurglaryVictimGetsTargetHardeningAndTheHubForTheRest) {
  Plan plan = PlanReferrals(
      Shipped(),
      Assessment("burglary_residential", {"safety_home_security", "practical", "emotional"}, 80,
                 "E07000010", "PE13"),
      {});
  EXPECT_THAT(Keys(plan), ElementsAre("home-security", "hub-victim-care"));
  EXPECT_THAT(plan.referrals[0].needs, ElementsAre("safety_home_security", "practical"));
  EXPECT_THAT(plan.referrals[0].reason, HasSubstr("specialist in burglary_residential"));
  EXPECT_THAT(plan.referrals[1].needs, ElementsAre("emotional"));
}

TEST(PlannerTest, OneReferralPerProviderCarryingEveryNeedItMeets) {
  Plan plan =
      PlanReferrals(Shipped(),
                    Assessment("domestic_abuse",
                               {"emotional", "health_mental_health", "criminal_justice_information",
                                "domestic_abuse", "safety_home_security"},
                               30, "E06000031", "PE1"),
                    {});
  ASSERT_EQ(plan.referrals.size(), 2u) << ::testing::PrintToString(Keys(plan));
  EXPECT_EQ(plan.referrals[0].service->key, "idva-peterborough");
  EXPECT_THAT(plan.referrals[0].needs,
              ElementsAre("emotional", "domestic_abuse", "safety_home_security"));
  // The mental-health pathfinder takes enhanced victims only: this assessment is not.
  EXPECT_EQ(plan.referrals[1].service->key, "hub-victim-care");
  EXPECT_THAT(plan.referrals[1].needs,
              ElementsAre("health_mental_health", "criminal_justice_information"));
  EXPECT_THAT(plan.referrals[1].reason,
              HasSubstr("no eligible provider meets health_mental_health"));
  EXPECT_THAT(plan.not_chosen, testing::Contains(HasSubstr("mh-pathfinder: takes enhanced")));
}

TEST(PlannerTest, EnhancedVictimAlsoGetsThePathfinder) {
  NeedsAssessed assessment =
      Assessment("domestic_abuse", {"emotional", "health_mental_health", "domestic_abuse"}, 30,
                 "E06000031", "PE1");
  assessment.set_enhanced(true);
  Plan plan = PlanReferrals(Shipped(), assessment, {});
  EXPECT_THAT(Keys(plan), ElementsAre("idva-peterborough", "mh-pathfinder"));
  EXPECT_THAT(plan.referrals[1].needs, ElementsAre("health_mental_health"));
}

TEST(PlannerTest, AFullProviderIsPassedOverForOneWithRoom) {
  // idva-cambs covers Cambridge; idva-young-person too, for 13-19 year olds.
  NeedsAssessed assessment = Assessment("domestic_abuse", {"domestic_abuse", "emotional"}, 17);
  PlanInput input;
  input.load["idva-cambs"] = 12;  // Its maximum.
  Plan plan = PlanReferrals(Shipped(), assessment, input);
  ASSERT_FALSE(plan.referrals.empty());
  EXPECT_EQ(plan.referrals[0].service->key, "idva-young-person");
  EXPECT_FALSE(plan.referrals[0].full);
}

TEST(PlannerTest, WhenEveryEligibleProviderIsFullTheBestOneIsChosenToWait) {
  PlanInput input;
  input.load["idva-cambs"] = 12;
  Plan plan = PlanReferrals(Shipped(), Assessment("domestic_abuse", {"domestic_abuse"}, 40), input);
  ASSERT_EQ(plan.referrals.size(), 1u);
  EXPECT_EQ(plan.referrals[0].service->key, "idva-cambs");
  EXPECT_TRUE(plan.referrals[0].full);
  EXPECT_THAT(plan.referrals[0].reason, HasSubstr("waits for a place"));
}

TEST(PlannerTest, AProviderThatDeclinedIsNotAskedAgain) {
  PlanInput input;
  input.excluded.insert("idva-cambs");
  Plan plan = PlanReferrals(Shipped(), Assessment("domestic_abuse", {"domestic_abuse"}, 40), input);
  EXPECT_THAT(Keys(plan), ElementsAre("hub-victim-care"));
  EXPECT_THAT(plan.referrals[0].reason, HasSubstr("no eligible provider meets domestic_abuse"));
  EXPECT_THAT(plan.not_chosen, testing::Contains(HasSubstr("idva-cambs: already declined")));
}

TEST(PlannerTest, ChildVictimOfSexualOffenceGoesToTheChildrensIsva) {
  Plan plan = PlanReferrals(
      Shipped(),
      Assessment("sexual_offences", {"sexual_violence", "young_victim", "emotional"}, 15), {});
  ASSERT_FALSE(plan.referrals.empty());
  EXPECT_EQ(plan.referrals[0].service->key, "isva-children");
  EXPECT_THAT(plan.referrals[0].needs, ElementsAre("sexual_violence", "young_victim", "emotional"));
  EXPECT_THAT(plan.not_chosen, testing::Contains(HasSubstr("isva-cambs: age range 18-")));
}

TEST(PlannerTest, ConsentLimitsWhoMayBeAsked) {
  NeedsAssessed hub_only = Assessment("domestic_abuse", {"domestic_abuse"}, 40);
  hub_only.mutable_crime()->mutable_report()->mutable_victims(0)->mutable_consent()->set_scope(
      hub::intake::v1::CONSENT_SCOPE_HUB_ONLY);
  EXPECT_THAT(Keys(PlanReferrals(Shipped(), hub_only, {})), ElementsAre("hub-victim-care"));

  NeedsAssessed named = Assessment("domestic_abuse", {"domestic_abuse", "stalking"}, 40);
  auto* consent = named.mutable_crime()->mutable_report()->mutable_victims(0)->mutable_consent();
  consent->set_scope(hub::intake::v1::CONSENT_SCOPE_NAMED_PROVIDERS);
  consent->add_provider_ids("stalking-advocacy");
  named.set_crime_category("stalking_harassment");
  EXPECT_THAT(Keys(PlanReferrals(Shipped(), named, {})),
              ElementsAre("stalking-advocacy", "hub-victim-care"));
}

TEST(PlannerTest, NoExternalReferralWithoutTheConsentTheRulesRequire) {
  NeedsAssessed assessment = Assessment("domestic_abuse", {"domestic_abuse"}, 40);
  assessment.set_referral_decision(hub::events::v1::REFERRAL_DECISION_SEEK_CONSENT);
  Plan plan = PlanReferrals(Shipped(), assessment, {});
  EXPECT_THAT(Keys(plan), ElementsAre("hub-victim-care"));
  EXPECT_THAT(plan.referrals[0].needs, IsEmpty());
  EXPECT_THAT(plan.referrals[0].reason, HasSubstr("REFERRAL_DECISION_SEEK_CONSENT"));
}

TEST(PlannerTest, AnUnknownAgeKeepsAgeLimitedServicesOut) {
  NeedsAssessed assessment = Assessment("domestic_abuse", {"domestic_abuse"}, 40);
  assessment.mutable_crime()->mutable_report()->mutable_victims(0)->clear_age_at_offence();
  Plan plan = PlanReferrals(Shipped(), assessment, {});
  EXPECT_THAT(Keys(plan), ElementsAre("hub-victim-care"));
  EXPECT_THAT(plan.not_chosen,
              testing::Contains(HasSubstr("idva-cambs: takes an age range and the victim's age")));
}

}  // namespace
}  // namespace hub::routing
