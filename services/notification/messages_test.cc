// Which messages an event calls for and what each carries: the template, the variables the
// catalogue asks for (checked by rendering every message with the real templates, in both
// languages, on every written channel of its plan), the stable id, the contact plan, and
// that no personal data is stored in clear.
#include "services/notification/messages.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

#include "hub/events/v1/events.pb.h"
#include "hub/intake/v1/intake.pb.h"
#include "hub/notification/v1/notification.pb.h"
#include "services/common/seal/crypto.h"
#include "services/common/seal/pii.h"
#include "services/common/status/status_matchers.h"
#include "services/notification/templates/catalogue.h"
#include "services/notification/templates/templates.h"

namespace hub::notification {
namespace {

namespace ev = ::hub::events::v1;
namespace iv = ::hub::intake::v1;
namespace nv = ::hub::notification::v1;
using ::hub::testing::IsOk;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

// The victim's personal data: none of it may be stored in clear.
constexpr char kGivenName[] = "Ceridwen";
constexpr char kFamilyName[] = "Okonkwo-Hale";
constexpr char kPhone[] = "07700 900123";
constexpr char kLandline[] = "01223 555014";
constexpr char kEmail[] = "ceridwen.oh@example.org";
constexpr char kStreet[] = "17 Mill Road";
constexpr char kTown[] = "Cambridge";
constexpr char kPostcode[] = "CB1 2AB";
constexpr char kGuardianName[] = "Bronwen";
constexpr char kGuardianPhone[] = "07700 900456";

constexpr char kCaseId[] = "c_5e0c2a91d7b34f6a8e21c0d9";
constexpr char kCrimeReference[] = "CF0412260331";
constexpr char kEventId[] = "6f0e1c2d-3b4a-4c5d-8e9f-0a1b2c3d4e5f";

absl::Time Utc(int year, int month, int day, int hour, int minute) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, 0), absl::UTCTimeZone());
}

// 23:30 UTC on Tuesday 31 March 2026: already 00:30 on 1 April in London (BST from 29 March).
const absl::Time kReportedAt = Utc(2026, 3, 31, 23, 30);
// Wednesday 1 April 2026, 11:00 BST.
const absl::Time kNow = Utc(2026, 4, 1, 10, 0);

google::protobuf::Timestamp Ts(absl::Time t) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}

iv::ContactRoute Route(iv::ContactRoute::Channel channel, iv::ChannelSafety safety) {
  iv::ContactRoute route;
  route.set_channel(channel);
  route.set_safety(safety);
  switch (channel) {
    case iv::ContactRoute::CHANNEL_SMS:
      route.set_value(kPhone);
      break;
    case iv::ContactRoute::CHANNEL_PHONE:
      route.set_value(kLandline);
      break;
    case iv::ContactRoute::CHANNEL_EMAIL:
      route.set_value(kEmail);
      break;
    case iv::ContactRoute::CHANNEL_LETTER:
      route.mutable_address()->add_lines(kStreet);
      route.mutable_address()->set_town(kTown);
      route.mutable_address()->set_postcode(kPostcode);
      break;
    default:
      break;
  }
  return route;
}

// A victim who may be reached by every written channel, each marked safe, and by phone.
iv::Victim ReachableVictim(const std::string& language) {
  iv::Victim victim;
  victim.set_victim_ref("V1");
  victim.set_age_at_offence(34);
  victim.set_language(language);
  victim.mutable_name()->set_given(kGivenName);
  victim.mutable_name()->set_family(kFamilyName);
  *victim.add_contact_routes() = Route(iv::ContactRoute::CHANNEL_EMAIL, iv::CHANNEL_SAFETY_SAFE);
  *victim.add_contact_routes() = Route(iv::ContactRoute::CHANNEL_SMS, iv::CHANNEL_SAFETY_SAFE);
  *victim.add_contact_routes() = Route(iv::ContactRoute::CHANNEL_LETTER, iv::CHANNEL_SAFETY_SAFE);
  *victim.add_contact_routes() = Route(iv::ContactRoute::CHANNEL_PHONE, iv::CHANNEL_SAFETY_SAFE);
  victim.mutable_consent()->set_status(iv::CONSENT_STATUS_GIVEN);
  return victim;
}

// The first assessment of a burglary reported to police, with the victim in clear (Seal
// before use).
ev::NeedsAssessed FirstAssessment(const std::string& language = "en") {
  ev::NeedsAssessed assessment;
  assessment.set_case_id(kCaseId);
  assessment.set_sequence(1);
  assessment.set_trigger(ev::ASSESSMENT_TRIGGER_INITIAL);
  assessment.set_trigger_event_id("crime-reported-event-1");
  assessment.set_crime_category("burglary_residential");
  assessment.add_needs("safety_home_security");
  assessment.set_consent_rule(ev::CONSENT_RULE_OPT_OUT);
  assessment.set_consent_status(iv::CONSENT_STATUS_GIVEN);
  *assessment.mutable_first_contact_due() = Ts(kReportedAt + absl::Hours(24));
  ev::CrimeReported* crime = assessment.mutable_crime();
  crime->set_case_id(kCaseId);
  crime->set_origin(ev::ORIGIN_POLICE_REPORT);
  iv::CrimeReport* report = crime->mutable_report();
  report->set_force_code("CAMBS");
  report->set_crime_reference(kCrimeReference);
  *report->mutable_reported_at() = Ts(kReportedAt);
  report->set_offence_class_code("28E");
  *report->add_victims() = ReachableVictim(language);
  return assessment;
}

// A self-referral: no crime reference, no police report.
ev::NeedsAssessed SelfReferral(const std::string& language = "en") {
  ev::NeedsAssessed assessment = FirstAssessment(language);
  assessment.mutable_crime()->set_origin(ev::ORIGIN_SELF_REFERRAL);
  assessment.mutable_crime()->mutable_report()->clear_crime_reference();
  assessment.set_consent_rule(ev::CONSENT_RULE_SELF_REFERRAL);
  return assessment;
}

// A re-assessment for `milestone`, decided at 23:15 UTC on 30 June 2026 (1 July in London),
// reported by the event "milestone-event-7".
ev::NeedsAssessed MilestoneAssessment(iv::MilestoneType milestone,
                                      const std::string& language = "en") {
  ev::NeedsAssessed assessment = FirstAssessment(language);
  assessment.set_sequence(3);
  assessment.set_trigger(ev::ASSESSMENT_TRIGGER_MILESTONE);
  assessment.set_trigger_event_id("milestone-event-7");
  ev::CaseUpdateDeadline* earlier = assessment.add_case_update_deadlines();
  earlier->set_milestone(iv::MILESTONE_TYPE_ARREST);
  *earlier->mutable_decided_at() = Ts(Utc(2026, 5, 2, 9, 0));
  *earlier->mutable_due() = Ts(Utc(2026, 5, 8, 22, 59));
  earlier->set_source_event_id("milestone-event-2");
  ev::CaseUpdateDeadline* deadline = assessment.add_case_update_deadlines();
  deadline->set_milestone(milestone);
  *deadline->mutable_decided_at() = Ts(Utc(2026, 6, 30, 23, 15));
  *deadline->mutable_due() = Ts(Utc(2026, 7, 7, 22, 59));
  deadline->set_source_event_id("milestone-event-7");
  return assessment;
}

ev::ReferralRouted Routed(const ev::NeedsAssessed& assessment,
                          const std::vector<std::string>& provider_names) {
  ev::ReferralRouted routed;
  routed.set_case_id(assessment.case_id());
  routed.set_external(true);
  *routed.mutable_routed_at() = Ts(kNow);
  *routed.mutable_assessment() = assessment;
  int n = 0;
  for (const std::string& name : provider_names) {
    ev::RoutedReferral* referral = routed.add_referrals();
    referral->set_referral_id(absl::StrCat(assessment.case_id(), ":1:provider-", ++n));
    referral->set_provider_id(absl::StrCat("provider-", n));
    referral->set_provider_name(name);
    referral->set_state(ev::REFERRAL_EVENT_KIND_OFFERED);
  }
  if (!provider_names.empty()) {
    routed.set_referral_id(routed.referrals(0).referral_id());
    routed.set_provider_id(routed.referrals(0).provider_id());
  }
  return routed;
}

ev::ReferralStatusChanged Offer() {
  ev::ReferralStatusChanged offered;
  offered.set_case_id(kCaseId);
  offered.set_referral_id(absl::StrCat(kCaseId, ":1:young-victims"));
  offered.set_provider_id("young-victims");
  offered.set_provider_name("Independent Sexual Violence Advocate service");
  offered.set_kind(ev::REFERRAL_EVENT_KIND_OFFERED);
  // Monday 30 March 2026, 16:20 BST.
  *offered.mutable_changed_at() = Ts(Utc(2026, 3, 30, 15, 20));
  // Wednesday 1 April 2026, 10:00 BST.
  *offered.mutable_respond_by() = Ts(Utc(2026, 4, 1, 9, 0));
  offered.set_changed_by("system:routing");
  return offered;
}

ev::StaffAlert Alert(ev::StaffAlertKind kind) {
  ev::StaffAlert alert;
  alert.set_alert_id("alert-1");
  alert.set_case_id(kCaseId);
  alert.set_kind(kind);
  alert.set_priority(ev::PRIORITY_ENHANCED);
  alert.set_reason("what happened");
  // Wednesday 1 April 2026, 00:05 BST.
  *alert.mutable_raised_at() = Ts(Utc(2026, 3, 31, 23, 5));
  // Tuesday 31 March 2026, 23:59 BST.
  *alert.mutable_deadline() = Ts(Utc(2026, 3, 31, 22, 59));
  return alert;
}

Cause CauseOf(const std::string& event_id = kEventId) { return Cause{event_id, "needs-assessed"}; }

std::set<std::string> VariableNames(const nv::OutgoingMessage& message) {
  std::set<std::string> names;
  for (const auto& [name, value] : message.variables()) {
    names.insert(name);
  }
  return names;
}

std::map<std::string, std::string> VariablesOf(const nv::OutgoingMessage& message) {
  return {message.variables().begin(), message.variables().end()};
}

std::vector<std::string> TemplatesOf(const std::vector<nv::OutgoingMessage>& messages) {
  std::vector<std::string> ids;
  ids.reserve(messages.size());
  for (const nv::OutgoingMessage& message : messages) {
    ids.push_back(message.template_id());
  }
  return ids;
}

class MessagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(key_, seal::NewDataKey("vk_0123456789abcdef0123456789abcdef"));
  }

  // Seals the victim's personal data as intake does: the clear fields are emptied and the
  // crime carries the sealed copy.
  void Seal(ev::NeedsAssessed* assessment) {
    iv::Victim* victim = assessment->mutable_crime()->mutable_report()->mutable_victims(0);
    ASSERT_OK_AND_ASSIGN(std::optional<hub::seal::v1::SealedData> sealed,
                         seal::SealPii(key_, victim, assessment->case_id()));
    ASSERT_TRUE(sealed.has_value());
    *assessment->mutable_crime()->mutable_personal_data() = *sealed;
  }

  ev::NeedsAssessed Sealed(ev::NeedsAssessed assessment) {
    Seal(&assessment);
    return assessment;
  }

  std::vector<nv::OutgoingMessage> For(const ev::NeedsAssessed& assessment,
                                       const Cause& cause = CauseOf()) {
    return VictimMessagesFor(assessment, cause, hub_, kNow);
  }

  seal::DataKey key_;
  HubDetails hub_;
};

// --- First assessment: acknowledgement and consent request ---------------------------------

TEST_F(MessagesTest, PoliceReportIsAcknowledgedWithTheReportDateInLondonTime) {
  const std::vector<nv::OutgoingMessage> messages = For(Sealed(FirstAssessment()));
  ASSERT_EQ(messages.size(), 1U);
  const nv::OutgoingMessage& message = messages[0];
  EXPECT_EQ(message.template_id(), "victim.acknowledgement");
  EXPECT_EQ(message.audience(), "victim");
  EXPECT_EQ(message.language(), "en");
  EXPECT_EQ(message.case_id(), kCaseId);
  EXPECT_EQ(message.cause_event_id(), kEventId);
  EXPECT_EQ(message.cause_topic(), "needs-assessed");
  EXPECT_EQ(message.created_at(), Ts(kNow));
  EXPECT_EQ(message.state(), nv::MESSAGE_STATE_PENDING);
  EXPECT_TRUE(message.has_personal_data());
  EXPECT_FALSE(message.use_guardian());
  EXPECT_EQ(message.victim().victim_ref(), "V1");

  const std::map<std::string, std::string> expected = {
      {"crime_reference", kCrimeReference},
      {"reported_on", "1 April 2026"},
      {"case_reference", kCaseId},
      {"support_phone", "0300 123 4567"},
      {"hub_name", "Victim and Witness Hub"},
  };
  EXPECT_EQ(VariablesOf(message), expected);
}

TEST_F(MessagesTest, HubDetailsComeFromConfiguration) {
  hub_.support_phone = "01480 000 111";
  hub_.name_en = "Cambridgeshire Victim Care";
  const std::vector<nv::OutgoingMessage> messages = For(Sealed(FirstAssessment()));
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0].variables().at("support_phone"), "01480 000 111");
  EXPECT_EQ(messages[0].variables().at("hub_name"), "Cambridgeshire Victim Care");
}

TEST_F(MessagesTest, WelshVictimIsWrittenToInWelsh) {
  for (const std::string tag : {"cy", "cy-GB", " CY "}) {
    const std::vector<nv::OutgoingMessage> messages = For(Sealed(FirstAssessment(tag)));
    ASSERT_EQ(messages.size(), 1U) << tag;
    EXPECT_EQ(messages[0].language(), "cy") << tag;
    EXPECT_EQ(messages[0].variables().at("hub_name"), HubDetails().name_cy) << tag;
    EXPECT_EQ(messages[0].variables().at("reported_on"), "1 Ebrill 2026") << tag;
  }
  for (const std::string tag : {"", "en", "pl", "cy-AR-x"}) {
    const std::vector<nv::OutgoingMessage> messages = For(Sealed(FirstAssessment(tag)));
    ASSERT_EQ(messages.size(), 1U) << tag;
    EXPECT_EQ(messages[0].language(), "en") << tag;
    EXPECT_EQ(messages[0].variables().at("hub_name"), HubDetails().name_en) << tag;
  }
}

TEST_F(MessagesTest, SelfReferralGetsItsOwnAcknowledgementWithoutACrimeReference) {
  const std::vector<nv::OutgoingMessage> messages = For(Sealed(SelfReferral()));
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0].template_id(), "victim.self_referral_acknowledgement");
  EXPECT_EQ(VariableNames(messages[0]),
            (std::set<std::string>{"case_reference", "support_phone", "hub_name"}));
}

TEST_F(MessagesTest, AnUnspecifiedTriggerActsAsTheFirstAssessmentOnlyForSequenceOne) {
  ev::NeedsAssessed assessment = Sealed(FirstAssessment());
  assessment.set_trigger(ev::ASSESSMENT_TRIGGER_UNSPECIFIED);
  EXPECT_EQ(TemplatesOf(For(assessment)), std::vector<std::string>{"victim.acknowledgement"});
  assessment.set_sequence(2);
  EXPECT_TRUE(For(assessment).empty());
}

TEST_F(MessagesTest, ReassessmentsOtherThanMilestonesSendNothing) {
  for (ev::AssessmentTrigger trigger :
       {ev::ASSESSMENT_TRIGGER_RECLASSIFICATION, ev::ASSESSMENT_TRIGGER_VICTIM_UPDATE,
        ev::ASSESSMENT_TRIGGER_CONSENT_CHANGE, ev::ASSESSMENT_TRIGGER_CANCELLATION,
        ev::ASSESSMENT_TRIGGER_REASSESSMENT_REQUEST}) {
    ev::NeedsAssessed assessment = Sealed(FirstAssessment());
    assessment.set_sequence(2);
    assessment.set_trigger(trigger);
    EXPECT_TRUE(For(assessment).empty()) << ev::AssessmentTrigger_Name(trigger);
  }
}

TEST_F(MessagesTest, ACaseWithoutExactlyOneVictimSendsNothing) {
  ev::NeedsAssessed none = FirstAssessment();
  none.mutable_crime()->mutable_report()->clear_victims();
  EXPECT_TRUE(For(none).empty());
  ev::NeedsAssessed two = FirstAssessment();
  *two.mutable_crime()->mutable_report()->add_victims() = ReachableVictim("en");
  EXPECT_TRUE(For(two).empty());
}

ev::NeedsAssessed NeedsConsent(ev::NeedsAssessed assessment, iv::ConsentStatus status) {
  assessment.set_consent_required(true);
  assessment.set_consent_rule(ev::CONSENT_RULE_EXPLICIT);
  assessment.set_consent_status(status);
  assessment.set_referral_decision(ev::REFERRAL_DECISION_SEEK_CONSENT);
  assessment.clear_referral_due();
  *assessment.mutable_consent_contact_due() = Ts(Utc(2026, 4, 2, 22, 59));
  return assessment;
}

TEST_F(MessagesTest, ConsentIsAskedForWhenExplicitConsentIsNeededAndNotYetAsked) {
  for (iv::ConsentStatus status : {iv::CONSENT_STATUS_NOT_ASKED, iv::CONSENT_STATUS_UNSPECIFIED}) {
    const std::vector<nv::OutgoingMessage> messages =
        For(Sealed(NeedsConsent(FirstAssessment(), status)));
    ASSERT_EQ(messages.size(), 2U) << iv::ConsentStatus_Name(status);
    EXPECT_EQ(messages[0].template_id(), "victim.acknowledgement");
    EXPECT_EQ(messages[1].template_id(), "victim.consent_request");
    EXPECT_EQ(VariableNames(messages[1]),
              (std::set<std::string>{"case_reference", "support_phone", "hub_name"}));
    EXPECT_EQ(messages[1].state(), nv::MESSAGE_STATE_PENDING);
    EXPECT_TRUE(messages[1].has_personal_data());
  }
}

TEST_F(MessagesTest, ConsentAlreadyGivenDeclinedOrWithdrawnIsNotAskedFor) {
  for (iv::ConsentStatus status :
       {iv::CONSENT_STATUS_GIVEN, iv::CONSENT_STATUS_DECLINED, iv::CONSENT_STATUS_WITHDRAWN}) {
    EXPECT_EQ(TemplatesOf(For(Sealed(NeedsConsent(FirstAssessment(), status)))),
              std::vector<std::string>{"victim.acknowledgement"})
        << iv::ConsentStatus_Name(status);
  }
}

TEST_F(MessagesTest, ConsentIsNotAskedForWithoutAConsentContactDeadlineOrWhenNotRequired) {
  ev::NeedsAssessed no_deadline = NeedsConsent(FirstAssessment(), iv::CONSENT_STATUS_NOT_ASKED);
  no_deadline.clear_consent_contact_due();
  EXPECT_EQ(For(Sealed(no_deadline)).size(), 1U);
  ev::NeedsAssessed not_required = NeedsConsent(FirstAssessment(), iv::CONSENT_STATUS_NOT_ASKED);
  not_required.set_consent_required(false);
  EXPECT_EQ(For(Sealed(not_required)).size(), 1U);
}

TEST_F(MessagesTest, SelfReferralNeedingConsentIsAskedForIt) {
  const std::vector<nv::OutgoingMessage> messages =
      For(Sealed(NeedsConsent(SelfReferral(), iv::CONSENT_STATUS_NOT_ASKED)));
  EXPECT_EQ(TemplatesOf(messages), (std::vector<std::string>{"victim.self_referral_acknowledgement",
                                                             "victim.consent_request"}));
}

// --- Milestones (Right 6) --------------------------------------------------------------

TEST_F(MessagesTest, EachMilestoneWithATemplateGetsItsUpdate) {
  const std::map<iv::MilestoneType, std::string> expected = {
      {iv::MILESTONE_TYPE_ARREST, "victim.update.arrest"},
      {iv::MILESTONE_TYPE_INTERVIEW_UNDER_CAUTION, "victim.update.interview_under_caution"},
      {iv::MILESTONE_TYPE_CHARGE, "victim.update.charge"},
      {iv::MILESTONE_TYPE_BAIL, "victim.update.bail"},
      {iv::MILESTONE_TYPE_BAIL_CHANGED, "victim.update.bail_changed"},
      {iv::MILESTONE_TYPE_RELEASED_WITHOUT_CHARGE, "victim.update.released_without_charge"},
      {iv::MILESTONE_TYPE_RELEASED_UNDER_INVESTIGATION,
       "victim.update.released_under_investigation"},
      {iv::MILESTONE_TYPE_NO_FURTHER_ACTION, "victim.update.no_further_action"},
      {iv::MILESTONE_TYPE_DECISION_NOT_TO_INVESTIGATE, "victim.update.not_investigated"},
  };
  const google::protobuf::EnumDescriptor* milestones = iv::MilestoneType_descriptor();
  for (int i = 0; i < milestones->value_count(); ++i) {
    const auto milestone = static_cast<iv::MilestoneType>(milestones->value(i)->number());
    const std::string name = milestones->value(i)->name();
    const auto it = expected.find(milestone);
    const std::vector<nv::OutgoingMessage> messages =
        For(Sealed(MilestoneAssessment(milestone)), CauseOf("needs-assessed-event-3"));
    if (it == expected.end()) {
      EXPECT_TRUE(messages.empty()) << name;
      EXPECT_EQ(UpdateTemplateFor(milestone), "") << name;
      continue;
    }
    EXPECT_EQ(UpdateTemplateFor(milestone), it->second) << name;
    ASSERT_EQ(messages.size(), 1U) << name;
    EXPECT_EQ(messages[0].template_id(), it->second) << name;
    EXPECT_NE(templates::FindMessage(it->second), nullptr) << name;
    const std::map<std::string, std::string> variables = {
        {"crime_reference", kCrimeReference},
        {"decision_date", "1 July 2026"},
        {"case_reference", kCaseId},
        {"support_phone", "0300 123 4567"},
        {"hub_name", "Victim and Witness Hub"},
    };
    EXPECT_EQ(VariablesOf(messages[0]), variables) << name;
  }
}

TEST_F(MessagesTest, MilestoneUpdateInWelshHasTheWelshDecisionDate) {
  const std::vector<nv::OutgoingMessage> messages =
      For(Sealed(MilestoneAssessment(iv::MILESTONE_TYPE_CHARGE, "cy")));
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0].language(), "cy");
  EXPECT_EQ(messages[0].variables().at("decision_date"), "1 Gorffennaf 2026");
}

TEST_F(MessagesTest, OnlyTheMilestonesOfTheTriggeringEventAreTold) {
  // The earlier arrest (milestone-event-2) was told when it came; only the charge is new.
  ev::NeedsAssessed assessment = Sealed(MilestoneAssessment(iv::MILESTONE_TYPE_CHARGE));
  EXPECT_EQ(TemplatesOf(For(assessment)), std::vector<std::string>{"victim.update.charge"});
  assessment.set_trigger_event_id("some-other-event");
  EXPECT_TRUE(For(assessment).empty());
}

TEST_F(MessagesTest, OneEventWithTwoMilestonesGivesTwoUpdatesWithDistinctIds) {
  ev::NeedsAssessed assessment = MilestoneAssessment(iv::MILESTONE_TYPE_CHARGE);
  ev::CaseUpdateDeadline* bail = assessment.add_case_update_deadlines();
  *bail = assessment.case_update_deadlines(1);
  bail->set_milestone(iv::MILESTONE_TYPE_BAIL);
  const std::vector<nv::OutgoingMessage> messages = For(Sealed(assessment));
  ASSERT_EQ(messages.size(), 2U);
  EXPECT_EQ(TemplatesOf(messages),
            (std::vector<std::string>{"victim.update.charge", "victim.update.bail"}));
  EXPECT_NE(messages[0].message_id(), messages[1].message_id());
}

// --- Ids ---------------------------------------------------------------------------------

TEST_F(MessagesTest, MessageIdIsStableForTheSameCauseAndDiffersByTemplateAndCause) {
  const ev::NeedsAssessed assessment =
      Sealed(NeedsConsent(FirstAssessment(), iv::CONSENT_STATUS_NOT_ASKED));
  const std::vector<nv::OutgoingMessage> first = For(assessment, CauseOf("event-a"));
  const std::vector<nv::OutgoingMessage> again = For(assessment, CauseOf("event-a"));
  const std::vector<nv::OutgoingMessage> other = For(assessment, CauseOf("event-b"));
  ASSERT_EQ(first.size(), 2U);
  ASSERT_EQ(again.size(), 2U);
  ASSERT_EQ(other.size(), 2U);
  EXPECT_THAT(first[0].message_id(), MatchesRegex("[0-9a-f]{32}"));
  EXPECT_EQ(first[0].message_id(), again[0].message_id());
  EXPECT_EQ(first[1].message_id(), again[1].message_id());
  EXPECT_NE(first[0].message_id(), first[1].message_id());
  EXPECT_NE(first[0].message_id(), other[0].message_id());
  EXPECT_NE(first[1].message_id(), other[1].message_id());

  // A redelivered event made at another time still makes the same message id.
  const std::vector<nv::OutgoingMessage> later =
      VictimMessagesFor(assessment, CauseOf("event-a"), hub_, kNow + absl::Hours(5));
  ASSERT_EQ(later.size(), 2U);
  EXPECT_EQ(later[0].message_id(), first[0].message_id());

  // Provider and staff messages too.
  EXPECT_EQ(ProviderOfferFor(Offer(), CauseOf("e"), hub_, "a@b.example", false, kNow).message_id(),
            ProviderOfferFor(Offer(), CauseOf("e"), hub_, "a@b.example", false, kNow).message_id());
  EXPECT_NE(ProviderOfferFor(Offer(), CauseOf("e"), hub_, "a@b.example", false, kNow).message_id(),
            ProviderOfferFor(Offer(), CauseOf("e"), hub_, "a@b.example", true, kNow).message_id());
  ev::ReferralStatusChanged other_provider = Offer();
  other_provider.set_provider_id("idva-cambs");
  EXPECT_NE(ProviderOfferFor(Offer(), CauseOf("e"), hub_, "a@b.example", false, kNow).message_id(),
            ProviderOfferFor(other_provider, CauseOf("e"), hub_, "a@b.example", false, kNow)
                .message_id());
}

// --- Personal data -----------------------------------------------------------------------

// Every message a sealed victim's case can make.
std::vector<nv::OutgoingMessage> EveryVictimMessage(const ev::NeedsAssessed& first,
                                                    const ev::NeedsAssessed& milestone,
                                                    const HubDetails& hub) {
  std::vector<nv::OutgoingMessage> messages =
      VictimMessagesFor(NeedsConsent(first, iv::CONSENT_STATUS_NOT_ASKED), CauseOf(), hub, kNow);
  for (nv::OutgoingMessage& update : VictimMessagesFor(milestone, CauseOf(), hub, kNow)) {
    messages.push_back(std::move(update));
  }
  std::optional<nv::OutgoingMessage> made = ReferralMadeFor(
      Routed(first, {"Rape Crisis", "Victim and Witness Hub"}), CauseOf(), hub, kNow);
  if (made.has_value()) {
    messages.push_back(*std::move(made));
  }
  return messages;
}

TEST_F(MessagesTest, NoPersonalDataIsStoredInClear) {
  ev::NeedsAssessed child = FirstAssessment();
  iv::Victim* victim = child.mutable_crime()->mutable_report()->mutable_victims(0);
  victim->set_age_at_offence(12);
  victim->mutable_parent_guardian()->mutable_name()->set_given(kGuardianName);
  victim->mutable_parent_guardian()->mutable_name()->set_family(kFamilyName);
  victim->mutable_parent_guardian()->set_role("mother");
  iv::ContactRoute* guardian_sms = victim->mutable_parent_guardian()->add_contact_routes();
  guardian_sms->set_channel(iv::ContactRoute::CHANNEL_SMS);
  guardian_sms->set_safety(iv::CHANNEL_SAFETY_SAFE);
  guardian_sms->set_value(kGuardianPhone);

  for (const ev::NeedsAssessed& first : {FirstAssessment(), child}) {
    ev::NeedsAssessed milestone = MilestoneAssessment(iv::MILESTONE_TYPE_ARREST);
    *milestone.mutable_crime() = first.crime();
    Seal(&milestone);
    const std::vector<nv::OutgoingMessage> messages =
        EveryVictimMessage(Sealed(first), milestone, hub_);
    ASSERT_EQ(messages.size(), 4U);
    for (const nv::OutgoingMessage& message : messages) {
      SCOPED_TRACE(message.template_id());
      EXPECT_TRUE(message.has_personal_data());
      EXPECT_FALSE(seal::ContainsPii(message));
      const std::string stored = message.SerializeAsString();
      for (const char* personal : {kGivenName, kFamilyName, kPhone, kLandline, kEmail, kStreet,
                                   kTown, kPostcode, kGuardianName, kGuardianPhone}) {
        EXPECT_THAT(stored, Not(HasSubstr(personal))) << personal;
        EXPECT_THAT(message.DebugString(), Not(HasSubstr(personal))) << personal;
      }
    }
  }
}

TEST_F(MessagesTest, AChildIsReachedThroughTheirGuardian) {
  ev::NeedsAssessed child = FirstAssessment();
  iv::Victim* victim = child.mutable_crime()->mutable_report()->mutable_victims(0);
  victim->set_age_at_offence(12);
  victim->mutable_parent_guardian()->mutable_name()->set_given(kGuardianName);
  *victim->mutable_parent_guardian()->add_contact_routes() =
      Route(iv::ContactRoute::CHANNEL_EMAIL, iv::CHANNEL_SAFETY_SAFE);
  const std::vector<nv::OutgoingMessage> messages = For(Sealed(child));
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_TRUE(messages[0].use_guardian());
  ASSERT_EQ(messages[0].plan_size(), 2);
  EXPECT_EQ(messages[0].plan(0).channel(), ev::CHANNEL_EMAIL);
  EXPECT_EQ(messages[0].plan(0).route_index(), 0);
}

// --- The contact plan --------------------------------------------------------------------

TEST_F(MessagesTest, PlanTriesTheWrittenRoutesThenACallTask) {
  const std::vector<nv::OutgoingMessage> messages = For(Sealed(FirstAssessment()));
  ASSERT_EQ(messages.size(), 1U);
  const nv::OutgoingMessage& message = messages[0];
  ASSERT_EQ(message.plan_size(), 4);
  EXPECT_EQ(message.plan(0).channel(), ev::CHANNEL_EMAIL);
  EXPECT_EQ(message.plan(0).route_index(), 0);
  EXPECT_EQ(message.plan(1).channel(), ev::CHANNEL_SMS);
  EXPECT_EQ(message.plan(1).route_index(), 1);
  EXPECT_EQ(message.plan(2).channel(), ev::CHANNEL_LETTER);
  EXPECT_EQ(message.plan(2).route_index(), 2);
  EXPECT_EQ(message.plan(3).channel(), ev::CHANNEL_CALL_TASK);
  EXPECT_EQ(message.plan(3).route_index(), 3);
  for (const nv::PlannedRoute& route : message.plan()) {
    EXPECT_FALSE(route.reason().empty());
    EXPECT_GE(route.not_before(), Ts(kNow));
  }
  EXPECT_FALSE(message.decisions().empty());
}

TEST_F(MessagesTest, TextsWaitForTheHubsReasonableHours) {
  ev::NeedsAssessed assessment = FirstAssessment();
  iv::Victim* victim = assessment.mutable_crime()->mutable_report()->mutable_victims(0);
  victim->clear_contact_routes();
  *victim->add_contact_routes() = Route(iv::ContactRoute::CHANNEL_SMS, iv::CHANNEL_SAFETY_SAFE);
  Seal(&assessment);
  // 06:30 BST on Wednesday 1 April 2026: before the default 08:00.
  const absl::Time early = Utc(2026, 4, 1, 5, 30);
  std::vector<nv::OutgoingMessage> messages = VictimMessagesFor(assessment, CauseOf(), hub_, early);
  ASSERT_EQ(messages.size(), 1U);
  ASSERT_GE(messages[0].plan_size(), 1);
  EXPECT_EQ(messages[0].plan(0).channel(), ev::CHANNEL_SMS);
  EXPECT_EQ(messages[0].plan(0).not_before(), Ts(Utc(2026, 4, 1, 7, 0)));

  hub_.reasonable_hours_start_minute = 6 * 60;
  messages = VictimMessagesFor(assessment, CauseOf(), hub_, early);
  ASSERT_EQ(messages.size(), 1U);
  ASSERT_GE(messages[0].plan_size(), 1);
  EXPECT_EQ(messages[0].plan(0).not_before(), Ts(early));
}

TEST_F(MessagesTest, NoContactWithholdsTheMessageWithAReason) {
  ev::NeedsAssessed assessment = FirstAssessment();
  iv::Victim* victim = assessment.mutable_crime()->mutable_report()->mutable_victims(0);
  victim->clear_contact_routes();
  victim->set_no_contact(true);
  const std::vector<nv::OutgoingMessage> messages = For(Sealed(assessment));
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0].state(), nv::MESSAGE_STATE_WITHHELD);
  EXPECT_EQ(messages[0].plan_size(), 0);
  EXPECT_THAT(messages[0].final_reason(), HasSubstr("not to be contacted"));
  EXPECT_FALSE(messages[0].decisions().empty());
}

TEST_F(MessagesTest, DomesticAbuseVictimIsNeverSentToAnUnconfirmedWrittenRoute) {
  ev::NeedsAssessed assessment = FirstAssessment();
  assessment.mutable_crime()->mutable_report()->mutable_flags()->set_domestic_abuse(true);
  assessment.set_crime_category("domestic_abuse");
  iv::Victim* victim = assessment.mutable_crime()->mutable_report()->mutable_victims(0);
  victim->clear_contact_routes();
  *victim->add_contact_routes() =
      Route(iv::ContactRoute::CHANNEL_EMAIL, iv::CHANNEL_SAFETY_UNSPECIFIED);
  *victim->add_contact_routes() = Route(iv::ContactRoute::CHANNEL_SMS, iv::CHANNEL_SAFETY_SAFE);
  *victim->add_contact_routes() =
      Route(iv::ContactRoute::CHANNEL_LETTER, iv::CHANNEL_SAFETY_UNSPECIFIED);
  *victim->add_contact_routes() =
      Route(iv::ContactRoute::CHANNEL_PHONE, iv::CHANNEL_SAFETY_UNSPECIFIED);
  const iv::Victim clear = *victim;

  const std::vector<nv::OutgoingMessage> messages = For(Sealed(assessment));
  ASSERT_EQ(messages.size(), 1U);
  const nv::OutgoingMessage& message = messages[0];
  ASSERT_GE(message.plan_size(), 1);
  int written = 0;
  for (const nv::PlannedRoute& route : message.plan()) {
    if (route.channel() == ev::CHANNEL_CALL_TASK) {
      continue;
    }
    ++written;
    ASSERT_GE(route.route_index(), 0);
    ASSERT_LT(route.route_index(), clear.contact_routes_size());
    EXPECT_EQ(clear.contact_routes(route.route_index()).safety(), iv::CHANNEL_SAFETY_SAFE)
        << ev::Channel_Name(route.channel());
  }
  EXPECT_EQ(written, 1);
  EXPECT_EQ(message.plan(0).channel(), ev::CHANNEL_SMS);
  EXPECT_EQ(message.plan(message.plan_size() - 1).channel(), ev::CHANNEL_CALL_TASK);
  EXPECT_FALSE(message.plan(message.plan_size() - 1).voicemail_allowed());
}

TEST_F(MessagesTest, NoLetterGoesToAHomeSharedWithTheSuspect) {
  ev::NeedsAssessed assessment = FirstAssessment();
  assessment.mutable_crime()->mutable_report()->mutable_victims(0)->set_suspect_shares_address(
      true);
  const std::vector<nv::OutgoingMessage> messages = For(Sealed(assessment));
  ASSERT_EQ(messages.size(), 1U);
  for (const nv::PlannedRoute& route : messages[0].plan()) {
    EXPECT_NE(route.channel(), ev::CHANNEL_LETTER);
  }
}

// --- victim.referral_made ----------------------------------------------------------------

TEST_F(MessagesTest, ReferralMadeNamesTheProvidersAndWhenTheyWillBeInTouch) {
  const ev::ReferralRouted routed =
      Routed(Sealed(FirstAssessment()),
             {"Independent Domestic Violence Advocates", "Rape Crisis", "Victim and Witness Hub"});
  const std::optional<nv::OutgoingMessage> message = ReferralMadeFor(routed, CauseOf(), hub_, kNow);
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->template_id(), "victim.referral_made");
  EXPECT_EQ(message->referral_id(), routed.referral_id());
  EXPECT_EQ(message->audience(), "victim");
  EXPECT_TRUE(message->has_personal_data());
  EXPECT_EQ(message->variables().at("provider_name"),
            "Independent Domestic Violence Advocates and Rape Crisis and Victim and Witness Hub");
  // first_contact_due: 23:30 UTC on 1 April is Thursday 2 April in London.
  EXPECT_EQ(message->variables().at("contact_by"), "Thursday 2 April 2026");
  EXPECT_EQ(VariableNames(*message),
            (std::set<std::string>{"case_reference", "support_phone", "hub_name", "provider_name",
                                   "contact_by"}));
}

TEST_F(MessagesTest, ReferralMadeInWelsh) {
  const std::optional<nv::OutgoingMessage> message =
      ReferralMadeFor(Routed(Sealed(FirstAssessment("cy")), {"Cymorth i Ddioddefwyr", "Llamau"}),
                      CauseOf(), hub_, kNow);
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->language(), "cy");
  EXPECT_EQ(message->variables().at("provider_name"), "Cymorth i Ddioddefwyr a Llamau");
  EXPECT_EQ(message->variables().at("contact_by"), "dydd Iau 2 Ebrill 2026");
  EXPECT_EQ(message->variables().at("hub_name"), hub_.name_cy);
}

TEST_F(MessagesTest, ReferralMadeWithoutAFirstContactDeadlineSaysTwoDaysFromNow) {
  ev::NeedsAssessed assessment = Sealed(FirstAssessment());
  assessment.clear_first_contact_due();
  const std::optional<nv::OutgoingMessage> message =
      ReferralMadeFor(Routed(assessment, {"Rape Crisis"}), CauseOf(), hub_, kNow);
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->variables().at("contact_by"), "Friday 3 April 2026");
}

TEST_F(MessagesTest, NoReferralMadeMessageWithoutAnExternalReferral) {
  const ev::NeedsAssessed assessment = Sealed(FirstAssessment());
  ev::ReferralRouted internal = Routed(assessment, {"Victim and Witness Hub"});
  internal.set_external(false);
  EXPECT_FALSE(ReferralMadeFor(internal, CauseOf(), hub_, kNow).has_value());
  EXPECT_FALSE(ReferralMadeFor(Routed(assessment, {}), CauseOf(), hub_, kNow).has_value());
  EXPECT_FALSE(ReferralMadeFor(Routed(assessment, {""}), CauseOf(), hub_, kNow).has_value());
  // Unnamed referrals are left out of the list.
  const std::optional<nv::OutgoingMessage> one =
      ReferralMadeFor(Routed(assessment, {"", "Rape Crisis"}), CauseOf(), hub_, kNow);
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->variables().at("provider_name"), "Rape Crisis");
}

// --- Provider messages -------------------------------------------------------------------

TEST_F(MessagesTest, ProviderOfferCarriesAnOpaqueReferenceAndAPortalLink) {
  const ev::ReferralStatusChanged offered = Offer();
  const nv::OutgoingMessage message = ProviderOfferFor(
      offered, CauseOf(), hub_, "referrals@young-victims.example", /*reminder=*/false, kNow);
  EXPECT_EQ(message.template_id(), "provider.new_offer");
  EXPECT_EQ(message.audience(), "provider");
  EXPECT_EQ(message.language(), "en");
  EXPECT_EQ(message.address(), "referrals@young-victims.example");
  EXPECT_EQ(message.case_id(), kCaseId);
  EXPECT_EQ(message.referral_id(), offered.referral_id());
  EXPECT_EQ(message.state(), nv::MESSAGE_STATE_PENDING);
  EXPECT_FALSE(message.has_personal_data());
  ASSERT_EQ(message.plan_size(), 1);
  EXPECT_EQ(message.plan(0).channel(), ev::CHANNEL_EMAIL);
  EXPECT_EQ(message.plan(0).route_index(), -1);

  const std::string reference = message.variables().at("referral_reference");
  EXPECT_THAT(reference, MatchesRegex("R-[0-9A-F]{10}"));
  EXPECT_THAT(absl::AsciiStrToLower(reference), Not(HasSubstr("young")));
  EXPECT_THAT(reference, Not(HasSubstr(kCaseId)));
  EXPECT_THAT(message.variables().at("portal_url"), EndsWith(offered.referral_id()));
  EXPECT_EQ(message.variables().at("portal_url"),
            absl::StrCat(hub_.portal_url, offered.referral_id()));
  EXPECT_EQ(message.variables().at("provider_name"), offered.provider_name());
  EXPECT_EQ(message.variables().at("respond_by"), "Wednesday 1 April 2026 10:00");
  EXPECT_EQ(message.variables().at("hub_name"), hub_.name_en);
  EXPECT_EQ(VariableNames(message),
            (std::set<std::string>{"provider_name", "referral_reference", "respond_by",
                                   "portal_url", "hub_name"}));

  // Another referral has another reference; the same one always the same.
  ev::ReferralStatusChanged other = offered;
  other.set_referral_id(absl::StrCat(kCaseId, ":2:young-victims"));
  EXPECT_NE(ProviderOfferFor(other, CauseOf(), hub_, "x@y.example", false, kNow)
                .variables()
                .at("referral_reference"),
            reference);
  EXPECT_EQ(ProviderOfferFor(offered, CauseOf("another cause"), hub_, "x@y.example", true, kNow)
                .variables()
                .at("referral_reference"),
            reference);
}

TEST_F(MessagesTest, ProviderReminderSaysWhenTheOfferWasMade) {
  const nv::OutgoingMessage message =
      ProviderOfferFor(Offer(), CauseOf(), hub_, "referrals@young-victims.example",
                       /*reminder=*/true, kNow);
  EXPECT_EQ(message.template_id(), "provider.reminder");
  EXPECT_EQ(message.variables().at("offered_on"), "30 March 2026");
  EXPECT_EQ(VariableNames(message),
            (std::set<std::string>{"provider_name", "referral_reference", "respond_by",
                                   "offered_on", "portal_url", "hub_name"}));
}

// --- Staff messages ----------------------------------------------------------------------

TEST_F(MessagesTest, DeadlineBreachTellsTheHubTeam) {
  const std::optional<nv::OutgoingMessage> message = StaffMessageFor(
      Alert(ev::STAFF_ALERT_KIND_REFERRAL_DEADLINE_BREACHED), CauseOf(), hub_, kNow);
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->template_id(), "staff.deadline_breach");
  EXPECT_EQ(message->audience(), "staff");
  EXPECT_EQ(message->address(), hub_.staff_email);
  EXPECT_EQ(message->case_id(), kCaseId);
  ASSERT_EQ(message->plan_size(), 1);
  EXPECT_EQ(message->plan(0).channel(), ev::CHANNEL_EMAIL);
  const std::map<std::string, std::string> expected = {
      {"case_reference", kCaseId},
      {"deadline_name", "Referral to support (Victims' Code Right 4)"},
      {"due_at", "Tuesday 31 March 2026 23:59"},
      {"case_url", absl::StrCat(hub_.console_url, kCaseId)},
  };
  EXPECT_EQ(VariablesOf(*message), expected);

  // Without a deadline, when the alert was raised.
  ev::StaffAlert no_deadline = Alert(ev::STAFF_ALERT_KIND_REFERRAL_DEADLINE_BREACHED);
  no_deadline.clear_deadline();
  EXPECT_EQ(StaffMessageFor(no_deadline, CauseOf(), hub_, kNow)->variables().at("due_at"),
            "Wednesday 1 April 2026 00:05");
}

TEST_F(MessagesTest, DeliveryFailureTellsTheHubTeam) {
  ev::StaffAlert alert = Alert(ev::STAFF_ALERT_KIND_DELIVERY_FAILED);
  alert.set_message_id("0123456789abcdef0123456789abcdef");
  alert.set_channel("sms");
  alert.set_failure_reason("Notify permanent_failure (HTTP 400): ValidationError");
  const std::optional<nv::OutgoingMessage> message = StaffMessageFor(alert, CauseOf(), hub_, kNow);
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->template_id(), "staff.delivery_failed");
  const std::map<std::string, std::string> expected = {
      {"case_reference", kCaseId},
      {"channel_name", "sms"},
      {"failure_reason", "Notify permanent_failure (HTTP 400): ValidationError"},
      {"failed_at", "Wednesday 1 April 2026 00:05"},
      {"case_url", absl::StrCat(hub_.console_url, kCaseId)},
  };
  EXPECT_EQ(VariablesOf(*message), expected);

  // A message without a case is named by its id; a failure without a reason says so.
  alert.clear_case_id();
  alert.clear_failure_reason();
  const std::optional<nv::OutgoingMessage> caseless = StaffMessageFor(alert, CauseOf(), hub_, kNow);
  ASSERT_TRUE(caseless.has_value());
  EXPECT_EQ(caseless->variables().at("case_reference"), alert.message_id());
  EXPECT_EQ(caseless->variables().at("failure_reason"), "unknown");
}

TEST_F(MessagesTest, UrgentCasesTellTheHubTeam) {
  const std::map<ev::StaffAlertKind, std::string> summaries = {
      {ev::STAFF_ALERT_KIND_IMMEDIATE_RISK_WAITING,
       "A victim at immediate risk is waiting for a place with a provider. Act now: find "
       "support today and review the safety plan."},
      {ev::STAFF_ALERT_KIND_NO_PROVIDER_LEFT,
       "Every eligible provider has declined or let the offer lapse. Place the referral by "
       "hand."},
  };
  for (const auto& [kind, summary] : summaries) {
    SCOPED_TRACE(ev::StaffAlertKind_Name(kind));
    ev::StaffAlert alert = Alert(kind);
    alert.set_referral_id("referral-7");
    const std::optional<nv::OutgoingMessage> message =
        StaffMessageFor(alert, CauseOf(), hub_, kNow);
    ASSERT_TRUE(message.has_value());
    EXPECT_EQ(message->template_id(), "staff.urgent_case");
    EXPECT_EQ(message->audience(), "staff");
    EXPECT_EQ(message->language(), "en");
    EXPECT_EQ(message->address(), hub_.staff_email);
    EXPECT_EQ(message->case_id(), kCaseId);
    EXPECT_EQ(message->referral_id(), "referral-7");
    ASSERT_EQ(message->plan_size(), 1);
    EXPECT_EQ(message->plan(0).channel(), ev::CHANNEL_EMAIL);
    // The summary is the fixed sentence of the kind, never the alert's free-text reason;
    // the time is when the alert was raised, not its deadline.
    const std::map<std::string, std::string> expected = {
        {"case_reference", kCaseId},
        {"alert_summary", summary},
        {"raised_at", "Wednesday 1 April 2026 00:05"},
        {"case_url", absl::StrCat(hub_.console_url, kCaseId)},
    };
    EXPECT_EQ(VariablesOf(*message), expected);
  }
}

TEST_F(MessagesTest, UnspecifiedAlertHasNoMessage) {
  EXPECT_FALSE(
      StaffMessageFor(Alert(ev::STAFF_ALERT_KIND_UNSPECIFIED), CauseOf(), hub_, kNow).has_value());
}

// --- Every message renders with the real templates ---------------------------------------

// deploy/templates of this source tree, loaded once.
const absl::StatusOr<templates::TemplateSet>& RealTemplates() {
  static const auto* loaded = new absl::StatusOr<templates::TemplateSet>(
      templates::TemplateSet::Load(templates::SourceTreeTemplatesDir()));
  return *loaded;
}

class MessagesRenderTest : public MessagesTest {
 protected:
  static std::optional<templates::Channel> WrittenChannel(ev::Channel channel) {
    switch (channel) {
      case ev::CHANNEL_EMAIL:
        return templates::Channel::kEmail;
      case ev::CHANNEL_SMS:
        return templates::Channel::kSms;
      case ev::CHANNEL_LETTER:
        return templates::Channel::kLetter;
      default:
        return std::nullopt;
    }
  }

  // Renders `message` on every written channel of its plan as the outbox would (its
  // variables, plus the first name for a victim); records what was rendered.
  void ExpectRenders(const nv::OutgoingMessage& message) {
    SCOPED_TRACE(absl::StrCat(message.template_id(), " (", message.language(), ")"));
    const absl::StatusOr<templates::TemplateSet>& loaded = RealTemplates();
    ASSERT_THAT(loaded.status(), IsOk());
    const templates::MessageSpec* spec = templates::FindMessage(message.template_id());
    ASSERT_NE(spec, nullptr);
    // The stored variables are exactly the catalogue's, less the name opened at sending.
    std::set<std::string> wanted;
    for (absl::string_view name : spec->variables) {
      if (name != "first_name") {
        wanted.emplace(name);
      }
    }
    EXPECT_EQ(VariableNames(message), wanted);
    for (const auto& [name, value] : message.variables()) {
      EXPECT_FALSE(value.empty()) << name;
    }

    templates::Variables variables(message.variables().begin(), message.variables().end());
    if (message.audience() == "victim") {
      variables["first_name"] = message.language() == "cy" ? "Siân" : kGivenName;
    }
    const templates::Language language = templates::LanguageForTag(message.language());
    EXPECT_GT(message.plan_size(), 0);
    for (const nv::PlannedRoute& route : message.plan()) {
      const std::optional<templates::Channel> channel = WrittenChannel(route.channel());
      if (!channel.has_value()) {
        continue;
      }
      absl::StatusOr<templates::RenderedMessage> rendered =
          loaded->RenderChannel(message.template_id(), language, *channel, variables);
      EXPECT_THAT(rendered.status(), IsOk()) << templates::ChannelName(*channel);
      if (rendered.ok()) {
        // Who it is for, or what it is about, is in what was rendered.
        const std::string text =
            absl::StrCat(rendered->sms, rendered->email_subject, rendered->email_text,
                         rendered->email_html, rendered->letter);
        const char* key = message.audience() == "victim"     ? "first_name"
                          : message.audience() == "provider" ? "referral_reference"
                                                             : "case_reference";
        EXPECT_THAT(text, HasSubstr(variables.at(key))) << templates::ChannelName(*channel);
      }
      rendered_.insert(absl::StrCat(message.template_id(), "/", message.language(), "/",
                                    templates::ChannelName(*channel)));
    }
  }

  std::set<std::string> rendered_;
};

TEST_F(MessagesRenderTest, EveryVictimMessageRendersOnEveryChannelInBothLanguages) {
  for (const std::string language : {"en", "cy"}) {
    for (const ev::NeedsAssessed& first : {FirstAssessment(language), SelfReferral(language)}) {
      for (const nv::OutgoingMessage& message :
           For(Sealed(NeedsConsent(first, iv::CONSENT_STATUS_NOT_ASKED)))) {
        ExpectRenders(message);
      }
      // Long, indiscreet provider names: they must stay out of what a lock screen shows.
      std::optional<nv::OutgoingMessage> made =
          ReferralMadeFor(Routed(Sealed(first), {"Independent Sexual Violence Advocate service",
                                                 "Rape Crisis", "Victim and Witness Hub"}),
                          CauseOf(), hub_, kNow);
      ASSERT_TRUE(made.has_value());
      ExpectRenders(*made);
    }
    const google::protobuf::EnumDescriptor* milestones = iv::MilestoneType_descriptor();
    for (int i = 0; i < milestones->value_count(); ++i) {
      const auto milestone = static_cast<iv::MilestoneType>(milestones->value(i)->number());
      for (const nv::OutgoingMessage& message :
           For(Sealed(MilestoneAssessment(milestone, language)))) {
        ExpectRenders(message);
      }
    }
  }

  // Every victim message of the catalogue was rendered on every one of its channels, in
  // both languages.
  for (const templates::MessageSpec& spec : templates::MessageCatalogue()) {
    if (spec.audience != templates::Audience::kVictim) {
      continue;
    }
    for (const char* language : {"en", "cy"}) {
      for (templates::Channel channel : spec.channels) {
        const std::string key =
            absl::StrCat(spec.id, "/", language, "/", templates::ChannelName(channel));
        EXPECT_EQ(rendered_.count(key), 1U) << key << " was never rendered";
      }
    }
  }
}

TEST_F(MessagesRenderTest, ProviderAndStaffMessagesRender) {
  for (bool reminder : {false, true}) {
    ExpectRenders(
        ProviderOfferFor(Offer(), CauseOf(), hub_, "referrals@isva.example", reminder, kNow));
    ev::ReferralStatusChanged rape_crisis = Offer();
    rape_crisis.set_provider_name("Rape Crisis");
    ExpectRenders(
        ProviderOfferFor(rape_crisis, CauseOf(), hub_, "referrals@isva.example", reminder, kNow));
  }
  std::optional<nv::OutgoingMessage> breach = StaffMessageFor(
      Alert(ev::STAFF_ALERT_KIND_REFERRAL_DEADLINE_BREACHED), CauseOf(), hub_, kNow);
  ASSERT_TRUE(breach.has_value());
  ExpectRenders(*breach);

  ev::StaffAlert failed = Alert(ev::STAFF_ALERT_KIND_DELIVERY_FAILED);
  failed.set_message_id("0123456789abcdef0123456789abcdef");
  for (const char* channel : {"sms", "email", "letter"}) {
    failed.set_channel(channel);
    failed.set_failure_reason(
        "Notify permanent_failure (HTTP 400): ValidationError: phone_number Not a UK mobile "
        "number");
    std::optional<nv::OutgoingMessage> message = StaffMessageFor(failed, CauseOf(), hub_, kNow);
    ASSERT_TRUE(message.has_value());
    ExpectRenders(*message);
  }
  failed.clear_failure_reason();
  failed.clear_case_id();
  std::optional<nv::OutgoingMessage> caseless = StaffMessageFor(failed, CauseOf(), hub_, kNow);
  ASSERT_TRUE(caseless.has_value());
  ExpectRenders(*caseless);

  for (ev::StaffAlertKind kind :
       {ev::STAFF_ALERT_KIND_IMMEDIATE_RISK_WAITING, ev::STAFF_ALERT_KIND_NO_PROVIDER_LEFT}) {
    std::optional<nv::OutgoingMessage> urgent = StaffMessageFor(Alert(kind), CauseOf(), hub_, kNow);
    ASSERT_TRUE(urgent.has_value()) << ev::StaffAlertKind_Name(kind);
    ExpectRenders(*urgent);
  }

  for (const char* id : {"provider.new_offer", "provider.reminder", "staff.deadline_breach",
                         "staff.delivery_failed", "staff.urgent_case"}) {
    EXPECT_EQ(rendered_.count(absl::StrCat(id, "/en/email")), 1U) << id;
  }
}

}  // namespace
}  // namespace hub::notification
