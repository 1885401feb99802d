#include "examples/provider_client/run.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"

namespace hub::provider_client {
namespace {

namespace v1 = ::hub::routing::v1;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How long one wait on the offer stream lasts when nothing else bounds it.
constexpr milliseconds kPoll{1000};
constexpr milliseconds kFirstReconnectDelay{200};
constexpr milliseconds kMaxReconnectDelay{5000};

int RpcError(const grpc::Status& status, std::ostream& err) {
  err << "hub-provider: " << FormatStatus(status) << "\n";
  return kExitRpcError;
}

// A stream that ended like this is opened again: the hub restarted or closed it.
bool Reconnectable(const grpc::Status& status) {
  return status.ok() || status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::CANCELLED;
}

Clock::time_point Deadline(const Options& options) {
  return options.timeout ? Clock::now() + *options.timeout : Clock::time_point::max();
}

milliseconds Remaining(Clock::time_point deadline) {
  if (deadline == Clock::time_point::max()) {
    return milliseconds::max();
  }
  return std::max(milliseconds(0),
                  std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
}

// Waits before reconnecting; false when the deadline comes first.
bool WaitToReconnect(const grpc::Status& ended, milliseconds* delay, Clock::time_point deadline,
                     std::ostream& err) {
  if (Remaining(deadline) <= *delay) {
    return false;
  }
  err << "hub-provider: offer stream ended (" << FormatStatus(ended) << "); reconnecting in "
      << delay->count() << " ms\n";
  std::this_thread::sleep_for(*delay);
  *delay = std::min(*delay * 2, kMaxReconnectDelay);
  return true;
}

int RunOffers(const Options& options, ProviderClient& client, std::ostream& out,
              std::ostream& err) {
  const Clock::time_point deadline = Deadline(options);
  auto stream = client.StreamOffers();
  int64_t last_seen = 0;
  int printed = 0;
  milliseconds reconnect_delay = kFirstReconnectDelay;
  while (options.max == 0 || printed < options.max) {
    const milliseconds remaining = Remaining(deadline);
    if (remaining <= milliseconds(0)) {
      break;
    }
    v1::Offer offer;
    const auto event =
        stream->Next(std::min(options.follow ? kPoll : options.idle, remaining), &offer);
    if (event == OfferStream::Event::kIdle) {
      if (!options.follow) {
        break;
      }
      continue;
    }
    if (event == OfferStream::Event::kEnded) {
      const grpc::Status status = stream->status();
      if (options.follow && Reconnectable(status) &&
          WaitToReconnect(status, &reconnect_delay, deadline, err)) {
        stream = client.StreamOffers();
        continue;
      }
      if (status.ok() || (options.follow && Reconnectable(status))) {
        break;
      }
      return RpcError(status, err);
    }
    reconnect_delay = kFirstReconnectDelay;
    if (offer.sequence() <= last_seen) {
      continue;  // resent after a reconnect
    }
    last_seen = offer.sequence();
    out << (options.json ? RenderJson(offer) : RenderOfferLine(offer)) << "\n" << std::flush;
    ++printed;
    if (options.ack) {
      int64_t acknowledged = 0;
      const grpc::Status status = client.AcknowledgeOffers(offer.sequence(), &acknowledged);
      if (!status.ok()) {
        return RpcError(status, err);
      }
    }
  }
  return kExitOk;
}

int RunList(const Options& options, ProviderClient& client, std::ostream& out, std::ostream& err) {
  std::vector<v1::Referral> referrals;
  const grpc::Status status = client.ListReferrals(options.statuses, &referrals);
  if (!status.ok()) {
    return RpcError(status, err);
  }
  for (const v1::Referral& referral : referrals) {
    out << (options.json ? RenderJson(referral) : RenderReferralLine(referral)) << "\n";
  }
  if (referrals.empty() && !options.json) {
    err << "no referrals\n";
  }
  return kExitOk;
}

// What happened to one offer in work mode.
struct Worked {
  std::vector<std::string> steps;
  v1::Referral referral;
  grpc::Status error;  // why the referral was left where it is, if it was
  bool completed = false;
  bool fatal = false;  // the run cannot go on (not a problem of this referral)
};

// An error that concerns this referral only: report it and go on to the next offer.
bool ReferralError(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::INVALID_ARGUMENT:
      return true;
    default:
      return false;
  }
}

// Acknowledges the offer, then moves its referral forward from wherever it stands until it
// is completed. Driven by the status the hub returns, so a referral that is already further
// on (a retried call that had taken effect, an offer resent after a reconnect) is carried on
// from there, and one the hub has closed is left alone.
Worked WorkOffer(const Options& options, ProviderClient& client, const v1::Offer& offer) {
  Worked worked;
  worked.referral = offer.referral();
  int64_t acknowledged = 0;
  worked.error = client.AcknowledgeOffers(offer.sequence(), &acknowledged);
  if (!worked.error.ok()) {
    worked.fatal = true;
    return worked;
  }
  worked.steps.push_back("acknowledged");
  const std::string& id = offer.referral().referral_id();
  // Each pass makes one move (three take an offered referral to COMPLETED); the bound only
  // guards against a hub that keeps moving the referral back.
  for (int pass = 0; pass < 8 && !worked.completed; ++pass) {
    v1::Referral next;
    grpc::Status status;
    std::string step;
    switch (worked.referral.status()) {
      case v1::REFERRAL_STATUS_REQUESTED:
      case v1::REFERRAL_STATUS_RECEIVED:
        status = client.AcceptReferral(id, &next);
        step = "accepted";
        break;
      case v1::REFERRAL_STATUS_ACCEPTED:
        status = client.UpdateReferral(id, v1::REFERRAL_STATUS_IN_PROGRESS, &next);
        step = "started";
        break;
      case v1::REFERRAL_STATUS_ON_HOLD:
        status = client.UpdateReferral(id, v1::REFERRAL_STATUS_IN_PROGRESS, &next);
        step = "resumed";
        break;
      case v1::REFERRAL_STATUS_IN_PROGRESS: {
        v1::CompleteReferralRequest request;
        request.set_referral_id(id);
        request.set_status(v1::REFERRAL_STATUS_COMPLETED);
        if (options.outcome) {
          *request.mutable_outcome() = *options.outcome;
        }
        status = client.CompleteReferral(request, &next);
        step = "completed";
        break;
      }
      default:  // final, or a status this build does not know: nothing to do
        return worked;
    }
    if (status.ok()) {
      worked.steps.push_back(step);
      worked.referral = next;
      worked.completed = next.status() == v1::REFERRAL_STATUS_COMPLETED;
      if (worked.completed) {
        worked.error = grpc::Status::OK;
      }
      continue;
    }
    worked.error = status;
    if (!ReferralError(status)) {
      worked.fatal = true;
      return worked;
    }
    // Refused: see where the referral stands now; carry on only if it has moved.
    if (status.error_code() != grpc::StatusCode::FAILED_PRECONDITION) {
      return worked;
    }
    v1::Referral now;
    const grpc::Status reread = client.GetReferral(id, &now);
    if (!reread.ok() || now.status() == worked.referral.status()) {
      return worked;
    }
    worked.referral = now;  // keeps the error, in case the referral has closed
  }
  return worked;
}

void PrintWorked(const Options& options, const v1::Offer& offer, const Worked& worked,
                 std::ostream& out) {
  const v1::Referral& referral = worked.referral;
  if (options.json) {
    nlohmann::json line = {
        {"result", worked.completed ? "worked" : "skipped"},
        {"sequence", offer.sequence()},
        {"offer_id", offer.offer_id()},
        {"referral_id", offer.referral().referral_id()},
        {"case_id", offer.referral().case_id()},
        {"steps", worked.steps},
        {"status", v1::ReferralStatus_Name(referral.status())},
    };
    if (!worked.error.ok()) {
      line["error"] = {{"code", StatusCodeName(worked.error.error_code())},
                       {"message", worked.error.error_message()}};
    }
    out << line.dump() << "\n" << std::flush;
    return;
  }
  std::string steps;
  for (const std::string& step : worked.steps) {
    steps += (steps.empty() ? "" : ",") + step;
  }
  out << (worked.completed ? "worked" : "skipped") << " seq=" << offer.sequence()
      << " referral=" << offer.referral().referral_id() << " case=" << offer.referral().case_id()
      << " steps=" << steps
      << " status=" << EnumLabel(v1::ReferralStatus_descriptor(), referral.status());
  if (!worked.error.ok()) {
    out << " error=" << FormatStatus(worked.error);
  }
  out << "\n" << std::flush;
}

int RunWork(const Options& options, ProviderClient& client, std::ostream& out, std::ostream& err) {
  const Clock::time_point deadline = Deadline(options);
  auto stream = client.StreamOffers();
  int64_t last_seen = 0;
  int worked_count = 0;
  int skipped_count = 0;
  milliseconds reconnect_delay = kFirstReconnectDelay;
  while (options.max == 0 || worked_count < options.max) {
    const milliseconds remaining = Remaining(deadline);
    if (remaining <= milliseconds(0)) {
      break;
    }
    v1::Offer offer;
    const auto event = stream->Next(std::min(kPoll, remaining), &offer);
    if (event == OfferStream::Event::kIdle) {
      continue;
    }
    if (event == OfferStream::Event::kEnded) {
      const grpc::Status status = stream->status();
      if (!Reconnectable(status)) {
        return RpcError(status, err);
      }
      if (!WaitToReconnect(status, &reconnect_delay, deadline, err)) {
        break;
      }
      stream = client.StreamOffers();
      continue;
    }
    reconnect_delay = kFirstReconnectDelay;
    if (offer.sequence() <= last_seen) {
      continue;  // resent after a reconnect
    }
    last_seen = offer.sequence();
    const Worked worked = WorkOffer(options, client, offer);
    if (worked.fatal) {
      return RpcError(worked.error, err);
    }
    PrintWorked(options, offer, worked, out);
    ++(worked.completed ? worked_count : skipped_count);
  }
  err << "hub-provider: worked " << worked_count << " referral(s), skipped " << skipped_count
      << "\n";
  if (options.max > 0 && worked_count < options.max) {
    err << "hub-provider: " << StatusCodeName(grpc::StatusCode::DEADLINE_EXCEEDED)
        << ": --timeout reached after " << worked_count << " of " << options.max << " referrals\n";
    return kExitRpcError;
  }
  return kExitOk;
}

// Prints the referral a single call returned.
int PrintReferral(const Options& options, const grpc::Status& status, const v1::Referral& referral,
                  bool detailed, std::ostream& out, std::ostream& err) {
  if (!status.ok()) {
    return RpcError(status, err);
  }
  if (options.json) {
    out << RenderJson(referral) << "\n";
  } else {
    out << (detailed ? RenderReferral(referral) : RenderReferralLine(referral) + "\n");
  }
  return kExitOk;
}

}  // namespace

int RunCommand(const Options& options, ProviderClient& client, std::ostream& out,
               std::ostream& err) {
  v1::Referral referral;
  const std::string& id = options.referral_id;
  switch (options.command) {
    case Command::kOffers:
      return RunOffers(options, client, out, err);
    case Command::kList:
      return RunList(options, client, out, err);
    case Command::kWork:
      return RunWork(options, client, out, err);
    case Command::kGet:
      return PrintReferral(options, client.GetReferral(id, &referral), referral, true, out, err);
    case Command::kAccept:
      return PrintReferral(options, client.AcceptReferral(id, &referral), referral, false, out,
                           err);
    case Command::kReject:
      return PrintReferral(options, client.RejectReferral(id, options.rejection_reason, &referral),
                           referral, false, out, err);
    case Command::kStart:
    case Command::kResume:
      return PrintReferral(options,
                           client.UpdateReferral(id, v1::REFERRAL_STATUS_IN_PROGRESS, &referral),
                           referral, false, out, err);
    case Command::kHold:
      return PrintReferral(options,
                           client.UpdateReferral(id, v1::REFERRAL_STATUS_ON_HOLD, &referral),
                           referral, false, out, err);
    case Command::kComplete:
    case Command::kFail:
      return PrintReferral(options, client.CompleteReferral(CompletionRequest(options), &referral),
                           referral, false, out, err);
    case Command::kContact: {
      v1::VictimContact contact;
      const grpc::Status status = client.GetVictimContact(id, &contact);
      if (!status.ok()) {
        return RpcError(status, err);
      }
      out << (options.json ? RenderJson(contact) + "\n" : RenderContact(contact));
      return kExitOk;
    }
    case Command::kHelp:
      out << kUsage;
      return kExitOk;
  }
  return kExitUsage;
}

}  // namespace hub::provider_client
