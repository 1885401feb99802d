// Feedback to police forces against a real Redis (HUB_TEST_REDIS) and an in-process gRPC
// server: records of NeedsAssessed, ReferralRouted and ReferralStatusChanged go through the
// FeedbackProjector, and a force's system reads them with ForceFeedbackService. Checks that
// a force sees its victim's enhanced flag and categories and each referral made, accepted
// and completed with its outcome; that another force gets NOT_FOUND for that crime and
// never sees the case in its feed; that a duplicate event changes nothing and appends
// nothing; that following resumes after a token without repeats, and a token whose next
// changes were trimmed is OUT_OF_RANGE (exactly then); that self-referrals are never stored;
// that an older assessment arriving late is ignored; and that concurrent events on one case
// all land.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include <grpcpp/grpcpp.h>

#include "hub/routing/v1/provider.grpc.pb.h"
#include "services/common/events/cloudevents.h"
#include "services/common/events/topics.h"
#include "services/common/identity/identity.h"
#include "services/common/redis/redis_client.h"
#include "services/common/status/status_matchers.h"
#include "services/routing/feedback/feedback_api.h"
#include "services/routing/feedback/feedback_projector.h"
#include "services/routing/feedback/feedback_store.h"
#include "tests/support/test_env.h"

namespace hub::routing::feedback {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::hub::events::v1::NeedsAssessed;
using ::hub::events::v1::ReferralRouted;
using ::hub::events::v1::ReferralStatusChanged;
using ::hub::routing::v1::CaseFeedback;
using ::hub::routing::v1::CrimeFeedback;
using ::hub::routing::v1::ForceFeedbackService;
using ::hub::routing::v1::ReferralStatus;
using ::hub::testing::IsOkAndHolds;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Property;
using ::testing::SizeIs;

constexpr char kCambs[] = "police:CAMBS:athena";
constexpr char kNorfolk[] = "police:NORFOLK:niche";

google::protobuf::Timestamp At(int64_t seconds) {
  return TimeUtil::SecondsToTimestamp(1'760'000'000 + seconds);
}

// What a police force reported: one case of one crime.
struct Report {
  std::string case_id;
  std::string crime_reference;
  std::string submitted_by = kCambs;
  hub::events::v1::Origin origin = hub::events::v1::ORIGIN_POLICE_REPORT;
};

NeedsAssessed Assessment(
    const Report& report, int sequence, bool enhanced,
    const std::vector<hub::events::v1::EnhancedCategory>& categories = {},
    hub::events::v1::ReferralDecision decision = hub::events::v1::REFERRAL_DECISION_REFER) {
  NeedsAssessed assessment;
  assessment.set_case_id(report.case_id);
  assessment.set_sequence(sequence);
  assessment.set_enhanced(enhanced);
  for (hub::events::v1::EnhancedCategory category : categories) {
    assessment.add_enhanced_categories(category);
  }
  assessment.set_referral_decision(decision);
  *assessment.mutable_assessed_at() = At(int64_t{sequence} * 10);
  hub::events::v1::CrimeReported& crime = *assessment.mutable_crime();
  crime.set_case_id(report.case_id);
  crime.set_submitted_by(report.submitted_by);
  crime.set_origin(report.origin);
  crime.mutable_report()->set_crime_reference(report.crime_reference);
  crime.mutable_report()->add_victims()->set_victim_ref("V1");
  return assessment;
}

ReferralRouted Routed(const Report& report) {
  ReferralRouted routed;
  routed.set_case_id(report.case_id);
  routed.set_referral_id("r_idva");
  routed.set_provider_id("idva-cambs");
  *routed.mutable_routed_at() = At(20);
  routed.set_external(true);
  *routed.mutable_assessment() =
      Assessment(report, 1, true, {hub::events::v1::ENHANCED_CATEGORY_MOST_SERIOUS_CRIME});
  for (auto [id, provider, name] : {std::tuple{"r_idva", "idva-cambs", "Cambridgeshire IDVA"},
                                    std::tuple{"r_hub", "hub-vco", "Victim and Witness Hub"}}) {
    hub::events::v1::RoutedReferral* referral = routed.add_referrals();
    referral->set_referral_id(id);
    referral->set_provider_id(provider);
    referral->set_provider_name(name);
    referral->set_state(hub::events::v1::REFERRAL_EVENT_KIND_OFFERED);
  }
  return routed;
}

ReferralStatusChanged StatusChange(const Report& report, const std::string& referral_id,
                                   ReferralStatus status, int64_t at) {
  ReferralStatusChanged change;
  change.set_case_id(report.case_id);
  change.set_referral_id(referral_id);
  change.set_provider_id("idva-cambs");
  change.set_provider_name("Cambridgeshire IDVA");
  change.set_status(status);
  *change.mutable_changed_at() = At(at);
  change.set_changed_by("provider:idva-cambs");
  change.set_force(report.submitted_by == kCambs ? "CAMBS" : "NORFOLK");
  change.set_crime_reference(report.crime_reference);
  return change;
}

// A consumed record as the consumer loop hands it over, CloudEvents headers included.
template <typename Event>
kafka::ConsumedRecord Record(const Event& payload, const char* type,
                             const std::string& id = events::NewEventId()) {
  events::CloudEvent event;
  event.id = id;
  event.source = "/hub/test";
  event.type = type;
  event.time = absl::Now();
  event.traceparent = events::NewTrace().ToTraceparent();
  kafka::ConsumedRecord record;
  record.topic = "test";
  record.key = payload.case_id();
  record.value = payload.SerializeAsString();
  record.headers = events::ToHeaders(event);
  return record;
}

class FeedbackTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(FeedbackStoreOptions()); }
  void TearDown() override { Stop(); }

  void Start(FeedbackStoreOptions options) {
    ASSERT_OK_AND_ASSIGN(hub::testing::HostPort address, hub::testing::RedisFromEnv());
    redis::RedisConfig config;
    config.host = address.host;
    config.port = address.port;
    config.pool_size = 12;
    config.command_timeout = absl::Seconds(10);
    ASSERT_OK_AND_ASSIGN(redis_, redis::CreateRedisClient(config));
    // A namespace per test keeps every key our own.
    ns_ = hub::testing::UniqueName("fb");
    store_ = std::make_unique<FeedbackStore>(redis_.get(), ns_, options);
    projector_ = std::make_unique<FeedbackProjector>(store_.get());
    identity_ = identity::CreateDeclaredLoopbackIdentityProvider();
    ForceFeedbackApiOptions api_options;
    api_options.poll_interval = absl::Milliseconds(20);
    api_options.batch = 3;  // Small, so following crosses several reads.
    api_ = std::make_unique<ForceFeedbackApi>(identity_.get(), store_.get(), api_options);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(api_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    stub_ = ForceFeedbackService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  void Stop() {
    if (server_ != nullptr) {
      api_->Shutdown();
      server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
      server_.reset();
    }
  }

  static void Prepare(grpc::ClientContext* context, const std::string& caller) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    if (!caller.empty()) {
      context->AddMetadata(identity::kCallerMetadataKey, caller);
    }
  }

  grpc::Status GetCrime(const std::string& caller, const std::string& crime_reference,
                        CrimeFeedback* response) {
    grpc::ClientContext context;
    Prepare(&context, caller);
    hub::routing::v1::GetCrimeFeedbackRequest request;
    request.set_crime_reference(crime_reference);
    return stub_->GetCrimeFeedback(&context, request, response);
  }

  // An open FollowFeedback call.
  struct Follower {
    std::unique_ptr<grpc::ClientContext> context = std::make_unique<grpc::ClientContext>();
    std::unique_ptr<grpc::ClientReader<CaseFeedback>> reader;
  };

  Follower Follow(const std::string& caller, const std::string& after_token) {
    Follower follower;
    Prepare(follower.context.get(), caller);
    hub::routing::v1::FollowFeedbackRequest request;
    request.set_after_token(after_token);
    follower.reader = stub_->FollowFeedback(follower.context.get(), request);
    return follower;
  }

  // The next `n` messages (fewer only when the stream ended).
  static std::vector<CaseFeedback> Take(Follower& follower, size_t n) {
    std::vector<CaseFeedback> got;
    CaseFeedback message;
    while (got.size() < n && follower.reader->Read(&message)) {
      got.push_back(message);
    }
    return got;
  }

  static grpc::Status Finish(Follower& follower) {
    follower.context->TryCancel();
    CaseFeedback ignored;
    while (follower.reader->Read(&ignored)) {
    }
    return follower.reader->Finish();
  }

  // The status a follow ends with straight away (for errors).
  grpc::Status FollowError(const std::string& caller, const std::string& after_token) {
    Follower follower = Follow(caller, after_token);
    CaseFeedback ignored;
    EXPECT_FALSE(follower.reader->Read(&ignored)) << "expected the stream to fail at once";
    return follower.reader->Finish();
  }

  Applied MustApply(const kafka::ConsumedRecord& record) {
    absl::StatusOr<Applied> applied = projector_->Project(record);
    EXPECT_TRUE(applied.ok()) << applied.status();
    return applied.value_or(Applied());
  }

  int64_t FeedLength(const std::string& force) {
    absl::StatusOr<redis::Reply> reply = redis_->Command({"XLEN", store_->ChangesKey(force)});
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? reply->integer : -1;
  }

  std::vector<std::string> KeysOfNamespace() {
    absl::StatusOr<redis::Reply> reply = redis_->Command({"KEYS", absl::StrCat(ns_, ":*")});
    std::vector<std::string> keys;
    if (reply.ok()) {
      for (const redis::Reply& key : reply->elements) {
        keys.push_back(key.str);
      }
    }
    return keys;
  }

  std::string ns_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<FeedbackStore> store_;
  std::unique_ptr<FeedbackProjector> projector_;
  std::unique_ptr<identity::IdentityProvider> identity_;
  std::unique_ptr<ForceFeedbackApi> api_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ForceFeedbackService::Stub> stub_;
};

const Report kCambsReport{"c_cambs_000000000000000001", "CAMBS/24/001234"};
const Report kNorfolkReport{"c_norf_0000000000000000001", "NORF-24-9", kNorfolk};

TEST_F(FeedbackTest, ForceSeesEnhancedFlagAndEachReferralMadeAcceptedAndCompleted) {
  MustApply(Record(Assessment(kCambsReport, 1, true,
                              {hub::events::v1::ENHANCED_CATEGORY_MOST_SERIOUS_CRIME,
                               hub::events::v1::ENHANCED_CATEGORY_VULNERABLE}),
                   events::kNeedsAssessedType));
  MustApply(Record(Routed(kCambsReport), events::kReferralRoutedType));
  MustApply(
      Record(StatusChange(kCambsReport, "r_idva", hub::routing::v1::REFERRAL_STATUS_RECEIVED, 25),
             events::kReferralStatusChangedType));
  MustApply(
      Record(StatusChange(kCambsReport, "r_idva", hub::routing::v1::REFERRAL_STATUS_ACCEPTED, 30),
             events::kReferralStatusChangedType));

  CrimeFeedback crime;
  ASSERT_TRUE(GetCrime(kCambs, kCambsReport.crime_reference, &crime).ok());
  ASSERT_THAT(crime.cases(), SizeIs(1));
  const CaseFeedback& accepted = crime.cases(0);
  EXPECT_EQ(crime.crime_reference(), kCambsReport.crime_reference);
  EXPECT_EQ(accepted.case_id(), kCambsReport.case_id);
  EXPECT_EQ(accepted.victim_ref(), "V1");
  EXPECT_TRUE(accepted.enhanced());
  EXPECT_THAT(accepted.enhanced_categories(),
              ElementsAre(hub::events::v1::ENHANCED_CATEGORY_MOST_SERIOUS_CRIME,
                          hub::events::v1::ENHANCED_CATEGORY_VULNERABLE));
  EXPECT_EQ(accepted.referral_decision(), hub::events::v1::REFERRAL_DECISION_REFER);
  EXPECT_FALSE(accepted.token().empty());
  ASSERT_THAT(accepted.referrals(), SizeIs(2));
  EXPECT_EQ(accepted.referrals(0).provider_name(), "Cambridgeshire IDVA");
  EXPECT_EQ(accepted.referrals(0).status(), hub::routing::v1::REFERRAL_STATUS_ACCEPTED);
  EXPECT_EQ(accepted.referrals(1).provider_name(), "Victim and Witness Hub");
  EXPECT_EQ(accepted.referrals(1).status(), hub::routing::v1::REFERRAL_STATUS_REQUESTED);

  MustApply(Record(
      StatusChange(kCambsReport, "r_idva", hub::routing::v1::REFERRAL_STATUS_IN_PROGRESS, 40),
      events::kReferralStatusChangedType));
  ReferralStatusChanged completed =
      StatusChange(kCambsReport, "r_idva", hub::routing::v1::REFERRAL_STATUS_COMPLETED, 50);
  completed.mutable_outcome()->set_feel_safer_improved(true);
  completed.mutable_outcome()->set_cope_with_everyday_life_improved(false);
  MustApply(Record(completed, events::kReferralStatusChangedType));
  ReferralStatusChanged failed =
      StatusChange(kCambsReport, "r_hub", hub::routing::v1::REFERRAL_STATUS_FAILED, 55);
  failed.set_closure_reason(hub::routing::v1::CLOSURE_REASON_UNABLE_TO_CONTACT_VICTIM);
  MustApply(Record(failed, events::kReferralStatusChangedType));

  crime.Clear();
  ASSERT_TRUE(GetCrime(kCambs, kCambsReport.crime_reference, &crime).ok());
  ASSERT_THAT(crime.cases(), SizeIs(1));
  const CaseFeedback& closed = crime.cases(0);
  ASSERT_THAT(closed.referrals(), SizeIs(2));
  EXPECT_EQ(closed.referrals(0).status(), hub::routing::v1::REFERRAL_STATUS_COMPLETED);
  EXPECT_TRUE(closed.referrals(0).outcome().feel_safer_improved());
  ASSERT_TRUE(closed.referrals(0).outcome().has_cope_with_everyday_life_improved());
  EXPECT_FALSE(closed.referrals(0).outcome().cope_with_everyday_life_improved());
  EXPECT_EQ(closed.referrals(0).updated_at(), At(50));
  EXPECT_EQ(closed.referrals(1).status(), hub::routing::v1::REFERRAL_STATUS_FAILED);
  EXPECT_EQ(closed.referrals(1).closure_reason(),
            hub::routing::v1::CLOSURE_REASON_UNABLE_TO_CONTACT_VICTIM);
  EXPECT_EQ(closed.updated_at(), At(55));
  EXPECT_TRUE(closed.enhanced());

  // Every change is in the force's feed, in order, the last one being the case as it is now.
  Follower follower = Follow(kCambs, "");
  std::vector<CaseFeedback> feed = Take(follower, 7);
  ASSERT_THAT(feed, SizeIs(7));
  EXPECT_EQ(feed[0].referrals_size(), 0);
  EXPECT_TRUE(feed[0].enhanced());
  EXPECT_EQ(feed[1].referrals(0).status(), hub::routing::v1::REFERRAL_STATUS_REQUESTED);
  EXPECT_EQ(feed[6].SerializeAsString(), closed.SerializeAsString());
  Finish(follower);
}

TEST_F(FeedbackTest, AnotherForceGetsNotFoundAndNeverSeesTheCaseInItsFeed) {
  MustApply(Record(Assessment(kCambsReport, 1, true), events::kNeedsAssessedType));
  MustApply(Record(Assessment(kNorfolkReport, 1, false), events::kNeedsAssessedType));

  CrimeFeedback crime;
  grpc::Status status = GetCrime(kNorfolk, kCambsReport.crime_reference, &crime);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no cases for this crime reference from your force");
  // The same answer as for a crime reference nobody has.
  EXPECT_EQ(GetCrime(kCambs, "CAMBS/99/NONE", &crime).error_message(), status.error_message());
  // And the owner still sees it.
  EXPECT_TRUE(GetCrime(kCambs, kCambsReport.crime_reference, &crime).ok());

  Follower norfolk = Follow(kNorfolk, "");
  std::vector<CaseFeedback> first = Take(norfolk, 1);
  ASSERT_THAT(first, SizeIs(1));
  EXPECT_EQ(first[0].case_id(), kNorfolkReport.case_id);
  // Live changes: Cambridgeshire's never reach Norfolk's stream; Norfolk's last change is
  // the sentinel, so anything of Cambridgeshire's sent before it would be seen.
  MustApply(Record(Routed(kCambsReport), events::kReferralRoutedType));
  MustApply(Record(Assessment(kNorfolkReport, 2, true), events::kNeedsAssessedType));
  MustApply(
      Record(StatusChange(kCambsReport, "r_idva", hub::routing::v1::REFERRAL_STATUS_ACCEPTED, 30),
             events::kReferralStatusChangedType));
  MustApply(Record(Assessment(kNorfolkReport, 3, false), events::kNeedsAssessedType));
  std::vector<CaseFeedback> live = Take(norfolk, 2);
  EXPECT_THAT(live, ElementsAre(Property(&CaseFeedback::case_id, kNorfolkReport.case_id),
                                Property(&CaseFeedback::case_id, kNorfolkReport.case_id)));
  Finish(norfolk);
}

TEST_F(FeedbackTest, ADuplicateEventChangesNothingAndAppendsNothing) {
  const kafka::ConsumedRecord assessed =
      Record(Assessment(kCambsReport, 1, true), events::kNeedsAssessedType);
  const kafka::ConsumedRecord routed = Record(Routed(kCambsReport), events::kReferralRoutedType);
  const kafka::ConsumedRecord accepted =
      Record(StatusChange(kCambsReport, "r_idva", hub::routing::v1::REFERRAL_STATUS_ACCEPTED, 30),
             events::kReferralStatusChangedType);
  EXPECT_EQ(MustApply(assessed).outcome, ApplyOutcome::kChanged);
  EXPECT_EQ(MustApply(routed).outcome, ApplyOutcome::kChanged);
  EXPECT_EQ(MustApply(accepted).outcome, ApplyOutcome::kChanged);
  ASSERT_OK_AND_ASSIGN(std::optional<CaseFeedback> before,
                       store_->GetCase("CAMBS", kCambsReport.case_id));
  ASSERT_EQ(FeedLength("CAMBS"), 3);

  // Redelivered records, in any order, and the parsed entry point with the same ids.
  EXPECT_EQ(MustApply(routed).outcome, ApplyOutcome::kDuplicate);
  EXPECT_EQ(MustApply(assessed).outcome, ApplyOutcome::kDuplicate);
  EXPECT_EQ(MustApply(accepted).outcome, ApplyOutcome::kDuplicate);
  ASSERT_OK_AND_ASSIGN(events::CloudEvent header, events::FromHeaders(routed));
  EXPECT_THAT(projector_->ApplyEvent(Routed(kCambsReport), header.id),
              IsOkAndHolds(Field(&Applied::outcome, ApplyOutcome::kDuplicate)));

  EXPECT_EQ(FeedLength("CAMBS"), 3);
  ASSERT_OK_AND_ASSIGN(std::optional<CaseFeedback> after,
                       store_->GetCase("CAMBS", kCambsReport.case_id));
  ASSERT_TRUE(before.has_value() && after.has_value());
  EXPECT_EQ(after->SerializeAsString(), before->SerializeAsString());

  // A new event that changes nothing the force sees appends nothing either.
  ReferralStatusChanged waiting =
      StatusChange(kCambsReport, "r_idva", hub::routing::v1::REFERRAL_STATUS_ACCEPTED, 35);
  EXPECT_EQ(MustApply(Record(waiting, events::kReferralStatusChangedType)).outcome,
            ApplyOutcome::kUnchanged);
  EXPECT_EQ(FeedLength("CAMBS"), 3);
}

TEST_F(FeedbackTest, FollowingResumesAfterATokenWithoutRepeats) {
  std::vector<Report> reports;
  for (int i = 0; i < 5; ++i) {
    reports.push_back({absl::StrCat("c_resume_", i), absl::StrCat("CAMBS/24/", i)});
    MustApply(Record(Assessment(reports.back(), 1, i % 2 == 0), events::kNeedsAssessedType));
  }
  Follower first = Follow(kCambs, "");
  std::vector<CaseFeedback> got = Take(first, 3);
  ASSERT_THAT(got, SizeIs(3));
  EXPECT_EQ(got[2].case_id(), "c_resume_2");
  EXPECT_EQ(Finish(first).error_code(), grpc::StatusCode::CANCELLED);

  Follower resumed = Follow(kCambs, got[2].token());
  std::vector<CaseFeedback> rest = Take(resumed, 2);
  EXPECT_THAT(rest, ElementsAre(Property(&CaseFeedback::case_id, "c_resume_3"),
                                Property(&CaseFeedback::case_id, "c_resume_4")));
  // Then new changes as they happen, once each.
  MustApply(Record(Routed(reports[0]), events::kReferralRoutedType));
  MustApply(Record(Assessment(reports[4], 2, false), events::kNeedsAssessedType));
  std::vector<CaseFeedback> live = Take(resumed, 2);
  ASSERT_THAT(live, SizeIs(2));
  EXPECT_EQ(live[0].case_id(), "c_resume_0");
  EXPECT_EQ(live[0].referrals_size(), 2);
  EXPECT_EQ(live[1].case_id(), "c_resume_4");
  EXPECT_NE(live[0].token(), live[1].token());
  EXPECT_LT(*ParseFeedToken("t", rest[1].token()), *ParseFeedToken("t", live[0].token()));
  Finish(resumed);

  // Resuming after the last token waits for what comes next.
  Follower caught_up = Follow(kCambs, live[1].token());
  MustApply(
      Record(StatusChange(reports[0], "r_idva", hub::routing::v1::REFERRAL_STATUS_ACCEPTED, 40),
             events::kReferralStatusChangedType));
  std::vector<CaseFeedback> next = Take(caught_up, 1);
  ASSERT_THAT(next, SizeIs(1));
  EXPECT_EQ(next[0].referrals(0).status(), hub::routing::v1::REFERRAL_STATUS_ACCEPTED);
  Finish(caught_up);
}

TEST_F(FeedbackTest, SelfReferralsAreNeverStored) {
  Report self{"s_0123456789abcdef01234567", "s_0123456789abcdef01234567", "victim:self",
              hub::events::v1::ORIGIN_SELF_REFERRAL};
  EXPECT_EQ(MustApply(Record(Assessment(self, 1, true), events::kNeedsAssessedType)).outcome,
            ApplyOutcome::kSkipped);
  // A self-referral naming the force it reported to is still the victim's own.
  Report named{"s_fedcba9876543210fedcba98", "CAMBS/24/555", kCambs,
               hub::events::v1::ORIGIN_SELF_REFERRAL};
  EXPECT_EQ(MustApply(Record(Routed(named), events::kReferralRoutedType)).outcome,
            ApplyOutcome::kSkipped);
  ReferralStatusChanged change =
      StatusChange(self, "r_1", hub::routing::v1::REFERRAL_STATUS_ACCEPTED, 30);
  change.clear_force();
  EXPECT_EQ(MustApply(Record(change, events::kReferralStatusChangedType)).outcome,
            ApplyOutcome::kSkipped);
  EXPECT_THAT(KeysOfNamespace(), IsEmpty());
  CrimeFeedback crime;
  EXPECT_EQ(GetCrime(kCambs, "CAMBS/24/555", &crime).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(FeedbackTest, AStatusChangeReadBeforeTheAssessmentWaitsHiddenThenShows) {
  // Topics are read independently: after a backlog, a referral's status can come first.
  EXPECT_EQ(MustApply(Record(StatusChange(kCambsReport, "r_idva",
                                          hub::routing::v1::REFERRAL_STATUS_ACCEPTED, 30),
                             events::kReferralStatusChangedType))
                .outcome,
            ApplyOutcome::kUnchanged);
  CrimeFeedback crime;
  EXPECT_EQ(GetCrime(kCambs, kCambsReport.crime_reference, &crime).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(FeedLength("CAMBS"), 0);

  EXPECT_EQ(
      MustApply(Record(Assessment(kCambsReport, 1, true), events::kNeedsAssessedType)).outcome,
      ApplyOutcome::kChanged);
  EXPECT_EQ(MustApply(Record(Routed(kCambsReport), events::kReferralRoutedType)).outcome,
            ApplyOutcome::kChanged);
  ASSERT_TRUE(GetCrime(kCambs, kCambsReport.crime_reference, &crime).ok());
  ASSERT_THAT(crime.cases(), SizeIs(1));
  ASSERT_THAT(crime.cases(0).referrals(), SizeIs(2));
  // Routed later, but the acceptance read first still stands.
  EXPECT_EQ(crime.cases(0).referrals(0).status(), hub::routing::v1::REFERRAL_STATUS_ACCEPTED);
  EXPECT_EQ(crime.cases(0).referrals(1).status(), hub::routing::v1::REFERRAL_STATUS_REQUESTED);
  EXPECT_TRUE(crime.cases(0).enhanced());
  EXPECT_EQ(FeedLength("CAMBS"), 2);
}

TEST_F(FeedbackTest, ASelfReferralsStatusChangeNamingAForceNeverReachesIt) {
  // Routing copies the force a self-referral named into its status changes; the case's own
  // events say it is a self-referral, so the force is never shown it.
  Report named{"s_fedcba9876543210fedcba98", "CAMBS/24/555", "victim:self",
               hub::events::v1::ORIGIN_SELF_REFERRAL};
  ReferralStatusChanged change =
      StatusChange(named, "r_1", hub::routing::v1::REFERRAL_STATUS_ACCEPTED, 30);
  change.set_force("CAMBS");
  EXPECT_EQ(MustApply(Record(change, events::kReferralStatusChangedType)).outcome,
            ApplyOutcome::kUnchanged);
  EXPECT_EQ(MustApply(Record(Assessment(named, 1, true), events::kNeedsAssessedType)).outcome,
            ApplyOutcome::kSkipped);
  EXPECT_EQ(MustApply(Record(Routed(named), events::kReferralRoutedType)).outcome,
            ApplyOutcome::kSkipped);
  change.set_status(hub::routing::v1::REFERRAL_STATUS_COMPLETED);
  EXPECT_EQ(MustApply(Record(change, events::kReferralStatusChangedType)).outcome,
            ApplyOutcome::kUnchanged);

  CrimeFeedback crime;
  EXPECT_EQ(GetCrime(kCambs, "CAMBS/24/555", &crime).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_OK_AND_ASSIGN(std::optional<CaseFeedback> hidden, store_->GetCase("CAMBS", named.case_id));
  EXPECT_FALSE(hidden.has_value());
  EXPECT_EQ(FeedLength("CAMBS"), 0);
}

TEST_F(FeedbackTest, AnOlderAssessmentArrivingLateIsIgnored) {
  MustApply(Record(
      Assessment(kCambsReport, 2, true, {hub::events::v1::ENHANCED_CATEGORY_PERSISTENTLY_TARGETED}),
      events::kNeedsAssessedType));
  EXPECT_EQ(MustApply(Record(Assessment(kCambsReport, 1, false, {},
                                        hub::events::v1::REFERRAL_DECISION_SEEK_CONSENT),
                             events::kNeedsAssessedType))
                .outcome,
            ApplyOutcome::kUnchanged);
  // Routing's copy of the first assessment is late too; its referrals still count.
  EXPECT_EQ(MustApply(Record(Routed(kCambsReport), events::kReferralRoutedType)).outcome,
            ApplyOutcome::kChanged);
  ASSERT_OK_AND_ASSIGN(std::optional<CaseState> state,
                       store_->GetState("CAMBS", kCambsReport.case_id));
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->assessment_sequence, 2);
  EXPECT_TRUE(state->feedback.enhanced());
  EXPECT_THAT(state->feedback.enhanced_categories(),
              ElementsAre(hub::events::v1::ENHANCED_CATEGORY_PERSISTENTLY_TARGETED));
  EXPECT_EQ(state->feedback.referral_decision(), hub::events::v1::REFERRAL_DECISION_REFER);
  EXPECT_EQ(state->feedback.referrals_size(), 2);
  EXPECT_EQ(FeedLength("CAMBS"), 2);
}

TEST_F(FeedbackTest, OnlyPoliceSystemsMayCallAndRequestsAreChecked) {
  MustApply(Record(Assessment(kCambsReport, 1, true), events::kNeedsAssessedType));
  CrimeFeedback crime;
  EXPECT_EQ(GetCrime("provider:idva-cambs", kCambsReport.crime_reference, &crime).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(GetCrime("staff:hub:ops1", kCambsReport.crime_reference, &crime).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(GetCrime("", kCambsReport.crime_reference, &crime).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(FollowError("provider:idva-cambs", "").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  grpc::Status bad_reference = GetCrime(kCambs, "CAMBS}{x", &crime);
  EXPECT_EQ(bad_reference.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad_reference.error_message(), HasSubstr("crime_reference"));
  grpc::Status bad_token = FollowError(kCambs, "not-a-token");
  EXPECT_EQ(bad_token.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad_token.error_message(), HasSubstr("after_token"));
  // Beyond the newest change: not a token of this feed.
  grpc::Status future = FollowError(kCambs, "99999999999999-0");
  EXPECT_EQ(future.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(future.error_message(), HasSubstr("GetCrimeFeedback"));
}

TEST_F(FeedbackTest, ShutdownEndsOpenStreams) {
  Follower follower = Follow(kCambs, "");
  MustApply(Record(Assessment(kCambsReport, 1, true), events::kNeedsAssessedType));
  ASSERT_THAT(Take(follower, 1), SizeIs(1));
  const absl::Time start = absl::Now();
  api_->Shutdown();
  CaseFeedback ignored;
  EXPECT_FALSE(follower.reader->Read(&ignored));
  EXPECT_EQ(follower.reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST_F(FeedbackTest, ConcurrentEventsOnOneCaseAllLand) {
  MustApply(Record(Assessment(kCambsReport, 1, true), events::kNeedsAssessedType));
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ReferralStatusChanged change = StatusChange(kCambsReport, absl::StrCat("r_", t),
                                                  hub::routing::v1::REFERRAL_STATUS_REQUESTED, t);
      if (!projector_->Apply(Record(change, events::kReferralStatusChangedType)).ok()) {
        failures.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failures.load(), 0);
  ASSERT_OK_AND_ASSIGN(std::optional<CaseFeedback> feedback,
                       store_->GetCase("CAMBS", kCambsReport.case_id));
  ASSERT_TRUE(feedback.has_value());
  EXPECT_EQ(feedback->referrals_size(), kThreads);
  EXPECT_EQ(FeedLength("CAMBS"), 1 + kThreads);
}

class TrimmedFeedbackTest : public FeedbackTest {
 protected:
  void SetUp() override {
    FeedbackStoreOptions options;
    options.stream_max_len = 10;
    Start(options);
  }
};

TEST_F(TrimmedFeedbackTest, ATokenWhoseNextChangesWereTrimmedIsOutOfRangeAndOnlyThen) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 300; ++i) {
    Report report{absl::StrCat("c_trim_", i), absl::StrCat("CAMBS/24/", i)};
    Applied applied = MustApply(Record(Assessment(report, 1, false), events::kNeedsAssessedType));
    tokens.push_back(applied.token);
  }
  // Trimming is approximate (whole stream nodes), so find the oldest entry kept.
  ASSERT_OK_AND_ASSIGN(redis::Reply oldest, redis_->Command({"XRANGE", store_->ChangesKey("CAMBS"),
                                                             "-", "+", "COUNT", "1"}));
  ASSERT_THAT(oldest.elements, SizeIs(1));
  const std::string oldest_token = oldest.elements[0].elements[0].str;
  size_t oldest_index = 0;
  while (oldest_index < tokens.size() && tokens[oldest_index] != oldest_token) {
    ++oldest_index;
  }
  ASSERT_GT(oldest_index, 1u) << "nothing was trimmed";
  ASSERT_LT(oldest_index, tokens.size());

  // The token just before the oldest kept: nothing after it is missing.
  Follower boundary = Follow(kCambs, tokens[oldest_index - 1]);
  std::vector<CaseFeedback> got = Take(boundary, 1);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].token(), oldest_token);
  Finish(boundary);

  // One earlier: the change after it is gone.
  grpc::Status trimmed = FollowError(kCambs, tokens[oldest_index - 2]);
  EXPECT_EQ(trimmed.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(trimmed.error_message(), HasSubstr("older than the retained changes"));
  EXPECT_EQ(FollowError(kCambs, tokens[0]).error_code(), grpc::StatusCode::OUT_OF_RANGE);

  // An empty token starts at the oldest kept.
  Follower from_start = Follow(kCambs, "");
  got = Take(from_start, 1);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].token(), oldest_token);
  Finish(from_start);
  // Per-case lookups are unaffected by the trim.
  CrimeFeedback crime;
  EXPECT_TRUE(GetCrime(kCambs, "CAMBS/24/0", &crime).ok());
}

}  // namespace
}  // namespace hub::routing::feedback
