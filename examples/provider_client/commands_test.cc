#include "examples/provider_client/commands.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace hub::provider_client {
namespace {

namespace v1 = ::hub::routing::v1;
using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCaller[] = "--caller=provider:idva-cambs";

Options MustParse(const std::vector<std::string>& args) {
  Options options;
  std::string error;
  EXPECT_TRUE(ParseArgs(args, &options, &error)) << error;
  return options;
}

std::string ParseError(const std::vector<std::string>& args) {
  Options options;
  std::string error;
  EXPECT_FALSE(ParseArgs(args, &options, &error));
  return error;
}

TEST(ParseArgsTest, OffersWithEveryFlagBeforeOrAfterTheCommand) {
  const Options options = MustParse({"--target", "10.0.0.1:443", "offers", "--follow", "--ack",
                                     "--max=5", "--timeout", "2.5", kCaller, "--json"});
  EXPECT_EQ(options.command, Command::kOffers);
  EXPECT_EQ(options.target, "10.0.0.1:443");
  EXPECT_EQ(options.caller, "provider:idva-cambs");
  EXPECT_TRUE(options.follow);
  EXPECT_TRUE(options.ack);
  EXPECT_TRUE(options.json);
  EXPECT_EQ(options.max, 5);
  ASSERT_TRUE(options.timeout.has_value());
  EXPECT_EQ(options.timeout->count(), 2500);
}

TEST(ParseArgsTest, DefaultsAreLoopbackRoutingAndNoLimits) {
  const Options options = MustParse({"offers", kCaller});
  EXPECT_EQ(options.target, "127.0.0.1:50053");
  EXPECT_FALSE(options.follow);
  EXPECT_FALSE(options.ack);
  EXPECT_FALSE(options.json);
  EXPECT_EQ(options.max, 0);
  EXPECT_FALSE(options.timeout.has_value());
  EXPECT_EQ(options.idle.count(), 1000);
}

TEST(ParseArgsTest, HelpNeedsNothingElse) {
  EXPECT_EQ(MustParse({"help"}).command, Command::kHelp);
  EXPECT_EQ(MustParse({"accept", "--help"}).command, Command::kHelp);
  EXPECT_EQ(MustParse({"-h"}).command, Command::kHelp);
}

TEST(ParseArgsTest, ListTakesRepeatedAndCommaSeparatedStatuses) {
  const Options options =
      MustParse({"list", kCaller, "--status", "accepted,in-progress", "--status=on-hold"});
  EXPECT_THAT(options.statuses,
              ElementsAre(v1::REFERRAL_STATUS_ACCEPTED, v1::REFERRAL_STATUS_IN_PROGRESS,
                          v1::REFERRAL_STATUS_ON_HOLD));
  EXPECT_THAT(MustParse({"list", "--status", "entered-in-error", kCaller}).statuses,
              ElementsAre(v1::REFERRAL_STATUS_ENTERED_IN_ERROR));
  EXPECT_TRUE(MustParse({"list", kCaller}).statuses.empty());
}

TEST(ParseArgsTest, EveryRejectionReason) {
  const std::vector<std::pair<std::string, v1::RejectionReason>> cases = {
      {"at-capacity", v1::REJECTION_REASON_AT_CAPACITY},
      {"ineligible", v1::REJECTION_REASON_INELIGIBLE},
      {"no-safe-contact", v1::REJECTION_REASON_NO_SAFE_CONTACT},
      {"duplicate", v1::REJECTION_REASON_DUPLICATE},
      {"other", v1::REJECTION_REASON_OTHER},
  };
  for (const auto& [label, reason] : cases) {
    const Options options = MustParse({"reject", "r-1", "--reason", label, kCaller});
    EXPECT_EQ(options.command, Command::kReject);
    EXPECT_EQ(options.referral_id, "r-1");
    EXPECT_EQ(options.rejection_reason, reason) << label;
  }
}

TEST(ParseArgsTest, EveryClosureReasonAProviderGives) {
  const std::vector<std::pair<std::string, v1::ClosureReason>> cases = {
      {"refused", v1::CLOSURE_REASON_VICTIM_REFUSED_SERVICES},
      {"lack-of-capacity", v1::CLOSURE_REASON_LACK_OF_CAPACITY},
      {"no-longer-needed", v1::CLOSURE_REASON_SERVICES_NO_LONGER_NEEDED},
      {"unable-to-contact", v1::CLOSURE_REASON_UNABLE_TO_CONTACT_VICTIM},
      {"other", v1::CLOSURE_REASON_OTHER},
  };
  for (const auto& [label, reason] : cases) {
    const Options options = MustParse({"fail", "r-1", "--closure", label, kCaller});
    EXPECT_EQ(options.closure_reason, reason) << label;
    const v1::CompleteReferralRequest request = CompletionRequest(options);
    EXPECT_EQ(request.referral_id(), "r-1");
    EXPECT_EQ(request.status(), v1::REFERRAL_STATUS_FAILED);
    EXPECT_EQ(request.closure_reason(), reason);
    EXPECT_FALSE(request.has_outcome());
  }
  // The hub's own reason is not one a provider gives.
  EXPECT_THAT(ParseError({"fail", "r-1", "--closure", "unable-to-contact-provider", kCaller}),
              HasSubstr("unknown reason 'unable-to-contact-provider'"));
}

TEST(ParseArgsTest, CompleteRecordsNamedMeasuresImprovedAndTheRestNot) {
  const Options options = MustParse({"complete", "r-9", "--outcome", "cope,cjs", kCaller});
  const v1::CompleteReferralRequest request = CompletionRequest(options);
  EXPECT_EQ(request.status(), v1::REFERRAL_STATUS_COMPLETED);
  EXPECT_EQ(request.closure_reason(), v1::CLOSURE_REASON_UNSPECIFIED);
  const v1::CopeAndRecoverOutcome& outcome = request.outcome();
  ASSERT_TRUE(outcome.has_cope_with_everyday_life_improved());
  ASSERT_TRUE(outcome.has_feel_safer_improved());
  ASSERT_TRUE(outcome.has_health_and_wellbeing_improved());
  ASSERT_TRUE(outcome.has_engage_with_criminal_justice_improved());
  ASSERT_TRUE(outcome.has_access_services_improved());
  EXPECT_TRUE(outcome.cope_with_everyday_life_improved());
  EXPECT_FALSE(outcome.feel_safer_improved());
  EXPECT_FALSE(outcome.health_and_wellbeing_improved());
  EXPECT_TRUE(outcome.engage_with_criminal_justice_improved());
  EXPECT_FALSE(outcome.access_services_improved());
}

TEST(ParseArgsTest, CompleteMayCarryAClosureReasonInsteadOfOrBesideAnOutcome) {
  const v1::CompleteReferralRequest closed =
      CompletionRequest(MustParse({"complete", "r-9", "--closure", "no-longer-needed", kCaller}));
  EXPECT_EQ(closed.closure_reason(), v1::CLOSURE_REASON_SERVICES_NO_LONGER_NEEDED);
  EXPECT_FALSE(closed.has_outcome());
  const v1::CompleteReferralRequest both = CompletionRequest(MustParse(
      {"complete", "r-9", "--closure", "no-longer-needed", "--outcome", "none", kCaller}));
  EXPECT_EQ(both.closure_reason(), v1::CLOSURE_REASON_SERVICES_NO_LONGER_NEEDED);
  ASSERT_TRUE(both.outcome().has_feel_safer_improved());
  EXPECT_FALSE(both.outcome().feel_safer_improved());
}

TEST(ParseArgsTest, WorkCompletesWithCopeAndSaferByDefault) {
  const Options options = MustParse({"work", "--max", "3", "--timeout", "30", kCaller});
  EXPECT_EQ(options.max, 3);
  ASSERT_TRUE(options.outcome.has_value());
  EXPECT_TRUE(options.outcome->cope_with_everyday_life_improved());
  EXPECT_TRUE(options.outcome->feel_safer_improved());
  ASSERT_TRUE(options.outcome->has_health_and_wellbeing_improved());
  EXPECT_FALSE(options.outcome->health_and_wellbeing_improved());
}

TEST(ParseArgsTest, TlsReplacesTheDeclaredCaller) {
  const Options options = MustParse(
      {"list", "--tls-ca", "ca.pem", "--tls-cert", "client.pem", "--tls-key", "client.key"});
  EXPECT_EQ(options.tls_ca_file, "ca.pem");
  EXPECT_EQ(options.tls_cert_file, "client.pem");
  EXPECT_EQ(options.tls_key_file, "client.key");
  EXPECT_TRUE(options.caller.empty());
}

TEST(ParseArgsTest, UsageErrorsNameTheProblem) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "no command given"},
      {{"frobnicate", kCaller}, "unknown command 'frobnicate'"},
      {{"offers", kCaller, "--fast"}, "unknown flag --fast"},
      {{"offers"}, "--caller is required"},
      {{"offers", kCaller, "--max"}, "--max needs a value"},
      {{"offers", kCaller, "--max", "0"}, "--max needs a whole number of at least 1, not '0'"},
      {{"offers", kCaller, "--max", "3x"}, "not '3x'"},
      {{"offers", kCaller, "--timeout", "-1"}, "--timeout needs a number of seconds above 0"},
      {{"offers", kCaller, "--follow=yes"}, "--follow takes no value"},
      {{"offers", kCaller, "--max", "1", "--max", "2"}, "--max given twice"},
      {{"offers", kCaller, "r-1"}, "unexpected argument 'r-1'"},
      {{"accept", kCaller}, "accept needs a referral id"},
      {{"accept", "r-1", "r-2", kCaller}, "unexpected argument 'r-2'"},
      {{"accept", "r-1", "--reason", "duplicate", kCaller}, "--reason does not apply to accept"},
      {{"list", kCaller, "--follow"}, "--follow does not apply to list"},
      {{"reject", "r-1", kCaller}, "reject needs --reason"},
      {{"reject", "r-1", "--reason", "busy", kCaller}, "unknown reason 'busy'"},
      {{"complete", "r-1", kCaller}, "complete needs --outcome or --closure"},
      {{"complete", "r-1", "--outcome", "cope,happy", kCaller}, "unknown measure 'happy'"},
      {{"complete", "r-1", "--outcome=", kCaller}, "--outcome needs the measures"},
      {{"fail", "r-1", kCaller}, "fail needs --closure"},
      {{"fail", "r-1", "--outcome", "cope", "--closure", "other", kCaller},
       "--outcome does not apply to fail"},
      {{"list", kCaller, "--status", "open"}, "unknown status 'open'"},
      {{"list", kCaller, "--status", "unspecified"}, "unknown status 'unspecified'"},
      {{"list", "--tls-cert", "client.pem"}, "--tls-cert and --tls-key go together"},
      {{"list", kCaller, "--target="}, "--target needs HOST:PORT"},
  };
  for (const auto& [args, expected] : cases) {
    EXPECT_THAT(ParseError(args), HasSubstr(expected)) << ::testing::PrintToString(args);
  }
}

TEST(EnumLabelTest, StripsTheTypePrefixAndUsesHyphens) {
  EXPECT_EQ(EnumLabel(v1::ReferralStatus_descriptor(), v1::REFERRAL_STATUS_IN_PROGRESS),
            "in-progress");
  EXPECT_EQ(EnumLabel(v1::ReferralStatus_descriptor(), v1::REFERRAL_STATUS_ENTERED_IN_ERROR),
            "entered-in-error");
  EXPECT_EQ(EnumLabel(hub::events::v1::Priority_descriptor(), hub::events::v1::PRIORITY_IMMEDIATE),
            "immediate");
  EXPECT_EQ(EnumLabel(hub::intake::v1::ContactRoute::Channel_descriptor(),
                      hub::intake::v1::ContactRoute::CHANNEL_SMS),
            "sms");
  EXPECT_EQ(EnumLabel(hub::intake::v1::DayOfWeek_descriptor(), hub::intake::v1::MONDAY), "monday");
  EXPECT_EQ(EnumLabel(v1::ReferralStatus_descriptor(), 77), "77");
}

v1::Offer SampleOffer() {
  v1::Offer offer;
  offer.set_offer_id("off-3");
  offer.set_sequence(3);
  *offer.mutable_respond_by() = TimeUtil::SecondsToTimestamp(1893553445);  // 2030-01-02T03:04:05Z
  v1::Referral* referral = offer.mutable_referral();
  referral->set_referral_id("ref-3");
  referral->set_case_id("case-3");
  referral->set_provider_id("idva-cambs");
  referral->set_status(v1::REFERRAL_STATUS_REQUESTED);
  referral->add_needs("domestic_abuse_support");
  referral->add_needs("safety_planning");
  referral->set_priority(hub::events::v1::PRIORITY_IMMEDIATE);
  referral->set_enhanced(true);
  referral->add_enhanced_categories(hub::events::v1::ENHANCED_CATEGORY_MOST_SERIOUS_CRIME);
  referral->add_enhanced_categories(hub::events::v1::ENHANCED_CATEGORY_INTIMIDATED);
  referral->set_crime_category("domestic_abuse");
  referral->set_age_at_offence(34);
  referral->set_language("pl");
  referral->set_interpreter_needed(true);
  referral->add_communication_needs(hub::intake::v1::COMMUNICATION_NEED_LARGE_PRINT);
  referral->set_local_authority_code("E07000008");
  referral->set_postcode_district("CB1");
  referral->set_consent_status(hub::intake::v1::CONSENT_STATUS_GIVEN);
  *referral->mutable_created_at() = TimeUtil::SecondsToTimestamp(1893456000);
  *referral->mutable_updated_at() = TimeUtil::SecondsToTimestamp(1893456000);
  return offer;
}

TEST(RenderTest, OfferLineCarriesWhatAProviderDecidesOn) {
  EXPECT_EQ(RenderOfferLine(SampleOffer()),
            "seq=3 offer=off-3 referral=ref-3 case=case-3 priority=immediate enhanced=yes "
            "needs=domestic_abuse_support,safety_planning respond_by=2030-01-02T03:04:05Z");
  v1::Offer bare;
  bare.set_sequence(1);
  EXPECT_EQ(RenderOfferLine(bare),
            "seq=1 offer=- referral=- case=- priority=unspecified enhanced=no needs=- "
            "respond_by=-");
}

TEST(RenderTest, ReferralLineShowsHowItClosed) {
  v1::Referral referral = SampleOffer().referral();
  EXPECT_EQ(RenderReferralLine(referral),
            "ref-3 status=requested case=case-3 priority=immediate enhanced=yes "
            "crime=domestic_abuse needs=domestic_abuse_support,safety_planning "
            "updated=2030-01-01T00:00:00Z");
  referral.set_status(v1::REFERRAL_STATUS_COMPLETED);
  referral.mutable_outcome()->set_feel_safer_improved(true);
  referral.mutable_outcome()->set_access_services_improved(false);
  referral.set_closure_reason(v1::CLOSURE_REASON_SERVICES_NO_LONGER_NEEDED);
  EXPECT_THAT(RenderReferralLine(referral), HasSubstr("status=completed case=case-3"));
  EXPECT_THAT(RenderReferralLine(referral),
              HasSubstr(" closure=services-no-longer-needed improved=safer updated="));
  referral.set_status(v1::REFERRAL_STATUS_REJECTED);
  referral.clear_outcome();
  referral.clear_closure_reason();
  referral.set_rejection_reason(v1::REJECTION_REASON_NO_SAFE_CONTACT);
  EXPECT_THAT(RenderReferralLine(referral), HasSubstr(" reason=no-safe-contact updated="));
}

TEST(RenderTest, ReferralDetailHasEveryField) {
  v1::Referral referral = SampleOffer().referral();
  referral.set_status(v1::REFERRAL_STATUS_COMPLETED);
  referral.mutable_outcome()->set_cope_with_everyday_life_improved(true);
  referral.mutable_outcome()->set_health_and_wellbeing_improved(false);
  EXPECT_EQ(RenderReferral(referral),
            "referral:        ref-3\n"
            "case:            case-3\n"
            "provider:        idva-cambs\n"
            "status:          completed\n"
            "priority:        immediate\n"
            "enhanced:        yes (most-serious-crime, intimidated)\n"
            "crime:           domestic_abuse\n"
            "needs:           domestic_abuse_support, safety_planning\n"
            "age at offence:  34\n"
            "language:        pl (interpreter needed)\n"
            "communication:   large-print\n"
            "area:            E07000008 CB1\n"
            "consent:         given\n"
            "created:         2030-01-01T00:00:00Z\n"
            "updated:         2030-01-01T00:00:00Z\n"
            "outcome:         improved: cope; not improved: health; not assessed: safer, cjs, "
            "access\n");
  referral.clear_age_at_offence();
  EXPECT_THAT(RenderReferral(referral), HasSubstr("age at offence:  unknown\n"));
}

v1::VictimContact SampleContact() {
  v1::VictimContact contact;
  contact.set_referral_id("ref-3");
  contact.mutable_name()->set_given("Ann");
  contact.mutable_name()->set_family("Example");
  auto* phone = contact.add_contact_routes();
  phone->set_channel(hub::intake::v1::ContactRoute::CHANNEL_PHONE);
  phone->set_safety(hub::intake::v1::CHANNEL_SAFETY_SAFE);
  phone->set_value("07700 900123");
  auto* window = phone->add_safe_times();
  window->set_day(hub::intake::v1::TUESDAY);
  window->set_start_minute(9 * 60);
  window->set_end_minute(12 * 60 + 30);
  auto* evening = phone->add_safe_times();
  evening->set_start_minute(18 * 60);
  evening->set_end_minute(1440);
  auto* letter = contact.add_contact_routes();
  letter->set_channel(hub::intake::v1::ContactRoute::CHANNEL_LETTER);
  letter->set_safety(hub::intake::v1::CHANNEL_SAFETY_SAFE);
  letter->mutable_address()->add_lines("c/o 1 Example Road");
  letter->mutable_address()->set_town("Cambridge");
  letter->mutable_address()->set_postcode("CB1 2AB");
  return contact;
}

TEST(RenderTest, ContactShowsSafeRoutesAndWhen) {
  EXPECT_EQ(RenderContact(SampleContact()),
            "referral: ref-3\n"
            "name: Ann Example\n"
            "phone: 07700 900123 (no voicemail; only tuesday 09:00-12:30, every day "
            "18:00-24:00)\n"
            "letter: c/o 1 Example Road, Cambridge, CB1 2AB\n");
}

TEST(RenderTest, ContactWarnsFirstWhenTheSuspectSharesTheAddress) {
  v1::VictimContact contact = SampleContact();
  contact.set_suspect_shares_address(true);
  const std::string text = RenderContact(contact);
  EXPECT_EQ(text.substr(0, text.find("name:")),
            "referral: ref-3\n"
            "WARNING: the suspect lives at the victim's address: never write to it or visit "
            "it.\n");
}

TEST(RenderTest, ContactFlagsARouteNotMarkedSafeAndTheLackOfAnyRoute) {
  v1::VictimContact contact;
  contact.set_referral_id("ref-4");
  EXPECT_THAT(RenderContact(contact), HasSubstr("no safe contact route"));
  auto* email = contact.add_contact_routes();
  email->set_channel(hub::intake::v1::ContactRoute::CHANNEL_EMAIL);
  email->set_value("ann@example.org");
  EXPECT_THAT(RenderContact(contact),
              HasSubstr("email: ann@example.org (NOT marked safe: do not use)\n"));
  EXPECT_THAT(RenderContact(contact), Not(HasSubstr("no safe contact route")));
}

TEST(RenderTest, ContactShowsRepresentatives) {
  v1::VictimContact contact;
  contact.set_referral_id("ref-5");
  contact.set_business_name("Example Stores Ltd");
  auto* person = contact.mutable_business_contact();
  person->mutable_name()->set_given("Bob");
  person->mutable_name()->set_family("Manager");
  person->set_role("store manager");
  auto* route = person->add_contact_routes();
  route->set_channel(hub::intake::v1::ContactRoute::CHANNEL_PHONE);
  route->set_safety(hub::intake::v1::CHANNEL_SAFETY_SAFE);
  route->set_value("01223 000000");
  route->set_voicemail_ok(true);
  EXPECT_EQ(RenderContact(contact),
            "referral: ref-5\n"
            "business: Example Stores Ltd\n"
            "business contact: Bob Manager (store manager)\n"
            "  phone: 01223 000000 (voicemail ok)\n");
}

TEST(RenderTest, JsonIsOneLineWithProtoFieldNames) {
  const std::string json = RenderJson(SampleOffer());
  EXPECT_EQ(json.find('\n'), std::string::npos);
  const nlohmann::json parsed = nlohmann::json::parse(json);
  EXPECT_EQ(parsed["sequence"], "3");  // int64 is a string in proto JSON
  EXPECT_EQ(parsed["offer_id"], "off-3");
  EXPECT_EQ(parsed["referral"]["referral_id"], "ref-3");
  EXPECT_EQ(parsed["referral"]["priority"], "PRIORITY_IMMEDIATE");
  EXPECT_EQ(parsed["referral"]["enhanced"], true);
  EXPECT_EQ(parsed["respond_by"], "2030-01-02T03:04:05Z");
  // Defaults are printed, so scripts can rely on every key.
  v1::Referral empty;
  EXPECT_EQ(nlohmann::json::parse(RenderJson(empty))["enhanced"], false);
}

TEST(UsageTest, NamesEveryCommand) {
  for (const char* command : {"offers", "list", "get", "accept", "reject", "start", "hold",
                              "resume", "complete", "fail", "contact", "work"}) {
    EXPECT_THAT(kUsage, HasSubstr(std::string("  ") + command + " ")) << command;
  }
}

}  // namespace
}  // namespace hub::provider_client
