#include "services/intake/validation.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"

namespace hub::intake {
namespace {

using ::hub::intake::v1::Consent;
using ::hub::intake::v1::ContactRoute;
using ::hub::intake::v1::CrimeReport;
using ::hub::intake::v1::CrimeUpdate;
using ::hub::intake::v1::RequestErasureRequest;
using ::hub::intake::v1::SelfReferral;
using ::hub::intake::v1::Victim;
using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

// The samples are dated in November 2026; tests run on that clock.
const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2026, 11, 25, 12, 0, 0), absl::UTCTimeZone());

google::protobuf::Timestamp Ts(absl::Time time) {
  google::protobuf::Timestamp timestamp;
  timestamp.set_seconds(absl::ToUnixSeconds(time));
  return timestamp;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs AsPairs(const std::vector<FieldViolation>& violations) {
  Pairs pairs;
  for (const FieldViolation& violation : violations) {
    pairs.emplace_back(violation.field, violation.description);
  }
  return pairs;
}

// One rule: how to break a good message, and exactly which violations that must produce
// (none, for rows that show something is accepted).
template <typename Message>
struct Row {
  std::string name;
  std::function<void(Message*)> mutate;
  Pairs want;
};

template <typename Message, typename Validate>
void RunTable(const Message& good, const std::vector<Row<Message>>& rows, Validate validate) {
  ASSERT_THAT(validate(good), IsEmpty());
  std::set<std::string> names;
  for (const Row<Message>& row : rows) {
    SCOPED_TRACE(row.name);
    EXPECT_TRUE(names.insert(row.name).second) << "duplicate row name";
    Message message = good;
    row.mutate(&message);
    EXPECT_THAT(AsPairs(validate(message)), UnorderedElementsAreArray(row.want));
  }
}

// ---- Building blocks of good messages.

Consent GivenConsent() {
  Consent consent;
  consent.set_status(hub::intake::v1::CONSENT_STATUS_GIVEN);
  *consent.mutable_recorded_at() = Ts(kNow - absl::Hours(40));
  consent.set_recorded_by("CAMBS-1234");
  consent.set_scope(hub::intake::v1::CONSENT_SCOPE_ALL_PROVIDERS);
  return consent;
}

ContactRoute PhoneRoute(const std::string& number) {
  ContactRoute route;
  route.set_channel(ContactRoute::CHANNEL_PHONE);
  route.set_safety(hub::intake::v1::CHANNEL_SAFETY_SAFE);
  route.set_value(number);
  return route;
}

ContactRoute LetterRoute() {
  ContactRoute route;
  route.set_channel(ContactRoute::CHANNEL_LETTER);
  route.set_safety(hub::intake::v1::CHANNEL_SAFETY_SAFE);
  route.mutable_address()->add_lines("1 Example Street");
  route.mutable_address()->set_town("Cambridge");
  route.mutable_address()->set_postcode("CB1 2AB");
  return route;
}

hub::intake::v1::Representative Guardian() {
  hub::intake::v1::Representative guardian;
  guardian.mutable_name()->set_given("Jo");
  guardian.mutable_name()->set_family("Example");
  guardian.set_role("mother");
  *guardian.add_contact_routes() = PhoneRoute("07700 900999");
  return guardian;
}

// Born 1986-01-10: 40 at the report two days before kNow.
Victim GoodVictim(const std::string& ref) {
  Victim victim;
  victim.set_victim_ref(ref);
  victim.mutable_name()->set_given("Ada");
  victim.mutable_name()->set_family("Example");
  victim.set_age_at_offence(40);
  victim.mutable_date_of_birth()->set_year(1986);
  victim.mutable_date_of_birth()->set_month(1);
  victim.mutable_date_of_birth()->set_day(10);
  *victim.add_contact_routes() = PhoneRoute("07700 900123");
  *victim.add_contact_routes() = LetterRoute();
  *victim.mutable_consent() = GivenConsent();
  return victim;
}

CrimeReport GoodReport() {
  CrimeReport report;
  report.set_force_code("CAMBS");
  report.set_source_system("athena");
  report.set_source_event_id("evt-0001");
  report.set_crime_reference("CF-0001-26");
  *report.mutable_reported_at() = Ts(kNow - absl::Hours(48));
  *report.mutable_recorded_at() = Ts(kNow - absl::Hours(47));
  report.set_offence_class_code("28E");
  report.set_cjs_offence_code("TH68036");
  report.mutable_location()->set_local_authority_code("E07000008");
  report.mutable_location()->set_postcode_district("CB1");
  *report.add_victims() = GoodVictim("V1");
  return report;
}

Victim* V0(CrimeReport* report) { return report->mutable_victims(0); }
ContactRoute* Phone(CrimeReport* report) { return V0(report)->mutable_contact_routes(0); }
ContactRoute* Letter(CrimeReport* report) { return V0(report)->mutable_contact_routes(1); }
hub::intake::v1::PostalAddress* Address(CrimeReport* report) {
  return Letter(report)->mutable_address();
}
Consent* ConsentOf(CrimeReport* report) { return V0(report)->mutable_consent(); }
void NoRoutes(CrimeReport* report) {
  V0(report)->clear_contact_routes();
  V0(report)->set_no_contact(true);
}

constexpr char kV0[] = "report.victims[0]";
std::string At(const std::string& suffix) { return absl::StrCat(kV0, suffix); }
std::string Route0(const std::string& suffix) { return At(".contact_routes[0]" + suffix); }
std::string Route1(const std::string& suffix) { return At(".contact_routes[1]" + suffix); }

constexpr char kForceCodeRule[] = "must be 2 to 8 upper-case letters or digits";
constexpr char kReferenceRule[] = "must be 1 to 64 letters, digits, '-', '_' or '/'";
constexpr char kFuture[] = "must not be in the future (a minute of clock skew is allowed)";
constexpr char kOffenceRule[] =
    "must be a Home Office offence class code such as '8L', '28E' or '3.2B'";
constexpr char kCjsRule[] =
    "must be a CJS offence code: 2 upper-case letters and 5 digits, or COML and 3 digits, then "
    "an optional suffix A, B, C or I";
constexpr char kUrnRule[] =
    "must be 11 characters: 2 digits of force, 2 upper-case letters of station, 5 digits of "
    "serial and 2 digits of year";
constexpr char kPhoneRule[] =
    "must be a UK phone number: digits and spaces, starting 0 or +44, 10 or 11 digits in "
    "national form";
constexpr char kMobileRule[] =
    "must be a UK mobile number: digits and spaces, starting 07 or +447, 11 digits in "
    "national form";
constexpr char kEmailRule[] =
    "must be an email address of at most 254 bytes: one '@', a non-empty local part, a "
    "domain with a dot, no spaces";
constexpr char kPostcodeRule[] = "must be a UK postcode such as 'CB1 2AB'";
constexpr char kCleanText[] = "must be valid UTF-8 without control characters";
constexpr char kLanguageRule[] = "must be a BCP 47 language tag such as 'en', 'cy' or 'pt-BR'";
constexpr char kUsableRoute[] = "at least one route not marked CHANNEL_SAFETY_UNSAFE is required";
constexpr char kNoUsableRoute[] =
    "at least one route not marked CHANNEL_SAFETY_UNSAFE is required, or set no_contact";
constexpr char kUnknown[] = "is not a known value";
constexpr char kRequired[] = "is required";
constexpr char kUnlessNotAsked[] = "is required unless status is CONSENT_STATUS_NOT_ASKED";
constexpr char kGuardianRequired[] = "is required for a victim under 18 unless no_contact";

std::vector<Row<CrimeReport>> ReportRows() {
  using R = CrimeReport*;
  return {
      // Source and identity of the report.
      {"force code missing",
       [](R r) { r->clear_force_code(); },
       {{"report.force_code", kRequired}}},
      {"force code lower case",
       [](R r) { r->set_force_code("cambs"); },
       {{"report.force_code", kForceCodeRule}}},
      {"force code too short",
       [](R r) { r->set_force_code("C"); },
       {{"report.force_code", kForceCodeRule}}},
      {"source system upper case",
       [](R r) { r->set_source_system("Athena"); },
       {{"report.source_system", "must be 1 to 32 lower-case letters, digits, '-' or '_'"}}},
      {"source event id with a space",
       [](R r) { r->set_source_event_id("evt 1"); },
       {{"report.source_event_id", "must be 1 to 128 printable characters without spaces"}}},
      {"source event id too long",
       [](R r) { r->set_source_event_id(std::string(129, 'e')); },
       {{"report.source_event_id", "must be 1 to 128 printable characters without spaces"}}},
      {"crime reference missing",
       [](R r) { r->clear_crime_reference(); },
       {{"report.crime_reference", kRequired}}},
      {"crime reference with a space",
       [](R r) { r->set_crime_reference("CF 1"); },
       {{"report.crime_reference", kReferenceRule}}},
      // When.
      {"reported_at missing",
       [](R r) { r->clear_reported_at(); },
       {{"report.reported_at", kRequired}}},
      {"reported_at in the future",
       [](R r) { *r->mutable_reported_at() = Ts(kNow + absl::Minutes(2)); },
       {{"report.reported_at", kFuture}}},
      {"reported_at within clock skew",
       [](R r) {
         *r->mutable_reported_at() = Ts(kNow + absl::Seconds(30));
         r->clear_recorded_at();
       },
       {}},
      {"reported_at over 30 years ago",
       [](R r) {
         *r->mutable_reported_at() = Ts(kNow - absl::Hours(24 * 366 * 30));
         r->clear_recorded_at();
         V0(r)->clear_date_of_birth();
       },
       {{"report.reported_at", "must not be more than 30 years ago"}}},
      {"reported_at invalid nanos",
       [](R r) { r->mutable_reported_at()->set_nanos(-1); },
       {{"report.reported_at", "must be a valid timestamp"}}},
      {"recorded_at before reported_at",
       [](R r) { *r->mutable_recorded_at() = Ts(kNow - absl::Hours(48) - absl::Minutes(2)); },
       {{"report.recorded_at", "must not be before reported_at (by more than a minute)"}}},
      {"recorded_at a minute before reported_at is skew",
       [](R r) { *r->mutable_recorded_at() = Ts(kNow - absl::Hours(48) - absl::Seconds(59)); },
       {}},
      {"recorded_at in the future",
       [](R r) { *r->mutable_recorded_at() = Ts(kNow + absl::Hours(1)); },
       {{"report.recorded_at", kFuture}}},
      // Offence codes.
      {"offence class missing",
       [](R r) { r->clear_offence_class_code(); },
       {{"report.offence_class_code", kRequired}}},
      {"offence class a word",
       [](R r) { r->set_offence_class_code("BURGLARY"); },
       {{"report.offence_class_code", kOffenceRule}}},
      {"cjs code too short",
       [](R r) { r->set_cjs_offence_code("TH6801"); },
       {{"report.cjs_offence_code", kCjsRule}}},
      {"cjs code bad suffix",
       [](R r) { r->set_cjs_offence_code("TH68010D"); },
       {{"report.cjs_offence_code", kCjsRule}}},
      {"cjs code with suffix", [](R r) { r->set_cjs_offence_code("OF61016A"); }, {}},
      {"cjs code lower case",
       [](R r) { r->set_cjs_offence_code("th68010"); },
       {{"report.cjs_offence_code", kCjsRule}}},
      {"urn good", [](R r) { r->set_urn("35AB1234526"); }, {}},
      {"urn short", [](R r) { r->set_urn("35AB12345"); }, {{"report.urn", kUrnRule}}},
      {"urn lower-case station",
       [](R r) { r->set_urn("35ab1234526"); },
       {{"report.urn", kUrnRule}}},
      // Flags.
      {"hate crime without strands",
       [](R r) { r->mutable_flags()->set_hate_crime(true); },
       {{"report.flags.hate_crime_strands",
         "at least one strand is required when hate_crime is set"}}},
      {"strands without hate crime",
       [](R r) {
         r->mutable_flags()->add_hate_crime_strands(hub::intake::v1::HATE_CRIME_STRAND_RACE);
       },
       {{"report.flags.hate_crime_strands", "must be empty unless hate_crime is set"}}},
      {"strand repeated",
       [](R r) {
         r->mutable_flags()->set_hate_crime(true);
         r->mutable_flags()->add_hate_crime_strands(hub::intake::v1::HATE_CRIME_STRAND_RACE);
         r->mutable_flags()->add_hate_crime_strands(hub::intake::v1::HATE_CRIME_STRAND_RACE);
       },
       {{"report.flags.hate_crime_strands[1]", "repeats an earlier entry"}}},
      {"strand unspecified",
       [](R r) {
         r->mutable_flags()->set_hate_crime(true);
         r->mutable_flags()->add_hate_crime_strands(hub::intake::v1::HATE_CRIME_STRAND_UNSPECIFIED);
       },
       {{"report.flags.hate_crime_strands[0]", "must not be the unspecified value"}}},
      {"strand unknown",
       [](R r) {
         r->mutable_flags()->set_hate_crime(true);
         r->mutable_flags()->mutable_hate_crime_strands()->Add(99);
       },
       {{"report.flags.hate_crime_strands[0]", kUnknown}}},
      // Location.
      {"location missing", [](R r) { r->clear_location(); }, {{"report.location", kRequired}}},
      {"local authority missing",
       [](R r) { r->mutable_location()->clear_local_authority_code(); },
       {{"report.location.local_authority_code", kRequired}}},
      {"local authority Scottish",
       [](R r) { r->mutable_location()->set_local_authority_code("S12000036"); },
       {{"report.location.local_authority_code",
         "must be an ONS local authority code: E or W and 8 digits"}}},
      {"local authority Welsh",
       [](R r) { r->mutable_location()->set_local_authority_code("W06000010"); },
       {}},
      {"postcode district is a full postcode",
       [](R r) { r->mutable_location()->set_postcode_district("CB1 2AB"); },
       {{"report.location.postcode_district",
         "must be the outward half of a UK postcode, such as 'CB1'"}}},
      {"postcode district digits first",
       [](R r) { r->mutable_location()->set_postcode_district("1CB"); },
       {{"report.location.postcode_district",
         "must be the outward half of a UK postcode, such as 'CB1'"}}},
      {"postcode district lower case",
       [](R r) { r->mutable_location()->set_postcode_district("pe29"); },
       {}},
      // Victims.
      {"no victims",
       [](R r) { r->clear_victims(); },
       {{"report.victims", "at least one victim is required"}}},
      {"too many victims",
       [](R r) {
         for (int i = 1; i <= 100; ++i) {
           *r->add_victims() = GoodVictim(absl::StrCat("V", i + 1));
         }
       },
       {{"report.victims", "must have at most 100 victims"}}},
      {"repeated victim_ref",
       [](R r) { *r->add_victims() = GoodVictim("V1"); },
       {{"report.victims[1].victim_ref", "repeats the victim_ref of an earlier victim"}}},
      {"victim_ref missing",
       [](R r) { V0(r)->clear_victim_ref(); },
       {{At(".victim_ref"), kRequired}}},
      {"victim_ref with a space",
       [](R r) { V0(r)->set_victim_ref("V 1"); },
       {{At(".victim_ref"), kReferenceRule}}},
      {"age over 120",
       [](R r) { V0(r)->set_age_at_offence(121); },
       {{At(".age_at_offence"), "must be 0 to 120"}}},
      {"dash score over 27",
       [](R r) { V0(r)->set_dash_score(28); },
       {{At(".dash_score"), "must be 0 to 27"}}},
      // Reachability.
      {"no routes and contact allowed",
       [](R r) { V0(r)->clear_contact_routes(); },
       {{At(".contact_routes"), kNoUsableRoute}}},
      {"only unsafe routes",
       [](R r) {
         Phone(r)->set_safety(hub::intake::v1::CHANNEL_SAFETY_UNSAFE);
         Letter(r)->set_safety(hub::intake::v1::CHANNEL_SAFETY_UNSAFE);
       },
       {{At(".contact_routes"), kNoUsableRoute}}},
      {"unspecified safety is usable",
       [](R r) { Phone(r)->set_safety(hub::intake::v1::CHANNEL_SAFETY_UNSPECIFIED); },
       {}},
      {"no_contact with a usable route",
       [](R r) { V0(r)->set_no_contact(true); },
       {{At(".no_contact"),
         "must not be set while a route not marked CHANNEL_SAFETY_UNSAFE is given"}}},
      {"no_contact with only unsafe routes",
       [](R r) {
         V0(r)->set_no_contact(true);
         Phone(r)->set_safety(hub::intake::v1::CHANNEL_SAFETY_UNSAFE);
         Letter(r)->set_safety(hub::intake::v1::CHANNEL_SAFETY_UNSAFE);
       },
       {}},
      {"too many routes",
       [](R r) {
         for (int i = 0; i < 9; ++i) {
           *V0(r)->add_contact_routes() = PhoneRoute("07700 900123");
         }
       },
       {{At(".contact_routes"), "must have at most 10 routes"}}},
      {"channel missing",
       [](R r) { Phone(r)->set_channel(ContactRoute::CHANNEL_UNSPECIFIED); },
       {{Route0(".channel"), kRequired}}},
      {"channel unknown",
       [](R r) { Phone(r)->set_channel(static_cast<ContactRoute::Channel>(9)); },
       {{Route0(".channel"), kUnknown}}},
      {"safety unknown",
       [](R r) { Phone(r)->set_safety(static_cast<hub::intake::v1::ChannelSafety>(7)); },
       {{Route0(".safety"), kUnknown}}},
      // Phone and SMS numbers.
      {"phone number missing",
       [](R r) { Phone(r)->clear_value(); },
       {{Route0(".value"), kRequired}}},
      {"phone number too short",
       [](R r) { Phone(r)->set_value("0770090"); },
       {{Route0(".value"), kPhoneRule}}},
      {"phone number too long",
       [](R r) { Phone(r)->set_value("07700 9001234"); },
       {{Route0(".value"), kPhoneRule}}},
      {"phone number foreign",
       [](R r) { Phone(r)->set_value("+1 202 555 0100"); },
       {{Route0(".value"), kPhoneRule}}},
      {"phone number with hyphens",
       [](R r) { Phone(r)->set_value("07700-900123"); },
       {{Route0(".value"), kPhoneRule}}},
      {"phone number with 00 44",
       [](R r) { Phone(r)->set_value("0044 7700 900123"); },
       {{Route0(".value"), kPhoneRule}}},
      {"phone number +44 0",
       [](R r) { Phone(r)->set_value("+44 07700 900123"); },
       {{Route0(".value"), kPhoneRule}}},
      {"phone number international", [](R r) { Phone(r)->set_value("+44 7700 900123"); }, {}},
      {"phone number landline", [](R r) { Phone(r)->set_value("01632 960123"); }, {}},
      {"phone number ten digits", [](R r) { Phone(r)->set_value("016977 3456"); }, {}},
      {"sms to a landline",
       [](R r) {
         Phone(r)->set_channel(ContactRoute::CHANNEL_SMS);
         Phone(r)->set_value("01632 960123");
       },
       {{Route0(".value"), kMobileRule}}},
      {"sms to a mobile",
       [](R r) {
         Phone(r)->set_channel(ContactRoute::CHANNEL_SMS);
         Phone(r)->set_value("+447700900123");
       },
       {}},
      // Email.
      {"email good",
       [](R r) {
         Phone(r)->set_channel(ContactRoute::CHANNEL_EMAIL);
         Phone(r)->set_value("ada.example+hub@mail.example.org");
       },
       {}},
      {"email without @",
       [](R r) {
         Phone(r)->set_channel(ContactRoute::CHANNEL_EMAIL);
         Phone(r)->set_value("ada.example.org");
       },
       {{Route0(".value"), kEmailRule}}},
      {"email with two @",
       [](R r) {
         Phone(r)->set_channel(ContactRoute::CHANNEL_EMAIL);
         Phone(r)->set_value("ada@home@example.org");
       },
       {{Route0(".value"), kEmailRule}}},
      {"email without local part",
       [](R r) {
         Phone(r)->set_channel(ContactRoute::CHANNEL_EMAIL);
         Phone(r)->set_value("@example.org");
       },
       {{Route0(".value"), kEmailRule}}},
      {"email domain without dot",
       [](R r) {
         Phone(r)->set_channel(ContactRoute::CHANNEL_EMAIL);
         Phone(r)->set_value("ada@localhost");
       },
       {{Route0(".value"), kEmailRule}}},
      {"email with a space",
       [](R r) {
         Phone(r)->set_channel(ContactRoute::CHANNEL_EMAIL);
         Phone(r)->set_value("ada example@example.org");
       },
       {{Route0(".value"), kEmailRule}}},
      {"email too long",
       [](R r) {
         Phone(r)->set_channel(ContactRoute::CHANNEL_EMAIL);
         Phone(r)->set_value(std::string(243, 'a') + "@example.org");
       },
       {{Route0(".value"), kEmailRule}}},
      {"email at the limit",
       [](R r) {
         Phone(r)->set_channel(ContactRoute::CHANNEL_EMAIL);
         Phone(r)->set_value(std::string(242, 'a') + "@example.org");
       },
       {}},
      // Letters and addresses.
      {"letter with a value",
       [](R r) { Letter(r)->set_value("07700 900123"); },
       {{Route1(".value"), "must be empty for letter routes (the address goes in address)"}}},
      {"letter without address",
       [](R r) { Letter(r)->clear_address(); },
       {{Route1(".address"), "is required for letter routes"}}},
      {"phone with an address",
       [](R r) { *Phone(r)->mutable_address() = *Address(r); },
       {{Route0(".address"), "must be unset unless channel is CHANNEL_LETTER"}}},
      {"address without lines",
       [](R r) { Address(r)->clear_lines(); },
       {{Route1(".address.lines"), "at least one line is required"}}},
      {"address with five lines",
       [](R r) {
         for (int i = 0; i < 4; ++i) {
           Address(r)->add_lines("Somewhere");
         }
       },
       {{Route1(".address.lines"), "must have at most 4 lines"}}},
      {"address line empty",
       [](R r) { Address(r)->set_lines(0, ""); },
       {{Route1(".address.lines[0]"), kRequired}}},
      {"address line too long",
       [](R r) { Address(r)->set_lines(0, std::string(129, 'x')); },
       {{Route1(".address.lines[0]"), "must be at most 128 bytes"}}},
      {"address line with newline",
       [](R r) { Address(r)->set_lines(0, "1 Example\nStreet"); },
       {{Route1(".address.lines[0]"), kCleanText}}},
      {"address line bad UTF-8",
       [](R r) { Address(r)->set_lines(0, "Caf\xc3\x28"); },
       {{Route1(".address.lines[0]"), kCleanText}}},
      {"address line overlong UTF-8",
       [](R r) {
         Address(r)->set_lines(0,
                               "A\xc0\xaf"
                               "B");
       },
       {{Route1(".address.lines[0]"), kCleanText}}},
      {"address line C1 control",
       [](R r) {
         Address(r)->set_lines(0,
                               "A\xc2\x85"
                               "B");
       },
       {{Route1(".address.lines[0]"), kCleanText}}},
      {"address line Welsh",
       [](R r) { Address(r)->set_lines(0, "2 Heol y Bont, T\xc5\xb7 Glas"); },
       {}},
      {"town missing",
       [](R r) { Address(r)->clear_town(); },
       {{Route1(".address.town"), kRequired}}},
      {"town too long",
       [](R r) { Address(r)->set_town(std::string(65, 't')); },
       {{Route1(".address.town"), "must be at most 64 bytes"}}},
      {"postcode missing",
       [](R r) { Address(r)->clear_postcode(); },
       {{Route1(".address.postcode"), kRequired}}},
      {"postcode incomplete",
       [](R r) { Address(r)->set_postcode("CB1 2A"); },
       {{Route1(".address.postcode"), kPostcodeRule}}},
      {"postcode two spaces",
       [](R r) { Address(r)->set_postcode("CB1  2AB"); },
       {{Route1(".address.postcode"), kPostcodeRule}}},
      {"postcode letters in inward digit",
       [](R r) { Address(r)->set_postcode("CB1 AAB"); },
       {{Route1(".address.postcode"), kPostcodeRule}}},
      {"postcode lower case without space", [](R r) { Address(r)->set_postcode("pe293zq"); }, {}},
      {"postcode AA9A", [](R r) { Address(r)->set_postcode("EC1A 1BB"); }, {}},
      {"postcode A9A", [](R r) { Address(r)->set_postcode("W1A 0AX"); }, {}},
      {"postcode A9", [](R r) { Address(r)->set_postcode("M1 1AE"); }, {}},
      // Safe times.
      {"safe time start negative",
       [](R r) {
         auto* window = Phone(r)->add_safe_times();
         window->set_start_minute(-1);
         window->set_end_minute(60);
       },
       {{Route0(".safe_times[0].start_minute"), "must be 0 to 1439"}}},
      {"safe time end past midnight",
       [](R r) {
         auto* window = Phone(r)->add_safe_times();
         window->set_start_minute(600);
         window->set_end_minute(1441);
       },
       {{Route0(".safe_times[0].end_minute"), "must be 1 to 1440"}}},
      {"safe time ends before it starts",
       [](R r) {
         auto* window = Phone(r)->add_safe_times();
         window->set_start_minute(600);
         window->set_end_minute(600);
       },
       {{Route0(".safe_times[0].end_minute"), "must be after start_minute"}}},
      {"safe time unknown day",
       [](R r) {
         auto* window = Phone(r)->add_safe_times();
         window->set_day(static_cast<hub::intake::v1::DayOfWeek>(8));
         window->set_start_minute(0);
         window->set_end_minute(1440);
       },
       {{Route0(".safe_times[0].day"), kUnknown}}},
      {"too many safe times",
       [](R r) {
         for (int i = 0; i < 15; ++i) {
           auto* window = Phone(r)->add_safe_times();
           window->set_end_minute(60);
         }
       },
       {{Route0(".safe_times"), "must have at most 14 windows"}}},
      // Language.
      {"language a word",
       [](R r) { V0(r)->set_language("english"); },
       {{At(".language"), kLanguageRule}}},
      {"language one letter",
       [](R r) { V0(r)->set_language("e"); },
       {{At(".language"), kLanguageRule}}},
      {"language underscore",
       [](R r) { V0(r)->set_language("en_GB"); },
       {{At(".language"), kLanguageRule}}},
      {"language empty subtag",
       [](R r) { V0(r)->set_language("en-"); },
       {{At(".language"), kLanguageRule}}},
      {"language with region", [](R r) { V0(r)->set_language("pt-BR"); }, {}},
      {"language with script", [](R r) { V0(r)->set_language("zh-Hant-TW"); }, {}},
      {"interpreter without language",
       [](R r) { V0(r)->set_interpreter_needed(true); },
       {{At(".interpreter_needed"), "requires a language other than English"}}},
      {"interpreter for English",
       [](R r) {
         V0(r)->set_language("en-GB");
         V0(r)->set_interpreter_needed(true);
       },
       {{At(".interpreter_needed"), "requires a language other than English"}}},
      {"interpreter for Romanian",
       [](R r) {
         V0(r)->set_language("ro");
         V0(r)->set_interpreter_needed(true);
       },
       {}},
      // Name.
      {"name missing",
       [](R r) { V0(r)->clear_name(); },
       {{At(".name"), "is required for individuals and bereaved relatives unless no_contact"}}},
      {"name missing with no_contact",
       [](R r) {
         V0(r)->clear_name();
         NoRoutes(r);
       },
       {}},
      {"name empty",
       [](R r) { V0(r)->mutable_name()->Clear(); },
       {{At(".name"), "at least one of given or family is required"}}},
      {"given name too long",
       [](R r) { V0(r)->mutable_name()->set_given(std::string(129, 'g')); },
       {{At(".name.given"), "must be at most 128 bytes"}}},
      {"family name with a tab",
       [](R r) { V0(r)->mutable_name()->set_family("Ex\tample"); },
       {{At(".name.family"), kCleanText}}},
      {"given name Welsh", [](R r) { V0(r)->mutable_name()->set_given("Si\xc3\xa2n"); }, {}},
      // Date of birth and age.
      {"birth on 29 February of a common year",
       [](R r) {
         V0(r)->clear_age_at_offence();
         V0(r)->mutable_date_of_birth()->set_year(1987);
         V0(r)->mutable_date_of_birth()->set_month(2);
         V0(r)->mutable_date_of_birth()->set_day(29);
       },
       {{At(".date_of_birth.day"), "must be a day that exists in the month and year"}}},
      {"birth on 29 February of a leap year",
       [](R r) {
         V0(r)->clear_age_at_offence();
         V0(r)->mutable_date_of_birth()->set_year(1988);
         V0(r)->mutable_date_of_birth()->set_month(2);
         V0(r)->mutable_date_of_birth()->set_day(29);
       },
       {}},
      {"birth on 31 April",
       [](R r) {
         V0(r)->mutable_date_of_birth()->set_month(4);
         V0(r)->mutable_date_of_birth()->set_day(31);
       },
       {{At(".date_of_birth.day"), "must be a day that exists in the month and year"}}},
      {"birth month 13",
       [](R r) { V0(r)->mutable_date_of_birth()->set_month(13); },
       {{At(".date_of_birth.month"), "must be 1 to 12"}}},
      {"birth year 1899",
       [](R r) { V0(r)->mutable_date_of_birth()->set_year(1899); },
       {{At(".date_of_birth.year"), "must be 1900 to 2100"}}},
      {"birth in the future",
       [](R r) {
         V0(r)->clear_age_at_offence();
         V0(r)->mutable_date_of_birth()->set_year(2026);
         V0(r)->mutable_date_of_birth()->set_month(12);
         V0(r)->mutable_date_of_birth()->set_day(1);
       },
       {{At(".date_of_birth"), "must not be in the future"}}},
      {"age disagrees with birth",
       [](R r) { V0(r)->set_age_at_offence(30); },
       {{At(".age_at_offence"), "must agree with date_of_birth (within a year)"}}},
      {"age a year below birth", [](R r) { V0(r)->set_age_at_offence(39); }, {}},
      {"age two years below birth",
       [](R r) { V0(r)->set_age_at_offence(38); },
       {{At(".age_at_offence"), "must agree with date_of_birth (within a year)"}}},
      // Under 18.
      {"age 17 without guardian",
       [](R r) {
         V0(r)->clear_date_of_birth();
         V0(r)->set_age_at_offence(17);
       },
       {{At(".parent_guardian"), kGuardianRequired}}},
      {"birth makes 16 without guardian",
       [](R r) {
         V0(r)->clear_age_at_offence();
         V0(r)->mutable_date_of_birth()->set_year(2010);
       },
       {{At(".parent_guardian"), kGuardianRequired}}},
      {"turns 18 the day after the report",
       [](R r) {
         V0(r)->clear_age_at_offence();
         V0(r)->mutable_date_of_birth()->set_year(2008);
         V0(r)->mutable_date_of_birth()->set_month(11);
         V0(r)->mutable_date_of_birth()->set_day(24);
       },
       {{At(".parent_guardian"), kGuardianRequired}}},
      {"turned 18 on the day of the report",
       [](R r) {
         V0(r)->clear_age_at_offence();
         V0(r)->mutable_date_of_birth()->set_year(2008);
         V0(r)->mutable_date_of_birth()->set_month(11);
         V0(r)->mutable_date_of_birth()->set_day(23);
       },
       {}},
      {"age 17 with guardian",
       [](R r) {
         V0(r)->clear_date_of_birth();
         V0(r)->set_age_at_offence(17);
         *V0(r)->mutable_parent_guardian() = Guardian();
       },
       {}},
      {"age 17 with no_contact",
       [](R r) {
         V0(r)->clear_date_of_birth();
         V0(r)->set_age_at_offence(17);
         NoRoutes(r);
       },
       {}},
      {"age 18",
       [](R r) {
         V0(r)->clear_date_of_birth();
         V0(r)->set_age_at_offence(18);
       },
       {}},
      // Representatives.
      {"guardian without name",
       [](R r) {
         *V0(r)->mutable_parent_guardian() = Guardian();
         V0(r)->mutable_parent_guardian()->clear_name();
       },
       {{At(".parent_guardian.name"), kRequired}}},
      {"guardian without role",
       [](R r) {
         *V0(r)->mutable_parent_guardian() = Guardian();
         V0(r)->mutable_parent_guardian()->clear_role();
       },
       {{At(".parent_guardian.role"), kRequired}}},
      {"guardian role too long",
       [](R r) {
         *V0(r)->mutable_parent_guardian() = Guardian();
         V0(r)->mutable_parent_guardian()->set_role(std::string(65, 'r'));
       },
       {{At(".parent_guardian.role"), "must be at most 64 bytes"}}},
      {"guardian without routes",
       [](R r) {
         *V0(r)->mutable_parent_guardian() = Guardian();
         V0(r)->mutable_parent_guardian()->clear_contact_routes();
       },
       {{At(".parent_guardian.contact_routes"), kUsableRoute}}},
      {"guardian with only unsafe routes",
       [](R r) {
         *V0(r)->mutable_parent_guardian() = Guardian();
         V0(r)->mutable_parent_guardian()->mutable_contact_routes(0)->set_safety(
             hub::intake::v1::CHANNEL_SAFETY_UNSAFE);
       },
       {{At(".parent_guardian.contact_routes"), kUsableRoute}}},
      {"guardian with a bad number",
       [](R r) {
         *V0(r)->mutable_parent_guardian() = Guardian();
         V0(r)->mutable_parent_guardian()->mutable_contact_routes(0)->set_value("999");
       },
       {{At(".parent_guardian.contact_routes[0].value"), kPhoneRule}}},
      // Victim types.
      {"bereaved without relationship",
       [](R r) { V0(r)->set_victim_type(hub::intake::v1::VICTIM_TYPE_BEREAVED_RELATIVE); },
       {{At(".bereaved_relationship"), "is required for bereaved relatives"}}},
      {"bereaved without name",
       [](R r) {
         V0(r)->set_victim_type(hub::intake::v1::VICTIM_TYPE_BEREAVED_RELATIVE);
         V0(r)->set_bereaved_relationship("mother");
         V0(r)->clear_name();
       },
       {{At(".name"), "is required for individuals and bereaved relatives unless no_contact"}}},
      {"bereaved relationship too long",
       [](R r) {
         V0(r)->set_victim_type(hub::intake::v1::VICTIM_TYPE_BEREAVED_RELATIVE);
         V0(r)->set_bereaved_relationship(std::string(65, 'm'));
       },
       {{At(".bereaved_relationship"), "must be at most 64 bytes"}}},
      {"relationship on an individual",
       [](R r) { V0(r)->set_bereaved_relationship("son"); },
       {{At(".bereaved_relationship"),
         "must be empty unless victim_type is VICTIM_TYPE_BEREAVED_RELATIVE"}}},
      {"business without name or contact",
       [](R r) {
         V0(r)->set_victim_type(hub::intake::v1::VICTIM_TYPE_BUSINESS);
         V0(r)->clear_name();
       },
       {{At(".business_name"), "is required for businesses"},
        {At(".business_contact"), "is required for businesses"}}},
      {"business with a named contact",
       [](R r) {
         V0(r)->set_victim_type(hub::intake::v1::VICTIM_TYPE_BUSINESS);
         V0(r)->clear_name();
         V0(r)->clear_date_of_birth();
         V0(r)->clear_age_at_offence();
         V0(r)->set_business_name("Example Stores Ltd");
         *V0(r)->mutable_business_contact() = Guardian();
         V0(r)->mutable_business_contact()->set_role("store manager");
       },
       {}},
      {"business name too long",
       [](R r) {
         V0(r)->set_victim_type(hub::intake::v1::VICTIM_TYPE_BUSINESS);
         V0(r)->set_business_name(std::string(129, 'b'));
         *V0(r)->mutable_business_contact() = Guardian();
       },
       {{At(".business_name"), "must be at most 128 bytes"}}},
      {"business contact without routes",
       [](R r) {
         V0(r)->set_victim_type(hub::intake::v1::VICTIM_TYPE_BUSINESS);
         V0(r)->set_business_name("Example Stores Ltd");
         *V0(r)->mutable_business_contact() = Guardian();
         V0(r)->mutable_business_contact()->clear_contact_routes();
       },
       {{At(".business_contact.contact_routes"), kUsableRoute}}},
      {"business fields on an individual",
       [](R r) {
         V0(r)->set_business_name("Example Stores Ltd");
         *V0(r)->mutable_business_contact() = Guardian();
       },
       {{At(".business_name"), "must be empty unless victim_type is VICTIM_TYPE_BUSINESS"},
        {At(".business_contact"), "must be unset unless victim_type is VICTIM_TYPE_BUSINESS"}}},
      {"victim type unknown",
       [](R r) { V0(r)->set_victim_type(static_cast<hub::intake::v1::VictimType>(9)); },
       {{At(".victim_type"), kUnknown}}},
      // Repeated enums.
      {"communication need repeated",
       [](R r) {
         V0(r)->add_communication_needs(hub::intake::v1::COMMUNICATION_NEED_BSL);
         V0(r)->add_communication_needs(hub::intake::v1::COMMUNICATION_NEED_BSL);
       },
       {{At(".communication_needs[1]"), "repeats an earlier entry"}}},
      {"too many communication needs",
       [](R r) {
         for (int i = 0; i < 9; ++i) {
           V0(r)->add_communication_needs(hub::intake::v1::COMMUNICATION_NEED_BSL);
         }
       },
       {{At(".communication_needs"), "must have at most 8 entries"}}},
      {"vulnerability marker unspecified",
       [](R r) {
         V0(r)->add_vulnerability_markers(hub::intake::v1::VULNERABILITY_MARKER_MENTAL_DISORDER);
         V0(r)->add_vulnerability_markers(hub::intake::v1::VULNERABILITY_MARKER_UNSPECIFIED);
       },
       {{At(".vulnerability_markers[1]"), "must not be the unspecified value"}}},
      {"relationship to suspect unknown",
       [](R r) {
         V0(r)->set_relationship_to_suspect(
             static_cast<hub::intake::v1::RelationshipToSuspect>(42));
       },
       {{At(".relationship_to_suspect"), kUnknown}}},
      // Consent.
      {"consent missing", [](R r) { V0(r)->clear_consent(); }, {{At(".consent"), kRequired}}},
      {"consent status missing",
       [](R r) { ConsentOf(r)->clear_status(); },
       {{At(".consent.status"), kRequired}}},
      {"consent status unknown",
       [](R r) { ConsentOf(r)->set_status(static_cast<hub::intake::v1::ConsentStatus>(9)); },
       {{At(".consent.status"), kUnknown}}},
      {"consent given without when or who",
       [](R r) {
         ConsentOf(r)->clear_recorded_at();
         ConsentOf(r)->clear_recorded_by();
       },
       {{At(".consent.recorded_at"), kUnlessNotAsked},
        {At(".consent.recorded_by"), kUnlessNotAsked}}},
      {"consent not asked",
       [](R r) {
         ConsentOf(r)->Clear();
         ConsentOf(r)->set_status(hub::intake::v1::CONSENT_STATUS_NOT_ASKED);
       },
       {}},
      {"consent declined",
       [](R r) {
         ConsentOf(r)->set_status(hub::intake::v1::CONSENT_STATUS_DECLINED);
         ConsentOf(r)->clear_scope();
       },
       {}},
      {"consent recorded in the future",
       [](R r) { *ConsentOf(r)->mutable_recorded_at() = Ts(kNow + absl::Hours(2)); },
       {{At(".consent.recorded_at"), kFuture}}},
      {"consent recorded by a name",
       [](R r) { ConsentOf(r)->set_recorded_by("PC Example"); },
       {{At(".consent.recorded_by"), "must be 1 to 64 letters, digits, '-', '_', '.' or ':'"}}},
      {"consent given without scope",
       [](R r) { ConsentOf(r)->clear_scope(); },
       {{At(".consent.scope"), "is required when status is CONSENT_STATUS_GIVEN"}}},
      {"provider ids without named scope",
       [](R r) { ConsentOf(r)->add_provider_ids("hub-care"); },
       {{At(".consent.provider_ids"),
         "must be empty unless scope is CONSENT_SCOPE_NAMED_PROVIDERS"}}},
      {"named scope without providers",
       [](R r) { ConsentOf(r)->set_scope(hub::intake::v1::CONSENT_SCOPE_NAMED_PROVIDERS); },
       {{At(".consent.provider_ids"),
         "at least one is required when scope is CONSENT_SCOPE_NAMED_PROVIDERS"}}},
      {"named scope with too many providers",
       [](R r) {
         ConsentOf(r)->set_scope(hub::intake::v1::CONSENT_SCOPE_NAMED_PROVIDERS);
         for (int i = 0; i < 21; ++i) {
           ConsentOf(r)->add_provider_ids(absl::StrCat("p", i));
         }
       },
       {{At(".consent.provider_ids"), "must have at most 20 entries"}}},
      {"named scope with bad and repeated ids",
       [](R r) {
         ConsentOf(r)->set_scope(hub::intake::v1::CONSENT_SCOPE_NAMED_PROVIDERS);
         ConsentOf(r)->add_provider_ids("Hub Care");
         ConsentOf(r)->add_provider_ids("idva-cambs");
         ConsentOf(r)->add_provider_ids("idva-cambs");
         ConsentOf(r)->add_provider_ids("");
       },
       {{At(".consent.provider_ids[0]"), "must be 1 to 64 lower-case letters, digits, '-' or '_'"},
        {At(".consent.provider_ids[2]"), "repeats an earlier entry"},
        {At(".consent.provider_ids[3]"), "must not be empty"}}},
      {"named scope with good ids",
       [](R r) {
         ConsentOf(r)->set_scope(hub::intake::v1::CONSENT_SCOPE_NAMED_PROVIDERS);
         ConsentOf(r)->add_provider_ids("idva-cambs");
         ConsentOf(r)->add_provider_ids("hub_care_2");
       },
       {}},
  };
}

TEST(ValidateCrimeReportTest, EnforcesEveryRule) {
  RunTable(GoodReport(), ReportRows(),
           [](const CrimeReport& report) { return ValidateCrimeReport(report, kNow); });
}

TEST(ValidateCrimeReportTest, ReportsEveryViolationNotJustTheFirst) {
  CrimeReport report = GoodReport();
  report.set_force_code("cambs");
  report.clear_source_event_id();
  report.set_offence_class_code("BURGLARY");
  *report.add_victims() = GoodVictim("V1");
  report.mutable_victims(1)->set_dash_score(40);
  report.mutable_victims(1)->mutable_contact_routes(0)->set_value("12");
  EXPECT_THAT(AsPairs(ValidateCrimeReport(report, kNow)),
              UnorderedElementsAreArray(Pairs{
                  {"report.force_code", kForceCodeRule},
                  {"report.source_event_id", kRequired},
                  {"report.offence_class_code", kOffenceRule},
                  {"report.victims[1].victim_ref", "repeats the victim_ref of an earlier victim"},
                  {"report.victims[1].dash_score", "must be 0 to 27"},
                  {"report.victims[1].contact_routes[0].value", kPhoneRule},
              }));
}

TEST(ValidateCrimeReportTest, KnowsTheShapesOfHomeOfficeOffenceClasses) {
  CrimeReport report = GoodReport();
  for (const char* code : {"8L", "28E", "105A", "4.4", "3.2B", "1", "19C", "37.2", "4.10"}) {
    report.set_offence_class_code(code);
    EXPECT_THAT(ValidateCrimeReport(report, kNow), IsEmpty()) << code;
  }
  for (const char* code : {"8l", "1234", "4.", ".4", "4.123", "3.2BCD", "A8", "8-L", " 8L"}) {
    report.set_offence_class_code(code);
    EXPECT_THAT(AsPairs(ValidateCrimeReport(report, kNow)),
                UnorderedElementsAreArray(Pairs{{"report.offence_class_code", kOffenceRule}}))
        << code;
  }
}

// ---- Updates.

CrimeUpdate GoodUpdate() {
  CrimeUpdate update;
  update.set_force_code("CAMBS");
  update.set_source_system("athena");
  update.set_source_event_id("upd-0001");
  update.set_crime_reference("CF-0001-26");
  *update.mutable_updated_at() = Ts(kNow - absl::Hours(1));
  update.mutable_cancellation()->set_reason(hub::intake::v1::CANCELLATION_REASON_NO_CRIME);
  return update;
}

hub::intake::v1::Milestone* Milestone(CrimeUpdate* update, hub::intake::v1::MilestoneType type) {
  auto* milestone = update->mutable_milestone();
  milestone->set_type(type);
  *milestone->mutable_decided_at() = Ts(kNow - absl::Hours(2));
  return milestone;
}

std::vector<Row<CrimeUpdate>> UpdateRows() {
  using U = CrimeUpdate*;
  using hub::intake::v1::MILESTONE_TYPE_ARREST;
  using hub::intake::v1::MILESTONE_TYPE_CHARGE;
  using hub::intake::v1::MILESTONE_TYPE_COURT_DATE_CHANGED;
  using hub::intake::v1::MILESTONE_TYPE_COURT_DATE_SET;
  using hub::intake::v1::MILESTONE_TYPE_OUTCOME;
  constexpr char kCourtRequired[] =
      "is required when type is MILESTONE_TYPE_COURT_DATE_SET or MILESTONE_TYPE_COURT_DATE_CHANGED";
  return {
      {"no change",
       [](U u) { u->clear_cancellation(); },
       {{"update.change",
         "exactly one change is required: reclassification, victim, consent, cancellation or "
         "milestone"}}},
      {"bad source fields",
       [](U u) {
         u->set_force_code("x");
         u->clear_source_system();
         u->set_source_event_id("a b");
         u->set_crime_reference("CF 1");
       },
       {{"update.force_code", kForceCodeRule},
        {"update.source_system", kRequired},
        {"update.source_event_id", "must be 1 to 128 printable characters without spaces"},
        {"update.crime_reference", kReferenceRule}}},
      {"updated_at missing",
       [](U u) { u->clear_updated_at(); },
       {{"update.updated_at", kRequired}}},
      {"updated_at in the future",
       [](U u) { *u->mutable_updated_at() = Ts(kNow + absl::Hours(1)); },
       {{"update.updated_at", kFuture}}},
      // Reclassification.
      {"reclassification good",
       [](U u) {
         u->mutable_reclassification()->set_offence_class_code("8N");
         u->mutable_reclassification()->set_cjs_offence_code("OF61102");
       },
       {}},
      {"reclassification without code",
       [](U u) { u->mutable_reclassification(); },
       {{"update.reclassification.offence_class_code", kRequired}}},
      {"reclassification bad codes",
       [](U u) {
         u->mutable_reclassification()->set_offence_class_code("GBH");
         u->mutable_reclassification()->set_cjs_offence_code("OF6110");
       },
       {{"update.reclassification.offence_class_code", kOffenceRule},
        {"update.reclassification.cjs_offence_code", kCjsRule}}},
      {"reclassification hate crime without strands",
       [](U u) {
         u->mutable_reclassification()->set_offence_class_code("8P");
         u->mutable_reclassification()->mutable_flags()->set_hate_crime(true);
       },
       {{"update.reclassification.flags.hate_crime_strands",
         "at least one strand is required when hate_crime is set"}}},
      // Victim.
      {"victim good", [](U u) { *u->mutable_victim() = GoodVictim("V2"); }, {}},
      {"victim like a report's victim",
       [](U u) {
         *u->mutable_victim() = GoodVictim("");
         u->mutable_victim()->mutable_contact_routes(0)->set_value("0");
         u->mutable_victim()->clear_consent();
       },
       {{"update.victim.victim_ref", kRequired},
        {"update.victim.contact_routes[0].value", kPhoneRule},
        {"update.victim.consent", kRequired}}},
      // Consent.
      {"consent withdrawn",
       [](U u) {
         u->mutable_consent()->set_victim_ref("V1");
         *u->mutable_consent()->mutable_consent() = GivenConsent();
         u->mutable_consent()->mutable_consent()->set_status(
             hub::intake::v1::CONSENT_STATUS_WITHDRAWN);
       },
       {}},
      {"consent change empty",
       [](U u) { u->mutable_consent(); },
       {{"update.consent.victim_ref", kRequired}, {"update.consent.consent", kRequired}}},
      {"consent change without who",
       [](U u) {
         u->mutable_consent()->set_victim_ref("V1");
         *u->mutable_consent()->mutable_consent() = GivenConsent();
         u->mutable_consent()->mutable_consent()->clear_recorded_by();
       },
       {{"update.consent.consent.recorded_by", kUnlessNotAsked}}},
      // Cancellation.
      {"cancellation without reason",
       [](U u) { u->mutable_cancellation()->clear_reason(); },
       {{"update.cancellation.reason", kRequired}}},
      {"cancellation unknown reason",
       [](U u) {
         u->mutable_cancellation()->set_reason(static_cast<hub::intake::v1::CancellationReason>(9));
       },
       {{"update.cancellation.reason", kUnknown}}},
      // Milestones.
      {"milestone arrest", [](U u) { Milestone(u, MILESTONE_TYPE_ARREST); }, {}},
      {"milestone empty",
       [](U u) { u->mutable_milestone(); },
       {{"update.milestone.type", kRequired}, {"update.milestone.decided_at", kRequired}}},
      {"milestone decided in the future",
       [](U u) {
         *Milestone(u, MILESTONE_TYPE_ARREST)->mutable_decided_at() = Ts(kNow + absl::Hours(3));
       },
       {{"update.milestone.decided_at", kFuture}}},
      {"court date set without date",
       [](U u) { Milestone(u, MILESTONE_TYPE_COURT_DATE_SET); },
       {{"update.milestone.court_date", kCourtRequired}}},
      {"court date changed without date",
       [](U u) { Milestone(u, MILESTONE_TYPE_COURT_DATE_CHANGED); },
       {{"update.milestone.court_date", kCourtRequired}}},
      {"court date in the future",
       [](U u) {
         *Milestone(u, MILESTONE_TYPE_COURT_DATE_SET)->mutable_court_date() =
             Ts(kNow + absl::Hours(24 * 90));
       },
       {}},
      {"court date invalid",
       [](U u) {
         Milestone(u, MILESTONE_TYPE_COURT_DATE_SET)->mutable_court_date()->set_nanos(2000000000);
       },
       {{"update.milestone.court_date", "must be a valid timestamp"}}},
      {"charge without urn",
       [](U u) { Milestone(u, MILESTONE_TYPE_CHARGE); },
       {{"update.milestone.urn", "is required when type is MILESTONE_TYPE_CHARGE"}}},
      {"charge with bad urn",
       [](U u) { Milestone(u, MILESTONE_TYPE_CHARGE)->set_urn("35AB123"); },
       {{"update.milestone.urn", kUrnRule}}},
      {"charge with urn",
       [](U u) { Milestone(u, MILESTONE_TYPE_CHARGE)->set_urn("35AB1234526"); },
       {}},
      {"outcome without code",
       [](U u) { Milestone(u, MILESTONE_TYPE_OUTCOME); },
       {{"update.milestone.outcome_code", "is required when type is MILESTONE_TYPE_OUTCOME"}}},
      {"outcome code 23",
       [](U u) { Milestone(u, MILESTONE_TYPE_OUTCOME)->set_outcome_code(23); },
       {{"update.milestone.outcome_code", "must be 1 to 22"}}},
      {"outcome code negative",
       [](U u) { Milestone(u, MILESTONE_TYPE_OUTCOME)->set_outcome_code(-1); },
       {{"update.milestone.outcome_code", "must be 1 to 22"}}},
      {"outcome code 22",
       [](U u) { Milestone(u, MILESTONE_TYPE_OUTCOME)->set_outcome_code(22); },
       {}},
      {"milestone victim refs",
       [](U u) {
         auto* milestone = Milestone(u, MILESTONE_TYPE_ARREST);
         milestone->add_victim_refs("V 1");
         milestone->add_victim_refs("V2");
         milestone->add_victim_refs("V2");
         milestone->add_victim_refs("");
       },
       {{"update.milestone.victim_refs[0]", kReferenceRule},
        {"update.milestone.victim_refs[2]", "repeats an earlier entry"},
        {"update.milestone.victim_refs[3]", "must not be empty"}}},
  };
}

TEST(ValidateCrimeUpdateTest, EnforcesEveryRule) {
  RunTable(GoodUpdate(), UpdateRows(),
           [](const CrimeUpdate& update) { return ValidateCrimeUpdate(update, kNow); });
}

// ---- Self-referrals.

SelfReferral GoodReferral() {
  SelfReferral referral;
  referral.set_referral_id("web-20261125-0001");
  referral.set_category(hub::intake::v1::SELF_REFERRAL_CATEGORY_VIOLENCE);
  referral.mutable_location()->set_local_authority_code("E06000031");
  *referral.mutable_victim() = GoodVictim("");
  referral.mutable_victim()->clear_consent();
  return referral;
}

std::vector<Row<SelfReferral>> ReferralRows() {
  using S = SelfReferral*;
  return {
      {"referral id missing",
       [](S s) { s->clear_referral_id(); },
       {{"referral.referral_id", kRequired}}},
      {"referral id with a control character",
       [](S s) { s->set_referral_id("web\x01"); },
       {{"referral.referral_id", "must be 1 to 128 printable characters"}}},
      {"referral id with spaces", [](S s) { s->set_referral_id("web form 1"); }, {}},
      {"category missing", [](S s) { s->clear_category(); }, {{"referral.category", kRequired}}},
      {"category unknown",
       [](S s) { s->set_category(static_cast<hub::intake::v1::SelfReferralCategory>(99)); },
       {{"referral.category", kUnknown}}},
      {"police reference without report",
       [](S s) {
         s->set_force_code("CAMBS");
         s->set_crime_reference("CF-0001-26");
       },
       {{"referral.force_code", "must be empty unless reported_to_police is set"},
        {"referral.crime_reference", "must be empty unless reported_to_police is set"}}},
      {"reported with reference",
       [](S s) {
         s->set_reported_to_police(true);
         s->set_force_code("CAMBS");
         s->set_crime_reference("CF-0001-26");
       },
       {}},
      {"reported without reference", [](S s) { s->set_reported_to_police(true); }, {}},
      {"reported with bad reference",
       [](S s) {
         s->set_reported_to_police(true);
         s->set_force_code("Cambs");
         s->set_crime_reference("CF 1");
       },
       {{"referral.force_code", kForceCodeRule}, {"referral.crime_reference", kReferenceRule}}},
      {"location missing", [](S s) { s->clear_location(); }, {{"referral.location", kRequired}}},
      {"local authority missing",
       [](S s) { s->mutable_location()->clear_local_authority_code(); },
       {{"referral.location.local_authority_code", kRequired}}},
      {"victim missing", [](S s) { s->clear_victim(); }, {{"referral.victim", kRequired}}},
      {"victim ref given", [](S s) { s->mutable_victim()->set_victim_ref("web-victim-1"); }, {}},
      {"victim ref bad",
       [](S s) { s->mutable_victim()->set_victim_ref("a b"); },
       {{"referral.victim.victim_ref", kReferenceRule}}},
      {"consent set follows the rules",
       [](S s) {
         *s->mutable_victim()->mutable_consent() = GivenConsent();
         s->mutable_victim()->mutable_consent()->clear_recorded_at();
         s->mutable_victim()->mutable_consent()->set_recorded_by("victim");
       },
       {{"referral.victim.consent.recorded_at", kUnlessNotAsked}}},
      {"consent by the victim",
       [](S s) {
         *s->mutable_victim()->mutable_consent() = GivenConsent();
         s->mutable_victim()->mutable_consent()->set_recorded_by("victim");
       },
       {}},
      {"child without guardian",
       [](S s) {
         s->mutable_victim()->clear_date_of_birth();
         s->mutable_victim()->set_age_at_offence(12);
       },
       {{"referral.victim.parent_guardian", kGuardianRequired}}},
      {"victim unreachable",
       [](S s) { s->mutable_victim()->clear_contact_routes(); },
       {{"referral.victim.contact_routes", kNoUsableRoute}}},
      {"strands without hate crime",
       [](S s) {
         s->mutable_flags()->add_hate_crime_strands(hub::intake::v1::HATE_CRIME_STRAND_DISABILITY);
       },
       {{"referral.flags.hate_crime_strands", "must be empty unless hate_crime is set"}}},
  };
}

TEST(ValidateSelfReferralTest, EnforcesEveryRule) {
  RunTable(GoodReferral(), ReferralRows(),
           [](const SelfReferral& referral) { return ValidateSelfReferral(referral, kNow); });
}

// ---- Erasure.

RequestErasureRequest GoodErasure() {
  RequestErasureRequest request;
  request.mutable_target()->set_case_id("c_0123456789abcdef01234567");
  request.set_request_reference("DPO-2026-0042");
  return request;
}

void ByIdentity(RequestErasureRequest* request) {
  auto* identity = request->mutable_target()->mutable_identity();
  identity->mutable_name()->set_given("Ada");
  identity->mutable_name()->set_family("Example");
  identity->mutable_date_of_birth()->set_year(1986);
  identity->mutable_date_of_birth()->set_month(1);
  identity->mutable_date_of_birth()->set_day(10);
}

std::vector<Row<RequestErasureRequest>> ErasureRows() {
  using E = RequestErasureRequest*;
  constexpr char kCaseIdRule[] = "must be 'c_' or 's_' followed by 24 lower-case hex digits";
  return {
      {"no target",
       [](E e) { e->clear_target(); },
       {{"target", "exactly one of case_id or identity is required"}}},
      {"empty target",
       [](E e) { e->mutable_target()->Clear(); },
       {{"target", "exactly one of case_id or identity is required"}}},
      {"self-referral case id",
       [](E e) { e->mutable_target()->set_case_id("s_0123456789abcdef01234567"); },
       {}},
      {"case id empty",
       [](E e) { e->mutable_target()->set_case_id(""); },
       {{"target.case_id", kRequired}}},
      {"case id upper-case prefix",
       [](E e) { e->mutable_target()->set_case_id("C_0123456789abcdef01234567"); },
       {{"target.case_id", kCaseIdRule}}},
      {"case id short",
       [](E e) { e->mutable_target()->set_case_id("c_0123456789abcdef0123456"); },
       {{"target.case_id", kCaseIdRule}}},
      {"case id upper-case hex",
       [](E e) { e->mutable_target()->set_case_id("c_0123456789ABCDEF01234567"); },
       {{"target.case_id", kCaseIdRule}}},
      {"identity good", [](E e) { ByIdentity(e); }, {}},
      {"identity without name",
       [](E e) {
         ByIdentity(e);
         e->mutable_target()->mutable_identity()->clear_name();
       },
       {{"target.identity.name", kRequired}}},
      {"identity with family name only",
       [](E e) {
         ByIdentity(e);
         e->mutable_target()->mutable_identity()->mutable_name()->clear_given();
       },
       {{"target.identity.name.given", kRequired}}},
      {"identity name with control character",
       [](E e) {
         ByIdentity(e);
         e->mutable_target()->mutable_identity()->mutable_name()->set_family("Ex\x7f");
       },
       {{"target.identity.name.family", kCleanText}}},
      {"identity without date of birth",
       [](E e) {
         ByIdentity(e);
         e->mutable_target()->mutable_identity()->clear_date_of_birth();
       },
       {{"target.identity.date_of_birth", kRequired}}},
      {"identity with impossible date of birth",
       [](E e) {
         ByIdentity(e);
         e->mutable_target()->mutable_identity()->mutable_date_of_birth()->set_month(2);
         e->mutable_target()->mutable_identity()->mutable_date_of_birth()->set_day(30);
       },
       {{"target.identity.date_of_birth.day", "must be a day that exists in the month and year"}}},
      {"request reference missing",
       [](E e) { e->clear_request_reference(); },
       {{"request_reference", kRequired}}},
      {"request reference too long",
       [](E e) { e->set_request_reference(std::string(65, 'r')); },
       {{"request_reference", "must be 1 to 64 printable characters"}}},
      {"request reference with newline",
       [](E e) { e->set_request_reference("DPO\n42"); },
       {{"request_reference", "must be 1 to 64 printable characters"}}},
  };
}

TEST(ValidateErasureRequestTest, EnforcesEveryRule) {
  RunTable(GoodErasure(), ErasureRows(), ValidateErasureRequest);
}

// ---- No description ever carries a value.

TEST(ValidationTest, DescriptionsNeverEchoValues) {
  // Every value below is wrong and contains "zqx", which no rule text contains.
  CrimeReport report = GoodReport();
  report.set_force_code("zqx1");
  report.set_source_system("Zqx2");
  report.set_source_event_id("zqx 3");
  report.set_crime_reference("zqx 4");
  report.set_offence_class_code("zqx5");
  report.set_cjs_offence_code("zqx6");
  report.set_urn("zqx7");
  report.mutable_location()->set_local_authority_code("zqx8");
  report.mutable_location()->set_postcode_district("zqx9");
  Victim* victim = V0(&report);
  victim->set_victim_ref("zqx 10");
  victim->set_language("zqx_11");
  victim->mutable_name()->set_given("zqx12\n" + std::string(200, 'x'));
  victim->mutable_name()->set_family("zqx13\x01");
  victim->set_bereaved_relationship("zqx14");
  victim->set_business_name("zqx15");
  Phone(&report)->set_value("zqx16");
  Letter(&report)->set_value("zqx17");
  Address(&report)->set_lines(0, "zqx18\x02");
  Address(&report)->set_town("zqx19\x03");
  Address(&report)->set_postcode("zqx20");
  auto* email = victim->add_contact_routes();
  email->set_channel(ContactRoute::CHANNEL_EMAIL);
  email->set_value("zqx21 @ nowhere");
  auto* sms = victim->add_contact_routes();
  sms->set_channel(ContactRoute::CHANNEL_SMS);
  sms->set_value("zqx22");
  victim->mutable_consent()->set_recorded_by("zqx 23");
  victim->mutable_consent()->add_provider_ids("zqx 24");
  *victim->mutable_parent_guardian() = Guardian();
  victim->mutable_parent_guardian()->set_role("zqx25\x04");

  CrimeUpdate update = GoodUpdate();
  update.set_source_event_id("zqx 26");
  auto* milestone = update.mutable_milestone();
  milestone->set_urn("zqx27");
  milestone->add_victim_refs("zqx 28");

  SelfReferral referral = GoodReferral();
  referral.set_referral_id("zqx29\x05");
  referral.set_force_code("zqx30");

  RequestErasureRequest erasure;
  erasure.mutable_target()->set_case_id("zqx31");
  erasure.set_request_reference("zqx32\x06");

  std::vector<FieldViolation> all = ValidateCrimeReport(report, kNow);
  EXPECT_GE(all.size(), 25U);
  for (const auto& more : {ValidateCrimeUpdate(update, kNow), ValidateSelfReferral(referral, kNow),
                           ValidateErasureRequest(erasure)}) {
    EXPECT_THAT(more, ::testing::Not(IsEmpty()));
    all.insert(all.end(), more.begin(), more.end());
  }
  for (const FieldViolation& violation : all) {
    EXPECT_THAT(violation.description, ::testing::Not(HasSubstr("zqx"))) << violation.field;
    EXPECT_THAT(violation.field, ::testing::Not(HasSubstr("zqx")));
  }
  EXPECT_THAT(ViolationsToStatus(all).message(), ::testing::Not(HasSubstr("zqx")));
}

TEST(ValidationTest, ViolationsToStatusListsEveryViolation) {
  EXPECT_THAT(ViolationsToStatus({}), IsOk());
  EXPECT_THAT(ViolationsToStatus({{"report.force_code", "is required"},
                                  {"report.victims", "at least one victim is required"}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "report.force_code: is required; report.victims: at least one victim "
                       "is required"));
}

// ---- The samples in deploy/samples parse and validate clean.

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::filesystem::path> JsonFiles(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

template <typename Message>
Message ParseSample(const std::filesystem::path& path) {
  Message message;
  auto status = google::protobuf::util::JsonStringToMessage(ReadFile(path), &message);
  EXPECT_TRUE(status.ok()) << path << ": " << status.ToString();
  return message;
}

const std::filesystem::path kSamples = HUB_SAMPLES_DIR;

TEST(SamplesTest, CrimeReportsParseAndValidateClean) {
  std::vector<std::filesystem::path> files = JsonFiles(kSamples);
  ASSERT_GE(files.size(), 19U);
  std::set<std::string> event_ids;
  std::set<std::string> references;
  std::set<int> victim_types;
  bool child = false;
  bool no_contact = false;
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    // The file holds the `report` of a SubmitCrimeReportRequest.
    hub::intake::v1::SubmitCrimeReportRequest request;
    *request.mutable_report() = ParseSample<CrimeReport>(path);
    const CrimeReport& report = request.report();
    EXPECT_THAT(AsPairs(ValidateCrimeReport(report, kNow)), IsEmpty());
    EXPECT_TRUE(event_ids.insert(report.source_event_id()).second) << "repeated sourceEventId";
    EXPECT_TRUE(references.insert(report.force_code() + "/" + report.crime_reference()).second)
        << "repeated crimeReference";
    EXPECT_EQ(report.source_event_id().rfind("demo-" + report.source_system() + "-", 0), 0U);
    for (const Victim& victim : report.victims()) {
      victim_types.insert(victim.victim_type() == hub::intake::v1::VICTIM_TYPE_UNSPECIFIED
                              ? hub::intake::v1::VICTIM_TYPE_INDIVIDUAL
                              : victim.victim_type());
      child = child || victim.has_parent_guardian();
      no_contact = no_contact || victim.no_contact();
    }
  }
  EXPECT_EQ(victim_types.size(), 3U) << "the samples show every victim type";
  EXPECT_TRUE(child);
  EXPECT_TRUE(no_contact);
}

TEST(SamplesTest, UpdatesParseAndValidateClean) {
  std::vector<std::filesystem::path> files = JsonFiles(kSamples / "updates");
  ASSERT_GE(files.size(), 4U);
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    EXPECT_THAT(AsPairs(ValidateCrimeUpdate(ParseSample<CrimeUpdate>(path), kNow)), IsEmpty());
  }
}

TEST(SamplesTest, SelfReferralsParseAndValidateClean) {
  std::vector<std::filesystem::path> files = JsonFiles(kSamples / "self-referrals");
  ASSERT_GE(files.size(), 2U);
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    EXPECT_THAT(AsPairs(ValidateSelfReferral(ParseSample<SelfReferral>(path), kNow)), IsEmpty());
  }
}

}  // namespace
}  // namespace hub::intake

namespace hub::intake {
namespace {

TEST(DeriveAgeAtOffenceTest, AgeComesFromTheDateOfBirthOnTheUkDayOfTheReport) {
  hub::intake::v1::Victim victim;
  victim.mutable_date_of_birth()->set_year(2009);
  victim.mutable_date_of_birth()->set_month(3);
  victim.mutable_date_of_birth()->set_day(1);
  // 28 February 2026, 23:30 UTC: still the 28th in London, the day before the 17th birthday.
  DeriveAgeAtOffence(
      &victim, absl::FromCivil(absl::CivilSecond(2026, 2, 28, 23, 30, 0), absl::UTCTimeZone()));
  ASSERT_TRUE(victim.has_age_at_offence());
  EXPECT_EQ(victim.age_at_offence(), 16u);
}

TEST(DeriveAgeAtOffenceTest, AGivenAgeAndAnImpossibleDateAreLeftAlone) {
  hub::intake::v1::Victim given;
  given.set_age_at_offence(40);
  given.mutable_date_of_birth()->set_year(2010);
  given.mutable_date_of_birth()->set_month(1);
  given.mutable_date_of_birth()->set_day(1);
  DeriveAgeAtOffence(&given, absl::FromUnixSeconds(1'780'000'000));
  EXPECT_EQ(given.age_at_offence(), 40u);

  hub::intake::v1::Victim impossible;
  impossible.mutable_date_of_birth()->set_year(2010);
  impossible.mutable_date_of_birth()->set_month(2);
  impossible.mutable_date_of_birth()->set_day(30);
  DeriveAgeAtOffence(&impossible, absl::FromUnixSeconds(1'780'000'000));
  EXPECT_FALSE(impossible.has_age_at_offence());
}

}  // namespace
}  // namespace hub::intake
