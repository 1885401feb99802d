// The Initial Victim Needs Assessment as a scenario table: each row is one case as intake
// and staff would hand it to triage, the Victims' Code rule or local target it checks, and
// everything the assessment must conclude (enhanced categories, priority, consent, what
// routing may do, needs, MARAC/IDVA, deadlines to the minute in Europe/London, and the
// rules that fired). Every row runs against the shipped rule book (deploy/rules), so a
// change to the rules files that changes an outcome shows up here by name.
#include "services/triage/assessment.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "yaml-cpp/yaml.h"

namespace hub::triage {
namespace {

using ::hub::events::v1::ConsentRule;
using ::hub::events::v1::CrimeReported;
using ::hub::events::v1::EnhancedCategory;
using ::hub::events::v1::NeedsAssessed;
using ::hub::events::v1::Priority;
using ::hub::events::v1::ReassessmentRequested;
using ::hub::events::v1::ReferralDecision;
using ::hub::intake::v1::ConsentStatus;
using ::hub::intake::v1::MilestoneType;
using ::hub::intake::v1::Victim;
using ::testing::Contains;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

namespace ev = ::hub::events::v1;
namespace in = ::hub::intake::v1;

constexpr char kCaseId[] = "c_000000000000000000000001";
constexpr char kVictimId[] = "pv_0123456789abcdef0123456789abcdef";

absl::TimeZone LondonZone() {
  static const absl::TimeZone* zone = [] {
    auto* london = new absl::TimeZone;
    EXPECT_TRUE(absl::LoadTimeZone("Europe/London", london));
    return london;
  }();
  return *zone;
}

absl::Time London(int y, int m, int d, int hh, int mm) {
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), LondonZone());
}

std::string Show(absl::Time time) {
  return absl::FormatTime("%a %Y-%m-%d %H:%M %Z", time, LondonZone());
}

google::protobuf::Timestamp Ts(absl::Time time) {
  return google::protobuf::util::TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(time));
}

absl::Time FromTs(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

const RuleBook& Book() {
  static const auto* book = [] {
    absl::StatusOr<std::shared_ptr<const RuleBook>> loaded = RuleBook::Load(DefaultRulePaths());
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new std::shared_ptr<const RuleBook>(*std::move(loaded));
  }();
  return **book;
}

// ---- The case every scenario starts from --------------------------------------------------
// A police report of "other theft" (49) on Monday 23 November 2026 at 10:00 (GMT), one adult
// individual victim matched by pseudonymous id, consent not yet asked, a safe SMS route. With
// it: referral due Wednesday 25 November 23:59, first contact due Tuesday 24 November 10:00.

absl::Time BaseReported() { return London(2026, 11, 23, 10, 0); }

AssessmentInput BaseInput() {
  AssessmentInput input;
  CrimeReported& crime = input.crime;
  crime.set_case_id(kCaseId);
  crime.set_pseudonymous_victim_id(kVictimId);
  crime.set_origin(ev::ORIGIN_POLICE_REPORT);
  crime.set_submitted_by("police:CAMBS:athena");
  *crime.mutable_received_at() = Ts(BaseReported() + absl::Minutes(25));
  in::CrimeReport& report = *crime.mutable_report();
  report.set_force_code("CAMBS");
  report.set_source_system("athena");
  report.set_source_event_id("athena-msg-1");
  report.set_crime_reference("CAMBS/12345/26");
  report.set_offence_class_code("49");
  *report.mutable_reported_at() = Ts(BaseReported());
  *report.mutable_recorded_at() = Ts(BaseReported() + absl::Minutes(20));
  report.mutable_location()->set_local_authority_code("E07000008");
  report.mutable_location()->set_postcode_district("CB1");
  Victim& victim = *report.add_victims();
  victim.set_victim_ref("V1");
  victim.set_victim_type(in::VICTIM_TYPE_INDIVIDUAL);
  victim.set_age_at_offence(40);
  victim.set_relationship_to_suspect(in::RELATIONSHIP_TO_SUSPECT_STRANGER);
  in::ContactRoute& route = *victim.add_contact_routes();
  route.set_channel(in::ContactRoute::CHANNEL_SMS);
  route.set_safety(in::CHANNEL_SAFETY_SAFE);
  victim.mutable_consent()->set_status(in::CONSENT_STATUS_NOT_ASKED);
  input.now = BaseReported() + absl::Minutes(30);
  input.trigger_event_id = "ev-crime-reported-1";
  return input;
}

// ---- Setup helpers for the rows -----------------------------------------------------------

Victim& VictimOf(AssessmentInput& input) {
  return *input.crime.mutable_report()->mutable_victims(0);
}

in::CrimeFlags& FlagsOf(AssessmentInput& input) {
  return *input.crime.mutable_report()->mutable_flags();
}

void SetOffence(AssessmentInput& input, const std::string& home_office,
                const std::string& cjs = "") {
  input.crime.mutable_report()->set_offence_class_code(home_office);
  input.crime.mutable_report()->set_cjs_offence_code(cjs);
}

void SetReported(AssessmentInput& input, absl::Time reported) {
  *input.crime.mutable_report()->mutable_reported_at() = Ts(reported);
  *input.crime.mutable_report()->mutable_recorded_at() = Ts(reported + absl::Minutes(20));
  *input.crime.mutable_received_at() = Ts(reported + absl::Minutes(25));
  input.now = reported + absl::Minutes(30);
}

void SetConsent(AssessmentInput& input, ConsentStatus status, absl::Time recorded_at) {
  in::Consent& consent = *VictimOf(input).mutable_consent();
  consent.set_status(status);
  *consent.mutable_recorded_at() = Ts(recorded_at);
  consent.set_recorded_by("CAMBS1234");
  if (status == in::CONSENT_STATUS_GIVEN) {
    consent.set_scope(in::CONSENT_SCOPE_ALL_PROVIDERS);
  }
}

// Domestic abuse as police record it: a common assault (105A) flagged domestic abuse, by a
// partner.
void DomesticAbuse(AssessmentInput& input) {
  SetOffence(input, "105A");
  FlagsOf(input).set_domestic_abuse(true);
  VictimOf(input).set_relationship_to_suspect(in::RELATIONSHIP_TO_SUSPECT_PARTNER);
}

void AddPrior(AssessmentInput& input, const std::string& case_id, absl::Time reported,
              const std::string& category) {
  input.history.push_back(PriorReport{case_id, reported, category});
}

void AddMilestone(AssessmentInput& input, MilestoneType type, absl::Time decided) {
  MilestoneRecord record;
  record.milestone.set_type(type);
  *record.milestone.mutable_decided_at() = Ts(decided);
  record.event_id = absl::StrCat("ev-milestone-", input.milestones.size() + 1);
  input.milestones.push_back(std::move(record));
}

ReassessmentRequested& AddRequest(AssessmentInput& input, ev::ReassessmentReason reason) {
  ReassessmentRequested request;
  request.set_case_id(kCaseId);
  request.set_requested_by("staff:hub:ops1");
  *request.mutable_requested_at() = Ts(input.now + absl::Hours(1));
  request.set_reason(reason);
  input.requests.push_back(std::move(request));
  return input.requests.back();
}

// ---- The table ----------------------------------------------------------------------------

// A deadline the assessment must set (to the minute), or nullopt: it must leave it unset.
using Due = std::optional<absl::Time>;

struct Scenario {
  // The test name (letters, digits, '_').
  const char* name = "";
  // The Victims' Code rule or local target the row checks.
  const char* code_rule = "";
  // Changes the base case into this one.
  void (*setup)(AssessmentInput&) = nullptr;

  // Exactly these, in enum order; the assessment is enhanced when there is any.
  std::vector<EnhancedCategory> categories = {};
  Priority priority = ev::PRIORITY_UNSPECIFIED;
  ConsentRule consent_rule = ev::CONSENT_RULE_UNSPECIFIED;
  ReferralDecision decision = ev::REFERRAL_DECISION_UNSPECIFIED;
  // Offence table category id.
  const char* crime_category = "";
  std::vector<std::string> needs = {};
  std::vector<std::string> not_needs = {};
  bool marac = false;
  // nullopt: not pinned by this row (its comment says why).
  std::optional<bool> idva = false;
  Due referral_due = std::nullopt;
  Due consent_contact_due = std::nullopt;
  Due first_contact_due = std::nullopt;
  // Right 6 deadlines, in milestone order.
  std::vector<absl::Time> case_updates = {};
  // Rules that must and must not have fired.
  std::vector<std::string> rules = {};
  std::vector<std::string> not_rules = {};
  int reports_in_window = 1;
  // {rule, text its reason must contain}.
  std::vector<std::pair<std::string, std::string>> reasons = {};
};

void PrintTo(const Scenario& scenario, std::ostream* os) {
  *os << scenario.name << " [" << scenario.code_rule << "]";
}

std::vector<Scenario> Scenarios() {
  constexpr auto kMostSerious = ev::ENHANCED_CATEGORY_MOST_SERIOUS_CRIME;
  constexpr auto kPersistent = ev::ENHANCED_CATEGORY_PERSISTENTLY_TARGETED;
  constexpr auto kVulnerable = ev::ENHANCED_CATEGORY_VULNERABLE;
  constexpr auto kIntimidated = ev::ENHANCED_CATEGORY_INTIMIDATED;
  constexpr auto kImmediate = ev::PRIORITY_IMMEDIATE;
  constexpr auto kEnhanced = ev::PRIORITY_ENHANCED;
  constexpr auto kStandard = ev::PRIORITY_STANDARD;
  constexpr auto kOptOut = ev::CONSENT_RULE_OPT_OUT;
  constexpr auto kExplicit = ev::CONSENT_RULE_EXPLICIT;
  constexpr auto kSelf = ev::CONSENT_RULE_SELF_REFERRAL;
  constexpr auto kRefer = ev::REFERRAL_DECISION_REFER;
  constexpr auto kSeek = ev::REFERRAL_DECISION_SEEK_CONSENT;
  constexpr auto kNoSupport = ev::REFERRAL_DECISION_NO_SUPPORT_WANTED;
  constexpr auto kCancel = ev::REFERRAL_DECISION_CANCEL_OPEN_REFERRALS;
  constexpr auto kClose = ev::REFERRAL_DECISION_CLOSE;
  // The base case's deadlines.
  const absl::Time due = London(2026, 11, 25, 23, 59);
  const absl::Time contact = London(2026, 11, 24, 10, 0);

  return {
      // ---- Standard service ---------------------------------------------------------------
      {.name = "AdultTheftIsStandardOptOut",
       .code_rule = "Standard service: adult victim of theft, referred unless they say no "
                    "(Code ch.2, opt-out)",
       .setup = [](AssessmentInput&) {},
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .needs = {"practical", "emotional"},
       .not_needs = {"young_victim", "safety_home_security"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"consent.opt_out", "referral.refer", "priority.standard", "needs.offence",
                 "deadline.referral", "deadline.first_contact"},
       .not_rules = {"enhanced.most_serious.offence", "enhanced.vulnerable.under_age",
                     "deadline.calendar_gap"},
       .reasons = {{"needs.offence", "offence 49 (Other theft)"},
                   {"deadline.referral", "Wednesday 25 November 2026, 23:59"}}},
      {.name = "ElderlyBurglaryIsStandardWithHomeSecurity",
       .code_rule = "Standard service: burglary of an 80-year-old; home security need (seed "
                    "providers: target hardening for elderly burglary victims)",
       .setup =
           [](AssessmentInput& input) {
             SetOffence(input, "28E");
             VictimOf(input).set_age_at_offence(80);
           },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "burglary_residential",
       .needs = {"safety_home_security", "practical", "emotional"},
       .not_needs = {"young_victim"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"needs.offence", "priority.standard"}},

      // ---- Vulnerable and intimidated -----------------------------------------------------
      {.name = "UnderEighteenTheftIsVulnerable",
       .code_rule = "Enhanced: vulnerable, under 18 (Code ch.1, YJCEA s16)",
       .setup = [](AssessmentInput& input) { VictimOf(input).set_age_at_offence(15); },
       .categories = {kVulnerable},
       .priority = kEnhanced,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .needs = {"young_victim", "practical", "emotional"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.vulnerable.under_age", "needs.young_victim", "priority.enhanced"},
       .reasons = {{"enhanced.vulnerable.under_age", "was 15"},
                   {"enhanced.vulnerable.under_age", "under 18"}}},
      {.name = "EighteenIsNotUnderEighteen",
       .code_rule = "Enhanced: vulnerable means under 18 at the offence; 18 is not (Code ch.1)",
       .setup = [](AssessmentInput& input) { VictimOf(input).set_age_at_offence(18); },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .not_needs = {"young_victim"},
       .referral_due = due,
       .first_contact_due = contact,
       .not_rules = {"enhanced.vulnerable.under_age", "needs.young_victim"}},
      {.name = "UnknownAgeIsNotUnderEighteen",
       .code_rule = "Enhanced: under 18 needs a recorded age; none recorded is not vulnerable",
       .setup = [](AssessmentInput& input) { VictimOf(input).clear_age_at_offence(); },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .not_needs = {"young_victim"},
       .referral_due = due,
       .first_contact_due = contact,
       .not_rules = {"enhanced.vulnerable.under_age"}},
      {.name = "MentalDisorderMarkerIsVulnerable",
       .code_rule = "Enhanced: vulnerable, mental disorder marker (YJCEA s16(2)(a)(i))",
       .setup =
           [](AssessmentInput& input) {
             VictimOf(input).add_vulnerability_markers(in::VULNERABILITY_MARKER_MENTAL_DISORDER);
           },
       .categories = {kVulnerable},
       .priority = kEnhanced,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.vulnerable.marker"},
       .reasons = {{"enhanced.vulnerable.marker", "(mental disorder)"}}},
      {.name = "ImpairedIntelligenceMarkerIsVulnerable",
       .code_rule = "Enhanced: vulnerable, significant impairment of intelligence and social "
                    "functioning (YJCEA s16(2)(a)(ii))",
       .setup =
           [](AssessmentInput& input) {
             VictimOf(input).add_vulnerability_markers(
                 in::VULNERABILITY_MARKER_IMPAIRED_INTELLIGENCE);
           },
       .categories = {kVulnerable},
       .priority = kEnhanced,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.vulnerable.marker"},
       .reasons = {{"enhanced.vulnerable.marker", "(impaired intelligence)"}}},
      {.name = "PhysicalDisabilityMarkerIsVulnerable",
       .code_rule = "Enhanced: vulnerable, physical disability or disorder (YJCEA s16(2)(b))",
       .setup =
           [](AssessmentInput& input) {
             VictimOf(input).add_vulnerability_markers(
                 in::VULNERABILITY_MARKER_PHYSICAL_DISABILITY);
           },
       .categories = {kVulnerable},
       .priority = kEnhanced,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.vulnerable.marker"},
       .reasons = {{"enhanced.vulnerable.marker", "(physical disability)"}}},
      {.name = "IntimidatedVictim",
       .code_rule = "Enhanced: intimidated, fear or distress about testifying (YJCEA s17)",
       .setup = [](AssessmentInput& input) { VictimOf(input).set_intimidated(true); },
       .categories = {kIntimidated},
       .priority = kEnhanced,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.intimidated", "priority.enhanced"},
       .reasons = {{"priority.enhanced", "intimidated"}}},
      {.name = "ChildRapeVictimIsInThreeCategories",
       .code_rule = "Enhanced: a victim can be in several categories (most serious + "
                    "vulnerable + intimidated; Code ch.1)",
       .setup =
           [](AssessmentInput& input) {
             SetOffence(input, "19D");
             VictimOf(input).set_age_at_offence(14);
             VictimOf(input).set_intimidated(true);
           },
       .categories = {kMostSerious, kVulnerable, kIntimidated},
       .priority = kEnhanced,
       .consent_rule = kExplicit,
       .decision = kSeek,
       .crime_category = "rape",
       .needs = {"sexual_violence", "young_victim", "health_mental_health"},
       .consent_contact_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.most_serious.offence", "enhanced.vulnerable.under_age",
                 "enhanced.intimidated", "consent.explicit.offence", "referral.seek_consent"}},

      // ---- Businesses ---------------------------------------------------------------------
      {.name = "BusinessIsNeverVulnerableOrIntimidated",
       .code_rule = "Businesses: served through a named contact; vulnerable and intimidated "
                    "apply to people, not businesses (Code ch.1), even if marked",
       .setup =
           [](AssessmentInput& input) {
             SetOffence(input, "46");
             Victim& victim = VictimOf(input);
             victim.set_victim_type(in::VICTIM_TYPE_BUSINESS);
             victim.set_business_name("Corner Shop Ltd");
             victim.set_age_at_offence(16);
             victim.set_intimidated(true);
             victim.add_vulnerability_markers(in::VULNERABILITY_MARKER_MENTAL_DISORDER);
           },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .needs = {"practical", "financial", "emotional"},
       .not_needs = {"young_victim"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.not_applicable.business", "needs.victim_type"},
       .not_rules = {"enhanced.intimidated", "enhanced.vulnerable.marker",
                     "enhanced.vulnerable.under_age", "needs.young_victim"},
       .reasons = {{"needs.victim_type", "Needs of a business: practical help, financial help"}}},
      {.name = "BusinessKeepsMostSeriousCrime",
       .code_rule = "Businesses: the most serious crime category still applies (arson "
                    "endangering life, Code ch.1)",
       .setup =
           [](AssessmentInput& input) {
             SetOffence(input, "56A");
             VictimOf(input).set_victim_type(in::VICTIM_TYPE_BUSINESS);
             VictimOf(input).set_business_name("Mill Road Bakery");
             VictimOf(input).clear_age_at_offence();
           },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "arson_endangering_life",
       .needs = {"practical", "financial", "safety_home_security"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.most_serious.offence", "enhanced.not_applicable.business"}},

      // ---- Domestic abuse and consent -----------------------------------------------------
      {.name = "DomesticAbuseWithoutConsentSeeksIt",
       .code_rule = "Consent: domestic abuse needs explicit consent; consent-seeking contact "
                    "within 2 working days, no referral until given (Code Right 4)",
       .setup = DomesticAbuse,
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kExplicit,
       .decision = kSeek,
       .crime_category = "domestic_abuse",
       .needs = {"domestic_abuse", "safety_home_security", "emotional",
                 "criminal_justice_information"},
       .consent_contact_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.most_serious.flag", "consent.explicit.category", "referral.seek_consent",
                 "deadline.consent_contact", "needs.category"},
       .not_rules = {"referral.refer", "deadline.referral", "consent.opt_out"},
       .reasons = {{"deadline.consent_contact", "Wednesday 25 November 2026, 23:59"}}},
      {.name = "DomesticAbuseConsentGivenLater",
       .code_rule = "Right 4: with explicit consent, referral within 2 working days of consent "
                    "being given (Friday consent: due Tuesday)",
       .setup =
           [](AssessmentInput& input) {
             DomesticAbuse(input);
             SetConsent(input, in::CONSENT_STATUS_GIVEN, London(2026, 11, 27, 15, 0));
             input.sequence = 2;
             input.trigger = ev::ASSESSMENT_TRIGGER_CONSENT_CHANGE;
           },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kExplicit,
       .decision = kRefer,
       .crime_category = "domestic_abuse",
       .needs = {"domestic_abuse"},
       .referral_due = London(2026, 12, 1, 23, 59),
       .first_contact_due = contact,
       .rules = {"referral.refer", "deadline.referral_after_consent"},
       .not_rules = {"deadline.referral", "deadline.consent_contact", "referral.seek_consent"},
       .reasons = {{"referral.refer", "the victim gave explicit consent"}}},
      {.name = "HonourBasedAbuseIsDomesticAbuse",
       .code_rule = "Consent: honour-based abuse is domestic abuse (most serious, explicit "
                    "consent)",
       .setup =
           [](AssessmentInput& input) {
             SetOffence(input, "3B");
             FlagsOf(input).set_honour_based_abuse(true);
           },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kExplicit,
       .decision = kSeek,
       .crime_category = "domestic_abuse",
       .needs = {"domestic_abuse", "safety_home_security"},
       .consent_contact_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.most_serious.flag", "consent.explicit.category"}},
      {.name = "DeclinedConsentMeansNoSupportButUpdatesContinue",
       .code_rule = "Consent: a victim who says no is respected (opt-out); Right 6 updates "
                    "still due (5 working days, standard)",
       .setup =
           [](AssessmentInput& input) {
             SetConsent(input, in::CONSENT_STATUS_DECLINED, London(2026, 11, 23, 10, 10));
             AddMilestone(input, in::MILESTONE_TYPE_ARREST, London(2026, 11, 24, 16, 0));
           },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kNoSupport,
       .crime_category = "theft",
       .case_updates = {London(2026, 12, 1, 23, 59)},
       .rules = {"referral.no_support_wanted", "deadline.case_update"},
       .not_rules = {"referral.refer", "deadline.referral", "deadline.first_contact"}},
      {.name = "DeclinedConsentForDomesticAbuse",
       .code_rule = "Consent: declined explicit consent; no referral and no consent contact",
       .setup =
           [](AssessmentInput& input) {
             DomesticAbuse(input);
             SetConsent(input, in::CONSENT_STATUS_DECLINED, London(2026, 11, 24, 9, 0));
           },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kExplicit,
       .decision = kNoSupport,
       .crime_category = "domestic_abuse",
       .rules = {"referral.no_support_wanted"},
       .not_rules = {"deadline.consent_contact", "deadline.referral_after_consent"}},
      {.name = "WithdrawnConsentCancelsOpenReferrals",
       .code_rule = "Consent: withdrawn consent cancels every open referral; Right 6 updates "
                    "continue (1 working day, enhanced)",
       .setup =
           [](AssessmentInput& input) {
             DomesticAbuse(input);
             SetConsent(input, in::CONSENT_STATUS_WITHDRAWN, London(2026, 11, 25, 12, 0));
             AddMilestone(input, in::MILESTONE_TYPE_ARREST, London(2026, 11, 24, 16, 0));
           },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kExplicit,
       .decision = kCancel,
       .crime_category = "domestic_abuse",
       .case_updates = {London(2026, 11, 25, 23, 59)},
       .rules = {"referral.cancel_open_referrals", "deadline.case_update"},
       .not_rules = {"referral.refer", "deadline.referral", "deadline.consent_contact",
                     "deadline.first_contact"}},

      // ---- Bereaved relatives -------------------------------------------------------------
      {.name = "BereavedRelativeOfMurderVictim",
       .code_rule = "Enhanced: bereaved close relative is a most serious crime victim; explicit "
                    "consent; bereavement support (Code ch.1)",
       .setup =
           [](AssessmentInput& input) {
             SetOffence(input, "1");
             Victim& victim = VictimOf(input);
             victim.set_victim_type(in::VICTIM_TYPE_BEREAVED_RELATIVE);
             victim.set_bereaved_relationship("mother");
             victim.set_age_at_offence(52);
           },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kExplicit,
       .decision = kSeek,
       .crime_category = "homicide",
       .needs = {"bereavement", "emotional", "practical", "criminal_justice_information"},
       .consent_contact_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.most_serious.offence", "enhanced.most_serious.victim_type",
                 "consent.explicit.victim_type", "needs.victim_type", "referral.seek_consent"},
       .not_rules = {"consent.opt_out"}},
      {.name = "BereavedByCarelessDrivingConsentGiven",
       .code_rule = "Right 4: bereaved relative (death by driving) who consented at the report: "
                    "referral within 2 working days of consent",
       .setup =
           [](AssessmentInput& input) {
             SetOffence(input, "4.8");
             Victim& victim = VictimOf(input);
             victim.set_victim_type(in::VICTIM_TYPE_BEREAVED_RELATIVE);
             victim.set_bereaved_relationship("son");
             SetConsent(input, in::CONSENT_STATUS_GIVEN, London(2026, 11, 23, 11, 0));
           },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kExplicit,
       .decision = kRefer,
       .crime_category = "death_by_driving",
       .needs = {"bereavement", "road_death_injury"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"consent.explicit.victim_type", "deadline.referral_after_consent"}},

      // ---- Persistently targeted ----------------------------------------------------------
      {.name = "ThirdReportInAYearIsPersistentlyTargeted",
       .code_rule = "Enhanced: persistently targeted, 3 reports in 365 days (local rule)",
       .setup =
           [](AssessmentInput& input) {
             AddPrior(input, "c_prior_1", BaseReported() - absl::Hours(24 * 364), "theft");
             AddPrior(input, "c_prior_2", BaseReported() - absl::Hours(24 * 30), "criminal_damage");
           },
       .categories = {kPersistent},
       .priority = kEnhanced,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.persistently_targeted.repeat", "priority.enhanced"},
       .reports_in_window = 3,
       .reasons = {{"enhanced.persistently_targeted.repeat", "report 3"}}},
      {.name = "EarlierReportOutsideTheWindowDoesNotCount",
       .code_rule = "Enhanced: persistently targeted counts only reports within 365 days",
       .setup =
           [](AssessmentInput& input) {
             AddPrior(input, "c_prior_1", BaseReported() - absl::Hours(24 * 366), "theft");
             AddPrior(input, "c_prior_2", BaseReported() - absl::Hours(24 * 30), "theft");
           },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = due,
       .first_contact_due = contact,
       .not_rules = {"enhanced.persistently_targeted.repeat"},
       .reports_in_window = 2},
      {.name = "ThisCaseAndLaterReportsAreNotCountedTwice",
       .code_rule = "Enhanced: persistently targeted counts this report once and no later one",
       .setup =
           [](AssessmentInput& input) {
             AddPrior(input, kCaseId, BaseReported(), "theft");
             AddPrior(input, "c_prior_1", BaseReported() - absl::Hours(24 * 10), "theft");
             AddPrior(input, "c_later", BaseReported() + absl::Hours(24 * 5), "theft");
           },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = due,
       .first_contact_due = contact,
       .not_rules = {"enhanced.persistently_targeted.repeat"},
       .reports_in_window = 2},
      {.name = "UnmatchedVictimHistoryIsIgnored",
       .code_rule = "Enhanced: persistently targeted needs a matched victim (no pseudonymous "
                    "id: history ignored)",
       .setup =
           [](AssessmentInput& input) {
             input.crime.clear_pseudonymous_victim_id();
             input.crime.add_flags(in::RECEIPT_FLAG_VICTIM_NOT_MATCHED);
             AddPrior(input, "c_prior_1", BaseReported() - absl::Hours(24 * 10), "theft");
             AddPrior(input, "c_prior_2", BaseReported() - absl::Hours(24 * 20), "theft");
             AddPrior(input, "c_prior_3", BaseReported() - absl::Hours(24 * 30), "theft");
           },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = due,
       .first_contact_due = contact,
       .not_rules = {"enhanced.persistently_targeted.repeat"},
       .reports_in_window = 0},
      {.name = "StalkingIsACampaign",
       .code_rule = "Enhanced: persistently targeted, a sustained campaign of stalking (Code "
                    "ch.1)",
       .setup = [](AssessmentInput& input) { SetOffence(input, "8Q"); },
       .categories = {kPersistent},
       .priority = kEnhanced,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "stalking_harassment",
       .needs = {"stalking", "safety_home_security", "emotional"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.persistently_targeted.campaign"},
       .not_rules = {"enhanced.persistently_targeted.repeat"}},

      // ---- Risk ---------------------------------------------------------------------------
      {.name = "DashFifteenIsImmediateMaracIdva",
       .code_rule = "Risk: DASH 14 or more is high risk: immediate, MARAC and IDVA (SafeLives)",
       .setup =
           [](AssessmentInput& input) {
             DomesticAbuse(input);
             VictimOf(input).set_dash_score(15);
             VictimOf(input).set_suspect_shares_address(true);
           },
       .categories = {kMostSerious},
       .priority = kImmediate,
       .consent_rule = kExplicit,
       .decision = kSeek,
       .crime_category = "domestic_abuse",
       .needs = {"domestic_abuse", "safety_home_security"},
       .marac = true,
       .idva = true,
       .consent_contact_due = due,
       .first_contact_due = contact,
       .rules = {"risk.dash_high", "priority.immediate", "needs.shared_address"},
       .reasons = {{"risk.dash_high", "DASH risk score 15 is 14 or more"},
                   {"priority.immediate", "DASH score 15"}}},
      {.name = "DashFourteenIsTheThreshold",
       .code_rule = "Risk: DASH exactly 14 is high risk (SafeLives)",
       .setup =
           [](AssessmentInput& input) {
             DomesticAbuse(input);
             VictimOf(input).set_dash_score(14);
           },
       .categories = {kMostSerious},
       .priority = kImmediate,
       .consent_rule = kExplicit,
       .decision = kSeek,
       .crime_category = "domestic_abuse",
       .marac = true,
       .idva = true,
       .consent_contact_due = due,
       .first_contact_due = contact,
       .rules = {"risk.dash_high"}},
      {.name = "DashThirteenIsNotHighRisk",
       .code_rule = "Risk: DASH 13 is below the threshold: enhanced, no MARAC",
       .setup =
           [](AssessmentInput& input) {
             DomesticAbuse(input);
             VictimOf(input).set_dash_score(13);
           },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kExplicit,
       .decision = kSeek,
       .crime_category = "domestic_abuse",
       .consent_contact_due = due,
       .first_contact_due = contact,
       .not_rules = {"risk.dash_high", "priority.immediate"}},
      // IDVA not pinned: the engine sets idva_referral for DASH and staff MARAC referrals
      // but not for potential escalation (reported to the engine's owner).
      {.name = "ThirdDomesticAbuseReportIsPotentialEscalation",
       .code_rule = "Risk: MARAC potential escalation, 3 domestic abuse reports in 12 months "
                    "(local rule)",
       .setup =
           [](AssessmentInput& input) {
             DomesticAbuse(input);
             VictimOf(input).set_dash_score(8);
             AddPrior(input, "c_da_1", BaseReported() - absl::Hours(24 * 100), "domestic_abuse");
             AddPrior(input, "c_da_2", BaseReported() - absl::Hours(24 * 40), "domestic_abuse");
           },
       .categories = {kMostSerious, kPersistent},
       .priority = kImmediate,
       .consent_rule = kExplicit,
       .decision = kSeek,
       .crime_category = "domestic_abuse",
       .marac = true,
       .idva = std::nullopt,
       .consent_contact_due = due,
       .first_contact_due = contact,
       .rules = {"risk.potential_escalation", "enhanced.persistently_targeted.repeat",
                 "priority.immediate"},
       .not_rules = {"risk.dash_high"},
       .reports_in_window = 3,
       .reasons = {{"risk.potential_escalation", "Report 3 of domestic abuse"}}},
      {.name = "RepeatReportsOfOtherCrimesAreNotEscalation",
       .code_rule = "Risk: potential escalation counts domestic abuse reports only",
       .setup =
           [](AssessmentInput& input) {
             DomesticAbuse(input);
             AddPrior(input, "c_1", BaseReported() - absl::Hours(24 * 100), "theft");
             AddPrior(input, "c_2", BaseReported() - absl::Hours(24 * 40), "criminal_damage");
           },
       .categories = {kMostSerious, kPersistent},
       .priority = kEnhanced,
       .consent_rule = kExplicit,
       .decision = kSeek,
       .crime_category = "domestic_abuse",
       .consent_contact_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.persistently_targeted.repeat"},
       .not_rules = {"risk.potential_escalation"},
       .reports_in_window = 3},

      // ---- Staff requests (re-assessment raises, never lowers) ----------------------------
      {.name = "StaffRaiseToEnhanced",
       .code_rule = "Re-assessment: staff raise the priority on professional judgement "
                    "(Code: re-assessment when circumstances change)",
       .setup =
           [](AssessmentInput& input) {
             AddRequest(input, ev::REASSESSMENT_REASON_PROFESSIONAL_JUDGEMENT)
                 .set_minimum_priority(ev::PRIORITY_ENHANCED);
           },
       .categories = {},
       .priority = kEnhanced,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"priority.enhanced"},
       .reasons = {{"priority.enhanced", "raised by Hub staff"}}},
      {.name = "StaffRaiseToImmediateOnVictimRequest",
       .code_rule = "Re-assessment: the victim asks; staff raise to immediate",
       .setup =
           [](AssessmentInput& input) {
             AddRequest(input, ev::REASSESSMENT_REASON_VICTIM_REQUEST)
                 .set_minimum_priority(ev::PRIORITY_IMMEDIATE);
           },
       .categories = {},
       .priority = kImmediate,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"priority.immediate"},
       .not_rules = {"risk.staff_marac"}},
      {.name = "StaffCannotLowerThePriority",
       .code_rule = "Re-assessment: a staff request never lowers an enhanced victim",
       .setup =
           [](AssessmentInput& input) {
             DomesticAbuse(input);
             AddRequest(input, ev::REASSESSMENT_REASON_CHANGE_OF_CIRCUMSTANCES)
                 .set_minimum_priority(ev::PRIORITY_STANDARD);
           },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kExplicit,
       .decision = kSeek,
       .crime_category = "domestic_abuse",
       .consent_contact_due = due,
       .first_contact_due = contact},
      {.name = "StaffReferToMaracBelowTheDashThreshold",
       .code_rule = "Risk: MARAC on professional judgement below DASH 14 (SafeLives); MARAC "
                    "and IDVA",
       .setup =
           [](AssessmentInput& input) {
             DomesticAbuse(input);
             VictimOf(input).set_dash_score(9);
             AddRequest(input, ev::REASSESSMENT_REASON_PROFESSIONAL_JUDGEMENT)
                 .set_refer_to_marac(true);
           },
       .categories = {kMostSerious},
       .priority = kImmediate,
       .consent_rule = kExplicit,
       .decision = kSeek,
       .crime_category = "domestic_abuse",
       .marac = true,
       .idva = true,
       .consent_contact_due = due,
       .first_contact_due = contact,
       .rules = {"risk.staff_marac", "priority.immediate"},
       .not_rules = {"risk.dash_high"},
       .reasons = {{"risk.staff_marac", "professional judgement"}}},
      {.name = "StaffAddNeeds",
       .code_rule = "Re-assessment: staff add need domains; undeclared ids are ignored",
       .setup =
           [](AssessmentInput& input) {
             ReassessmentRequested& request =
                 AddRequest(input, ev::REASSESSMENT_REASON_CHANGE_OF_CIRCUMSTANCES);
             request.add_additional_needs("financial");
             request.add_additional_needs("health_mental_health");
             request.add_additional_needs("no_such_need");
             request.add_additional_needs("financial");
           },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .needs = {"practical", "emotional", "financial", "health_mental_health"},
       .not_needs = {"no_such_need"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"needs.staff"},
       .reasons = {{"needs.staff", "financial help, health and mental health"}}},

      // ---- Flag-driven most serious crimes ------------------------------------------------
      {.name = "HateCrimeFlag",
       .code_rule = "Enhanced: hate crime is a most serious crime (Code ch.1); opt-out",
       .setup =
           [](AssessmentInput& input) {
             SetOffence(input, "105A");
             FlagsOf(input).set_hate_crime(true);
             FlagsOf(input).add_hate_crime_strands(in::HATE_CRIME_STRAND_RACE);
           },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "hate",
       .needs = {"emotional", "safety_home_security", "criminal_justice_information"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.most_serious.flag", "needs.category", "consent.opt_out"},
       .reasons = {{"enhanced.most_serious.flag", "recorded as hate crime"}}},
      {.name = "RaciallyAggravatedOffenceIsHateCrime",
       .code_rule = "Enhanced: a racially or religiously aggravated offence (105B) is a hate "
                    "crime even without the flag",
       .setup = [](AssessmentInput& input) { SetOffence(input, "105B"); },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "hate",
       .needs = {"emotional", "safety_home_security", "criminal_justice_information"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.most_serious.flag", "needs.category"}},
      {.name = "RaciallyAggravatedHarassmentIsHateAndCampaign",
       .code_rule = "Enhanced: racially aggravated harassment (8M) is hate crime and a "
                    "campaign of harassment",
       .setup = [](AssessmentInput& input) { SetOffence(input, "8M"); },
       .categories = {kMostSerious, kPersistent},
       .priority = kEnhanced,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "hate",
       .needs = {"stalking", "safety_home_security", "emotional"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.most_serious.flag", "enhanced.persistently_targeted.campaign"}},
      {.name = "TerrorismFlag",
       .code_rule = "Enhanced: victims of terrorism are most serious crime victims (Code ch.1)",
       .setup =
           [](AssessmentInput& input) {
             SetOffence(input, "8N");
             FlagsOf(input).set_terrorism(true);
           },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "terrorism",
       .needs = {"emotional", "health_mental_health", "practical", "criminal_justice_information"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.most_serious.flag"},
       .not_rules = {"enhanced.most_serious.offence"}},
      {.name = "ModernSlaveryFlag",
       .code_rule = "Enhanced: human trafficking / modern slavery is a most serious crime "
                    "(Code ch.1), by flag",
       .setup =
           [](AssessmentInput& input) {
             SetOffence(input, "105A");
             FlagsOf(input).set_modern_slavery(true);
           },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "modern_slavery",
       .needs = {"exploitation_modern_slavery", "safety_home_security", "practical"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.most_serious.flag", "needs.category"}},
      {.name = "ModernSlaveryOffence",
       .code_rule = "Enhanced: modern slavery (Home Office class 106) is most serious by "
                    "offence",
       .setup = [](AssessmentInput& input) { SetOffence(input, "106"); },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "modern_slavery",
       .needs = {"exploitation_modern_slavery"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.most_serious.offence"},
       .not_rules = {"enhanced.most_serious.flag"}},
      {.name = "TraffickingForSexualExploitationNeedsConsent",
       .code_rule = "Consent: trafficking for sexual exploitation (72) is a sexual offence: "
                    "explicit consent",
       .setup = [](AssessmentInput& input) { SetOffence(input, "72"); },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kExplicit,
       .decision = kSeek,
       .crime_category = "modern_slavery",
       .needs = {"exploitation_modern_slavery", "sexual_violence"},
       .consent_contact_due = due,
       .first_contact_due = contact,
       .rules = {"consent.explicit.offence"}},
      {.name = "ChildSexualExploitationFlag",
       .code_rule = "Enhanced: child sexual exploitation flag is a sexual offence (most "
                    "serious, explicit consent) and the child is vulnerable",
       .setup =
           [](AssessmentInput& input) {
             SetOffence(input, "105A");
             FlagsOf(input).set_child_sexual_exploitation(true);
             VictimOf(input).set_age_at_offence(15);
           },
       .categories = {kMostSerious, kVulnerable},
       .priority = kEnhanced,
       .consent_rule = kExplicit,
       .decision = kSeek,
       .crime_category = "sexual_offences",
       .needs = {"sexual_violence", "young_victim", "exploitation_modern_slavery"},
       .consent_contact_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.most_serious.flag", "consent.explicit.category",
                 "enhanced.vulnerable.under_age"}},

      // ---- Sexual offences ----------------------------------------------------------------
      {.name = "SexualAssaultNeedsExplicitConsent",
       .code_rule = "Consent: sexual offences need explicit consent; most serious crime "
                    "(Code ch.1)",
       .setup = [](AssessmentInput& input) { SetOffence(input, "20A"); },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kExplicit,
       .decision = kSeek,
       .crime_category = "sexual_offences",
       .needs = {"sexual_violence", "emotional", "health_mental_health"},
       .consent_contact_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.most_serious.offence", "consent.explicit.offence",
                 "referral.seek_consent", "deadline.consent_contact"},
       .not_rules = {"deadline.referral"},
       .reasons = {{"consent.explicit.offence",
                    "Offence 20A (Sexual assault on a female aged "
                    "13 and over)"}}},
      {.name = "RapeVictimConsentedAtTheReport",
       .code_rule = "Right 4: explicit consent given at the report: referral within 2 working "
                    "days of it",
       .setup =
           [](AssessmentInput& input) {
             SetOffence(input, "19C");
             SetConsent(input, in::CONSENT_STATUS_GIVEN, London(2026, 11, 23, 10, 5));
           },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kExplicit,
       .decision = kRefer,
       .crime_category = "rape",
       .needs = {"sexual_violence"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"deadline.referral_after_consent"}},

      // ---- Offence codes ------------------------------------------------------------------
      {.name = "UnknownOffenceCodeUsesGeneralRules",
       .code_rule = "Needs: a code the offence table does not know gets the general rules "
                    "(victim still contacted; staff told)",
       .setup = [](AssessmentInput& input) { SetOffence(input, "99"); },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "other",
       .needs = {"emotional", "practical", "criminal_justice_information"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"needs.unknown_offence"},
       .not_rules = {"needs.offence"},
       .reasons = {{"needs.unknown_offence", "Offence code 99 is not in the offence table"}}},
      {.name = "UnknownCjsCodeOnlyUsesGeneralRules",
       .code_rule = "Needs: an unknown CJS code and no Home Office class: general rules",
       .setup = [](AssessmentInput& input) { SetOffence(input, "", "ZZ99123"); },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "other",
       .needs = {"emotional", "practical", "criminal_justice_information"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"needs.unknown_offence"},
       .reasons = {{"needs.unknown_offence", "ZZ99123"}}},
      {.name = "CjsCodeOnly",
       .code_rule = "Needs: a CJS code alone (TH68010 theft from a shop) maps to its Home "
                    "Office class (46)",
       .setup = [](AssessmentInput& input) { SetOffence(input, "", "TH68010"); },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .needs = {"practical", "emotional"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"needs.offence"},
       .not_rules = {"needs.unknown_offence"},
       .reasons = {{"needs.offence", "offence TH68010 (Shoplifting)"}}},
      {.name = "CjsAttemptWithItsOwnClass",
       .code_rule = "Needs: a suffixed CJS code listed in its own right (TH68026A attempted "
                    "burglary: 28F)",
       .setup = [](AssessmentInput& input) { SetOffence(input, "", "TH68026A"); },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "burglary_residential",
       .needs = {"safety_home_security"},
       .referral_due = due,
       .first_contact_due = contact,
       .reasons = {{"needs.offence", "Attempted burglary residential"}}},
      {.name = "CjsSuffixFallsBackToTheBaseCode",
       .code_rule = "Needs: a suffixed CJS code not listed (TH68010A) is counted as its base "
                    "code",
       .setup = [](AssessmentInput& input) { SetOffence(input, "", "TH68010A"); },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = due,
       .first_contact_due = contact,
       .reasons = {{"needs.offence", "(Shoplifting)"}}},
      {.name = "HomeOfficeClassWinsOverCjsCode",
       .code_rule = "Needs: the Home Office class is the principal code; the CJS code is only a "
                    "fallback (Home Office Counting Rules)",
       .setup = [](AssessmentInput& input) { SetOffence(input, "28E", "TH68001"); },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "burglary_residential",
       .needs = {"safety_home_security"},
       .referral_due = due,
       .first_contact_due = contact,
       .reasons = {{"needs.offence", "offence 28E (Burglary residential)"}}},
      {.name = "UnknownHomeOfficeClassFallsBackToCjs",
       .code_rule = "Enhanced: an unknown Home Office class with a known CJS code (OF61016, s18 "
                    "wounding with intent: 5D) is most serious",
       .setup = [](AssessmentInput& input) { SetOffence(input, "99", "OF61016"); },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "violence_with_injury",
       .needs = {"health_mental_health"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"enhanced.most_serious.offence"},
       .reasons = {{"enhanced.most_serious.offence",
                    "Assault with intent to cause serious "
                    "harm"}}},

      // ---- Self-referral ------------------------------------------------------------------
      {.name = "SelfReferralOfDomesticAbuseOnASaturday",
       .code_rule = "Right to self-refer: the request is consent; Right 4 counts from arrival "
                    "(Saturday: due Tuesday)",
       .setup =
           [](AssessmentInput& input) {
             const absl::Time arrived = London(2026, 11, 28, 20, 0);
             input.crime.set_origin(ev::ORIGIN_SELF_REFERRAL);
             input.crime.set_self_referral_category(in::SELF_REFERRAL_CATEGORY_DOMESTIC_ABUSE);
             input.crime.set_case_id("s_000000000000000000000001");
             SetOffence(input, "");
             SetReported(input, arrived);
             *input.crime.mutable_report()->mutable_recorded_at() = Ts(arrived);
             *input.crime.mutable_received_at() = Ts(arrived);
             VictimOf(input).set_victim_ref("self");
             in::Consent& consent = *VictimOf(input).mutable_consent();
             consent.set_status(in::CONSENT_STATUS_GIVEN);
             *consent.mutable_recorded_at() = Ts(arrived);
             consent.set_recorded_by("victim");
             consent.set_scope(in::CONSENT_SCOPE_ALL_PROVIDERS);
           },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kSelf,
       .decision = kRefer,
       .crime_category = "domestic_abuse",
       .needs = {"domestic_abuse", "safety_home_security", "emotional"},
       .referral_due = London(2026, 12, 1, 23, 59),
       .first_contact_due = London(2026, 11, 29, 20, 0),
       .rules = {"consent.self_referral", "enhanced.most_serious.self_referral",
                 "needs.self_referral", "deadline.referral"},
       .not_rules = {"consent.explicit.category", "consent.opt_out", "referral.seek_consent",
                     "deadline.referral_after_consent"},
       .reasons = {{"referral.refer", "the victim asked for support"}}},
      {.name = "SelfReferralOfTheft",
       .code_rule = "Right to self-refer: standard self-referral (theft or robbery)",
       .setup =
           [](AssessmentInput& input) {
             input.crime.set_origin(ev::ORIGIN_SELF_REFERRAL);
             input.crime.set_self_referral_category(in::SELF_REFERRAL_CATEGORY_THEFT_ROBBERY);
             SetOffence(input, "");
           },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kSelf,
       .decision = kRefer,
       .crime_category = "theft",
       .needs = {"practical", "emotional"},
       .referral_due = due,
       .first_contact_due = contact,
       .rules = {"consent.self_referral", "needs.self_referral"},
       .not_rules = {"needs.unknown_offence", "needs.offence"}},

      // ---- Working days (Right 4) ---------------------------------------------------------
      {.name = "SaturdayReportIsDueTuesday",
       .code_rule = "Right 4: referral within 2 working days; a Saturday report is due Tuesday "
                    "(day of report is day 0)",
       .setup = [](AssessmentInput& input) { SetReported(input, London(2026, 11, 28, 9, 0)); },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = London(2026, 12, 1, 23, 59),
       .first_contact_due = London(2026, 11, 29, 9, 0),
       .rules = {"deadline.referral"}},
      {.name = "GoodFridayReportSkipsEasterMonday",
       .code_rule = "Right 4: referral within 2 working days, bank holidays excluded (Good "
                    "Friday 2026: due Wednesday after Easter Monday)",
       .setup = [](AssessmentInput& input) { SetReported(input, London(2026, 4, 3, 11, 0)); },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = London(2026, 4, 8, 23, 59),
       .first_contact_due = London(2026, 4, 4, 11, 0)},
      {.name = "ThursdayBeforeEasterAcrossTheClockChange",
       .code_rule = "Right 4: Thursday before Easter 2027 (GMT) is due Wednesday 23:59 BST",
       .setup = [](AssessmentInput& input) { SetReported(input, London(2027, 3, 25, 14, 0)); },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = London(2027, 3, 31, 23, 59),
       .first_contact_due = London(2027, 3, 26, 14, 0)},
      {.name = "ThursdayBeforeTheAugustBankHolidayMonday",
       .code_rule = "Right 4: a deadline that would fall on a bank holiday Monday moves to "
                    "Tuesday (summer bank holiday 2026)",
       .setup = [](AssessmentInput& input) { SetReported(input, London(2026, 8, 27, 10, 0)); },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = London(2026, 9, 1, 23, 59),
       .first_contact_due = London(2026, 8, 28, 10, 0)},
      {.name = "WednesdayBeforeChristmas2026",
       .code_rule = "Right 4: Christmas Day and the Boxing Day substitute (Mon 28 Dec 2026) "
                    "are not working days",
       .setup = [](AssessmentInput& input) { SetReported(input, London(2026, 12, 23, 9, 0)); },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = London(2026, 12, 29, 23, 59),
       .first_contact_due = London(2026, 12, 24, 9, 0)},
      {.name = "ChristmasEve2027TwoSubstituteDays",
       .code_rule = "Right 4: Christmas 2027 on a weekend: substitute Monday and Tuesday "
                    "excluded",
       .setup = [](AssessmentInput& input) { SetReported(input, London(2027, 12, 24, 16, 0)); },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = London(2027, 12, 30, 23, 59),
       .first_contact_due = London(2027, 12, 25, 16, 0)},
      {.name = "NewYearsEve2027SubstituteDay",
       .code_rule = "Right 4: New Year's Day 2028 substitute (Monday 3 January) is excluded",
       .setup = [](AssessmentInput& input) { SetReported(input, London(2027, 12, 31, 12, 0)); },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = London(2028, 1, 5, 23, 59),
       .first_contact_due = London(2028, 1, 1, 12, 0)},
      {.name = "FridayInSummerTimeDueAfterTheClocksGoBack",
       .code_rule = "Right 4: due 23:59 London time on the day, GMT after the clocks go back",
       .setup = [](AssessmentInput& input) { SetReported(input, London(2026, 10, 23, 17, 0)); },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = London(2026, 10, 27, 23, 59),
       .first_contact_due = London(2026, 10, 24, 17, 0)},
      {.name = "ReportBeyondTheCalendar",
       .code_rule = "Right 4: a date the bank holiday calendar does not cover counts weekends "
                    "only and says so (calendar_gap)",
       .setup = [](AssessmentInput& input) { SetReported(input, London(2031, 3, 7, 10, 0)); },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = London(2031, 3, 11, 23, 59),
       .first_contact_due = London(2031, 3, 8, 10, 0),
       .rules = {"deadline.calendar_gap", "deadline.referral"},
       .reasons = {{"deadline.calendar_gap", "covers 2024-2030 only"}}},
      {.name = "CountRunningOffTheEndOfTheCalendar",
       .code_rule = "Right 4: a count that runs past the calendar's last year falls back to "
                    "weekends only (calendar_gap)",
       .setup = [](AssessmentInput& input) { SetReported(input, London(2030, 12, 30, 10, 0)); },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = London(2031, 1, 1, 23, 59),
       .first_contact_due = London(2030, 12, 31, 10, 0),
       .rules = {"deadline.calendar_gap"}},

      // ---- First contact (local target) ---------------------------------------------------
      {.name = "FirstContactIsTwentyFourHoursAcrossTheClockChange",
       .code_rule = "Local target: first contact within 24h (seed 001 7.4); 24 elapsed hours "
                    "when the clocks go forward",
       .setup = [](AssessmentInput& input) { SetReported(input, London(2026, 3, 28, 10, 0)); },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = London(2026, 3, 31, 23, 59),
       .first_contact_due = London(2026, 3, 29, 11, 0),
       .rules = {"deadline.first_contact"},
       .reasons = {{"deadline.first_contact", "Sunday 29 March 2026, 11:00"}}},

      // ---- Case updates (Right 6) ---------------------------------------------------------
      {.name = "ArrestUpdateForStandardVictim",
       .code_rule = "Right 6: told of an arrest within 5 working days (standard victims)",
       .setup =
           [](AssessmentInput& input) {
             AddMilestone(input, in::MILESTONE_TYPE_ARREST, London(2026, 11, 24, 16, 0));
           },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = due,
       .first_contact_due = contact,
       .case_updates = {London(2026, 12, 1, 23, 59)},
       .rules = {"deadline.case_update"},
       .reasons = {{"deadline.case_update", "within 5 working days (standard service"}}},
      {.name = "ArrestUpdateForEnhancedVictim",
       .code_rule = "Right 6: update within 1 working day for enhanced victims",
       .setup =
           [](AssessmentInput& input) {
             VictimOf(input).set_age_at_offence(12);
             AddMilestone(input, in::MILESTONE_TYPE_ARREST, London(2026, 11, 24, 16, 0));
           },
       .categories = {kVulnerable},
       .priority = kEnhanced,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = due,
       .first_contact_due = contact,
       .case_updates = {London(2026, 11, 25, 23, 59)},
       .rules = {"deadline.case_update"},
       .reasons = {{"deadline.case_update", "(enhanced service"}}},
      {.name = "ChargeAndBailOverChristmasForEnhancedVictim",
       .code_rule = "Right 6: 1 working day for enhanced victims, bank holidays excluded; one "
                    "deadline per milestone in order",
       .setup =
           [](AssessmentInput& input) {
             DomesticAbuse(input);
             SetConsent(input, in::CONSENT_STATUS_GIVEN, London(2026, 11, 23, 12, 0));
             AddMilestone(input, in::MILESTONE_TYPE_CHARGE, London(2026, 12, 24, 11, 0));
             AddMilestone(input, in::MILESTONE_TYPE_BAIL_CHANGED, London(2026, 12, 29, 10, 0));
           },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kExplicit,
       .decision = kRefer,
       .crime_category = "domestic_abuse",
       .referral_due = due,
       .first_contact_due = contact,
       .case_updates = {London(2026, 12, 29, 23, 59), London(2026, 12, 30, 23, 59)},
       .rules = {"deadline.case_update", "deadline.referral_after_consent"}},
      {.name = "MilestoneOutsideTheListSetsNoDeadline",
       .code_rule = "Right 6: only the listed decisions set an update deadline (VPS offered: "
                    "none; no further action: 5 working days)",
       .setup =
           [](AssessmentInput& input) {
             AddMilestone(input, in::MILESTONE_TYPE_VICTIM_PERSONAL_STATEMENT_OFFERED,
                          London(2026, 11, 25, 10, 0));
             AddMilestone(input, in::MILESTONE_TYPE_NO_FURTHER_ACTION, London(2026, 11, 26, 12, 0));
           },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kRefer,
       .crime_category = "theft",
       .referral_due = due,
       .first_contact_due = contact,
       .case_updates = {London(2026, 12, 3, 23, 59)},
       .rules = {"deadline.case_update_none", "deadline.case_update"},
       .reasons = {{"deadline.case_update_none", "Victim personal statement offered"}}},

      // ---- Cancellation -------------------------------------------------------------------
      {.name = "NoCrimeClosesTheCase",
       .code_rule = "Cancellation: a no-crimed report closes the case; no deadlines at all",
       .setup =
           [](AssessmentInput& input) {
             AddMilestone(input, in::MILESTONE_TYPE_ARREST, London(2026, 11, 24, 16, 0));
             input.cancellation = in::CANCELLATION_REASON_NO_CRIME;
             input.trigger = ev::ASSESSMENT_TRIGGER_CANCELLATION;
           },
       .categories = {},
       .priority = kStandard,
       .consent_rule = kOptOut,
       .decision = kClose,
       .crime_category = "theft",
       .rules = {"referral.close"},
       .not_rules = {"referral.refer", "deadline.referral", "deadline.first_contact",
                     "deadline.case_update", "deadline.case_update_none"},
       .reasons = {{"referral.close", "no crime"}}},
      {.name = "TransferredDomesticAbuseCaseCloses",
       .code_rule = "Cancellation: a transferred case closes even while consent is sought",
       .setup =
           [](AssessmentInput& input) {
             DomesticAbuse(input);
             input.cancellation = in::CANCELLATION_REASON_TRANSFERRED;
           },
       .categories = {kMostSerious},
       .priority = kEnhanced,
       .consent_rule = kExplicit,
       .decision = kClose,
       .crime_category = "domestic_abuse",
       .rules = {"referral.close"},
       .not_rules = {"referral.seek_consent", "deadline.consent_contact"},
       .reasons = {{"referral.close", "transferred"}}},
  };
}

std::vector<std::string> FiredRules(const NeedsAssessed& assessment) {
  std::vector<std::string> rules;
  for (const auto& explanation : assessment.explanations()) {
    rules.push_back(explanation.rule());
  }
  return rules;
}

std::vector<std::string> Names(const std::vector<EnhancedCategory>& categories) {
  std::vector<std::string> names;
  names.reserve(categories.size());
  for (EnhancedCategory category : categories) {
    names.push_back(ev::EnhancedCategory_Name(category));
  }
  return names;
}

std::vector<std::string> Names(const NeedsAssessed& assessment) {
  std::vector<std::string> names;
  for (int category : assessment.enhanced_categories()) {
    names.push_back(ev::EnhancedCategory_Name(static_cast<EnhancedCategory>(category)));
  }
  return names;
}

std::set<std::string> AllRuleNames() {
  std::set<std::string> names;
  for (size_t i = 0; i < kRuleCount; ++i) {
    names.insert(std::string(RuleName(static_cast<RuleId>(i))));
  }
  return names;
}

void ExpectDue(const char* what, bool has, const google::protobuf::Timestamp& actual,
               const Due& expected) {
  if (!expected.has_value()) {
    EXPECT_FALSE(has) << what << " must be unset, is " << Show(FromTs(actual));
    return;
  }
  ASSERT_TRUE(has) << what << " must be " << Show(*expected) << ", is unset";
  EXPECT_EQ(Show(FromTs(actual)), Show(*expected)) << what;
  EXPECT_EQ(FromTs(actual), *expected) << what;
}

class ScenarioTest : public ::testing::TestWithParam<Scenario> {};

TEST_P(ScenarioTest, AssessesAsTheCodeRequires) {
  const Scenario& scenario = GetParam();
  SCOPED_TRACE(scenario.code_rule);
  AssessmentInput input = BaseInput();
  scenario.setup(input);
  const NeedsAssessed assessment = Assess(Book(), input);

  EXPECT_EQ(assessment.enhanced(), !scenario.categories.empty());
  EXPECT_THAT(Names(assessment), ElementsAreArray(Names(scenario.categories)));
  EXPECT_EQ(ev::Priority_Name(assessment.priority()), ev::Priority_Name(scenario.priority));
  EXPECT_EQ(ev::ConsentRule_Name(assessment.consent_rule()),
            ev::ConsentRule_Name(scenario.consent_rule));
  EXPECT_EQ(assessment.consent_required(), scenario.consent_rule == ev::CONSENT_RULE_EXPLICIT);
  EXPECT_EQ(ev::ReferralDecision_Name(assessment.referral_decision()),
            ev::ReferralDecision_Name(scenario.decision));
  EXPECT_EQ(assessment.crime_category(), scenario.crime_category);
  EXPECT_EQ(CrimeCategory(Book(), input.crime), scenario.crime_category);
  for (const std::string& need : scenario.needs) {
    EXPECT_THAT(assessment.needs(), Contains(need));
  }
  for (const std::string& need : scenario.not_needs) {
    EXPECT_THAT(assessment.needs(), Not(Contains(need)));
  }
  std::set<std::string> distinct_needs(assessment.needs().begin(), assessment.needs().end());
  EXPECT_EQ(distinct_needs.size(), static_cast<size_t>(assessment.needs_size())) << "needs repeat";
  EXPECT_EQ(assessment.marac_referral(), scenario.marac);
  if (scenario.idva.has_value()) {
    EXPECT_EQ(assessment.idva_referral(), *scenario.idva);
  }
  EXPECT_EQ(assessment.reports_in_window(), scenario.reports_in_window);

  ExpectDue("referral_due", assessment.has_referral_due(), assessment.referral_due(),
            scenario.referral_due);
  ExpectDue("consent_contact_due", assessment.has_consent_contact_due(),
            assessment.consent_contact_due(), scenario.consent_contact_due);
  ExpectDue("first_contact_due", assessment.has_first_contact_due(), assessment.first_contact_due(),
            scenario.first_contact_due);
  ASSERT_EQ(static_cast<size_t>(assessment.case_update_deadlines_size()),
            scenario.case_updates.size());
  size_t milestone = 0;
  for (int i = 0; i < assessment.case_update_deadlines_size(); ++i) {
    const auto& deadline = assessment.case_update_deadlines(i);
    // Deadlines are made only for listed milestones, in input order.
    while (milestone < input.milestones.size() &&
           Book().rules.update_milestones().count(input.milestones[milestone].milestone.type()) ==
               0) {
      ++milestone;
    }
    ASSERT_LT(milestone, input.milestones.size());
    const MilestoneRecord& record = input.milestones[milestone++];
    EXPECT_EQ(deadline.milestone(), record.milestone.type());
    EXPECT_EQ(deadline.source_event_id(), record.event_id);
    EXPECT_EQ(FromTs(deadline.decided_at()), FromTs(record.milestone.decided_at()));
    EXPECT_EQ(Show(FromTs(deadline.due())), Show(scenario.case_updates[static_cast<size_t>(i)]));
  }

  const std::vector<std::string> fired = FiredRules(assessment);
  for (const std::string& rule : scenario.rules) {
    EXPECT_THAT(fired, Contains(rule));
  }
  for (const std::string& rule : scenario.not_rules) {
    EXPECT_THAT(fired, Not(Contains(rule)));
  }
  const std::set<std::string> known = AllRuleNames();
  for (const auto& explanation : assessment.explanations()) {
    EXPECT_EQ(known.count(explanation.rule()), 1u) << "unknown rule " << explanation.rule();
    EXPECT_FALSE(explanation.reason().empty()) << explanation.rule();
    EXPECT_EQ(explanation.reason().find_first_of("{}"), std::string::npos)
        << explanation.rule() << ": " << explanation.reason();
  }
  for (const auto& [rule, text] : scenario.reasons) {
    bool found = false;
    for (const auto& explanation : assessment.explanations()) {
      if (explanation.rule() == rule && explanation.reason().find(text) != std::string::npos) {
        found = true;
      }
    }
    EXPECT_TRUE(found) << "no reason of " << rule << " contains '" << text << "'";
  }
  // Exactly one priority, one consent rule and one decision are explained.
  auto count = [&](absl::string_view prefix) {
    return std::count_if(fired.begin(), fired.end(), [&](const std::string& rule) {
      return absl::string_view(rule).substr(0, prefix.size()) == prefix;
    });
  };
  EXPECT_EQ(count("priority."), 1);
  EXPECT_EQ(count("referral."), 1);

  EXPECT_EQ(assessment.case_id(), input.crime.case_id());
  EXPECT_EQ(assessment.rules_version(), Book().version);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(assessment.crime(), input.crime));
}

INSTANTIATE_TEST_SUITE_P(Code, ScenarioTest, ::testing::ValuesIn(Scenarios()),
                         [](const ::testing::TestParamInfo<Scenario>& param_info) {
                           return std::string(param_info.param.name);
                         });

TEST(ScenarioTableTest, HasAtLeastFortyFiveDistinctScenarios) {
  std::set<std::string> names;
  for (const Scenario& scenario : Scenarios()) {
    EXPECT_TRUE(names.insert(scenario.name).second) << scenario.name;
    EXPECT_STRNE(scenario.code_rule, "");
  }
  EXPECT_GE(names.size(), 45u);
}

// ---- Working days (the original table, kept) -----------------------------------------------

struct DeadlineCase {
  absl::Time reported;
  absl::Time due;
};

class DeadlineTest : public ::testing::TestWithParam<DeadlineCase> {};

TEST_P(DeadlineTest, ReferralIsDueOnTheSecondWorkingDayAfterTheReport) {
  AssessmentInput input = BaseInput();
  SetReported(input, GetParam().reported);
  const NeedsAssessed assessment = Assess(Book(), input);
  EXPECT_EQ(Show(FromTs(assessment.referral_due())), Show(GetParam().due));
}

INSTANTIATE_TEST_SUITE_P(
    WorkingDays, DeadlineTest,
    ::testing::Values(
        // Monday → Wednesday 23:59.
        DeadlineCase{London(2026, 11, 23, 10, 0), London(2026, 11, 25, 23, 59)},
        // Thursday → Monday.
        DeadlineCase{London(2026, 11, 26, 18, 0), London(2026, 11, 30, 23, 59)},
        // Saturday → Tuesday (the documented reading of the Code).
        DeadlineCase{London(2026, 11, 28, 9, 0), London(2026, 12, 1, 23, 59)},
        // Late Friday evening in British Summer Time still counts from Friday.
        DeadlineCase{London(2026, 7, 3, 23, 30), London(2026, 7, 7, 23, 59)},
        // Friday before the August bank holiday Monday → Wednesday.
        DeadlineCase{London(2026, 8, 28, 16, 0), London(2026, 9, 2, 23, 59)},
        // Christmas Eve 2026: Christmas Day and the Boxing Day substitute do not count.
        DeadlineCase{London(2026, 12, 24, 12, 0), London(2026, 12, 30, 23, 59)}));

// ---- The rule book and the engine as a whole -----------------------------------------------

TEST(RuleBookTest, ShippedBookLoads) {
  absl::StatusOr<std::shared_ptr<const RuleBook>> book = RuleBook::Load(DefaultRulePaths());
  ASSERT_TRUE(book.ok()) << book.status();
  EXPECT_THAT((*book)->version, MatchesRegex("triage [^ ;]+; offences [^ ;]+; calendar [^ ;]+"));
  EXPECT_THAT((*book)->version, HasSubstr(absl::StrCat("triage ", (*book)->rules.version())));
  EXPECT_THAT((*book)->version, HasSubstr(absl::StrCat("offences ", (*book)->offences.version())));
  EXPECT_THAT((*book)->version, HasSubstr(absl::StrCat("calendar ", (*book)->calendar.version())));
}

TEST(RuleBookTest, EveryRuleHasADistinctNameThatTheFileUsesInOrder) {
  std::vector<std::string> names;
  for (size_t i = 0; i < kRuleCount; ++i) {
    names.emplace_back(RuleName(static_cast<RuleId>(i)));
    EXPECT_FALSE(names.back().empty()) << "rule " << i;
  }
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());

  const YAML::Node file = YAML::LoadFile(DefaultRulePaths().rules);
  std::vector<std::string> in_file;
  for (const auto& item : file["rules"]) {
    in_file.push_back(item.first.as<std::string>());
  }
  EXPECT_THAT(in_file, ElementsAreArray(names));
}

// A case that touches every part of the engine: domestic abuse with a DASH score, history,
// staff requests and milestones.
AssessmentInput BusyInput() {
  AssessmentInput input = BaseInput();
  DomesticAbuse(input);
  VictimOf(input).set_dash_score(16);
  VictimOf(input).set_suspect_shares_address(true);
  VictimOf(input).set_intimidated(true);
  AddPrior(input, "c_da_1", BaseReported() - absl::Hours(24 * 100), "domestic_abuse");
  AddPrior(input, "c_da_2", BaseReported() - absl::Hours(24 * 40), "domestic_abuse");
  ReassessmentRequested& request = AddRequest(input, ev::REASSESSMENT_REASON_POTENTIAL_ESCALATION);
  request.set_refer_to_marac(true);
  request.add_additional_needs("financial");
  AddMilestone(input, in::MILESTONE_TYPE_ARREST, London(2026, 11, 24, 16, 0));
  AddMilestone(input, in::MILESTONE_TYPE_VICTIM_PERSONAL_STATEMENT_OFFERED,
               London(2026, 11, 25, 9, 0));
  return input;
}

TEST(AssessTest, IsDeterministic) {
  const AssessmentInput input = BusyInput();
  const NeedsAssessed first = Assess(Book(), input);
  for (int i = 0; i < 3; ++i) {
    const NeedsAssessed again = Assess(Book(), input);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(first, again));
    EXPECT_EQ(first.SerializeAsString(), again.SerializeAsString());
  }
}

TEST(AssessTest, StampsTheReassessment) {
  AssessmentInput input = BusyInput();
  input.sequence = 3;
  input.trigger = ev::ASSESSMENT_TRIGGER_REASSESSMENT_REQUEST;
  input.trigger_event_id = "ev-reassess-7";
  input.now = London(2026, 11, 26, 9, 30);
  const NeedsAssessed assessment = Assess(Book(), input);
  EXPECT_EQ(assessment.sequence(), 3);
  EXPECT_EQ(assessment.trigger(), ev::ASSESSMENT_TRIGGER_REASSESSMENT_REQUEST);
  EXPECT_EQ(assessment.trigger_event_id(), "ev-reassess-7");
  EXPECT_EQ(FromTs(assessment.assessed_at()), input.now);
  ASSERT_EQ(assessment.reassessment_requests_size(), 1);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      assessment.reassessment_requests(0), input.requests[0]));
  // The assessment is the same whenever it is made: only the stamps differ.
  AssessmentInput later = input;
  later.now = input.now + absl::Hours(48);
  NeedsAssessed again = Assess(Book(), later);
  again.clear_assessed_at();
  NeedsAssessed first = assessment;
  first.clear_assessed_at();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(first, again));
}

}  // namespace
}  // namespace hub::triage
