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

}  // namespace
}  // namespace hub::hubctl
