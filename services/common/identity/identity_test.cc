#include "services/common/identity/identity.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"

namespace hub::identity {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ParsePrincipalTest, KnowsEveryKind) {
  ASSERT_OK_AND_ASSIGN(CallerIdentity police, ParsePrincipal("police:CAMBS:athena"));
  EXPECT_EQ(police.kind, CallerKind::kPoliceSystem);
  EXPECT_EQ(police.organisation, "CAMBS");
  EXPECT_EQ(police.principal, "police:CAMBS:athena");
  ASSERT_OK_AND_ASSIGN(CallerIdentity provider, ParsePrincipal("provider:idva-cambs"));
  EXPECT_EQ(provider.kind, CallerKind::kProvider);
  ASSERT_OK_AND_ASSIGN(CallerIdentity staff, ParsePrincipal("staff:hub:ops1"));
  EXPECT_EQ(staff.kind, CallerKind::kStaff);
}

TEST(ParsePrincipalTest, RefusesMalformedPrincipals) {
  EXPECT_THAT(ParsePrincipal("police"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(ParsePrincipal("admin:x"),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("kind must be")));
  EXPECT_THAT(ParsePrincipal("police:CA MBS"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(ParsePrincipal("police::x"), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(RequireKindTest, DeniesOtherKindsNamingTheAction) {
  ASSERT_OK_AND_ASSIGN(CallerIdentity provider, ParsePrincipal("provider:isva"));
  EXPECT_THAT(RequireKind(provider, {CallerKind::kProvider}, "list referrals"), IsOk());
  EXPECT_THAT(RequireKind(provider, {CallerKind::kPoliceSystem}, "submit crime reports"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("provider:isva may not submit crime reports")));
}

TEST(IsLoopbackPeerTest, OnlyLoopbackAndUnixSockets) {
  EXPECT_TRUE(IsLoopbackPeer("ipv4:127.0.0.1:5000"));
  EXPECT_TRUE(IsLoopbackPeer("ipv6:[::1]:5000"));
  EXPECT_TRUE(IsLoopbackPeer("unix:/tmp/x"));
  EXPECT_FALSE(IsLoopbackPeer("ipv4:10.0.0.7:5000"));
  EXPECT_FALSE(IsLoopbackPeer("ipv4:128.0.0.1:5000"));
  EXPECT_FALSE(IsLoopbackPeer("ipv6:[2001:db8::1]:5000"));
}

}  // namespace
}  // namespace hub::identity
