#include "services/common/events/topics.h"

#include "absl/strings/str_cat.h"

namespace hub::events {
namespace {

constexpr int64_t kDeadLetterRetentionMs = int64_t{30} * 24 * 60 * 60 * 1000;

}  // namespace

TopicNames Topics(absl::string_view ns) {
  return TopicNames{
      absl::StrCat(ns, ".intake.crime-reported.v1"),
      absl::StrCat(ns, ".intake.crime-updated.v1"),
      absl::StrCat(ns, ".intake.victim-erased.v1"),
      absl::StrCat(ns, ".intake.data-keys.v1"),
      absl::StrCat(ns, ".triage.needs-assessed.v1"),
      absl::StrCat(ns, ".triage.reassessment-requested.v1"),
      absl::StrCat(ns, ".routing.referral-routed.v1"),
      absl::StrCat(ns, ".routing.referral-status.v1"),
      absl::StrCat(ns, ".routing.staff-alerts.v1"),
      absl::StrCat(ns, ".audit.contact-reads.v1"),
      absl::StrCat(ns, ".notification.recorded.v1"),
      absl::StrCat(ns, ".notification.status.v1"),
      absl::StrCat(ns, ".deadletter.v1"),
  };
}

std::vector<kafka::TopicSpec> TopicSpecs(absl::string_view ns) {
  TopicNames names = Topics(ns);
  return {
      {names.crime_reported, kEventTopicPartitions, "delete", -1},
      {names.crime_updated, kEventTopicPartitions, "delete", -1},
      {names.victim_erased, 1, "delete", -1},
      // Compaction keeps the latest record per key; a tombstone erases a key. Tombstones
      // themselves hold nothing secret and are kept a day so every reader sees them.
      {names.data_keys,
       1,
       "compact",
       -1,
       {{"segment.ms", absl::StrCat(kDataKeySegmentMs)},
        {"max.compaction.lag.ms", absl::StrCat(kDataKeyMaxCompactionLagMs)},
        {"min.cleanable.dirty.ratio", "0.01"},
        {"delete.retention.ms", "86400000"}}},
      {names.needs_assessed, kEventTopicPartitions, "delete", -1},
      {names.reassessment_requested, kEventTopicPartitions, "delete", -1},
      {names.referral_routed, kEventTopicPartitions, "delete", -1},
      {names.referral_status, kEventTopicPartitions, "delete", -1},
      {names.staff_alerts, kEventTopicPartitions, "delete", -1},
      // The audit trail is kept for good, like the events it audits.
      {names.contact_reads, kEventTopicPartitions, "delete", -1},
      {names.notification_recorded, kEventTopicPartitions, "delete", -1},
      {names.notification_status, kEventTopicPartitions, "delete", -1},
      {names.dead_letter, 1, "delete", kDeadLetterRetentionMs},
  };
}

std::string ConsumerGroup(absl::string_view ns, absl::string_view service) {
  return absl::StrCat(ns, ".", service);
}

}  // namespace hub::events
