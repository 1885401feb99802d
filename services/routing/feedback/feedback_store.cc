#include "services/routing/feedback/feedback_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/message_differencer.h"

#include "services/common/status/status_macros.h"

namespace hub::routing::feedback {
namespace {

using google::protobuf::util::MessageDifferencer;
using hub::routing::v1::CaseFeedback;

// KEYS: case, applied, changes, crime (new), crime (old; the same key when unchanged).
// ARGV: version read ('0' when absent), event id, mode ('mark', 'hold', 'write' or 'append'),
// serialized feedback, assessment sequence, feed length to keep, case id. 'hold' stores an
// unconfirmed case without indexing it; 'write' and 'append' store a confirmed one.
// Returns {0} when the event was applied before, {1} when the version changed since it was
// read (re-read and retry), {2} when only the event id was recorded, {3} when the case was
// written without a feed entry, {4, entry id} when it was written and appended.
constexpr char kCommitScript[] = R"lua(
if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 1 then
  return {0}
end
if (redis.call('HGET', KEYS[1], 'version') or '0') ~= ARGV[1] then
  return {1}
end
redis.call('SADD', KEYS[2], ARGV[2])
if ARGV[3] == 'mark' then
  return {2}
end
redis.call('HSET', KEYS[1], 'feedback', ARGV[4], 'assessment_sequence', ARGV[5],
           'version', tonumber(ARGV[1]) + 1, 'confirmed', ARGV[3] == 'hold' and '0' or '1')
if ARGV[3] == 'hold' then
  return {3}
end
if KEYS[5] ~= KEYS[4] then
  redis.call('SREM', KEYS[5], ARGV[7])
end
redis.call('SADD', KEYS[4], ARGV[7])
if ARGV[3] == 'write' then
  return {3}
end
local prev = ''
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
if #last == 1 then
  prev = last[1][1]
end
local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*',
                      'case_id', ARGV[7], 'feedback', ARGV[4], 'prev', prev)
redis.call('HSET', KEYS[1], 'token', id)
return {4, id}
)lua";

// KEYS: changes. ARGV: XRANGE start ('-' or '(<id>'), count.
// Returns {newest entry (0 or 1), oldest entry (0 or 1), the entries asked for}, read in
// one step so the retention check and the entries agree.
constexpr char kReadScript[] = R"lua(
return {redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1),
        redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1),
        redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])}
)lua";

const redis::Script& CommitScript() {
  static const auto* script = new redis::Script(kCommitScript);
  return *script;
}
const redis::Script& ReadScript() {
  static const auto* script = new redis::Script(kReadScript);
  return *script;
}

absl::Status ValidateKeyPart(absl::string_view field, absl::string_view value, size_t max_size,
                             absl::string_view punctuation, absl::string_view described) {
  bool ok = !value.empty() && value.size() <= max_size;
  for (size_t i = 0; ok && i < value.size(); ++i) {
    ok = absl::ascii_isalnum(value[i]) || absl::StrContains(punctuation, value[i]);
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be 1 to ", max_size, " letters, digits, ", described));
  }
  return absl::OkStatus();
}

bool IsString(const redis::Reply& reply) { return reply.type == redis::Reply::Type::kString; }

absl::StatusOr<CaseFeedback> ParseFeedback(const redis::Reply& reply) {
  CaseFeedback feedback;
  if (!IsString(reply) || !feedback.ParseFromString(reply.str)) {
    return absl::DataLossError("feedback store: a stored case does not parse");
  }
  return feedback;
}

absl::StatusOr<int64_t> NumberField(const redis::Reply& reply, absl::string_view what) {
  if (reply.is_nil()) {
    return 0;
  }
  int64_t value = 0;
  if (!IsString(reply) || !absl::SimpleAtoi(reply.str, &value)) {
    return absl::DataLossError(absl::StrCat("feedback store: a stored ", what, " is not a number"));
  }
  return value;
}

// One stream entry: its id and field/value pairs.
struct Entry {
  FeedToken id;
  std::string case_id;
  std::string feedback;
  std::string prev;
};

absl::StatusOr<Entry> ParseEntry(const redis::Reply& reply) {
  if (reply.type != redis::Reply::Type::kArray || reply.elements.size() != 2 ||
      !IsString(reply.elements[0]) || reply.elements[1].type != redis::Reply::Type::kArray) {
    return absl::InternalError("feedback store: a feed entry is not [id, fields]");
  }
  Entry entry;
  absl::StatusOr<FeedToken> id = ParseFeedToken("entry id", reply.elements[0].str);
  if (!id.ok()) {
    return absl::InternalError("feedback store: a feed entry id does not parse");
  }
  entry.id = *id;
  const std::vector<redis::Reply>& fields = reply.elements[1].elements;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (!IsString(fields[i]) || !IsString(fields[i + 1])) {
      continue;
    }
    if (fields[i].str == "case_id") {
      entry.case_id = fields[i + 1].str;
    } else if (fields[i].str == "feedback") {
      entry.feedback = fields[i + 1].str;
    } else if (fields[i].str == "prev") {
      entry.prev = fields[i + 1].str;
    }
  }
  return entry;
}

// The only entry of an XRANGE ... COUNT 1 reply, or nullopt when the stream is empty.
absl::StatusOr<std::optional<Entry>> ParseEdge(const redis::Reply& reply) {
  if (reply.type != redis::Reply::Type::kArray || reply.elements.size() > 1) {
    return absl::InternalError("feedback store: expected at most one feed entry");
  }
  if (reply.elements.empty()) {
    return std::nullopt;
  }
  HUB_ASSIGN_OR_RETURN(Entry entry, ParseEntry(reply.elements[0]));
  return entry;
}

}  // namespace

std::string FeedToken::ToString() const { return absl::StrCat(ms, "-", seq); }

absl::StatusOr<FeedToken> ParseFeedToken(absl::string_view field, absl::string_view token) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '-');
  FeedToken parsed;
  const auto digits = [](absl::string_view part) {
    return !part.empty() && part.size() <= 20 &&
           std::all_of(part.begin(), part.end(), absl::ascii_isdigit);
  };
  if (parts.size() != 2 || !digits(parts[0]) || !digits(parts[1]) ||
      !absl::SimpleAtoi(parts[0], &parsed.ms) || !absl::SimpleAtoi(parts[1], &parsed.seq)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": not a token this feed issued (expected \"<digits>-<digits>\")"));
  }
  return parsed;
}

absl::Status ValidateForce(absl::string_view field, absl::string_view force) {
  return ValidateKeyPart(field, force, 64, "-_.", "'-', '_' or '.'");
}

absl::Status ValidateCrimeReference(absl::string_view field, absl::string_view crime_reference) {
  return ValidateKeyPart(field, crime_reference, 64, "-_/.", "'-', '_', '/' or '.'");
}

absl::Status ValidateCaseId(absl::string_view field, absl::string_view case_id) {
  return ValidateKeyPart(field, case_id, 128, "-_.", "'-', '_' or '.'");
}

FeedbackStore::FeedbackStore(redis::RedisClient* redis, std::string ns,
                             FeedbackStoreOptions options)
    : redis_(redis), ns_(std::move(ns)), options_(options) {
  options_.stream_max_len = std::max<int64_t>(1, options_.stream_max_len);
}

std::string FeedbackStore::CaseKey(absl::string_view force, absl::string_view case_id) const {
  return absl::StrCat(ns_, ":feedback:{", force, "}:case:", case_id);
}
std::string FeedbackStore::AppliedKey(absl::string_view force, absl::string_view case_id) const {
  return absl::StrCat(ns_, ":feedback:{", force, "}:applied:", case_id);
}
std::string FeedbackStore::CrimeKey(absl::string_view force,
                                    absl::string_view crime_reference) const {
  return absl::StrCat(ns_, ":feedback:{", force, "}:crime:", crime_reference);
}
std::string FeedbackStore::ChangesKey(absl::string_view force) const {
  return absl::StrCat(ns_, ":feedback:{", force, "}:changes");
}

absl::StatusOr<Applied> FeedbackStore::Apply(absl::string_view force, absl::string_view case_id,
                                             absl::string_view event_id, const Change& change) {
  HUB_RETURN_IF_ERROR(ValidateForce("force", force));
  HUB_RETURN_IF_ERROR(ValidateCaseId("case_id", case_id));
  if (event_id.empty() || event_id.size() > 256) {
    return absl::InvalidArgumentError("event id: must be 1 to 256 bytes");
  }
  const std::string case_key = CaseKey(force, case_id);
  const std::string applied_key = AppliedKey(force, case_id);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    HUB_ASSIGN_OR_RETURN(std::vector<redis::Reply> replies,
                         redis_->Pipeline({{"HMGET", case_key, "feedback", "assessment_sequence",
                                            "version", "confirmed"},
                                           {"SISMEMBER", applied_key, std::string(event_id)}}));
    if (replies.size() != 2 || replies[0].type != redis::Reply::Type::kArray ||
        replies[0].elements.size() != 4 || replies[1].type != redis::Reply::Type::kInteger) {
      return absl::InternalError("feedback store: apply: unexpected reply to the read");
    }
    if (replies[1].integer == 1) {
      return Applied{ApplyOutcome::kDuplicate, ""};
    }
    const std::vector<redis::Reply>& fields = replies[0].elements;
    CaseState before;
    if (fields[0].is_nil()) {
      before.feedback.set_case_id(std::string(case_id));
    } else {
      HUB_ASSIGN_OR_RETURN(before.feedback, ParseFeedback(fields[0]));
      HUB_ASSIGN_OR_RETURN(int64_t sequence, NumberField(fields[1], "assessment sequence"));
      before.assessment_sequence = static_cast<int32_t>(sequence);
      HUB_ASSIGN_OR_RETURN(int64_t confirmed, NumberField(fields[3], "confirmed flag"));
      before.confirmed = confirmed == 1;
    }
    HUB_ASSIGN_OR_RETURN(int64_t version, NumberField(fields[2], "version"));

    CaseState after = before;
    HUB_RETURN_IF_ERROR(change(&after));
    after.feedback.clear_token();
    if (after.feedback.case_id() != case_id) {
      return absl::InvalidArgumentError("case_id: an update may not change it");
    }
    HUB_RETURN_IF_ERROR(
        ValidateCrimeReference("crime_reference", after.feedback.crime_reference()));

    if (before.confirmed) {
      after.confirmed = true;  // Once shown, always shown.
    }
    const bool feedback_changed = !MessageDifferencer::Equals(before.feedback, after.feedback);
    const bool sequence_changed = after.assessment_sequence != before.assessment_sequence;
    const char* mode = "mark";
    if (!after.confirmed) {
      mode = feedback_changed || sequence_changed ? "hold" : "mark";
    } else if (feedback_changed || !before.confirmed) {
      mode = "append";
    } else if (sequence_changed) {
      mode = "write";
    }
    const std::string new_crime_key = CrimeKey(force, after.feedback.crime_reference());
    const std::string old_crime_key = before.feedback.crime_reference().empty()
                                          ? new_crime_key
                                          : CrimeKey(force, before.feedback.crime_reference());
    HUB_ASSIGN_OR_RETURN(
        redis::Reply reply,
        redis_->Eval(CommitScript(),
                     {case_key, applied_key, ChangesKey(force), new_crime_key, old_crime_key},
                     {absl::StrCat(version), std::string(event_id), mode,
                      after.feedback.SerializeAsString(), absl::StrCat(after.assessment_sequence),
                      absl::StrCat(options_.stream_max_len), std::string(case_id)}));
    if (reply.type != redis::Reply::Type::kArray || reply.elements.empty() ||
        reply.elements[0].type != redis::Reply::Type::kInteger) {
      return absl::InternalError("feedback store: apply: unexpected reply to the commit");
    }
    switch (reply.elements[0].integer) {
      case 0:
        return Applied{ApplyOutcome::kDuplicate, ""};
      case 1:
        continue;  // Someone else changed the case in between: apply to the fresh state.
      case 2:
      case 3:
        return Applied{ApplyOutcome::kUnchanged, ""};
      case 4:
        if (reply.elements.size() == 2 && IsString(reply.elements[1])) {
          return Applied{ApplyOutcome::kChanged, reply.elements[1].str};
        }
        break;
      default:
        break;
    }
    return absl::InternalError("feedback store: apply: unexpected reply to the commit");
  }
  return absl::AbortedError(absl::StrCat("feedback for case ", case_id, ": changed concurrently ",
                                         kMaxAttempts, " times in a row; retry"));
}

absl::StatusOr<std::optional<CaseFeedback>> FeedbackStore::GetCase(absl::string_view force,
                                                                   absl::string_view case_id) {
  HUB_RETURN_IF_ERROR(ValidateForce("force", force));
  HUB_RETURN_IF_ERROR(ValidateCaseId("case_id", case_id));
  HUB_ASSIGN_OR_RETURN(redis::Reply reply, redis_->Command({"HMGET", CaseKey(force, case_id),
                                                            "feedback", "token", "confirmed"}));
  if (reply.type != redis::Reply::Type::kArray || reply.elements.size() != 3) {
    return absl::InternalError("feedback store: get: expected three fields");
  }
  if (reply.elements[0].is_nil() || !IsString(reply.elements[2]) || reply.elements[2].str != "1") {
    return std::nullopt;
  }
  HUB_ASSIGN_OR_RETURN(CaseFeedback feedback, ParseFeedback(reply.elements[0]));
  if (IsString(reply.elements[1])) {
    feedback.set_token(reply.elements[1].str);
  }
  return feedback;
}

absl::StatusOr<std::optional<CaseState>> FeedbackStore::GetState(absl::string_view force,
                                                                 absl::string_view case_id) {
  HUB_RETURN_IF_ERROR(ValidateForce("force", force));
  HUB_RETURN_IF_ERROR(ValidateCaseId("case_id", case_id));
  HUB_ASSIGN_OR_RETURN(redis::Reply reply,
                       redis_->Command({"HMGET", CaseKey(force, case_id), "feedback",
                                        "assessment_sequence", "confirmed"}));
  if (reply.type != redis::Reply::Type::kArray || reply.elements.size() != 3) {
    return absl::InternalError("feedback store: get: expected three fields");
  }
  if (reply.elements[0].is_nil()) {
    return std::nullopt;
  }
  CaseState state;
  HUB_ASSIGN_OR_RETURN(state.feedback, ParseFeedback(reply.elements[0]));
  HUB_ASSIGN_OR_RETURN(int64_t sequence, NumberField(reply.elements[1], "assessment sequence"));
  state.assessment_sequence = static_cast<int32_t>(sequence);
  HUB_ASSIGN_OR_RETURN(int64_t confirmed, NumberField(reply.elements[2], "confirmed flag"));
  state.confirmed = confirmed == 1;
  return state;
}

absl::StatusOr<std::vector<CaseFeedback>> FeedbackStore::GetCrime(
    absl::string_view force, absl::string_view crime_reference) {
  HUB_RETURN_IF_ERROR(ValidateForce("force", force));
  HUB_RETURN_IF_ERROR(ValidateCrimeReference("crime_reference", crime_reference));
  HUB_ASSIGN_OR_RETURN(redis::Reply ids,
                       redis_->Command({"SMEMBERS", CrimeKey(force, crime_reference)}));
  if (ids.type != redis::Reply::Type::kArray) {
    return absl::InternalError("feedback store: crime: expected an array");
  }
  std::vector<std::string> case_ids;
  for (const redis::Reply& id : ids.elements) {
    if (IsString(id) && ValidateCaseId("case_id", id.str).ok()) {
      case_ids.push_back(id.str);
    }
  }
  std::sort(case_ids.begin(), case_ids.end());
  std::vector<CaseFeedback> cases;
  if (case_ids.empty()) {
    return cases;
  }
  std::vector<std::vector<std::string>> reads;
  reads.reserve(case_ids.size());
  for (const std::string& case_id : case_ids) {
    reads.push_back({"HMGET", CaseKey(force, case_id), "feedback", "token"});
  }
  HUB_ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, redis_->Pipeline(reads));
  if (replies.size() != reads.size()) {
    return absl::InternalError("feedback store: crime: wrong number of replies");
  }
  for (const redis::Reply& reply : replies) {
    if (reply.type != redis::Reply::Type::kArray || reply.elements.size() != 2) {
      return absl::InternalError("feedback store: crime: expected two fields");
    }
    if (reply.elements[0].is_nil()) {
      continue;  // Indexed but not written: cannot happen (one script writes both).
    }
    HUB_ASSIGN_OR_RETURN(CaseFeedback feedback, ParseFeedback(reply.elements[0]));
    if (feedback.crime_reference() != crime_reference) {
      continue;  // Moved to another crime reference since the index was read.
    }
    if (IsString(reply.elements[1])) {
      feedback.set_token(reply.elements[1].str);
    }
    cases.push_back(std::move(feedback));
  }
  return cases;
}

absl::StatusOr<std::vector<CaseFeedback>> FeedbackStore::ReadChanges(absl::string_view force,
                                                                     std::optional<FeedToken> after,
                                                                     int limit) {
  HUB_RETURN_IF_ERROR(ValidateForce("force", force));
  if (limit < 1 || limit > kMaxReadLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit: must be 1 to ", kMaxReadLimit, ", got ", limit));
  }
  const std::string start = after.has_value() ? absl::StrCat("(", after->ToString()) : "-";
  HUB_ASSIGN_OR_RETURN(redis::Reply reply, redis_->Eval(ReadScript(), {ChangesKey(force)},
                                                        {start, absl::StrCat(limit)}));
  if (reply.type != redis::Reply::Type::kArray || reply.elements.size() != 3 ||
      reply.elements[2].type != redis::Reply::Type::kArray) {
    return absl::InternalError("feedback store: read: expected three arrays");
  }
  if (after.has_value()) {
    HUB_ASSIGN_OR_RETURN(std::optional<Entry> newest, ParseEdge(reply.elements[0]));
    HUB_ASSIGN_OR_RETURN(std::optional<Entry> oldest, ParseEdge(reply.elements[1]));
    if (!newest.has_value() || *after > newest->id) {
      return absl::OutOfRangeError(absl::StrCat(
          "after_token ", after->ToString(), " is beyond the newest change of this feed (",
          newest.has_value() ? newest->id.ToString() : "none", ")"));
    }
    // Changes after `after` were trimmed exactly when the entry just before the oldest
    // retained one is itself after `after`.
    if (oldest.has_value() && oldest->id > *after && !oldest->prev.empty()) {
      absl::StatusOr<FeedToken> before_oldest = ParseFeedToken("prev", oldest->prev);
      if (!before_oldest.ok() || *before_oldest > *after) {
        return absl::OutOfRangeError(absl::StrCat("after_token ", after->ToString(),
                                                  " is older than the retained changes (the "
                                                  "oldest retained is ",
                                                  oldest->id.ToString(), ")"));
      }
    }
  }
  std::vector<CaseFeedback> changes;
  changes.reserve(reply.elements[2].elements.size());
  for (const redis::Reply& raw : reply.elements[2].elements) {
    HUB_ASSIGN_OR_RETURN(Entry entry, ParseEntry(raw));
    CaseFeedback feedback;
    if (!feedback.ParseFromString(entry.feedback)) {
      return absl::DataLossError("feedback store: a feed entry does not parse");
    }
    feedback.set_token(entry.id.ToString());
    changes.push_back(std::move(feedback));
  }
  return changes;
}

}  // namespace hub::routing::feedback
