#include "services/hubctl/hubctl.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hub::hubctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(HubctlTest, UsageErrorsExitTwo) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(hub::hubctl::Run({}, out, err), 2);
  EXPECT_THAT(err.str(), HasSubstr("usage:"));
  EXPECT_EQ(hub::hubctl::Run({"frobnicate"}, out, err), 2);
  EXPECT_THAT(err.str(), HasSubstr("unknown command 'frobnicate'"));
  EXPECT_EQ(hub::hubctl::Run({"submit"}, out, err), 2);
  EXPECT_EQ(hub::hubctl::Run({"clock", "freeze", "2026-01-01T00:00:00Z"}, out, err), 2);
}

TEST(HubctlTest, TopicsListShowsEveryTopicOfTheNamespace) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(hub::hubctl::Run({"topics", "list", "--namespace", "t9"}, out, err), 0);
  EXPECT_THAT(out.str(), HasSubstr("t9.intake.crime-reported.v1  partitions=6"));
  EXPECT_THAT(out.str(), HasSubstr("t9.deadletter.v1"));
}

TEST(HubctlTest, ClockCommandsWriteWhatServicesRead) {
  std::string path = absl::StrCat(::testing::TempDir(), "/hubctl-clock-", getpid());
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(hub::hubctl::Run({"clock", "freeze", "2026-12-24T09:00:00Z", "--file", path}, out, err),
            0)
      << err.str();
  std::ostringstream shown;
  EXPECT_EQ(hub::hubctl::Run({"clock", "show", "--file", path}, shown, err), 0);
  EXPECT_EQ(shown.str(), "2026-12-24T09:00:00Z\n");
  EXPECT_EQ(hub::hubctl::Run({"clock", "offset", "soon", "--file", path}, out, err), 2);
  EXPECT_THAT(err.str(), HasSubstr("not a duration"));
}

TEST(HubctlTest, SubmitReportsUnreadableAndMalformedFiles) {
  std::string path = absl::StrCat(::testing::TempDir(), "/hubctl-bad-", getpid(), ".json");
  { std::ofstream(path) << "{\"forceCode\": 12, \"nope\": true}"; }
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(
      hub::hubctl::Run({"submit", "--intake", "127.0.0.1:1", path, "/nonexistent.json"}, out, err),
      1);
  EXPECT_THAT(err.str(), HasSubstr("not a hub.intake.v1.CrimeReport in JSON"));
  EXPECT_THAT(err.str(), HasSubstr("/nonexistent.json: cannot read the file"));
}

TEST(HubctlTest, SubmitReadsTheReportFromStdinForDash) {
  std::istringstream in("{\"forceCode\": [1]}");
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(hub::hubctl::Run({"submit", "--intake", "127.0.0.1:1", "-"}, in, out, err), 1);
  EXPECT_THAT(err.str(), HasSubstr("-: not a hub.intake.v1.CrimeReport in JSON"));
}

std::string Sample(const std::string& name) {
  return absl::StrCat(HUB_SOURCE_DIR, "/deploy/samples/", name);
}

TEST(HubctlTriageTest, ExplainPrintsTheDecisionWithEveryRuleAndPublishesNothing) {
  std::ostringstream out;
  std::ostringstream err;
  ASSERT_EQ(hub::hubctl::Run({"triage", "--explain", Sample("02-domestic-abuse-high-risk.json"),
                              "--at", "2026-11-25T12:00:00Z"},
                             out, err),
            0)
      << err.str();
  EXPECT_THAT(out.str(), HasSubstr("priority:          immediate"));
  EXPECT_THAT(out.str(), HasSubstr("MARAC / IDVA:      yes / yes"));
  EXPECT_THAT(out.str(), HasSubstr("risk.dash_high: DASH risk score"));
  EXPECT_THAT(out.str(), HasSubstr("enhanced.most_serious.flag: "));
  EXPECT_THAT(out.str(), HasSubstr("rules: triage "));
  EXPECT_THAT(out.str(), HasSubstr("Nothing was published."));
  EXPECT_THAT(out.str(), Not(HasSubstr("{")));
}

TEST(HubctlTriageTest, ExplainAsJsonGivesTheAssessmentWithoutTheCrime) {
  std::ostringstream out;
  std::ostringstream err;
  ASSERT_EQ(hub::hubctl::Run({"triage", "--explain", Sample("06-burglary-elderly-victim.json"),
                              "--at", "2026-11-25T12:00:00Z", "--json"},
                             out, err),
            0)
      << err.str();
  EXPECT_THAT(out.str(), HasSubstr("\"referralDecision\": \"REFERRAL_DECISION_REFER\""));
  EXPECT_THAT(out.str(), HasSubstr("\"crimeCategory\": \"burglary_residential\""));
  EXPECT_THAT(out.str(), Not(HasSubstr("\"crime\":")));
}

TEST(HubctlTriageTest, ExplainRefusesAReportIntakeWouldRefuse) {
  std::istringstream in("{\"forceCode\": \"CAMBS\"}");
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(hub::hubctl::Run({"triage", "--explain", "-"}, in, out, err), 1);
  EXPECT_THAT(err.str(), HasSubstr("intake would refuse this report"));
  EXPECT_THAT(err.str(), HasSubstr("report.crime_reference"));
}

TEST(HubctlTriageTest, ExplainRefusesABrokenRuleFileNamingTheRule) {
  std::string path = absl::StrCat(::testing::TempDir(), "/hubctl-rules-", getpid(), ".yaml");
  {
    std::ifstream shipped(absl::StrCat(HUB_SOURCE_DIR, "/deploy/rules/triage-rules.yaml"));
    std::stringstream text;
    text << shipped.rdbuf();
    std::string yaml = text.str();
    const std::string from = "threshold: 14";
    yaml.replace(yaml.find(from), from.size(), "threshold: fourteen");
    std::ofstream(path) << yaml;
  }
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(hub::hubctl::Run(
                {"triage", "--explain", Sample("01-violence-with-injury.json"), "--rules", path},
                out, err),
            1);
  EXPECT_THAT(err.str(), HasSubstr("rules.risk.dash_high.threshold: must be a whole number"));
}

TEST(HubctlTriageTest, ReassessNeedsAKnownReason) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(hub::hubctl::Run({"triage", "reassess", "c_000000000000000000000001", "--reason",
                              "because", "--triage", "127.0.0.1:1"},
                             out, err),
            2);
  EXPECT_THAT(err.str(), HasSubstr("--reason must be"));
  EXPECT_EQ(hub::hubctl::Run({"triage"}, out, err), 2);
}

}  // namespace
}  // namespace hub::hubctl
