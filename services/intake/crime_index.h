// Which cases a crime has, so the same victim of the same crime becomes one case however
// many feeds report it, and so updates find the cases they apply to.
//
// One Redis hash per crime (force code and crime reference), hash-tagged so every script
// here touches one Redis Cluster slot:
//   <ns>:intake:crime:{<digest>}   "ref:<victim_ref>" -> entry
//                                  "pv:<pseudonymous victim id>" -> entry
//                                  "report" -> the crime's latest non-personal details (a
//                                              serialized CrimeReport without victims)
// An entry is "done|<case id>|<owner>" once the case's CrimeReported is durably in Kafka, or
// "pending|<owner>|<case id>|<expiry ms>" while a submission (the owner) is publishing it.
//
// Cross-feed rule: a victim is the same victim of the crime when their victim_ref matches,
// or when their pseudonymous id (name and date of birth) matches. The first report to be
// accepted opens the case and its data stands; a later report of the same victim from
// another feed is answered with the existing case id, flagged MERGED_WITH_EXISTING_CASE,
// and publishes nothing; changes must come as updates. A pending entry of another
// submission makes the caller retry (UNAVAILABLE); an expired pending entry (its owner
// crashed) is taken over. Everything here can be rebuilt from the crime-reported topic.
//
// Thread-safe (the Redis client is).
#ifndef HUB_SERVICES_INTAKE_CRIME_INDEX_H_
#define HUB_SERVICES_INTAKE_CRIME_INDEX_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#include "hub/intake/v1/intake.pb.h"
#include "services/common/redis/redis_client.h"

namespace hub::intake {

// One victim of a report, as the index sees it.
struct VictimKey {
  std::string victim_ref;
  // Empty when the victim could not be matched (no name and date of birth).
  std::string pseudonymous_id;
  // The case id the report would open for this victim.
  std::string proposed_case_id;
};

// What the index decided for one victim.
struct CaseResolution {
  enum class Kind {
    // This submission opens (or is still opening) the case: publish it.
    kOpen,
    // Another feed's report already opened the case: publish nothing.
    kMerged,
  };
  Kind kind = Kind::kOpen;
  std::string case_id;
};

// A crime's cases and details, for updates.
struct CrimeRecord {
  // Victim ref -> case id, for cases durably opened.
  std::vector<std::pair<std::string, std::string>> cases;
  // The crime's latest details without victims; unset when the hub has no report.
  std::optional<hub::intake::v1::CrimeReport> report;
};

class CrimeIndex {
 public:
  CrimeIndex(redis::RedisClient* redis, std::string ns);

  // Resolves every victim of one report in one round trip. `owner` identifies the
  // submission (its dedupe key); a retry of the same submission resolves to the same
  // cases. kUnavailable when another submission is still opening one of these cases
  // (nothing is changed) or Redis is unreachable.
  absl::StatusOr<std::vector<CaseResolution>> Resolve(absl::string_view force_code,
                                                      absl::string_view crime_reference,
                                                      absl::string_view owner,
                                                      const std::vector<VictimKey>& victims,
                                                      absl::Time now);

  // Marks `victims`' opened entries done (once Kafka stored the events) and stores
  // `details` (the crime without victims) unless the crime already has details: the first
  // accepted report's stand, and only a reclassification replaces them. Returned as a
  // command for the caller to pipeline with its own writes.
  std::vector<std::string> CompleteCommand(absl::string_view force_code,
                                           absl::string_view crime_reference,
                                           absl::string_view owner,
                                           const std::vector<VictimKey>& victims,
                                           const std::vector<CaseResolution>& resolutions,
                                           const hub::intake::v1::CrimeReport& details) const;

  // Replaces the crime's stored details (a reclassification), as a command to pipeline.
  std::vector<std::string> SetDetailsCommand(absl::string_view force_code,
                                             absl::string_view crime_reference,
                                             const hub::intake::v1::CrimeReport& details) const;

  // Removes this owner's pending entries (the publish failed). One round trip.
  absl::Status Release(absl::string_view force_code, absl::string_view crime_reference,
                       absl::string_view owner);

  // The crime's cases and details. One round trip.
  absl::StatusOr<CrimeRecord> Get(absl::string_view force_code, absl::string_view crime_reference);

  // Drops a pseudonymous id's entry from a crime (erasure).
  absl::Status ForgetPseudonym(absl::string_view crime_key, absl::string_view pseudonymous_id);

  // The crime's Redis key.
  std::string Key(absl::string_view force_code, absl::string_view crime_reference) const;

  // How long a pending entry protects a submission still publishing.
  static constexpr absl::Duration kPendingTtl = absl::Minutes(2);

 private:
  redis::RedisClient* redis_;
  std::string ns_;
};

}  // namespace hub::intake

#endif  // HUB_SERVICES_INTAKE_CRIME_INDEX_H_
