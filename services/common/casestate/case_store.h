// The live view of each case in Redis: its current state and the history of every step
// the services recorded.
//
// Keys (all of one case share the hash tag {<case id>}, so the recording script touches a
// single Redis Cluster slot):
//   <ns>:case:{<id>}          hash: stage, stage_name, version, updated_at, and attributes
//                             such as priority, provider_id, referral_due
//   <ns>:case:{<id>}:history  list: one JSON object per recorded step, oldest first
//   <ns>:case:{<id>}:events   set: the event ids already applied to this case
//   <ns>:cases:recent         sorted set: case ids by last update (for listing)
//
// RecordStep is idempotent and fenced: an event id already applied changes nothing, and a
// step from an earlier stage (a late redelivery, or a stage that recorded after the next
// stage had already handled its event) is added to the history and fills in attributes
// not yet set, but never moves the stage back or overwrites a later stage's attributes
// (unless the step says it replaces them: a re-assessment).
// One round trip per step (a pipeline of the script and the index update). Everything
// here can be rebuilt from the Kafka topics.
//
// Thread-safe (the Redis client is).
#ifndef HUB_SERVICES_COMMON_CASESTATE_CASE_STORE_H_
#define HUB_SERVICES_COMMON_CASESTATE_CASE_STORE_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#include "hub/cases/v1/cases.pb.h"
#include "services/common/redis/redis_client.h"

namespace hub::casestate {

// One step a service recorded for a case.
struct CaseStep {
  std::string case_id;
  hub::cases::v1::Stage stage = hub::cases::v1::STAGE_UNSPECIFIED;
  // "intake", "triage", "routing", "notification".
  std::string service;
  // The CloudEvents id of the event that caused this step.
  std::string event_id;
  absl::Time recorded_at;
  // Short and PII-free: e.g. "priority enhanced; referral due 2026-11-27T23:59:00Z".
  std::string detail;
  // Attributes to set on the case when this step is the furthest yet.
  std::vector<std::pair<std::string, std::string>> attributes;
  // Set the attributes even when the case has moved past this step's stage: a
  // re-assessment replaces the assessment's attributes (priority, deadlines) without moving
  // the stage back.
  bool overwrite_attributes = false;
};

class CaseStore {
 public:
  // `redis` must outlive the store. `ns` prefixes every key.
  CaseStore(redis::RedisClient* redis, std::string ns);

  // Records `step`. Returns true if it was new, false if its event id was already applied.
  // kInvalidArgument for a step without case id, event id or stage; kUnavailable when Redis
  // is unreachable (retry: the call is idempotent).
  absl::StatusOr<bool> RecordStep(const CaseStep& step);

  // Records every step of `steps`, and runs `also` (further commands the caller needs done
  // in the same round trip, e.g. its own index updates), in one pipelined round trip.
  // OK only when every step and every command succeeded; a step already applied counts as
  // success. Redis pipelines across slots on one server; on Redis Cluster the client seam
  // must split a pipeline by node.
  absl::Status RecordSteps(const std::vector<CaseStep>& steps,
                           const std::vector<std::vector<std::string>>& also);

  // The case with its history, or nullopt if the hub has no record of it.
  absl::StatusOr<std::optional<hub::cases::v1::CaseState>> Get(absl::string_view case_id);

  // The `limit` most recently updated cases, newest first, without history.
  absl::StatusOr<std::vector<hub::cases::v1::CaseState>> ListRecent(int limit);

  // Key names, for documentation, tools and tests.
  std::string StateKey(absl::string_view case_id) const;
  std::string HistoryKey(absl::string_view case_id) const;
  std::string EventsKey(absl::string_view case_id) const;
  std::string RecentKey() const;

 private:
  // The script call and the index update that record one step.
  struct StepCommands {
    std::vector<std::string> script;
    std::vector<std::string> index;
  };
  absl::StatusOr<StepCommands> CommandsFor(const CaseStep& step) const;

  redis::RedisClient* redis_;
  std::string ns_;
};

// Case ids are opaque: "c_" (a police report) or "s_" (a self-referral) and 24 lower-case
// hex digits. kInvalidArgument otherwise (so a
// caller cannot smuggle key syntax such as '}' into a key).
absl::Status ValidateCaseId(absl::string_view case_id);

}  // namespace hub::casestate

#endif  // HUB_SERVICES_COMMON_CASESTATE_CASE_STORE_H_
