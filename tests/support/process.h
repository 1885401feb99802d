// Real processes for end-to-end tests: start a service binary with its own environment,
// signal it, wait for it, and never leave it behind (the destructor kills and reaps).
//
// Not thread-safe; one test thread owns each ChildProcess.
#ifndef HUB_TESTS_SUPPORT_PROCESS_H_
#define HUB_TESTS_SUPPORT_PROCESS_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include <sys/types.h>

namespace hub::testing {

class ChildProcess {
 public:
  // Starts `path` (a path, or a program name looked up on PATH) with `args`; the child's
  // environment is this process's plus `env`, and
  // its stdout and stderr go to `log_path`.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const std::string& path, const std::vector<std::string>& args,
      const std::map<std::string, std::string>& env, const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void Signal(int signal_number);
  // The exit status (as from waitpid) once the process ended, or kDeadlineExceeded.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  bool running() const { return !exit_status_.has_value(); }
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }

 private:
  ChildProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_;
  std::string log_path_;
  std::optional<int> exit_status_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// Polls GET http://127.0.0.1:port/path until it answers 200, or kDeadlineExceeded.
absl::Status WaitForHttp200(int port, const std::string& path, absl::Duration timeout);

// GET http://127.0.0.1:port/path: the body of a 200 answer, else kUnavailable.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path);

// The last `lines` lines of a file, for failure messages.
std::string TailFile(const std::string& path, int lines);

}  // namespace hub::testing

#endif  // HUB_TESTS_SUPPORT_PROCESS_H_
