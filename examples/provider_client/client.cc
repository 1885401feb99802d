#include "examples/provider_client/client.h"

#include <array>
#include <fstream>
#include <sstream>
#include <utility>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace hub::provider_client {
namespace {

namespace v1 = ::hub::routing::v1;

constexpr char kCallerMetadataKey[] = "x-hub-caller";

bool ReadFile(const std::string& path, std::string* contents) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *contents = buffer.str();
  return !in.bad();
}

std::string Seconds(std::chrono::milliseconds duration) {
  std::ostringstream out;
  out << static_cast<double>(duration.count()) / 1000.0 << "s";
  return out.str();
}

// gRPC retries a call that failed with UNAVAILABLE (the hub restarting, a store briefly
// away), with exponential backoff. Safe because every ProviderService call may be repeated.
std::string RetryServiceConfig(const ConnectionOptions& options) {
  std::ostringstream config;
  config << R"({"methodConfig":[{"name":[{"service":"hub.routing.v1.ProviderService"}],)"
         << R"("retryPolicy":{"maxAttempts":)" << options.max_attempts << R"(,"initialBackoff":")"
         << Seconds(options.initial_backoff) << R"(","maxBackoff":")"
         << Seconds(options.initial_backoff * 10)
         << R"(","backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}}]})";
  return config.str();
}

}  // namespace

std::shared_ptr<grpc::Channel> CreateChannel(const ConnectionOptions& options, std::string* error) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls_ca_file.empty() && options.tls_cert_file.empty() &&
      options.tls_key_file.empty()) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    const std::array<std::pair<const std::string*, std::string*>, 3> files = {{
        {&options.tls_ca_file, &ssl.pem_root_certs},
        {&options.tls_cert_file, &ssl.pem_cert_chain},
        {&options.tls_key_file, &ssl.pem_private_key},
    }};
    for (const auto& [path, pem] : files) {
      if (!path->empty() && !ReadFile(*path, pem)) {
        *error = "cannot read " + *path;
        return nullptr;
      }
    }
    credentials = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments arguments;
  if (options.max_attempts > 1) {
    arguments.SetServiceConfigJSON(RetryServiceConfig(options));
  }
  return grpc::CreateCustomChannel(options.target, credentials, arguments);
}

std::string StatusCodeName(grpc::StatusCode code) {
  static constexpr std::array<const char*, 17> kNames = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  const auto index = static_cast<size_t>(code);
  if (index < kNames.size()) {
    return kNames[index];
  }
  return "CODE_" + std::to_string(index);
}

std::string FormatStatus(const grpc::Status& status) {
  std::string text = StatusCodeName(status.error_code());
  if (!status.error_message().empty()) {
    text += ": " + status.error_message();
  }
  // INVALID_ARGUMENT names the bad fields in a google.rpc.BadRequest detail.
  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) {
    return text;
  }
  std::string fields;
  for (const google::protobuf::Any& detail : details.details()) {
    google::rpc::BadRequest bad_request;
    if (!detail.UnpackTo(&bad_request)) {
      continue;
    }
    for (const auto& violation : bad_request.field_violations()) {
      fields += (fields.empty() ? "" : "; ") + violation.field() + ": " + violation.description();
    }
  }
  if (!fields.empty()) {
    text += " (" + fields + ")";
  }
  return text;
}

OfferStream::OfferStream(v1::ProviderService::StubInterface& stub, const std::string& caller) {
  // No deadline: the stream stays open until the hub ends it or we cancel it.
  if (!caller.empty()) {
    context_.AddMetadata(kCallerMetadataKey, caller);
  }
  reader_ = stub.StreamOffers(&context_, v1::StreamOffersRequest());
  thread_ = std::thread([this] { ReadAll(); });
}

OfferStream::~OfferStream() {
  context_.TryCancel();
  thread_.join();
}

void OfferStream::ReadAll() {
  v1::Offer offer;
  while (reader_->Read(&offer)) {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(offer));
    arrived_.notify_one();
  }
  grpc::Status status = reader_->Finish();
  std::lock_guard<std::mutex> lock(mutex_);
  status_ = std::move(status);
  ended_ = true;
  arrived_.notify_one();
}

OfferStream::Event OfferStream::Next(std::chrono::milliseconds wait, v1::Offer* offer) {
  std::unique_lock<std::mutex> lock(mutex_);
  arrived_.wait_for(lock, wait, [this] { return !queue_.empty() || ended_; });
  if (!queue_.empty()) {
    *offer = std::move(queue_.front());
    queue_.pop_front();
    return Event::kOffer;
  }
  return ended_ ? Event::kEnded : Event::kIdle;
}

grpc::Status OfferStream::status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return status_;
}

ProviderClient::ProviderClient(std::unique_ptr<v1::ProviderService::StubInterface> stub,
                               std::string caller, std::chrono::milliseconds deadline)
    : stub_(std::move(stub)), caller_(std::move(caller)), deadline_(deadline) {}

std::unique_ptr<grpc::ClientContext> ProviderClient::NewContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!caller_.empty()) {
    context->AddMetadata(kCallerMetadataKey, caller_);
  }
  context->set_deadline(std::chrono::system_clock::now() + deadline_);
  return context;
}

std::unique_ptr<OfferStream> ProviderClient::StreamOffers() {
  return std::make_unique<OfferStream>(*stub_, caller_);
}

grpc::Status ProviderClient::AcknowledgeOffers(int64_t sequence, int64_t* acknowledged) {
  v1::AcknowledgeOffersRequest request;
  request.set_sequence(sequence);
  v1::AcknowledgeOffersResponse response;
  grpc::Status status = stub_->AcknowledgeOffers(NewContext().get(), request, &response);
  if (status.ok()) {
    *acknowledged = response.acknowledged();
  }
  return status;
}

grpc::Status ProviderClient::ListReferrals(const std::vector<v1::ReferralStatus>& statuses,
                                           std::vector<v1::Referral>* referrals) {
  v1::ListReferralsRequest request;
  for (v1::ReferralStatus status : statuses) {
    request.add_statuses(status);
  }
  request.set_page_size(500);
  referrals->clear();
  do {
    v1::ListReferralsResponse response;
    grpc::Status status = stub_->ListReferrals(NewContext().get(), request, &response);
    if (!status.ok()) {
      return status;
    }
    referrals->insert(referrals->end(), response.referrals().begin(), response.referrals().end());
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return grpc::Status::OK;
}

grpc::Status ProviderClient::GetReferral(const std::string& referral_id, v1::Referral* referral) {
  v1::GetReferralRequest request;
  request.set_referral_id(referral_id);
  return stub_->GetReferral(NewContext().get(), request, referral);
}

grpc::Status ProviderClient::AcceptReferral(const std::string& referral_id,
                                            v1::Referral* referral) {
  v1::AcceptReferralRequest request;
  request.set_referral_id(referral_id);
  return stub_->AcceptReferral(NewContext().get(), request, referral);
}

grpc::Status ProviderClient::RejectReferral(const std::string& referral_id,
                                            v1::RejectionReason reason, v1::Referral* referral) {
  v1::RejectReferralRequest request;
  request.set_referral_id(referral_id);
  request.set_reason(reason);
  return stub_->RejectReferral(NewContext().get(), request, referral);
}

grpc::Status ProviderClient::UpdateReferral(const std::string& referral_id,
                                            v1::ReferralStatus status, v1::Referral* referral) {
  v1::UpdateReferralRequest request;
  request.set_referral_id(referral_id);
  request.set_status(status);
  return stub_->UpdateReferral(NewContext().get(), request, referral);
}

grpc::Status ProviderClient::CompleteReferral(const v1::CompleteReferralRequest& request,
                                              v1::Referral* referral) {
  return stub_->CompleteReferral(NewContext().get(), request, referral);
}

grpc::Status ProviderClient::GetVictimContact(const std::string& referral_id,
                                              v1::VictimContact* contact) {
  v1::GetVictimContactRequest request;
  request.set_referral_id(referral_id);
  return stub_->GetVictimContact(NewContext().get(), request, contact);
}

}  // namespace hub::provider_client
