#include "services/common/seal/crypto.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

#include "services/common/seal/internal/primitives.h"
#include "services/common/status/status_macros.h"

namespace hub::seal {
namespace {

constexpr size_t kGenerationBytes = 8;  // 16 hex digits.

std::string WrapAad(absl::string_view key_id, absl::string_view generation) {
  return absl::StrCat("hub.seal.v1.key\n", key_id, "\n", generation);
}

}  // namespace

absl::StatusOr<DataKey> NewDataKey(absl::string_view key_id) {
  if (key_id.empty()) {
    return absl::InvalidArgumentError("a data key needs a key id");
  }
  DataKey key;
  key.key_id = std::string(key_id);
  HUB_ASSIGN_OR_RETURN(std::string generation, internal::RandomBytes(kGenerationBytes));
  key.generation = internal::Hex(generation);
  HUB_ASSIGN_OR_RETURN(key.bytes, internal::RandomBytes(kKeyBytes));
  return key;
}

std::string SealAad(absl::string_view key_id, absl::string_view generation,
                    absl::string_view context) {
  return absl::StrCat("hub.seal.v1\n", key_id, "\n", generation, "\n", context);
}

absl::StatusOr<hub::seal::v1::SealedData> Seal(const DataKey& key, absl::string_view plaintext,
                                               absl::string_view context) {
  if (key.bytes.size() != kKeyBytes) {
    return absl::InvalidArgumentError("a data key must be 32 bytes");
  }
  hub::seal::v1::SealedData sealed;
  sealed.set_key_id(key.key_id);
  sealed.set_key_generation(key.generation);
  HUB_ASSIGN_OR_RETURN(*sealed.mutable_nonce(), internal::RandomBytes(internal::kNonceBytes));
  HUB_ASSIGN_OR_RETURN(*sealed.mutable_ciphertext(),
                       internal::AesGcmEncrypt(key.bytes, sealed.nonce(), plaintext,
                                               SealAad(key.key_id, key.generation, context)));
  return sealed;
}

absl::StatusOr<std::string> Open(const DataKey& key, const hub::seal::v1::SealedData& sealed,
                                 absl::string_view context) {
  if (sealed.key_id() != key.key_id || sealed.key_generation() != key.generation) {
    return absl::FailedPreconditionError(absl::StrCat(
        "sealed data is under key ", sealed.key_id(), " generation ", sealed.key_generation(),
        ", not the key ", key.key_id, " generation ", key.generation, " given to open it"));
  }
  if (sealed.nonce().size() != internal::kNonceBytes) {
    return absl::DataLossError("sealed data has a malformed nonce");
  }
  return internal::AesGcmDecrypt(key.bytes, sealed.nonce(), sealed.ciphertext(),
                                 SealAad(key.key_id, key.generation, context));
}

absl::StatusOr<hub::seal::v1::WrappedKey> Wrap(const MasterKey& master, const DataKey& key,
                                               absl::Time now) {
  if (key.bytes.size() != kKeyBytes) {
    return absl::InvalidArgumentError("a data key must be 32 bytes");
  }
  hub::seal::v1::WrappedKey wrapped;
  wrapped.set_key_id(key.key_id);
  wrapped.set_key_generation(key.generation);
  wrapped.set_master_key_id(master.id());
  HUB_ASSIGN_OR_RETURN(*wrapped.mutable_nonce(), internal::RandomBytes(internal::kNonceBytes));
  HUB_ASSIGN_OR_RETURN(*wrapped.mutable_wrapped(),
                       internal::AesGcmEncrypt(master.bytes(), wrapped.nonce(), key.bytes,
                                               WrapAad(key.key_id, key.generation)));
  const int64_t nanos = absl::ToUnixNanos(now);
  wrapped.mutable_created_at()->set_seconds(nanos / 1000000000);
  wrapped.mutable_created_at()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
  return wrapped;
}

absl::StatusOr<DataKey> Unwrap(const MasterKey& master, const hub::seal::v1::WrappedKey& wrapped) {
  if (wrapped.master_key_id() != master.id()) {
    return absl::FailedPreconditionError(
        absl::StrCat("data key ", wrapped.key_id(), " was wrapped by master key ",
                     wrapped.master_key_id(), ", not by ", master.id()));
  }
  if (wrapped.nonce().size() != internal::kNonceBytes) {
    return absl::DataLossError(
        absl::StrCat("wrapped data key ", wrapped.key_id(), " has a malformed nonce"));
  }
  absl::StatusOr<std::string> bytes =
      internal::AesGcmDecrypt(master.bytes(), wrapped.nonce(), wrapped.wrapped(),
                              WrapAad(wrapped.key_id(), wrapped.key_generation()));
  if (!bytes.ok()) {
    return absl::DataLossError(
        absl::StrCat("wrapped data key ", wrapped.key_id(), " did not authenticate"));
  }
  if (bytes->size() != kKeyBytes) {
    return absl::DataLossError(
        absl::StrCat("wrapped data key ", wrapped.key_id(), " is not 32 bytes"));
  }
  return DataKey{wrapped.key_id(), wrapped.key_generation(), *std::move(bytes)};
}

}  // namespace hub::seal
