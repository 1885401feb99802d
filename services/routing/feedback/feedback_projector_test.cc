// FeedbackProjector's pure parts: whose case it is (self-referrals never reach a force), what
// each event does to a case (latest assessment wins, a referral never moves back to
// REQUESTED, nothing personal is copied), and which records are refused before Redis is
// touched. The Redis side is tested in tests/integration/feedback.
#include "services/routing/feedback/feedback_projector.h"

#include <string>
#include <tuple>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

#include "services/common/events/cloudevents.h"
#include "services/common/events/topics.h"
#include "services/common/redis/recording_redis.h"
#include "services/common/status/status_matchers.h"

namespace hub::routing::feedback {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::hub::events::v1::CrimeReported;
using ::hub::events::v1::NeedsAssessed;
using ::hub::events::v1::ReferralRouted;
using ::hub::events::v1::ReferralStatusChanged;
using ::hub::routing::v1::CaseFeedback;
using ::hub::testing::IsOkAndHolds;
using ::hub::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Optional;

constexpr char kCase[] = "c_0123456789abcdef01234567";
constexpr char kCrime[] = "CAMBS/24/001234";

google::protobuf::Timestamp At(int64_t seconds) {
  return TimeUtil::SecondsToTimestamp(1'760'000'000 + seconds);
}

CrimeReported PoliceCrime(const std::string& submitted_by = "police:CAMBS:athena") {
  CrimeReported crime;
  crime.set_case_id(kCase);
  crime.set_submitted_by(submitted_by);
  crime.set_origin(hub::events::v1::ORIGIN_POLICE_REPORT);
  crime.mutable_report()->set_force_code("CAMBS");
  crime.mutable_report()->set_crime_reference(kCrime);
  hub::intake::v1::Victim* victim = crime.mutable_report()->add_victims();
  victim->set_victim_ref("V1");
  // Personal data never travels in clear, but even if it did it must not be copied.
  victim->mutable_name()->set_given("Zebedee");
  return crime;
}

NeedsAssessed Assessment(int sequence, bool enhanced,
                         const std::vector<hub::events::v1::EnhancedCategory>& categories,
                         hub::events::v1::ReferralDecision decision) {
  NeedsAssessed assessment;
  assessment.set_case_id(kCase);
  assessment.set_sequence(sequence);
  assessment.set_enhanced(enhanced);
  for (hub::events::v1::EnhancedCategory category : categories) {
    assessment.add_enhanced_categories(category);
  }
  assessment.set_referral_decision(decision);
  *assessment.mutable_assessed_at() = At(int64_t{sequence} * 10);
  *assessment.mutable_crime() = PoliceCrime();
  return assessment;
}

ReferralRouted Routed() {
  ReferralRouted routed;
  routed.set_case_id(kCase);
  routed.set_referral_id("r_1");
  routed.set_provider_id("idva-cambs");
  *routed.mutable_routed_at() = At(15);
  *routed.mutable_assessment() =
      Assessment(1, true, {hub::events::v1::ENHANCED_CATEGORY_MOST_SERIOUS_CRIME},
                 hub::events::v1::REFERRAL_DECISION_REFER);
  for (auto [id, provider, name] : {std::tuple{"r_1", "idva-cambs", "Cambridgeshire IDVA"},
                                    std::tuple{"r_2", "hub-vco", "Victim and Witness Hub"}}) {
    hub::events::v1::RoutedReferral* referral = routed.add_referrals();
    referral->set_referral_id(id);
    referral->set_provider_id(provider);
    referral->set_provider_name(name);
    referral->set_state(hub::events::v1::REFERRAL_EVENT_KIND_OFFERED);
  }
  return routed;
}

ReferralStatusChanged StatusChange(const std::string& referral_id,
                                   hub::routing::v1::ReferralStatus status, int64_t at) {
  ReferralStatusChanged change;
  change.set_case_id(kCase);
  change.set_referral_id(referral_id);
  change.set_provider_id("idva-cambs");
  change.set_provider_name("Cambridgeshire IDVA");
  change.set_status(status);
  *change.mutable_changed_at() = At(at);
  change.set_force("CAMBS");
  change.set_crime_reference(kCrime);
  return change;
}

// ---------------------------------------------------------------------------------------
// ForceOf

TEST(ForceOfTest, PoliceCasesBelongToTheSubmittingForce) {
  EXPECT_THAT(ForceOf(PoliceCrime()), IsOkAndHolds(Optional(std::string("CAMBS"))));
  CrimeReported unspecified_origin = PoliceCrime("police:NORFOLK:niche");
  unspecified_origin.set_origin(hub::events::v1::ORIGIN_UNSPECIFIED);
  EXPECT_THAT(ForceOf(unspecified_origin), IsOkAndHolds(Optional(std::string("NORFOLK"))));
}

TEST(ForceOfTest, SelfReferralsAndOtherSubmittersBelongToNoForce) {
  CrimeReported self = PoliceCrime("victim:self");
  self.set_origin(hub::events::v1::ORIGIN_SELF_REFERRAL);
  EXPECT_THAT(ForceOf(self), IsOkAndHolds(Eq(std::nullopt)));
  // Even a self-referral naming a force is the victim's own: never shown to the police.
  CrimeReported named_force = PoliceCrime("police:CAMBS:athena");
  named_force.set_origin(hub::events::v1::ORIGIN_SELF_REFERRAL);
  EXPECT_THAT(ForceOf(named_force), IsOkAndHolds(Eq(std::nullopt)));
  EXPECT_THAT(ForceOf(PoliceCrime("staff:hub:ops1")), IsOkAndHolds(Eq(std::nullopt)));
}

TEST(ForceOfTest, MissingOrMalformedSubmitterIsInvalid) {
  for (const char* bad : {"", "CAMBS", "police", "police:CA{MBS}:athena", "police::athena"}) {
    EXPECT_THAT(ForceOf(PoliceCrime(bad)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("submitted_by")))
        << bad;
  }
}

// ---------------------------------------------------------------------------------------
// Merges

TEST(MergeTest, AssessmentSetsTheEnhancedFlagAndCopiesNothingPersonal) {
  CaseState state;
  state.feedback.set_case_id(kCase);
  MergeAssessment(Assessment(1, true,
                             {hub::events::v1::ENHANCED_CATEGORY_MOST_SERIOUS_CRIME,
                              hub::events::v1::ENHANCED_CATEGORY_VULNERABLE},
                             hub::events::v1::REFERRAL_DECISION_SEEK_CONSENT),
                  &state);
  EXPECT_EQ(state.assessment_sequence, 1);
  EXPECT_TRUE(state.confirmed);
  EXPECT_TRUE(state.feedback.enhanced());
  EXPECT_THAT(state.feedback.enhanced_categories(),
              ElementsAre(hub::events::v1::ENHANCED_CATEGORY_MOST_SERIOUS_CRIME,
                          hub::events::v1::ENHANCED_CATEGORY_VULNERABLE));
  EXPECT_EQ(state.feedback.referral_decision(), hub::events::v1::REFERRAL_DECISION_SEEK_CONSENT);
  EXPECT_EQ(state.feedback.crime_reference(), kCrime);
  EXPECT_EQ(state.feedback.victim_ref(), "V1");
  EXPECT_EQ(state.feedback.updated_at(), At(10));
  EXPECT_THAT(state.feedback.SerializeAsString(), ::testing::Not(HasSubstr("Zebedee")));
}

TEST(MergeTest, LatestAssessmentWinsAndAnOlderOneArrivingLateChangesNothing) {
  CaseState state;
  state.feedback.set_case_id(kCase);
  MergeAssessment(Assessment(2, true, {hub::events::v1::ENHANCED_CATEGORY_INTIMIDATED},
                             hub::events::v1::REFERRAL_DECISION_REFER),
                  &state);
  const CaseState after_second = state;
  MergeAssessment(Assessment(1, false, {}, hub::events::v1::REFERRAL_DECISION_SEEK_CONSENT),
                  &state);
  EXPECT_EQ(state.assessment_sequence, 2);
  EXPECT_EQ(state.feedback.SerializeAsString(), after_second.feedback.SerializeAsString());
  // The same sequence again (e.g. routing's copy of it) changes nothing either.
  MergeAssessment(Assessment(2, false, {}, hub::events::v1::REFERRAL_DECISION_CLOSE), &state);
  EXPECT_TRUE(state.feedback.enhanced());
  MergeAssessment(Assessment(3, false, {}, hub::events::v1::REFERRAL_DECISION_CLOSE), &state);
  EXPECT_EQ(state.assessment_sequence, 3);
  EXPECT_FALSE(state.feedback.enhanced());
  EXPECT_TRUE(state.feedback.enhanced_categories().empty());
  EXPECT_EQ(state.feedback.referral_decision(), hub::events::v1::REFERRAL_DECISION_CLOSE);
}

TEST(MergeTest, RoutedAddsEachReferralAsRequestedWithItsProvider) {
  CaseState state;
  state.feedback.set_case_id(kCase);
  MergeRouted(Routed(), &state);
  EXPECT_EQ(state.assessment_sequence, 1);
  EXPECT_TRUE(state.feedback.enhanced());
  ASSERT_EQ(state.feedback.referrals_size(), 2);
  EXPECT_EQ(state.feedback.referrals(0).referral_id(), "r_1");
  EXPECT_EQ(state.feedback.referrals(0).provider_id(), "idva-cambs");
  EXPECT_EQ(state.feedback.referrals(0).provider_name(), "Cambridgeshire IDVA");
  EXPECT_EQ(state.feedback.referrals(0).status(), hub::routing::v1::REFERRAL_STATUS_REQUESTED);
  EXPECT_EQ(state.feedback.referrals(0).updated_at(), At(15));
  EXPECT_EQ(state.feedback.referrals(1).provider_name(), "Victim and Witness Hub");
  EXPECT_EQ(state.feedback.updated_at(), At(15));
}

TEST(MergeTest, RoutedReadAfterAStatusChangeNeverMovesTheReferralBack) {
  CaseState state;
  state.feedback.set_case_id(kCase);
  MergeStatusChange(StatusChange("r_1", hub::routing::v1::REFERRAL_STATUS_ACCEPTED, 30), &state);
  EXPECT_FALSE(state.confirmed);  // A status change names a force but proves nothing.
  MergeRouted(Routed(), &state);
  EXPECT_TRUE(state.confirmed);
  ASSERT_EQ(state.feedback.referrals_size(), 2);
  EXPECT_EQ(state.feedback.referrals(0).status(), hub::routing::v1::REFERRAL_STATUS_ACCEPTED);
  EXPECT_EQ(state.feedback.referrals(0).updated_at(), At(30));
  EXPECT_EQ(state.feedback.referrals(1).status(), hub::routing::v1::REFERRAL_STATUS_REQUESTED);
  EXPECT_EQ(state.feedback.updated_at(), At(30));  // Never moves back either.
}

TEST(MergeTest, StatusChangesCarryClosureAndOutcomeAndAddUnknownReferrals) {
  CaseState state;
  state.feedback.set_case_id(kCase);
  MergeRouted(Routed(), &state);
  ReferralStatusChanged completed =
      StatusChange("r_1", hub::routing::v1::REFERRAL_STATUS_COMPLETED, 40);
  completed.mutable_outcome()->set_feel_safer_improved(true);
  MergeStatusChange(completed, &state);
  ReferralStatusChanged failed = StatusChange("r_3", hub::routing::v1::REFERRAL_STATUS_FAILED, 50);
  failed.set_closure_reason(hub::routing::v1::CLOSURE_REASON_UNABLE_TO_CONTACT_VICTIM);
  failed.set_kind(hub::events::v1::REFERRAL_EVENT_KIND_FAILED);
  MergeStatusChange(failed, &state);

  ASSERT_EQ(state.feedback.referrals_size(), 3);
  EXPECT_EQ(state.feedback.referrals(0).status(), hub::routing::v1::REFERRAL_STATUS_COMPLETED);
  EXPECT_TRUE(state.feedback.referrals(0).outcome().feel_safer_improved());
  EXPECT_EQ(state.feedback.referrals(0).updated_at(), At(40));
  EXPECT_EQ(state.feedback.referrals(2).referral_id(), "r_3");
  EXPECT_EQ(state.feedback.referrals(2).status(), hub::routing::v1::REFERRAL_STATUS_FAILED);
  EXPECT_EQ(state.feedback.referrals(2).closure_reason(),
            hub::routing::v1::CLOSURE_REASON_UNABLE_TO_CONTACT_VICTIM);
  EXPECT_EQ(state.feedback.updated_at(), At(50));
}

TEST(MergeTest, ATimeOnlyChangeIsTheSameForThePolice) {
  CaseFeedback a;
  a.set_case_id(kCase);
  a.add_referrals()->set_referral_id("r_1");
  CaseFeedback b = a;
  *b.mutable_updated_at() = At(5);
  *b.mutable_referrals(0)->mutable_updated_at() = At(5);
  EXPECT_TRUE(SameExceptTimes(a, b));
  b.mutable_referrals(0)->set_status(hub::routing::v1::REFERRAL_STATUS_ACCEPTED);
  EXPECT_FALSE(SameExceptTimes(a, b));
}

// ---------------------------------------------------------------------------------------
// The projector, before Redis

class ProjectorTest : public ::testing::Test {
 protected:
  template <typename Event>
  kafka::ConsumedRecord Record(const Event& payload, const char* type) {
    events::CloudEvent event;
    event.id = events::NewEventId();
    event.source = "/hub/test";
    event.type = type;
    event.time = absl::FromUnixSeconds(1'760'000'000);
    event.traceparent = events::NewTrace().ToTraceparent();
    kafka::OutgoingRecord out = events::MakeRecord("topic", payload.case_id(), payload, event);
    kafka::ConsumedRecord record;
    record.topic = out.topic;
    record.key = out.key;
    record.value = out.value;
    record.headers = out.headers;
    return record;
  }

  redis::testing::RecordingRedis redis_;
  FeedbackStore store_{&redis_, "hub"};
  FeedbackProjector projector_{&store_};
};

TEST_F(ProjectorTest, HandlesItsThreeTypes) {
  EXPECT_TRUE(FeedbackProjector::Handles(events::kNeedsAssessedType));
  EXPECT_TRUE(FeedbackProjector::Handles(events::kReferralRoutedType));
  EXPECT_TRUE(FeedbackProjector::Handles(events::kReferralStatusChangedType));
  EXPECT_FALSE(FeedbackProjector::Handles(events::kCrimeReportedType));
}

TEST_F(ProjectorTest, MalformedRecordsAreInvalidAndNeverReachRedis) {
  kafka::ConsumedRecord no_headers;
  no_headers.value = "x";
  EXPECT_THAT(projector_.Apply(no_headers), StatusIs(absl::StatusCode::kInvalidArgument));

  kafka::ConsumedRecord garbage = Record(Assessment(1, true, {}, {}), events::kNeedsAssessedType);
  garbage.value = "\xff\xff\xff";
  EXPECT_THAT(projector_.Apply(garbage), StatusIs(absl::StatusCode::kInvalidArgument));

  EXPECT_THAT(projector_.Apply(Record(PoliceCrime(), events::kCrimeReportedType)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ce_type")));

  NeedsAssessed no_sequence = Assessment(0, true, {}, {});
  EXPECT_THAT(projector_.Apply(Record(no_sequence, events::kNeedsAssessedType)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sequence")));
  NeedsAssessed no_crime = Assessment(1, true, {}, {});
  no_crime.clear_crime();
  EXPECT_THAT(projector_.Apply(Record(no_crime, events::kNeedsAssessedType)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("crime")));
  NeedsAssessed bad_reference = Assessment(1, true, {}, {});
  bad_reference.mutable_crime()->mutable_report()->set_crime_reference("A{B}");
  EXPECT_THAT(projector_.Apply(Record(bad_reference, events::kNeedsAssessedType)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("crime_reference")));

  ReferralRouted no_referrals = Routed();
  no_referrals.clear_referrals();
  no_referrals.clear_referral_id();
  EXPECT_THAT(projector_.Apply(Record(no_referrals, events::kReferralRoutedType)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("referrals")));

  ReferralStatusChanged bad_force = StatusChange("r_1", {}, 1);
  bad_force.set_force("CAMBS}");
  EXPECT_THAT(projector_.Apply(Record(bad_force, events::kReferralStatusChangedType)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("force")));
  ReferralStatusChanged no_referral = StatusChange("", {}, 1);
  EXPECT_THAT(projector_.Apply(Record(no_referral, events::kReferralStatusChangedType)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("referral_id")));

  EXPECT_THAT(projector_.ApplyEvent(Assessment(1, true, {}, {}), ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ce_id")));
  EXPECT_EQ(redis_.calls, 0);
}

TEST_F(ProjectorTest, SelfReferralsAreSkippedWithoutTouchingRedis) {
  NeedsAssessed self = Assessment(1, true, {}, {});
  self.mutable_crime()->set_origin(hub::events::v1::ORIGIN_SELF_REFERRAL);
  self.mutable_crime()->set_submitted_by("victim:self");
  EXPECT_THAT(projector_.Project(Record(self, events::kNeedsAssessedType)),
              IsOkAndHolds(Field(&Applied::outcome, ApplyOutcome::kSkipped)));
  ReferralRouted routed = Routed();
  *routed.mutable_assessment() = self;
  EXPECT_THAT(projector_.Project(Record(routed, events::kReferralRoutedType)),
              IsOkAndHolds(Field(&Applied::outcome, ApplyOutcome::kSkipped)));
  ReferralStatusChanged change = StatusChange("r_1", {}, 1);
  change.clear_force();
  EXPECT_THAT(projector_.Project(Record(change, events::kReferralStatusChangedType)),
              IsOkAndHolds(Field(&Applied::outcome, ApplyOutcome::kSkipped)));
  EXPECT_EQ(redis_.calls, 0);
}

TEST_F(ProjectorTest, RedisDownIsUnavailableSoTheRecordIsRetried) {
  EXPECT_THAT(projector_.Apply(Record(Assessment(1, true, {}, {}), events::kNeedsAssessedType)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(redis_.calls, 1);
}

}  // namespace
}  // namespace hub::routing::feedback
