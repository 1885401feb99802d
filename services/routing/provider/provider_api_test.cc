// The provider's view of a referral (ToProviderReferral) and of a victim's contact details
// (SafeVictimContact): pure conversions, no server.
#include "services/routing/provider/provider_api.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

#include "services/common/seal/pii.h"

namespace hub::routing::provider {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Reflection;
using ::google::protobuf::util::TimeUtil;
using ::hub::intake::v1::ContactRoute;
using ::hub::intake::v1::Victim;
using ::hub::routing::v1::Referral;
using ::hub::routing::v1::ReferralRecord;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A record with every field set to something other than its default.
ReferralRecord FullRecord() {
  ReferralRecord record;
  record.set_referral_id("r-1");
  record.set_case_id("c_0123456789abcdef01234567");
  record.set_provider_key("idva-cambs");
  record.set_status(hub::routing::v1::REFERRAL_STATUS_COMPLETED);
  record.add_needs("emotional_support");
  record.add_needs("safety_planning");
  record.set_priority(hub::events::v1::PRIORITY_ENHANCED);
  record.set_enhanced(true);
  record.set_crime_category("domestic_abuse");
  *record.mutable_created_at() = TimeUtil::SecondsToTimestamp(1'760'000'000);
  *record.mutable_updated_at() = TimeUtil::SecondsToTimestamp(1'760'000'600);
  record.set_rejection_reason(hub::routing::v1::REJECTION_REASON_AT_CAPACITY);
  record.set_closure_reason(hub::routing::v1::CLOSURE_REASON_SERVICES_NO_LONGER_NEEDED);
  record.mutable_outcome()->set_feel_safer_improved(true);
  record.mutable_outcome()->set_access_services_improved(false);
  hub::routing::v1::TransitionEntry* entry = record.add_history();
  entry->set_from(hub::routing::v1::REFERRAL_STATUS_REQUESTED);
  entry->set_to(hub::routing::v1::REFERRAL_STATUS_RECEIVED);
  entry->set_by("provider:idva-cambs");
  record.set_offer_sequence(7);
  *record.mutable_respond_by() = TimeUtil::SecondsToTimestamp(1'760'086'400);
  record.set_version(5);
  record.add_enhanced_categories(hub::events::v1::ENHANCED_CATEGORY_MOST_SERIOUS_CRIME);
  record.add_enhanced_categories(hub::events::v1::ENHANCED_CATEGORY_VULNERABLE);
  record.set_age_at_offence(17);
  record.set_language("cy");
  record.set_interpreter_needed(true);
  record.add_communication_needs(hub::intake::v1::COMMUNICATION_NEED_BSL);
  record.set_local_authority_code("E07000008");
  record.set_postcode_district("CB1");
  record.set_consent_status(hub::intake::v1::CONSENT_STATUS_GIVEN);
  record.set_provider_name("Cambridgeshire IDVA service");
  record.set_reason("domestic abuse, high risk");
  record.set_force("CAMBS");
  record.set_crime_reference("CF/0001/26");
  record.set_round(2);
  record.set_replaces_referral_id("r-0");
  *record.mutable_waiting_since() = TimeUtil::SecondsToTimestamp(1'759'990'000);
  *record.mutable_offered_at() = TimeUtil::SecondsToTimestamp(1'760'000'000);
  return record;
}

bool IsSet(const google::protobuf::Message& message, const FieldDescriptor& field) {
  const Reflection& reflection = *message.GetReflection();
  return field.is_repeated() ? reflection.FieldSize(message, &field) > 0
                             : reflection.HasField(message, &field);
}

// The value of `field` in `message` as text (element i of a repeated field), for comparing
// the same field across two message types whose field numbers differ.
std::string ValueText(const google::protobuf::Message& message, const FieldDescriptor& field,
                      int i) {
  const Reflection& reflection = *message.GetReflection();
  const bool repeated = field.is_repeated();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return repeated ? reflection.GetRepeatedString(message, &field, i)
                      : reflection.GetString(message, &field);
    case FieldDescriptor::CPPTYPE_ENUM:
      return std::to_string(repeated ? reflection.GetRepeatedEnumValue(message, &field, i)
                                     : reflection.GetEnumValue(message, &field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return reflection.GetBool(message, &field) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_UINT32:
      return std::to_string(reflection.GetUInt32(message, &field));
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return (repeated ? reflection.GetRepeatedMessage(message, &field, i)
                       : reflection.GetMessage(message, &field))
          .SerializeAsString();
    default:
      return "unexpected field type";
  }
}

TEST(ToProviderReferralTest, EveryReferralFieldComesFromTheRecord) {
  const ReferralRecord record = FullRecord();
  const Referral referral = ToProviderReferral(record);

  // Every field of the provider's Referral is set from a full record and holds the value
  // of the record's field of the same name (provider_id is the record's provider_key): a
  // field added to Referral and forgotten in the conversion fails here.
  const Descriptor& descriptor = *Referral::descriptor();
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const FieldDescriptor& field = *descriptor.field(i);
    EXPECT_TRUE(IsSet(referral, field)) << "Referral." << field.name() << " is not set";
    const std::string name = field.name() == "provider_id" ? "provider_key" : field.name();
    const FieldDescriptor* source = ReferralRecord::descriptor()->FindFieldByName(name);
    ASSERT_NE(source, nullptr) << "ReferralRecord has no " << name;
    ASSERT_EQ(source->cpp_type(), field.cpp_type()) << name;
    ASSERT_EQ(source->is_repeated(), field.is_repeated()) << name;
    const int count =
        field.is_repeated() ? referral.GetReflection()->FieldSize(referral, &field) : 1;
    ASSERT_EQ(count, field.is_repeated() ? record.GetReflection()->FieldSize(record, source) : 1)
        << name;
    for (int j = 0; j < count; ++j) {
      EXPECT_EQ(ValueText(referral, field, j), ValueText(record, *source, j))
          << "Referral." << field.name() << "[" << j << "]";
    }
  }

  EXPECT_EQ(referral.referral_id(), "r-1");
  EXPECT_EQ(referral.case_id(), "c_0123456789abcdef01234567");
  EXPECT_EQ(referral.provider_id(), "idva-cambs");
  EXPECT_EQ(referral.status(), hub::routing::v1::REFERRAL_STATUS_COMPLETED);
  EXPECT_THAT(referral.needs(), ElementsAre("emotional_support", "safety_planning"));
  EXPECT_EQ(referral.priority(), hub::events::v1::PRIORITY_ENHANCED);
  EXPECT_TRUE(referral.enhanced());
  EXPECT_THAT(referral.enhanced_categories(),
              ElementsAre(hub::events::v1::ENHANCED_CATEGORY_MOST_SERIOUS_CRIME,
                          hub::events::v1::ENHANCED_CATEGORY_VULNERABLE));
  EXPECT_EQ(referral.crime_category(), "domestic_abuse");
  EXPECT_TRUE(referral.has_age_at_offence());
  EXPECT_EQ(referral.age_at_offence(), 17U);
  EXPECT_EQ(referral.language(), "cy");
  EXPECT_TRUE(referral.interpreter_needed());
  EXPECT_THAT(referral.communication_needs(), ElementsAre(hub::intake::v1::COMMUNICATION_NEED_BSL));
  EXPECT_EQ(referral.local_authority_code(), "E07000008");
  EXPECT_EQ(referral.postcode_district(), "CB1");
  EXPECT_EQ(referral.consent_status(), hub::intake::v1::CONSENT_STATUS_GIVEN);
  EXPECT_TRUE(referral.created_at() == record.created_at());
  EXPECT_TRUE(referral.updated_at() == record.updated_at());
  EXPECT_EQ(referral.rejection_reason(), hub::routing::v1::REJECTION_REASON_AT_CAPACITY);
  EXPECT_EQ(referral.closure_reason(), hub::routing::v1::CLOSURE_REASON_SERVICES_NO_LONGER_NEEDED);
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(referral.outcome(), record.outcome()));
}

TEST(ToProviderReferralTest, UnsetOptionalsStayUnset) {
  ReferralRecord record;
  record.set_referral_id("r-2");
  record.set_age_at_offence(0);
  Referral referral = ToProviderReferral(record);
  // An age of 0 is an age (a baby), not "unknown".
  EXPECT_TRUE(referral.has_age_at_offence());
  record.clear_age_at_offence();
  referral = ToProviderReferral(record);
  EXPECT_FALSE(referral.has_age_at_offence());
  EXPECT_FALSE(referral.has_outcome());
  EXPECT_FALSE(referral.has_created_at());
}

ContactRoute Route(ContactRoute::Channel channel, hub::intake::v1::ChannelSafety safety,
                   const std::string& value) {
  ContactRoute route;
  route.set_channel(channel);
  route.set_safety(safety);
  if (channel == ContactRoute::CHANNEL_LETTER) {
    route.mutable_address()->add_lines(value);
    route.mutable_address()->set_postcode("CB1 2AB");
  } else {
    route.set_value(value);
  }
  return route;
}

TEST(SafeVictimContactTest, OnlySafeRoutesAndTheKindsGiven) {
  Victim victim;
  victim.set_victim_ref("V1");
  victim.mutable_name()->set_given("Alex");
  victim.mutable_name()->set_family("Smith");
  *victim.add_contact_routes() =
      Route(ContactRoute::CHANNEL_PHONE, hub::intake::v1::CHANNEL_SAFETY_UNSAFE, "01223 000000");
  *victim.add_contact_routes() =
      Route(ContactRoute::CHANNEL_EMAIL, hub::intake::v1::CHANNEL_SAFETY_SAFE, "a@example.org");
  *victim.add_contact_routes() =
      Route(ContactRoute::CHANNEL_LETTER, hub::intake::v1::CHANNEL_SAFETY_UNSPECIFIED, "1 High St");
  victim.set_suspect_shares_address(true);
  victim.set_dash_score(18);
  victim.mutable_date_of_birth()->set_year(1990);

  std::vector<std::string> disclosed;
  hub::routing::v1::VictimContact contact = SafeVictimContact("r-1", victim, &disclosed);

  EXPECT_EQ(contact.referral_id(), "r-1");
  EXPECT_EQ(contact.name().given(), "Alex");
  ASSERT_EQ(contact.contact_routes_size(), 1);
  EXPECT_EQ(contact.contact_routes(0).value(), "a@example.org");
  EXPECT_TRUE(contact.suspect_shares_address());
  EXPECT_FALSE(contact.has_parent_guardian());
  EXPECT_FALSE(contact.has_business_contact());
  EXPECT_THAT(disclosed, ElementsAre("email", "name"));
}

TEST(SafeVictimContactTest, RepresentativesKeepOnlySafeRoutes) {
  Victim victim;
  victim.set_age_at_offence(12);
  hub::intake::v1::Representative* parent = victim.mutable_parent_guardian();
  parent->mutable_name()->set_given("Sam");
  parent->set_role("mother");
  *parent->add_contact_routes() =
      Route(ContactRoute::CHANNEL_SMS, hub::intake::v1::CHANNEL_SAFETY_SAFE, "07700 900000");
  *parent->add_contact_routes() =
      Route(ContactRoute::CHANNEL_LETTER, hub::intake::v1::CHANNEL_SAFETY_UNSAFE, "2 Low Rd");

  std::vector<std::string> disclosed;
  hub::routing::v1::VictimContact contact = SafeVictimContact("r-2", victim, &disclosed);

  ASSERT_TRUE(contact.has_parent_guardian());
  EXPECT_EQ(contact.parent_guardian().role(), "mother");
  ASSERT_EQ(contact.parent_guardian().contact_routes_size(), 1);
  EXPECT_EQ(contact.parent_guardian().contact_routes(0).channel(), ContactRoute::CHANNEL_SMS);
  EXPECT_FALSE(contact.has_name());
  EXPECT_THAT(contact.contact_routes(), IsEmpty());
  EXPECT_THAT(disclosed, ElementsAre("parent_guardian", "phone"));
}

TEST(SafeVictimContactTest, BusinessContact) {
  Victim victim;
  victim.set_victim_type(hub::intake::v1::VICTIM_TYPE_BUSINESS);
  victim.set_business_name("Corner Shop Ltd");
  hub::intake::v1::Representative* contact_person = victim.mutable_business_contact();
  contact_person->mutable_name()->set_family("Jones");
  contact_person->set_role("manager");
  *contact_person->add_contact_routes() =
      Route(ContactRoute::CHANNEL_PHONE, hub::intake::v1::CHANNEL_SAFETY_SAFE, "01223 111111");

  std::vector<std::string> disclosed;
  hub::routing::v1::VictimContact contact = SafeVictimContact("r-3", victim, &disclosed);

  EXPECT_EQ(contact.business_name(), "Corner Shop Ltd");
  ASSERT_TRUE(contact.has_business_contact());
  EXPECT_EQ(contact.business_contact().contact_routes_size(), 1);
  EXPECT_THAT(disclosed, ElementsAre("business_contact", "phone"));
}

TEST(SafeVictimContactTest, NothingSafeGivesNothing) {
  Victim victim;
  *victim.add_contact_routes() =
      Route(ContactRoute::CHANNEL_PHONE, hub::intake::v1::CHANNEL_SAFETY_UNSAFE, "01223 000000");
  hub::intake::v1::Representative* parent = victim.mutable_parent_guardian();
  *parent->add_contact_routes() =
      Route(ContactRoute::CHANNEL_EMAIL, hub::intake::v1::CHANNEL_SAFETY_UNSPECIFIED, "p@x.org");

  std::vector<std::string> disclosed;
  hub::routing::v1::VictimContact contact = SafeVictimContact("r-4", victim, &disclosed);

  EXPECT_FALSE(seal::ContainsPii(contact));
  EXPECT_THAT(disclosed, IsEmpty());
}

}  // namespace
}  // namespace hub::routing::provider
