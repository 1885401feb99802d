// The referral lifecycle: the full transition table (every pair of the ten states), and what
// each transition must and must not carry.
#include "services/routing/lifecycle/lifecycle.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"

namespace hub::routing::lifecycle {
namespace {

using ::hub::routing::v1::ReferralStatus;
using ::hub::routing::v1::Transition;
using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace v1 = ::hub::routing::v1;

constexpr ReferralStatus kStates[] = {
    v1::REFERRAL_STATUS_REQUESTED,   v1::REFERRAL_STATUS_RECEIVED,
    v1::REFERRAL_STATUS_ACCEPTED,    v1::REFERRAL_STATUS_REJECTED,
    v1::REFERRAL_STATUS_IN_PROGRESS, v1::REFERRAL_STATUS_ON_HOLD,
    v1::REFERRAL_STATUS_COMPLETED,   v1::REFERRAL_STATUS_FAILED,
    v1::REFERRAL_STATUS_CANCELLED,   v1::REFERRAL_STATUS_ENTERED_IN_ERROR};

// The expected table, written out by hand from the FHIR closed-loop referral profile (not
// computed by the code under test). Rows: from; columns: to; in kStates order.
// 1 = allowed, 0 = FAILED_PRECONDITION.
constexpr int kAllowed[10][10] = {
    //          REQ REC ACC REJ INP HLD CMP FLD CAN EIE
    /* REQ */ {0, 1, 0, 0, 0, 0, 0, 0, 1, 1},
    /* REC */ {0, 0, 1, 1, 0, 0, 0, 0, 1, 1},
    /* ACC */ {0, 0, 0, 0, 1, 0, 0, 0, 1, 1},
    /* REJ */ {0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
    /* INP */ {0, 0, 0, 0, 0, 1, 1, 1, 1, 1},
    /* HLD */ {0, 0, 0, 0, 1, 0, 1, 1, 1, 1},
    /* CMP */ {0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
    /* FLD */ {0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
    /* CAN */ {0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
    /* EIE */ {0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
};

// A transition to `to` carrying exactly what that status needs.
Transition WellFormed(ReferralStatus to) {
  Transition t;
  t.set_to(to);
  if (to == v1::REFERRAL_STATUS_REJECTED) {
    t.set_rejection_reason(v1::REJECTION_REASON_AT_CAPACITY);
  } else if (to == v1::REFERRAL_STATUS_COMPLETED) {
    t.mutable_outcome()->set_feel_safer_improved(true);
  } else if (to == v1::REFERRAL_STATUS_FAILED) {
    t.set_closure_reason(v1::CLOSURE_REASON_UNABLE_TO_CONTACT_VICTIM);
  }
  return t;
}

TEST(LifecycleTest, FullTransitionTable) {
  int allowed_count = 0;
  for (int i = 0; i < 10; ++i) {
    for (int j = 0; j < 10; ++j) {
      const ReferralStatus from = kStates[i];
      const ReferralStatus to = kStates[j];
      SCOPED_TRACE(absl::StrCat(StatusName(from), " -> ", StatusName(to)));
      EXPECT_EQ(IsAllowed(from, to), kAllowed[i][j] == 1);
      if (kAllowed[i][j] == 1) {
        ++allowed_count;
        EXPECT_THAT(CheckTransition(from, WellFormed(to)), IsOk());
        absl::StatusOr<ReferralStatus> next = ApplyTransition(from, WellFormed(to));
        ASSERT_THAT(next, IsOk());
        EXPECT_EQ(*next, to);
      } else {
        const std::string message =
            absl::StrCat("cannot go from ", StatusName(from), " to ", StatusName(to));
        EXPECT_THAT(CheckTransition(from, WellFormed(to)),
                    StatusIs(absl::StatusCode::kFailedPrecondition, message));
        EXPECT_THAT(ApplyTransition(from, WellFormed(to)),
                    StatusIs(absl::StatusCode::kFailedPrecondition, message));
      }
    }
  }
  EXPECT_EQ(allowed_count, 24);
}

TEST(LifecycleTest, IllegalMoveNamesBothStates) {
  EXPECT_THAT(
      CheckTransition(v1::REFERRAL_STATUS_COMPLETED, WellFormed(v1::REFERRAL_STATUS_IN_PROGRESS)),
      StatusIs(absl::StatusCode::kFailedPrecondition, "cannot go from COMPLETED to IN_PROGRESS"));
}

TEST(LifecycleTest, IllegalMoveIsReportedBeforeWhatItCarries) {
  // A rejection of an accepted referral is illegal whatever it carries.
  Transition t;
  t.set_to(v1::REFERRAL_STATUS_REJECTED);
  EXPECT_THAT(CheckTransition(v1::REFERRAL_STATUS_ACCEPTED, t),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("ACCEPTED to REJECTED")));
}

TEST(LifecycleTest, FinalStates) {
  for (ReferralStatus status : kStates) {
    const bool final_state =
        status == v1::REFERRAL_STATUS_REJECTED || status == v1::REFERRAL_STATUS_COMPLETED ||
        status == v1::REFERRAL_STATUS_FAILED || status == v1::REFERRAL_STATUS_CANCELLED ||
        status == v1::REFERRAL_STATUS_ENTERED_IN_ERROR;
    EXPECT_EQ(IsFinal(status), final_state) << StatusName(status);
  }
  EXPECT_EQ(kInitialStatus, v1::REFERRAL_STATUS_REQUESTED);
}

TEST(LifecycleTest, NextStatuses) {
  EXPECT_THAT(NextStatuses(v1::REFERRAL_STATUS_RECEIVED),
              ElementsAre(v1::REFERRAL_STATUS_ACCEPTED, v1::REFERRAL_STATUS_REJECTED,
                          v1::REFERRAL_STATUS_CANCELLED, v1::REFERRAL_STATUS_ENTERED_IN_ERROR));
  EXPECT_THAT(NextStatuses(v1::REFERRAL_STATUS_ON_HOLD),
              ElementsAre(v1::REFERRAL_STATUS_IN_PROGRESS, v1::REFERRAL_STATUS_COMPLETED,
                          v1::REFERRAL_STATUS_FAILED, v1::REFERRAL_STATUS_CANCELLED,
                          v1::REFERRAL_STATUS_ENTERED_IN_ERROR));
  EXPECT_THAT(NextStatuses(v1::REFERRAL_STATUS_ENTERED_IN_ERROR), ElementsAre());
}

TEST(LifecycleTest, UnspecifiedOrUnknownStatusesAreInvalidArguments) {
  EXPECT_THAT(
      CheckTransition(v1::REFERRAL_STATUS_UNSPECIFIED, WellFormed(v1::REFERRAL_STATUS_RECEIVED)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("from")));
  EXPECT_THAT(
      CheckTransition(v1::REFERRAL_STATUS_REQUESTED, WellFormed(v1::REFERRAL_STATUS_UNSPECIFIED)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("to")));
  Transition unknown;
  unknown.set_to(static_cast<ReferralStatus>(42));
  EXPECT_THAT(CheckTransition(v1::REFERRAL_STATUS_REQUESTED, unknown),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("UNKNOWN(42)")));
  EXPECT_FALSE(IsAllowed(v1::REFERRAL_STATUS_UNSPECIFIED, v1::REFERRAL_STATUS_CANCELLED));
}

TEST(LifecycleTest, RejectionMustCarryAReason) {
  Transition t;
  t.set_to(v1::REFERRAL_STATUS_REJECTED);
  EXPECT_THAT(CheckTransition(v1::REFERRAL_STATUS_RECEIVED, t),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rejection_reason")));
  for (auto reason : {v1::REJECTION_REASON_AT_CAPACITY, v1::REJECTION_REASON_INELIGIBLE,
                      v1::REJECTION_REASON_NO_SAFE_CONTACT, v1::REJECTION_REASON_DUPLICATE,
                      v1::REJECTION_REASON_OTHER}) {
    t.set_rejection_reason(reason);
    EXPECT_THAT(CheckTransition(v1::REFERRAL_STATUS_RECEIVED, t), IsOk());
  }
  t.set_rejection_reason(static_cast<v1::RejectionReason>(99));
  EXPECT_THAT(CheckTransition(v1::REFERRAL_STATUS_RECEIVED, t),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown value 99")));
}

TEST(LifecycleTest, CompletionCarriesAnOutcomeOrAClosureReason) {
  Transition t;
  t.set_to(v1::REFERRAL_STATUS_COMPLETED);
  EXPECT_THAT(CheckTransition(v1::REFERRAL_STATUS_IN_PROGRESS, t),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outcome")));
  // An outcome with no measure assessed says nothing: not enough on its own.
  t.mutable_outcome();
  EXPECT_THAT(CheckTransition(v1::REFERRAL_STATUS_IN_PROGRESS, t),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least one measure")));
  // A measure assessed as not improved is still an outcome.
  t.mutable_outcome()->set_health_and_wellbeing_improved(false);
  EXPECT_THAT(CheckTransition(v1::REFERRAL_STATUS_IN_PROGRESS, t), IsOk());

  Transition closed;
  closed.set_to(v1::REFERRAL_STATUS_COMPLETED);
  closed.set_closure_reason(v1::CLOSURE_REASON_SERVICES_NO_LONGER_NEEDED);
  EXPECT_THAT(CheckTransition(v1::REFERRAL_STATUS_ON_HOLD, closed), IsOk());

  // Both: some support was given, then the victim no longer needed it.
  *closed.mutable_outcome() = t.outcome();
  EXPECT_THAT(CheckTransition(v1::REFERRAL_STATUS_ON_HOLD, closed), IsOk());
}

TEST(LifecycleTest, FailureMustCarryAClosureReason) {
  Transition t;
  t.set_to(v1::REFERRAL_STATUS_FAILED);
  EXPECT_THAT(CheckTransition(v1::REFERRAL_STATUS_IN_PROGRESS, t),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("closure_reason")));
  for (auto reason :
       {v1::CLOSURE_REASON_VICTIM_REFUSED_SERVICES, v1::CLOSURE_REASON_LACK_OF_CAPACITY,
        v1::CLOSURE_REASON_SERVICES_NO_LONGER_NEEDED, v1::CLOSURE_REASON_UNABLE_TO_CONTACT_VICTIM,
        v1::CLOSURE_REASON_UNABLE_TO_CONTACT_PROVIDER, v1::CLOSURE_REASON_OTHER}) {
    t.set_closure_reason(reason);
    EXPECT_THAT(CheckTransition(v1::REFERRAL_STATUS_IN_PROGRESS, t), IsOk());
  }
  // Failed support has no cope-and-recover outcome to report.
  t.mutable_outcome()->set_feel_safer_improved(true);
  EXPECT_THAT(CheckTransition(v1::REFERRAL_STATUS_IN_PROGRESS, t),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outcome")));
}

TEST(LifecycleTest, CancellationMayCarryAClosureReason) {
  Transition t;
  t.set_to(v1::REFERRAL_STATUS_CANCELLED);
  EXPECT_THAT(CheckTransition(v1::REFERRAL_STATUS_REQUESTED, t), IsOk());
  t.set_closure_reason(v1::CLOSURE_REASON_VICTIM_REFUSED_SERVICES);
  EXPECT_THAT(CheckTransition(v1::REFERRAL_STATUS_REQUESTED, t), IsOk());
  t.set_rejection_reason(v1::REJECTION_REASON_DUPLICATE);
  EXPECT_THAT(CheckTransition(v1::REFERRAL_STATUS_REQUESTED, t),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rejection_reason")));
}

// Every state that takes nothing refuses every kind of reason and an outcome.
TEST(LifecycleTest, ReasonsOnTransitionsThatTakeNoneAreInvalid) {
  struct Case {
    ReferralStatus from;
    ReferralStatus to;
  };
  const Case cases[] = {
      {v1::REFERRAL_STATUS_REQUESTED, v1::REFERRAL_STATUS_RECEIVED},
      {v1::REFERRAL_STATUS_RECEIVED, v1::REFERRAL_STATUS_ACCEPTED},
      {v1::REFERRAL_STATUS_ACCEPTED, v1::REFERRAL_STATUS_IN_PROGRESS},
      {v1::REFERRAL_STATUS_IN_PROGRESS, v1::REFERRAL_STATUS_ON_HOLD},
      {v1::REFERRAL_STATUS_ON_HOLD, v1::REFERRAL_STATUS_IN_PROGRESS},
      {v1::REFERRAL_STATUS_COMPLETED, v1::REFERRAL_STATUS_ENTERED_IN_ERROR},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(StatusName(c.from), " -> ", StatusName(c.to)));
    Transition t;
    t.set_to(c.to);
    EXPECT_THAT(CheckTransition(c.from, t), IsOk());
    Transition with_rejection = t;
    with_rejection.set_rejection_reason(v1::REJECTION_REASON_OTHER);
    EXPECT_THAT(CheckTransition(c.from, with_rejection),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rejection_reason")));
    Transition with_closure = t;
    with_closure.set_closure_reason(v1::CLOSURE_REASON_OTHER);
    EXPECT_THAT(CheckTransition(c.from, with_closure),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("closure_reason")));
    Transition with_outcome = t;
    with_outcome.mutable_outcome()->set_access_services_improved(true);
    EXPECT_THAT(CheckTransition(c.from, with_outcome),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outcome")));
  }
}

TEST(LifecycleTest, StatusNames) {
  EXPECT_EQ(StatusName(v1::REFERRAL_STATUS_ENTERED_IN_ERROR), "ENTERED_IN_ERROR");
  EXPECT_EQ(StatusName(v1::REFERRAL_STATUS_UNSPECIFIED), "UNSPECIFIED");
}

}  // namespace
}  // namespace hub::routing::lifecycle
