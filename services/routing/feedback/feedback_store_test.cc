// FeedbackStore's pure parts: feed tokens, what may go into keys (nothing that could change a
// key's hash tag), and that bad input never reaches Redis. The scripts run against a real
// Redis in tests/integration/feedback.
#include "services/routing/feedback/feedback_store.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/redis/recording_redis.h"
#include "services/common/status/status_matchers.h"

namespace hub::routing::feedback {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::IsOkAndHolds;
using ::hub::testing::StatusIs;
using ::testing::AllOf;
using ::testing::Field;
using ::testing::HasSubstr;

TEST(FeedTokenTest, ParsesStreamEntryIdsAndRoundTrips) {
  EXPECT_THAT(
      ParseFeedToken("after_token", "1760000000000-0"),
      IsOkAndHolds(AllOf(Field(&FeedToken::ms, 1760000000000u), Field(&FeedToken::seq, 0u))));
  EXPECT_THAT(ParseFeedToken("after_token", "18446744073709551615-18446744073709551615"), IsOk());
  ASSERT_OK_AND_ASSIGN(FeedToken token, ParseFeedToken("after_token", "1760000000000-17"));
  EXPECT_EQ(token.ToString(), "1760000000000-17");
}

TEST(FeedTokenTest, RefusesAnythingElseNamingTheField) {
  for (const char* bad : {"", "-", "1", "1-", "-1", "1-2-3", "a-1", "1-b", " 1-2", "1-2 ", "+1-2",
                          "18446744073709551616-0", "(1-2", "$", "1760000000000-0{x}"}) {
    EXPECT_THAT(ParseFeedToken("after_token", bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("after_token")))
        << bad;
  }
}

TEST(FeedTokenTest, OrdersByTimeThenSequence) {
  const FeedToken a{100, 5};
  const FeedToken b{100, 6};
  const FeedToken c{101, 0};
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(a, (FeedToken{100, 5}));
  // Numeric, not textual: "9-0" comes before "10-0".
  EXPECT_LT(*ParseFeedToken("t", "9-0"), *ParseFeedToken("t", "10-0"));
}

TEST(KeyPartsTest, ForcesAreLettersDigitsAndSafePunctuation) {
  for (const std::string& good : {std::string("CAMBS"), std::string("MET"), std::string("cambs-2"),
                                  std::string("A.B_C"), std::string(64, 'X')}) {
    EXPECT_THAT(ValidateForce("force", good), IsOk()) << good;
  }
  for (const std::string& bad :
       {std::string(""), std::string(65, 'X'), std::string("CA{MBS"), std::string("CAMBS}"),
        std::string("CA:MBS"), std::string("CA MBS"), std::string("CA/MBS"), std::string("CA\nMBS"),
        std::string("CA\0MBS", 6)}) {
    EXPECT_THAT(ValidateForce("force", bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("force")))
        << bad;
  }
}

TEST(KeyPartsTest, CrimeReferencesAllowSlashesButNoBraces) {
  for (const char* good : {"CAMBS/24/001234", "35-AB-1234", "ref_1.2", "X"}) {
    EXPECT_THAT(ValidateCrimeReference("crime_reference", good), IsOk()) << good;
  }
  for (const std::string& bad :
       {std::string(""), std::string(65, '1'), std::string("{CAMBS}"), std::string("A}"),
        std::string("A:B"), std::string("A*"), std::string("A B"), std::string("A\\B")}) {
    EXPECT_THAT(ValidateCrimeReference("crime_reference", bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("crime_reference")))
        << bad;
  }
}

TEST(KeyPartsTest, CaseIds) {
  EXPECT_THAT(ValidateCaseId("case_id", "c_0123456789abcdef01234567"), IsOk());
  EXPECT_THAT(ValidateCaseId("case_id", std::string(128, 'c')), IsOk());
  EXPECT_THAT(ValidateCaseId("case_id", std::string(129, 'c')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("case_id")));
  EXPECT_THAT(ValidateCaseId("case_id", "c_{1}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("case_id")));
}

TEST(FeedbackStoreTest, EveryKeyOfAForceSharesItsHashTag) {
  redis::testing::RecordingRedis redis;
  FeedbackStore store(&redis, "hub");
  EXPECT_EQ(store.CaseKey("CAMBS", "c_1"), "hub:feedback:{CAMBS}:case:c_1");
  EXPECT_EQ(store.AppliedKey("CAMBS", "c_1"), "hub:feedback:{CAMBS}:applied:c_1");
  EXPECT_EQ(store.CrimeKey("CAMBS", "CAMBS/24/1"), "hub:feedback:{CAMBS}:crime:CAMBS/24/1");
  EXPECT_EQ(store.ChangesKey("CAMBS"), "hub:feedback:{CAMBS}:changes");
}

TEST(FeedbackStoreTest, BadInputNeverReachesRedis) {
  redis::testing::RecordingRedis redis;
  FeedbackStore store(&redis, "hub");
  const FeedbackStore::Change no_change = [](CaseState*) { return absl::OkStatus(); };
  EXPECT_THAT(store.Apply("{CAMBS}", "c_1", "e1", no_change),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("force")));
  EXPECT_THAT(store.Apply("CAMBS", "c}1", "e1", no_change),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("case_id")));
  EXPECT_THAT(store.Apply("CAMBS", "c_1", "", no_change),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("event id")));
  EXPECT_THAT(store.GetCrime("CAMBS", "A{B}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("crime_reference")));
  EXPECT_THAT(store.GetCase("CAMBS", ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("case_id")));
  EXPECT_THAT(store.ReadChanges("CAMBS", std::nullopt, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit")));
  EXPECT_THAT(store.ReadChanges("CAMBS", std::nullopt, FeedbackStore::kMaxReadLimit + 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit")));
  EXPECT_EQ(redis.calls, 0);
}

TEST(FeedbackStoreTest, RedisDownIsUnavailable) {
  redis::testing::RecordingRedis redis;
  FeedbackStore store(&redis, "hub");
  EXPECT_THAT(store.Apply("CAMBS", "c_1", "e1", [](CaseState*) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store.GetCrime("CAMBS", "CAMBS/1"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store.ReadChanges("CAMBS", FeedToken{1, 0}, 10),
              StatusIs(absl::StatusCode::kUnavailable));
  // The read touches only the force's feed.
  ASSERT_EQ(redis.script_keys.size(), 1u);
  EXPECT_THAT(redis.script_keys[0], ::testing::ElementsAre("hub:feedback:{CAMBS}:changes"));
}

}  // namespace
}  // namespace hub::routing::feedback
