// hub.routing.v1.ProviderService: the API a support provider's own system uses to receive
// and work its referrals. protos/hub/routing/v1/provider.proto is the contract.
//
// Every call identifies the caller (IdentityProvider); only "provider:<key>" principals are
// served, and the organisation part is the provider key every store call is scoped to, so
// a provider only ever sees and changes its own referrals. A referral that is still
// waiting for a place (offer_sequence 0) has not been offered: to its provider it does not
// exist, with the same PERMISSION_DENIED as another provider's referral.
//
// Offers come from the provider's OfferLog: StreamOffers sends every offer after the
// acknowledged pointer, then polls for new ones until the client goes away or Shutdown()
// is called. AcknowledgeOffers moves the referrals of the acknowledged offers from
// REQUESTED to RECEIVED before it moves the pointer, so a failure part-way is repeated by
// the retry. Every status change is followed by ReferralEffects::AfterTransition, and a
// retried call that finds its change already made calls it again (it is idempotent), so
// a call that failed after the store write (UNAVAILABLE) is completed by its retry.
//
// GetVictimContact opens the victim's sealed personal data only for a referral the
// provider has accepted and not closed, returns only the routes the police marked safe,
// and first records the read (VictimContactRead, acks=all) on the audit topic: no record,
// no details. No personal data goes into a status message, a log line or a metric.
//
// Thread-safe: gRPC calls handlers concurrently; each StreamOffers holds its handler
// thread until the stream ends.
#ifndef HUB_SERVICES_ROUTING_PROVIDER_PROVIDER_API_H_
#define HUB_SERVICES_ROUTING_PROVIDER_PROVIDER_API_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

#include "hub/intake/v1/intake.pb.h"
#include "hub/routing/v1/provider.grpc.pb.h"
#include "hub/routing/v1/referral_record.pb.h"
#include "services/common/clock/clock.h"
#include "services/common/identity/identity.h"
#include "services/common/kafka/kafka.h"
#include "services/common/metrics/metrics.h"
#include "services/common/seal/crypto.h"
#include "services/routing/referral_effects.h"
#include "services/routing/referrals/offer_log.h"
#include "services/routing/referrals/referral_store.h"

namespace hub::routing::provider {

struct ProviderApiOptions {
  // How often an open StreamOffers looks for new offers.
  absl::Duration poll_interval = absl::Milliseconds(200);
  // Offers read from the log per round trip (1 to referrals::OfferLog::kMaxLimit).
  int batch_size = 100;
  // The longest GetVictimContact waits for Kafka to store its audit record (less when the
  // call's deadline is nearer).
  absl::Duration publish_timeout = absl::Seconds(30);
  // Where the API's metrics go (hub_routing_provider_*); none when null. Must outlive the
  // API.
  metrics::Registry* metrics = nullptr;
};

// One generation of a victim's data key (seal::KeyStore::Get in the service): kNotFound
// once the key was erased.
using ContactKeyLookup = std::function<absl::StatusOr<seal::DataKey>(absl::string_view key_id,
                                                                     absl::string_view generation)>;

class ProviderApi final : public hub::routing::v1::ProviderService::Service {
 public:
  // Every pointer must outlive the API. `contact_reads_topic` is the audit topic
  // (events::TopicNames::contact_reads); `producer` must be the hub's acks=all producer.
  ProviderApi(identity::IdentityProvider* identity, referrals::ReferralStore* referrals,
              referrals::OfferLog* offers, ReferralEffects* effects, ContactKeyLookup keys,
              kafka::Producer* producer, std::string contact_reads_topic,
              std::shared_ptr<clock::Clock> clock, ProviderApiOptions options = {});

  ~ProviderApi() override;

  ProviderApi(const ProviderApi&) = delete;
  ProviderApi& operator=(const ProviderApi&) = delete;

  // Ends every open StreamOffers promptly (UNAVAILABLE "server shutting down", so the
  // provider reconnects to another instance) and refuses new ones. Call it at shutdown
  // before the gRPC server stops, which otherwise waits for the streams until its
  // deadline. Idempotent.
  void Shutdown();

  grpc::Status StreamOffers(grpc::ServerContext* context,
                            const hub::routing::v1::StreamOffersRequest* request,
                            grpc::ServerWriter<hub::routing::v1::Offer>* writer) override;
  grpc::Status AcknowledgeOffers(grpc::ServerContext* context,
                                 const hub::routing::v1::AcknowledgeOffersRequest* request,
                                 hub::routing::v1::AcknowledgeOffersResponse* response) override;
  grpc::Status ListReferrals(grpc::ServerContext* context,
                             const hub::routing::v1::ListReferralsRequest* request,
                             hub::routing::v1::ListReferralsResponse* response) override;
  grpc::Status GetReferral(grpc::ServerContext* context,
                           const hub::routing::v1::GetReferralRequest* request,
                           hub::routing::v1::Referral* response) override;
  grpc::Status AcceptReferral(grpc::ServerContext* context,
                              const hub::routing::v1::AcceptReferralRequest* request,
                              hub::routing::v1::Referral* response) override;
  grpc::Status RejectReferral(grpc::ServerContext* context,
                              const hub::routing::v1::RejectReferralRequest* request,
                              hub::routing::v1::Referral* response) override;
  grpc::Status UpdateReferral(grpc::ServerContext* context,
                              const hub::routing::v1::UpdateReferralRequest* request,
                              hub::routing::v1::Referral* response) override;
  grpc::Status CompleteReferral(grpc::ServerContext* context,
                                const hub::routing::v1::CompleteReferralRequest* request,
                                hub::routing::v1::Referral* response) override;
  grpc::Status GetVictimContact(grpc::ServerContext* context,
                                const hub::routing::v1::GetVictimContactRequest* request,
                                hub::routing::v1::VictimContact* response) override;

 private:
  // The RPCs, for per-method metrics.
  enum Method {
    kStreamOffers,
    kAcknowledgeOffers,
    kListReferrals,
    kGetReferral,
    kAcceptReferral,
    kRejectReferral,
    kUpdateReferral,
    kCompleteReferral,
    kGetVictimContact,
    kMethodCount,
  };
  struct Metrics;
  struct Caller;

  // The provider calling, or the error to return.
  absl::StatusOr<Caller> Authorise(const grpc::ServerContext& context,
                                   absl::string_view action) const;
  // The caller's referral, hiding one that was never offered.
  absl::StatusOr<hub::routing::v1::ReferralRecord> Load(const Caller& caller,
                                                        absl::string_view referral_id) const;
  // Moves the referral to `t.to` (through RECEIVED first when `via_received` and it is
  // still REQUESTED), calling AfterTransition after each change, or after finding the
  // change already made. `same_request` says whether a referral already in `t.to` was put
  // there by an equivalent request (so repeating is a retry, not a conflict).
  absl::StatusOr<hub::routing::v1::ReferralRecord> Move(
      const Caller& caller, absl::string_view referral_id, const hub::routing::v1::Transition& t,
      bool via_received,
      const std::function<bool(const hub::routing::v1::ReferralRecord&)>& same_request);
  // One store transition followed by AfterTransition.
  absl::StatusOr<hub::routing::v1::ReferralRecord> TransitionAndFollow(
      const Caller& caller, absl::string_view referral_id, const hub::routing::v1::Transition& t);
  // The record's effects; on failure, the error to return for it.
  absl::Status Follow(const Caller& caller, const hub::routing::v1::ReferralRecord& record);
  // Publishes the audit record of a contact read (acks=all), waiting at most
  // publish_timeout and never past `deadline` (the call's).
  absl::Status RecordContactRead(const Caller& caller,
                                 const hub::routing::v1::ReferralRecord& record,
                                 const std::vector<std::string>& disclosed, absl::Time deadline);
  // Metrics and the result of one call.
  grpc::Status Finish(Method method, absl::Time started, grpc::Status status) const;

  identity::IdentityProvider* const identity_;
  referrals::ReferralStore* const referrals_;
  referrals::OfferLog* const offers_;
  ReferralEffects* const effects_;
  const ContactKeyLookup keys_;
  kafka::Producer* const producer_;
  const std::string contact_reads_topic_;
  const std::shared_ptr<clock::Clock> clock_;
  const ProviderApiOptions options_;
  std::unique_ptr<Metrics> metrics_;

  mutable absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
};

// The provider's view of a referral: every field of hub.routing.v1.Referral, from the
// record (provider_id is the record's provider_key). Pure.
hub::routing::v1::Referral ToProviderReferral(const hub::routing::v1::ReferralRecord& record);

// What GetVictimContact returns for `victim` (opened from its sealed personal data): the
// name, only the contact routes marked CHANNEL_SAFETY_SAFE (also of the business contact
// and the parent or guardian), the business, and whether the suspect shares the address.
// `disclosed` receives the kinds of detail returned ("address", "business_contact",
// "email", "name", "parent_guardian", "phone"), sorted, for the audit record. Pure.
hub::routing::v1::VictimContact SafeVictimContact(absl::string_view referral_id,
                                                  const hub::intake::v1::Victim& victim,
                                                  std::vector<std::string>* disclosed);

}  // namespace hub::routing::provider

#endif  // HUB_SERVICES_ROUTING_PROVIDER_PROVIDER_API_H_
