#include "services/triage/triage_store.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

#include "services/common/status/status_macros.h"

namespace hub::triage {
namespace {

// KEYS: the case hash. ARGV: expected version, new version, serialized record, seconds to
// live ("0": keep). Returns 1 when written, 0 when the stored version was not the expected
// one.
constexpr char kPutScript[] = R"lua(
local stored = redis.call('HGET', KEYS[1], 'v') or '0'
if stored ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'record', ARGV[3])
if ARGV[4] == '0' then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
return 1
)lua";

// KEYS: the case hash. ARGV: the tombstone record, seconds to live. Bumps the version so a
// writer that read the record before is refused.
constexpr char kEraseScript[] = R"lua(
local version = tonumber(redis.call('HGET', KEYS[1], 'v') or '0') + 1
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', tostring(version), 'record', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
)lua";

const redis::Script& EraseScript() {
  static const auto* script = new redis::Script(kEraseScript);
  return *script;
}

const redis::Script& PutScript() {
  static const auto* script = new redis::Script(kPutScript);
  return *script;
}

// How long a staff request id is remembered.
constexpr int64_t kRequestClaimSeconds = int64_t{7} * 24 * 60 * 60;

absl::Status ReplyErrors(const std::vector<redis::Reply>& replies) {
  for (const redis::Reply& reply : replies) {
    if (reply.type == redis::Reply::Type::kError) {
      return absl::InternalError(absl::StrCat("redis: ", reply.str));
    }
  }
  return absl::OkStatus();
}

}  // namespace

TriageStore::TriageStore(redis::RedisClient* redis, std::string ns)
    : redis_(redis), ns_(std::move(ns)) {}

std::string TriageStore::CaseKey(const std::string& case_id) const {
  return absl::StrCat(ns_, ":triage:case:{", case_id, "}");
}

std::string TriageStore::ReportsKey(const std::string& pseudonymous_id) const {
  return absl::StrCat(ns_, ":triage:victim:{", pseudonymous_id, "}:reports");
}

std::string TriageStore::CategoriesKey(const std::string& pseudonymous_id) const {
  return absl::StrCat(ns_, ":triage:victim:{", pseudonymous_id, "}:categories");
}

absl::StatusOr<std::optional<hub::triage::v1::CaseRecord>> TriageStore::Get(
    const std::string& case_id) {
  HUB_ASSIGN_OR_RETURN(redis::Reply reply,
                       redis_->Command({"HMGET", CaseKey(case_id), "v", "record"}));
  if (reply.elements.size() != 2 || reply.elements[1].is_nil()) {
    return std::nullopt;
  }
  hub::triage::v1::CaseRecord record;
  int64_t version = 0;
  if (!record.ParseFromString(reply.elements[1].str) ||
      !absl::SimpleAtoi(reply.elements[0].str, &version)) {
    return absl::DataLossError(absl::StrCat("triage record of case ", case_id, " does not parse"));
  }
  record.set_version(version);
  return record;
}

absl::StatusOr<bool> TriageStore::Put(const std::string& case_id,
                                      const hub::triage::v1::CaseRecord& record) {
  hub::triage::v1::CaseRecord stored = record;
  stored.set_version(record.version() + 1);
  const std::string ttl =
      record.has_crime() ? "0" : absl::StrCat(absl::ToInt64Seconds(kHeldRecordTtl));
  HUB_ASSIGN_OR_RETURN(redis::Reply reply, redis_->Eval(PutScript(), {CaseKey(case_id)},
                                                        {absl::StrCat(record.version()),
                                                         absl::StrCat(record.version() + 1),
                                                         stored.SerializeAsString(), ttl}));
  return reply.integer == 1;
}

absl::Status TriageStore::EraseCase(const std::string& case_id) {
  hub::triage::v1::CaseRecord tombstone;
  tombstone.set_erased(true);
  return redis_
      ->Eval(EraseScript(), {CaseKey(case_id)},
             {tombstone.SerializeAsString(), absl::StrCat(absl::ToInt64Seconds(kHeldRecordTtl))})
      .status();
}

absl::StatusOr<std::vector<PriorReport>> TriageStore::History(const std::string& pseudonymous_id,
                                                              absl::Time from) {
  HUB_ASSIGN_OR_RETURN(
      std::vector<redis::Reply> replies,
      redis_->Pipeline({{"ZRANGEBYSCORE", ReportsKey(pseudonymous_id),
                         absl::StrCat(absl::ToUnixMillis(from)), "+inf", "WITHSCORES"},
                        {"HGETALL", CategoriesKey(pseudonymous_id)}}));
  HUB_RETURN_IF_ERROR(ReplyErrors(replies));
  std::map<std::string, std::string> categories;
  const auto& pairs = replies[1].elements;
  for (size_t i = 0; i + 1 < pairs.size(); i += 2) {
    categories[pairs[i].str] = pairs[i + 1].str;
  }
  std::vector<PriorReport> history;
  const auto& scored = replies[0].elements;
  for (size_t i = 0; i + 1 < scored.size(); i += 2) {
    int64_t millis = 0;
    double score = 0;
    if (!absl::SimpleAtod(scored[i + 1].str, &score)) {
      continue;
    }
    millis = static_cast<int64_t>(score);
    history.push_back(
        PriorReport{scored[i].str, absl::FromUnixMillis(millis), categories[scored[i].str]});
  }
  return history;
}

absl::Status TriageStore::RecordReport(const std::string& pseudonymous_id,
                                       const PriorReport& report, absl::Time now,
                                       absl::Duration keep) {
  const std::string reports = ReportsKey(pseudonymous_id);
  const std::string categories = CategoriesKey(pseudonymous_id);
  const int64_t keep_ms = absl::ToInt64Milliseconds(keep);
  // The keys live `keep` past the later of now and the report, so a victim's history goes
  // when the rules no longer need it.
  const int64_t expire_ms =
      std::max(absl::ToUnixMillis(now), absl::ToUnixMillis(report.reported_at)) + keep_ms;
  HUB_ASSIGN_OR_RETURN(
      std::vector<redis::Reply> replies,
      redis_->Pipeline({
          {"ZADD", reports, absl::StrCat(absl::ToUnixMillis(report.reported_at)), report.case_id},
          {"HSET", categories, report.case_id, report.category},
          {"ZREMRANGEBYSCORE", reports, "-inf",
           absl::StrCat("(", absl::ToUnixMillis(now) - keep_ms)},
          {"PEXPIREAT", reports, absl::StrCat(expire_ms)},
          {"PEXPIREAT", categories, absl::StrCat(expire_ms)},
      }));
  return ReplyErrors(replies);
}

absl::Status TriageStore::EraseVictim(const std::string& pseudonymous_id) {
  return redis_->Command({"DEL", ReportsKey(pseudonymous_id), CategoriesKey(pseudonymous_id)})
      .status();
}

absl::StatusOr<bool> TriageStore::ClaimRequest(const std::string& principal,
                                               const std::string& request_id,
                                               const std::string& event_id) {
  const std::string key = absl::StrCat(ns_, ":triage:request:{", principal, "/", request_id, "}");
  HUB_ASSIGN_OR_RETURN(redis::Reply reply, redis_->Command({"SET", key, event_id, "NX", "EX",
                                                            absl::StrCat(kRequestClaimSeconds)}));
  return !reply.is_nil();
}

}  // namespace hub::triage
