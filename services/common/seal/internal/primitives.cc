#include "services/common/seal/internal/primitives.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"
#include "openssl/kdf.h"
#include "openssl/rand.h"
#include "openssl/sha.h"

namespace hub::seal::internal {
namespace {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};

// OpenSSL takes unsigned char pointers; the library keeps bytes in std::string.
const unsigned char* Bytes(absl::string_view data) {
  return reinterpret_cast<const unsigned char*>(data.data());
}
unsigned char* MutableBytes(std::string& data) {
  return reinterpret_cast<unsigned char*>(data.data());
}

int Length(absl::string_view data) { return static_cast<int>(data.size()); }

absl::Status CheckKeyAndNonce(absl::string_view key, absl::string_view nonce) {
  if (key.size() != 32) {
    return absl::InvalidArgumentError("AES-256-GCM key must be 32 bytes");
  }
  if (nonce.size() != kNonceBytes) {
    return absl::InvalidArgumentError("AES-256-GCM nonce must be 12 bytes");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(MutableBytes(out), static_cast<int>(n)) != 1) {
    return absl::InternalError("the random number generator failed");
  }
  return out;
}

std::string Sha256(absl::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(Bytes(data), data.size(), MutableBytes(out));
  return out;
}

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), Length(key), Bytes(data), data.size(), MutableBytes(out), &length);
  out.resize(length);
  return out;
}

std::string HkdfSha256(absl::string_view ikm, absl::string_view info, size_t length) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
  std::string out(length, '\0');
  size_t out_length = length;
  // Each step only fails on allocation failure or an unusable OpenSSL build; an empty
  // result is then returned, which no caller can mistake for a key.
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), Bytes(ikm), Length(ikm)) <= 0 ||
      EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), Bytes(info), Length(info)) <= 0 ||
      EVP_PKEY_derive(ctx.get(), MutableBytes(out), &out_length) <= 0 || out_length != length) {
    return std::string();
  }
  return out;
}

absl::StatusOr<std::string> AesGcmEncrypt(absl::string_view key, absl::string_view nonce,
                                          absl::string_view plaintext, absl::string_view aad) {
  if (absl::Status status = CheckKeyAndNonce(key, nonce); !status.ok()) {
    return status;
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  std::string out(plaintext.size() + kTagBytes, '\0');
  int length = 0;
  int total = 0;
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, Length(nonce), nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(key), Bytes(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &length, Bytes(aad), Length(aad)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), MutableBytes(out), &length, Bytes(plaintext),
                        Length(plaintext)) != 1) {
    return absl::InternalError("AES-256-GCM encryption failed");
  }
  total = length;
  if (EVP_EncryptFinal_ex(ctx.get(), MutableBytes(out) + total, &length) != 1) {
    return absl::InternalError("AES-256-GCM encryption failed");
  }
  total += length;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          MutableBytes(out) + total) != 1) {
    return absl::InternalError("AES-256-GCM tag not produced");
  }
  out.resize(total + kTagBytes);
  return out;
}

absl::StatusOr<std::string> AesGcmDecrypt(absl::string_view key, absl::string_view nonce,
                                          absl::string_view ciphertext_and_tag,
                                          absl::string_view aad) {
  if (absl::Status status = CheckKeyAndNonce(key, nonce); !status.ok()) {
    return status;
  }
  if (ciphertext_and_tag.size() < kTagBytes) {
    return absl::DataLossError("sealed data is shorter than its authentication tag");
  }
  const absl::string_view ciphertext =
      ciphertext_and_tag.substr(0, ciphertext_and_tag.size() - kTagBytes);
  std::string tag(ciphertext_and_tag.substr(ciphertext.size()));
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  std::string out(ciphertext.size(), '\0');
  int length = 0;
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, Length(nonce), nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(key), Bytes(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &length, Bytes(aad), Length(aad)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), MutableBytes(out), &length, Bytes(ciphertext),
                        Length(ciphertext)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes),
                          MutableBytes(tag)) != 1) {
    return absl::InternalError("AES-256-GCM decryption failed");
  }
  const int total = length;
  if (EVP_DecryptFinal_ex(ctx.get(), MutableBytes(out) + total, &length) != 1) {
    return absl::DataLossError(
        "sealed data did not authenticate (wrong key, wrong context or altered bytes)");
  }
  out.resize(total + length);
  return out;
}

std::string Hex(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

}  // namespace hub::seal::internal
