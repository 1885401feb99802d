// CloudEvents in Kafka binary mode, W3C trace context, and the hub's event ids.
//
// Every record a service publishes has a protobuf value and these headers, so ordinary
// Kafka tools (kcat -f '%h') can see what a record is without decoding it:
//   ce_specversion  "1.0"
//   ce_id           the event id (a UUID; see DeriveEventId)
//   ce_source       "/hub/<service>"
//   ce_type         e.g. "uk.victimhub.triage.needs_assessed.v1"
//   ce_time         RFC 3339, UTC, from the hub clock
//   content-type    "application/protobuf"
//   traceparent     W3C trace context, carried from the submission onwards
// Header values never contain personal data.
//
// Event ids are deterministic where it matters: the event a stage publishes for an input
// event has the id DeriveEventId(input id, step), so redelivery of the input produces the
// same id again and every consumer can drop the duplicate. Pure functions; thread-safe.
#ifndef HUB_SERVICES_COMMON_EVENTS_CLOUDEVENTS_H_
#define HUB_SERVICES_COMMON_EVENTS_CLOUDEVENTS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"

#include "services/common/kafka/kafka.h"

namespace hub::events {

inline constexpr char kSpecVersion[] = "1.0";
inline constexpr char kContentType[] = "application/protobuf";

struct CloudEvent {
  std::string id;
  std::string source;
  std::string type;
  absl::Time time;
  std::string traceparent;
};

// W3C trace context: version 00, 16-byte trace id, 8-byte parent span id, flags.
struct TraceContext {
  std::string trace_id;  // 32 lower-case hex digits, not all zero
  std::string span_id;   // 16 lower-case hex digits, not all zero
  bool sampled = true;

  std::string ToTraceparent() const;
};

// Parses a traceparent header; kInvalidArgument saying which part is wrong.
absl::StatusOr<TraceContext> ParseTraceparent(absl::string_view traceparent);
// A new trace with random ids (for a submission that arrived without one).
TraceContext NewTrace();
// The same trace with a span id derived from `parent` and `step`, so the same input
// yields the same child.
TraceContext ChildOf(const TraceContext& parent, absl::string_view step);

// A random (version 4) UUID.
std::string NewEventId();
// A name-based UUID (version 8, SHA-256) of `parent_id` and `step`: stable across
// redelivery and restarts.
std::string DeriveEventId(absl::string_view parent_id, absl::string_view step);
// Lower-case hex SHA-256 of `text`.
std::string Sha256Hex(absl::string_view text);

// The headers above, in that order.
std::vector<kafka::Header> ToHeaders(const CloudEvent& event);

// Reads the CloudEvents headers of a consumed record. kInvalidArgument naming the first
// missing or malformed header (so the record goes to the dead-letter topic).
absl::StatusOr<CloudEvent> FromHeaders(const kafka::ConsumedRecord& record);

// A record for `topic` keyed by `key` whose value is `payload`, serialised.
kafka::OutgoingRecord MakeRecord(const std::string& topic, const std::string& key,
                                 const google::protobuf::MessageLite& payload,
                                 const CloudEvent& event);

// Checks the record's headers say `expected_type` and parses its value into `payload`.
// kInvalidArgument when either is wrong.
absl::StatusOr<CloudEvent> ParseRecord(const kafka::ConsumedRecord& record,
                                       absl::string_view expected_type,
                                       google::protobuf::MessageLite* payload);

}  // namespace hub::events

#endif  // HUB_SERVICES_COMMON_EVENTS_CLOUDEVENTS_H_
