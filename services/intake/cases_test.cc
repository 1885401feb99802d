#include "services/intake/cases.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/casestate/case_store.h"
#include "services/common/status/status_matchers.h"

namespace hub::intake {
namespace {

using ::hub::testing::IsOk;

hub::intake::v1::CrimeReport TwoVictimReport() {
  hub::intake::v1::CrimeReport report;
  report.set_force_code("CAMBS");
  report.set_crime_reference("CF/0002/25");
  report.set_offence_class_code("34B");
  report.add_victims()->set_victim_ref("V1");
  report.add_victims()->set_victim_ref("V2");
  return report;
}

TEST(CaseIdTest, IsStableOpaqueAndPerVictim) {
  std::string id = CaseIdFor("CAMBS", "CF/0002/25", "V1");
  EXPECT_EQ(id, CaseIdFor("CAMBS", "CF/0002/25", "V1"));
  EXPECT_NE(id, CaseIdFor("CAMBS", "CF/0002/25", "V2"));
  // Crime references are unique only within a force.
  EXPECT_NE(id, CaseIdFor("NORFOLK", "CF/0002/25", "V1"));
  EXPECT_THAT(casestate::ValidateCaseId(id), IsOk());
}

TEST(SplitIntoCasesTest, OneCasePerVictimEachWithOnlyItsVictim) {
  std::vector<hub::events::v1::CrimeReported> cases =
      SplitIntoCases(TwoVictimReport(), absl::FromUnixSeconds(100), "police:CAMBS:athena");
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].case_id(), CaseIdFor("CAMBS", "CF/0002/25", "V1"));
  EXPECT_EQ(cases[1].case_id(), CaseIdFor("CAMBS", "CF/0002/25", "V2"));
  ASSERT_EQ(cases[1].report().victims_size(), 1);
  EXPECT_EQ(cases[1].report().victims(0).victim_ref(), "V2");
  EXPECT_EQ(cases[1].report().offence_class_code(), "34B");
  EXPECT_EQ(cases[0].submitted_by(), "police:CAMBS:athena");
  EXPECT_EQ(cases[0].received_at().seconds(), 100);
}

TEST(ContentDigestTest, EqualReportsHashEqualAndChangesShow) {
  hub::intake::v1::CrimeReport report = TwoVictimReport();
  hub::intake::v1::CrimeReport copy = report;
  EXPECT_EQ(ContentDigest(report), ContentDigest(copy));
  copy.set_offence_class_code("34A");
  EXPECT_NE(ContentDigest(report), ContentDigest(copy));
}

}  // namespace
}  // namespace hub::intake
