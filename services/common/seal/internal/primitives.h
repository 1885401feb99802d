// OpenSSL primitives the seal library is built from, wrapped once so the rest of the
// library never touches OpenSSL's C API directly: random bytes, SHA-256, HMAC-SHA256,
// HKDF-SHA256 and AES-256-GCM.
//
// Private to services/common/seal. Errors name the operation, never the inputs. Every
// function is thread-safe (OpenSSL 3 needs no locking setup).
#ifndef HUB_SERVICES_COMMON_SEAL_INTERNAL_PRIMITIVES_H_
#define HUB_SERVICES_COMMON_SEAL_INTERNAL_PRIMITIVES_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hub::seal::internal {

// Size of an AES-GCM nonce and tag, in bytes.
inline constexpr size_t kNonceBytes = 12;
inline constexpr size_t kTagBytes = 16;

// `n` bytes from OpenSSL's CSPRNG; kInternal if it cannot deliver.
absl::StatusOr<std::string> RandomBytes(size_t n);

// The 32-byte SHA-256 digest of `data`.
std::string Sha256(absl::string_view data);

// The 32-byte HMAC-SHA256 of `data` under `key`.
std::string HmacSha256(absl::string_view key, absl::string_view data);

// `length` bytes of HKDF-SHA256 (RFC 5869) from `ikm` with an empty salt and `info`.
std::string HkdfSha256(absl::string_view ikm, absl::string_view info, size_t length);

// AES-256-GCM: returns ciphertext followed by the 16-byte tag. `key` must be 32 bytes and
// `nonce` 12 bytes (kInvalidArgument otherwise).
absl::StatusOr<std::string> AesGcmEncrypt(absl::string_view key, absl::string_view nonce,
                                          absl::string_view plaintext, absl::string_view aad);

// The inverse. kDataLoss when the tag does not verify (wrong key, wrong AAD or altered
// bytes: GCM cannot tell these apart) or the input is shorter than a tag.
absl::StatusOr<std::string> AesGcmDecrypt(absl::string_view key, absl::string_view nonce,
                                          absl::string_view ciphertext_and_tag,
                                          absl::string_view aad);

// Lower-case hex of `bytes`.
std::string Hex(absl::string_view bytes);

}  // namespace hub::seal::internal

#endif  // HUB_SERVICES_COMMON_SEAL_INTERNAL_PRIMITIVES_H_
