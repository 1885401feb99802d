#include "services/hubctl/hubctl.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
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
#include "services/common/seal/master_key.h"
#include "services/hubctl/cli.h"
#include "services/hubctl/task_commands.h"
#include "services/hubctl/triage_commands.h"

namespace hub::hubctl {
namespace {

constexpr char kUsageText[] =
    "usage:\n"
    "  hubctl submit [--bulk] [--intake HOST:PORT] [--caller PRINCIPAL] FILE|DIR...  (- is stdin)\n"
    "  hubctl update [--intake HOST:PORT] [--caller PRINCIPAL] FILE|DIR...\n"
    "  hubctl self-refer [--intake HOST:PORT] [--caller PRINCIPAL] FILE|DIR...\n"
    "  hubctl erase --case-id CASE_ID | --identity FILE  --reference REF [--intake HOST:PORT]\n"
    "  hubctl keys init PATH   (creates a new master key file, mode 0600)\n"
    "  hubctl case get CASE_ID [--cases HOST:PORT] [--json]\n"
    "  hubctl case list [--cases HOST:PORT] [--limit N] [--json]\n"
    "  hubctl topics ensure [--kafka HOST:PORT] [--namespace NS]\n"
    "  hubctl topics list [--namespace NS]\n"
    "  hubctl clock show|freeze RFC3339_TIME|offset DURATION|real --file PATH\n"
    "  hubctl triage --explain FILE [--at RFC3339] [--json] [--rules PATH] "
    "[--offence-table PATH] [--calendar PATH]\n"
    "  hubctl triage reassess CASE_ID --reason REASON --request-id ID [--priority immediate|"
    "enhanced] [--marac] [--needs a,b] [--triage HOST:PORT] [--caller PRINCIPAL]\n"
    "  hubctl triage history CASE_ID [--json] [--triage HOST:PORT] [--caller PRINCIPAL]\n"
    "  hubctl tasks list [--notification HOST:PORT] [--limit N] [--json] [--caller PRINCIPAL]\n"
    "  hubctl tasks done MESSAGE_ID --outcome TEXT [--notification HOST:PORT] [--json] "
    "[--caller PRINCIPAL]\n";

// The JSON files named on the command line: "-" is stdin, a directory stands for its
// *.json files in name order.
std::vector<std::string> ExpandInputs(const Parsed& parsed) {
  std::vector<std::string> inputs;
  for (size_t i = 1; i < parsed.positional.size(); ++i) {
    const std::string& path = parsed.positional[i];
    std::error_code error;
    if (path != "-" && std::filesystem::is_directory(path, error)) {
      std::vector<std::string> files;
      for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
        if (entry.is_regular_file() && entry.path().extension() == ".json") {
          files.push_back(entry.path().string());
        }
      }
      std::sort(files.begin(), files.end());
      inputs.insert(inputs.end(), files.begin(), files.end());
    } else {
      inputs.push_back(path);
    }
  }
  return inputs;
}

std::string ReceiptFlags(const hub::intake::v1::CaseReceipt& receipt) {
  std::string flags;
  for (int flag : receipt.flags()) {
    absl::StrAppend(
        &flags, " [",
        hub::intake::v1::ReceiptFlag_Name(static_cast<hub::intake::v1::ReceiptFlag>(flag)), "]");
  }
  return flags;
}

void PrintReceipts(absl::string_view what,
                   const hub::intake::v1::SubmitCrimeReportResponse& response, std::ostream& out) {
  for (const auto& receipt : response.cases()) {
    out << what << ": case " << receipt.case_id() << " (victim " << receipt.victim_ref() << ")"
        << ReceiptFlags(receipt) << (response.duplicate() ? " [duplicate: already submitted]" : "")
        << "\n";
  }
}

std::unique_ptr<hub::intake::v1::IntakeService::Stub> IntakeStub(const Parsed& parsed) {
  std::string address = FlagOrEnv(parsed, "intake", "HUB_INTAKE_ADDR", "127.0.0.1:50051");
  return hub::intake::v1::IntakeService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

// Sends every report over one BulkSubmitCrimeReports stream and prints a line per result.
int SubmitBulk(const Parsed& parsed, const std::vector<std::string>& inputs, std::istream& in,
               std::ostream& out, std::ostream& err) {
  std::vector<hub::intake::v1::BulkSubmitCrimeReportsRequest> requests;
  std::vector<std::string> names;
  int result = kOk;
  for (const std::string& path : inputs) {
    hub::intake::v1::BulkSubmitCrimeReportsRequest request;
    if (!ReadJson(path, in, request.mutable_report(), err)) {
      result = kFailed;
      continue;
    }
    requests.push_back(std::move(request));
    names.push_back(path);
  }
  if (requests.empty()) {
    return result;
  }
  std::string caller =
      FlagOrEnv(parsed, "caller", "HUB_CALLER",
                absl::StrCat("police:", requests[0].report().force_code(), ":hubctl"));
  auto stub = IntakeStub(parsed);
  grpc::ClientContext context;
  context.set_deadline(
      absl::ToChronoTime(absl::Now() + kRpcDeadline + absl::Milliseconds(100) * requests.size()));
  context.AddMetadata("x-hub-caller", caller);
  auto stream = stub->BulkSubmitCrimeReports(&context);
  for (const auto& request : requests) {
    if (!stream->Write(request)) {
      break;
    }
  }
  stream->WritesDone();
  hub::intake::v1::BulkSubmitCrimeReportsResponse response;
  while (stream->Read(&response)) {
    const std::string& name =
        response.index() >= 0 && response.index() < static_cast<int64_t>(names.size())
            ? names[response.index()]
            : std::string("?");
    if (response.code() != 0) {
      err << name << ": refused: " << response.code() << " " << response.message() << "\n";
      google::rpc::BadRequest bad_request;
      if (!response.details().empty() && bad_request.ParseFromString(response.details())) {
        for (const auto& violation : bad_request.field_violations()) {
          err << "  " << violation.field() << ": " << violation.description() << "\n";
        }
      }
      result = kFailed;
      continue;
    }
    PrintReceipts(name, response.result(), out);
  }
  grpc::Status status = stream->Finish();
  if (!status.ok()) {
    return ReportRpcError(status, "bulk submit", err);
  }
  return result;
}

int Submit(const Parsed& parsed, std::istream& in, std::ostream& out, std::ostream& err) {
  std::vector<std::string> inputs = ExpandInputs(parsed);
  if (inputs.empty()) {
    err << "hubctl submit: name at least one JSON file or folder holding hub.intake.v1."
           "CrimeReport (- for stdin)\n";
    return kUsage;
  }
  if (parsed.flags.count("bulk") > 0) {
    return SubmitBulk(parsed, inputs, in, out, err);
  }
  auto stub = IntakeStub(parsed);
  int result = kOk;
  for (const std::string& path : inputs) {
    hub::intake::v1::SubmitCrimeReportRequest request;
    if (!ReadJson(path, in, request.mutable_report(), err)) {
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
      PrintRefusal(path, status, err);
      result = kFailed;
      continue;
    }
    PrintReceipts(path, response, out);
  }
  return result;
}

int Update(const Parsed& parsed, std::istream& in, std::ostream& out, std::ostream& err) {
  std::vector<std::string> inputs = ExpandInputs(parsed);
  if (inputs.empty()) {
    err << "hubctl update: name at least one JSON file holding hub.intake.v1.CrimeUpdate\n";
    return kUsage;
  }
  auto stub = IntakeStub(parsed);
  int result = kOk;
  for (const std::string& path : inputs) {
    hub::intake::v1::UpdateCrimeReportRequest request;
    if (!ReadJson(path, in, request.mutable_update(), err)) {
      result = kFailed;
      continue;
    }
    grpc::ClientContext context;
    SetDeadline(&context);
    context.AddMetadata(
        "x-hub-caller",
        FlagOrEnv(parsed, "caller", "HUB_CALLER",
                  absl::StrCat("police:", request.update().force_code(), ":hubctl")));
    hub::intake::v1::UpdateCrimeReportResponse response;
    grpc::Status status = stub->UpdateCrimeReport(&context, request, &response);
    if (!status.ok()) {
      PrintRefusal(path, status, err);
      result = kFailed;
      continue;
    }
    out << path << ": applied to " << response.case_ids_size() << " case(s):";
    for (const std::string& case_id : response.case_ids()) {
      out << " " << case_id;
    }
    out << (response.duplicate() ? " [duplicate: already applied]" : "") << "\n";
  }
  return result;
}

int SelfRefer(const Parsed& parsed, std::istream& in, std::ostream& out, std::ostream& err) {
  std::vector<std::string> inputs = ExpandInputs(parsed);
  if (inputs.empty()) {
    err << "hubctl self-refer: name at least one JSON file holding hub.intake.v1.SelfReferral\n";
    return kUsage;
  }
  auto stub = IntakeStub(parsed);
  int result = kOk;
  for (const std::string& path : inputs) {
    hub::intake::v1::SubmitSelfReferralRequest request;
    if (!ReadJson(path, in, request.mutable_referral(), err)) {
      result = kFailed;
      continue;
    }
    grpc::ClientContext context;
    SetDeadline(&context);
    context.AddMetadata("x-hub-caller",
                        FlagOrEnv(parsed, "caller", "HUB_CALLER", "victim:web-form"));
    hub::intake::v1::SubmitSelfReferralResponse response;
    grpc::Status status = stub->SubmitSelfReferral(&context, request, &response);
    if (!status.ok()) {
      PrintRefusal(path, status, err);
      result = kFailed;
      continue;
    }
    out << path << ": case " << response.receipt().case_id() << ReceiptFlags(response.receipt())
        << (response.duplicate() ? " [duplicate: already submitted]" : "") << "\n";
  }
  return result;
}

int Erase(const Parsed& parsed, std::istream& in, std::ostream& out, std::ostream& err) {
  hub::intake::v1::RequestErasureRequest request;
  if (auto case_id = parsed.flags.find("case-id"); case_id != parsed.flags.end()) {
    request.mutable_target()->set_case_id(case_id->second);
  } else if (auto identity = parsed.flags.find("identity"); identity != parsed.flags.end()) {
    if (!ReadJson(identity->second, in, request.mutable_target()->mutable_identity(), err)) {
      return kFailed;
    }
  } else {
    err << "hubctl erase: give --case-id CASE_ID or --identity FILE (a hub.intake.v1."
           "VictimIdentity in JSON), and --reference REF\n";
    return kUsage;
  }
  request.set_request_reference(FlagOrEnv(parsed, "reference", "HUB_ERASURE_REFERENCE", ""));
  auto stub = IntakeStub(parsed);
  grpc::ClientContext context;
  SetDeadline(&context);
  context.AddMetadata("x-hub-caller", FlagOrEnv(parsed, "caller", "HUB_CALLER", "staff:hubctl"));
  hub::intake::v1::RequestErasureResponse response;
  grpc::Status status = stub->RequestErasure(&context, request, &response);
  if (!status.ok()) {
    PrintRefusal("erase", status, err);
    return kFailed;
  }
  if (response.key_ids().empty()) {
    out << "erase: the hub held no data key for this victim (nothing to erase)\n";
  }
  for (const std::string& key_id : response.key_ids()) {
    out << "erase: destroyed data key " << key_id << "; sealed copies are unreadable now, and "
        << "the key record is compacted from the key topic by "
        << google::protobuf::util::TimeUtil::ToString(response.compacted_by()) << "\n";
  }
  return kOk;
}

int Keys(const Parsed& parsed, std::ostream& out, std::ostream& err) {
  if (parsed.positional.size() != 3 || parsed.positional[1] != "init") {
    err << kUsageText;
    return kUsage;
  }
  const std::string& path = parsed.positional[2];
  absl::Status written = seal::WriteNewMasterKeyFile(path);
  if (absl::IsAlreadyExists(written)) {
    out << path << ": a master key already exists; left unchanged\n";
    return kOk;
  }
  if (!written.ok()) {
    err << "hubctl keys init: " << written.message() << "\n";
    return kFailed;
  }
  out << path << ": new master key written (mode 0600); keep it secret and backed up\n";
  return kOk;
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
    // How the victim's acknowledgement went: "sent by email", "call_task", "withheld", ...
    auto acknowledgement = [](const auto& attribute) {
      std::string told = attribute("message:victim.acknowledgement");
      if (told == "-") {
        told = attribute("message:victim.self_referral_acknowledgement");
      }
      return told == "-" ? told : absl::StrReplaceAll(told, {{" ", "_"}});
    };
    for (const auto& state : response.cases()) {
      auto attribute = [&state](const char* name) {
        auto it = state.attributes().find(name);
        return it == state.attributes().end() ? std::string("-") : it->second;
      };
      out << state.case_id() << "  " << hub::cases::v1::Stage_Name(state.stage()) << "  "
          << attribute("priority") << "  " << attribute("provider_id") << "  "
          << acknowledgement(attribute) << "  " << FormatTime(state.updated_at()) << "\n";
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
  if (command == "update") {
    return Update(parsed, in, out, err);
  }
  if (command == "self-refer") {
    return SelfRefer(parsed, in, out, err);
  }
  if (command == "erase") {
    return Erase(parsed, in, out, err);
  }
  if (command == "keys") {
    return Keys(parsed, out, err);
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
  if (command == "triage") {
    return Triage(parsed, in, out, err);
  }
  if (command == "tasks") {
    return Tasks(parsed, out, err);
  }
  err << "hubctl: unknown command '" << command << "'\n" << kUsageText;
  return kUsage;
}

}  // namespace hub::hubctl
