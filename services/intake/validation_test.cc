#include "services/intake/validation.h"

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"

namespace hub::intake {
namespace {

using ::hub::intake::v1::ContactRoute;
using ::hub::intake::v1::CrimeReport;
using ::hub::testing::StatusIs;
using ::testing::AllOf;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

const absl::Time kNow = absl::FromUnixSeconds(1764064800);  // 2025-11-25T10:00:00Z

CrimeReport GoodReport() {
  CrimeReport report;
  report.set_force_code("CAMBS");
  report.set_source_system("athena");
  report.set_source_event_id("evt-1");
  report.set_crime_reference("CF/0001/25");
  *report.mutable_reported_at() =
      google::protobuf::util::TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(kNow) - 3600);
  report.set_offence_class_code("28E");
  report.set_local_authority_code("E07000008");
  auto* victim = report.add_victims();
  victim->set_victim_ref("V1");
  victim->set_age_at_offence(81);
  victim->set_consent(hub::intake::v1::CONSENT_STATUS_NOT_ASKED);
  auto* route = victim->add_contact_routes();
  route->set_channel(ContactRoute::CHANNEL_LETTER);
  route->set_safe(true);
  return report;
}

auto Violation(const std::string& field, const std::string& why) {
  return AllOf(Field(&FieldViolation::field, field),
               Field(&FieldViolation::description, HasSubstr(why)));
}

TEST(ValidateCrimeReportTest, AcceptsAGoodReport) {
  EXPECT_THAT(ValidateCrimeReport(GoodReport(), kNow), IsEmpty());
}

TEST(ValidateCrimeReportTest, ReportsEveryBadFieldByPath) {
  CrimeReport report = GoodReport();
  report.set_force_code("cambs");
  report.clear_source_event_id();
  *report.mutable_reported_at() =
      google::protobuf::util::TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(kNow) + 86400);
  report.set_offence_class_code("BURGLARY");
  report.set_local_authority_code("Cambridge");
  auto* second = report.add_victims();
  second->set_victim_ref("V1");
  second->set_age_at_offence(130);
  second->set_dash_score(40);
  EXPECT_THAT(
      ValidateCrimeReport(report, kNow),
      UnorderedElementsAre(Violation("report.force_code", "upper-case"),
                           Violation("report.source_event_id", "is required"),
                           Violation("report.reported_at", "in the future"),
                           Violation("report.offence_class_code", "Home Office offence class code"),
                           Violation("report.local_authority_code", "ONS local authority code"),
                           Violation("report.victims[1].victim_ref", "repeats"),
                           Violation("report.victims[1].age_at_offence", "0-120"),
                           Violation("report.victims[1].dash_score", "0-27"),
                           Violation("report.victims[1].consent", "is required"),
                           Violation("report.victims[1].contact_routes", "or set no_contact")));
}

TEST(ValidateCrimeReportTest, KnowsTheShapesOfHomeOfficeOffenceClasses) {
  CrimeReport report = GoodReport();
  for (const char* code : {"8L", "28E", "105A", "4.4", "3.2B", "1", "19C"}) {
    report.set_offence_class_code(code);
    EXPECT_THAT(ValidateCrimeReport(report, kNow), IsEmpty()) << code;
  }
  for (const char* code : {"L8", "1234", "4.", "4.123", ".4", "8LLL", "8l", "4-4"}) {
    report.set_offence_class_code(code);
    EXPECT_THAT(ValidateCrimeReport(report, kNow),
                UnorderedElementsAre(Violation("report.offence_class_code", "Home Office")))
        << code;
  }
}

TEST(ValidateCrimeReportTest, RequiresAVictimAndATimestamp) {
  CrimeReport report = GoodReport();
  report.clear_victims();
  report.clear_reported_at();
  EXPECT_THAT(ValidateCrimeReport(report, kNow),
              UnorderedElementsAre(Violation("report.victims", "at least one"),
                                   Violation("report.reported_at", "is required")));
}

TEST(ValidateCrimeReportTest, NoContactIsAnExplicitChoice) {
  CrimeReport report = GoodReport();
  report.mutable_victims(0)->clear_contact_routes();
  report.mutable_victims(0)->set_no_contact(true);
  EXPECT_THAT(ValidateCrimeReport(report, kNow), IsEmpty());
  report.mutable_victims(0)->add_contact_routes()->set_channel(ContactRoute::CHANNEL_SMS);
  EXPECT_THAT(ValidateCrimeReport(report, kNow),
              UnorderedElementsAre(Violation("report.victims[0].no_contact", "is set but")));
}

TEST(ViolationsToStatusTest, ListsEveryViolationWithoutValues) {
  CrimeReport report = GoodReport();
  report.set_crime_reference("SECRET NAME");
  EXPECT_THAT(ViolationsToStatus(ValidateCrimeReport(report, kNow)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("report.crime_reference: must be"),
                             ::testing::Not(HasSubstr("SECRET")))));
}

}  // namespace
}  // namespace hub::intake
