#include "services/notification/contact_policy.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hub::notification {
namespace {

using ::hub::events::v1::Channel;
using ::hub::intake::v1::ContactRoute;

struct Route {
  ContactRoute::Channel channel;
  bool safe;
};

struct PolicyCase {
  std::string name;
  std::vector<Route> routes;
  bool no_contact = false;
  bool suspect_shares_address = false;
  bool domestic_abuse = false;
  Channel expected;
};

hub::events::v1::ReferralRouted Routed(const PolicyCase& c) {
  hub::events::v1::ReferralRouted routed;
  routed.set_case_id("c_000000000000000000000003");
  auto* report = routed.mutable_assessment()->mutable_crime()->mutable_report();
  report->mutable_flags()->set_domestic_abuse(c.domestic_abuse);
  auto* victim = report->add_victims();
  victim->set_no_contact(c.no_contact);
  victim->set_suspect_shares_address(c.suspect_shares_address);
  for (const Route& route : c.routes) {
    auto* added = victim->add_contact_routes();
    added->set_channel(route.channel);
    added->set_safety(route.safe ? hub::intake::v1::CHANNEL_SAFETY_SAFE
                                 : hub::intake::v1::CHANNEL_SAFETY_UNSAFE);
  }
  return routed;
}

class ContactPolicyTest : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(ContactPolicyTest, ChoosesASafeChannelOrNone) {
  ContactDecision decision = DecideVictimContact(Routed(GetParam()));
  EXPECT_EQ(decision.channel, GetParam().expected)
      << hub::events::v1::Channel_Name(decision.channel) << ": " << decision.reason;
  EXPECT_FALSE(decision.reason.empty());
}

constexpr auto kEmail = ContactRoute::CHANNEL_EMAIL;
constexpr auto kSms = ContactRoute::CHANNEL_SMS;
constexpr auto kLetter = ContactRoute::CHANNEL_LETTER;
constexpr auto kPhone = ContactRoute::CHANNEL_PHONE;

INSTANTIATE_TEST_SUITE_P(
    DecisionTable, ContactPolicyTest,
    ::testing::Values(
        PolicyCase{"safe_email_first",
                   {{kLetter, true}, {kSms, true}, {kEmail, true}},
                   false,
                   false,
                   false,
                   hub::events::v1::CHANNEL_EMAIL},
        PolicyCase{"unsafe_email_skipped",
                   {{kEmail, false}, {kSms, true}},
                   false,
                   false,
                   false,
                   hub::events::v1::CHANNEL_SMS},
        PolicyCase{
            "safe_letter", {{kLetter, true}}, false, false, false, hub::events::v1::CHANNEL_LETTER},
        PolicyCase{"no_letter_to_shared_home",
                   {{kLetter, true}},
                   false,
                   true,
                   false,
                   hub::events::v1::CHANNEL_CALL_TASK},
        PolicyCase{"no_letter_for_domestic_abuse",
                   {{kLetter, true}},
                   false,
                   false,
                   true,
                   hub::events::v1::CHANNEL_CALL_TASK},
        PolicyCase{"unsafe_everything",
                   {{kEmail, false}, {kSms, false}, {kLetter, false}},
                   false,
                   false,
                   false,
                   hub::events::v1::CHANNEL_CALL_TASK},
        PolicyCase{"phone_only",
                   {{kPhone, true}},
                   false,
                   false,
                   false,
                   hub::events::v1::CHANNEL_CALL_TASK},
        PolicyCase{"no_contact_wins", {}, true, false, false, hub::events::v1::CHANNEL_NONE}),
    [](const ::testing::TestParamInfo<PolicyCase>& param_info) { return param_info.param.name; });

TEST(ContactPolicyTest, ConsentCasesGetTheConsentRequest) {
  PolicyCase c{"x", {{kSms, true}}, false, false, true, hub::events::v1::CHANNEL_SMS};
  hub::events::v1::ReferralRouted routed = Routed(c);
  routed.mutable_assessment()->set_consent_required(true);
  EXPECT_EQ(DecideVictimContact(routed).template_id, "victim.consent_request");
  routed.mutable_assessment()
      ->mutable_crime()
      ->mutable_report()
      ->mutable_victims(0)
      ->mutable_consent()
      ->set_status(hub::intake::v1::CONSENT_STATUS_GIVEN);
  EXPECT_EQ(DecideVictimContact(routed).template_id, "victim.acknowledgement");
}

}  // namespace
}  // namespace hub::notification
