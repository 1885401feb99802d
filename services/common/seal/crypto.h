// Sealing personal data under a victim's data key, and wrapping data keys under the master
// key.
//
// Every victim has a data key (32 random bytes) identified by a key id ("vk_" + 32 hex
// digits, see pseudonym.h) and a generation (16 random hex digits): erasing a key and
// creating it again yields a new generation, so an envelope sealed before the erasure can
// never be opened by the new key. Sealing is AES-256-GCM with a random 96-bit nonce per
// envelope and the additional authenticated data
//   "hub.seal.v1\n" + key_id + "\n" + key_generation + "\n" + context
// where context is the case id: an envelope copied into another case, or re-labelled with
// another key id or generation, fails to open. Wrapping a data key is AES-256-GCM under
// the master key with the AAD "hub.seal.v1.key\n" + key_id + "\n" + key_generation.
//
// Errors never carry plaintext or key bytes. All functions are thread-safe.
#ifndef HUB_SERVICES_COMMON_SEAL_CRYPTO_H_
#define HUB_SERVICES_COMMON_SEAL_CRYPTO_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#include "hub/seal/v1/seal.pb.h"
#include "services/common/seal/master_key.h"

namespace hub::seal {

// One generation of one victim's data key, in clear. Lives only in memory.
struct DataKey {
  // "vk_" + 32 hex digits.
  std::string key_id;
  // 16 hex digits.
  std::string generation;
  // 32 bytes.
  std::string bytes;
};

// A fresh data key for `key_id`: 32 random bytes and a random 16-hex-digit generation.
// kInvalidArgument for an empty key id.
absl::StatusOr<DataKey> NewDataKey(absl::string_view key_id);

// The additional authenticated data of an envelope (see the file comment).
std::string SealAad(absl::string_view key_id, absl::string_view generation,
                    absl::string_view context);

// Encrypts `plaintext` under `key`, bound to `context` (the case id). kInvalidArgument for
// a malformed key (not 32 bytes).
absl::StatusOr<hub::seal::v1::SealedData> Seal(const DataKey& key, absl::string_view plaintext,
                                               absl::string_view context);

// Decrypts `sealed`. kFailedPrecondition when the envelope names another key id or
// generation than `key` (the caller fetched the wrong key); kDataLoss when it does not
// authenticate (altered bytes, another context, another key with the same labels).
absl::StatusOr<std::string> Open(const DataKey& key, const hub::seal::v1::SealedData& sealed,
                                 absl::string_view context);

// Wraps `key` under `master` for the key topic; created_at is `now`.
absl::StatusOr<hub::seal::v1::WrappedKey> Wrap(const MasterKey& master, const DataKey& key,
                                               absl::Time now);

// Unwraps a key from the key topic. kFailedPrecondition when it was wrapped by another
// master key (master_key_id differs); kDataLoss when it does not authenticate or does not
// hold a 32-byte key.
absl::StatusOr<DataKey> Unwrap(const MasterKey& master, const hub::seal::v1::WrappedKey& wrapped);

}  // namespace hub::seal

#endif  // HUB_SERVICES_COMMON_SEAL_CRYPTO_H_
