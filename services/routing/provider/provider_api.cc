#include "services/routing/provider/provider_api.h"

#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"

#include "hub/events/v1/events.pb.h"
#include "services/common/events/cloudevents.h"
#include "services/common/events/topics.h"
#include "services/common/log/log.h"
#include "services/common/rpc/error_details.h"
#include "services/common/seal/pii.h"
#include "services/common/status/status_macros.h"
#include "services/routing/lifecycle/lifecycle.h"

namespace hub::routing::provider {
namespace {

using hub::intake::v1::ContactRoute;
using hub::intake::v1::Representative;
using hub::routing::v1::Offer;
using hub::routing::v1::Referral;
using hub::routing::v1::ReferralRecord;
using hub::routing::v1::ReferralStatus;
using hub::routing::v1::Transition;

constexpr const char* kMethodNames[] = {"StreamOffers",   "AcknowledgeOffers", "ListReferrals",
                                        "GetReferral",    "AcceptReferral",    "RejectReferral",
                                        "UpdateReferral", "CompleteReferral",  "GetVictimContact"};

// Room left for the answer after the audit write, when the call's deadline bounds it.
constexpr absl::Duration kDeadlineMargin = absl::Milliseconds(50);

Transition To(ReferralStatus to) {
  Transition t;
  t.set_to(to);
  return t;
}

google::protobuf::Timestamp ToProto(absl::Time time) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(time));
}

// The referral id of a request: INVALID_ARGUMENT naming the field when it cannot be one.
grpc::Status CheckReferralId(const std::string& referral_id) {
  if (referral_id.empty()) {
    return rpc::InvalidArgument("the request is not valid", {{"referral_id", "required"}});
  }
  if (!referrals::ValidateReferralKeyPart("referral_id", referral_id).ok()) {
    return rpc::InvalidArgument(
        "the request is not valid",
        {{"referral_id", "not a referral id: 1 to 128 letters, digits, '-', '_', '.' or ':'"}});
  }
  return grpc::Status::OK;
}

// A transition's own rules (what a target status must carry), checked before the store so
// a malformed request is INVALID_ARGUMENT naming the field whatever the referral's state.
// `from` is any state the target may be reached from.
grpc::Status CheckCarried(ReferralStatus from, const Transition& t) {
  absl::Status checked = lifecycle::CheckTransition(from, t);
  if (checked.ok()) {
    return grpc::Status::OK;
  }
  const absl::string_view message = checked.message();
  const size_t colon = message.find(':');
  std::string field(colon == absl::string_view::npos ? "request" : message.substr(0, colon));
  if (field == "to") {
    field = "status";
  }
  const std::string description(colon == absl::string_view::npos
                                    ? message
                                    : absl::StripLeadingAsciiWhitespace(message.substr(colon + 1)));
  return rpc::InvalidArgument("the request is not valid", {{field, description}});
}

// The offer as the provider receives it: the payload routing's core wrote, with the
// sequence the log issued.
Offer ToOffer(const referrals::LoggedOffer& logged) {
  Offer offer;
  if (!offer.ParseFromString(logged.payload)) {
    log::Error("offer payload does not parse; sending its id and sequence only",
               {{"offer_id", logged.offer_id}, {"sequence", logged.sequence}});
    offer.Clear();
  }
  if (offer.offer_id().empty()) {
    offer.set_offer_id(logged.offer_id);
  }
  offer.set_sequence(logged.sequence);
  return offer;
}

// `routes` without any the police did not mark safe; adds each kept route's kind to
// `kinds`.
void KeepSafeRoutes(google::protobuf::RepeatedPtrField<ContactRoute>* routes,
                    std::set<std::string>* kinds) {
  google::protobuf::RepeatedPtrField<ContactRoute> safe;
  for (ContactRoute& route : *routes) {
    if (route.safety() != hub::intake::v1::CHANNEL_SAFETY_SAFE) {
      continue;
    }
    switch (route.channel()) {
      case ContactRoute::CHANNEL_PHONE:
      case ContactRoute::CHANNEL_SMS:
        kinds->insert("phone");
        break;
      case ContactRoute::CHANNEL_EMAIL:
        kinds->insert("email");
        break;
      case ContactRoute::CHANNEL_LETTER:
        kinds->insert("address");
        break;
      default:
        // A route without a known channel cannot be used safely.
        continue;
    }
    *safe.Add() = std::move(route);
  }
  routes->Swap(&safe);
}

// A representative (business contact, parent or guardian) with only safe routes. Returns
// false when nothing of them is left to give.
bool SafeRepresentative(const Representative& from, Representative* to,
                        std::set<std::string>* kinds) {
  *to = from;
  std::set<std::string> route_kinds;
  KeepSafeRoutes(to->mutable_contact_routes(), &route_kinds);
  const bool named = !to->name().given().empty() || !to->name().family().empty();
  if (!named && to->contact_routes().empty()) {
    to->Clear();
    return false;
  }
  kinds->insert(route_kinds.begin(), route_kinds.end());
  return true;
}

}  // namespace

struct ProviderApi::Caller {
  // e.g. "provider:idva-cambs": who made a change, in the history and the audit record.
  std::string principal;
  // The organisation part: the provider key every store call is scoped to.
  std::string provider_key;
};

struct ProviderApi::Metrics {
  std::array<metrics::Histogram*, kMethodCount> latency{};
  std::array<metrics::Counter*, kMethodCount> ok{};
  std::array<metrics::Counter*, kMethodCount> failed{};
  metrics::Gauge* open_streams = nullptr;
  metrics::Counter* offers_sent = nullptr;
  metrics::Counter* contact_reads = nullptr;
  metrics::Counter* audit_failures = nullptr;
};

Referral ToProviderReferral(const ReferralRecord& record) {
  Referral referral;
  referral.set_referral_id(record.referral_id());
  referral.set_case_id(record.case_id());
  referral.set_provider_id(record.provider_key());
  referral.set_status(record.status());
  *referral.mutable_needs() = record.needs();
  referral.set_priority(record.priority());
  referral.set_enhanced(record.enhanced());
  *referral.mutable_enhanced_categories() = record.enhanced_categories();
  referral.set_crime_category(record.crime_category());
  if (record.has_age_at_offence()) {
    referral.set_age_at_offence(record.age_at_offence());
  }
  referral.set_language(record.language());
  referral.set_interpreter_needed(record.interpreter_needed());
  *referral.mutable_communication_needs() = record.communication_needs();
  referral.set_local_authority_code(record.local_authority_code());
  referral.set_postcode_district(record.postcode_district());
  referral.set_consent_status(record.consent_status());
  if (record.has_created_at()) {
    *referral.mutable_created_at() = record.created_at();
  }
  if (record.has_updated_at()) {
    *referral.mutable_updated_at() = record.updated_at();
  }
  referral.set_rejection_reason(record.rejection_reason());
  referral.set_closure_reason(record.closure_reason());
  if (record.has_outcome()) {
    *referral.mutable_outcome() = record.outcome();
  }
  return referral;
}

hub::routing::v1::VictimContact SafeVictimContact(absl::string_view referral_id,
                                                  const hub::intake::v1::Victim& victim,
                                                  std::vector<std::string>* disclosed) {
  hub::routing::v1::VictimContact contact;
  std::set<std::string> kinds;
  contact.set_referral_id(std::string(referral_id));
  if (!victim.name().given().empty() || !victim.name().family().empty()) {
    *contact.mutable_name() = victim.name();
    kinds.insert("name");
  }
  *contact.mutable_contact_routes() = victim.contact_routes();
  KeepSafeRoutes(contact.mutable_contact_routes(), &kinds);
  contact.set_business_name(victim.business_name());
  if (victim.has_business_contact() &&
      SafeRepresentative(victim.business_contact(), contact.mutable_business_contact(), &kinds)) {
    kinds.insert("business_contact");
  } else {
    contact.clear_business_contact();
  }
  if (victim.has_parent_guardian() &&
      SafeRepresentative(victim.parent_guardian(), contact.mutable_parent_guardian(), &kinds)) {
    kinds.insert("parent_guardian");
  } else {
    contact.clear_parent_guardian();
  }
  contact.set_suspect_shares_address(victim.suspect_shares_address());
  disclosed->assign(kinds.begin(), kinds.end());
  return contact;
}

ProviderApi::ProviderApi(identity::IdentityProvider* identity, referrals::ReferralStore* referrals,
                         referrals::OfferLog* offers, ReferralEffects* effects,
                         ContactKeyLookup keys, kafka::Producer* producer,
                         std::string contact_reads_topic, std::shared_ptr<clock::Clock> clock,
                         ProviderApiOptions options)
    : identity_(identity),
      referrals_(referrals),
      offers_(offers),
      effects_(effects),
      keys_(std::move(keys)),
      producer_(producer),
      contact_reads_topic_(std::move(contact_reads_topic)),
      clock_(std::move(clock)),
      options_(options),
      metrics_(std::make_unique<Metrics>()) {
  metrics::Registry* registry = options_.metrics;
  if (registry == nullptr) {
    return;
  }
  for (int method = 0; method < kMethodCount; ++method) {
    const std::string name = kMethodNames[method];
    if (method != kStreamOffers) {
      metrics_->latency[method] = registry->AddHistogram(
          "hub_routing_provider_call_seconds", "Time to answer one provider API call.",
          metrics::LatencyBuckets(), {{"method", name}});
    }
    metrics_->ok[method] =
        registry->AddCounter("hub_routing_provider_calls_total", "Provider API calls answered.",
                             {{"method", name}, {"result", "ok"}});
    metrics_->failed[method] =
        registry->AddCounter("hub_routing_provider_calls_total", "Provider API calls answered.",
                             {{"method", name}, {"result", "error"}});
  }
  metrics_->open_streams =
      registry->AddGauge("hub_routing_provider_open_streams", "StreamOffers streams open now.");
  metrics_->offers_sent = registry->AddCounter("hub_routing_provider_offers_sent_total",
                                               "Offers written to providers' streams.");
  metrics_->contact_reads = registry->AddCounter(
      "hub_routing_provider_contact_reads_total",
      "Victim contact details given to providers (each recorded on the audit topic).");
  metrics_->audit_failures =
      registry->AddCounter("hub_routing_provider_contact_read_audit_failures_total",
                           "Contact reads refused because the audit record could not be written.");
}

ProviderApi::~ProviderApi() = default;

void ProviderApi::Shutdown() {
  absl::MutexLock lock(&mu_);
  shutting_down_ = true;
}

grpc::Status ProviderApi::Finish(Method method, absl::Time started, grpc::Status status) const {
  if (metrics::Histogram* latency = metrics_->latency[method]; latency != nullptr) {
    latency->Observe(absl::ToDoubleSeconds(absl::Now() - started));
  }
  if (metrics::Counter* counter = status.ok() ? metrics_->ok[method] : metrics_->failed[method];
      counter != nullptr) {
    counter->Increment();
  }
  return status;
}

absl::StatusOr<ProviderApi::Caller> ProviderApi::Authorise(const grpc::ServerContext& context,
                                                           absl::string_view action) const {
  HUB_ASSIGN_OR_RETURN(identity::CallerIdentity caller, identity_->Identify(context));
  HUB_RETURN_IF_ERROR(identity::RequireKind(caller, {identity::CallerKind::kProvider}, action));
  if (!referrals::ValidateReferralKeyPart("provider", caller.organisation).ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("caller ", caller.principal, " does not name a provider key"));
  }
  return Caller{caller.principal, caller.organisation};
}

absl::StatusOr<ReferralRecord> ProviderApi::Load(const Caller& caller,
                                                 absl::string_view referral_id) const {
  HUB_ASSIGN_OR_RETURN(ReferralRecord record,
                       referrals_->GetForProvider(referral_id, caller.provider_key));
  if (record.offer_sequence() == 0) {
    // Planned, but waiting for a place: not offered, so not the provider's to see yet.
    return referrals::NotYours(referral_id);
  }
  return record;
}

absl::Status ProviderApi::Follow(const Caller& caller, const ReferralRecord& record) {
  absl::Status followed = effects_->AfterTransition(record, caller.principal);
  if (followed.ok()) {
    return followed;
  }
  log::Warn("referral status changed but its effects did not complete",
            {{"referral_id", record.referral_id()},
             {"case_id", record.case_id()},
             {"status", lifecycle::StatusName(record.status())},
             {"error", followed.ToString()}});
  return absl::Status(followed.code(), absl::StrCat("referral ", record.referral_id(), " is ",
                                                    lifecycle::StatusName(record.status()),
                                                    " but what follows did not complete (",
                                                    followed.message(), "); retry the same call"));
}

absl::StatusOr<ReferralRecord> ProviderApi::TransitionAndFollow(const Caller& caller,
                                                                absl::string_view referral_id,
                                                                const Transition& t) {
  HUB_ASSIGN_OR_RETURN(
      ReferralRecord record,
      referrals_->Transition(referral_id, caller.provider_key, t, clock_->Now(), caller.principal));
  HUB_RETURN_IF_ERROR(Follow(caller, record));
  return record;
}

absl::StatusOr<ReferralRecord> ProviderApi::Move(
    const Caller& caller, absl::string_view referral_id, const Transition& t, bool via_received,
    const std::function<bool(const ReferralRecord&)>& same_request) {
  HUB_ASSIGN_OR_RETURN(ReferralRecord record, Load(caller, referral_id));
  // A retry (or a duplicate racing request) that finds its change made: repeat what follows.
  const auto already_done = [&](const ReferralRecord& current) -> absl::StatusOr<ReferralRecord> {
    if (!same_request(current)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "referral ", referral_id, " is already ", lifecycle::StatusName(current.status()),
          " with other reasons or outcome than this request's"));
    }
    HUB_RETURN_IF_ERROR(Follow(caller, current));
    return current;
  };
  if (record.status() == t.to()) {
    return already_done(record);
  }
  if (via_received && record.status() == hub::routing::v1::REFERRAL_STATUS_REQUESTED) {
    // Offered but not acknowledged yet: deciding on it implies it was received.
    absl::StatusOr<ReferralRecord> received =
        TransitionAndFollow(caller, referral_id, To(hub::routing::v1::REFERRAL_STATUS_RECEIVED));
    if (!received.ok() && !absl::IsFailedPrecondition(received.status())) {
      return received.status();
    }
  }
  absl::StatusOr<ReferralRecord> moved =
      referrals_->Transition(referral_id, caller.provider_key, t, clock_->Now(), caller.principal);
  if (absl::IsFailedPrecondition(moved.status())) {
    // Lost a race: to the same request (then it is done), or to another change.
    absl::StatusOr<ReferralRecord> current = Load(caller, referral_id);
    if (current.ok() && current->status() == t.to()) {
      return already_done(*current);
    }
    return moved.status();
  }
  if (!moved.ok()) {
    return moved.status();
  }
  HUB_RETURN_IF_ERROR(Follow(caller, *moved));
  return moved;
}

grpc::Status ProviderApi::StreamOffers(grpc::ServerContext* context,
                                       const hub::routing::v1::StreamOffersRequest* /*request*/,
                                       grpc::ServerWriter<Offer>* writer) {
  const absl::Time started = absl::Now();
  absl::StatusOr<Caller> caller = Authorise(*context, "stream offers");
  if (!caller.ok()) {
    return Finish(kStreamOffers, started, rpc::ToGrpcStatus(caller.status()));
  }
  const grpc::Status shutting_down(grpc::StatusCode::UNAVAILABLE, "server shutting down");
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) {
      return Finish(kStreamOffers, started, shutting_down);
    }
  }
  if (metrics_->open_streams != nullptr) {
    metrics_->open_streams->Add(1);
  }
  struct StreamCount {
    metrics::Gauge* gauge;
    ~StreamCount() {
      if (gauge != nullptr) {
        gauge->Add(-1);
      }
    }
  } stream_count{metrics_->open_streams};
  const std::string& provider = caller->provider_key;
  const int limit = std::clamp(options_.batch_size, 1, referrals::OfferLog::kMaxLimit);
  const auto unavailable = [&](const absl::Status& status) {
    log::Warn("offer stream ended: the offer log is unavailable",
              {{"provider", provider}, {"error", status.ToString()}});
    return Finish(kStreamOffers, started,
                  grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "the offer log is unavailable; reconnect to resume after the last "
                               "acknowledged offer"));
  };

  // First everything after the acknowledged pointer (read with it in one step).
  absl::StatusOr<std::vector<referrals::LoggedOffer>> batch = offers_->Pending(provider, limit);
  if (!batch.ok()) {
    return unavailable(batch.status());
  }
  int64_t last_sent = 0;
  if (!batch->empty()) {
    last_sent = batch->front().sequence - 1;
  } else {
    // Nothing pending: continue after the pointer. Were it moved on since, the offers in
    // between were acknowledged (received elsewhere) and need not be sent.
    absl::StatusOr<int64_t> acknowledged = offers_->Acknowledged(provider);
    if (!acknowledged.ok()) {
      return unavailable(acknowledged.status());
    }
    last_sent = *acknowledged;
  }
  writer->SendInitialMetadata();
  while (true) {
    for (const referrals::LoggedOffer& logged : *batch) {
      if (logged.sequence <= last_sent) {
        continue;
      }
      if (!writer->Write(ToOffer(logged))) {
        // The client went away: the normal end of a stream.
        return Finish(kStreamOffers, started, grpc::Status::OK);
      }
      last_sent = logged.sequence;
      if (metrics_->offers_sent != nullptr) {
        metrics_->offers_sent->Increment();
      }
    }
    // A full batch means more may be waiting: read on at once. Otherwise wait for new ones.
    if (static_cast<int>(batch->size()) < limit) {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&shutting_down_), options_.poll_interval);
      if (shutting_down_) {
        return Finish(kStreamOffers, started, shutting_down);
      }
    }
    if (context->IsCancelled()) {
      return Finish(kStreamOffers, started, grpc::Status::OK);
    }
    batch = offers_->After(provider, last_sent, limit);
    if (!batch.ok()) {
      return unavailable(batch.status());
    }
  }
}

grpc::Status ProviderApi::AcknowledgeOffers(
    grpc::ServerContext* context, const hub::routing::v1::AcknowledgeOffersRequest* request,
    hub::routing::v1::AcknowledgeOffersResponse* response) {
  const absl::Time started = absl::Now();
  absl::StatusOr<Caller> caller = Authorise(*context, "acknowledge offers");
  if (!caller.ok()) {
    return Finish(kAcknowledgeOffers, started, rpc::ToGrpcStatus(caller.status()));
  }
  if (request->sequence() < 0) {
    return Finish(
        kAcknowledgeOffers, started,
        rpc::InvalidArgument("the request is not valid", {{"sequence", "must not be negative"}}));
  }
  const std::string& provider = caller->provider_key;
  const int limit = std::clamp(options_.batch_size, 1, referrals::OfferLog::kMaxLimit);
  absl::StatusOr<int64_t> acknowledged = offers_->Acknowledged(provider);
  if (!acknowledged.ok()) {
    return Finish(kAcknowledgeOffers, started, rpc::ToGrpcStatus(acknowledged.status()));
  }
  // The referrals of the newly acknowledged offers move to RECEIVED before the pointer
  // moves, so a call that fails part-way is completed by its retry. Only offers that exist
  // are passed: one appended after this read is not acknowledged unseen.
  int64_t through = *acknowledged;
  bool more = through < request->sequence();
  while (more) {
    absl::StatusOr<std::vector<referrals::LoggedOffer>> batch =
        offers_->After(provider, through, limit);
    if (!batch.ok()) {
      return Finish(kAcknowledgeOffers, started, rpc::ToGrpcStatus(batch.status()));
    }
    more = static_cast<int>(batch->size()) == limit;
    for (const referrals::LoggedOffer& logged : *batch) {
      if (logged.sequence > request->sequence()) {
        more = false;
        break;
      }
      const Offer offer = ToOffer(logged);
      const std::string& referral_id = offer.referral().referral_id();
      absl::StatusOr<ReferralRecord> record =
          referral_id.empty() ? absl::StatusOr<ReferralRecord>(referrals::NotYours(referral_id))
                              : referrals_->GetForProvider(referral_id, provider);
      if (absl::IsPermissionDenied(record.status())) {
        log::Error("acknowledged offer names no referral of its provider",
                   {{"provider", provider}, {"offer_id", logged.offer_id}});
      } else if (!record.ok()) {
        return Finish(kAcknowledgeOffers, started, rpc::ToGrpcStatus(record.status()));
      } else if (record->status() == hub::routing::v1::REFERRAL_STATUS_REQUESTED) {
        absl::StatusOr<ReferralRecord> received = TransitionAndFollow(
            *caller, referral_id, To(hub::routing::v1::REFERRAL_STATUS_RECEIVED));
        // FAILED_PRECONDITION: withdrawn (or decided) meanwhile; nothing to receive.
        if (!received.ok() && !absl::IsFailedPrecondition(received.status())) {
          return Finish(kAcknowledgeOffers, started, rpc::ToGrpcStatus(received.status()));
        }
      } else if (record->status() == hub::routing::v1::REFERRAL_STATUS_RECEIVED) {
        // Received by an earlier attempt that failed before the pointer moved: repeat what
        // follows (idempotent).
        if (absl::Status followed = Follow(*caller, *record); !followed.ok()) {
          return Finish(kAcknowledgeOffers, started, rpc::ToGrpcStatus(followed));
        }
      }
      through = logged.sequence;
    }
  }
  absl::StatusOr<int64_t> pointer = offers_->Acknowledge(provider, through);
  if (!pointer.ok()) {
    return Finish(kAcknowledgeOffers, started, rpc::ToGrpcStatus(pointer.status()));
  }
  response->set_acknowledged(*pointer);
  return Finish(kAcknowledgeOffers, started, grpc::Status::OK);
}

grpc::Status ProviderApi::ListReferrals(grpc::ServerContext* context,
                                        const hub::routing::v1::ListReferralsRequest* request,
                                        hub::routing::v1::ListReferralsResponse* response) {
  const absl::Time started = absl::Now();
  absl::StatusOr<Caller> caller = Authorise(*context, "list referrals");
  if (!caller.ok()) {
    return Finish(kListReferrals, started, rpc::ToGrpcStatus(caller.status()));
  }
  std::vector<rpc::FieldViolation> violations;
  if (request->page_size() < 0 || request->page_size() > referrals::ReferralStore::kMaxPageSize) {
    violations.push_back(
        {"page_size", absl::StrCat("must be 0 to ", referrals::ReferralStore::kMaxPageSize)});
  }
  std::vector<ReferralStatus> statuses;
  for (int i = 0; i < request->statuses_size(); ++i) {
    const ReferralStatus status = request->statuses(i);
    if (status == hub::routing::v1::REFERRAL_STATUS_UNSPECIFIED ||
        !hub::routing::v1::ReferralStatus_IsValid(status)) {
      violations.push_back({absl::StrCat("statuses[", i, "]"), "not a referral status"});
    }
    statuses.push_back(status);
  }
  if (!request->page_token().empty() && !referrals::DecodePageToken(request->page_token()).ok()) {
    violations.push_back({"page_token", "not a token this listing returned"});
  }
  if (!violations.empty()) {
    return Finish(kListReferrals, started,
                  rpc::InvalidArgument("the request is not valid", violations));
  }
  absl::StatusOr<referrals::ReferralPage> page = referrals_->ListForProvider(
      caller->provider_key, statuses, request->page_size(), request->page_token());
  if (!page.ok()) {
    return Finish(kListReferrals, started, rpc::ToGrpcStatus(page.status()));
  }
  for (const ReferralRecord& record : page->referrals) {
    // Waiting for a place: not offered yet, so not listed (the page may come out short).
    if (record.offer_sequence() != 0) {
      *response->add_referrals() = ToProviderReferral(record);
    }
  }
  response->set_next_page_token(page->next_page_token);
  return Finish(kListReferrals, started, grpc::Status::OK);
}

grpc::Status ProviderApi::GetReferral(grpc::ServerContext* context,
                                      const hub::routing::v1::GetReferralRequest* request,
                                      Referral* response) {
  const absl::Time started = absl::Now();
  absl::StatusOr<Caller> caller = Authorise(*context, "read referrals");
  if (!caller.ok()) {
    return Finish(kGetReferral, started, rpc::ToGrpcStatus(caller.status()));
  }
  if (grpc::Status id = CheckReferralId(request->referral_id()); !id.ok()) {
    return Finish(kGetReferral, started, id);
  }
  absl::StatusOr<ReferralRecord> record = Load(*caller, request->referral_id());
  if (!record.ok()) {
    return Finish(kGetReferral, started, rpc::ToGrpcStatus(record.status()));
  }
  *response = ToProviderReferral(*record);
  return Finish(kGetReferral, started, grpc::Status::OK);
}

grpc::Status ProviderApi::AcceptReferral(grpc::ServerContext* context,
                                         const hub::routing::v1::AcceptReferralRequest* request,
                                         Referral* response) {
  const absl::Time started = absl::Now();
  absl::StatusOr<Caller> caller = Authorise(*context, "accept referrals");
  if (!caller.ok()) {
    return Finish(kAcceptReferral, started, rpc::ToGrpcStatus(caller.status()));
  }
  if (grpc::Status id = CheckReferralId(request->referral_id()); !id.ok()) {
    return Finish(kAcceptReferral, started, id);
  }
  absl::StatusOr<ReferralRecord> moved =
      Move(*caller, request->referral_id(), To(hub::routing::v1::REFERRAL_STATUS_ACCEPTED),
           /*via_received=*/true, [](const ReferralRecord&) { return true; });
  if (!moved.ok()) {
    return Finish(kAcceptReferral, started, rpc::ToGrpcStatus(moved.status()));
  }
  *response = ToProviderReferral(*moved);
  return Finish(kAcceptReferral, started, grpc::Status::OK);
}

grpc::Status ProviderApi::RejectReferral(grpc::ServerContext* context,
                                         const hub::routing::v1::RejectReferralRequest* request,
                                         Referral* response) {
  const absl::Time started = absl::Now();
  absl::StatusOr<Caller> caller = Authorise(*context, "reject referrals");
  if (!caller.ok()) {
    return Finish(kRejectReferral, started, rpc::ToGrpcStatus(caller.status()));
  }
  if (grpc::Status id = CheckReferralId(request->referral_id()); !id.ok()) {
    return Finish(kRejectReferral, started, id);
  }
  if (request->reason() == hub::routing::v1::REJECTION_REASON_UNSPECIFIED ||
      !hub::routing::v1::RejectionReason_IsValid(request->reason())) {
    return Finish(
        kRejectReferral, started,
        rpc::InvalidArgument("the request is not valid",
                             {{"reason", "required: one of the RejectionReason values"}}));
  }
  Transition t = To(hub::routing::v1::REFERRAL_STATUS_REJECTED);
  t.set_rejection_reason(request->reason());
  absl::StatusOr<ReferralRecord> moved =
      Move(*caller, request->referral_id(), t, /*via_received=*/true,
           [&](const ReferralRecord& r) { return r.rejection_reason() == request->reason(); });
  if (!moved.ok()) {
    return Finish(kRejectReferral, started, rpc::ToGrpcStatus(moved.status()));
  }
  *response = ToProviderReferral(*moved);
  return Finish(kRejectReferral, started, grpc::Status::OK);
}

grpc::Status ProviderApi::UpdateReferral(grpc::ServerContext* context,
                                         const hub::routing::v1::UpdateReferralRequest* request,
                                         Referral* response) {
  const absl::Time started = absl::Now();
  absl::StatusOr<Caller> caller = Authorise(*context, "update referrals");
  if (!caller.ok()) {
    return Finish(kUpdateReferral, started, rpc::ToGrpcStatus(caller.status()));
  }
  if (grpc::Status id = CheckReferralId(request->referral_id()); !id.ok()) {
    return Finish(kUpdateReferral, started, id);
  }
  if (request->status() != hub::routing::v1::REFERRAL_STATUS_IN_PROGRESS &&
      request->status() != hub::routing::v1::REFERRAL_STATUS_ON_HOLD) {
    return Finish(kUpdateReferral, started,
                  rpc::InvalidArgument("the request is not valid",
                                       {{"status",
                                         "must be IN_PROGRESS or ON_HOLD (use "
                                         "CompleteReferral to close a referral)"}}));
  }
  absl::StatusOr<ReferralRecord> moved =
      Move(*caller, request->referral_id(), To(request->status()), /*via_received=*/false,
           [](const ReferralRecord&) { return true; });
  if (!moved.ok()) {
    return Finish(kUpdateReferral, started, rpc::ToGrpcStatus(moved.status()));
  }
  *response = ToProviderReferral(*moved);
  return Finish(kUpdateReferral, started, grpc::Status::OK);
}

grpc::Status ProviderApi::CompleteReferral(grpc::ServerContext* context,
                                           const hub::routing::v1::CompleteReferralRequest* request,
                                           Referral* response) {
  const absl::Time started = absl::Now();
  absl::StatusOr<Caller> caller = Authorise(*context, "complete referrals");
  if (!caller.ok()) {
    return Finish(kCompleteReferral, started, rpc::ToGrpcStatus(caller.status()));
  }
  if (grpc::Status id = CheckReferralId(request->referral_id()); !id.ok()) {
    return Finish(kCompleteReferral, started, id);
  }
  if (request->status() != hub::routing::v1::REFERRAL_STATUS_COMPLETED &&
      request->status() != hub::routing::v1::REFERRAL_STATUS_FAILED) {
    return Finish(kCompleteReferral, started,
                  rpc::InvalidArgument("the request is not valid",
                                       {{"status", "must be COMPLETED or FAILED"}}));
  }
  Transition t = To(request->status());
  t.set_closure_reason(request->closure_reason());
  if (request->has_outcome()) {
    *t.mutable_outcome() = request->outcome();
  }
  if (grpc::Status carried = CheckCarried(hub::routing::v1::REFERRAL_STATUS_IN_PROGRESS, t);
      !carried.ok()) {
    return Finish(kCompleteReferral, started, carried);
  }
  absl::StatusOr<ReferralRecord> moved = Move(
      *caller, request->referral_id(), t, /*via_received=*/false, [&](const ReferralRecord& r) {
        return r.closure_reason() == request->closure_reason() &&
               google::protobuf::util::MessageDifferencer::Equals(r.outcome(), request->outcome());
      });
  if (!moved.ok()) {
    return Finish(kCompleteReferral, started, rpc::ToGrpcStatus(moved.status()));
  }
  *response = ToProviderReferral(*moved);
  return Finish(kCompleteReferral, started, grpc::Status::OK);
}

absl::Status ProviderApi::RecordContactRead(const Caller& caller, const ReferralRecord& record,
                                            const std::vector<std::string>& disclosed,
                                            absl::Time deadline) {
  hub::events::v1::VictimContactRead read;
  const std::string read_id = events::NewEventId();
  const absl::Time now = clock_->Now();
  read.set_read_id(read_id);
  read.set_case_id(record.case_id());
  read.set_referral_id(record.referral_id());
  read.set_provider_id(caller.provider_key);
  read.set_principal(caller.principal);
  *read.mutable_read_at() = ToProto(now);
  for (const std::string& kind : disclosed) {
    read.add_disclosed(kind);
  }
  events::CloudEvent header;
  header.id = read_id;
  header.source = "/hub/routing";
  header.type = events::kVictimContactReadType;
  header.time = now;
  header.traceparent = events::NewTrace().ToTraceparent();
  absl::Duration timeout = options_.publish_timeout;
  if (deadline < absl::Now() + timeout) {
    timeout = std::max(absl::ZeroDuration(), deadline - absl::Now() - kDeadlineMargin);
  }
  absl::Status published = producer_->ProduceSync(
      events::MakeRecord(contact_reads_topic_, record.case_id(), read, header), timeout);
  if (!published.ok()) {
    log::Error("victim contact read refused: the audit record was not stored",
               {{"referral_id", record.referral_id()},
                {"case_id", record.case_id()},
                {"provider", caller.provider_key},
                {"error", published.ToString()}});
    if (metrics_->audit_failures != nullptr) {
      metrics_->audit_failures->Increment();
    }
    return absl::UnavailableError(
        "the read could not be recorded on the audit topic, so no details were given; retry");
  }
  log::Info("victim contact read", {{"referral_id", record.referral_id()},
                                    {"case_id", record.case_id()},
                                    {"provider", caller.provider_key},
                                    {"read_id", read_id},
                                    {"disclosed", absl::StrJoin(disclosed, ",")}});
  if (metrics_->contact_reads != nullptr) {
    metrics_->contact_reads->Increment();
  }
  return absl::OkStatus();
}

grpc::Status ProviderApi::GetVictimContact(grpc::ServerContext* context,
                                           const hub::routing::v1::GetVictimContactRequest* request,
                                           hub::routing::v1::VictimContact* response) {
  const absl::Time started = absl::Now();
  absl::StatusOr<Caller> caller = Authorise(*context, "read victims' contact details");
  if (!caller.ok()) {
    return Finish(kGetVictimContact, started, rpc::ToGrpcStatus(caller.status()));
  }
  if (grpc::Status id = CheckReferralId(request->referral_id()); !id.ok()) {
    return Finish(kGetVictimContact, started, id);
  }
  const std::string& referral_id = request->referral_id();
  absl::StatusOr<ReferralRecord> record = Load(*caller, referral_id);
  if (!record.ok()) {
    return Finish(kGetVictimContact, started, rpc::ToGrpcStatus(record.status()));
  }
  const ReferralStatus status = record->status();
  if (status != hub::routing::v1::REFERRAL_STATUS_ACCEPTED &&
      status != hub::routing::v1::REFERRAL_STATUS_IN_PROGRESS &&
      status != hub::routing::v1::REFERRAL_STATUS_ON_HOLD) {
    return Finish(
        kGetVictimContact, started,
        grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                     absl::StrCat("referral ", referral_id, " is ", lifecycle::StatusName(status),
                                  ": the referral must be accepted first (contact "
                                  "details are given only for an accepted referral "
                                  "that is not closed)")));
  }
  absl::StatusOr<std::optional<hub::events::v1::CrimeReported>> crime =
      effects_->CaseCrime(record->case_id());
  if (!crime.ok()) {
    return Finish(kGetVictimContact, started, rpc::ToGrpcStatus(crime.status()));
  }
  if (!crime->has_value() || !(*crime)->has_personal_data()) {
    return Finish(kGetVictimContact, started,
                  grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                               absl::StrCat("no contact details held for referral ", referral_id)));
  }
  const hub::seal::v1::SealedData& sealed = (*crime)->personal_data();
  absl::StatusOr<seal::DataKey> key = keys_(sealed.key_id(), sealed.key_generation());
  if (absl::IsNotFound(key.status())) {
    return Finish(kGetVictimContact, started,
                  grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                               absl::StrCat("the victim's personal data has been erased (referral ",
                                            referral_id, ")")));
  }
  if (absl::IsInvalidArgument(key.status())) {
    // The envelope names no well-formed key: damaged data, not a bad request.
    return Finish(kGetVictimContact, started,
                  grpc::Status(grpc::StatusCode::DATA_LOSS,
                               "the victim's sealed personal data names no valid key"));
  }
  if (!key.ok()) {
    return Finish(kGetVictimContact, started, rpc::ToGrpcStatus(key.status()));
  }
  hub::intake::v1::Victim victim;
  if ((*crime)->report().victims_size() > 0) {
    victim = (*crime)->report().victims(0);
  }
  // Intake sealed victims(0) bound to the case id.
  if (absl::Status opened = seal::OpenPii(*key, sealed, record->case_id(), &victim); !opened.ok()) {
    log::Error("victim's personal data does not open", {{"referral_id", referral_id},
                                                        {"case_id", record->case_id()},
                                                        {"error", opened.ToString()}});
    return Finish(kGetVictimContact, started,
                  grpc::Status(grpc::StatusCode::DATA_LOSS,
                               "the victim's sealed personal data could not be opened"));
  }
  std::vector<std::string> disclosed;
  hub::routing::v1::VictimContact contact = SafeVictimContact(referral_id, victim, &disclosed);
  // Recorded before anything is given: no audit record, no details.
  if (absl::Status recorded =
          RecordContactRead(*caller, *record, disclosed, absl::FromChrono(context->deadline()));
      !recorded.ok()) {
    return Finish(kGetVictimContact, started, rpc::ToGrpcStatus(recorded));
  }
  *response = std::move(contact);
  return Finish(kGetVictimContact, started, grpc::Status::OK);
}

}  // namespace hub::routing::provider
