#include "services/intake/crime_index.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

#include "services/common/events/cloudevents.h"

namespace hub::intake {
namespace {

// KEYS[1]: the crime. ARGV: owner, now (ms), pending ttl (ms), n, then n triples
// (victim_ref, pseudonymous id or "", proposed case id). Returns a flat array of
// (kind, case id) pairs, or {"busy"} when another live submission is opening one of the
// cases (then nothing was written).
constexpr char kResolveScript[] = R"lua(
local owner, now, ttl, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local function split(entry)
  local parts = {}
  for part in string.gmatch(entry, '([^|]*)|?') do parts[#parts + 1] = part end
  return parts
end
local plan = {}
for i = 1, n do
  local base = 4 + 3 * (i - 1)
  local ref, pv, proposed = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
  local entry = redis.call('HGET', KEYS[1], 'ref:' .. ref)
  if (not entry) and pv ~= '' then entry = redis.call('HGET', KEYS[1], 'pv:' .. pv) end
  local case, kind = proposed, 'open'
  if entry then
    local parts = split(entry)
    if parts[1] == 'done' then
      case = parts[2]
      -- The same submission again (its reply was lost): publish again, same event ids.
      if parts[3] ~= owner then kind = 'merged' end
    else
      case = parts[3]
      if parts[2] ~= owner and tonumber(parts[4]) > now then return {'busy'} end
    end
  end
  plan[i] = {ref, pv, case, kind}
end
local result = {}
for i = 1, n do
  local ref, pv, case, kind = plan[i][1], plan[i][2], plan[i][3], plan[i][4]
  if kind == 'open' then
    local entry = 'pending|' .. owner .. '|' .. case .. '|' .. (now + ttl)
    redis.call('HSET', KEYS[1], 'ref:' .. ref, entry)
    if pv ~= '' then redis.call('HSET', KEYS[1], 'pv:' .. pv, entry) end
  else
    local entry = 'done|' .. case .. '|' .. owner
    redis.call('HSETNX', KEYS[1], 'ref:' .. ref, entry)
    if pv ~= '' then redis.call('HSETNX', KEYS[1], 'pv:' .. pv, entry) end
  end
  result[#result + 1] = kind
  result[#result + 1] = case
end
return result
)lua";

// KEYS[1]: the crime. ARGV: owner, details, n, then n triples (victim_ref, pseudonymous id
// or "", case id) for the cases this submission opened.
constexpr char kCompleteScript[] = R"lua(
local n = tonumber(ARGV[3])
for i = 1, n do
  local base = 3 + 3 * (i - 1)
  local ref, pv, case = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
  local entry = 'done|' .. case .. '|' .. ARGV[1]
  redis.call('HSET', KEYS[1], 'ref:' .. ref, entry)
  if pv ~= '' then redis.call('HSET', KEYS[1], 'pv:' .. pv, entry) end
end
-- The first accepted report's details stand; reclassifications replace them (SetDetailsCommand).
redis.call('HSETNX', KEYS[1], 'report', ARGV[2])
return n
)lua";

// KEYS[1]: the crime. ARGV[1]: owner. Deletes the owner's pending entries.
constexpr char kReleaseScript[] = R"lua(
local prefix = 'pending|' .. ARGV[1] .. '|'
local all = redis.call('HGETALL', KEYS[1])
local removed = 0
for i = 1, #all, 2 do
  if string.sub(all[i + 1], 1, #prefix) == prefix then
    redis.call('HDEL', KEYS[1], all[i])
    removed = removed + 1
  end
end
return removed
)lua";

const redis::Script& ResolveScript() {
  static const auto* script = new redis::Script(kResolveScript);
  return *script;
}
const redis::Script& ReleaseScript() {
  static const auto* script = new redis::Script(kReleaseScript);
  return *script;
}

absl::Status Unavailable(const absl::Status& status) {
  return absl::UnavailableError(
      absl::StrCat("the hub's state store is unavailable (", status.message(), ")"));
}

}  // namespace

CrimeIndex::CrimeIndex(redis::RedisClient* redis, std::string ns)
    : redis_(redis), ns_(std::move(ns)) {}

std::string CrimeIndex::Key(absl::string_view force_code, absl::string_view crime_reference) const {
  return absl::StrCat(
      ns_, ":intake:crime:{",
      events::Sha256Hex(absl::StrCat("crime\n", force_code, "\n", crime_reference)).substr(0, 32),
      "}");
}

absl::StatusOr<std::vector<CaseResolution>> CrimeIndex::Resolve(
    absl::string_view force_code, absl::string_view crime_reference, absl::string_view owner,
    const std::vector<VictimKey>& victims, absl::Time now) {
  std::vector<std::string> args = {std::string(owner), absl::StrCat(absl::ToUnixMillis(now)),
                                   absl::StrCat(absl::ToInt64Milliseconds(kPendingTtl)),
                                   absl::StrCat(victims.size())};
  for (const VictimKey& victim : victims) {
    args.push_back(victim.victim_ref);
    args.push_back(victim.pseudonymous_id);
    args.push_back(victim.proposed_case_id);
  }
  absl::StatusOr<redis::Reply> reply =
      redis_->Eval(ResolveScript(), {Key(force_code, crime_reference)}, args);
  if (!reply.ok()) {
    return Unavailable(reply.status());
  }
  if (reply->type == redis::Reply::Type::kError) {
    return absl::InternalError("crime index script failed");
  }
  if (reply->elements.size() == 1 && reply->elements[0].str == "busy") {
    return absl::UnavailableError(
        "report.crime_reference: another submission of the same victim and crime is still "
        "being processed; retry shortly");
  }
  if (reply->elements.size() != 2 * victims.size()) {
    return absl::InternalError("crime index script returned an unexpected reply");
  }
  std::vector<CaseResolution> resolutions;
  for (size_t i = 0; i < victims.size(); ++i) {
    CaseResolution resolution;
    resolution.kind = reply->elements[2 * i].str == "merged" ? CaseResolution::Kind::kMerged
                                                             : CaseResolution::Kind::kOpen;
    resolution.case_id = reply->elements[2 * i + 1].str;
    resolutions.push_back(std::move(resolution));
  }
  return resolutions;
}

std::vector<std::string> CrimeIndex::CompleteCommand(
    absl::string_view force_code, absl::string_view crime_reference, absl::string_view owner,
    const std::vector<VictimKey>& victims, const std::vector<CaseResolution>& resolutions,
    const hub::intake::v1::CrimeReport& details) const {
  // EVAL with the text: Redis caches the compiled script by its digest, and a pipeline
  // cannot recover from NOSCRIPT the way Eval does.
  std::vector<std::string> command = {"EVAL",
                                      kCompleteScript,
                                      "1",
                                      Key(force_code, crime_reference),
                                      std::string(owner),
                                      details.SerializeAsString(),
                                      "0"};
  size_t opened = 0;
  for (size_t i = 0; i < victims.size() && i < resolutions.size(); ++i) {
    if (resolutions[i].kind != CaseResolution::Kind::kOpen) {
      continue;
    }
    command.push_back(victims[i].victim_ref);
    command.push_back(victims[i].pseudonymous_id);
    command.push_back(resolutions[i].case_id);
    ++opened;
  }
  command[6] = absl::StrCat(opened);
  return command;
}

std::vector<std::string> CrimeIndex::SetDetailsCommand(
    absl::string_view force_code, absl::string_view crime_reference,
    const hub::intake::v1::CrimeReport& details) const {
  return {"HSET", Key(force_code, crime_reference), "report", details.SerializeAsString()};
}

absl::Status CrimeIndex::Release(absl::string_view force_code, absl::string_view crime_reference,
                                 absl::string_view owner) {
  absl::StatusOr<redis::Reply> reply =
      redis_->Eval(ReleaseScript(), {Key(force_code, crime_reference)}, {std::string(owner)});
  if (!reply.ok()) {
    return Unavailable(reply.status());
  }
  return absl::OkStatus();
}

absl::StatusOr<CrimeRecord> CrimeIndex::Get(absl::string_view force_code,
                                            absl::string_view crime_reference) {
  absl::StatusOr<redis::Reply> reply =
      redis_->Command({"HGETALL", Key(force_code, crime_reference)});
  if (!reply.ok()) {
    return Unavailable(reply.status());
  }
  CrimeRecord record;
  for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
    const std::string& field = reply->elements[i].str;
    const std::string& value = reply->elements[i + 1].str;
    if (field == "report") {
      hub::intake::v1::CrimeReport details;
      if (!details.ParseFromString(value)) {
        return absl::DataLossError("crime index holds undecodable details");
      }
      record.report = std::move(details);
    } else if (absl::StartsWith(field, "ref:") && absl::StartsWith(value, "done|")) {
      std::vector<std::string> parts = absl::StrSplit(value, '|');
      record.cases.emplace_back(field.substr(4), parts[1]);
    }
  }
  return record;
}

absl::Status CrimeIndex::ForgetPseudonym(absl::string_view crime_key,
                                         absl::string_view pseudonymous_id) {
  absl::StatusOr<redis::Reply> reply =
      redis_->Command({"HDEL", std::string(crime_key), absl::StrCat("pv:", pseudonymous_id)});
  if (!reply.ok()) {
    return Unavailable(reply.status());
  }
  return absl::OkStatus();
}

}  // namespace hub::intake
