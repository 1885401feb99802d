#include "services/hubctl/task_commands.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

#include "hub/notification/v1/notification.grpc.pb.h"
#include "services/common/workdays/working_calendar.h"

namespace hub::hubctl {
namespace {

namespace nv1 = ::hub::notification::v1;

constexpr char kTasksUsage[] =
    "hubctl tasks: use 'list [--limit N] [--json]' or 'done MESSAGE_ID --outcome TEXT' "
    "(hubctl --help)\n";

// staff:hub:<login name>, when the login name can stand in a principal.
std::string DefaultCaller() {
  const char* user = std::getenv("USER");  // NOLINT(concurrency-mt-unsafe): single-threaded CLI.
  const std::string name = user == nullptr ? "" : user;
  const bool usable =
      !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.';
      });
  return absl::StrCat("staff:hub:", usable ? name : "hubctl");
}

std::unique_ptr<nv1::StaffTaskService::Stub> TaskStub(const Parsed& parsed) {
  const std::string address =
      FlagOrEnv(parsed, "notification", "HUB_NOTIFICATION_ADDR", "127.0.0.1:50054");
  return nv1::StaffTaskService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

std::string Caller(const Parsed& parsed) {
  return FlagOrEnv(parsed, "caller", "HUB_CALLER", DefaultCaller());
}

void Prepare(const Parsed& parsed, grpc::ClientContext* context) {
  SetDeadline(context);
  context->AddMetadata("x-hub-caller", Caller(parsed));
}

std::string Json(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

// UK local time (GMT or BST, named), to the minute; "-" when unset.
std::string UkTime(const google::protobuf::Timestamp& timestamp) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) {
    return "-";
  }
  return absl::FormatTime("%Y-%m-%d %H:%M %Z", absl::FromUnixSeconds(timestamp.seconds()),
                          workdays::LondonTimeZone());
}

// Which contact route to use, as the case system numbers them.
std::string Route(const nv1::StaffTask& task) {
  if (task.route_index() < 0) {
    return "none: via OIC";
  }
  return absl::StrCat(task.guardian_routes() ? "guardian " : "", task.route_index(),
                      task.voicemail_allowed() ? ", voicemail ok" : "");
}

void PrintTable(const nv1::ListTasksResponse& response, std::ostream& out) {
  if (response.tasks().empty()) {
    out << "no open tasks\n";
    return;
  }
  using Row = std::array<std::string, 7>;
  std::vector<Row> rows;
  rows.reserve(response.tasks_size() + 1);
  rows.push_back({"MESSAGE", "DUE (UK)", "KIND", "TEMPLATE", "CASE", "ROUTE", "REASON"});
  for (const nv1::StaffTask& task : response.tasks()) {
    rows.push_back({task.message_id(), UkTime(task.due()), task.kind(), task.template_id(),
                    task.case_id().empty() ? "-" : task.case_id(), Route(task), task.reason()});
  }
  std::array<size_t, 7> widths{};
  for (const Row& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  for (const Row& row : rows) {
    std::string line;
    for (size_t i = 0; i + 1 < row.size(); ++i) {
      absl::StrAppend(&line, row[i], std::string(widths[i] - row[i].size() + 2, ' '));
    }
    absl::StrAppend(&line, row.back());
    out << line << "\n";
  }
}

int List(const Parsed& parsed, std::ostream& out, std::ostream& err) {
  if (parsed.positional.size() != 2) {
    err << kTasksUsage;
    return kUsage;
  }
  nv1::ListTasksRequest request;
  if (auto limit = parsed.flags.find("limit"); limit != parsed.flags.end()) {
    int32_t value = 0;
    if (!absl::SimpleAtoi(limit->second, &value) || value < 1) {
      err << "hubctl tasks list: --limit must be a whole number of 1 or more\n";
      return kUsage;
    }
    request.set_limit(value);
  }
  grpc::ClientContext context;
  Prepare(parsed, &context);
  nv1::ListTasksResponse response;
  grpc::Status status = TaskStub(parsed)->ListTasks(&context, request, &response);
  if (!status.ok()) {
    PrintRefusal("hubctl tasks list", status, err);
    return kFailed;
  }
  if (parsed.flags.count("json") > 0) {
    out << Json(response);
    return kOk;
  }
  PrintTable(response, out);
  return kOk;
}

int Done(const Parsed& parsed, std::ostream& out, std::ostream& err) {
  auto outcome = parsed.flags.find("outcome");
  if (parsed.positional.size() != 3 || outcome == parsed.flags.end() ||
      absl::StripAsciiWhitespace(outcome->second).empty()) {
    err << "hubctl tasks done: give one MESSAGE_ID and --outcome TEXT (what was done, without "
           "personal data)\n";
    return kUsage;
  }
  nv1::CompleteTaskRequest request;
  request.set_message_id(parsed.positional[2]);
  request.set_outcome(outcome->second);
  grpc::ClientContext context;
  Prepare(parsed, &context);
  nv1::StaffTask task;
  grpc::Status status = TaskStub(parsed)->CompleteTask(&context, request, &task);
  if (!status.ok()) {
    PrintRefusal("hubctl tasks done", status, err);
    return kFailed;
  }
  if (parsed.flags.count("json") > 0) {
    out << Json(task);
    return kOk;
  }
  // A repeat gets the first completion back, perhaps someone else's.
  const bool first = task.completed_by() == Caller(parsed) &&
                     task.outcome() == absl::StripAsciiWhitespace(request.outcome());
  out << "task " << task.message_id() << " (" << task.kind() << ", case " << task.case_id() << ") "
      << (first ? "done" : "was already done") << " by " << task.completed_by() << " at "
      << UkTime(task.completed_at()) << ": " << task.outcome() << "\n";
  return kOk;
}

}  // namespace

int Tasks(const Parsed& parsed, std::ostream& out, std::ostream& err) {
  const std::string verb = parsed.positional.size() > 1 ? parsed.positional[1] : "";
  if (verb == "list") {
    return List(parsed, out, err);
  }
  if (verb == "done") {
    return Done(parsed, out, err);
  }
  err << kTasksUsage;
  return kUsage;
}

}  // namespace hub::hubctl
