#include "services/common/identity/identity.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include <grpcpp/server_context.h>

namespace hub::identity {
namespace {

bool IsPrincipalPart(absl::string_view part) {
  if (part.empty() || part.size() > 64) {
    return false;
  }
  for (char c : part) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

const char* KindName(CallerKind kind) {
  switch (kind) {
    case CallerKind::kPoliceSystem:
      return "police";
    case CallerKind::kProvider:
      return "provider";
    case CallerKind::kStaff:
      return "staff";
    case CallerKind::kVictim:
      return "victim";
    case CallerKind::kService:
      return "service";
  }
  return "service";
}

class DeclaredLoopbackIdentityProvider : public IdentityProvider {
 public:
  absl::StatusOr<CallerIdentity> Identify(const grpc::ServerContextBase& context) const override {
    std::string peer = context.peer();
    if (!IsLoopbackPeer(peer)) {
      return absl::UnauthenticatedError(
          "declared identities are accepted only from loopback peers; this peer must present a "
          "client certificate");
    }
    const auto& metadata = context.client_metadata();
    auto it = metadata.find(kCallerMetadataKey);
    if (it == metadata.end()) {
      return absl::UnauthenticatedError(
          absl::StrCat("missing '", kCallerMetadataKey,
                       "' metadata: declare the caller, e.g. police:CAMBS:athena"));
    }
    return ParsePrincipal(absl::string_view(it->second.data(), it->second.size()));
  }
};

}  // namespace

absl::StatusOr<CallerIdentity> ParsePrincipal(absl::string_view principal) {
  std::vector<absl::string_view> parts = absl::StrSplit(principal, ':');
  if (parts.size() < 2 || parts.size() > 3) {
    return absl::UnauthenticatedError(
        "caller principal must be '<kind>:<organisation>[:<name>]', e.g. police:CAMBS:athena");
  }
  for (absl::string_view part : parts) {
    if (!IsPrincipalPart(part)) {
      return absl::UnauthenticatedError(
          "caller principal parts must be 1-64 letters, digits, '-', '_' or '.'");
    }
  }
  CallerIdentity identity;
  if (parts[0] == "police") {
    identity.kind = CallerKind::kPoliceSystem;
  } else if (parts[0] == "provider") {
    identity.kind = CallerKind::kProvider;
  } else if (parts[0] == "staff") {
    identity.kind = CallerKind::kStaff;
  } else if (parts[0] == "victim") {
    identity.kind = CallerKind::kVictim;
  } else if (parts[0] == "service") {
    identity.kind = CallerKind::kService;
  } else {
    return absl::UnauthenticatedError(
        "caller kind must be police, provider, staff, victim or service");
  }
  identity.principal = std::string(principal);
  identity.organisation = std::string(parts[1]);
  return identity;
}

absl::Status RequireKind(const CallerIdentity& caller, std::initializer_list<CallerKind> allowed,
                         absl::string_view action) {
  for (CallerKind kind : allowed) {
    if (caller.kind == kind) {
      return absl::OkStatus();
    }
  }
  std::string names;
  for (CallerKind kind : allowed) {
    absl::StrAppend(&names, names.empty() ? "" : ", ", KindName(kind));
  }
  return absl::PermissionDeniedError(
      absl::StrCat("caller ", caller.principal, " may not ", action, "; allowed: ", names));
}

bool IsLoopbackPeer(absl::string_view peer) {
  return absl::StartsWith(peer, "ipv4:127.") || absl::StartsWith(peer, "ipv6:[::1]") ||
         absl::StartsWith(peer, "ipv6:%5B::1%5D") || absl::StartsWith(peer, "unix:");
}

std::unique_ptr<IdentityProvider> CreateDeclaredLoopbackIdentityProvider() {
  return std::make_unique<DeclaredLoopbackIdentityProvider>();
}

}  // namespace hub::identity
