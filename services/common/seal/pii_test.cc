#include "services/common/seal/pii.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

#include "hub/intake/v1/intake.pb.h"
#include "services/common/status/status_matchers.h"

namespace hub::seal {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::hub::intake::v1::ContactRoute;
using ::hub::intake::v1::CrimeReport;
using ::hub::intake::v1::Victim;
using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCase[] = "c_000000000000000000000001";

// Strings planted in the report that must never appear in the clear part.
constexpr const char* kPlanted[] = {
    "Wilhelmina",         "Featherstonehaugh", "07700900461", "CB4 9ZZ",
    "Ermintrude",         "Quackenbush",       "Zebedee",     "Throckmorton",
    "alfred@example.org", "14 Larkspur Close", "Histon",      "PE27 9QQ",
    "07700900999",        "Brackenbury",
};

void AddPhone(ContactRoute* route, const std::string& number) {
  route->set_channel(ContactRoute::CHANNEL_PHONE);
  route->set_safety(hub::intake::v1::CHANNEL_SAFETY_SAFE);
  route->set_value(number);
  route->set_voicemail_ok(true);
  route->add_safe_times()->set_start_minute(540);
}

void AddLetter(ContactRoute* route, const std::string& line, const std::string& town,
               const std::string& postcode) {
  route->set_channel(ContactRoute::CHANNEL_LETTER);
  route->set_safety(hub::intake::v1::CHANNEL_SAFETY_UNSAFE);
  route->mutable_address()->add_lines(line);
  route->mutable_address()->set_town(town);
  route->mutable_address()->set_postcode(postcode);
}

CrimeReport Report() {
  CrimeReport report;
  report.set_force_code("CAMBS");
  report.set_source_system("athena");
  report.set_source_event_id("evt-1");
  report.set_crime_reference("CR/1/26");
  report.set_offence_class_code("8L");
  report.mutable_reported_at()->set_seconds(1767225600);
  report.mutable_location()->set_local_authority_code("E07000008");
  report.mutable_flags()->set_domestic_abuse(true);

  Victim* child = report.add_victims();
  child->set_victim_ref("V1");
  child->set_age_at_offence(15);
  child->mutable_name()->set_given("Wilhelmina");
  child->mutable_name()->set_family("Featherstonehaugh");
  child->mutable_date_of_birth()->set_year(2010);
  child->mutable_date_of_birth()->set_month(6);
  child->mutable_date_of_birth()->set_day(3);
  AddPhone(child->add_contact_routes(), "07700900461");
  AddLetter(child->add_contact_routes(), "14 Larkspur Close", "Histon", "CB4 9ZZ");
  child->mutable_parent_guardian()->mutable_name()->set_given("Ermintrude");
  child->mutable_parent_guardian()->mutable_name()->set_family("Quackenbush");
  child->mutable_parent_guardian()->set_role("mother");
  AddPhone(child->mutable_parent_guardian()->add_contact_routes(), "07700900999");
  child->mutable_consent()->set_status(hub::intake::v1::CONSENT_STATUS_GIVEN);

  Victim* business = report.add_victims();
  business->set_victim_ref("V2");
  business->set_victim_type(hub::intake::v1::VICTIM_TYPE_BUSINESS);
  business->set_business_name("Corner Shop Ltd");
  business->mutable_name()->set_given("Zebedee");
  business->mutable_name()->set_family("Throckmorton");
  business->mutable_date_of_birth()->set_year(1970);
  business->mutable_date_of_birth()->set_month(1);
  business->mutable_date_of_birth()->set_day(1);
  ContactRoute* email = business->add_contact_routes();
  email->set_channel(ContactRoute::CHANNEL_EMAIL);
  email->set_safety(hub::intake::v1::CHANNEL_SAFETY_SAFE);
  email->set_value("alfred@example.org");
  business->mutable_business_contact()->mutable_name()->set_family("Brackenbury");
  business->mutable_business_contact()->set_role("manager");
  AddLetter(business->mutable_business_contact()->add_contact_routes(), "1 High Street", "St Ives",
            "PE27 9QQ");
  return report;
}

TEST(PiiTest, MarkedFieldsAreRecognised) {
  const auto* victim = Victim::descriptor();
  EXPECT_TRUE(IsPiiField(*victim->FindFieldByName("name")));
  EXPECT_TRUE(IsPiiField(*victim->FindFieldByName("date_of_birth")));
  EXPECT_FALSE(IsPiiField(*victim->FindFieldByName("victim_ref")));
  EXPECT_FALSE(IsPiiField(*victim->FindFieldByName("contact_routes")));
}

TEST(PiiTest, ExtractLeavesNoPiiInTheClearPart) {
  const CrimeReport original = Report();
  CrimeReport clear = original;
  ASSERT_TRUE(ContainsPii(clear));
  std::unique_ptr<google::protobuf::Message> pii = ExtractPii(&clear);
  ASSERT_NE(pii, nullptr);
  EXPECT_FALSE(ContainsPii(clear));
  EXPECT_TRUE(ContainsPii(*pii));

  // Everything unmarked stays.
  EXPECT_EQ(clear.force_code(), "CAMBS");
  EXPECT_EQ(clear.crime_reference(), "CR/1/26");
  EXPECT_TRUE(clear.flags().domestic_abuse());
  ASSERT_EQ(clear.victims_size(), 2);
  const Victim& child = clear.victims(0);
  EXPECT_EQ(child.victim_ref(), "V1");
  EXPECT_EQ(child.age_at_offence(), 15u);
  EXPECT_FALSE(child.has_name());
  EXPECT_FALSE(child.has_date_of_birth());
  ASSERT_EQ(child.contact_routes_size(), 2);
  EXPECT_EQ(child.contact_routes(0).channel(), ContactRoute::CHANNEL_PHONE);
  EXPECT_EQ(child.contact_routes(0).safety(), hub::intake::v1::CHANNEL_SAFETY_SAFE);
  EXPECT_TRUE(child.contact_routes(0).voicemail_ok());
  EXPECT_EQ(child.contact_routes(0).safe_times_size(), 1);
  EXPECT_EQ(child.contact_routes(0).value(), "");
  EXPECT_EQ(child.contact_routes(1).channel(), ContactRoute::CHANNEL_LETTER);
  EXPECT_EQ(child.contact_routes(1).safety(), hub::intake::v1::CHANNEL_SAFETY_UNSAFE);
  EXPECT_FALSE(child.contact_routes(1).has_address());
  EXPECT_EQ(child.parent_guardian().role(), "mother");
  EXPECT_EQ(child.parent_guardian().contact_routes_size(), 1);
  EXPECT_EQ(child.consent().status(), hub::intake::v1::CONSENT_STATUS_GIVEN);
  EXPECT_EQ(clear.victims(1).business_name(), "Corner Shop Ltd");
  EXPECT_EQ(clear.victims(1).business_contact().role(), "manager");

  // The pii part zips with it: the same element counts, and only marked fields.
  const auto& pii_report = dynamic_cast<const CrimeReport&>(*pii);
  EXPECT_EQ(pii_report.force_code(), "");
  ASSERT_EQ(pii_report.victims_size(), 2);
  EXPECT_EQ(pii_report.victims(0).victim_ref(), "");
  EXPECT_EQ(pii_report.victims(0).name().given(), "Wilhelmina");
  EXPECT_EQ(pii_report.victims(0).contact_routes_size(), 2);
  EXPECT_EQ(pii_report.victims(0).contact_routes(0).value(), "07700900461");
  EXPECT_EQ(pii_report.victims(0).contact_routes(0).channel(), ContactRoute::CHANNEL_UNSPECIFIED);
  EXPECT_EQ(pii_report.victims(0).contact_routes(1).address().postcode(), "CB4 9ZZ");

  std::string clear_bytes;
  ASSERT_TRUE(clear.SerializeToString(&clear_bytes));
  for (const char* planted : kPlanted) {
    EXPECT_THAT(clear_bytes, Not(HasSubstr(planted)));
  }

  ASSERT_THAT(RestorePii(*pii, &clear), IsOk());
  EXPECT_TRUE(MessageDifferencer::Equals(clear, original)) << clear.DebugString();
}

TEST(PiiTest, NothingToExtract) {
  CrimeReport report;
  report.set_force_code("CAMBS");
  report.add_victims()->set_victim_ref("V1");
  const CrimeReport original = report;
  EXPECT_FALSE(ContainsPii(report));
  EXPECT_EQ(ExtractPii(&report), nullptr);
  EXPECT_TRUE(MessageDifferencer::Equals(report, original));
}

TEST(PiiTest, RestoreRefusesShapesThatDoNotLineUp) {
  CrimeReport clear = Report();
  std::unique_ptr<google::protobuf::Message> pii = ExtractPii(&clear);
  ASSERT_NE(pii, nullptr);
  const CrimeReport untouched = clear;

  Victim wrong_type;
  EXPECT_THAT(RestorePii(wrong_type, &clear), StatusIs(absl::StatusCode::kInvalidArgument));

  CrimeReport fewer_victims = dynamic_cast<const CrimeReport&>(*pii);
  fewer_victims.mutable_victims()->RemoveLast();
  EXPECT_THAT(RestorePii(fewer_victims, &clear),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("victims")));

  CrimeReport fewer_routes = dynamic_cast<const CrimeReport&>(*pii);
  fewer_routes.mutable_victims(0)->mutable_contact_routes()->RemoveLast();
  EXPECT_THAT(RestorePii(fewer_routes, &clear),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("victims[0].contact_routes")));

  CrimeReport unmarked = dynamic_cast<const CrimeReport&>(*pii);
  unmarked.set_force_code("XX");
  EXPECT_THAT(RestorePii(unmarked, &clear),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("force_code")));

  // A failed restore leaves the clear part as it was.
  EXPECT_TRUE(MessageDifferencer::Equals(clear, untouched));
}

TEST(PiiTest, SealPiiAndOpenPiiRoundTrip) {
  ASSERT_OK_AND_ASSIGN(DataKey key, NewDataKey("vk_0123456789abcdef0123456789abcdef"));
  const CrimeReport original = Report();
  Victim victim = original.victims(0);
  const Victim original_victim = victim;
  ASSERT_OK_AND_ASSIGN(std::optional<hub::seal::v1::SealedData> sealed,
                       SealPii(key, &victim, kCase));
  ASSERT_TRUE(sealed.has_value());
  EXPECT_FALSE(ContainsPii(victim));
  EXPECT_THAT(sealed->ciphertext(), Not(HasSubstr("Wilhelmina")));

  Victim wrong_case = victim;
  EXPECT_THAT(OpenPii(key, *sealed, "c_000000000000000000000002", &wrong_case),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_FALSE(ContainsPii(wrong_case));

  ASSERT_THAT(OpenPii(key, *sealed, kCase, &victim), IsOk());
  EXPECT_TRUE(MessageDifferencer::Equals(victim, original_victim));

  Victim no_pii;
  no_pii.set_victim_ref("V9");
  ASSERT_OK_AND_ASSIGN(std::optional<hub::seal::v1::SealedData> nothing,
                       SealPii(key, &no_pii, kCase));
  EXPECT_FALSE(nothing.has_value());
}

TEST(PiiTest, PiiInsideAOneofMessage) {
  hub::intake::v1::ErasureTarget target;
  target.mutable_identity()->mutable_name()->set_family("Doe");
  target.mutable_identity()->mutable_date_of_birth()->set_year(1990);
  const hub::intake::v1::ErasureTarget original = target;
  std::unique_ptr<google::protobuf::Message> pii = ExtractPii(&target);
  ASSERT_NE(pii, nullptr);
  EXPECT_FALSE(ContainsPii(target));
  EXPECT_TRUE(target.has_identity());
  ASSERT_THAT(RestorePii(*pii, &target), IsOk());
  EXPECT_TRUE(MessageDifferencer::Equals(target, original));
}

}  // namespace
}  // namespace hub::seal
