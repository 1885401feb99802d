#include "services/common/seal/master_key.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include <sys/stat.h>

#include "services/common/seal/internal/primitives.h"
#include "services/common/status/status_macros.h"

namespace hub::seal {
namespace {

constexpr size_t kHexDigits = 2 * kKeyBytes;
// Bytes read from a key file at most: enough to tell "too long" from "right".
constexpr size_t kMaxFileBytes = 256;

std::string ErrnoText(int error) {
  // strerror_r's GNU variant returns the message (possibly not in the buffer).
  char buffer[128] = {};
  return std::string(strerror_r(error, buffer, sizeof(buffer)));
}

// Closes a file descriptor when it goes out of scope.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t written = write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      return absl::InternalError(
          absl::StrCat("master key file ", path, ": write failed: ", ErrnoText(errno)));
    }
    data.remove_prefix(static_cast<size_t>(written));
  }
  return absl::OkStatus();
}

}  // namespace

MasterKey::MasterKey(std::string bytes)
    : bytes_(std::move(bytes)), id_(internal::Hex(internal::Sha256(bytes_)).substr(0, 16)) {}

absl::StatusOr<MasterKey> MasterKey::FromBytes(std::string bytes) {
  if (bytes.size() != kKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a master key must be ", kKeyBytes, " bytes, got ", bytes.size()));
  }
  return MasterKey(std::move(bytes));
}

absl::StatusOr<MasterKey> MasterKey::FromFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) {
      return absl::NotFoundError(absl::StrCat("master key file ", path, " does not exist"));
    }
    return absl::PermissionDeniedError(
        absl::StrCat("master key file ", path, " cannot be opened: ", ErrnoText(error)));
  }
  FdCloser closer(fd);
  struct stat info = {};
  if (fstat(fd, &info) != 0) {
    return absl::InternalError(
        absl::StrCat("master key file ", path, ": stat failed: ", ErrnoText(errno)));
  }
  if (!S_ISREG(info.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("master key file ", path, " is not a regular file"));
  }
  if ((info.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(
        absl::StrFormat("master key file %s is accessible by group or others (mode %04o); "
                        "it must be 0600 or 0400",
                        path, info.st_mode & 0777));
  }
  std::string content(kMaxFileBytes, '\0');
  size_t filled = 0;
  while (filled < content.size()) {
    const ssize_t got = read(fd, content.data() + filled, content.size() - filled);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      return absl::InternalError(
          absl::StrCat("master key file ", path, ": read failed: ", ErrnoText(errno)));
    }
    if (got == 0) {
      break;
    }
    filled += static_cast<size_t>(got);
  }
  content.resize(filled);
  absl::string_view text = content;
  if (absl::EndsWith(text, "\n")) {
    text.remove_suffix(1);
  }
  if (text.size() != kHexDigits) {
    return absl::InvalidArgumentError(absl::StrCat("master key file ", path, " must hold exactly ",
                                                   kHexDigits,
                                                   " hex digits and an optional newline"));
  }
  for (char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          absl::StrCat("master key file ", path, " holds something other than hex digits"));
    }
  }
  return MasterKey(absl::HexStringToBytes(text));
}

std::string MasterKey::Derive(absl::string_view info) const {
  return internal::HkdfSha256(bytes_, info, kKeyBytes);
}

absl::Status WriteNewMasterKeyFile(const std::string& path) {
  HUB_ASSIGN_OR_RETURN(std::string key, internal::RandomBytes(kKeyBytes));
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int error = errno;
    if (error == EEXIST) {
      return absl::AlreadyExistsError(
          absl::StrCat("master key file ", path, " already exists; it is never overwritten"));
    }
    return absl::InternalError(
        absl::StrCat("master key file ", path, " cannot be created: ", ErrnoText(error)));
  }
  FdCloser closer(fd);
  // The umask can only remove permissions, but make the mode explicit anyway.
  if (fchmod(fd, 0600) != 0) {
    return absl::InternalError(
        absl::StrCat("master key file ", path, ": chmod failed: ", ErrnoText(errno)));
  }
  HUB_RETURN_IF_ERROR(WriteAll(fd, absl::StrCat(internal::Hex(key), "\n"), path));
  if (fsync(fd) != 0) {
    return absl::InternalError(
        absl::StrCat("master key file ", path, ": fsync failed: ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

}  // namespace hub::seal
