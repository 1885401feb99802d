// The referrals routing has made, in Redis: each one's current status, reasons, outcome and
// the history of every status change, with a per-provider index for listing.
//
// Keys:
//   <ns>:referral:{<referral id>}   hash: record (a serialized hub.routing.v1.ReferralRecord)
//                                   and version (the record's version, for compare-and-set)
//   <ns>:referrals:{<provider key>} sorted set: the provider's referral ids scored by
//                                   created_at (unix ms); listed highest score first, equal
//                                   scores by referral id, descending
// A record is only ever written by one Lua script on its own key (one Redis Cluster slot):
// Create writes it if absent, every other write is a compare-and-set on the version, so two
// racing changes never both apply: the loser re-reads and is checked again (an accept that
// lost to a reject is then FAILED_PRECONDITION). The index entry is added after the record
// (ZADD NX, in the same round trip); Create is idempotent, so a retry after a failure
// between the two completes the index. Nothing is ever removed: a referral entered in error
// keeps its record for audit.
//
// Ownership: the provider-facing calls take the caller's provider key and answer
// kPermissionDenied, with the same message, whether the referral belongs to another
// provider or does not exist, so a provider cannot learn which referral ids exist.
//
// Thread-safe (the Redis client is).
#ifndef HUB_SERVICES_ROUTING_REFERRALS_REFERRAL_STORE_H_
#define HUB_SERVICES_ROUTING_REFERRALS_REFERRAL_STORE_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#include "hub/routing/v1/referral.pb.h"
#include "hub/routing/v1/referral_record.pb.h"
#include "services/common/redis/redis_client.h"

namespace hub::routing::referrals {

// A page of a provider's referrals, newest first.
struct ReferralPage {
  std::vector<hub::routing::v1::ReferralRecord> referrals;
  // Pass back to continue; empty when there is nothing more. A page may hold fewer than
  // page_size referrals (even none) and still have a token when a status filter skipped
  // many: keep going until the token is empty.
  std::string next_page_token;
};

class ReferralStore {
 public:
  // Page sizes: 0 means kDefaultPageSize; more than kMaxPageSize is kInvalidArgument.
  static constexpr int kDefaultPageSize = 100;
  static constexpr int kMaxPageSize = 500;
  // A write that loses the compare-and-set this many times in a row gives up (kAborted).
  static constexpr int kMaxAttempts = 32;

  // `redis` must outlive the store. `ns` prefixes every key.
  ReferralStore(redis::RedisClient* redis, std::string ns);

  // Stores a new referral and indexes it for its provider. The record needs a valid
  // referral_id and provider_key, a case_id and created_at; its status must be unset or
  // REQUESTED (it is stored as REQUESTED), its history empty. updated_at defaults to
  // created_at; version is set to 1. Idempotent by referral id: when the id exists, the
  // stored record is returned unchanged, whatever `record` says.
  // kInvalidArgument naming the field for a bad record.
  absl::StatusOr<hub::routing::v1::ReferralRecord> Create(hub::routing::v1::ReferralRecord record);

  // The record, or nullopt when there is none. For staff and routing: a provider's call goes
  // through GetForProvider.
  absl::StatusOr<std::optional<hub::routing::v1::ReferralRecord>> Get(
      absl::string_view referral_id);

  // The record when it belongs to `provider_key`; kPermissionDenied otherwise (also when it
  // does not exist).
  absl::StatusOr<hub::routing::v1::ReferralRecord> GetForProvider(absl::string_view referral_id,
                                                                  absl::string_view provider_key);

  // The provider's referrals, newest first, only those in `statuses` (empty: every status).
  // `page_token` is empty for the first page, else a next_page_token this call returned for
  // the same provider (kInvalidArgument otherwise). A token continues after the referral
  // it names, wherever that now stands, so paging neither repeats nor skips a referral that
  // existed when paging began (new ones, being newest, appear on the first page).
  absl::StatusOr<ReferralPage> ListForProvider(
      absl::string_view provider_key, const std::vector<hub::routing::v1::ReferralStatus>& statuses,
      int page_size, absl::string_view page_token);

  // A provider's change of its own referral, made at `at` by principal `by`
  // ("provider:<key>"). Reads the record, then:
  //   kPermissionDenied: it does not exist or belongs to another provider (one message);
  //   kFailedPrecondition / kInvalidArgument: lifecycle::CheckTransition refuses the move
  //     from the current status (checked again on the fresh record after a lost race);
  //   kAborted: lost the compare-and-set kMaxAttempts times (retry later).
  // On success the record has the new status, the transition's reasons and outcome, a new
  // history entry, updated_at = `at` and the next version; it is returned.
  absl::StatusOr<hub::routing::v1::ReferralRecord> Transition(absl::string_view referral_id,
                                                              absl::string_view caller_provider_key,
                                                              const hub::routing::v1::Transition& t,
                                                              absl::Time at, absl::string_view by);

  // The same for staff and routing itself (cancellation when consent is withdrawn,
  // withdrawal of a lapsed offer, entered-in-error): no ownership check, and kNotFound when
  // the referral does not exist.
  absl::StatusOr<hub::routing::v1::ReferralRecord> TransitionAsSystem(
      absl::string_view referral_id, const hub::routing::v1::Transition& t, absl::Time at,
      absl::string_view by);

  // Changes fields other than the status (e.g. offer_sequence and respond_by once the offer
  // is made) with compare-and-set, retrying on conflict: `change` is applied to the fresh
  // record on every attempt. It must not change referral_id, provider_key, case_id, status,
  // history, created_at or version (kInvalidArgument). kNotFound when there is no record.
  absl::StatusOr<hub::routing::v1::ReferralRecord> Update(
      absl::string_view referral_id,
      const std::function<absl::Status(hub::routing::v1::ReferralRecord*)>& change);

  // Key names, for documentation, tools and tests.
  std::string RecordKey(absl::string_view referral_id) const;
  std::string ProviderIndexKey(absl::string_view provider_key) const;

 private:
  // Reads the record and its version, applies `change` and writes it back if the version
  // is unchanged, until it sticks. `change` sees the fresh record each time and may refuse.
  // `missing` is the error when the record does not exist.
  absl::StatusOr<hub::routing::v1::ReferralRecord> Modify(
      absl::string_view referral_id, const absl::Status& missing,
      const std::function<absl::Status(hub::routing::v1::ReferralRecord*)>& change);

  absl::StatusOr<hub::routing::v1::ReferralRecord> DoTransition(
      absl::string_view referral_id, std::optional<absl::string_view> caller_provider_key,
      const hub::routing::v1::Transition& t, absl::Time at, absl::string_view by);

  redis::RedisClient* redis_;
  std::string ns_;
};

// Referral ids and provider keys go into keys: 1 to 128 letters, digits, '-', '_', '.' and
// ':' (as lifecycle::ValidateCapacityId). kInvalidArgument naming `field` otherwise.
absl::Status ValidateReferralKeyPart(absl::string_view field, absl::string_view id);

// The answer a provider gets for a referral that is not its own: the same whether it
// belongs to another provider or does not exist, so existence never leaks. The provider API
// gives it for a referral still waiting for a place too.
absl::Status NotYours(absl::string_view referral_id);

// The opaque page token that continues a listing after `last_referral_id`, and back.
std::string EncodePageToken(absl::string_view last_referral_id);
absl::StatusOr<std::string> DecodePageToken(absl::string_view page_token);

}  // namespace hub::routing::referrals

#endif  // HUB_SERVICES_ROUTING_REFERRALS_REFERRAL_STORE_H_
