#include "services/common/stage/stage.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/events/topics.h"
#include "services/common/status/status_matchers.h"

namespace hub::stage {
namespace {

using ::hub::testing::StatusIs;
using ::testing::HasSubstr;

constexpr StageSpec kSpec{"routing", "routing/referral_routed", events::kReferralRoutedType,
                          hub::cases::v1::STAGE_ROUTED};

events::CloudEvent Input() {
  events::CloudEvent input;
  input.id = "11111111-1111-4111-8111-111111111111";
  input.source = "/hub/triage";
  input.type = events::kNeedsAssessedType;
  input.time = absl::FromUnixSeconds(100);
  input.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  return input;
}

kafka::ConsumedRecord Record(const hub::events::v1::NeedsAssessed& assessment) {
  kafka::OutgoingRecord out = events::MakeRecord("t", assessment.case_id(), assessment, Input());
  kafka::ConsumedRecord record;
  record.value = out.value;
  record.headers = out.headers;
  return record;
}

hub::events::v1::NeedsAssessed Assessment(int victims) {
  hub::events::v1::NeedsAssessed assessment;
  assessment.set_case_id("c_000000000000000000000001");
  for (int i = 0; i < victims; ++i) {
    assessment.mutable_crime()->mutable_report()->add_victims();
  }
  return assessment;
}

TEST(ParseStageInputTest, AcceptsAWellFormedEvent) {
  hub::events::v1::NeedsAssessed parsed;
  ASSERT_OK_AND_ASSIGN(events::CloudEvent input,
                       ParseStageInput(Record(Assessment(1)), events::kNeedsAssessedType, &parsed));
  EXPECT_EQ(input.id, Input().id);
  EXPECT_EQ(parsed.case_id(), "c_000000000000000000000001");
}

TEST(ParseStageInputTest, RefusesWhatAStageCannotHandleSoItIsDeadLettered) {
  hub::events::v1::NeedsAssessed parsed;
  EXPECT_THAT(ParseStageInput(Record(Assessment(2)), events::kNeedsAssessedType, &parsed),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exactly one victim")));
  hub::events::v1::NeedsAssessed bad_id = Assessment(1);
  bad_id.set_case_id("c_}evil");
  EXPECT_THAT(ParseStageInput(Record(bad_id), events::kNeedsAssessedType, &parsed),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("case_id")));
  EXPECT_THAT(ParseStageInput(Record(Assessment(1)), events::kCrimeReportedType, &parsed),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ce_type")));
}

TEST(BeginStepTest, DerivesTheSameOutputForTheSameInput) {
  absl::Time now = absl::FromUnixSeconds(200);
  StageOutput first = BeginStep(kSpec, Input(), "c_000000000000000000000001", now);
  StageOutput again = BeginStep(kSpec, Input(), "c_000000000000000000000001", now);
  EXPECT_EQ(first.event.id, again.event.id);
  EXPECT_EQ(first.event.id, events::DeriveEventId(Input().id, "routing/referral_routed"));
  EXPECT_EQ(first.event.source, "/hub/routing");
  EXPECT_EQ(first.event.type, events::kReferralRoutedType);
  EXPECT_EQ(first.event.time, now);
  // The trace continues: same trace id, a new span.
  EXPECT_THAT(first.event.traceparent, HasSubstr("4bf92f3577b34da6a3ce929d0e0e4736"));
  EXPECT_NE(first.event.traceparent, Input().traceparent);
  EXPECT_EQ(first.step.case_id, "c_000000000000000000000001");
  EXPECT_EQ(first.step.stage, hub::cases::v1::STAGE_ROUTED);
  EXPECT_EQ(first.step.service, "routing");
  EXPECT_EQ(first.step.event_id, first.event.id);
  EXPECT_EQ(first.step.recorded_at, now);
}

}  // namespace
}  // namespace hub::stage
