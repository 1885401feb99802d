#include "services/routing/referrals/referral_store.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"

#include "services/common/status/status_macros.h"
#include "services/routing/lifecycle/capacity.h"
#include "services/routing/lifecycle/lifecycle.h"

namespace hub::routing::referrals {
namespace {

using google::protobuf::util::MessageDifferencer;
using google::protobuf::util::TimeUtil;
using hub::routing::v1::ReferralRecord;
using hub::routing::v1::ReferralStatus;

// KEYS: record. ARGV: serialized record, its version.
// Returns {1} when stored, {0, stored record} when the referral already existed.
constexpr char kCreateScript[] = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {0, redis.call('HGET', KEYS[1], 'record')}
end
redis.call('HSET', KEYS[1], 'record', ARGV[1], 'version', ARGV[2])
return {1}
)lua";

// KEYS: record. ARGV: the version read, new serialized record, new version.
// Returns 1 when written, 0 when the version changed since it was read (or the record is
// gone).
constexpr char kCompareAndSetScript[] = R"lua(
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'record', ARGV[2], 'version', ARGV[3])
return 1
)lua";

// KEYS: provider index. ARGV: the referral id to continue after ('' for the first page),
// how many ids to return. Returns the ids, newest first, or nil when the id to continue
// after is not in the index.
constexpr char kPageScript[] = R"lua(
local start = 0
if ARGV[1] ~= '' then
  local rank = redis.call('ZREVRANK', KEYS[1], ARGV[1])
  if not rank then
    return false
  end
  start = rank + 1
end
return redis.call('ZREVRANGE', KEYS[1], start, start + tonumber(ARGV[2]) - 1)
)lua";

// A listing with a status filter reads at most this many index entries per call.
constexpr int kMaxScannedPerPage = 10 * ReferralStore::kMaxPageSize;
constexpr char kPageTokenPrefix[] = "r1:";

const redis::Script& CreateScript() {
  static const auto* script = new redis::Script(kCreateScript);
  return *script;
}
const redis::Script& CompareAndSetScript() {
  static const auto* script = new redis::Script(kCompareAndSetScript);
  return *script;
}
const redis::Script& PageScript() {
  static const auto* script = new redis::Script(kPageScript);
  return *script;
}

absl::Status NotFound(absl::string_view referral_id) {
  return absl::NotFoundError(absl::StrCat("referral ", referral_id, " does not exist"));
}

absl::StatusOr<ReferralRecord> ParseRecord(const redis::Reply& reply) {
  ReferralRecord record;
  if (reply.type != redis::Reply::Type::kString || !record.ParseFromString(reply.str)) {
    return absl::DataLossError("referral store: a stored record does not parse");
  }
  return record;
}

// A record and the version string its compare-and-set must see.
struct Stored {
  ReferralRecord record;
  std::string version;
};

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

int64_t TimestampMillis(const google::protobuf::Timestamp& t) {
  return TimeUtil::TimestampToMilliseconds(t);
}

// The transition applied to `record`: status, reasons, outcome, history, updated_at.
void ApplyTo(const hub::routing::v1::Transition& t, absl::Time at, absl::string_view by,
             ReferralRecord* record) {
  hub::routing::v1::TransitionEntry* entry = record->add_history();
  entry->set_from(record->status());
  entry->set_to(t.to());
  *entry->mutable_at() = ToTimestamp(at);
  entry->set_by(std::string(by));
  entry->set_rejection_reason(t.rejection_reason());
  entry->set_closure_reason(t.closure_reason());
  record->set_status(t.to());
  if (t.rejection_reason() != hub::routing::v1::REJECTION_REASON_UNSPECIFIED) {
    record->set_rejection_reason(t.rejection_reason());
  }
  if (t.closure_reason() != hub::routing::v1::CLOSURE_REASON_UNSPECIFIED) {
    record->set_closure_reason(t.closure_reason());
  }
  if (t.has_outcome()) {
    *record->mutable_outcome() = t.outcome();
  }
  *record->mutable_updated_at() = ToTimestamp(at);
}

// kInvalidArgument when `after` differs from `before` in a field Update must not change.
absl::Status CheckUnchangedByUpdate(const ReferralRecord& before, const ReferralRecord& after) {
  const char* field = nullptr;
  if (after.referral_id() != before.referral_id()) {
    field = "referral_id";
  } else if (after.provider_key() != before.provider_key()) {
    field = "provider_key";
  } else if (after.case_id() != before.case_id()) {
    field = "case_id";
  } else if (after.status() != before.status()) {
    field = "status";
  } else if (after.version() != before.version()) {
    field = "version";
  } else if (!MessageDifferencer::Equals(after.created_at(), before.created_at())) {
    field = "created_at";
  } else if (after.history_size() != before.history_size()) {
    field = "history";
  } else {
    for (int i = 0; i < after.history_size(); ++i) {
      if (!MessageDifferencer::Equals(after.history(i), before.history(i))) {
        field = "history";
        break;
      }
    }
  }
  if (field != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("referral update: ", field, " cannot be changed by an update"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status NotYours(absl::string_view referral_id) {
  return absl::PermissionDeniedError(
      absl::StrCat("referral ", referral_id, " is not one of this provider's referrals"));
}

absl::Status ValidateReferralKeyPart(absl::string_view field, absl::string_view id) {
  return lifecycle::ValidateCapacityId(field, id);
}

std::string EncodePageToken(absl::string_view last_referral_id) {
  return absl::WebSafeBase64Escape(absl::StrCat(kPageTokenPrefix, last_referral_id));
}

absl::StatusOr<std::string> DecodePageToken(absl::string_view page_token) {
  std::string text;
  absl::string_view id;
  if (absl::WebSafeBase64Unescape(page_token, &text)) {
    id = text;
  }
  if (!absl::ConsumePrefix(&id, kPageTokenPrefix) ||
      !ValidateReferralKeyPart("page_token", id).ok()) {
    return absl::InvalidArgumentError("page_token: not a token this listing returned");
  }
  return std::string(id);
}

ReferralStore::ReferralStore(redis::RedisClient* redis, std::string ns)
    : redis_(redis), ns_(std::move(ns)) {}

std::string ReferralStore::RecordKey(absl::string_view referral_id) const {
  return absl::StrCat(ns_, ":referral:{", referral_id, "}");
}

std::string ReferralStore::ProviderIndexKey(absl::string_view provider_key) const {
  return absl::StrCat(ns_, ":referrals:{", provider_key, "}");
}

absl::StatusOr<ReferralRecord> ReferralStore::Create(ReferralRecord record) {
  HUB_RETURN_IF_ERROR(ValidateReferralKeyPart("referral_id", record.referral_id()));
  HUB_RETURN_IF_ERROR(ValidateReferralKeyPart("provider_key", record.provider_key()));
  if (record.case_id().empty()) {
    return absl::InvalidArgumentError("case_id: required");
  }
  if (!record.has_created_at() || TimestampMillis(record.created_at()) <= 0) {
    return absl::InvalidArgumentError("created_at: required (after 1970)");
  }
  if (record.status() != hub::routing::v1::REFERRAL_STATUS_UNSPECIFIED &&
      record.status() != lifecycle::kInitialStatus) {
    return absl::InvalidArgumentError(absl::StrCat(
        "status: a new referral starts in ", lifecycle::StatusName(lifecycle::kInitialStatus),
        ", got ", lifecycle::StatusName(record.status())));
  }
  if (record.history_size() != 0) {
    return absl::InvalidArgumentError("history: must be empty for a new referral");
  }
  if (record.offer_sequence() < 0) {
    return absl::InvalidArgumentError("offer_sequence: must not be negative");
  }
  record.set_status(lifecycle::kInitialStatus);
  if (!record.has_updated_at()) {
    *record.mutable_updated_at() = record.created_at();
  }
  record.set_version(1);

  HUB_ASSIGN_OR_RETURN(redis::Reply reply,
                       redis_->Eval(CreateScript(), {RecordKey(record.referral_id())},
                                    {record.SerializeAsString(), "1"}));
  if (reply.type != redis::Reply::Type::kArray || reply.elements.empty() ||
      reply.elements[0].type != redis::Reply::Type::kInteger) {
    return absl::InternalError("referral store: create: unexpected reply");
  }
  if (reply.elements[0].integer == 0) {
    if (reply.elements.size() != 2) {
      return absl::InternalError("referral store: create: unexpected reply");
    }
    HUB_ASSIGN_OR_RETURN(record, ParseRecord(reply.elements[1]));
  }
  // Indexed after the record exists (by the stored record, in case it was an earlier one),
  // so a listing never names a referral that cannot be read. A failure here leaves the
  // referral unlisted until Create is retried, which completes it.
  HUB_ASSIGN_OR_RETURN(
      redis::Reply added,
      redis_->Command({"ZADD", ProviderIndexKey(record.provider_key()), "NX",
                       absl::StrCat(TimestampMillis(record.created_at())), record.referral_id()}));
  if (added.type != redis::Reply::Type::kInteger) {
    return absl::InternalError("referral store: create: unexpected reply to ZADD");
  }
  return record;
}

absl::StatusOr<std::optional<ReferralRecord>> ReferralStore::Get(absl::string_view referral_id) {
  HUB_RETURN_IF_ERROR(ValidateReferralKeyPart("referral_id", referral_id));
  HUB_ASSIGN_OR_RETURN(redis::Reply reply,
                       redis_->Command({"HGET", RecordKey(referral_id), "record"}));
  if (reply.is_nil()) {
    return std::nullopt;
  }
  HUB_ASSIGN_OR_RETURN(ReferralRecord record, ParseRecord(reply));
  return record;
}

absl::StatusOr<ReferralRecord> ReferralStore::GetForProvider(absl::string_view referral_id,
                                                             absl::string_view provider_key) {
  HUB_RETURN_IF_ERROR(ValidateReferralKeyPart("provider_key", provider_key));
  HUB_ASSIGN_OR_RETURN(std::optional<ReferralRecord> record, Get(referral_id));
  if (!record.has_value() || record->provider_key() != provider_key) {
    return NotYours(referral_id);
  }
  return *std::move(record);
}

absl::StatusOr<ReferralPage> ReferralStore::ListForProvider(
    absl::string_view provider_key, const std::vector<ReferralStatus>& statuses, int page_size,
    absl::string_view page_token) {
  HUB_RETURN_IF_ERROR(ValidateReferralKeyPart("provider_key", provider_key));
  if (page_size < 0 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must be 0 to ", kMaxPageSize, ", got ", page_size));
  }
  if (page_size == 0) {
    page_size = kDefaultPageSize;
  }
  std::string after;
  if (!page_token.empty()) {
    HUB_ASSIGN_OR_RETURN(after, DecodePageToken(page_token));
  }
  const absl::flat_hash_set<ReferralStatus> wanted(statuses.begin(), statuses.end());

  ReferralPage page;
  int scanned = 0;
  while (true) {
    // Without a filter every id read is returned: read exactly what the page needs.
    const int batch = wanted.empty() ? page_size - static_cast<int>(page.referrals.size())
                                     : std::min(kMaxPageSize, kMaxScannedPerPage - scanned);
    HUB_ASSIGN_OR_RETURN(
        redis::Reply ids,
        redis_->Eval(PageScript(), {ProviderIndexKey(provider_key)}, {after, absl::StrCat(batch)}));
    if (ids.is_nil()) {
      // The token names no referral of this provider.
      return absl::InvalidArgumentError("page_token: not a token this listing returned");
    }
    if (ids.type != redis::Reply::Type::kArray) {
      return absl::InternalError("referral store: list: expected an array");
    }
    std::vector<std::vector<std::string>> reads;
    reads.reserve(ids.elements.size());
    for (const redis::Reply& id : ids.elements) {
      reads.push_back({"HGET", RecordKey(id.str), "record"});
    }
    std::vector<redis::Reply> records;
    if (!reads.empty()) {
      HUB_ASSIGN_OR_RETURN(records, redis_->Pipeline(reads));
      if (records.size() != reads.size()) {
        return absl::InternalError("referral store: list: wrong number of replies");
      }
    }
    for (size_t i = 0; i < records.size(); ++i) {
      after = ids.elements[i].str;
      ++scanned;
      if (records[i].is_nil()) {
        continue;  // Indexed but not readable: cannot happen (records are never removed).
      }
      HUB_ASSIGN_OR_RETURN(ReferralRecord record, ParseRecord(records[i]));
      if (record.provider_key() != provider_key) {
        continue;
      }
      if (!wanted.empty() && !wanted.contains(record.status())) {
        continue;
      }
      page.referrals.push_back(std::move(record));
      if (static_cast<int>(page.referrals.size()) == page_size) {
        break;
      }
    }
    const bool index_exhausted = static_cast<int>(ids.elements.size()) < batch;
    const bool page_full = static_cast<int>(page.referrals.size()) == page_size;
    if (page_full || scanned >= kMaxScannedPerPage) {
      // A full page exactly at the end of the index still gets a token; the next call
      // returns an empty page without one.
      const bool read_everything = index_exhausted && after == ids.elements.back().str;
      if (!read_everything) {
        page.next_page_token = EncodePageToken(after);
      }
      return page;
    }
    if (index_exhausted) {
      return page;
    }
  }
}

absl::StatusOr<ReferralRecord> ReferralStore::Modify(
    absl::string_view referral_id, const absl::Status& missing,
    const std::function<absl::Status(ReferralRecord*)>& change) {
  HUB_RETURN_IF_ERROR(ValidateReferralKeyPart("referral_id", referral_id));
  const std::string key = RecordKey(referral_id);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    HUB_ASSIGN_OR_RETURN(redis::Reply reply, redis_->Command({"HMGET", key, "record", "version"}));
    if (reply.type != redis::Reply::Type::kArray || reply.elements.size() != 2) {
      return absl::InternalError("referral store: expected two fields");
    }
    if (reply.elements[0].is_nil()) {
      return missing;
    }
    HUB_ASSIGN_OR_RETURN(ReferralRecord record, ParseRecord(reply.elements[0]));
    int64_t version = 0;
    if (reply.elements[1].type != redis::Reply::Type::kString ||
        !absl::SimpleAtoi(reply.elements[1].str, &version)) {
      return absl::DataLossError("referral store: a stored version is not a number");
    }
    HUB_RETURN_IF_ERROR(change(&record));
    record.set_version(version + 1);
    HUB_ASSIGN_OR_RETURN(redis::Reply written,
                         redis_->Eval(CompareAndSetScript(), {key},
                                      {reply.elements[1].str, record.SerializeAsString(),
                                       absl::StrCat(version + 1)}));
    if (written.type != redis::Reply::Type::kInteger) {
      return absl::InternalError("referral store: compare-and-set: expected an integer");
    }
    if (written.integer == 1) {
      return record;
    }
    // Someone else wrote in between: re-read, and check the change again on the new record.
  }
  return absl::AbortedError(absl::StrCat("referral ", referral_id, ": changed concurrently ",
                                         kMaxAttempts, " times in a row; retry"));
}

absl::StatusOr<ReferralRecord> ReferralStore::DoTransition(
    absl::string_view referral_id, std::optional<absl::string_view> caller_provider_key,
    const hub::routing::v1::Transition& t, absl::Time at, absl::string_view by) {
  if (by.empty()) {
    return absl::InvalidArgumentError("by: the principal making the change is required");
  }
  if (caller_provider_key.has_value()) {
    HUB_RETURN_IF_ERROR(ValidateReferralKeyPart("provider_key", *caller_provider_key));
  }
  const absl::Status missing =
      caller_provider_key.has_value() ? NotYours(referral_id) : NotFound(referral_id);
  return Modify(referral_id, missing, [&](ReferralRecord* record) -> absl::Status {
    if (caller_provider_key.has_value() && record->provider_key() != *caller_provider_key) {
      return NotYours(referral_id);
    }
    HUB_RETURN_IF_ERROR(lifecycle::CheckTransition(record->status(), t));
    ApplyTo(t, at, by, record);
    return absl::OkStatus();
  });
}

absl::StatusOr<ReferralRecord> ReferralStore::Transition(absl::string_view referral_id,
                                                         absl::string_view caller_provider_key,
                                                         const hub::routing::v1::Transition& t,
                                                         absl::Time at, absl::string_view by) {
  return DoTransition(referral_id, caller_provider_key, t, at, by);
}

absl::StatusOr<ReferralRecord> ReferralStore::TransitionAsSystem(
    absl::string_view referral_id, const hub::routing::v1::Transition& t, absl::Time at,
    absl::string_view by) {
  return DoTransition(referral_id, std::nullopt, t, at, by);
}

absl::StatusOr<ReferralRecord> ReferralStore::Update(
    absl::string_view referral_id, const std::function<absl::Status(ReferralRecord*)>& change) {
  return Modify(referral_id, NotFound(referral_id), [&](ReferralRecord* record) -> absl::Status {
    const ReferralRecord before = *record;
    HUB_RETURN_IF_ERROR(change(record));
    return CheckUnchangedByUpdate(before, *record);
  });
}

}  // namespace hub::routing::referrals
