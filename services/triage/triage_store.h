// Triage's live state in Redis (docs/architecture.md, "State in Redis"):
//   <ns>:triage:case:{<case id>}            hash: v (compare-and-set counter), record (a
//                                           serialized hub.triage.v1.CaseRecord)
//   <ns>:triage:victim:{<pv id>}:reports    sorted set: the victim's case ids scored by
//                                           report time (unix ms), for repeat
//                                           victimisation; expires after the longest rule
//                                           window
//   <ns>:triage:victim:{<pv id>}:categories hash: case id → crime category
//   <ns>:triage:request:{<principal>/<request id>}  string: a staff request's event id
//                                           (7 days), so a repeated request is answered
//                                           as a duplicate
// Keys of one case, or of one victim, share a hash tag, so every script stays in one
// Redis Cluster slot. Only pseudonymous ids and case ids appear in keys; the record holds
// the crime with its personal data sealed. Thread-safe.
#ifndef HUB_SERVICES_TRIAGE_TRIAGE_STORE_H_
#define HUB_SERVICES_TRIAGE_TRIAGE_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

#include "hub/triage/v1/triage.pb.h"
#include "services/common/redis/redis_client.h"
#include "services/triage/assessment.h"

namespace hub::triage {

// How long a record of held updates, or an erasure tombstone, is kept.
inline constexpr absl::Duration kHeldRecordTtl = absl::Hours(24 * 30);

class TriageStore {
 public:
  // `redis` must outlive the store.
  TriageStore(redis::RedisClient* redis, std::string ns);

  // The case's record, or nullopt. kDataLoss for a record that does not parse.
  absl::StatusOr<std::optional<hub::triage::v1::CaseRecord>> Get(const std::string& case_id);

  // Writes `record` if the stored version is still `record.version()` (0: no record yet),
  // storing it with version + 1. Returns false (nothing written) when another writer got
  // there first: read again and redo. A record without its crime (held updates only)
  // expires after kHeldRecordTtl; one with its crime is kept.
  absl::StatusOr<bool> Put(const std::string& case_id, const hub::triage::v1::CaseRecord& record);

  // Replaces the case's record with an erasure tombstone (CaseRecord.erased) that expires
  // after kHeldRecordTtl.
  absl::Status EraseCase(const std::string& case_id);

  // The victim's reports at or after `from`.
  absl::StatusOr<std::vector<PriorReport>> History(const std::string& pseudonymous_id,
                                                   absl::Time from);
  // Adds (or updates) this case in the victim's history; drops entries older than `keep`
  // before `now` and lets the keys expire `keep` after the last report.
  absl::Status RecordReport(const std::string& pseudonymous_id, const PriorReport& report,
                            absl::Time now, absl::Duration keep);
  // Forgets the victim's history (erasure).
  absl::Status EraseVictim(const std::string& pseudonymous_id);

  // Remembers a staff request id (for 7 days). True the first time, false for a repeat.
  absl::StatusOr<bool> ClaimRequest(const std::string& principal, const std::string& request_id,
                                    const std::string& event_id);

  std::string CaseKey(const std::string& case_id) const;
  std::string ReportsKey(const std::string& pseudonymous_id) const;
  std::string CategoriesKey(const std::string& pseudonymous_id) const;

 private:
  redis::RedisClient* redis_;
  std::string ns_;
};

}  // namespace hub::triage

#endif  // HUB_SERVICES_TRIAGE_TRIAGE_STORE_H_
