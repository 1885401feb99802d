// The hub's master key: the one secret from which every other seal key is made or under
// which it is wrapped.
//
// The master key is 32 random bytes kept in a file outside the repository and the topics
// (see docs/security.md, "Sealed personal data"). It wraps every victim's data key
// (crypto.h: Wrap/Unwrap) and, through HKDF, yields purpose-bound subkeys such as the
// pseudonym key (pseudonym.h), so a subkey leaking never reveals the master key or another
// subkey. Its id, the first 16 hex digits of SHA-256 over the key, is stored beside every
// wrapped key so a rotation can tell which master wrapped what; the id reveals nothing
// useful about the key.
//
// Errors never contain key material or file contents: they name the path and the problem.
//
// A MasterKey is an immutable value: copyable, and safe to share between threads.
#ifndef HUB_SERVICES_COMMON_SEAL_MASTER_KEY_H_
#define HUB_SERVICES_COMMON_SEAL_MASTER_KEY_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hub::seal {

// Length of the master key, of every data key and of every derived subkey, in bytes.
inline constexpr size_t kKeyBytes = 32;

class MasterKey {
 public:
  // Reads a master key file: exactly 64 hex digits (either case), optionally followed by
  // one newline. Refuses, with an error naming the path and the problem but never the
  // content: a missing file (kNotFound), a file that group or others may read or write
  // (mode & 077, kPermissionDenied), anything else in it (kInvalidArgument).
  static absl::StatusOr<MasterKey> FromFile(const std::string& path);

  // A key from its raw bytes; kInvalidArgument unless exactly 32 bytes.
  static absl::StatusOr<MasterKey> FromBytes(std::string bytes);

  // The first 16 hex digits of SHA-256 over the key.
  const std::string& id() const { return id_; }

  // The raw 32 bytes. Only the seal library uses them (to wrap data keys).
  const std::string& bytes() const { return bytes_; }

  // A 32-byte subkey for one purpose ("hub.pseudonym.v1", ...): HKDF-SHA256 (RFC 5869)
  // with the master key as input keying material, no salt, and `info` as the context.
  // Different purposes give independent keys.
  std::string Derive(absl::string_view info) const;

 private:
  explicit MasterKey(std::string bytes);

  std::string bytes_;
  std::string id_;
};

// Creates a new master key file at `path` holding 64 hex digits of a fresh random key and
// a newline, with mode 0600, created exclusively (O_EXCL) and synced to disk.
// kAlreadyExists if the file is already there (it is never overwritten); other failures
// name the path and the system error.
absl::Status WriteNewMasterKeyFile(const std::string& path);

}  // namespace hub::seal

#endif  // HUB_SERVICES_COMMON_SEAL_MASTER_KEY_H_
