#include "services/common/seal/master_key.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <sys/stat.h>

#include "services/common/status/status_matchers.h"

namespace hub::seal {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kHex[] = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";

class MasterKeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir();
    path_ = absl::StrCat(dir_, "/master-", ::testing::UnitTest::GetInstance()->random_seed(), "-",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name(), ".key");
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }

  void Write(const std::string& content, mode_t mode) {
    {
      std::ofstream out(path_, std::ios::binary | std::ios::trunc);
      out << content;
    }
    ASSERT_EQ(chmod(path_.c_str(), mode), 0);
  }

  std::string dir_;
  std::string path_;
};

TEST_F(MasterKeyFileTest, ReadsHexWithOrWithoutNewline) {
  Write(kHex, 0600);
  ASSERT_OK_AND_ASSIGN(MasterKey bare, MasterKey::FromFile(path_));
  Write(absl::StrCat(kHex, "\n"), 0400);
  ASSERT_OK_AND_ASSIGN(MasterKey with_newline, MasterKey::FromFile(path_));
  EXPECT_EQ(bare.bytes(), with_newline.bytes());
  EXPECT_EQ(bare.bytes().size(), kKeyBytes);
  EXPECT_EQ(bare.bytes()[1], '\x11');
  EXPECT_EQ(bare.id().size(), 16u);
  EXPECT_EQ(bare.id(), with_newline.id());
}

TEST_F(MasterKeyFileTest, RejectsBadFormatsNamingThePathNotTheContent) {
  const std::string secretish = "5ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e7";
  for (const std::string& content : {std::string(""), secretish,     // 62 digits: too short.
                                     absl::StrCat(secretish, "zz"),  // not hex.
                                     absl::StrCat(kHex, "00"),       // too long.
                                     absl::StrCat(kHex, "\n\n"),     // two newlines.
                                     absl::StrCat(" ", std::string(kHex).substr(1)),  // a space.
                                     absl::StrCat(std::string(kHex).substr(0, 63), "\n", "0")}) {
    SCOPED_TRACE(content.size());
    Write(content, 0600);
    absl::StatusOr<MasterKey> key = MasterKey::FromFile(path_);
    EXPECT_THAT(key, StatusIs(absl::StatusCode::kInvalidArgument,
                              AllOf(HasSubstr(path_), Not(HasSubstr("5ec2e7")),
                                    Not(HasSubstr("00112233")))));
  }
}

TEST_F(MasterKeyFileTest, RejectsFilesOthersCanRead) {
  for (mode_t mode : {0644, 0640, 0604, 0660, 0602}) {
    SCOPED_TRACE(mode);
    Write(kHex, mode);
    EXPECT_THAT(MasterKey::FromFile(path_),
                StatusIs(absl::StatusCode::kPermissionDenied,
                         AllOf(HasSubstr(path_), HasSubstr("group or others"),
                               Not(HasSubstr("00112233")))));
  }
}

TEST_F(MasterKeyFileTest, MissingFileIsNotFound) {
  EXPECT_THAT(MasterKey::FromFile(path_), StatusIs(absl::StatusCode::kNotFound, HasSubstr(path_)));
}

TEST_F(MasterKeyFileTest, WritesANewKeyOnceWithMode0600) {
  ASSERT_THAT(WriteNewMasterKeyFile(path_), IsOk());
  struct stat info = {};
  ASSERT_EQ(stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ASSERT_OK_AND_ASSIGN(MasterKey first, MasterKey::FromFile(path_));
  EXPECT_THAT(WriteNewMasterKeyFile(path_),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(path_)));
  ASSERT_OK_AND_ASSIGN(MasterKey again, MasterKey::FromFile(path_));
  EXPECT_EQ(first.bytes(), again.bytes());
}

TEST(MasterKeyTest, FromBytesNeedsExactly32Bytes) {
  EXPECT_THAT(MasterKey::FromBytes(std::string(31, 'k')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MasterKey::FromBytes(std::string(33, 'k')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MasterKey::FromBytes(std::string(32, 'k')), IsOk());
}

TEST(MasterKeyTest, DerivesIndependentStableSubkeys) {
  ASSERT_OK_AND_ASSIGN(MasterKey key, MasterKey::FromBytes(std::string(32, 'k')));
  ASSERT_OK_AND_ASSIGN(MasterKey other, MasterKey::FromBytes(std::string(32, 'o')));
  const std::string pseudonym = key.Derive("hub.pseudonym.v1");
  EXPECT_EQ(pseudonym.size(), kKeyBytes);
  EXPECT_EQ(pseudonym, key.Derive("hub.pseudonym.v1"));
  EXPECT_NE(pseudonym, key.Derive("hub.other.v1"));
  EXPECT_NE(pseudonym, other.Derive("hub.pseudonym.v1"));
  EXPECT_NE(pseudonym, key.bytes());
  EXPECT_NE(key.id(), other.id());
}

// Pins the construction: HKDF-SHA256 (RFC 5869) with an empty salt, 32 bytes of output.
TEST(MasterKeyTest, DeriveIsHkdfSha256WithoutSalt) {
  ASSERT_OK_AND_ASSIGN(MasterKey key, MasterKey::FromBytes(std::string(32, '\x0b')));
  // Computed independently (Python hmac): PRK = HMAC(32 zero bytes, IKM),
  // OKM = HMAC(PRK, info || 0x01).
  EXPECT_EQ(absl::BytesToHexString(key.Derive("hub.pseudonym.v1")),
            "a9d8431301733e8416139592ce3c39c4936f8b49bb44e116e96e105718c22f70");
}

}  // namespace
}  // namespace hub::seal
