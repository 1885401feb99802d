#include "services/routing/referrals/offer_log.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

#include "services/common/status/status_macros.h"
#include "services/routing/referrals/referral_store.h"

namespace hub::routing::referrals {
namespace {

// KEYS: last, ids, log, log_ids. ARGV: offer id, payload.
// Returns {sequence, 1} when added, {original sequence, 0} when the offer id was known.
constexpr char kAppendScript[] = R"lua(
local known = redis.call('HGET', KEYS[2], ARGV[1])
if known then
  return {tonumber(known), 0}
end
local sequence = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], sequence)
redis.call('HSET', KEYS[3], sequence, ARGV[2])
redis.call('HSET', KEYS[4], sequence, ARGV[1])
return {sequence, 1}
)lua";

// KEYS: last, log, log_ids, trimmed, acked. ARGV: after sequence, or "acked" to start
// after the acknowledged pointer; limit.
// Returns a flat array: sequence, offer id, payload, sequence, offer id, payload, ...
constexpr char kReadScript[] = R"lua(
local after
if ARGV[1] == 'acked' then
  after = tonumber(redis.call('GET', KEYS[5]) or '0')
else
  after = tonumber(ARGV[1])
end
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local first = math.max(after, tonumber(redis.call('GET', KEYS[4]) or '0')) + 1
local stop = math.min(last, first + tonumber(ARGV[2]) - 1)
local reply = {}
for sequence = first, stop do
  local payload = redis.call('HGET', KEYS[2], sequence)
  if payload then
    reply[#reply + 1] = sequence
    reply[#reply + 1] = redis.call('HGET', KEYS[3], sequence) or ''
    reply[#reply + 1] = payload
  end
end
return reply
)lua";

// KEYS: last, acked, log, log_ids, trimmed. ARGV: sequence, acknowledged offers to keep,
// most offers to trim in this call.
// Returns the acknowledged pointer after the call.
constexpr char kAcknowledgeScript[] = R"lua(
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local acked = tonumber(redis.call('GET', KEYS[2]) or '0')
local wanted = math.min(tonumber(ARGV[1]), last)
if wanted > acked then
  acked = wanted
  redis.call('SET', KEYS[2], acked)
end
local trimmed = tonumber(redis.call('GET', KEYS[5]) or '0')
local upto = math.min(acked - tonumber(ARGV[2]), trimmed + tonumber(ARGV[3]))
if upto > trimmed then
  for sequence = trimmed + 1, upto do
    redis.call('HDEL', KEYS[3], sequence)
    redis.call('HDEL', KEYS[4], sequence)
  end
  redis.call('SET', KEYS[5], upto)
end
return acked
)lua";

const redis::Script& AppendScript() {
  static const auto* script = new redis::Script(kAppendScript);
  return *script;
}
const redis::Script& ReadScript() {
  static const auto* script = new redis::Script(kReadScript);
  return *script;
}
const redis::Script& AcknowledgeScript() {
  static const auto* script = new redis::Script(kAcknowledgeScript);
  return *script;
}

absl::Status ValidateSequence(absl::string_view field, int64_t sequence) {
  // Lua numbers are doubles: keep sequences where they are exact.
  if (sequence < 0 || sequence > (int64_t{1} << 53)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be 0 to 2^53, got ", sequence));
  }
  return absl::OkStatus();
}

absl::Status ValidateLimit(int limit) {
  if (limit < 1 || limit > OfferLog::kMaxLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit: must be 1 to ", OfferLog::kMaxLimit, ", got ", limit));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> IntegerReply(const redis::Reply& reply, absl::string_view what) {
  if (reply.type != redis::Reply::Type::kInteger) {
    return absl::InternalError(absl::StrCat("offer log: ", what, ": expected an integer"));
  }
  return reply.integer;
}

// A string holding a counter (nil: 0).
absl::StatusOr<int64_t> CounterReply(const redis::Reply& reply, absl::string_view what) {
  if (reply.is_nil()) {
    return 0;
  }
  int64_t value = 0;
  if (reply.type != redis::Reply::Type::kString || !absl::SimpleAtoi(reply.str, &value)) {
    return absl::InternalError(absl::StrCat("offer log: ", what, ": expected a number"));
  }
  return value;
}

}  // namespace

OfferLog::OfferLog(redis::RedisClient* redis, std::string ns, int64_t retain_acknowledged)
    : redis_(redis),
      ns_(std::move(ns)),
      retain_acknowledged_(std::max<int64_t>(0, retain_acknowledged)) {}

std::string OfferLog::LastKey(absl::string_view provider_key) const {
  return absl::StrCat(ns_, ":offers:{", provider_key, "}:last");
}
std::string OfferLog::IdsKey(absl::string_view provider_key) const {
  return absl::StrCat(ns_, ":offers:{", provider_key, "}:ids");
}
std::string OfferLog::LogKey(absl::string_view provider_key) const {
  return absl::StrCat(ns_, ":offers:{", provider_key, "}:log");
}
std::string OfferLog::LogIdsKey(absl::string_view provider_key) const {
  return absl::StrCat(ns_, ":offers:{", provider_key, "}:log_ids");
}
std::string OfferLog::AckedKey(absl::string_view provider_key) const {
  return absl::StrCat(ns_, ":offers:{", provider_key, "}:acked");
}
std::string OfferLog::TrimmedKey(absl::string_view provider_key) const {
  return absl::StrCat(ns_, ":offers:{", provider_key, "}:trimmed");
}

absl::StatusOr<Appended> OfferLog::Append(absl::string_view provider_key,
                                          absl::string_view offer_id, absl::string_view payload) {
  HUB_RETURN_IF_ERROR(ValidateReferralKeyPart("provider_key", provider_key));
  HUB_RETURN_IF_ERROR(ValidateReferralKeyPart("offer_id", offer_id));
  HUB_ASSIGN_OR_RETURN(redis::Reply reply,
                       redis_->Eval(AppendScript(),
                                    {LastKey(provider_key), IdsKey(provider_key),
                                     LogKey(provider_key), LogIdsKey(provider_key)},
                                    {std::string(offer_id), std::string(payload)}));
  if (reply.type != redis::Reply::Type::kArray || reply.elements.size() != 2) {
    return absl::InternalError("offer log: append: expected an array of two");
  }
  Appended appended;
  HUB_ASSIGN_OR_RETURN(appended.sequence, IntegerReply(reply.elements[0], "append"));
  HUB_ASSIGN_OR_RETURN(int64_t added, IntegerReply(reply.elements[1], "append"));
  appended.added = added == 1;
  return appended;
}

absl::StatusOr<std::vector<LoggedOffer>> OfferLog::After(absl::string_view provider_key,
                                                         int64_t after_sequence, int limit) {
  HUB_RETURN_IF_ERROR(ValidateSequence("after_sequence", after_sequence));
  return Read(provider_key, after_sequence, limit);
}

absl::StatusOr<std::vector<LoggedOffer>> OfferLog::Pending(absl::string_view provider_key,
                                                           int limit) {
  return Read(provider_key, -1, limit);
}

// `after_sequence` < 0: after the acknowledged pointer.
absl::StatusOr<std::vector<LoggedOffer>> OfferLog::Read(absl::string_view provider_key,
                                                        int64_t after_sequence, int limit) {
  HUB_RETURN_IF_ERROR(ValidateReferralKeyPart("provider_key", provider_key));
  HUB_RETURN_IF_ERROR(ValidateLimit(limit));
  HUB_ASSIGN_OR_RETURN(
      redis::Reply reply,
      redis_->Eval(ReadScript(),
                   {LastKey(provider_key), LogKey(provider_key), LogIdsKey(provider_key),
                    TrimmedKey(provider_key), AckedKey(provider_key)},
                   {after_sequence < 0 ? std::string("acked") : absl::StrCat(after_sequence),
                    absl::StrCat(limit)}));
  if (reply.type != redis::Reply::Type::kArray || reply.elements.size() % 3 != 0) {
    return absl::InternalError("offer log: read: expected triples");
  }
  std::vector<LoggedOffer> offers;
  offers.reserve(reply.elements.size() / 3);
  for (size_t i = 0; i < reply.elements.size(); i += 3) {
    LoggedOffer offer;
    HUB_ASSIGN_OR_RETURN(offer.sequence, IntegerReply(reply.elements[i], "read"));
    if (reply.elements[i + 1].type != redis::Reply::Type::kString ||
        reply.elements[i + 2].type != redis::Reply::Type::kString) {
      return absl::InternalError("offer log: read: expected an offer id and a payload");
    }
    offer.offer_id = std::move(reply.elements[i + 1].str);
    offer.payload = std::move(reply.elements[i + 2].str);
    offers.push_back(std::move(offer));
  }
  return offers;
}

absl::StatusOr<int64_t> OfferLog::Acknowledge(absl::string_view provider_key, int64_t sequence) {
  HUB_RETURN_IF_ERROR(ValidateReferralKeyPart("provider_key", provider_key));
  HUB_RETURN_IF_ERROR(ValidateSequence("sequence", sequence));
  HUB_ASSIGN_OR_RETURN(
      redis::Reply reply,
      redis_->Eval(
          AcknowledgeScript(),
          {LastKey(provider_key), AckedKey(provider_key), LogKey(provider_key),
           LogIdsKey(provider_key), TrimmedKey(provider_key)},
          {absl::StrCat(sequence), absl::StrCat(retain_acknowledged_), absl::StrCat(kTrimBatch)}));
  return IntegerReply(reply, "acknowledge");
}

absl::StatusOr<int64_t> OfferLog::Acknowledged(absl::string_view provider_key) {
  HUB_RETURN_IF_ERROR(ValidateReferralKeyPart("provider_key", provider_key));
  HUB_ASSIGN_OR_RETURN(redis::Reply reply, redis_->Command({"GET", AckedKey(provider_key)}));
  return CounterReply(reply, "acknowledged");
}

absl::StatusOr<int64_t> OfferLog::LastSequence(absl::string_view provider_key) {
  HUB_RETURN_IF_ERROR(ValidateReferralKeyPart("provider_key", provider_key));
  HUB_ASSIGN_OR_RETURN(redis::Reply reply, redis_->Command({"GET", LastKey(provider_key)}));
  return CounterReply(reply, "last sequence");
}

}  // namespace hub::routing::referrals
