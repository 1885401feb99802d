#include "services/common/seal/crypto.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"

namespace hub::seal {
namespace {

using ::hub::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKeyId[] = "vk_0123456789abcdef0123456789abcdef";
constexpr char kCase[] = "c_000000000000000000000001";

TEST(CryptoTest, NewDataKeyIsRandom) {
  ASSERT_OK_AND_ASSIGN(DataKey a, NewDataKey(kKeyId));
  ASSERT_OK_AND_ASSIGN(DataKey b, NewDataKey(kKeyId));
  EXPECT_EQ(a.key_id, kKeyId);
  EXPECT_EQ(a.bytes.size(), 32u);
  EXPECT_EQ(a.generation.size(), 16u);
  EXPECT_NE(a.bytes, b.bytes);
  EXPECT_NE(a.generation, b.generation);
  EXPECT_THAT(NewDataKey(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CryptoTest, SealOpenRoundTrip) {
  ASSERT_OK_AND_ASSIGN(DataKey key, NewDataKey(kKeyId));
  ASSERT_OK_AND_ASSIGN(hub::seal::v1::SealedData sealed, Seal(key, "Jane Doe 07700900123", kCase));
  EXPECT_EQ(sealed.key_id(), kKeyId);
  EXPECT_EQ(sealed.key_generation(), key.generation);
  EXPECT_EQ(sealed.nonce().size(), 12u);
  EXPECT_EQ(sealed.ciphertext().size(), std::string("Jane Doe 07700900123").size() + 16);
  EXPECT_THAT(sealed.ciphertext(), Not(HasSubstr("Jane")));
  ASSERT_OK_AND_ASSIGN(std::string opened, Open(key, sealed, kCase));
  EXPECT_EQ(opened, "Jane Doe 07700900123");

  // A fresh nonce per envelope: sealing the same text twice differs.
  ASSERT_OK_AND_ASSIGN(hub::seal::v1::SealedData again, Seal(key, "Jane Doe 07700900123", kCase));
  EXPECT_NE(again.nonce(), sealed.nonce());
  EXPECT_NE(again.ciphertext(), sealed.ciphertext());

  ASSERT_OK_AND_ASSIGN(hub::seal::v1::SealedData empty, Seal(key, "", kCase));
  ASSERT_OK_AND_ASSIGN(std::string opened_empty, Open(key, empty, kCase));
  EXPECT_EQ(opened_empty, "");
}

TEST(CryptoTest, OpenFailsWithTheWrongContext) {
  ASSERT_OK_AND_ASSIGN(DataKey key, NewDataKey(kKeyId));
  ASSERT_OK_AND_ASSIGN(hub::seal::v1::SealedData sealed, Seal(key, "secret", kCase));
  EXPECT_THAT(Open(key, sealed, "c_000000000000000000000002"),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(CryptoTest, OpenFailsWithTheWrongKey) {
  ASSERT_OK_AND_ASSIGN(DataKey key, NewDataKey(kKeyId));
  ASSERT_OK_AND_ASSIGN(DataKey other, NewDataKey(kKeyId));
  ASSERT_OK_AND_ASSIGN(hub::seal::v1::SealedData sealed, Seal(key, "secret", kCase));
  // Same labels, other bytes: only the tag can tell.
  other.generation = key.generation;
  EXPECT_THAT(Open(other, sealed, kCase), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(CryptoTest, OpenFailsOnAlteredBytes) {
  ASSERT_OK_AND_ASSIGN(DataKey key, NewDataKey(kKeyId));
  ASSERT_OK_AND_ASSIGN(hub::seal::v1::SealedData sealed, Seal(key, "secret data", kCase));
  for (size_t i = 0; i < sealed.ciphertext().size(); ++i) {
    hub::seal::v1::SealedData altered = sealed;
    (*altered.mutable_ciphertext())[i] ^= 0x01;
    EXPECT_THAT(Open(key, altered, kCase), StatusIs(absl::StatusCode::kDataLoss)) << i;
  }
  hub::seal::v1::SealedData altered_nonce = sealed;
  (*altered_nonce.mutable_nonce())[0] ^= 0x01;
  EXPECT_THAT(Open(key, altered_nonce, kCase), StatusIs(absl::StatusCode::kDataLoss));
  hub::seal::v1::SealedData truncated = sealed;
  truncated.set_ciphertext("short");
  EXPECT_THAT(Open(key, truncated, kCase), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(CryptoTest, OpenRefusesAnotherGenerationOrKeyId) {
  ASSERT_OK_AND_ASSIGN(DataKey key, NewDataKey(kKeyId));
  ASSERT_OK_AND_ASSIGN(hub::seal::v1::SealedData sealed, Seal(key, "secret", kCase));
  DataKey other_generation = key;
  other_generation.generation = "0000000000000000";
  EXPECT_THAT(Open(other_generation, sealed, kCase),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // Relabelling the envelope to match does not help: the labels are in the AAD.
  hub::seal::v1::SealedData relabelled = sealed;
  relabelled.set_key_generation("0000000000000000");
  EXPECT_THAT(Open(other_generation, relabelled, kCase), StatusIs(absl::StatusCode::kDataLoss));
  DataKey other_id = key;
  other_id.key_id = "vk_ffffffffffffffffffffffffffffffff";
  EXPECT_THAT(Open(other_id, sealed, kCase), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(CryptoTest, WrapUnwrapRoundTrip) {
  ASSERT_OK_AND_ASSIGN(MasterKey master, MasterKey::FromBytes(std::string(32, 'm')));
  ASSERT_OK_AND_ASSIGN(DataKey key, NewDataKey(kKeyId));
  const absl::Time now = absl::FromUnixMillis(1767225600123);
  ASSERT_OK_AND_ASSIGN(hub::seal::v1::WrappedKey wrapped, Wrap(master, key, now));
  EXPECT_EQ(wrapped.key_id(), kKeyId);
  EXPECT_EQ(wrapped.key_generation(), key.generation);
  EXPECT_EQ(wrapped.master_key_id(), master.id());
  EXPECT_EQ(wrapped.created_at().seconds(), 1767225600);
  EXPECT_EQ(wrapped.created_at().nanos(), 123000000);
  EXPECT_EQ(wrapped.wrapped().size(), 48u);
  EXPECT_THAT(wrapped.wrapped(), Not(HasSubstr(key.bytes)));
  ASSERT_OK_AND_ASSIGN(DataKey unwrapped, Unwrap(master, wrapped));
  EXPECT_EQ(unwrapped.key_id, key.key_id);
  EXPECT_EQ(unwrapped.generation, key.generation);
  EXPECT_EQ(unwrapped.bytes, key.bytes);
}

TEST(CryptoTest, UnwrapFailsUnderAnotherMasterOrWhenAltered) {
  ASSERT_OK_AND_ASSIGN(MasterKey master, MasterKey::FromBytes(std::string(32, 'm')));
  ASSERT_OK_AND_ASSIGN(MasterKey other, MasterKey::FromBytes(std::string(32, 'n')));
  ASSERT_OK_AND_ASSIGN(DataKey key, NewDataKey(kKeyId));
  ASSERT_OK_AND_ASSIGN(hub::seal::v1::WrappedKey wrapped, Wrap(master, key, absl::UnixEpoch()));
  EXPECT_THAT(Unwrap(other, wrapped), StatusIs(absl::StatusCode::kFailedPrecondition));
  // Even claiming the other master's id, the tag refuses it.
  hub::seal::v1::WrappedKey claimed = wrapped;
  claimed.set_master_key_id(other.id());
  EXPECT_THAT(Unwrap(other, claimed), StatusIs(absl::StatusCode::kDataLoss));
  // The key id and generation are bound by the AAD.
  hub::seal::v1::WrappedKey moved = wrapped;
  moved.set_key_id("vk_ffffffffffffffffffffffffffffffff");
  EXPECT_THAT(Unwrap(master, moved), StatusIs(absl::StatusCode::kDataLoss));
  hub::seal::v1::WrappedKey altered = wrapped;
  (*altered.mutable_wrapped())[3] ^= 0x40;
  EXPECT_THAT(Unwrap(master, altered), StatusIs(absl::StatusCode::kDataLoss));
}

}  // namespace
}  // namespace hub::seal
