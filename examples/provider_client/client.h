// A thin client for hub.routing.v1.ProviderService, built from the published protos alone.
//
// ProviderClient adds to the generated stub only what every call needs: the caller's
// identity (the development `x-hub-caller` metadata entry), a deadline on each unary call,
// and an OfferStream that can be waited on with a timeout. Retrying on UNAVAILABLE is left
// to gRPC itself, through the retry policy in the channel's service config (CreateChannel):
// every ProviderService call is safe to repeat.
//
// A ProviderClient is thread-safe (the stub is; the rest is immutable), so offers can be
// read on one thread while referrals are worked on another. An OfferStream is used by one
// thread at a time.
#ifndef HUB_EXAMPLES_PROVIDER_CLIENT_CLIENT_H_
#define HUB_EXAMPLES_PROVIDER_CLIENT_CLIENT_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "hub/routing/v1/provider.grpc.pb.h"

namespace hub::provider_client {

// How to reach the hub and who to say we are.
struct ConnectionOptions {
  // host:port of the routing service.
  std::string target = "127.0.0.1:50053";
  // Sent as `x-hub-caller` when not empty ("provider:idva-cambs"). The development hub
  // trusts it from loopback peers only; with client certificates the certificate decides.
  std::string caller;
  // PEM files. Any of them set means TLS (grpc::SslCredentials); cert and key go together.
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  // gRPC's own retries of a call that failed with UNAVAILABLE (attempts include the first).
  int max_attempts = 4;
  std::chrono::milliseconds initial_backoff{200};
};

// The channel for `options`: plaintext, or TLS when a PEM file is named. Null with `error`
// set when a file cannot be read.
std::shared_ptr<grpc::Channel> CreateChannel(const ConnectionOptions& options, std::string* error);

// "PERMISSION_DENIED", "UNAVAILABLE", ...: the canonical name of a gRPC status code.
std::string StatusCodeName(grpc::StatusCode code);

// "FAILED_PRECONDITION: cannot go from COMPLETED to IN_PROGRESS": how an error is shown. The
// field violations of a google.rpc.BadRequest detail follow in brackets:
// "INVALID_ARGUMENT: the request is not valid (reason: required)".
std::string FormatStatus(const grpc::Status& status);

// One open StreamOffers call. A reader thread moves offers into a queue so the caller can
// wait for the next one with a timeout. Destroying the stream cancels the call. It must not
// outlive the stub (the ProviderClient) that opened it.
class OfferStream {
 public:
  enum class Event {
    kOffer,  // `offer` holds the next offer
    kIdle,   // nothing arrived within the wait; the stream is still open
    kEnded,  // the stream is over: see status()
  };

  OfferStream(hub::routing::v1::ProviderService::StubInterface& stub, const std::string& caller);
  ~OfferStream();
  OfferStream(const OfferStream&) = delete;
  OfferStream& operator=(const OfferStream&) = delete;

  // Waits up to `wait` for the next offer.
  Event Next(std::chrono::milliseconds wait, hub::routing::v1::Offer* offer);
  // How the stream ended; meaningful once Next returned kEnded.
  grpc::Status status() const;

 private:
  void ReadAll();

  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderInterface<hub::routing::v1::Offer>> reader_;
  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<hub::routing::v1::Offer> queue_;
  bool ended_ = false;
  grpc::Status status_;
  std::thread thread_;
};

class ProviderClient {
 public:
  static constexpr std::chrono::seconds kDefaultDeadline{10};

  ProviderClient(std::unique_ptr<hub::routing::v1::ProviderService::StubInterface> stub,
                 std::string caller, std::chrono::milliseconds deadline = kDefaultDeadline);

  std::unique_ptr<OfferStream> StreamOffers();
  // Acknowledges every offer up to `sequence`; `acknowledged` is the hub's new high mark.
  grpc::Status AcknowledgeOffers(int64_t sequence, int64_t* acknowledged);
  // Every page of the provider's referrals with one of `statuses` (all when empty).
  grpc::Status ListReferrals(const std::vector<hub::routing::v1::ReferralStatus>& statuses,
                             std::vector<hub::routing::v1::Referral>* referrals);
  grpc::Status GetReferral(const std::string& referral_id, hub::routing::v1::Referral* referral);
  grpc::Status AcceptReferral(const std::string& referral_id, hub::routing::v1::Referral* referral);
  grpc::Status RejectReferral(const std::string& referral_id,
                              hub::routing::v1::RejectionReason reason,
                              hub::routing::v1::Referral* referral);
  // IN_PROGRESS (start or resume) or ON_HOLD.
  grpc::Status UpdateReferral(const std::string& referral_id,
                              hub::routing::v1::ReferralStatus status,
                              hub::routing::v1::Referral* referral);
  grpc::Status CompleteReferral(const hub::routing::v1::CompleteReferralRequest& request,
                                hub::routing::v1::Referral* referral);
  grpc::Status GetVictimContact(const std::string& referral_id,
                                hub::routing::v1::VictimContact* contact);

 private:
  // A fresh context with the caller's identity and this client's deadline.
  std::unique_ptr<grpc::ClientContext> NewContext() const;

  std::unique_ptr<hub::routing::v1::ProviderService::StubInterface> stub_;
  std::string caller_;
  std::chrono::milliseconds deadline_;
};

}  // namespace hub::provider_client

#endif  // HUB_EXAMPLES_PROVIDER_CLIENT_CLIENT_H_
