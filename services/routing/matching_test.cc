#include "services/routing/matching.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hub::routing {
namespace {

using ::testing::HasSubstr;

// What triage decides for the consent and rule (the routing decision it publishes).
hub::events::v1::NeedsAssessed Assessment(hub::intake::v1::ConsentStatus consent,
                                          bool consent_required) {
  hub::events::v1::NeedsAssessed assessment;
  assessment.set_case_id("c_000000000000000000000002");
  assessment.set_consent_required(consent_required);
  assessment.set_consent_status(consent);
  if (consent == hub::intake::v1::CONSENT_STATUS_DECLINED) {
    assessment.set_referral_decision(hub::events::v1::REFERRAL_DECISION_NO_SUPPORT_WANTED);
  } else if (consent_required && consent != hub::intake::v1::CONSENT_STATUS_GIVEN) {
    assessment.set_referral_decision(hub::events::v1::REFERRAL_DECISION_SEEK_CONSENT);
  } else {
    assessment.set_referral_decision(hub::events::v1::REFERRAL_DECISION_REFER);
  }
  assessment.set_priority(hub::events::v1::PRIORITY_STANDARD);
  assessment.mutable_crime()->mutable_report()->add_victims()->mutable_consent()->set_status(
      consent);
  return assessment;
}

TEST(RouteTest, DefaultsToTheHubTeamWithAStableReferralId) {
  auto routed =
      Route(Assessment(hub::intake::v1::CONSENT_STATUS_NOT_ASKED, false), absl::FromUnixSeconds(5));
  EXPECT_EQ(routed.provider_id(), kHubVictimCareProviderId);
  EXPECT_EQ(routed.referral_id(), ReferralIdFor("c_000000000000000000000002", "hub-victim-care"));
  EXPECT_EQ(routed.referral_id().size(), 26u);
  EXPECT_FALSE(routed.external());
  EXPECT_THAT(routed.reason(), HasSubstr("default service"));
  EXPECT_EQ(routed.assessment().case_id(), "c_000000000000000000000002");
}

TEST(RouteTest, NeverReferOutWithoutTheConsentTheRulesRequire) {
  auto routed =
      Route(Assessment(hub::intake::v1::CONSENT_STATUS_NOT_ASKED, true), absl::FromUnixSeconds(5));
  EXPECT_FALSE(routed.external());
  EXPECT_THAT(routed.reason(), HasSubstr("Explicit consent is needed"));
}

TEST(RouteTest, DeclinedConsentIsRespected) {
  auto routed =
      Route(Assessment(hub::intake::v1::CONSENT_STATUS_DECLINED, false), absl::FromUnixSeconds(5));
  EXPECT_FALSE(routed.external());
  EXPECT_THAT(routed.reason(), HasSubstr("declined"));
}

}  // namespace
}  // namespace hub::routing
