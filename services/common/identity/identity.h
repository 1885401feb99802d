// Who is calling: the one seam every gRPC handler uses to learn its caller.
//
// Handlers never read metadata or certificates themselves; they ask an IdentityProvider
// and authorise on the CallerIdentity it returns. In development on loopback the caller
// declares itself in the `x-hub-caller` metadata entry ("police:CAMBS:athena"); the
// security work puts client-certificate identities behind this same interface, so
// handlers do not change.
//
// Principals have the form "<kind>:<organisation>[:<system or person>]", e.g.
//   police:CAMBS:athena     a force's crime-recording system
//   provider:idva-cambs     a support provider
//   staff:hub:ops1          a Hub staff member
//   victim:self             a victim referring themselves
// Implementations are immutable after construction and thread-safe.
#ifndef HUB_SERVICES_COMMON_IDENTITY_IDENTITY_H_
#define HUB_SERVICES_COMMON_IDENTITY_IDENTITY_H_

#include <initializer_list>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace grpc {
class ServerContextBase;
}  // namespace grpc

namespace hub::identity {

enum class CallerKind { kPoliceSystem, kProvider, kStaff, kVictim, kService };

struct CallerIdentity {
  CallerKind kind = CallerKind::kService;
  // The whole principal, e.g. "police:CAMBS:athena". Safe to log: it names a system or
  // organisation, never a victim.
  std::string principal;
  // The organisation part: a force code, a provider id, "hub".
  std::string organisation;
};

// Parses a principal string; kUnauthenticated naming what is wrong.
absl::StatusOr<CallerIdentity> ParsePrincipal(absl::string_view principal);

// kPermissionDenied unless `caller` is one of `allowed`, naming the caller and the action.
absl::Status RequireKind(const CallerIdentity& caller, std::initializer_list<CallerKind> allowed,
                         absl::string_view action);

class IdentityProvider {
 public:
  virtual ~IdentityProvider() = default;
  // The caller of the RPC behind `context`, or kUnauthenticated.
  virtual absl::StatusOr<CallerIdentity> Identify(const grpc::ServerContextBase& context) const = 0;
};

// Development identities: trusts `x-hub-caller` only from loopback peers (127.0.0.0/8,
// ::1, unix sockets); any other peer is refused, so it cannot be used off the machine.
std::unique_ptr<IdentityProvider> CreateDeclaredLoopbackIdentityProvider();

// The metadata key callers declare themselves with in development.
inline constexpr char kCallerMetadataKey[] = "x-hub-caller";

// True for "ipv4:127.x.x.x:port", "ipv6:[::1]:port" and "unix:..." peers.
bool IsLoopbackPeer(absl::string_view peer);

}  // namespace hub::identity

#endif  // HUB_SERVICES_COMMON_IDENTITY_IDENTITY_H_
