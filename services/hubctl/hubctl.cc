#include "services/hubctl/hubctl.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include <grpcpp/grpcpp.h>

#include "hub/cases/v1/cases.grpc.pb.h"
#include "hub/intake/v1/intake.grpc.pb.h"
#include "services/common/clock/clock.h"
#include "services/common/events/topics.h"
#include "services/common/kafka/kafka.h"
#include "services/common/rpc/error_details.h"

namespace hub::hubctl {
namespace {

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;
constexpr char kUsageText[] =
    "usage:\n"
    "  hubctl submit [--intake HOST:PORT] [--caller PRINCIPAL] FILE...   (- reads stdin)\n"
    "  hubctl case get CASE_ID [--cases HOST:PORT] [--json]\n"
    "  hubctl case list [--cases HOST:PORT] [--limit N] [--json]\n"
    "  hubctl topics ensure [--kafka HOST:PORT] [--namespace NS]\n"
    "  hubctl topics list [--namespace NS]\n"
    "  hubctl clock show|freeze RFC3339_TIME|offset DURATION|real --file PATH\n";
constexpr absl::Duration kRpcDeadline = absl::Seconds(10);

// Positional arguments and --flag values of one command line.
struct Parsed {
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;
};

Parsed Parse(const std::vector<std::string>& args) {
  Parsed parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (absl::StartsWith(arg, "--")) {
      std::string body = arg.substr(2);
      size_t eq = body.find('=');
      if (eq != std::string::npos) {
        parsed.flags[body.substr(0, eq)] = body.substr(eq + 1);
      } else if (body == "json") {
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

int Submit(const Parsed& parsed, std::istream& in, std::ostream& out, std::ostream& err) {
  if (parsed.positional.size() < 2) {
    err << "hubctl submit: name at least one JSON file holding a hub.intake.v1.CrimeReport "
           "(- for stdin)\n";
    return kUsage;
  }
  std::string address = FlagOrEnv(parsed, "intake", "HUB_INTAKE_ADDR", "127.0.0.1:50051");
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = hub::intake::v1::IntakeService::NewStub(channel);
  int result = kOk;
  for (size_t i = 1; i < parsed.positional.size(); ++i) {
    const std::string& path = parsed.positional[i];
    std::stringstream text;
    if (path == "-") {
      text << in.rdbuf();
    } else {
      std::ifstream file(path);
      if (!file.good()) {
        err << path << ": cannot read the file\n";
        result = kFailed;
        continue;
      }
      text << file.rdbuf();
    }
    hub::intake::v1::SubmitCrimeReportRequest request;
    google::protobuf::util::Status parsed_json =
        google::protobuf::util::JsonStringToMessage(text.str(), request.mutable_report());
    if (!parsed_json.ok()) {
      err << path << ": not a CrimeReport in JSON: " << parsed_json.message() << "\n";
      result = kFailed;
      continue;
    }
    std::string caller =
        FlagOrEnv(parsed, "caller", "HUB_CALLER",
                  absl::StrCat("police:", request.report().force_code(), ":hubctl"));
    grpc::ClientContext context;
    SetDeadline(&context);
    context.AddMetadata("x-hub-caller", caller);
    hub::intake::v1::SubmitCrimeReportResponse response;
    grpc::Status status = stub->SubmitCrimeReport(&context, request, &response);
    if (!status.ok()) {
      err << path << ": refused: " << status.error_code() << " " << status.error_message() << "\n";
      if (absl::StatusOr<google::rpc::BadRequest> bad_request = rpc::BadRequestOf(status);
          bad_request.ok()) {
        for (const auto& violation : bad_request->field_violations()) {
          err << "  " << violation.field() << ": " << violation.description() << "\n";
        }
      }
      result = kFailed;
      continue;
    }
    for (const auto& receipt : response.cases()) {
      out << path << ": case " << receipt.case_id() << " (victim " << receipt.victim_ref() << ")"
          << (response.duplicate() ? " [duplicate: already submitted]" : "") << "\n";
    }
  }
  return result;
}

std::string FormatTime(const google::protobuf::Timestamp& timestamp) {
  return google::protobuf::util::TimeUtil::ToString(timestamp);
}

void PrintCase(const hub::cases::v1::CaseState& state, std::ostream& out) {
  out << "case        " << state.case_id() << "\n";
  out << "stage       " << hub::cases::v1::Stage_Name(state.stage()) << "\n";
  out << "updated     " << FormatTime(state.updated_at()) << "\n";
  std::map<std::string, std::string> sorted(state.attributes().begin(), state.attributes().end());
  for (const auto& [name, value] : sorted) {
    out << "  " << name << ": " << value << "\n";
  }
  if (state.history_size() > 0) {
    out << "history\n";
    for (const auto& entry : state.history()) {
      out << "  " << FormatTime(entry.recorded_at()) << "  "
          << hub::cases::v1::Stage_Name(entry.stage()) << "  " << entry.service() << "  "
          << entry.detail() << "\n";
    }
  }
}

int Case(const Parsed& parsed, std::ostream& out, std::ostream& err) {
  if (parsed.positional.size() < 2) {
    err << kUsageText;
    return kUsage;
  }
  std::string address = FlagOrEnv(parsed, "cases", "HUB_CASES_ADDR", "127.0.0.1:50053");
  std::string caller = FlagOrEnv(parsed, "caller", "HUB_CALLER", "staff:hub:hubctl");
  auto stub = hub::cases::v1::CaseService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  bool json = parsed.flags.count("json") > 0;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  const std::string& verb = parsed.positional[1];
  grpc::ClientContext context;
  SetDeadline(&context);
  context.AddMetadata("x-hub-caller", caller);
  if (verb == "get" && parsed.positional.size() == 3) {
    hub::cases::v1::GetCaseRequest request;
    request.set_case_id(parsed.positional[2]);
    hub::cases::v1::GetCaseResponse response;
    grpc::Status status = stub->GetCase(&context, request, &response);
    if (!status.ok()) {
      return ReportRpcError(status, "case get", err);
    }
    if (json) {
      std::string text;
      (void)google::protobuf::util::MessageToJsonString(response.state(), &text, options);
      out << text;
    } else {
      PrintCase(response.state(), out);
    }
    return kOk;
  }
  if (verb == "list") {
    hub::cases::v1::ListCasesRequest request;
    uint32_t limit = 50;
    if (auto it = parsed.flags.find("limit");
        it != parsed.flags.end() && !absl::SimpleAtoi(it->second, &limit)) {
      err << "hubctl case list: --limit must be a whole number\n";
      return kUsage;
    }
    request.set_limit(limit);
    hub::cases::v1::ListCasesResponse response;
    grpc::Status status = stub->ListCases(&context, request, &response);
    if (!status.ok()) {
      return ReportRpcError(status, "case list", err);
    }
    if (json) {
      std::string text;
      (void)google::protobuf::util::MessageToJsonString(response, &text, options);
      out << text;
      return kOk;
    }
    for (const auto& state : response.cases()) {
      auto attribute = [&state](const char* name) {
        auto it = state.attributes().find(name);
        return it == state.attributes().end() ? std::string("-") : it->second;
      };
      out << state.case_id() << "  " << hub::cases::v1::Stage_Name(state.stage()) << "  "
          << attribute("priority") << "  " << attribute("provider_id") << "  "
          << attribute("victim_contact_channel") << "  " << FormatTime(state.updated_at()) << "\n";
    }
    return kOk;
  }
  err << kUsageText;
  return kUsage;
}

int Topics(const Parsed& parsed, std::ostream& out, std::ostream& err) {
  std::string ns = FlagOrEnv(parsed, "namespace", "HUB_NAMESPACE", "hub");
  const std::string verb = parsed.positional.size() > 1 ? parsed.positional[1] : "";
  if (verb == "list") {
    for (const kafka::TopicSpec& spec : events::TopicSpecs(ns)) {
      out << spec.name << "  partitions=" << spec.partitions
          << "  cleanup.policy=" << spec.cleanup_policy << "  retention.ms=" << spec.retention_ms
          << "\n";
    }
    return kOk;
  }
  if (verb != "ensure") {
    err << kUsageText;
    return kUsage;
  }
  std::string kafka = FlagOrEnv(parsed, "kafka", "HUB_KAFKA_BOOTSTRAP", "127.0.0.1:19092");
  absl::Status status = kafka::EnsureTopics(kafka, events::TopicSpecs(ns));
  if (!status.ok()) {
    err << "hubctl topics ensure: " << status << "\n";
    return kFailed;
  }
  for (const kafka::TopicSpec& spec : events::TopicSpecs(ns)) {
    out << "topic ready: " << spec.name << " (" << spec.partitions << " partitions)\n";
  }
  return kOk;
}

int Clock(const Parsed& parsed, std::ostream& out, std::ostream& err) {
  auto file = parsed.flags.find("file");
  if (file == parsed.flags.end() || file->second.empty() || parsed.positional.size() < 2) {
    err << "hubctl clock: give a verb and --file PATH (the file services read with "
           "--clock=file:PATH)\n";
    return kUsage;
  }
  const std::string& verb = parsed.positional[1];
  clock::ClockSetting setting;
  if (verb == "show") {
    absl::StatusOr<std::shared_ptr<clock::Clock>> clock =
        clock::CreateClock("file:" + file->second);
    if (!clock.ok()) {
      err << "hubctl clock show: " << clock.status() << "\n";
      return kFailed;
    }
    out << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", (*clock)->Now(), absl::UTCTimeZone()) << "\n";
    return kOk;
  }
  if (verb == "real") {
    setting.mode = clock::ClockSetting::Mode::kOffset;
  } else if ((verb == "freeze" || verb == "offset") && parsed.positional.size() == 3) {
    absl::StatusOr<clock::ClockSetting> parsed_setting = clock::ParseClockSetting(
        absl::StrCat(verb == "freeze" ? "frozen " : "offset ", parsed.positional[2]));
    if (!parsed_setting.ok()) {
      err << "hubctl clock " << verb << ": " << parsed_setting.status().message() << "\n";
      return kUsage;
    }
    setting = *parsed_setting;
  } else {
    err << kUsageText;
    return kUsage;
  }
  absl::Status written = clock::WriteClockFile(file->second, setting);
  if (!written.ok()) {
    err << "hubctl clock: " << written << "\n";
    return kFailed;
  }
  out << clock::FormatClockSetting(setting) << "\n";
  return kOk;
}

}  // namespace

int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return Run(args, std::cin, out, err);
}

int Run(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
        std::ostream& err) {
  Parsed parsed = Parse(args);
  if (parsed.positional.empty() || parsed.flags.count("help") > 0) {
    (parsed.positional.empty() ? err : out) << kUsageText;
    return parsed.positional.empty() ? kUsage : kOk;
  }
  const std::string& command = parsed.positional[0];
  if (command == "submit") {
    return Submit(parsed, in, out, err);
  }
  if (command == "case") {
    return Case(parsed, out, err);
  }
  if (command == "topics") {
    return Topics(parsed, out, err);
  }
  if (command == "clock") {
    return Clock(parsed, out, err);
  }
  err << "hubctl: unknown command '" << command << "'\n" << kUsageText;
  return kUsage;
}

}  // namespace hub::hubctl
