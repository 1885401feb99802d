#include "services/common/events/cloudevents.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "hub/events/v1/events.pb.h"
#include "services/common/events/topics.h"
#include "services/common/status/status_matchers.h"

namespace hub::events {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

kafka::ConsumedRecord AsConsumed(const kafka::OutgoingRecord& out) {
  kafka::ConsumedRecord record;
  record.topic = out.topic;
  record.key = out.key;
  record.value = out.value;
  record.headers = out.headers;
  return record;
}

CloudEvent SampleEvent() {
  CloudEvent event;
  event.id = NewEventId();
  event.source = "/hub/triage";
  event.type = kNeedsAssessedType;
  event.time = absl::FromUnixMillis(1764064800123);
  event.traceparent = NewTrace().ToTraceparent();
  return event;
}

TEST(CloudEventsTest, RecordRoundTripsHeadersAndPayload) {
  hub::events::v1::NeedsAssessed payload;
  payload.set_case_id("c_1");
  payload.set_enhanced(true);
  CloudEvent event = SampleEvent();
  kafka::OutgoingRecord out = MakeRecord("hub.triage.needs-assessed.v1", "c_1", payload, event);

  std::vector<std::string> names;
  for (const kafka::Header& header : out.headers) {
    names.push_back(header.key);
  }
  EXPECT_THAT(names, ::testing::ElementsAre("ce_specversion", "ce_id", "ce_source", "ce_type",
                                            "ce_time", "content-type", "traceparent"));

  hub::events::v1::NeedsAssessed parsed;
  ASSERT_OK_AND_ASSIGN(CloudEvent back, ParseRecord(AsConsumed(out), kNeedsAssessedType, &parsed));
  EXPECT_EQ(back.id, event.id);
  EXPECT_EQ(back.type, event.type);
  EXPECT_EQ(back.time, event.time);
  EXPECT_EQ(back.traceparent, event.traceparent);
  EXPECT_EQ(parsed.case_id(), "c_1");
  EXPECT_TRUE(parsed.enhanced());
}

TEST(CloudEventsTest, RefusesRecordsThatAreNotOurs) {
  hub::events::v1::NeedsAssessed payload;
  kafka::ConsumedRecord record = AsConsumed(MakeRecord("t", "k", payload, SampleEvent()));
  hub::events::v1::CrimeReported other;
  EXPECT_THAT(ParseRecord(record, kCrimeReportedType, &other),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not the expected")));

  kafka::ConsumedRecord bare;
  bare.value = "x";
  EXPECT_THAT(FromHeaders(bare),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'ce_specversion'")));

  kafka::ConsumedRecord garbage = record;
  garbage.value = "\xff\xff\xff";
  EXPECT_THAT(ParseRecord(garbage, kNeedsAssessedType, &payload),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not parse")));
}

TEST(EventIdTest, DerivedIdsAreStableUuids) {
  std::string a = DeriveEventId("parent", "triage");
  EXPECT_EQ(a, DeriveEventId("parent", "triage"));
  EXPECT_NE(a, DeriveEventId("parent", "routing"));
  EXPECT_NE(a, DeriveEventId("parent2", "triage"));
  EXPECT_THAT(a,
              MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_THAT(NewEventId(),
              MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_NE(NewEventId(), NewEventId());
}

TEST(TraceparentTest, ParsesAndDerivesChildren) {
  ASSERT_OK_AND_ASSIGN(TraceContext trace,
                       ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_EQ(trace.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_TRUE(trace.sampled);
  TraceContext child = ChildOf(trace, "triage");
  EXPECT_EQ(child.trace_id, trace.trace_id);
  EXPECT_NE(child.span_id, trace.span_id);
  EXPECT_EQ(child.span_id, ChildOf(trace, "triage").span_id);
  EXPECT_THAT(ParseTraceparent(child.ToTraceparent()), IsOk());
  EXPECT_THAT(ParseTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("trace id")));
  EXPECT_THAT(ParseTraceparent("nonsense"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(TopicsTest, NamesCarryTheNamespace) {
  TopicNames names = Topics("hub");
  EXPECT_EQ(names.crime_reported, "hub.intake.crime-reported.v1");
  EXPECT_EQ(names.dead_letter, "hub.deadletter.v1");
  EXPECT_EQ(Topics("t7").needs_assessed, "t7.triage.needs-assessed.v1");
  EXPECT_EQ(ConsumerGroup("hub", "triage"), "hub.triage");
  for (const kafka::TopicSpec& spec : TopicSpecs("hub")) {
    EXPECT_GE(spec.partitions, 1) << spec.name;
    // Only the key topic is compacted: events are the record and are never compacted away.
    EXPECT_EQ(spec.cleanup_policy, spec.name == names.data_keys ? "compact" : "delete")
        << spec.name;
  }
}

}  // namespace
}  // namespace hub::events
