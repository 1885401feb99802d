// The outbox against a real Redis, a real Kafka broker and the Notify stand-in over HTTP,
// on a fake clock: a message goes out once and only once whatever happens around the send.
//
//   - an acknowledgement by SMS is sent once, reported (event, case history) and a
//     redelivered event or a repeated timer sends nothing more;
//   - a 5xx is retried after a backoff; a rejected JWT (403) and a 400 are permanent: dead
//     letter, staff alert, and the next safe route (a call task);
//   - an answer lost after Notify stored the message is in doubt and resolved by lookup,
//     never by a resend; a crash between the send and recording its outcome likewise;
//   - a send that never reached Notify is resent only after the settle time has passed;
//   - many handlers advancing one message at once send it once;
//   - outside the victim's safe times nothing goes; a domestic abuse victim with no
//     explicitly safe written channel gets a call task and nothing is sent;
//   - an erased victim key withholds the message; email in doubt over SMTP becomes a staff
//     check, never a resend.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

#include "hub/events/v1/events.pb.h"
#include "services/common/casestate/case_store.h"
#include "services/common/clock/clock.h"
#include "services/common/events/cloudevents.h"
#include "services/common/events/topics.h"
#include "services/common/kafka/kafka.h"
#include "services/common/redis/redis_client.h"
#include "services/common/seal/crypto.h"
#include "services/common/seal/pii.h"
#include "services/common/status/status_matchers.h"
#include "services/common/timers/timer_runner.h"
#include "services/common/timers/timer_store.h"
#include "services/notification/delivery_channels.h"
#include "services/notification/messages.h"
#include "services/notification/notify/notify_client.h"
#include "services/notification/notify/notify_stand_in.h"
#include "services/notification/outbox/outbox.h"
#include "services/notification/templates/templates.h"
#include "tests/support/test_env.h"
#include "tests/support/topic_reader.h"

namespace hub::notification {
namespace {

namespace ev = ::hub::events::v1;
namespace nv1 = ::hub::notification::v1;
using ::hub::intake::v1::ContactRoute;
using ::hub::testing::IsOk;

constexpr char kApiKey[] =
    "hub_test-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-4c4e-9a34-57a5e8c7f8c1";
constexpr char kOtherKey[] =
    "other-26785a09-ab16-4eb0-8407-a37497a57506-0f0f0f0f-8d35-4c4e-9a34-57a5e8c7f8c1";
constexpr char kSmsTemplate[] = "f33517ff-2a88-4f6e-b855-c550268ce08a";
constexpr char kEmailTemplate[] = "a1b2c3d4-2a88-4f6e-b855-c550268ce08a";
constexpr char kLetterTemplate[] = "b1b2c3d4-2a88-4f6e-b855-c550268ce08a";
constexpr char kPhone[] = "07700 900123";
constexpr char kGivenName[] = "Ceridwen";

// Monday 2 November 2026, 10:00 in London (GMT).
const absl::Time kT0 =
    absl::FromCivil(absl::CivilSecond(2026, 11, 2, 10, 0, 0), absl::UTCTimeZone());

google::protobuf::Timestamp Ts(absl::Time t) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}

// An email sender that records what it is given and answers as told.
class FakeEmail final : public smtp::EmailSender {
 public:
  smtp::SmtpResult Send(const smtp::Email& email) override {
    sent_.fetch_add(1);
    last_subject_ = email.subject;
    smtp::SmtpResult result;
    result.outcome = outcome_;
    return result;
  }
  void AnswerWith(smtp::SmtpOutcome outcome) { outcome_ = outcome; }
  int sent() const { return sent_.load(); }

 private:
  std::atomic<int> sent_{0};
  smtp::SmtpOutcome outcome_ = smtp::SmtpOutcome::kSent;
  std::string last_subject_;
};

// Channels that pretend every send went unanswered without sending anything: a request
// lost before it reached Notify.
class LostRequests final : public outbox::Channels {
 public:
  explicit LostRequests(outbox::Channels* real) : real_(real) {}
  outbox::SendReport Send(const outbox::Delivery&) override {
    return {outbox::SendOutcome::kInDoubt, "", "no answer (test)"};
  }
  outbox::LookupReport Lookup(ev::Channel channel, const std::string& reference) override {
    return real_->Lookup(channel, reference);
  }

 private:
  outbox::Channels* real_;
};

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(hub::testing::HostPort address, hub::testing::RedisFromEnv());
    ASSERT_OK_AND_ASSIGN(bootstrap_, hub::testing::KafkaBootstrapFromEnv());
    redis::RedisConfig config;
    config.host = address.host;
    config.port = address.port;
    config.pool_size = 12;
    config.command_timeout = absl::Seconds(10);
    ASSERT_OK_AND_ASSIGN(redis_, redis::CreateRedisClient(config));
    ns_ = absl::StrCat("t", std::hash<std::string>{}(hub::testing::UniqueName("ob")) % 1000000000);
    topics_ = events::Topics(ns_);
    std::vector<kafka::TopicSpec> specs;
    for (const kafka::TopicSpec& spec : events::TopicSpecs(ns_)) {
      if (spec.name == topics_.notification_recorded || spec.name == topics_.notification_status ||
          spec.name == topics_.staff_alerts || spec.name == topics_.dead_letter) {
        specs.push_back(spec);
      }
    }
    ASSERT_THAT(kafka::EnsureTopics(bootstrap_, specs), IsOk());
    kafka::ProducerConfig producer_config;
    producer_config.bootstrap_servers = bootstrap_;
    producer_config.client_id = "outbox-test";
    ASSERT_OK_AND_ASSIGN(producer_, kafka::CreateProducer(producer_config));

    clock_ = std::make_shared<clock::FakeClock>(kT0);
    notify::NotifyStandInOptions stand_in;
    stand_in.api_key = kApiKey;
    stand_in.clock = clock_;
    ASSERT_OK_AND_ASSIGN(stand_in_, notify::NotifyStandIn::Start(stand_in));
    ASSERT_OK_AND_ASSIGN(templates::TemplateSet loaded,
                         templates::TemplateSet::Load(templates::SourceTreeTemplatesDir()));
    templates_ = std::make_unique<templates::TemplateSet>(std::move(loaded));
    UseApiKey(kApiKey);

    ASSERT_OK_AND_ASSIGN(key_, seal::NewDataKey("vk_0123456789abcdef0123456789abcdef"));
    store_ = std::make_unique<outbox::MessageStore>(redis_.get(), ns_);
    cases_ = std::make_unique<casestate::CaseStore>(redis_.get(), ns_);
    ASSERT_OK_AND_ASSIGN(timers_, timers::TimerStore::Create(redis_.get(), ns_, 4));
    Restart();
  }

  // The channels send with `api_key` (the stand-in accepts only kApiKey).
  void UseApiKey(const std::string& api_key) {
    notify::NotifyClientOptions options;
    options.base_url = stand_in_->base_url();
    options.api_key = api_key;
    options.read_timeout = absl::Seconds(2);
    auto client = notify::NotifyClient::Create(options, clock_);
    ASSERT_THAT(client.status(), IsOk());
    auto email = std::make_unique<FakeEmail>();
    email_ = email.get();
    channels_ = std::make_unique<DeliveryChannels>(
        std::move(email), *std::move(client),
        NotifyTemplateIds{kSmsTemplate, kEmailTemplate, kLetterTemplate});
  }

  // An outbox on the shared Redis, as one service process has.
  std::unique_ptr<outbox::Outbox> MakeOutbox(outbox::Channels* channels = nullptr,
                                             std::function<absl::Status()> after_send = nullptr) {
    outbox::OutboxOptions options;
    options.initial_backoff = absl::Minutes(1);
    options.settle_time = absl::Minutes(2);
    options.lookup_retry = absl::Seconds(30);
    options.after_send = std::move(after_send);
    return std::make_unique<outbox::Outbox>(
        outbox::OutboxDeps{
            store_.get(), timers_.get(), producer_.get(), cases_.get(), clock_, topics_,
            templates_.get(), channels != nullptr ? channels : channels_.get(),
            [this](absl::string_view key_id, absl::string_view) -> absl::StatusOr<seal::DataKey> {
              if (erased_ || key_id != key_.key_id) {
                return absl::NotFoundError("the key was erased");
              }
              return key_;
            }},
        options);
  }

  // A new outbox on the same Redis: what a restarted service has.
  void Restart(outbox::Channels* channels = nullptr,
               std::function<absl::Status()> after_send = nullptr) {
    outbox_ = MakeOutbox(channels, std::move(after_send));
  }

  // A first assessment of a crime whose only victim can be reached on `routes`.
  ev::NeedsAssessed Assessment(std::vector<ContactRoute> routes, bool domestic_abuse = false) {
    ev::NeedsAssessed assessment;
    assessment.set_case_id(
        absl::StrCat("c_", events::Sha256Hex(ns_ + std::to_string(++cases_made_)).substr(0, 24)));
    assessment.set_sequence(1);
    assessment.set_trigger(ev::ASSESSMENT_TRIGGER_INITIAL);
    assessment.set_trigger_event_id(events::NewEventId());
    assessment.set_crime_category(domestic_abuse ? "domestic_abuse" : "burglary_residential");
    assessment.add_needs(domestic_abuse ? "domestic_abuse" : "safety_home_security");
    ev::CrimeReported* crime = assessment.mutable_crime();
    crime->set_case_id(assessment.case_id());
    crime->mutable_report()->set_force_code("CAMBS");
    crime->mutable_report()->set_crime_reference("CF0123450325");
    *crime->mutable_report()->mutable_reported_at() = Ts(kT0 - absl::Hours(2));
    crime->mutable_report()->mutable_flags()->set_domestic_abuse(domestic_abuse);
    hub::intake::v1::Victim* victim = crime->mutable_report()->add_victims();
    victim->set_victim_ref("V1");
    victim->set_age_at_offence(40);
    victim->mutable_name()->set_given(kGivenName);
    victim->mutable_name()->set_family("Jones");
    for (ContactRoute& route : routes) {
      *victim->add_contact_routes() = std::move(route);
    }
    absl::StatusOr<std::optional<hub::seal::v1::SealedData>> sealed =
        seal::SealPii(key_, victim, assessment.case_id());
    EXPECT_THAT(sealed.status(), IsOk());
    if (sealed.ok() && sealed->has_value()) {
      *crime->mutable_personal_data() = **sealed;
    }
    return assessment;
  }

  static ContactRoute Sms(hub::intake::v1::ChannelSafety safety) {
    ContactRoute route;
    route.set_channel(ContactRoute::CHANNEL_SMS);
    route.set_safety(safety);
    route.set_value(kPhone);
    return route;
  }

  static ContactRoute Letter(hub::intake::v1::ChannelSafety safety) {
    ContactRoute route;
    route.set_channel(ContactRoute::CHANNEL_LETTER);
    route.set_safety(safety);
    route.mutable_address()->add_lines("1 Mill Road");
    route.mutable_address()->set_town("Cambridge");
    route.mutable_address()->set_postcode("CB1 2AB");
    return route;
  }

  static ContactRoute Email(hub::intake::v1::ChannelSafety safety) {
    ContactRoute route;
    route.set_channel(ContactRoute::CHANNEL_EMAIL);
    route.set_safety(safety);
    route.set_value("ceridwen@example.org");
    return route;
  }

  // The acknowledgement the assessment calls for, recorded in the outbox.
  nv1::OutgoingMessage Acknowledge(const ev::NeedsAssessed& assessment) {
    std::vector<nv1::OutgoingMessage> messages =
        VictimMessagesFor(assessment, Cause{assessment.trigger_event_id(), "needs-assessed"},
                          HubDetails(), clock_->Now());
    EXPECT_FALSE(messages.empty());
    if (messages.empty()) {
      return {};
    }
    absl::StatusOr<outbox::StoredMessage> stored = outbox_->Enqueue(messages[0]);
    EXPECT_THAT(stored.status(), IsOk());
    return stored.ok() ? stored->message : nv1::OutgoingMessage();
  }

  nv1::OutgoingMessage Stored(const std::string& id) {
    absl::StatusOr<std::optional<outbox::StoredMessage>> stored = store_->Get(id);
    EXPECT_THAT(stored.status(), IsOk());
    return stored.ok() && stored->has_value() ? (*stored)->message : nv1::OutgoingMessage();
  }

  // Runs every timer due now, as the service's runner would.
  void RunTimers() {
    timers::TimerRunnerConfig config;
    config.owner = "outbox-test";
    outbox::Outbox* box = outbox_.get();
    auto runner = timers::TimerRunner::Create(
        timers_.get(), clock_.get(), [box](const timers::Timer& t) { return box->OnTimer(t); },
        config);
    ASSERT_THAT(runner.status(), IsOk());
    for (int i = 0; i < 20; ++i) {
      absl::StatusOr<int> handled = (*runner)->RunOnce();
      ASSERT_THAT(handled.status(), IsOk());
      if (*handled == 0) {
        return;
      }
    }
  }

  // Notifications the stand-in stored (what reached Notify).
  size_t Delivered() { return stand_in_->notifications().size(); }

  std::vector<ev::NotificationStatusChanged> StatusEvents(const std::string& message_id) {
    std::vector<ev::NotificationStatusChanged> events;
    absl::StatusOr<std::vector<kafka::ConsumedRecord>> records =
        hub::testing::ReadWholeTopic(bootstrap_, topics_.notification_status);
    EXPECT_THAT(records.status(), IsOk());
    if (!records.ok()) {
      return events;
    }
    for (const kafka::ConsumedRecord& record : *records) {
      ev::NotificationStatusChanged status;
      if (events::ParseRecord(record, events::kNotificationStatusChangedType, &status).ok() &&
          status.message_id() == message_id) {
        events.push_back(status);
      }
    }
    return events;
  }

  template <typename Event>
  std::vector<Event> Read(const std::string& topic, absl::string_view type) {
    std::vector<Event> events;
    absl::StatusOr<std::vector<kafka::ConsumedRecord>> records =
        hub::testing::ReadWholeTopic(bootstrap_, topic);
    EXPECT_THAT(records.status(), IsOk());
    if (records.ok()) {
      for (const kafka::ConsumedRecord& record : *records) {
        Event event;
        if (events::ParseRecord(record, type, &event).ok()) {
          events.push_back(event);
        }
      }
    }
    return events;
  }

  std::string bootstrap_;
  std::string ns_;
  events::TopicNames topics_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<kafka::Producer> producer_;
  std::shared_ptr<clock::FakeClock> clock_;
  std::unique_ptr<notify::NotifyStandIn> stand_in_;
  std::unique_ptr<templates::TemplateSet> templates_;
  std::unique_ptr<DeliveryChannels> channels_;
  FakeEmail* email_ = nullptr;
  seal::DataKey key_;
  bool erased_ = false;
  int cases_made_ = 0;
  std::unique_ptr<outbox::MessageStore> store_;
  std::unique_ptr<casestate::CaseStore> cases_;
  std::unique_ptr<timers::TimerStore> timers_;
  std::unique_ptr<outbox::Outbox> outbox_;
};

TEST_F(OutboxTest, AcknowledgementGoesOnceBySmsAndIsReported) {
  ev::NeedsAssessed assessment = Assessment({Sms(hub::intake::v1::CHANNEL_SAFETY_SAFE)});
  nv1::OutgoingMessage message = Acknowledge(assessment);
  ASSERT_EQ(message.plan_size(), 2);
  EXPECT_EQ(message.plan(0).channel(), ev::CHANNEL_SMS);
  EXPECT_EQ(message.plan(1).channel(), ev::CHANNEL_CALL_TASK);
  // Nothing in the stored intent is personal data in clear.
  EXPECT_FALSE(absl::StrContains(message.SerializeAsString(), kPhone));
  EXPECT_FALSE(absl::StrContains(message.SerializeAsString(), kGivenName));

  RunTimers();
  EXPECT_EQ(Stored(message.message_id()).state(), nv1::MESSAGE_STATE_SENT);
  ASSERT_EQ(Delivered(), 1u);
  const notify::StoredNotification sent = stand_in_->notifications()[0];
  EXPECT_EQ(sent.type, "sms");
  EXPECT_EQ(sent.template_id, kSmsTemplate);
  EXPECT_EQ(sent.reference, outbox::ReferenceFor(message.message_id(), 0));
  EXPECT_TRUE(absl::StrContains(sent.request_body, kGivenName)) << "the name is filled in";

  // A redelivered assessment, a repeated timer and a restart send nothing more.
  Acknowledge(assessment);
  ASSERT_THAT(outbox_->Advance(message.message_id()), IsOk());
  Restart();
  RunTimers();
  ASSERT_THAT(outbox_->Advance(message.message_id()), IsOk());
  EXPECT_EQ(Delivered(), 1u);

  std::vector<ev::NotificationStatusChanged> statuses = StatusEvents(message.message_id());
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].state(), ev::DELIVERY_STATE_SENT);
  EXPECT_EQ(statuses[0].channel(), ev::CHANNEL_SMS);
  EXPECT_FALSE(absl::StrContains(statuses[0].SerializeAsString(), kPhone));

  ASSERT_OK_AND_ASSIGN(std::optional<hub::cases::v1::CaseState> state,
                       cases_->Get(assessment.case_id()));
  ASSERT_TRUE(state.has_value());
  bool told = false;
  for (const hub::cases::v1::HistoryEntry& entry : state->history()) {
    told = told || absl::StrContains(entry.detail(), "victim.acknowledgement by sms: sent");
  }
  EXPECT_TRUE(told);
}

TEST_F(OutboxTest, ServerErrorIsRetriedAfterABackoff) {
  nv1::OutgoingMessage message =
      Acknowledge(Assessment({Sms(hub::intake::v1::CHANNEL_SAFETY_SAFE)}));
  stand_in_->FailNext(1, 500, "Exception", "Internal server error");
  RunTimers();
  nv1::OutgoingMessage stored = Stored(message.message_id());
  EXPECT_EQ(stored.state(), nv1::MESSAGE_STATE_PENDING);
  ASSERT_EQ(stored.attempts_size(), 1);
  EXPECT_EQ(stored.attempts(0).outcome(), ev::DELIVERY_STATE_RETRYING);
  const absl::Time next =
      absl::FromUnixMillis(google::protobuf::util::TimeUtil::TimestampToMilliseconds(
          stored.attempts(0).next_attempt_at()));
  EXPECT_GE(next, kT0 + absl::Seconds(30));
  EXPECT_LE(next, kT0 + absl::Minutes(1));
  EXPECT_EQ(Delivered(), 0u);

  RunTimers();  // Not yet.
  EXPECT_EQ(Delivered(), 0u);
  clock_->Advance(absl::Minutes(1));
  RunTimers();
  EXPECT_EQ(Stored(message.message_id()).state(), nv1::MESSAGE_STATE_SENT);
  EXPECT_EQ(Delivered(), 1u);
}

TEST_F(OutboxTest, RejectedKeyIsPermanentAndFallsToACallTaskWithAnAlert) {
  UseApiKey(kOtherKey);
  Restart();
  nv1::OutgoingMessage message =
      Acknowledge(Assessment({Sms(hub::intake::v1::CHANNEL_SAFETY_SAFE)}));
  RunTimers();
  nv1::OutgoingMessage stored = Stored(message.message_id());
  EXPECT_EQ(stored.state(), nv1::MESSAGE_STATE_CALL_TASK);
  ASSERT_GE(stored.attempts_size(), 1);
  EXPECT_EQ(stored.attempts(0).outcome(), ev::DELIVERY_STATE_FAILED);
  EXPECT_TRUE(absl::StrContains(stored.attempts(0).reason(), "403")) << stored.attempts(0).reason();
  EXPECT_EQ(Delivered(), 0u);

  ASSERT_OK_AND_ASSIGN(std::vector<outbox::TaskEntry> tasks, store_->Tasks(10));
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].message_id, message.message_id());

  std::vector<ev::StaffAlert> alerts =
      Read<ev::StaffAlert>(topics_.staff_alerts, events::kStaffAlertType);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].kind(), ev::STAFF_ALERT_KIND_DELIVERY_FAILED);
  EXPECT_EQ(alerts[0].message_id(), message.message_id());
  EXPECT_EQ(alerts[0].channel(), "sms");
  absl::StatusOr<std::vector<kafka::ConsumedRecord>> dead =
      hub::testing::ReadWholeTopic(bootstrap_, topics_.dead_letter);
  ASSERT_THAT(dead.status(), IsOk());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_FALSE(absl::StrContains((*dead)[0].value, kPhone));
  EXPECT_FALSE(absl::StrContains((*dead)[0].value, kGivenName));

  // Staff complete the call.
  ASSERT_OK_AND_ASSIGN(
      nv1::OutgoingMessage done,
      outbox_->CompleteTask(message.message_id(), "staff:alice", "spoke to victim"));
  EXPECT_TRUE(done.has_task_completed_at());
  ASSERT_OK_AND_ASSIGN(tasks, store_->Tasks(10));
  EXPECT_TRUE(tasks.empty());
}

TEST_F(OutboxTest, LostAnswerIsResolvedByLookupNotByAResend) {
  nv1::OutgoingMessage message =
      Acknowledge(Assessment({Sms(hub::intake::v1::CHANNEL_SAFETY_SAFE)}));
  stand_in_->DropNextAnswer(1);
  RunTimers();
  EXPECT_EQ(Stored(message.message_id()).state(), nv1::MESSAGE_STATE_SENT);
  EXPECT_EQ(Delivered(), 1u);
  std::vector<ev::NotificationStatusChanged> statuses = StatusEvents(message.message_id());
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_EQ(statuses[0].state(), ev::DELIVERY_STATE_IN_DOUBT);
  EXPECT_EQ(statuses[1].state(), ev::DELIVERY_STATE_SENT);
}

TEST_F(OutboxTest, CrashBetweenSendAndRecordIsResolvedByLookup) {
  Restart(nullptr, [] { return absl::AbortedError("crash (test)"); });
  nv1::OutgoingMessage message =
      Acknowledge(Assessment({Sms(hub::intake::v1::CHANNEL_SAFETY_SAFE)}));
  EXPECT_FALSE(outbox_->Advance(message.message_id()).ok());
  EXPECT_EQ(Stored(message.message_id()).state(), nv1::MESSAGE_STATE_SENDING);
  EXPECT_EQ(Delivered(), 1u);

  // The restarted service finds it SENDING: in doubt, looked up, found.
  Restart();
  clock_->Advance(absl::Minutes(5));  // The crashed claim's lease runs out.
  RunTimers();
  EXPECT_EQ(Stored(message.message_id()).state(), nv1::MESSAGE_STATE_SENT);
  EXPECT_EQ(Delivered(), 1u);
}

TEST_F(OutboxTest, SendThatNeverArrivedIsResentOnlyAfterTheSettleTime) {
  nv1::OutgoingMessage message =
      Acknowledge(Assessment({Sms(hub::intake::v1::CHANNEL_SAFETY_SAFE)}));
  LostRequests lost(channels_.get());
  Restart(&lost);
  RunTimers();
  EXPECT_EQ(Stored(message.message_id()).state(), nv1::MESSAGE_STATE_IN_DOUBT);
  clock_->Advance(absl::Minutes(1));
  Restart();
  RunTimers();
  // Notify has nothing, but a request could still land: not yet.
  EXPECT_EQ(Stored(message.message_id()).state(), nv1::MESSAGE_STATE_IN_DOUBT);
  EXPECT_EQ(Delivered(), 0u);
  clock_->Advance(absl::Minutes(2));
  RunTimers();
  EXPECT_EQ(Stored(message.message_id()).state(), nv1::MESSAGE_STATE_SENT);
  EXPECT_EQ(Delivered(), 1u);
}

TEST_F(OutboxTest, ManyHandlersAtOnceSendOnce) {
  nv1::OutgoingMessage message =
      Acknowledge(Assessment({Sms(hub::intake::v1::CHANNEL_SAFETY_SAFE)}));
  // Eight processes' outboxes, each advancing the message five times at once.
  std::vector<std::unique_ptr<outbox::Outbox>> outboxes;
  outboxes.reserve(8);
  for (int i = 0; i < 8; ++i) {
    outboxes.push_back(MakeOutbox());
  }
  std::vector<std::thread> threads;
  threads.reserve(outboxes.size());
  for (const std::unique_ptr<outbox::Outbox>& box : outboxes) {
    threads.emplace_back([&message, box = box.get()] {
      for (int j = 0; j < 5; ++j) {
        static_cast<void>(box->Advance(message.message_id()));
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  RunTimers();
  EXPECT_EQ(Stored(message.message_id()).state(), nv1::MESSAGE_STATE_SENT);
  EXPECT_EQ(Delivered(), 1u);
}

TEST_F(OutboxTest, NothingGoesOutsideTheSafeTimes) {
  ContactRoute sms = Sms(hub::intake::v1::CHANNEL_SAFETY_SAFE);
  hub::intake::v1::SafeTime* window = sms.add_safe_times();
  window->set_start_minute(14 * 60);
  window->set_end_minute(16 * 60);
  nv1::OutgoingMessage message = Acknowledge(Assessment({sms}));
  RunTimers();
  EXPECT_EQ(Delivered(), 0u);
  EXPECT_EQ(Stored(message.message_id()).state(), nv1::MESSAGE_STATE_PENDING);
  clock_->Advance(absl::Hours(3));  // 13:00: still not.
  RunTimers();
  EXPECT_EQ(Delivered(), 0u);
  clock_->Advance(absl::Hours(1) + absl::Minutes(1));  // 14:01.
  RunTimers();
  EXPECT_EQ(Delivered(), 1u);
}

TEST_F(OutboxTest, DomesticAbuseWithoutAnExplicitlySafeWrittenRouteGetsOnlyACall) {
  nv1::OutgoingMessage message =
      Acknowledge(Assessment({Sms(hub::intake::v1::CHANNEL_SAFETY_UNSPECIFIED),
                              Letter(hub::intake::v1::CHANNEL_SAFETY_UNSPECIFIED),
                              Email(hub::intake::v1::CHANNEL_SAFETY_UNSAFE)},
                             /*domestic_abuse=*/true));
  ASSERT_EQ(message.plan_size(), 1);
  EXPECT_EQ(message.plan(0).channel(), ev::CHANNEL_CALL_TASK);
  RunTimers();
  EXPECT_EQ(Stored(message.message_id()).state(), nv1::MESSAGE_STATE_CALL_TASK);
  EXPECT_EQ(Delivered(), 0u);
  EXPECT_EQ(email_->sent(), 0);
}

TEST_F(OutboxTest, ErasedKeyWithholdsTheMessage) {
  nv1::OutgoingMessage message =
      Acknowledge(Assessment({Sms(hub::intake::v1::CHANNEL_SAFETY_SAFE)}));
  erased_ = true;
  RunTimers();
  EXPECT_EQ(Stored(message.message_id()).state(), nv1::MESSAGE_STATE_WITHHELD);
  EXPECT_EQ(Delivered(), 0u);
}

TEST_F(OutboxTest, EmailInDoubtBecomesAStaffCheckNeverAResend) {
  nv1::OutgoingMessage message =
      Acknowledge(Assessment({Email(hub::intake::v1::CHANNEL_SAFETY_SAFE)}));
  email_->AnswerWith(smtp::SmtpOutcome::kInDoubt);
  RunTimers();
  clock_->Advance(absl::Hours(1));
  RunTimers();
  nv1::OutgoingMessage stored = Stored(message.message_id());
  EXPECT_EQ(stored.state(), nv1::MESSAGE_STATE_CALL_TASK);
  EXPECT_TRUE(stored.check_delivery());
  EXPECT_EQ(email_->sent(), 1);
  ASSERT_OK_AND_ASSIGN(std::vector<outbox::TaskEntry> tasks, store_->Tasks(10));
  EXPECT_EQ(tasks.size(), 1u);
}

}  // namespace
}  // namespace hub::notification
