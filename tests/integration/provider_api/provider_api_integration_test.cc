// hub.routing.v1.ProviderService served by a real gRPC server on 127.0.0.1:0 with the
// development identity provider, over a real Redis (referrals and offer logs) and, for
// contact reads, a real Kafka (the audit topic, read back). Routing's core is a fake
// ReferralEffects that records every AfterTransition and serves the case's sealed crime.
//
// Covered: a provider can neither see nor change another provider's referral and cannot
// tell it from a missing one (nor from one still waiting for a place); offers stream in
// sequence and, after a reconnect, exactly the unacknowledged ones come again, then new
// ones, and acknowledging moves referrals to RECEIVED; the whole lifecycle with its effects,
// idempotent retries and refused moves; contact details only after acceptance, only safe
// routes, each read audited (without personal data) before it is answered, and refused
// when the audit record cannot be written.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "hub/events/v1/events.pb.h"
#include "hub/routing/v1/provider.grpc.pb.h"
#include "services/common/clock/clock.h"
#include "services/common/events/cloudevents.h"
#include "services/common/events/topics.h"
#include "services/common/identity/identity.h"
#include "services/common/kafka/kafka.h"
#include "services/common/metrics/metrics.h"
#include "services/common/redis/redis_client.h"
#include "services/common/rpc/error_details.h"
#include "services/common/seal/crypto.h"
#include "services/common/seal/pii.h"
#include "services/common/status/status_matchers.h"
#include "services/routing/provider/provider_api.h"
#include "services/routing/referral_effects.h"
#include "services/routing/referrals/offer_log.h"
#include "services/routing/referrals/referral_store.h"
#include "tests/support/test_env.h"
#include "tests/support/topic_reader.h"

namespace hub::routing::provider {
namespace {

using ::hub::routing::v1::ProviderService;
using ::hub::routing::v1::Referral;
using ::hub::routing::v1::ReferralRecord;
using ::hub::routing::v1::ReferralStatus;
using ::hub::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kProviderA[] = "idva-cambs";
constexpr char kProviderB[] = "isva-cambs";
constexpr char kCallerA[] = "provider:idva-cambs";
constexpr char kCallerB[] = "provider:isva-cambs";
constexpr absl::Duration kPoll = absl::Milliseconds(50);

const absl::Time kT0 = absl::FromUnixSeconds(1'767'000'000);

std::string CaseId(int n) { return absl::StrFormat("c_%024x", n); }
std::string KeyId(int n) { return absl::StrFormat("vk_%032x", n); }

// The code and message of a failed call, for readable failures.
MATCHER_P2(GrpcIs, code, message_matcher, "") {
  if (arg.error_code() != code) {
    *result_listener << "code " << arg.error_code() << ": " << arg.error_message();
    return false;
  }
  return ::testing::ExplainMatchResult(message_matcher, arg.error_message(), result_listener);
}
MATCHER(GrpcOk, "") {
  *result_listener << "code " << arg.error_code() << ": " << arg.error_message();
  return arg.ok();
}

// The fields a BadRequest names.
std::vector<std::string> BadFields(const grpc::Status& status) {
  std::vector<std::string> fields;
  absl::StatusOr<google::rpc::BadRequest> bad = rpc::BadRequestOf(status);
  if (bad.ok()) {
    for (const auto& violation : bad->field_violations()) {
      fields.push_back(violation.field());
    }
  }
  return fields;
}

// Routing's core, faked: records every AfterTransition; serves CaseCrime from a map.
class FakeEffects final : public ReferralEffects {
 public:
  struct Call {
    std::string referral_id;
    ReferralStatus status;
    std::string by;
  };

  absl::Status AfterTransition(const ReferralRecord& record, absl::string_view by) override {
    absl::MutexLock lock(&mu_);
    // It is given the record after the change: its last history entry is that change.
    EXPECT_FALSE(record.history().empty());
    if (!record.history().empty()) {
      EXPECT_EQ(record.history().rbegin()->to(), record.status());
    }
    calls_.push_back({record.referral_id(), record.status(), std::string(by)});
    if (failures_ > 0) {
      --failures_;
      return absl::UnavailableError("routing's Kafka is down (test)");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<hub::events::v1::CrimeReported>> CaseCrime(
      absl::string_view case_id) override {
    absl::MutexLock lock(&mu_);
    auto found = crimes_.find(std::string(case_id));
    if (found == crimes_.end()) {
      return std::optional<hub::events::v1::CrimeReported>();
    }
    return std::optional<hub::events::v1::CrimeReported>(found->second);
  }

  void AddCrime(const hub::events::v1::CrimeReported& crime) {
    absl::MutexLock lock(&mu_);
    crimes_[crime.case_id()] = crime;
  }
  void FailNext(int n) {
    absl::MutexLock lock(&mu_);
    failures_ = n;
  }
  // The statuses AfterTransition was called with for `referral_id`, in order.
  std::vector<ReferralStatus> StatusesFor(const std::string& referral_id) {
    absl::MutexLock lock(&mu_);
    std::vector<ReferralStatus> statuses;
    for (const Call& call : calls_) {
      if (call.referral_id == referral_id) {
        statuses.push_back(call.status);
      }
    }
    return statuses;
  }
  std::vector<Call> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Mutex mu_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, hub::events::v1::CrimeReported> crimes_ ABSL_GUARDED_BY(mu_);
  int failures_ ABSL_GUARDED_BY(mu_) = 0;
};

// Sends to the real producer, or fails every record when told to (or when there is none).
class SwitchableProducer final : public kafka::Producer {
 public:
  void Produce(kafka::OutgoingRecord record, DeliveryCallback on_delivery) override {
    if (target_ == nullptr || fail_.load()) {
      on_delivery(absl::UnavailableError("broker unreachable (test)"));
      return;
    }
    target_->Produce(std::move(record), std::move(on_delivery));
  }
  absl::Status ProduceSync(kafka::OutgoingRecord record, absl::Duration timeout) override {
    if (target_ == nullptr || fail_.load()) {
      return absl::UnavailableError("broker unreachable (test)");
    }
    return target_->ProduceSync(std::move(record), timeout);
  }
  absl::Status Flush(absl::Duration timeout) override {
    return target_ == nullptr ? absl::OkStatus() : target_->Flush(timeout);
  }
  void set_target(kafka::Producer* target) { target_ = target; }
  void set_fail(bool fail) { fail_.store(fail); }

 private:
  kafka::Producer* target_ = nullptr;
  std::atomic<bool> fail_{false};
};

// One StreamOffers call read on its own thread.
class OfferStream {
 public:
  OfferStream(ProviderService::Stub* stub, const std::string& caller) {
    context_.AddMetadata(identity::kCallerMetadataKey, caller);
    reader_ = stub->StreamOffers(&context_, hub::routing::v1::StreamOffersRequest());
    thread_ = std::thread([this] {
      hub::routing::v1::Offer offer;
      while (reader_->Read(&offer)) {
        absl::MutexLock lock(&mu_);
        offers_.push_back(offer);
      }
      absl::MutexLock lock(&mu_);
      ended_ = true;
    });
  }
  ~OfferStream() {
    if (thread_.joinable()) {
      (void)Cancel();
    }
  }

  // Waits until at least `n` offers arrived; false after `timeout`.
  bool WaitFor(size_t n, absl::Duration timeout = absl::Seconds(5)) {
    absl::MutexLock lock(&mu_);
    wanted_ = n;
    return mu_.AwaitWithTimeout(absl::Condition(this, &OfferStream::HasWanted), timeout);
  }
  // Waits until the server ends the stream; false after `timeout`.
  bool WaitForEnd(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&ended_), timeout);
  }
  std::vector<int64_t> Sequences() {
    absl::MutexLock lock(&mu_);
    std::vector<int64_t> sequences;
    for (const hub::routing::v1::Offer& offer : offers_) {
      sequences.push_back(offer.sequence());
    }
    return sequences;
  }
  std::vector<std::string> ReferralIds() {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> ids;
    for (const hub::routing::v1::Offer& offer : offers_) {
      ids.push_back(offer.referral().referral_id());
    }
    return ids;
  }
  // Cancels the call (the client going away) and returns how it ended.
  grpc::Status Cancel() {
    context_.TryCancel();
    return Finish();
  }
  grpc::Status Finish() {
    thread_.join();
    return reader_->Finish();
  }

 private:
  bool HasWanted() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return offers_.size() >= wanted_; }

  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<hub::routing::v1::Offer>> reader_;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<hub::routing::v1::Offer> offers_ ABSL_GUARDED_BY(mu_);
  size_t wanted_ ABSL_GUARDED_BY(mu_) = 0;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
};

class ProviderApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(hub::testing::HostPort address, hub::testing::RedisFromEnv());
    redis::RedisConfig config;
    config.host = address.host;
    config.port = address.port;
    config.pool_size = 8;
    ASSERT_OK_AND_ASSIGN(redis_, redis::CreateRedisClient(config));
    // A namespace per test keeps every key our own.
    ns_ = hub::testing::UniqueName("prov");
    store_ = std::make_unique<referrals::ReferralStore>(redis_.get(), ns_);
    log_ = std::make_unique<referrals::OfferLog>(redis_.get(), ns_);
    identity_ = identity::CreateDeclaredLoopbackIdentityProvider();
    topic_ = events::Topics(ns_).contact_reads;

    ProviderApiOptions options;
    options.poll_interval = kPoll;
    options.batch_size = 2;  // small, so every multi-batch path runs
    options.publish_timeout = absl::Seconds(10);
    options.metrics = &metrics_;
    api_ = std::make_unique<ProviderApi>(
        identity_.get(), store_.get(), log_.get(), &effects_,
        [this](absl::string_view key_id,
               absl::string_view generation) -> absl::StatusOr<seal::DataKey> {
          absl::MutexLock lock(&keys_mu_);
          auto found = keys_.find(absl::StrCat(key_id, "/", generation));
          if (found == keys_.end()) {
            return absl::NotFoundError("no such data key (erased)");
          }
          return found->second;
        },
        &producer_, topic_, std::make_shared<clock::FakeClock>(kT0), options);

    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(api_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    stub_ = ProviderService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (api_ != nullptr) {
      api_->Shutdown();
    }
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
      server_->Wait();
    }
  }

  // The real broker and the audit topic, for the tests that read contact details.
  void ConnectKafka() {
    ASSERT_OK_AND_ASSIGN(bootstrap_, hub::testing::KafkaBootstrapFromEnv());
    std::vector<kafka::TopicSpec> specs;
    for (const kafka::TopicSpec& spec : events::TopicSpecs(ns_)) {
      if (spec.name == topic_) {
        specs.push_back(spec);
      }
    }
    ASSERT_EQ(specs.size(), 1U);
    ASSERT_THAT(kafka::EnsureTopics(bootstrap_, specs), IsOk());
    kafka::ProducerConfig config;
    config.bootstrap_servers = bootstrap_;
    config.client_id = "provider-api-itest";
    config.linger = absl::ZeroDuration();
    config.topics = {topic_};
    ASSERT_OK_AND_ASSIGN(kafka_, kafka::CreateProducer(config));
    producer_.set_target(kafka_.get());
  }

  // A referral made to `provider`; offered (appended to its offer log, as routing's core
  // does) unless `offered` is false, when it waits for a place.
  ReferralRecord MakeReferral(const std::string& id, const std::string& provider, int case_number,
                              bool offered = true) {
    ReferralRecord record;
    record.set_referral_id(id);
    record.set_case_id(CaseId(case_number));
    record.set_provider_key(provider);
    record.add_needs("emotional_support");
    record.set_priority(hub::events::v1::PRIORITY_ENHANCED);
    record.set_enhanced(true);
    record.set_crime_category("domestic_abuse");
    record.set_postcode_district("CB1");
    *record.mutable_created_at() =
        google::protobuf::util::TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(kT0) + ++created_);
    absl::StatusOr<ReferralRecord> created = store_->Create(record);
    EXPECT_THAT(created, IsOk());
    if (!offered || !created.ok()) {
      return created.value_or(record);
    }
    hub::routing::v1::Offer offer;
    offer.set_offer_id(absl::StrCat("offer-", id));
    *offer.mutable_referral() = ToProviderReferral(*created);
    absl::StatusOr<referrals::Appended> appended =
        log_->Append(provider, offer.offer_id(), offer.SerializeAsString());
    EXPECT_THAT(appended, IsOk());
    if (!appended.ok()) {
      return *created;
    }
    absl::StatusOr<ReferralRecord> updated = store_->Update(id, [&](ReferralRecord* r) {
      r->set_offer_sequence(appended->sequence);
      return absl::OkStatus();
    });
    EXPECT_THAT(updated, IsOk());
    return updated.value_or(*created);
  }

  ReferralStatus StoredStatus(const std::string& id) {
    absl::StatusOr<std::optional<ReferralRecord>> record = store_->Get(id);
    return record.ok() && record->has_value() ? (*record)->status()
                                              : hub::routing::v1::REFERRAL_STATUS_UNSPECIFIED;
  }

  template <typename Request, typename Response>
  using Rpc = grpc::Status (ProviderService::Stub::*)(grpc::ClientContext*, const Request&,
                                                      Response*);

  template <typename Request, typename Response>
  grpc::Status Call(Rpc<Request, Response> rpc, const std::string& caller, const Request& request,
                    Response* response) {
    grpc::ClientContext context;
    if (!caller.empty()) {
      context.AddMetadata(identity::kCallerMetadataKey, caller);
    }
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
    return (stub_.get()->*rpc)(&context, request, response);
  }

  grpc::Status Get(const std::string& caller, const std::string& id, Referral* out = nullptr) {
    hub::routing::v1::GetReferralRequest request;
    request.set_referral_id(id);
    Referral response;
    grpc::Status status = Call(&ProviderService::Stub::GetReferral, caller, request, &response);
    if (out != nullptr) {
      *out = response;
    }
    return status;
  }
  grpc::Status Accept(const std::string& caller, const std::string& id, Referral* out = nullptr) {
    hub::routing::v1::AcceptReferralRequest request;
    request.set_referral_id(id);
    Referral response;
    grpc::Status status = Call(&ProviderService::Stub::AcceptReferral, caller, request, &response);
    if (out != nullptr) {
      *out = response;
    }
    return status;
  }
  grpc::Status Reject(const std::string& caller, const std::string& id,
                      hub::routing::v1::RejectionReason reason) {
    hub::routing::v1::RejectReferralRequest request;
    request.set_referral_id(id);
    request.set_reason(reason);
    Referral response;
    return Call(&ProviderService::Stub::RejectReferral, caller, request, &response);
  }
  grpc::Status Update(const std::string& caller, const std::string& id, ReferralStatus to,
                      Referral* out = nullptr) {
    hub::routing::v1::UpdateReferralRequest request;
    request.set_referral_id(id);
    request.set_status(to);
    Referral response;
    grpc::Status status = Call(&ProviderService::Stub::UpdateReferral, caller, request, &response);
    if (out != nullptr) {
      *out = response;
    }
    return status;
  }
  grpc::Status Complete(const std::string& caller,
                        const hub::routing::v1::CompleteReferralRequest& r,
                        Referral* out = nullptr) {
    Referral response;
    grpc::Status status = Call(&ProviderService::Stub::CompleteReferral, caller, r, &response);
    if (out != nullptr) {
      *out = response;
    }
    return status;
  }
  hub::routing::v1::CompleteReferralRequest Completion(const std::string& id) {
    hub::routing::v1::CompleteReferralRequest request;
    request.set_referral_id(id);
    request.set_status(hub::routing::v1::REFERRAL_STATUS_COMPLETED);
    request.mutable_outcome()->set_feel_safer_improved(true);
    request.mutable_outcome()->set_cope_with_everyday_life_improved(false);
    return request;
  }
  grpc::Status Contact(const std::string& caller, const std::string& id,
                       hub::routing::v1::VictimContact* out = nullptr) {
    hub::routing::v1::GetVictimContactRequest request;
    request.set_referral_id(id);
    hub::routing::v1::VictimContact response;
    grpc::Status status =
        Call(&ProviderService::Stub::GetVictimContact, caller, request, &response);
    if (out != nullptr) {
      *out = response;
    }
    return status;
  }
  grpc::Status Acknowledge(const std::string& caller, int64_t sequence, int64_t* pointer) {
    hub::routing::v1::AcknowledgeOffersRequest request;
    request.set_sequence(sequence);
    hub::routing::v1::AcknowledgeOffersResponse response;
    grpc::Status status =
        Call(&ProviderService::Stub::AcknowledgeOffers, caller, request, &response);
    *pointer = response.acknowledged();
    return status;
  }
  // Every referral id the provider lists, paging to the end.
  std::vector<std::string> ListAll(const std::string& caller,
                                   const std::vector<ReferralStatus>& statuses = {}) {
    std::vector<std::string> ids;
    hub::routing::v1::ListReferralsRequest request;
    for (ReferralStatus status : statuses) {
      request.add_statuses(status);
    }
    request.set_page_size(2);
    for (int page = 0; page < 100; ++page) {
      hub::routing::v1::ListReferralsResponse response;
      grpc::Status status = Call(&ProviderService::Stub::ListReferrals, caller, request, &response);
      EXPECT_THAT(status, GrpcOk());
      for (const Referral& referral : response.referrals()) {
        ids.push_back(referral.referral_id());
      }
      if (!status.ok() || response.next_page_token().empty()) {
        break;
      }
      request.set_page_token(response.next_page_token());
    }
    return ids;
  }

  // A crime whose victim has a name, a safe email, an unsafe phone and an address not
  // confirmed safe, and a parent with one safe and one unsafe route, sealed under a fresh
  // key as intake seals it (victims(0), bound to the case id).
  void SealVictim(int case_number, int key_number) {
    hub::intake::v1::Victim victim;
    victim.set_victim_ref("V1");
    victim.set_age_at_offence(16);
    victim.mutable_name()->set_given("Robin");
    victim.mutable_name()->set_family("Fairweather");
    auto add_route = [](google::protobuf::RepeatedPtrField<hub::intake::v1::ContactRoute>* routes,
                        hub::intake::v1::ContactRoute::Channel channel,
                        hub::intake::v1::ChannelSafety safety, const std::string& value) {
      hub::intake::v1::ContactRoute* route = routes->Add();
      route->set_channel(channel);
      route->set_safety(safety);
      if (channel == hub::intake::v1::ContactRoute::CHANNEL_LETTER) {
        route->mutable_address()->add_lines(value);
        route->mutable_address()->set_postcode("CB1 2AB");
      } else {
        route->set_value(value);
      }
    };
    add_route(victim.mutable_contact_routes(), hub::intake::v1::ContactRoute::CHANNEL_EMAIL,
              hub::intake::v1::CHANNEL_SAFETY_SAFE, "robin.safe@example.org");
    add_route(victim.mutable_contact_routes(), hub::intake::v1::ContactRoute::CHANNEL_PHONE,
              hub::intake::v1::CHANNEL_SAFETY_UNSAFE, "01223 999001");
    add_route(victim.mutable_contact_routes(), hub::intake::v1::ContactRoute::CHANNEL_LETTER,
              hub::intake::v1::CHANNEL_SAFETY_UNSPECIFIED, "7 Shared House Lane");
    victim.set_suspect_shares_address(true);
    hub::intake::v1::Representative* parent = victim.mutable_parent_guardian();
    parent->mutable_name()->set_given("Morgan");
    parent->set_role("mother");
    add_route(parent->mutable_contact_routes(), hub::intake::v1::ContactRoute::CHANNEL_SMS,
              hub::intake::v1::CHANNEL_SAFETY_SAFE, "07700 900123");
    add_route(parent->mutable_contact_routes(), hub::intake::v1::ContactRoute::CHANNEL_EMAIL,
              hub::intake::v1::CHANNEL_SAFETY_UNSAFE, "shared.inbox@example.org");

    hub::events::v1::CrimeReported crime;
    crime.set_case_id(CaseId(case_number));
    *crime.mutable_report()->add_victims() = victim;
    absl::StatusOr<seal::DataKey> key = seal::NewDataKey(KeyId(key_number));
    ASSERT_THAT(key, IsOk());
    absl::StatusOr<std::optional<hub::seal::v1::SealedData>> sealed =
        seal::SealPii(*key, crime.mutable_report()->mutable_victims(0), crime.case_id());
    ASSERT_THAT(sealed, IsOk());
    ASSERT_TRUE(sealed->has_value());
    *crime.mutable_personal_data() = **sealed;
    ASSERT_FALSE(seal::ContainsPii(crime));
    effects_.AddCrime(crime);
    absl::MutexLock lock(&keys_mu_);
    keys_[absl::StrCat(key->key_id, "/", key->generation)] = *key;
  }
  void EraseKeys() {
    absl::MutexLock lock(&keys_mu_);
    keys_.clear();
  }

  // The audit records of `case_id` on the topic.
  std::vector<hub::events::v1::VictimContactRead> AuditRecords(const std::string& case_id,
                                                               std::vector<std::string>* raw) {
    std::vector<hub::events::v1::VictimContactRead> reads;
    absl::StatusOr<std::vector<kafka::ConsumedRecord>> records =
        hub::testing::ReadWholeTopic(bootstrap_, topic_);
    EXPECT_THAT(records, IsOk());
    if (!records.ok()) {
      return reads;
    }
    for (const kafka::ConsumedRecord& record : *records) {
      if (record.key != case_id) {
        continue;
      }
      hub::events::v1::VictimContactRead read;
      absl::StatusOr<events::CloudEvent> header =
          events::ParseRecord(record, events::kVictimContactReadType, &read);
      EXPECT_THAT(header, IsOk());
      if (header.ok()) {
        EXPECT_EQ(header->id, read.read_id());
      }
      reads.push_back(read);
      raw->push_back(record.value);
    }
    return reads;
  }

  std::string ns_;
  std::string topic_;
  std::string bootstrap_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<referrals::ReferralStore> store_;
  std::unique_ptr<referrals::OfferLog> log_;
  std::unique_ptr<identity::IdentityProvider> identity_;
  FakeEffects effects_;
  SwitchableProducer producer_;
  std::unique_ptr<kafka::Producer> kafka_;
  absl::Mutex keys_mu_;
  std::map<std::string, seal::DataKey> keys_ ABSL_GUARDED_BY(keys_mu_);
  metrics::Registry metrics_;
  std::unique_ptr<ProviderApi> api_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ProviderService::Stub> stub_;
  int created_ = 0;
};

// ---------------------------------------------------------------------------------------
// Identity and isolation

TEST_F(ProviderApiTest, OnlyAuthenticatedProvidersAreServed) {
  MakeReferral("r-1", kProviderA, 1);
  EXPECT_THAT(Get("", "r-1"), GrpcIs(grpc::StatusCode::UNAUTHENTICATED, Not(IsEmpty())));
  EXPECT_THAT(Get("staff:hub:ops1", "r-1"),
              GrpcIs(grpc::StatusCode::PERMISSION_DENIED, HasSubstr("allowed: provider")));
  EXPECT_THAT(Accept("police:CAMBS:athena", "r-1"),
              GrpcIs(grpc::StatusCode::PERMISSION_DENIED, HasSubstr("allowed: provider")));
  EXPECT_THAT(Get(kCallerA, "r-1"), GrpcOk());
  const std::string text = metrics_.Render();
  EXPECT_THAT(text, HasSubstr("hub_routing_provider_calls_total{method=\"GetReferral\","
                              "result=\"error\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("hub_routing_provider_calls_total{method=\"GetReferral\","
                              "result=\"ok\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("hub_routing_provider_call_seconds_count{method=\"GetReferral\"} 3\n"));
}

TEST_F(ProviderApiTest, AProviderCannotSeeOrChangeAnotherProvidersReferral) {
  ASSERT_NO_FATAL_FAILURE(SealVictim(1, 1));
  ReferralRecord theirs = MakeReferral("r-a", kProviderA, 1);
  MakeReferral("r-b", kProviderB, 2);
  ASSERT_THAT(Accept(kCallerA, "r-a"), GrpcOk());
  const size_t effects_before = effects_.calls().size();

  // What B is told about a referral that does not exist, with the id swapped in: B must
  // get exactly this for A's referral.
  grpc::Status missing = Get(kCallerB, "r-missing");
  ASSERT_THAT(missing, GrpcIs(grpc::StatusCode::PERMISSION_DENIED, HasSubstr("r-missing")));
  const std::string expected = absl::StrReplaceAll(missing.error_message(), {{"r-missing", "r-a"}});
  const auto denied = GrpcIs(grpc::StatusCode::PERMISSION_DENIED, expected);

  EXPECT_THAT(Get(kCallerB, "r-a"), denied);
  EXPECT_THAT(Accept(kCallerB, "r-a"), denied);
  EXPECT_THAT(Reject(kCallerB, "r-a", hub::routing::v1::REJECTION_REASON_AT_CAPACITY), denied);
  EXPECT_THAT(Update(kCallerB, "r-a", hub::routing::v1::REFERRAL_STATUS_IN_PROGRESS), denied);
  hub::routing::v1::CompleteReferralRequest completion = Completion("r-a");
  EXPECT_THAT(Complete(kCallerB, completion), denied);
  hub::routing::v1::VictimContact contact;
  EXPECT_THAT(Contact(kCallerB, "r-a", &contact), denied);
  EXPECT_FALSE(seal::ContainsPii(contact));
  // For every call, missing and another provider's read the same.
  EXPECT_THAT(Accept(kCallerB, "r-missing"),
              GrpcIs(grpc::StatusCode::PERMISSION_DENIED, missing.error_message()));
  EXPECT_THAT(Contact(kCallerB, "r-missing"),
              GrpcIs(grpc::StatusCode::PERMISSION_DENIED, missing.error_message()));

  EXPECT_THAT(ListAll(kCallerB), ElementsAre("r-b"));
  EXPECT_THAT(ListAll(kCallerA), ElementsAre("r-a"));
  // Nothing changed, nothing followed.
  EXPECT_EQ(StoredStatus("r-a"), hub::routing::v1::REFERRAL_STATUS_ACCEPTED);
  EXPECT_EQ(effects_.calls().size(), effects_before);
  EXPECT_EQ(theirs.provider_key(), kProviderA);
}

TEST_F(ProviderApiTest, AReferralWaitingForAPlaceIsInvisible) {
  MakeReferral("r-offered", kProviderA, 1);
  MakeReferral("r-waiting", kProviderA, 2, /*offered=*/false);

  grpc::Status missing = Get(kCallerA, "r-missing");
  const std::string expected =
      absl::StrReplaceAll(missing.error_message(), {{"r-missing", "r-waiting"}});
  const auto denied = GrpcIs(grpc::StatusCode::PERMISSION_DENIED, expected);
  EXPECT_THAT(Get(kCallerA, "r-waiting"), denied);
  EXPECT_THAT(Accept(kCallerA, "r-waiting"), denied);
  EXPECT_THAT(Reject(kCallerA, "r-waiting", hub::routing::v1::REJECTION_REASON_INELIGIBLE), denied);
  EXPECT_THAT(Contact(kCallerA, "r-waiting"), denied);
  EXPECT_THAT(ListAll(kCallerA), ElementsAre("r-offered"));
  EXPECT_THAT(ListAll(kCallerA, {hub::routing::v1::REFERRAL_STATUS_REQUESTED}),
              ElementsAre("r-offered"));
  EXPECT_EQ(StoredStatus("r-waiting"), hub::routing::v1::REFERRAL_STATUS_REQUESTED);
  EXPECT_THAT(effects_.calls(), IsEmpty());
}

// ---------------------------------------------------------------------------------------
// Offers

TEST_F(ProviderApiTest, AReconnectingStreamGetsExactlyTheUnacknowledgedOffersThenNewOnes) {
  for (int i = 1; i <= 5; ++i) {
    MakeReferral(absl::StrCat("r-", i), kProviderA, i);
  }
  MakeReferral("r-other", kProviderB, 99);

  auto first = std::make_unique<OfferStream>(stub_.get(), kCallerA);
  ASSERT_TRUE(first->WaitFor(5)) << first->Sequences().size();
  EXPECT_THAT(first->Sequences(), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(first->ReferralIds(), ElementsAre("r-1", "r-2", "r-3", "r-4", "r-5"));

  int64_t pointer = -1;
  ASSERT_THAT(Acknowledge(kCallerA, 3, &pointer), GrpcOk());
  EXPECT_EQ(pointer, 3);
  EXPECT_THAT(first->Cancel(), GrpcIs(grpc::StatusCode::CANCELLED, ::testing::_));
  EXPECT_THAT(first->Sequences(), ElementsAre(1, 2, 3, 4, 5));  // nothing sent twice

  // Acknowledged: received (and followed); the rest still requested.
  for (int i = 1; i <= 3; ++i) {
    const std::string id = absl::StrCat("r-", i);
    EXPECT_EQ(StoredStatus(id), hub::routing::v1::REFERRAL_STATUS_RECEIVED) << id;
    EXPECT_THAT(effects_.StatusesFor(id), ElementsAre(hub::routing::v1::REFERRAL_STATUS_RECEIVED));
  }
  for (int i = 4; i <= 5; ++i) {
    const std::string id = absl::StrCat("r-", i);
    EXPECT_EQ(StoredStatus(id), hub::routing::v1::REFERRAL_STATUS_REQUESTED) << id;
    EXPECT_THAT(effects_.StatusesFor(id), IsEmpty());
  }
  for (const FakeEffects::Call& call : effects_.calls()) {
    EXPECT_EQ(call.by, kCallerA);
  }

  OfferStream second(stub_.get(), kCallerA);
  ASSERT_TRUE(second.WaitFor(2));
  MakeReferral("r-6", kProviderA, 6);
  ASSERT_TRUE(second.WaitFor(3));
  // Several polls later, still nothing repeated or extra.
  absl::SleepFor(4 * kPoll);
  EXPECT_THAT(second.Sequences(), ElementsAre(4, 5, 6));
  EXPECT_THAT(second.ReferralIds(), ElementsAre("r-4", "r-5", "r-6"));
  (void)second.Cancel();

  // Acknowledging never goes back, and never passes what was issued.
  ASSERT_THAT(Acknowledge(kCallerA, 1, &pointer), GrpcOk());
  EXPECT_EQ(pointer, 3);
  ASSERT_THAT(Acknowledge(kCallerA, 100, &pointer), GrpcOk());
  EXPECT_EQ(pointer, 6);
  EXPECT_EQ(StoredStatus("r-6"), hub::routing::v1::REFERRAL_STATUS_RECEIVED);
  // B's log is its own.
  EXPECT_EQ(StoredStatus("r-other"), hub::routing::v1::REFERRAL_STATUS_REQUESTED);
  EXPECT_THAT(Acknowledge(kCallerA, -1, &pointer),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, ::testing::_));

  // Everything acknowledged: a new stream sends only what comes next.
  OfferStream third(stub_.get(), kCallerA);
  absl::SleepFor(2 * kPoll);
  MakeReferral("r-7", kProviderA, 7);
  ASSERT_TRUE(third.WaitFor(1));
  absl::SleepFor(2 * kPoll);
  EXPECT_THAT(third.Sequences(), ElementsAre(7));
  (void)third.Cancel();
}

TEST_F(ProviderApiTest, AcknowledgingAWithdrawnOfferSkipsItsReferral) {
  MakeReferral("r-1", kProviderA, 1);
  MakeReferral("r-2", kProviderA, 2);
  hub::routing::v1::Transition cancel;
  cancel.set_to(hub::routing::v1::REFERRAL_STATUS_CANCELLED);
  ASSERT_THAT(store_->TransitionAsSystem("r-1", cancel, kT0, "system:routing"), IsOk());
  int64_t pointer = 0;
  ASSERT_THAT(Acknowledge(kCallerA, 2, &pointer), GrpcOk());
  EXPECT_EQ(pointer, 2);
  EXPECT_EQ(StoredStatus("r-1"), hub::routing::v1::REFERRAL_STATUS_CANCELLED);
  EXPECT_EQ(StoredStatus("r-2"), hub::routing::v1::REFERRAL_STATUS_RECEIVED);
}

TEST_F(ProviderApiTest, AFailedAcknowledgementLeavesThePointerAndItsRetryRepeatsTheEffects) {
  MakeReferral("r-1", kProviderA, 1);
  effects_.FailNext(1);
  int64_t pointer = 0;
  EXPECT_THAT(Acknowledge(kCallerA, 1, &pointer),
              GrpcIs(grpc::StatusCode::UNAVAILABLE, HasSubstr("retry")));
  EXPECT_THAT(log_->Acknowledged(kProviderA), hub::testing::IsOkAndHolds(0));
  ASSERT_THAT(Acknowledge(kCallerA, 1, &pointer), GrpcOk());
  EXPECT_EQ(pointer, 1);
  EXPECT_THAT(effects_.StatusesFor("r-1"), ElementsAre(hub::routing::v1::REFERRAL_STATUS_RECEIVED,
                                                       hub::routing::v1::REFERRAL_STATUS_RECEIVED));
}

TEST_F(ProviderApiTest, ShutdownEndsOpenStreams) {
  MakeReferral("r-1", kProviderA, 1);
  OfferStream stream(stub_.get(), kCallerA);
  ASSERT_TRUE(stream.WaitFor(1));
  const absl::Time asked = absl::Now();
  api_->Shutdown();
  ASSERT_TRUE(stream.WaitForEnd(absl::Seconds(2)));
  EXPECT_LT(absl::Now() - asked, absl::Seconds(1));
  EXPECT_THAT(stream.Finish(),
              GrpcIs(grpc::StatusCode::UNAVAILABLE, HasSubstr("server shutting down")));
  // And a new stream is refused at once.
  OfferStream late(stub_.get(), kCallerA);
  ASSERT_TRUE(late.WaitForEnd(absl::Seconds(2)));
  EXPECT_THAT(late.Finish(), GrpcIs(grpc::StatusCode::UNAVAILABLE, ::testing::_));
}

// ---------------------------------------------------------------------------------------
// The lifecycle

TEST_F(ProviderApiTest, AcceptWorkAndCompleteWithEveryEffect) {
  MakeReferral("r-1", kProviderA, 1);
  Referral referral;
  // Not acknowledged yet: accepting receives it first.
  ASSERT_THAT(Accept(kCallerA, "r-1", &referral), GrpcOk());
  EXPECT_EQ(referral.status(), hub::routing::v1::REFERRAL_STATUS_ACCEPTED);
  EXPECT_EQ(referral.provider_id(), kProviderA);
  EXPECT_EQ(referral.case_id(), CaseId(1));
  ASSERT_THAT(Update(kCallerA, "r-1", hub::routing::v1::REFERRAL_STATUS_IN_PROGRESS), GrpcOk());
  ASSERT_THAT(Update(kCallerA, "r-1", hub::routing::v1::REFERRAL_STATUS_ON_HOLD), GrpcOk());
  ASSERT_THAT(Update(kCallerA, "r-1", hub::routing::v1::REFERRAL_STATUS_IN_PROGRESS, &referral),
              GrpcOk());
  EXPECT_EQ(referral.status(), hub::routing::v1::REFERRAL_STATUS_IN_PROGRESS);
  ASSERT_THAT(Complete(kCallerA, Completion("r-1"), &referral), GrpcOk());
  EXPECT_EQ(referral.status(), hub::routing::v1::REFERRAL_STATUS_COMPLETED);
  EXPECT_TRUE(referral.outcome().has_feel_safer_improved());
  EXPECT_TRUE(referral.outcome().feel_safer_improved());
  EXPECT_FALSE(referral.outcome().cope_with_everyday_life_improved());
  EXPECT_FALSE(referral.outcome().has_health_and_wellbeing_improved());

  EXPECT_THAT(effects_.StatusesFor("r-1"),
              ElementsAre(hub::routing::v1::REFERRAL_STATUS_RECEIVED,
                          hub::routing::v1::REFERRAL_STATUS_ACCEPTED,
                          hub::routing::v1::REFERRAL_STATUS_IN_PROGRESS,
                          hub::routing::v1::REFERRAL_STATUS_ON_HOLD,
                          hub::routing::v1::REFERRAL_STATUS_IN_PROGRESS,
                          hub::routing::v1::REFERRAL_STATUS_COMPLETED));
  for (const FakeEffects::Call& call : effects_.calls()) {
    EXPECT_EQ(call.by, kCallerA);
  }
  absl::StatusOr<std::optional<ReferralRecord>> stored = store_->Get("r-1");
  ASSERT_THAT(stored, IsOk());
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->history_size(), 6);

  // Closed: no move out of it, and nothing followed.
  const size_t effects_before = effects_.calls().size();
  EXPECT_THAT(Update(kCallerA, "r-1", hub::routing::v1::REFERRAL_STATUS_IN_PROGRESS),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("COMPLETED")));
  EXPECT_THAT(Accept(kCallerA, "r-1"), GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, ::testing::_));
  EXPECT_THAT(Reject(kCallerA, "r-1", hub::routing::v1::REJECTION_REASON_OTHER),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, ::testing::_));
  EXPECT_EQ(effects_.calls().size(), effects_before);
  // A completion repeated (a retry) is answered again, with its effects repeated; one with
  // another outcome is refused.
  ASSERT_THAT(Complete(kCallerA, Completion("r-1")), GrpcOk());
  EXPECT_EQ(effects_.calls().size(), effects_before + 1);
  hub::routing::v1::CompleteReferralRequest other = Completion("r-1");
  other.mutable_outcome()->set_feel_safer_improved(false);
  EXPECT_THAT(Complete(kCallerA, other),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("already COMPLETED")));
}

TEST_F(ProviderApiTest, IllegalMovesAreRefused) {
  MakeReferral("r-1", kProviderA, 1);
  // Not accepted: cannot start, hold or complete.
  EXPECT_THAT(Update(kCallerA, "r-1", hub::routing::v1::REFERRAL_STATUS_IN_PROGRESS),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("cannot go from")));
  EXPECT_THAT(Complete(kCallerA, Completion("r-1")),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("cannot go from")));
  ASSERT_THAT(Accept(kCallerA, "r-1"), GrpcOk());
  // Accepted: ON_HOLD only from IN_PROGRESS; no rejection once accepted.
  EXPECT_THAT(Update(kCallerA, "r-1", hub::routing::v1::REFERRAL_STATUS_ON_HOLD),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("cannot go from")));
  EXPECT_THAT(Reject(kCallerA, "r-1", hub::routing::v1::REJECTION_REASON_AT_CAPACITY),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, ::testing::_));
  EXPECT_EQ(StoredStatus("r-1"), hub::routing::v1::REFERRAL_STATUS_ACCEPTED);
}

TEST_F(ProviderApiTest, BadRequestsNameTheField) {
  MakeReferral("r-1", kProviderA, 1);
  grpc::Status status = Get(kCallerA, "");
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, ::testing::_));
  EXPECT_THAT(BadFields(status), ElementsAre("referral_id"));
  status = Accept(kCallerA, "no{braces}");
  EXPECT_THAT(BadFields(status), ElementsAre("referral_id"));
  status = Reject(kCallerA, "r-1", hub::routing::v1::REJECTION_REASON_UNSPECIFIED);
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, ::testing::_));
  EXPECT_THAT(BadFields(status), ElementsAre("reason"));
  status = Update(kCallerA, "r-1", hub::routing::v1::REFERRAL_STATUS_COMPLETED);
  EXPECT_THAT(BadFields(status), ElementsAre("status"));
  hub::routing::v1::CompleteReferralRequest complete = Completion("r-1");
  complete.set_status(hub::routing::v1::REFERRAL_STATUS_ON_HOLD);
  EXPECT_THAT(BadFields(Complete(kCallerA, complete)), ElementsAre("status"));
  complete = Completion("r-1");
  complete.set_status(hub::routing::v1::REFERRAL_STATUS_FAILED);
  complete.clear_outcome();
  EXPECT_THAT(BadFields(Complete(kCallerA, complete)), ElementsAre("closure_reason"));
  complete.set_status(hub::routing::v1::REFERRAL_STATUS_COMPLETED);
  EXPECT_THAT(BadFields(Complete(kCallerA, complete)), ElementsAre("outcome"));

  hub::routing::v1::ListReferralsRequest list;
  list.set_page_size(501);
  list.add_statuses(hub::routing::v1::REFERRAL_STATUS_UNSPECIFIED);
  list.set_page_token("not-a-token");
  hub::routing::v1::ListReferralsResponse listed;
  status = Call(&ProviderService::Stub::ListReferrals, kCallerA, list, &listed);
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, ::testing::_));
  EXPECT_THAT(BadFields(status), ElementsAre("page_size", "statuses[0]", "page_token"));
  // Nothing was changed by any of them.
  EXPECT_EQ(StoredStatus("r-1"), hub::routing::v1::REFERRAL_STATUS_REQUESTED);
  EXPECT_THAT(effects_.calls(), IsEmpty());
}

TEST_F(ProviderApiTest, RetriesAfterUnavailableAreIdempotentAndRepeatTheEffects) {
  MakeReferral("r-1", kProviderA, 1);
  int64_t pointer = 0;
  ASSERT_THAT(Acknowledge(kCallerA, 1, &pointer), GrpcOk());
  // The change is stored but what follows fails: the caller is told to retry.
  effects_.FailNext(1);
  EXPECT_THAT(Accept(kCallerA, "r-1"),
              GrpcIs(grpc::StatusCode::UNAVAILABLE, HasSubstr("retry the same call")));
  EXPECT_EQ(StoredStatus("r-1"), hub::routing::v1::REFERRAL_STATUS_ACCEPTED);
  // The retry finds it accepted, answers OK and repeats the effects; so does a plain repeat.
  Referral referral;
  ASSERT_THAT(Accept(kCallerA, "r-1", &referral), GrpcOk());
  EXPECT_EQ(referral.status(), hub::routing::v1::REFERRAL_STATUS_ACCEPTED);
  ASSERT_THAT(Accept(kCallerA, "r-1"), GrpcOk());
  EXPECT_THAT(effects_.StatusesFor("r-1"), ElementsAre(hub::routing::v1::REFERRAL_STATUS_RECEIVED,
                                                       hub::routing::v1::REFERRAL_STATUS_ACCEPTED,
                                                       hub::routing::v1::REFERRAL_STATUS_ACCEPTED,
                                                       hub::routing::v1::REFERRAL_STATUS_ACCEPTED));
  absl::StatusOr<std::optional<ReferralRecord>> stored = store_->Get("r-1");
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ((*stored)->history_size(), 2);  // requested -> received -> accepted, once

  // Reject: the same reason again is a retry; another reason is a conflict.
  MakeReferral("r-2", kProviderA, 2);
  ASSERT_THAT(Reject(kCallerA, "r-2", hub::routing::v1::REJECTION_REASON_AT_CAPACITY), GrpcOk());
  ASSERT_THAT(Reject(kCallerA, "r-2", hub::routing::v1::REJECTION_REASON_AT_CAPACITY), GrpcOk());
  EXPECT_THAT(Reject(kCallerA, "r-2", hub::routing::v1::REJECTION_REASON_DUPLICATE),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("already REJECTED")));
  EXPECT_THAT(effects_.StatusesFor("r-2"), ElementsAre(hub::routing::v1::REFERRAL_STATUS_RECEIVED,
                                                       hub::routing::v1::REFERRAL_STATUS_REJECTED,
                                                       hub::routing::v1::REFERRAL_STATUS_REJECTED));
}

// ---------------------------------------------------------------------------------------
// Contact details

TEST_F(ProviderApiTest, ContactOnlyAfterAcceptanceOnlySafeRoutesAndAuditedWithoutPii) {
  ASSERT_NO_FATAL_FAILURE(ConnectKafka());
  ASSERT_NO_FATAL_FAILURE(SealVictim(1, 1));
  MakeReferral("r-1", kProviderA, 1);

  hub::routing::v1::VictimContact contact;
  EXPECT_THAT(Contact(kCallerA, "r-1", &contact),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("must be accepted first")));
  EXPECT_FALSE(seal::ContainsPii(contact));

  ASSERT_THAT(Accept(kCallerA, "r-1"), GrpcOk());
  ASSERT_THAT(Contact(kCallerA, "r-1", &contact), GrpcOk());
  EXPECT_EQ(contact.referral_id(), "r-1");
  EXPECT_EQ(contact.name().given(), "Robin");
  EXPECT_EQ(contact.name().family(), "Fairweather");
  ASSERT_EQ(contact.contact_routes_size(), 1);
  EXPECT_EQ(contact.contact_routes(0).channel(), hub::intake::v1::ContactRoute::CHANNEL_EMAIL);
  EXPECT_EQ(contact.contact_routes(0).value(), "robin.safe@example.org");
  EXPECT_TRUE(contact.suspect_shares_address());
  ASSERT_TRUE(contact.has_parent_guardian());
  EXPECT_EQ(contact.parent_guardian().name().given(), "Morgan");
  ASSERT_EQ(contact.parent_guardian().contact_routes_size(), 1);
  EXPECT_EQ(contact.parent_guardian().contact_routes(0).value(), "07700 900123");
  EXPECT_FALSE(contact.has_business_contact());
  const std::string given = contact.SerializeAsString();
  for (const char* unsafe : {"01223 999001", "7 Shared House Lane", "shared.inbox@example.org"}) {
    EXPECT_EQ(given.find(unsafe), std::string::npos) << unsafe;
  }

  // Still given while in progress and on hold.
  ASSERT_THAT(Update(kCallerA, "r-1", hub::routing::v1::REFERRAL_STATUS_IN_PROGRESS), GrpcOk());
  ASSERT_THAT(Contact(kCallerA, "r-1"), GrpcOk());

  std::vector<std::string> raw;
  std::vector<hub::events::v1::VictimContactRead> reads = AuditRecords(CaseId(1), &raw);
  ASSERT_EQ(reads.size(), 2U);
  for (size_t i = 0; i < reads.size(); ++i) {
    const hub::events::v1::VictimContactRead& read = reads[i];
    EXPECT_FALSE(read.read_id().empty());
    EXPECT_EQ(read.case_id(), CaseId(1));
    EXPECT_EQ(read.referral_id(), "r-1");
    EXPECT_EQ(read.provider_id(), kProviderA);
    EXPECT_EQ(read.principal(), kCallerA);
    EXPECT_TRUE(read.has_read_at());
    EXPECT_THAT(read.disclosed(), ElementsAre("email", "name", "parent_guardian", "phone"));
    EXPECT_FALSE(seal::ContainsPii(read));
    for (const char* personal : {"Robin", "Fairweather", "robin.safe", "Morgan", "07700"}) {
      EXPECT_EQ(raw[i].find(personal), std::string::npos) << personal;
    }
  }
  EXPECT_NE(reads[0].read_id(), reads[1].read_id());

  // Closed: no more contact details.
  ASSERT_THAT(Complete(kCallerA, Completion("r-1")), GrpcOk());
  EXPECT_THAT(Contact(kCallerA, "r-1"),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("COMPLETED")));
}

TEST_F(ProviderApiTest, NoAuditRecordNoDetails) {
  ASSERT_NO_FATAL_FAILURE(SealVictim(1, 1));
  MakeReferral("r-1", kProviderA, 1);
  ASSERT_THAT(Accept(kCallerA, "r-1"), GrpcOk());
  producer_.set_fail(true);  // no broker at all in this test: every write fails
  hub::routing::v1::VictimContact contact;
  EXPECT_THAT(Contact(kCallerA, "r-1", &contact),
              GrpcIs(grpc::StatusCode::UNAVAILABLE, HasSubstr("audit")));
  EXPECT_FALSE(seal::ContainsPii(contact));
  EXPECT_TRUE(contact.contact_routes().empty());
  EXPECT_FALSE(contact.has_name());
}

TEST_F(ProviderApiTest, ErasedOrMissingPersonalDataIsAFailedPrecondition) {
  ASSERT_NO_FATAL_FAILURE(SealVictim(1, 1));
  MakeReferral("r-1", kProviderA, 1);
  MakeReferral("r-2", kProviderA, 2);  // no crime held for case 2
  ASSERT_THAT(Accept(kCallerA, "r-1"), GrpcOk());
  ASSERT_THAT(Accept(kCallerA, "r-2"), GrpcOk());
  EXPECT_THAT(Contact(kCallerA, "r-2"),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("no contact details held")));
  EraseKeys();
  EXPECT_THAT(Contact(kCallerA, "r-1"),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("has been erased")));
}

}  // namespace
}  // namespace hub::routing::provider
