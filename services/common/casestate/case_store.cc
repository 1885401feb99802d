#include "services/common/casestate/case_store.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "nlohmann/json.hpp"

#include "services/common/status/status_macros.h"

namespace hub::casestate {
namespace {

using hub::cases::v1::CaseState;
using hub::cases::v1::HistoryEntry;

// KEYS: state hash, history list, applied-events set.
// ARGV: event id, stage number, stage name, history entry (JSON), updated_at (unix ms),
//       "1" to overwrite attributes from an earlier stage (else "0"), then attribute
//       name/value pairs.
// Returns 1 when the step was new, 0 when the event had already been applied.
constexpr char kRecordStepScript[] = R"lua(
if redis.call('SADD', KEYS[3], ARGV[1]) == 0 then
  return 0
end
redis.call('RPUSH', KEYS[2], ARGV[4])
local current = tonumber(redis.call('HGET', KEYS[1], 'stage') or '0')
local stage = tonumber(ARGV[2])
if stage >= current then
  redis.call('HSET', KEYS[1], 'stage', ARGV[2], 'stage_name', ARGV[3], 'updated_at', ARGV[5])
  for i = 7, #ARGV, 2 do
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
elseif ARGV[6] == '1' then
  -- A re-assessment: its attributes replace the earlier assessment's, but the stage stays.
  for i = 7, #ARGV, 2 do
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
else
  -- A stage records after publishing, so a later stage may record first: fill in what
  -- this earlier step knows, but never overwrite what a later step set.
  for i = 7, #ARGV, 2 do
    redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
redis.call('HINCRBY', KEYS[1], 'version', 1)
return 1
)lua";

const redis::Script& RecordStepScript() {
  static const auto* script = new redis::Script(kRecordStepScript);
  return *script;
}

absl::StatusOr<HistoryEntry> ParseHistoryEntry(const std::string& json_text) {
  nlohmann::json json = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::DataLossError("case history entry is not a JSON object");
  }
  HistoryEntry entry;
  entry.set_stage(static_cast<hub::cases::v1::Stage>(json.value("stage", 0)));
  entry.set_service(json.value("service", ""));
  entry.set_event_id(json.value("event_id", ""));
  *entry.mutable_recorded_at() =
      google::protobuf::util::TimeUtil::MillisecondsToTimestamp(json.value("at_ms", int64_t{0}));
  entry.set_detail(json.value("detail", ""));
  return entry;
}

void FillState(const redis::Reply& hash, CaseState* state) {
  for (size_t i = 0; i + 1 < hash.elements.size(); i += 2) {
    const std::string& field = hash.elements[i].str;
    const std::string& value = hash.elements[i + 1].str;
    if (field == "stage") {
      int stage = 0;
      if (absl::SimpleAtoi(value, &stage) && hub::cases::v1::Stage_IsValid(stage)) {
        state->set_stage(static_cast<hub::cases::v1::Stage>(stage));
      }
    } else if (field == "updated_at") {
      int64_t millis = 0;
      if (absl::SimpleAtoi(value, &millis)) {
        *state->mutable_updated_at() =
            google::protobuf::util::TimeUtil::MillisecondsToTimestamp(millis);
      }
    } else {
      (*state->mutable_attributes())[field] = value;
    }
  }
}

}  // namespace

absl::Status ValidateCaseId(absl::string_view case_id) {
  bool ok = case_id.size() == 26 && (case_id.substr(0, 2) == "c_" || case_id.substr(0, 2) == "s_");
  for (size_t i = 2; ok && i < case_id.size(); ++i) {
    char c = case_id[i];
    ok = absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f');
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        "case_id: must be 'c_' or 's_' followed by 24 lower-case hex digits");
  }
  return absl::OkStatus();
}

CaseStore::CaseStore(redis::RedisClient* redis, std::string ns)
    : redis_(redis), ns_(std::move(ns)) {}

std::string CaseStore::StateKey(absl::string_view case_id) const {
  return absl::StrCat(ns_, ":case:{", case_id, "}");
}
std::string CaseStore::HistoryKey(absl::string_view case_id) const {
  return absl::StrCat(StateKey(case_id), ":history");
}
std::string CaseStore::EventsKey(absl::string_view case_id) const {
  return absl::StrCat(StateKey(case_id), ":events");
}
std::string CaseStore::RecentKey() const { return absl::StrCat(ns_, ":cases:recent"); }

absl::Status CaseStore::RecordSteps(const std::vector<CaseStep>& steps,
                                    const std::vector<std::vector<std::string>>& also) {
  std::vector<std::vector<std::string>> commands;
  for (const CaseStep& step : steps) {
    HUB_ASSIGN_OR_RETURN(StepCommands step_commands, CommandsFor(step));
    commands.push_back(std::move(step_commands.script));
    commands.push_back(std::move(step_commands.index));
  }
  commands.insert(commands.end(), also.begin(), also.end());
  if (commands.empty()) {
    return absl::OkStatus();
  }
  HUB_ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, redis_->Pipeline(commands));
  if (replies.size() != commands.size()) {
    return absl::InternalError("case store: pipeline returned the wrong number of replies");
  }
  for (size_t i = 0; i < replies.size(); ++i) {
    if (replies[i].type != redis::Reply::Type::kError) {
      continue;
    }
    const bool is_step_script = i < 2 * steps.size() && i % 2 == 0;
    if (!is_step_script || !redis::IsNoScriptError(replies[i])) {
      return absl::InternalError(
          absl::StrCat("case store: command ", i, " failed: ", replies[i].str));
    }
    // First use on this server: load and run the script (one extra round trip, once).
    const std::vector<std::string>& call = commands[i];
    std::vector<std::string> keys(call.begin() + 3, call.begin() + 6);
    std::vector<std::string> args(call.begin() + 6, call.end());
    HUB_RETURN_IF_ERROR(redis_->Eval(RecordStepScript(), keys, args).status());
  }
  return absl::OkStatus();
}

absl::StatusOr<CaseStore::StepCommands> CaseStore::CommandsFor(const CaseStep& step) const {
  HUB_RETURN_IF_ERROR(ValidateCaseId(step.case_id));
  if (step.event_id.empty()) {
    return absl::InvalidArgumentError("case step: event_id is empty");
  }
  if (step.stage == hub::cases::v1::STAGE_UNSPECIFIED) {
    return absl::InvalidArgumentError("case step: stage is unspecified");
  }
  int64_t at_ms = absl::ToUnixMillis(step.recorded_at);
  nlohmann::json entry = {{"stage", static_cast<int>(step.stage)},
                          {"service", step.service},
                          {"event_id", step.event_id},
                          {"at_ms", at_ms},
                          {"detail", step.detail}};
  std::vector<std::string> script_call = {
      "EVALSHA",
      RecordStepScript().sha1(),
      "3",
      StateKey(step.case_id),
      HistoryKey(step.case_id),
      EventsKey(step.case_id),
      step.event_id,
      absl::StrCat(static_cast<int>(step.stage)),
      hub::cases::v1::Stage_Name(step.stage),
      entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
      absl::StrCat(at_ms),
      step.overwrite_attributes ? "1" : "0"};
  for (const auto& [name, value] : step.attributes) {
    script_call.push_back(name);
    script_call.push_back(value);
  }
  std::vector<std::string> index_call = {"ZADD", RecentKey(), absl::StrCat(at_ms), step.case_id};
  return StepCommands{std::move(script_call), std::move(index_call)};
}

absl::StatusOr<bool> CaseStore::RecordStep(const CaseStep& step) {
  HUB_ASSIGN_OR_RETURN(StepCommands commands, CommandsFor(step));
  const std::vector<std::string>& script_call = commands.script;
  HUB_ASSIGN_OR_RETURN(std::vector<redis::Reply> replies,
                       redis_->Pipeline({commands.script, commands.index}));
  if (replies.size() != 2) {
    return absl::InternalError("case store: pipeline returned the wrong number of replies");
  }
  if (replies[0].type == redis::Reply::Type::kError) {
    if (!redis::IsNoScriptError(replies[0])) {
      return absl::InternalError(absl::StrCat("case store: ", replies[0].str));
    }
    // First use on this server: load and run the script (one extra round trip, once).
    std::vector<std::string> keys(script_call.begin() + 3, script_call.begin() + 6);
    std::vector<std::string> args(script_call.begin() + 6, script_call.end());
    HUB_ASSIGN_OR_RETURN(redis::Reply reply, redis_->Eval(RecordStepScript(), keys, args));
    return reply.integer == 1;
  }
  return replies[0].integer == 1;
}

absl::StatusOr<std::optional<CaseState>> CaseStore::Get(absl::string_view case_id) {
  HUB_RETURN_IF_ERROR(ValidateCaseId(case_id));
  HUB_ASSIGN_OR_RETURN(std::vector<redis::Reply> replies,
                       redis_->Pipeline({{"HGETALL", StateKey(case_id)},
                                         {"LRANGE", HistoryKey(case_id), "0", "-1"}}));
  if (replies.size() != 2 || replies[0].type != redis::Reply::Type::kArray) {
    return absl::InternalError("case store: unexpected reply to HGETALL");
  }
  if (replies[0].elements.empty()) {
    return std::nullopt;
  }
  CaseState state;
  state.set_case_id(std::string(case_id));
  FillState(replies[0], &state);
  for (const redis::Reply& item : replies[1].elements) {
    HUB_ASSIGN_OR_RETURN(HistoryEntry entry, ParseHistoryEntry(item.str));
    *state.add_history() = std::move(entry);
  }
  // Steps are appended as services record them, and a stage may record before the one
  // before it (intake records after answering the caller): show them in the order they
  // happened. Stable, so steps of the same millisecond keep their recording order.
  std::stable_sort(
      state.mutable_history()->begin(), state.mutable_history()->end(),
      [](const HistoryEntry& a, const HistoryEntry& b) {
        return google::protobuf::util::TimeUtil::TimestampToMilliseconds(a.recorded_at()) <
               google::protobuf::util::TimeUtil::TimestampToMilliseconds(b.recorded_at());
      });
  return state;
}

absl::StatusOr<std::vector<CaseState>> CaseStore::ListRecent(int limit) {
  HUB_ASSIGN_OR_RETURN(redis::Reply ids,
                       redis_->Command({"ZREVRANGE", RecentKey(), "0", absl::StrCat(limit - 1)}));
  std::vector<std::vector<std::string>> commands;
  for (const redis::Reply& id : ids.elements) {
    commands.push_back({"HGETALL", StateKey(id.str)});
  }
  std::vector<CaseState> cases;
  if (commands.empty()) {
    return cases;
  }
  HUB_ASSIGN_OR_RETURN(std::vector<redis::Reply> hashes, redis_->Pipeline(commands));
  for (size_t i = 0; i < hashes.size() && i < ids.elements.size(); ++i) {
    if (hashes[i].type != redis::Reply::Type::kArray || hashes[i].elements.empty()) {
      continue;
    }
    CaseState state;
    state.set_case_id(ids.elements[i].str);
    FillState(hashes[i], &state);
    cases.push_back(std::move(state));
  }
  return cases;
}

}  // namespace hub::casestate
