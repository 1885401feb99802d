// ReferralStore and OfferLog against a real Redis: offer sequences stay gap-free and unique
// under many concurrent appenders, an offer appended twice is issued once, a reconnecting
// provider resumes exactly after its last acknowledged offer, acknowledgements never go
// back; a provider can neither see nor change another provider's referral and cannot tell
// it from a missing one; illegal moves are FAILED_PRECONDITION; and of two racing moves on
// one referral exactly one wins, the other re-reads and is refused.
#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"
#include "services/routing/referrals/offer_log.h"
#include "services/routing/referrals/referral_store.h"
#include "tests/support/test_env.h"

namespace hub::routing::referrals {
namespace {

using ::hub::routing::v1::ReferralRecord;
using ::hub::routing::v1::ReferralStatus;
using ::hub::testing::IsOk;
using ::hub::testing::IsOkAndHolds;
using ::hub::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int kThreads = 16;
constexpr int kPerThread = 50;
constexpr char kProvider[] = "idva-cambs";
constexpr char kOtherProvider[] = "isva-cambs";

const absl::Time kT0 = absl::FromUnixMillis(1'760'000'000'000);

hub::routing::v1::Transition To(ReferralStatus to) {
  hub::routing::v1::Transition t;
  t.set_to(to);
  return t;
}

hub::routing::v1::Transition Reject(hub::routing::v1::RejectionReason reason) {
  hub::routing::v1::Transition t = To(hub::routing::v1::REFERRAL_STATUS_REJECTED);
  t.set_rejection_reason(reason);
  return t;
}

std::vector<int64_t> Sequences(const std::vector<LoggedOffer>& offers) {
  std::vector<int64_t> sequences;
  sequences.reserve(offers.size());
  for (const LoggedOffer& offer : offers) {
    sequences.push_back(offer.sequence);
  }
  return sequences;
}

class ReferralsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(hub::testing::HostPort address, hub::testing::RedisFromEnv());
    redis::RedisConfig config;
    config.host = address.host;
    config.port = address.port;
    config.pool_size = kThreads + 2;
    config.command_timeout = absl::Seconds(10);
    ASSERT_OK_AND_ASSIGN(redis_, redis::CreateRedisClient(config));
    // A namespace per test keeps every key our own.
    ns_ = absl::StrCat("t", std::hash<std::string>{}(hub::testing::UniqueName("ref")) % 1000000000);
    store_ = std::make_unique<ReferralStore>(redis_.get(), ns_);
    log_ = std::make_unique<OfferLog>(redis_.get(), ns_);
  }

  ReferralRecord NewRecord(const std::string& id, const std::string& provider,
                           absl::Time created_at = kT0) {
    ReferralRecord record;
    record.set_referral_id(id);
    record.set_case_id("c_0123456789abcdef01234567");
    record.set_provider_key(provider);
    record.add_needs("emotional_support");
    record.set_priority(hub::events::v1::PRIORITY_ENHANCED);
    record.set_enhanced(true);
    record.set_crime_category("domestic_abuse");
    *record.mutable_created_at() =
        google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(created_at));
    return record;
  }

  // Creates a referral and moves it to RECEIVED (as routing does once the offer is read).
  ReferralRecord CreateReceived(const std::string& id, const std::string& provider) {
    absl::StatusOr<ReferralRecord> created = store_->Create(NewRecord(id, provider));
    EXPECT_THAT(created, IsOk());
    absl::StatusOr<ReferralRecord> received = store_->TransitionAsSystem(
        id, To(hub::routing::v1::REFERRAL_STATUS_RECEIVED), kT0, "system:routing");
    EXPECT_THAT(received, IsOk());
    return received.value_or(ReferralRecord());
  }

  std::string ns_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<ReferralStore> store_;
  std::unique_ptr<OfferLog> log_;
};

// ---------------------------------------------------------------------------------------
// OfferLog

TEST_F(ReferralsTest, ConcurrentAppendsGetGapFreeUniqueSequences) {
  std::vector<std::thread> threads;
  absl::Mutex mu;
  std::vector<int64_t> issued;
  std::atomic<int> errors{0};
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        absl::StatusOr<Appended> appended =
            log_->Append(kProvider, absl::StrCat("offer-", t, "-", i), absl::StrCat("p", t, i));
        if (!appended.ok() || !appended->added) {
          errors.fetch_add(1);
          continue;
        }
        absl::MutexLock lock(&mu);
        issued.push_back(appended->sequence);
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(errors.load(), 0);
  constexpr int64_t kTotal = int64_t{kThreads} * kPerThread;
  std::sort(issued.begin(), issued.end());
  std::vector<int64_t> expected(kTotal);
  for (int64_t i = 0; i < kTotal; ++i) {
    expected[i] = i + 1;
  }
  EXPECT_EQ(issued, expected);
  EXPECT_THAT(log_->LastSequence(kProvider), IsOkAndHolds(kTotal));

  // Read back in pages: every offer once, in order, each with its own id and payload.
  std::vector<LoggedOffer> all;
  int64_t after = 0;
  while (true) {
    ASSERT_OK_AND_ASSIGN(std::vector<LoggedOffer> page, log_->After(kProvider, after, 128));
    if (page.empty()) {
      break;
    }
    after = page.back().sequence;
    all.insert(all.end(), page.begin(), page.end());
  }
  EXPECT_EQ(Sequences(all), expected);
  std::set<std::string> ids;
  for (const LoggedOffer& offer : all) {
    ids.insert(offer.offer_id);
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kTotal));
}

TEST_F(ReferralsTest, AppendingAnOfferAgainReturnsItsSequenceAndAddsNothing) {
  ASSERT_OK_AND_ASSIGN(Appended first, log_->Append(kProvider, "offer-a", "one"));
  ASSERT_OK_AND_ASSIGN(Appended second, log_->Append(kProvider, "offer-b", "two"));
  ASSERT_OK_AND_ASSIGN(Appended again, log_->Append(kProvider, "offer-a", "changed"));
  EXPECT_EQ(first.sequence, 1);
  EXPECT_TRUE(first.added);
  EXPECT_EQ(second.sequence, 2);
  EXPECT_EQ(again.sequence, 1);
  EXPECT_FALSE(again.added);
  ASSERT_OK_AND_ASSIGN(std::vector<LoggedOffer> offers, log_->After(kProvider, 0, 10));
  ASSERT_EQ(offers.size(), 2u);
  EXPECT_EQ(offers[0].offer_id, "offer-a");
  EXPECT_EQ(offers[0].payload, "one");
  EXPECT_EQ(offers[1].offer_id, "offer-b");

  // Many threads appending the same offer: one sequence, one entry.
  std::vector<std::thread> threads;
  threads.reserve(kThreads + 1);
  std::atomic<int> added{0};
  std::atomic<int> wrong{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      absl::StatusOr<Appended> appended = log_->Append(kProvider, "offer-c", "three");
      if (!appended.ok() || appended->sequence != 3) {
        wrong.fetch_add(1);
      } else if (appended->added) {
        added.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(added.load(), 1);
  EXPECT_THAT(log_->LastSequence(kProvider), IsOkAndHolds(int64_t{3}));
}

TEST_F(ReferralsTest, PayloadsAreBinarySafe) {
  const std::string payload("\0\x01\xff{}\r\n", 7);
  ASSERT_THAT(log_->Append(kProvider, "offer-bin", payload), IsOk());
  ASSERT_OK_AND_ASSIGN(std::vector<LoggedOffer> offers, log_->After(kProvider, 0, 1));
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].payload, payload);
}

TEST_F(ReferralsTest, AReconnectingProviderResumesAfterItsLastAcknowledgement) {
  constexpr int kOffers = 20;
  for (int i = 1; i <= kOffers; ++i) {
    ASSERT_THAT(log_->Append(kProvider, absl::StrCat("offer-", i), absl::StrCat("p", i)), IsOk());
  }
  // First connection: reads everything, acknowledges the first half, then drops.
  ASSERT_OK_AND_ASSIGN(std::vector<LoggedOffer> first, log_->After(kProvider, 0, 100));
  ASSERT_EQ(first.size(), static_cast<size_t>(kOffers));
  EXPECT_THAT(log_->Acknowledge(kProvider, first[kOffers / 2 - 1].sequence),
              IsOkAndHolds(int64_t{kOffers / 2}));

  // Offers made while it was away.
  ASSERT_THAT(log_->Append(kProvider, "offer-late", "late"), IsOk());

  // Reconnect: exactly the unacknowledged rest, then the new one; nothing lost or repeated.
  ASSERT_OK_AND_ASSIGN(std::vector<LoggedOffer> pending, log_->Pending(kProvider, 100));
  std::vector<int64_t> expected;
  for (int64_t s = kOffers / 2 + 1; s <= kOffers + 1; ++s) {
    expected.push_back(s);
  }
  EXPECT_EQ(Sequences(pending), expected);
  EXPECT_EQ(pending.back().offer_id, "offer-late");

  // A stale acknowledgement (from an old stream) never moves the pointer back.
  EXPECT_THAT(log_->Acknowledge(kProvider, 3), IsOkAndHolds(int64_t{kOffers / 2}));
  EXPECT_THAT(log_->Acknowledged(kProvider), IsOkAndHolds(int64_t{kOffers / 2}));
  // Acknowledging beyond the last issued stops at the last issued.
  EXPECT_THAT(log_->Acknowledge(kProvider, 1000), IsOkAndHolds(int64_t{kOffers + 1}));
  EXPECT_THAT(log_->Pending(kProvider, 100), IsOkAndHolds(IsEmpty()));
  // The next offer is pending at once.
  ASSERT_THAT(log_->Append(kProvider, "offer-next", "next"), IsOk());
  ASSERT_OK_AND_ASSIGN(std::vector<LoggedOffer> next, log_->Pending(kProvider, 100));
  EXPECT_THAT(Sequences(next), ElementsAre(kOffers + 2));
}

TEST_F(ReferralsTest, ConcurrentAcknowledgementsNeverGoBack) {
  constexpr int kOffers = 200;
  for (int i = 1; i <= kOffers; ++i) {
    ASSERT_THAT(log_->Append(kProvider, absl::StrCat("offer-", i), "p"), IsOk());
  }
  std::vector<std::thread> threads;
  threads.reserve(kThreads + 1);
  std::atomic<int> went_back{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      int64_t seen = 0;
      for (int i = 0; i < kOffers; i += kThreads) {
        // Stale and fresh acknowledgements interleave; none beyond the next-to-last offer.
        const int64_t sequence = std::min(i + t, kOffers - 1);
        absl::StatusOr<int64_t> pointer = log_->Acknowledge(kProvider, sequence);
        if (!pointer.ok() || *pointer < seen || *pointer < sequence) {
          went_back.fetch_add(1);
          continue;
        }
        seen = *pointer;
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(went_back.load(), 0);
  ASSERT_OK_AND_ASSIGN(int64_t acknowledged, log_->Acknowledged(kProvider));
  EXPECT_EQ(acknowledged, kOffers - 1);
  EXPECT_THAT(Sequences(log_->Pending(kProvider, 10).value_or(std::vector<LoggedOffer>())),
              ElementsAre(kOffers));
}

TEST_F(ReferralsTest, AcknowledgedOffersBeyondTheRetentionAreTrimmedButPendingOnesKept) {
  OfferLog log(redis_.get(), ns_, /*retain_acknowledged=*/5);
  for (int i = 1; i <= 30; ++i) {
    ASSERT_THAT(log.Append(kProvider, absl::StrCat("offer-", i), "p"), IsOk());
  }
  EXPECT_THAT(log.Acknowledge(kProvider, 20), IsOkAndHolds(int64_t{20}));
  // The 5 newest acknowledged (16..20) and every pending one (21..30) are kept.
  ASSERT_OK_AND_ASSIGN(std::vector<LoggedOffer> kept, log.After(kProvider, 0, 100));
  ASSERT_FALSE(kept.empty());
  EXPECT_EQ(kept.front().sequence, 16);
  EXPECT_EQ(kept.back().sequence, 30);
  EXPECT_EQ(kept.size(), 15u);
  ASSERT_OK_AND_ASSIGN(std::vector<LoggedOffer> pending, log.Pending(kProvider, 100));
  EXPECT_EQ(pending.size(), 10u);
  // A trimmed offer appended again is still not re-issued.
  EXPECT_THAT(log.Append(kProvider, "offer-3", "p"),
              IsOkAndHolds(Field(&Appended::sequence, int64_t{3})));
  EXPECT_THAT(log.LastSequence(kProvider), IsOkAndHolds(int64_t{30}));
}

TEST_F(ReferralsTest, ProvidersHaveTheirOwnSequences) {
  ASSERT_THAT(log_->Append(kProvider, "offer-1", "p"), IsOk());
  ASSERT_THAT(log_->Append(kProvider, "offer-2", "p"), IsOk());
  EXPECT_THAT(log_->Append(kOtherProvider, "offer-3", "p"),
              IsOkAndHolds(Field(&Appended::sequence, int64_t{1})));
  EXPECT_THAT(log_->Acknowledge(kOtherProvider, 1), IsOkAndHolds(int64_t{1}));
  EXPECT_THAT(log_->Acknowledged(kProvider), IsOkAndHolds(int64_t{0}));
  EXPECT_THAT(Sequences(log_->Pending(kProvider, 10).value_or(std::vector<LoggedOffer>())),
              ElementsAre(1, 2));
}

// ---------------------------------------------------------------------------------------
// ReferralStore

TEST_F(ReferralsTest, CreateIsIdempotentByReferralId) {
  ASSERT_OK_AND_ASSIGN(ReferralRecord created, store_->Create(NewRecord("ref-1", kProvider)));
  EXPECT_EQ(created.status(), hub::routing::v1::REFERRAL_STATUS_REQUESTED);
  EXPECT_EQ(created.version(), 1);
  EXPECT_EQ(created.updated_at().seconds(), created.created_at().seconds());

  ReferralRecord different = NewRecord("ref-1", kOtherProvider, kT0 + absl::Hours(1));
  different.set_crime_category("burglary");
  ASSERT_OK_AND_ASSIGN(ReferralRecord again, store_->Create(different));
  EXPECT_EQ(again.SerializeAsString(), created.SerializeAsString());
  ASSERT_OK_AND_ASSIGN(std::optional<ReferralRecord> stored, store_->Get("ref-1"));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->provider_key(), kProvider);
  EXPECT_EQ(stored->crime_category(), "domestic_abuse");
  // Listed once, under its own provider only.
  ASSERT_OK_AND_ASSIGN(ReferralPage mine, store_->ListForProvider(kProvider, {}, 10, ""));
  EXPECT_EQ(mine.referrals.size(), 1u);
  ASSERT_OK_AND_ASSIGN(ReferralPage theirs, store_->ListForProvider(kOtherProvider, {}, 10, ""));
  EXPECT_THAT(theirs.referrals, IsEmpty());
  ASSERT_OK_AND_ASSIGN(std::optional<ReferralRecord> missing, store_->Get("ref-missing"));
  EXPECT_FALSE(missing.has_value());
}

TEST_F(ReferralsTest, ListsNewestFirstInPagesWithAStatusFilter) {
  constexpr int kReferrals = 25;
  for (int i = 0; i < kReferrals; ++i) {
    ASSERT_THAT(
        store_->Create(NewRecord(absl::StrCat("ref-", 100 + i), kProvider, kT0 + absl::Minutes(i))),
        IsOk());
  }
  ASSERT_THAT(store_->Create(NewRecord("ref-other", kOtherProvider)), IsOk());
  // Every third one received.
  for (int i = 0; i < kReferrals; i += 3) {
    ASSERT_THAT(store_->TransitionAsSystem(absl::StrCat("ref-", 100 + i),
                                           To(hub::routing::v1::REFERRAL_STATUS_RECEIVED), kT0,
                                           "system:routing"),
                IsOk());
  }

  std::vector<std::string> listed;
  std::string token;
  int pages = 0;
  do {
    ASSERT_OK_AND_ASSIGN(ReferralPage page, store_->ListForProvider(kProvider, {}, 10, token));
    for (const ReferralRecord& record : page.referrals) {
      listed.push_back(record.referral_id());
    }
    token = page.next_page_token;
    ++pages;
    // A referral created while paging does not disturb the pages still to come.
    if (pages == 1) {
      ASSERT_THAT(store_->Create(NewRecord("ref-new", kProvider, kT0 + absl::Hours(5))), IsOk());
    }
  } while (!token.empty() && pages < 10);
  std::vector<std::string> expected;
  for (int i = kReferrals - 1; i >= 0; --i) {
    expected.push_back(absl::StrCat("ref-", 100 + i));
  }
  EXPECT_EQ(listed, expected);
  EXPECT_EQ(pages, 3);

  std::vector<std::string> received;
  token.clear();
  do {
    ASSERT_OK_AND_ASSIGN(
        ReferralPage page,
        store_->ListForProvider(kProvider, {hub::routing::v1::REFERRAL_STATUS_RECEIVED}, 4, token));
    for (const ReferralRecord& record : page.referrals) {
      EXPECT_EQ(record.status(), hub::routing::v1::REFERRAL_STATUS_RECEIVED);
      received.push_back(record.referral_id());
    }
    token = page.next_page_token;
  } while (!token.empty());
  EXPECT_THAT(received, ElementsAre("ref-124", "ref-121", "ref-118", "ref-115", "ref-112",
                                    "ref-109", "ref-106", "ref-103", "ref-100"));

  // Another provider's referral id as a token is refused like any bad token.
  EXPECT_THAT(store_->ListForProvider(kProvider, {}, 10, EncodePageToken("ref-other")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
}

TEST_F(ReferralsTest, AProviderCannotSeeOrChangeAnotherProvidersReferral) {
  CreateReceived("ref-1", kProvider);
  const hub::routing::v1::Transition accept = To(hub::routing::v1::REFERRAL_STATUS_ACCEPTED);

  absl::StatusOr<ReferralRecord> theirs =
      store_->Transition("ref-1", kOtherProvider, accept, kT0, "provider:isva-cambs");
  absl::StatusOr<ReferralRecord> missing =
      store_->Transition("ref-nope", kOtherProvider, accept, kT0, "provider:isva-cambs");
  EXPECT_THAT(theirs, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kPermissionDenied));
  // The same answer apart from the id the caller gave: existence does not leak.
  EXPECT_EQ(theirs.status().message(), "referral ref-1 is not one of this provider's referrals");
  EXPECT_EQ(missing.status().message(),
            "referral ref-nope is not one of this provider's referrals");
  EXPECT_THAT(store_->GetForProvider("ref-1", kOtherProvider),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(store_->GetForProvider("ref-1", kProvider), IsOk());

  // Nothing changed.
  ASSERT_OK_AND_ASSIGN(std::optional<ReferralRecord> stored, store_->Get("ref-1"));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->status(), hub::routing::v1::REFERRAL_STATUS_RECEIVED);
  EXPECT_EQ(stored->version(), 2);
}

TEST_F(ReferralsTest, IllegalMovesAreRefusedAndLegalOnesRecordedInHistory) {
  ASSERT_THAT(store_->Create(NewRecord("ref-1", kProvider)), IsOk());
  // REQUESTED cannot be accepted before it is received.
  EXPECT_THAT(store_->Transition("ref-1", kProvider, To(hub::routing::v1::REFERRAL_STATUS_ACCEPTED),
                                 kT0, "provider:idva-cambs"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_THAT(store_->TransitionAsSystem("ref-1", To(hub::routing::v1::REFERRAL_STATUS_RECEIVED),
                                         kT0 + absl::Minutes(1), "system:routing"),
              IsOk());
  // A rejection without a reason is an invalid argument, not a precondition.
  EXPECT_THAT(store_->Transition("ref-1", kProvider, To(hub::routing::v1::REFERRAL_STATUS_REJECTED),
                                 kT0, "provider:idva-cambs"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(store_->Transition("ref-1", kProvider, To(hub::routing::v1::REFERRAL_STATUS_ACCEPTED),
                                 kT0 + absl::Minutes(2), "provider:idva-cambs"),
              IsOk());
  ASSERT_THAT(
      store_->Transition("ref-1", kProvider, To(hub::routing::v1::REFERRAL_STATUS_IN_PROGRESS),
                         kT0 + absl::Minutes(3), "provider:idva-cambs"),
      IsOk());
  hub::routing::v1::Transition complete = To(hub::routing::v1::REFERRAL_STATUS_COMPLETED);
  complete.mutable_outcome()->set_feel_safer_improved(true);
  ASSERT_OK_AND_ASSIGN(ReferralRecord done,
                       store_->Transition("ref-1", kProvider, complete, kT0 + absl::Minutes(4),
                                          "provider:idva-cambs"));
  EXPECT_EQ(done.status(), hub::routing::v1::REFERRAL_STATUS_COMPLETED);
  EXPECT_TRUE(done.outcome().feel_safer_improved());
  EXPECT_EQ(done.version(), 5);
  EXPECT_EQ(google::protobuf::util::TimeUtil::TimestampToMilliseconds(done.updated_at()),
            absl::ToUnixMillis(kT0 + absl::Minutes(4)));
  ASSERT_EQ(done.history_size(), 4);
  EXPECT_EQ(done.history(0).from(), hub::routing::v1::REFERRAL_STATUS_REQUESTED);
  EXPECT_EQ(done.history(0).to(), hub::routing::v1::REFERRAL_STATUS_RECEIVED);
  EXPECT_EQ(done.history(0).by(), "system:routing");
  EXPECT_EQ(done.history(1).to(), hub::routing::v1::REFERRAL_STATUS_ACCEPTED);
  EXPECT_EQ(done.history(1).by(), "provider:idva-cambs");
  EXPECT_EQ(done.history(3).to(), hub::routing::v1::REFERRAL_STATUS_COMPLETED);
  EXPECT_EQ(google::protobuf::util::TimeUtil::TimestampToMilliseconds(done.history(2).at()),
            absl::ToUnixMillis(kT0 + absl::Minutes(3)));
  // Final: no way back.
  EXPECT_THAT(
      store_->Transition("ref-1", kProvider, To(hub::routing::v1::REFERRAL_STATUS_IN_PROGRESS), kT0,
                         "provider:idva-cambs"),
      StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK_AND_ASSIGN(std::optional<ReferralRecord> stored, store_->Get("ref-1"));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->SerializeAsString(), done.SerializeAsString());
}

TEST_F(ReferralsTest, OfRacingAcceptAndRejectExactlyOneWins) {
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    const std::string id = absl::StrCat("ref-race-", round);
    CreateReceived(id, kProvider);
    std::vector<std::thread> threads;
    threads.reserve(kThreads + 1);
    std::atomic<int> won{0};
    std::atomic<int> refused{0};
    std::atomic<int> other{0};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        const hub::routing::v1::Transition move =
            t % 2 == 0 ? To(hub::routing::v1::REFERRAL_STATUS_ACCEPTED)
                       : Reject(hub::routing::v1::REJECTION_REASON_AT_CAPACITY);
        absl::StatusOr<ReferralRecord> result =
            store_->Transition(id, kProvider, move, kT0, absl::StrCat("provider:thread-", t));
        if (result.ok()) {
          won.fetch_add(1);
        } else if (result.status().code() == absl::StatusCode::kFailedPrecondition) {
          refused.fetch_add(1);
        } else {
          other.fetch_add(1);
        }
      });
    }
    for (std::thread& thread : threads) {
      thread.join();
    }
    EXPECT_EQ(won.load(), 1) << id;
    EXPECT_EQ(refused.load(), kThreads - 1) << id;
    EXPECT_EQ(other.load(), 0) << id;
    ASSERT_OK_AND_ASSIGN(std::optional<ReferralRecord> stored, store_->Get(id));
    ASSERT_TRUE(stored.has_value());
    // One move recorded after RECEIVED, and the version counts exactly the writes.
    ASSERT_EQ(stored->history_size(), 2);
    EXPECT_EQ(stored->history(1).from(), hub::routing::v1::REFERRAL_STATUS_RECEIVED);
    EXPECT_EQ(stored->version(), 3);
    EXPECT_TRUE(stored->status() == hub::routing::v1::REFERRAL_STATUS_ACCEPTED ||
                stored->status() == hub::routing::v1::REFERRAL_STATUS_REJECTED);
  }
}

TEST_F(ReferralsTest, ConcurrentUpdatesAndTransitionsAreNeverLost) {
  CreateReceived("ref-1", kProvider);
  std::vector<std::thread> threads;
  threads.reserve(kThreads + 1);
  std::atomic<int> failures{0};
  constexpr int kUpdates = 10;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kUpdates; ++i) {
        absl::StatusOr<ReferralRecord> updated =
            store_->Update("ref-1", [](ReferralRecord* record) {
              record->set_offer_sequence(record->offer_sequence() + 1);
              return absl::OkStatus();
            });
        if (!updated.ok()) {
          failures.fetch_add(1);
        }
      }
    });
  }
  threads.emplace_back([&] {
    if (!store_
             ->Transition("ref-1", kProvider, To(hub::routing::v1::REFERRAL_STATUS_ACCEPTED), kT0,
                          "provider:idva-cambs")
             .ok()) {
      failures.fetch_add(1);
    }
  });
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failures.load(), 0);
  ASSERT_OK_AND_ASSIGN(std::optional<ReferralRecord> stored, store_->Get("ref-1"));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->offer_sequence(), 4 * kUpdates);
  EXPECT_EQ(stored->status(), hub::routing::v1::REFERRAL_STATUS_ACCEPTED);
  EXPECT_EQ(stored->version(), 2 + 4 * kUpdates + 1);

  // An update may not touch the status or the history.
  EXPECT_THAT(store_->Update("ref-1",
                             [](ReferralRecord* record) {
                               record->set_status(hub::routing::v1::REFERRAL_STATUS_COMPLETED);
                               return absl::OkStatus();
                             }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("status")));
  EXPECT_THAT(store_->Update("ref-1",
                             [](ReferralRecord* record) {
                               record->clear_history();
                               return absl::OkStatus();
                             }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("history")));
}

TEST_F(ReferralsTest, StaffCancelWithoutOwnershipAndMissingIsNotFound) {
  CreateReceived("ref-1", kProvider);
  hub::routing::v1::Transition cancel = To(hub::routing::v1::REFERRAL_STATUS_CANCELLED);
  cancel.set_closure_reason(hub::routing::v1::CLOSURE_REASON_OTHER);
  ASSERT_OK_AND_ASSIGN(ReferralRecord cancelled,
                       store_->TransitionAsSystem("ref-1", cancel, kT0, "staff:vco-7"));
  EXPECT_EQ(cancelled.status(), hub::routing::v1::REFERRAL_STATUS_CANCELLED);
  EXPECT_EQ(cancelled.closure_reason(), hub::routing::v1::CLOSURE_REASON_OTHER);
  EXPECT_EQ(cancelled.history(1).closure_reason(), hub::routing::v1::CLOSURE_REASON_OTHER);
  EXPECT_THAT(store_->TransitionAsSystem("ref-nope", cancel, kT0, "staff:vco-7"),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace hub::routing::referrals
