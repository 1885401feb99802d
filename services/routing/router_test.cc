// Routing's ids and priorities: stable across restarts (they make every step idempotent)
// and safe to put in Redis keys. Routing's behaviour is tested against real Redis and Kafka
// in tests/integration/routing.
#include "services/routing/router.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"

namespace hub::routing {
namespace {

namespace ev = ::hub::events::v1;
namespace rv1 = ::hub::routing::v1;
using ::hub::testing::IsOk;

TEST(RouterIds, AreStableAndSafeForKeys) {
  EXPECT_EQ(ReferralIdFor("c_0123456789abcdef01234567", 1, "idva-cambs"),
            "c_0123456789abcdef01234567:1:idva-cambs");
  EXPECT_EQ(ReferralIdFor("c_0123456789abcdef01234567", 2, "idva-peterborough", "idva-cambs"),
            "c_0123456789abcdef01234567:2:idva-peterborough:after:idva-cambs");
  EXPECT_THAT(referrals::ValidateReferralKeyPart(
                  "referral_id", ReferralIdFor("c_0123456789abcdef01234567", 99,
                                               "restorative-justice", "stalking-advocacy")),
              IsOk());
  EXPECT_GT(WaitingPriority(ev::PRIORITY_IMMEDIATE), WaitingPriority(ev::PRIORITY_ENHANCED));
  EXPECT_GT(WaitingPriority(ev::PRIORITY_ENHANCED), WaitingPriority(ev::PRIORITY_STANDARD));
}

TEST(RouterKinds, FollowTheStatusAndWhetherTheOfferWasMade) {
  rv1::ReferralRecord record;
  record.set_status(rv1::REFERRAL_STATUS_REQUESTED);
  EXPECT_EQ(KindOf(record), ev::REFERRAL_EVENT_KIND_WAITING);
  record.set_offer_sequence(4);
  EXPECT_EQ(KindOf(record), ev::REFERRAL_EVENT_KIND_OFFERED);
  record.set_status(rv1::REFERRAL_STATUS_CANCELLED);
  EXPECT_EQ(KindOf(record), ev::REFERRAL_EVENT_KIND_CANCELLED);
  record.set_closure_reason(rv1::CLOSURE_REASON_UNABLE_TO_CONTACT_PROVIDER);
  EXPECT_EQ(KindOf(record), ev::REFERRAL_EVENT_KIND_LAPSED);
  record.set_status(rv1::REFERRAL_STATUS_ON_HOLD);
  EXPECT_EQ(KindOf(record), ev::REFERRAL_EVENT_KIND_ON_HOLD);
}

}  // namespace
}  // namespace hub::routing
