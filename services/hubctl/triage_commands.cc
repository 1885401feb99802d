#include "services/hubctl/triage_commands.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

#include "hub/triage/v1/triage.grpc.pb.h"
#include "services/common/workdays/working_calendar.h"
#include "services/intake/cases.h"
#include "services/intake/validation.h"
#include "services/triage/assessment.h"
#include "services/triage/rules.h"

namespace hub::hubctl {
namespace {

using hub::events::v1::NeedsAssessed;

std::string Name(absl::string_view enum_name, absl::string_view prefix) {
  std::string text(enum_name.substr(enum_name.find(prefix) == 0 ? prefix.size() : 0));
  absl::AsciiStrToLower(&text);
  return text;
}

std::string When(const google::protobuf::Timestamp& timestamp) {
  absl::Time time = absl::FromUnixSeconds(timestamp.seconds());
  return absl::FormatTime("%a %e %b %Y %H:%M %Z", time, workdays::LondonTimeZone());
}

// The decision as a caseworker reads it, then every rule with its reason.
void PrintAssessment(const NeedsAssessed& assessment, std::ostream& out) {
  std::vector<std::string> categories;
  for (int category : assessment.enhanced_categories()) {
    categories.push_back(Name(hub::events::v1::EnhancedCategory_Name(
                                  static_cast<hub::events::v1::EnhancedCategory>(category)),
                              "ENHANCED_CATEGORY_"));
  }
  out << "  priority:          "
      << Name(hub::events::v1::Priority_Name(assessment.priority()), "PRIORITY_") << "\n"
      << "  enhanced:          "
      << (assessment.enhanced() ? absl::StrCat("yes (", absl::StrJoin(categories, ", "), ")")
                                : std::string("no"))
      << "\n"
      << "  crime category:    " << assessment.crime_category() << "\n"
      << "  consent:           "
      << Name(hub::events::v1::ConsentRule_Name(assessment.consent_rule()), "CONSENT_RULE_")
      << " (victim: "
      << Name(hub::intake::v1::ConsentStatus_Name(assessment.consent_status()), "CONSENT_STATUS_")
      << ")\n"
      << "  decision:          "
      << Name(hub::events::v1::ReferralDecision_Name(assessment.referral_decision()),
              "REFERRAL_DECISION_")
      << "\n"
      << "  MARAC / IDVA:      " << (assessment.marac_referral() ? "yes" : "no") << " / "
      << (assessment.idva_referral() ? "yes" : "no") << "\n"
      << "  needs:             " << absl::StrJoin(assessment.needs(), ", ") << "\n";
  if (assessment.has_referral_due()) {
    out << "  referral due:      " << When(assessment.referral_due()) << "\n";
  }
  if (assessment.has_consent_contact_due()) {
    out << "  consent contact:   " << When(assessment.consent_contact_due()) << "\n";
  }
  if (assessment.has_first_contact_due()) {
    out << "  first contact due: " << When(assessment.first_contact_due()) << "\n";
  }
  for (const auto& deadline : assessment.case_update_deadlines()) {
    out << "  update due:        " << When(deadline.due()) << " ("
        << Name(hub::intake::v1::MilestoneType_Name(deadline.milestone()), "MILESTONE_TYPE_")
        << ")\n";
  }
  out << "  why:\n";
  for (const auto& explanation : assessment.explanations()) {
    out << "    " << explanation.rule() << ": " << explanation.reason() << "\n";
  }
  out << "  rules: " << assessment.rules_version() << "\n";
}

std::string Json(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

int Explain(const Parsed& parsed, std::istream& in, std::ostream& out, std::ostream& err) {
  const std::string& path = parsed.flags.at("explain");
  if (path.empty()) {
    err << "hubctl triage --explain: name a JSON file holding hub.intake.v1.CrimeReport\n";
    return kUsage;
  }
  absl::Time now = absl::Now();
  if (auto at = parsed.flags.find("at"); at != parsed.flags.end()) {
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, at->second, &now, &error)) {
      err << "hubctl triage --explain: --at must be an RFC 3339 time: " << error << "\n";
      return kUsage;
    }
  }
  const triage::RulePaths defaults = triage::DefaultRulePaths();
  triage::RulePaths paths{
      FlagOrEnv(parsed, "rules", "HUB_RULES", defaults.rules),
      FlagOrEnv(parsed, "offence-table", "HUB_OFFENCE_TABLE", defaults.offences),
      FlagOrEnv(parsed, "calendar", "HUB_CALENDAR", defaults.calendar)};
  absl::StatusOr<std::shared_ptr<const triage::RuleBook>> book = triage::RuleBook::Load(paths);
  if (!book.ok()) {
    err << "hubctl triage: the rule files do not check: " << book.status().message() << "\n";
    return kFailed;
  }
  hub::intake::v1::CrimeReport report;
  if (!ReadJson(path, in, &report, err)) {
    return kFailed;
  }
  // The same checks intake makes: an assessment of a report intake would refuse means
  // nothing.
  std::vector<intake::FieldViolation> violations = intake::ValidateCrimeReport(report, now);
  if (!violations.empty()) {
    err << path << ": intake would refuse this report:\n";
    for (const auto& violation : violations) {
      err << "  " << violation.field << ": " << violation.description << "\n";
    }
    return kFailed;
  }
  const bool json = parsed.flags.count("json") > 0;
  for (hub::events::v1::CrimeReported& crime :
       intake::SplitIntoCases(report, now, "staff:hub:hubctl")) {
    intake::DeriveAgeAtOffence(crime.mutable_report()->mutable_victims(0),
                               absl::FromUnixSeconds(report.reported_at().seconds()));
    triage::AssessmentInput input;
    input.crime = std::move(crime);
    input.now = now;
    input.trigger_event_id = "hubctl-explain";
    NeedsAssessed assessment = triage::Assess(**book, input);
    assessment.clear_crime();
    if (json) {
      out << Json(assessment);
      continue;
    }
    out << "victim " << input.crime.report().victims(0).victim_ref() << " (case "
        << assessment.case_id() << ")\n";
    PrintAssessment(assessment, out);
  }
  if (!json) {
    out << "Nothing was published. Earlier reports against the same victim (repeat "
           "victimisation) are counted by the triage service, not here.\n";
  }
  return kOk;
}

std::unique_ptr<hub::triage::v1::TriageService::Stub> TriageStub(const Parsed& parsed) {
  std::string address = FlagOrEnv(parsed, "triage", "HUB_TRIAGE_ADDR", "127.0.0.1:50052");
  return hub::triage::v1::TriageService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

int Reassess(const Parsed& parsed, std::ostream& out, std::ostream& err) {
  if (parsed.positional.size() != 3) {
    err << "hubctl triage reassess: give one CASE_ID\n";
    return kUsage;
  }
  hub::triage::v1::RequestReassessmentRequest request;
  request.set_case_id(parsed.positional[2]);
  request.set_request_id(FlagOrEnv(parsed, "request-id", "HUB_REQUEST_ID", ""));
  const std::string reason = absl::AsciiStrToUpper(FlagOrEnv(parsed, "reason", "", ""));
  hub::events::v1::ReassessmentReason reason_value;
  if (!hub::events::v1::ReassessmentReason_Parse(absl::StrCat("REASSESSMENT_REASON_", reason),
                                                 &reason_value)) {
    err << "hubctl triage reassess: --reason must be professional_judgement, "
           "potential_escalation, victim_request or change_of_circumstances\n";
    return kUsage;
  }
  request.set_reason(reason_value);
  if (auto priority = parsed.flags.find("priority"); priority != parsed.flags.end()) {
    hub::events::v1::Priority value;
    if (!hub::events::v1::Priority_Parse(
            absl::StrCat("PRIORITY_", absl::AsciiStrToUpper(priority->second)), &value)) {
      err << "hubctl triage reassess: --priority must be immediate or enhanced\n";
      return kUsage;
    }
    request.set_minimum_priority(value);
  }
  request.set_refer_to_marac(parsed.flags.count("marac") > 0);
  if (auto needs = parsed.flags.find("needs"); needs != parsed.flags.end()) {
    for (absl::string_view need : absl::StrSplit(needs->second, ',', absl::SkipEmpty())) {
      request.add_additional_needs(std::string(need));
    }
  }
  grpc::ClientContext context;
  SetDeadline(&context);
  context.AddMetadata("x-hub-caller",
                      FlagOrEnv(parsed, "caller", "HUB_CALLER", "staff:hub:hubctl"));
  hub::triage::v1::RequestReassessmentResponse response;
  grpc::Status status = TriageStub(parsed)->RequestReassessment(&context, request, &response);
  if (!status.ok()) {
    PrintRefusal("hubctl triage reassess", status, err);
    return kFailed;
  }
  out << "re-assessment requested for " << request.case_id() << " (event " << response.event_id()
      << ")" << (response.duplicate() ? " [duplicate: already requested]" : "") << "\n";
  return kOk;
}

int History(const Parsed& parsed, std::ostream& out, std::ostream& err) {
  if (parsed.positional.size() != 3) {
    err << "hubctl triage history: give one CASE_ID\n";
    return kUsage;
  }
  hub::triage::v1::GetAssessmentsRequest request;
  request.set_case_id(parsed.positional[2]);
  grpc::ClientContext context;
  SetDeadline(&context);
  context.AddMetadata("x-hub-caller",
                      FlagOrEnv(parsed, "caller", "HUB_CALLER", "staff:hub:hubctl"));
  hub::triage::v1::GetAssessmentsResponse response;
  grpc::Status status = TriageStub(parsed)->GetAssessments(&context, request, &response);
  if (!status.ok()) {
    PrintRefusal("hubctl triage history", status, err);
    return kFailed;
  }
  if (parsed.flags.count("json") > 0) {
    out << Json(response);
    return kOk;
  }
  for (const NeedsAssessed& assessment : response.assessments()) {
    out << "assessment " << assessment.sequence() << " ("
        << Name(hub::events::v1::AssessmentTrigger_Name(assessment.trigger()),
                "ASSESSMENT_TRIGGER_")
        << ", " << When(assessment.assessed_at()) << ")\n";
    PrintAssessment(assessment, out);
  }
  return kOk;
}

}  // namespace

int Triage(const Parsed& parsed, std::istream& in, std::ostream& out, std::ostream& err) {
  if (parsed.flags.count("explain") > 0) {
    return Explain(parsed, in, out, err);
  }
  const std::string verb = parsed.positional.size() > 1 ? parsed.positional[1] : "";
  if (verb == "reassess") {
    return Reassess(parsed, out, err);
  }
  if (verb == "history") {
    return History(parsed, out, err);
  }
  err << "hubctl triage: use --explain FILE, reassess CASE_ID or history CASE_ID (hubctl --help)\n";
  return kUsage;
}

}  // namespace hub::hubctl
