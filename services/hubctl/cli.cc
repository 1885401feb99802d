#include "services/hubctl/cli.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"

#include "services/common/rpc/error_details.h"

namespace hub::hubctl {

Parsed Parse(const std::vector<std::string>& args) {
  Parsed parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (absl::StartsWith(arg, "--")) {
      std::string body = arg.substr(2);
      size_t eq = body.find('=');
      if (eq != std::string::npos) {
        parsed.flags[body.substr(0, eq)] = body.substr(eq + 1);
      } else if (body == "json" || body == "bulk" || body == "marac") {
        parsed.flags[body] = "true";
      } else if (i + 1 < args.size()) {
        parsed.flags[body] = args[++i];
      } else {
        parsed.flags[body] = "";
      }
    } else {
      parsed.positional.push_back(arg);
    }
  }
  return parsed;
}

std::string FlagOrEnv(const Parsed& parsed, const std::string& flag, const char* env,
                      const std::string& fallback) {
  if (auto it = parsed.flags.find(flag); it != parsed.flags.end()) {
    return it->second;
  }
  const char* value = std::getenv(env);  // NOLINT(concurrency-mt-unsafe): single-threaded CLI.
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + kRpcDeadline));
}

int ReportRpcError(const grpc::Status& status, absl::string_view what, std::ostream& err) {
  err << "hubctl: " << what << " failed: " << status.error_code() << " " << status.error_message()
      << "\n";
  return kFailed;
}

// Reads `path` (or stdin) as the JSON form of `message`.
bool ReadJson(const std::string& path, std::istream& in, google::protobuf::Message* message,
              std::ostream& err) {
  std::stringstream text;
  if (path == "-") {
    text << in.rdbuf();
  } else {
    std::ifstream file(path);
    if (!file.good()) {
      err << path << ": cannot read the file\n";
      return false;
    }
    text << file.rdbuf();
  }
  google::protobuf::util::Status parsed_json =
      google::protobuf::util::JsonStringToMessage(text.str(), message);
  if (!parsed_json.ok()) {
    err << path << ": not a " << message->GetDescriptor()->full_name()
        << " in JSON: " << parsed_json.message() << "\n";
    return false;
  }
  return true;
}

void PrintRefusal(absl::string_view what, const grpc::Status& status, std::ostream& err) {
  err << what << ": refused: " << status.error_code() << " " << status.error_message() << "\n";
  if (absl::StatusOr<google::rpc::BadRequest> bad_request = rpc::BadRequestOf(status);
      bad_request.ok()) {
    for (const auto& violation : bad_request->field_violations()) {
      err << "  " << violation.field() << ": " << violation.description() << "\n";
    }
  }
}

}  // namespace hub::hubctl
