// The hub-provider command line and how it shows what the hub returns: pure functions, no
// network. ParseArgs turns argv into a validated Options (or a usage error naming the
// argument); the Render* functions turn offers, referrals and contact details into text
// lines or one-line JSON objects.
#ifndef HUB_EXAMPLES_PROVIDER_CLIENT_COMMANDS_H_
#define HUB_EXAMPLES_PROVIDER_CLIENT_COMMANDS_H_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

#include "hub/routing/v1/provider.pb.h"

namespace hub::provider_client {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRpcError = 1;
inline constexpr int kExitUsage = 2;

extern const char kUsage[];

enum class Command {
  kHelp,
  kOffers,
  kList,
  kGet,
  kAccept,
  kReject,
  kStart,
  kHold,
  kResume,
  kComplete,
  kFail,
  kContact,
  kWork,
};

// One parsed, validated command line.
struct Options {
  Command command = Command::kHelp;
  // Connection.
  std::string target = "127.0.0.1:50053";
  std::string caller;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  bool json = false;
  // offers and work.
  bool follow = false;
  bool ack = false;
  // Stop after this many offers (offers) or referrals worked (work); 0 means no limit.
  int max = 0;
  // Stop after this long; unset means no limit.
  std::optional<std::chrono::milliseconds> timeout;
  // Without --follow, offers stops when nothing arrives for this long.
  std::chrono::milliseconds idle{1000};
  // The referral of get, accept, reject, start, hold, resume, complete, fail and contact.
  std::string referral_id;
  // list: the statuses to show (all when empty).
  std::vector<hub::routing::v1::ReferralStatus> statuses;
  // reject.
  hub::routing::v1::RejectionReason rejection_reason =
      hub::routing::v1::REJECTION_REASON_UNSPECIFIED;
  // complete and fail.
  hub::routing::v1::ClosureReason closure_reason = hub::routing::v1::CLOSURE_REASON_UNSPECIFIED;
  // complete and work: every measure assessed, the named ones improved.
  std::optional<hub::routing::v1::CopeAndRecoverOutcome> outcome;
};

// Parses the arguments after the program name. False with `error` set on a usage error.
bool ParseArgs(const std::vector<std::string>& args, Options* options, std::string* error);

// "cope,safer" → cope and safer improved, the other three assessed and not improved;
// "none" → all five assessed, none improved. False on an unknown measure.
bool ParseOutcome(const std::string& text, hub::routing::v1::CopeAndRecoverOutcome* outcome,
                  std::string* error);

// The completion `options` asks for (complete, fail).
hub::routing::v1::CompleteReferralRequest CompletionRequest(const Options& options);

// The short lower-case form of an enum value: REFERRAL_STATUS_IN_PROGRESS → "in-progress",
// PRIORITY_IMMEDIATE → "immediate"; the number for a value this build does not know.
std::string EnumLabel(const google::protobuf::EnumDescriptor* type, int value);

// "seq=3 offer=o-3 referral=r-3 case=c-3 priority=immediate enhanced=yes needs=a,b
// respond_by=2030-01-02T03:04:05Z" (one line, no newline).
std::string RenderOfferLine(const hub::routing::v1::Offer& offer);
// "r-3 status=accepted case=c-3 priority=immediate enhanced=yes crime=domestic_abuse
// needs=a,b updated=..." (one line, no newline).
std::string RenderReferralLine(const hub::routing::v1::Referral& referral);
// Every field, one "name: value" line each.
std::string RenderReferral(const hub::routing::v1::Referral& referral);
// The victim's contact details for a caseworker, the suspect-at-address warning first.
std::string RenderContact(const hub::routing::v1::VictimContact& contact);
// The message as one line of JSON with the proto field names (no newline).
std::string RenderJson(const google::protobuf::Message& message);

}  // namespace hub::provider_client

#endif  // HUB_EXAMPLES_PROVIDER_CLIENT_COMMANDS_H_
