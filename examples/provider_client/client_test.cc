// The client and every hub-provider command against a fake ProviderService: a real gRPC
// server on a free loopback port, in this process, with a small in-memory referral store
// that keeps the contract's rules (own referrals only, the lifecycle's moves, offers by
// sequence resumed after the last acknowledgement).
#include "examples/provider_client/client.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include <grpcpp/grpcpp.h>

#include "examples/provider_client/commands.h"
#include "examples/provider_client/run.h"

namespace hub::provider_client {
namespace {

namespace v1 = ::hub::routing::v1;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kProvider[] = "provider:idva-cambs";

class FakeProviderService final : public v1::ProviderService::Service {
 public:
  // Adds a referral owned by idva-cambs; with `offer`, also offers it (next sequence).
  void AddReferral(const std::string& id, v1::ReferralStatus status, bool offer) {
    std::lock_guard<std::mutex> lock(mutex_);
    v1::Referral& referral = referrals_[id];
    referral.set_referral_id(id);
    referral.set_case_id("case-" + id);
    referral.set_provider_id("idva-cambs");
    referral.set_status(status);
    referral.add_needs("emotional_support");
    order_.push_back(id);
    if (offer) {
      v1::Offer& made = offers_.emplace_back();
      made.set_sequence(static_cast<int64_t>(offers_.size()));
      made.set_offer_id("offer-" + id);
      *made.mutable_referral() = referral;
    }
    offered_.notify_all();
  }
  void SetStatus(const std::string& id, v1::ReferralStatus status) {
    std::lock_guard<std::mutex> lock(mutex_);
    referrals_[id].set_status(status);
  }
  v1::Referral Referral(const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex_);
    return referrals_[id];
  }
  // The next `count` unary calls fail with UNAVAILABLE.
  void FailNextCalls(int count) { fail_next_ = count; }
  // Each offer stream ends with UNAVAILABLE after sending this many offers.
  void EndStreamsAfter(int offers) { end_streams_after_ = offers; }
  // Each offer stream starts this many offers before the last acknowledged one, as after
  // an acknowledgement lost on the way.
  void ReplayAcknowledged(int offers) { replay_ = offers; }

  int64_t acknowledged() {
    std::lock_guard<std::mutex> lock(mutex_);
    return acknowledged_;
  }
  int streams_opened() const { return streams_opened_; }
  int unary_calls() const { return unary_calls_; }
  std::set<std::string> callers() {
    std::lock_guard<std::mutex> lock(mutex_);
    return callers_;
  }
  std::vector<v1::CompleteReferralRequest> completions() {
    std::lock_guard<std::mutex> lock(mutex_);
    return completions_;
  }

  grpc::Status StreamOffers(grpc::ServerContext* context, const v1::StreamOffersRequest*,
                            grpc::ServerWriter<v1::Offer>* writer) override {
    if (grpc::Status status = Caller(context); !status.ok()) {
      return status;
    }
    ++streams_opened_;
    std::unique_lock<std::mutex> lock(mutex_);
    // The index of the first offer to send: sequence acknowledged_ + 1, less the replay.
    size_t next = static_cast<size_t>(std::max<int64_t>(0, acknowledged_ - replay_));
    int sent = 0;
    while (!context->IsCancelled()) {
      while (next < offers_.size()) {
        if (end_streams_after_ > 0 && sent == end_streams_after_) {
          return grpc::Status(grpc::StatusCode::UNAVAILABLE, "routing is restarting");
        }
        const v1::Offer offer = offers_[next++];
        lock.unlock();
        writer->Write(offer);
        ++sent;
        lock.lock();
      }
      offered_.wait_for(lock, std::chrono::milliseconds(20));
    }
    return grpc::Status::OK;
  }

  grpc::Status AcknowledgeOffers(grpc::ServerContext* context,
                                 const v1::AcknowledgeOffersRequest* request,
                                 v1::AcknowledgeOffersResponse* response) override {
    if (grpc::Status status = Unary(context); !status.ok()) {
      return status;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    for (const v1::Offer& offer : offers_) {
      v1::Referral& referral = referrals_[offer.referral().referral_id()];
      if (offer.sequence() <= request->sequence() &&
          referral.status() == v1::REFERRAL_STATUS_REQUESTED) {
        referral.set_status(v1::REFERRAL_STATUS_RECEIVED);
      }
    }
    acknowledged_ = std::max(acknowledged_, request->sequence());
    response->set_acknowledged(acknowledged_);
    return grpc::Status::OK;
  }

  grpc::Status ListReferrals(grpc::ServerContext* context, const v1::ListReferralsRequest* request,
                             v1::ListReferralsResponse* response) override {
    if (grpc::Status status = Unary(context); !status.ok()) {
      return status;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    // Two per page, so the client must follow page tokens.
    const size_t start = request->page_token().empty() ? 0 : std::stoul(request->page_token());
    std::vector<v1::Referral> matching;
    for (auto id = order_.rbegin(); id != order_.rend(); ++id) {
      const v1::Referral& referral = referrals_[*id];
      if (request->statuses_size() == 0 ||
          std::find(request->statuses().begin(), request->statuses().end(), referral.status()) !=
              request->statuses().end()) {
        matching.push_back(referral);
      }
    }
    for (size_t i = start; i < matching.size() && i < start + 2; ++i) {
      *response->add_referrals() = matching[i];
    }
    if (start + 2 < matching.size()) {
      response->set_next_page_token(std::to_string(start + 2));
    }
    return grpc::Status::OK;
  }

  grpc::Status GetReferral(grpc::ServerContext* context, const v1::GetReferralRequest* request,
                           v1::Referral* response) override {
    return Move(context, request->referral_id(), {}, v1::REFERRAL_STATUS_UNSPECIFIED, response);
  }

  grpc::Status AcceptReferral(grpc::ServerContext* context,
                              const v1::AcceptReferralRequest* request,
                              v1::Referral* response) override {
    return Move(context, request->referral_id(),
                {v1::REFERRAL_STATUS_REQUESTED, v1::REFERRAL_STATUS_RECEIVED},
                v1::REFERRAL_STATUS_ACCEPTED, response);
  }

  grpc::Status RejectReferral(grpc::ServerContext* context,
                              const v1::RejectReferralRequest* request,
                              v1::Referral* response) override {
    if (request->reason() == v1::REJECTION_REASON_UNSPECIFIED) {
      return InvalidArgument("reason", "required");
    }
    grpc::Status status = Move(context, request->referral_id(),
                               {v1::REFERRAL_STATUS_REQUESTED, v1::REFERRAL_STATUS_RECEIVED},
                               v1::REFERRAL_STATUS_REJECTED, response);
    if (status.ok()) {
      std::lock_guard<std::mutex> lock(mutex_);
      referrals_[request->referral_id()].set_rejection_reason(request->reason());
      response->set_rejection_reason(request->reason());
    }
    return status;
  }

  grpc::Status UpdateReferral(grpc::ServerContext* context,
                              const v1::UpdateReferralRequest* request,
                              v1::Referral* response) override {
    if (request->status() == v1::REFERRAL_STATUS_IN_PROGRESS) {
      return Move(context, request->referral_id(),
                  {v1::REFERRAL_STATUS_ACCEPTED, v1::REFERRAL_STATUS_ON_HOLD}, request->status(),
                  response);
    }
    if (request->status() == v1::REFERRAL_STATUS_ON_HOLD) {
      return Move(context, request->referral_id(), {v1::REFERRAL_STATUS_IN_PROGRESS},
                  request->status(), response);
    }
    return InvalidArgument("status", "must be IN_PROGRESS or ON_HOLD");
  }

  grpc::Status CompleteReferral(grpc::ServerContext* context,
                                const v1::CompleteReferralRequest* request,
                                v1::Referral* response) override {
    grpc::Status status = Move(context, request->referral_id(),
                               {v1::REFERRAL_STATUS_IN_PROGRESS, v1::REFERRAL_STATUS_ON_HOLD},
                               request->status(), response);
    if (status.ok()) {
      std::lock_guard<std::mutex> lock(mutex_);
      v1::Referral& referral = referrals_[request->referral_id()];
      *referral.mutable_outcome() = request->outcome();
      referral.set_closure_reason(request->closure_reason());
      *response = referral;
      completions_.push_back(*request);
    }
    return status;
  }

  grpc::Status GetVictimContact(grpc::ServerContext* context,
                                const v1::GetVictimContactRequest* request,
                                v1::VictimContact* response) override {
    v1::Referral referral;
    if (grpc::Status status =
            Move(context, request->referral_id(), {}, v1::REFERRAL_STATUS_UNSPECIFIED, &referral);
        !status.ok()) {
      return status;
    }
    const v1::ReferralStatus status = referral.status();
    if (status != v1::REFERRAL_STATUS_ACCEPTED && status != v1::REFERRAL_STATUS_IN_PROGRESS &&
        status != v1::REFERRAL_STATUS_ON_HOLD) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "contact details only for an accepted referral");
    }
    response->set_referral_id(request->referral_id());
    response->mutable_name()->set_given("Ann");
    response->mutable_name()->set_family("Example");
    auto* route = response->add_contact_routes();
    route->set_channel(hub::intake::v1::ContactRoute::CHANNEL_SMS);
    route->set_safety(hub::intake::v1::CHANNEL_SAFETY_SAFE);
    route->set_value("07700 900123");
    response->set_suspect_shares_address(true);
    return grpc::Status::OK;
  }

 private:
  // As the hub answers a bad request: the fields in a google.rpc.BadRequest detail.
  static grpc::Status InvalidArgument(const std::string& field, const std::string& why) {
    google::rpc::BadRequest bad_request;
    auto* violation = bad_request.add_field_violations();
    violation->set_field(field);
    violation->set_description(why);
    google::rpc::Status details;
    details.set_code(grpc::StatusCode::INVALID_ARGUMENT);
    details.set_message("the request is not valid");
    details.add_details()->PackFrom(bad_request);
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, details.message(),
                        details.SerializeAsString());
  }

  static std::string CallerOf(grpc::ServerContext* context) {
    const auto& metadata = context->client_metadata();
    const auto found = metadata.find("x-hub-caller");
    return found == metadata.end() ? "" : std::string(found->second.data(), found->second.size());
  }

  grpc::Status Caller(grpc::ServerContext* context) {
    const std::string caller = CallerOf(context);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      callers_.insert(caller);
    }
    if (caller.rfind("provider:", 0) != 0) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "only providers may call ProviderService");
    }
    return grpc::Status::OK;
  }

  grpc::Status Unary(grpc::ServerContext* context) {
    ++unary_calls_;
    if (fail_next_ > 0) {
      --fail_next_;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "redis unreachable");
    }
    return Caller(context);
  }

  // Reads (`from` empty) or moves a referral of the caller's.
  grpc::Status Move(grpc::ServerContext* context, const std::string& id,
                    const std::set<v1::ReferralStatus>& from, v1::ReferralStatus to,
                    v1::Referral* response) {
    if (grpc::Status status = Unary(context); !status.ok()) {
      return status;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    const auto found = referrals_.find(id);
    if (found == referrals_.end() || CallerOf(context) != kProvider) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "referral " + id + " is not one of this provider's referrals");
    }
    v1::Referral& referral = found->second;
    if (!from.empty()) {
      if (from.count(referral.status()) == 0) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            "cannot go from " + v1::ReferralStatus_Name(referral.status()) +
                                " to " + v1::ReferralStatus_Name(to));
      }
      referral.set_status(to);
    }
    *response = referral;
    return grpc::Status::OK;
  }

  std::mutex mutex_;
  std::condition_variable offered_;
  std::map<std::string, v1::Referral> referrals_;
  std::vector<std::string> order_;
  std::vector<v1::Offer> offers_;
  int64_t acknowledged_ = 0;
  std::set<std::string> callers_;
  std::vector<v1::CompleteReferralRequest> completions_;
  std::atomic<int> fail_next_{0};
  std::atomic<int> end_streams_after_{0};
  std::atomic<int> replay_{0};
  std::atomic<int> streams_opened_{0};
  std::atomic<int> unary_calls_{0};
};

class ProviderClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }

  void TearDown() override {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

  std::unique_ptr<ProviderClient> NewClient(const std::string& caller = kProvider) {
    ConnectionOptions connection;
    connection.target = "127.0.0.1:" + std::to_string(port_);
    connection.caller = caller;
    connection.initial_backoff = std::chrono::milliseconds(10);
    std::string error;
    auto channel = CreateChannel(connection, &error);
    EXPECT_NE(channel, nullptr) << error;
    return std::make_unique<ProviderClient>(v1::ProviderService::NewStub(channel), caller,
                                            std::chrono::seconds(5));
  }

  // Runs a hub-provider command line against the fake; fills out_ and err_.
  int Run(std::vector<std::string> args, const std::string& caller = kProvider) {
    out_.str("");
    err_.str("");
    args.push_back("--caller=" + caller);
    Options options;
    std::string error;
    EXPECT_TRUE(ParseArgs(args, &options, &error)) << error;
    auto client = NewClient(caller);
    return RunCommand(options, *client, out_, err_);
  }

  std::vector<std::string> OutLines() const {
    std::vector<std::string> lines;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) {
      lines.push_back(line);
    }
    return lines;
  }

  FakeProviderService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(ProviderClientTest, SendsTheCallerAndShowsTheReferral) {
  service_.AddReferral("r-1", v1::REFERRAL_STATUS_RECEIVED, false);
  EXPECT_EQ(Run({"get", "r-1"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(),
              AllOf(HasSubstr("referral:        r-1\n"), HasSubstr("status:          received\n")));
  EXPECT_THAT(service_.callers(), ElementsAre(kProvider));
}

TEST_F(ProviderClientTest, AnotherProvidersReferralIsRefusedLikeAMissingOne) {
  service_.AddReferral("r-1", v1::REFERRAL_STATUS_RECEIVED, false);
  EXPECT_EQ(Run({"get", "r-1"}, "provider:isva-cambs"), kExitRpcError);
  EXPECT_EQ(
      err_.str(),
      "hub-provider: PERMISSION_DENIED: referral r-1 is not one of this provider's referrals\n");
  EXPECT_EQ(Run({"accept", "r-404"}), kExitRpcError);
  EXPECT_EQ(
      err_.str(),
      "hub-provider: PERMISSION_DENIED: referral r-404 is not one of this provider's referrals\n");
  EXPECT_THAT(out_.str(), IsEmpty());
}

TEST_F(ProviderClientTest, ListFollowsEveryPageAndFiltersByStatus) {
  for (const char* id : {"r-1", "r-2", "r-3", "r-4", "r-5"}) {
    service_.AddReferral(id, v1::REFERRAL_STATUS_ACCEPTED, false);
  }
  service_.SetStatus("r-2", v1::REFERRAL_STATUS_ON_HOLD);
  ASSERT_EQ(Run({"list"}), kExitOk) << err_.str();
  const std::vector<std::string> lines = OutLines();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[0], HasSubstr("r-5 status=accepted case=case-r-5"));
  EXPECT_THAT(lines[4], HasSubstr("r-1 status=accepted"));

  ASSERT_EQ(Run({"list", "--status", "on-hold"}), kExitOk);
  EXPECT_THAT(OutLines(), ElementsAre(HasSubstr("r-2 status=on-hold")));
  ASSERT_EQ(Run({"list", "--status", "completed"}), kExitOk);
  EXPECT_THAT(out_.str(), IsEmpty());
  EXPECT_EQ(err_.str(), "no referrals\n");
}

TEST_F(ProviderClientTest, GrpcRetriesUnavailableForUs) {
  service_.AddReferral("r-1", v1::REFERRAL_STATUS_RECEIVED, false);
  service_.FailNextCalls(2);
  EXPECT_EQ(Run({"get", "r-1"}), kExitOk) << err_.str();
  EXPECT_EQ(service_.unary_calls(), 3);

  service_.FailNextCalls(100);
  EXPECT_EQ(Run({"get", "r-1"}), kExitRpcError);
  EXPECT_EQ(err_.str(), "hub-provider: UNAVAILABLE: redis unreachable\n");
  EXPECT_EQ(service_.unary_calls(), 3 + 4);  // max_attempts
}

TEST_F(ProviderClientTest, AnUnreachableHubIsUnavailable) {
  server_->Shutdown();
  EXPECT_EQ(Run({"accept", "r-1"}), kExitRpcError);
  EXPECT_THAT(err_.str(), HasSubstr("hub-provider: UNAVAILABLE"));
}

TEST_F(ProviderClientTest, WalksTheLifecycle) {
  service_.AddReferral("r-1", v1::REFERRAL_STATUS_RECEIVED, false);
  EXPECT_EQ(Run({"accept", "r-1"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("r-1 status=accepted"));
  EXPECT_EQ(Run({"start", "r-1"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("r-1 status=in-progress"));
  EXPECT_EQ(Run({"hold", "r-1"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("r-1 status=on-hold"));
  EXPECT_EQ(Run({"resume", "r-1"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("r-1 status=in-progress"));
  EXPECT_EQ(Run({"complete", "r-1", "--outcome", "safer,access"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("r-1 status=completed"));
  EXPECT_THAT(out_.str(), HasSubstr("improved=safer,access"));
  ASSERT_EQ(service_.completions().size(), 1u);
  const v1::CompleteReferralRequest sent = service_.completions()[0];
  EXPECT_EQ(sent.status(), v1::REFERRAL_STATUS_COMPLETED);
  EXPECT_TRUE(sent.outcome().has_cope_with_everyday_life_improved());
  EXPECT_FALSE(sent.outcome().cope_with_everyday_life_improved());
  EXPECT_TRUE(sent.outcome().feel_safer_improved());
  EXPECT_TRUE(sent.outcome().access_services_improved());

  EXPECT_EQ(Run({"start", "r-1"}), kExitRpcError);
  EXPECT_EQ(err_.str(),
            "hub-provider: FAILED_PRECONDITION: cannot go from REFERRAL_STATUS_COMPLETED to "
            "REFERRAL_STATUS_IN_PROGRESS\n");
}

TEST_F(ProviderClientTest, RejectAndFailSendTheirReasons) {
  service_.AddReferral("r-1", v1::REFERRAL_STATUS_RECEIVED, false);
  EXPECT_EQ(Run({"reject", "r-1", "--reason", "at-capacity", "--json"}), kExitOk) << err_.str();
  const nlohmann::json rejected = nlohmann::json::parse(out_.str());
  EXPECT_EQ(rejected["status"], "REFERRAL_STATUS_REJECTED");
  EXPECT_EQ(rejected["rejection_reason"], "REJECTION_REASON_AT_CAPACITY");

  service_.AddReferral("r-2", v1::REFERRAL_STATUS_ON_HOLD, false);
  EXPECT_EQ(Run({"fail", "r-2", "--closure", "unable-to-contact"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("r-2 status=failed"));
  EXPECT_THAT(out_.str(), HasSubstr("closure=unable-to-contact-victim"));
  EXPECT_EQ(service_.completions().back().status(), v1::REFERRAL_STATUS_FAILED);
}

TEST_F(ProviderClientTest, ABadRequestNamesTheField) {
  service_.AddReferral("r-1", v1::REFERRAL_STATUS_RECEIVED, false);
  v1::Referral referral;
  const grpc::Status status =
      NewClient()->RejectReferral("r-1", v1::REJECTION_REASON_UNSPECIFIED, &referral);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FormatStatus(status), "INVALID_ARGUMENT: the request is not valid (reason: required)");
}

TEST_F(ProviderClientTest, ContactOnlyAfterAcceptingWithTheWarningFirst) {
  service_.AddReferral("r-1", v1::REFERRAL_STATUS_RECEIVED, false);
  EXPECT_EQ(Run({"contact", "r-1"}), kExitRpcError);
  EXPECT_THAT(err_.str(), HasSubstr("FAILED_PRECONDITION: contact details only for an accepted"));
  service_.SetStatus("r-1", v1::REFERRAL_STATUS_ACCEPTED);
  EXPECT_EQ(Run({"contact", "r-1"}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(),
            "referral: r-1\n"
            "WARNING: the suspect lives at the victim's address: never write to it or visit "
            "it.\n"
            "name: Ann Example\n"
            "sms: 07700 900123\n");
}

TEST_F(ProviderClientTest, OffersPrintsInSequenceAndStopsWhenIdle) {
  service_.AddReferral("r-1", v1::REFERRAL_STATUS_REQUESTED, true);
  service_.AddReferral("r-2", v1::REFERRAL_STATUS_REQUESTED, true);
  service_.AddReferral("r-3", v1::REFERRAL_STATUS_REQUESTED, true);
  const auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(Run({"offers"}), kExitOk) << err_.str();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_THAT(OutLines(), ElementsAre(HasSubstr("seq=1 offer=offer-r-1 referral=r-1"),
                                      HasSubstr("seq=2 offer=offer-r-2 referral=r-2"),
                                      HasSubstr("seq=3 offer=offer-r-3 referral=r-3")));
  EXPECT_EQ(service_.acknowledged(), 0);

  // Unacknowledged offers come again; --max stops early; --ack acknowledges what it printed.
  ASSERT_EQ(Run({"offers", "--ack", "--max", "2", "--json"}), kExitOk) << err_.str();
  const std::vector<std::string> lines = OutLines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[1])["sequence"], "2");
  EXPECT_EQ(service_.acknowledged(), 2);
  EXPECT_EQ(service_.Referral("r-2").status(), v1::REFERRAL_STATUS_RECEIVED);
  EXPECT_EQ(service_.Referral("r-3").status(), v1::REFERRAL_STATUS_REQUESTED);

  ASSERT_EQ(Run({"offers"}), kExitOk) << err_.str();
  EXPECT_THAT(OutLines(), ElementsAre(HasSubstr("seq=3 ")));
}

TEST_F(ProviderClientTest, OffersFollowReconnectsAndSkipsWhatItHasSeen) {
  service_.AddReferral("r-1", v1::REFERRAL_STATUS_REQUESTED, true);
  service_.AddReferral("r-2", v1::REFERRAL_STATUS_REQUESTED, true);
  service_.AddReferral("r-3", v1::REFERRAL_STATUS_REQUESTED, true);
  // The first stream sends 1 and 2 and breaks; the second resends 2, then 3.
  service_.EndStreamsAfter(2);
  service_.ReplayAcknowledged(1);
  ASSERT_EQ(Run({"offers", "--follow", "--ack", "--max", "3", "--timeout", "5"}), kExitOk)
      << err_.str();
  EXPECT_THAT(OutLines(),
              ElementsAre(HasSubstr("seq=1 "), HasSubstr("seq=2 "), HasSubstr("seq=3 ")));
  EXPECT_THAT(err_.str(), HasSubstr("offer stream ended (UNAVAILABLE: routing is restarting)"));
  EXPECT_EQ(service_.streams_opened(), 2);
  EXPECT_EQ(service_.acknowledged(), 3);
}

TEST_F(ProviderClientTest, OffersReportsARefusedStream) {
  EXPECT_EQ(Run({"offers"}, "police:CAMBS:athena"), kExitRpcError);
  EXPECT_EQ(err_.str(),
            "hub-provider: PERMISSION_DENIED: only providers may call ProviderService\n");
}

TEST_F(ProviderClientTest, OfferStreamWaitsWithATimeout) {
  auto client = NewClient();
  auto stream = client->StreamOffers();
  v1::Offer offer;
  EXPECT_EQ(stream->Next(std::chrono::milliseconds(100), &offer), OfferStream::Event::kIdle);
  service_.AddReferral("r-7", v1::REFERRAL_STATUS_REQUESTED, true);
  EXPECT_EQ(stream->Next(std::chrono::seconds(5), &offer), OfferStream::Event::kOffer);
  EXPECT_EQ(offer.referral().referral_id(), "r-7");
  EXPECT_EQ(offer.sequence(), 1);
  // Destroying an open stream cancels it without hanging.
}

TEST_F(ProviderClientTest, WorkCarriesEachOfferToCompletion) {
  service_.AddReferral("r-1", v1::REFERRAL_STATUS_REQUESTED, true);
  service_.AddReferral("r-2", v1::REFERRAL_STATUS_REQUESTED, true);
  ASSERT_EQ(Run({"work", "--max", "2", "--timeout", "10"}), kExitOk) << err_.str();
  EXPECT_THAT(OutLines(),
              ElementsAre("worked seq=1 referral=r-1 case=case-r-1 "
                          "steps=acknowledged,accepted,started,completed status=completed",
                          "worked seq=2 referral=r-2 case=case-r-2 "
                          "steps=acknowledged,accepted,started,completed status=completed"));
  EXPECT_EQ(err_.str(), "hub-provider: worked 2 referral(s), skipped 0\n");
  EXPECT_EQ(service_.acknowledged(), 2);
  const v1::Referral done = service_.Referral("r-2");
  EXPECT_EQ(done.status(), v1::REFERRAL_STATUS_COMPLETED);
  EXPECT_TRUE(done.outcome().cope_with_everyday_life_improved());
  EXPECT_TRUE(done.outcome().feel_safer_improved());
  EXPECT_TRUE(done.outcome().has_health_and_wellbeing_improved());
  EXPECT_FALSE(done.outcome().health_and_wellbeing_improved());
}

TEST_F(ProviderClientTest, WorkSkipsAReferralTheHubClosedAndCarriesOn) {
  service_.AddReferral("r-1", v1::REFERRAL_STATUS_REQUESTED, true);
  service_.AddReferral("r-2", v1::REFERRAL_STATUS_REQUESTED, true);
  service_.SetStatus("r-1", v1::REFERRAL_STATUS_CANCELLED);  // withdrawn after the offer
  ASSERT_EQ(Run({"work", "--max", "1", "--timeout", "10", "--json"}), kExitOk) << err_.str();
  const std::vector<std::string> lines = OutLines();
  ASSERT_EQ(lines.size(), 2u);
  const nlohmann::json skipped = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(skipped["result"], "skipped");
  EXPECT_EQ(skipped["referral_id"], "r-1");
  EXPECT_EQ(skipped["status"], "REFERRAL_STATUS_CANCELLED");
  EXPECT_EQ(skipped["error"]["code"], "FAILED_PRECONDITION");
  const nlohmann::json worked = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(worked["result"], "worked");
  EXPECT_EQ(worked["steps"], nlohmann::json({"acknowledged", "accepted", "started", "completed"}));
}

TEST_F(ProviderClientTest, WorkPicksUpAReferralWhereItStands) {
  service_.AddReferral("r-1", v1::REFERRAL_STATUS_REQUESTED, true);
  service_.SetStatus("r-1", v1::REFERRAL_STATUS_ON_HOLD);  // worked before, ack lost
  ASSERT_EQ(Run({"work", "--max", "1", "--timeout", "10"}), kExitOk) << err_.str();
  EXPECT_THAT(OutLines(), ElementsAre(HasSubstr("steps=acknowledged,resumed,completed")));
}

TEST_F(ProviderClientTest, WorkReconnectsAfterTheHubRestarts) {
  service_.AddReferral("r-1", v1::REFERRAL_STATUS_REQUESTED, true);
  service_.AddReferral("r-2", v1::REFERRAL_STATUS_REQUESTED, true);
  service_.EndStreamsAfter(1);
  ASSERT_EQ(Run({"work", "--max", "2", "--timeout", "10"}), kExitOk) << err_.str();
  EXPECT_THAT(OutLines(), ElementsAre(HasSubstr("worked seq=1"), HasSubstr("worked seq=2")));
  EXPECT_GE(service_.streams_opened(), 2);
}

TEST_F(ProviderClientTest, WorkThatRunsOutOfTimeFails) {
  service_.AddReferral("r-1", v1::REFERRAL_STATUS_REQUESTED, true);
  EXPECT_EQ(Run({"work", "--max", "2", "--timeout", "2"}), kExitRpcError);
  EXPECT_THAT(OutLines(), ElementsAre(HasSubstr("worked seq=1")));
  EXPECT_THAT(err_.str(), HasSubstr("DEADLINE_EXCEEDED: --timeout reached after 1 of 2 referrals"));
  // Without --max, the timeout is simply the end of the run.
  EXPECT_EQ(Run({"work", "--timeout", "0.3"}), kExitOk);
}

TEST(StatusTest, FormatsCodeNameAndMessage) {
  EXPECT_EQ(FormatStatus(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "reason: required")),
            "INVALID_ARGUMENT: reason: required");
  EXPECT_EQ(FormatStatus(grpc::Status::OK), "OK");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(static_cast<grpc::StatusCode>(42)), "CODE_42");
}

TEST(ChannelTest, AnUnreadableCertificateIsAnError) {
  ConnectionOptions connection;
  connection.tls_ca_file = "/nonexistent/ca.pem";
  std::string error;
  EXPECT_EQ(CreateChannel(connection, &error), nullptr);
  EXPECT_EQ(error, "cannot read /nonexistent/ca.pem");
}

}  // namespace
}  // namespace hub::provider_client
