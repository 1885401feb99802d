// What every hubctl command shares: the command line, exit codes, JSON input and how
// refusals are printed.
#ifndef HUB_SERVICES_HUBCTL_CLI_H_
#define HUB_SERVICES_HUBCTL_CLI_H_

#include <istream>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include <grpcpp/grpcpp.h>

namespace hub::hubctl {

inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;
inline constexpr int kUsage = 2;
inline constexpr absl::Duration kRpcDeadline = absl::Seconds(10);

// Positional arguments and --flag values of one command line. --json, --bulk and --marac
// take no value; every other flag takes the next argument (or --flag=value).
struct Parsed {
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;
};

Parsed Parse(const std::vector<std::string>& args);

// The flag's value, else the environment variable's, else `fallback`.
std::string FlagOrEnv(const Parsed& parsed, const std::string& flag, const char* env,
                      const std::string& fallback);

void SetDeadline(grpc::ClientContext* context);

// Prints "hubctl: <what> failed: <code> <message>"; returns kFailed.
int ReportRpcError(const grpc::Status& status, absl::string_view what, std::ostream& err);

// Reads `path` (or stdin for "-") as the JSON form of `message`; prints why not.
bool ReadJson(const std::string& path, std::istream& in, google::protobuf::Message* message,
              std::ostream& err);

// Prints a refused call with every field violation its BadRequest carries.
void PrintRefusal(absl::string_view what, const grpc::Status& status, std::ostream& err);

}  // namespace hub::hubctl

#endif  // HUB_SERVICES_HUBCTL_CLI_H_
