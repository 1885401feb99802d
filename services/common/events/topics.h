// The hub's topics and event types: one place that names them, for every service, the
// topic-creating tool and the tests.
//
// Topic names are "<namespace>.<stage>.<event>.v1"; the namespace ("hub" by default) lets
// several stacks share one broker. Every event topic is keyed by case id, so all events of
// one case land on one partition, in order. Event topics are the system of record: they
// keep records forever (retention.ms=-1); erasure works by destroying the victim's data key
// (crypto-shredding), not by deleting records.
#ifndef HUB_SERVICES_COMMON_EVENTS_TOPICS_H_
#define HUB_SERVICES_COMMON_EVENTS_TOPICS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

#include "services/common/kafka/kafka.h"

namespace hub::events {

// ce_type values.
inline constexpr char kCrimeReportedType[] = "uk.victimhub.intake.crime_reported.v1";
inline constexpr char kCrimeUpdatedType[] = "uk.victimhub.intake.crime_updated.v1";
inline constexpr char kVictimErasedType[] = "uk.victimhub.intake.victim_erased.v1";
inline constexpr char kNeedsAssessedType[] = "uk.victimhub.triage.needs_assessed.v1";
inline constexpr char kReassessmentRequestedType[] =
    "uk.victimhub.triage.reassessment_requested.v1";
inline constexpr char kReferralRoutedType[] = "uk.victimhub.routing.referral_routed.v1";
inline constexpr char kReferralStatusChangedType[] =
    "uk.victimhub.routing.referral_status_changed.v1";
inline constexpr char kStaffAlertType[] = "uk.victimhub.routing.staff_alert.v1";
inline constexpr char kVictimContactReadType[] = "uk.victimhub.audit.victim_contact_read.v1";
inline constexpr char kNotificationRecordedType[] = "uk.victimhub.notification.recorded.v1";
inline constexpr char kNotificationStatusChangedType[] =
    "uk.victimhub.notification.status_changed.v1";

// Partitions of each event topic: the most instances of one service that can share work.
inline constexpr int kEventTopicPartitions = 6;

struct TopicNames {
  std::string crime_reported;
  std::string crime_updated;
  std::string victim_erased;
  // Compacted: wrapped data keys, keyed "<key_id>/<generation>" (see services/common/seal).
  std::string data_keys;
  std::string needs_assessed;
  // Staff re-assessment requests, published and consumed by triage.
  std::string reassessment_requested;
  std::string referral_routed;
  // Every change to a referral after the routing decision.
  std::string referral_status;
  // Code breaches and other alerts for Hub staff.
  std::string staff_alerts;
  // Audit: every read of a victim's contact details by a provider.
  std::string contact_reads;
  std::string notification_recorded;
  // Each step of a message's delivery (sent, retrying, in doubt, failed, call task).
  std::string notification_status;
  std::string dead_letter;
};

TopicNames Topics(absl::string_view ns);

// How long after an erasure the key topic's compaction is configured to have removed the
// erased key's record: segment.ms (the active segment rolls) plus max.compaction.lag.ms
// (the cleaner must then compact it), plus the cleaner's back-off. Documented in
// docs/security.md.
inline constexpr int64_t kDataKeySegmentMs = int64_t{60} * 60 * 1000;
inline constexpr int64_t kDataKeyMaxCompactionLagMs = int64_t{60} * 60 * 1000;

// How each topic is created (partitions, cleanup policy, retention).
std::vector<kafka::TopicSpec> TopicSpecs(absl::string_view ns);

// The consumer group of a service: "<namespace>.<service>".
std::string ConsumerGroup(absl::string_view ns, absl::string_view service);

}  // namespace hub::events

#endif  // HUB_SERVICES_COMMON_EVENTS_TOPICS_H_
