// libFuzzer target for intake's front door: decodes arbitrary bytes as the requests intake
// accepts (see intake_fuzz_input.h for the format), runs the matching validation, and for
// requests validation accepts runs what intake does next with them (the content digest,
// splitting a report into cases, turning a self-referral into a case).
//
// Beyond "no crash, no sanitizer report" it checks invariants: every violation names a
// field inside the request and says something, validation is deterministic, an accepted
// report stays accepted after a round trip through the wire format, and one case comes out
// per victim with a well-formed case id. A broken invariant aborts, which libFuzzer records
// as a crash. Built only in the clang fuzz build (tests/fuzz/run, -DHUB_FUZZ=ON).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/json_util.h"

#include "services/intake/cases.h"
#include "services/intake/validation.h"
#include "tests/fuzz/intake_fuzz_input.h"

namespace hub::fuzz {
namespace {

using hub::intake::FieldViolation;

// A fixed clock, so a crash file reproduces on any day: 2026-11-25T12:00:00Z.
const absl::Time kNow = absl::FromUnixSeconds(1795608000);
constexpr char kCaller[] = "fuzz";

void Check(bool ok, const char* invariant) {
  if (!ok) {
    std::cerr << "intake_request_fuzz: invariant broken: " << invariant << std::endl;
    std::abort();
  }
}

// Every violation names a field under `prefix` ("report." etc.) and says what is wrong.
void CheckViolations(const std::vector<FieldViolation>& violations, absl::string_view prefix) {
  for (const FieldViolation& violation : violations) {
    Check(absl::StartsWith(violation.field, prefix), "violation outside the request");
    Check(!violation.description.empty(), "violation without a description");
  }
  Check(violations.empty() == hub::intake::ViolationsToStatus(violations).ok(),
        "ViolationsToStatus disagrees with the violations");
}

bool IsCaseId(absl::string_view id, absl::string_view prefix) {
  return absl::StartsWith(id, prefix) && id.size() == 26;
}

void FuzzReport(const hub::intake::v1::CrimeReport& report) {
  const std::vector<FieldViolation> violations = hub::intake::ValidateCrimeReport(report, kNow);
  CheckViolations(violations, "report.");
  Check(hub::intake::ValidateCrimeReport(report, kNow).size() == violations.size(),
        "report validation is not deterministic");
  if (!violations.empty()) {
    return;
  }
  hub::intake::v1::CrimeReport copy;
  Check(copy.ParseFromString(report.SerializeAsString()), "accepted report does not re-parse");
  Check(hub::intake::ValidateCrimeReport(copy, kNow).empty(),
        "accepted report is refused after a round trip");
  Check(hub::intake::ContentDigest(report) == hub::intake::ContentDigest(copy),
        "equal reports digest differently");
  const auto cases = hub::intake::SplitIntoCases(report, kNow, kCaller);
  Check(static_cast<int>(cases.size()) == report.victims_size(), "not one case per victim");
  for (const auto& event : cases) {
    Check(IsCaseId(event.case_id(), "c_"), "malformed case id");
    Check(event.report().victims_size() == 1, "a case carries other victims");
  }
}

void FuzzUpdate(const hub::intake::v1::CrimeUpdate& update) {
  const std::vector<FieldViolation> violations = hub::intake::ValidateCrimeUpdate(update, kNow);
  CheckViolations(violations, "update.");
  if (violations.empty()) {
    Check(update.change_case() != hub::intake::v1::CrimeUpdate::CHANGE_NOT_SET,
          "an update without a change was accepted");
    hub::intake::ContentDigest(update);
  }
}

void FuzzSelfReferral(const hub::intake::v1::SelfReferral& referral) {
  const std::vector<FieldViolation> violations = hub::intake::ValidateSelfReferral(referral, kNow);
  CheckViolations(violations, "referral.");
  if (violations.empty()) {
    const auto event = hub::intake::SelfReferralToCase(referral, kNow, kCaller);
    Check(IsCaseId(event.case_id(), "s_"), "malformed self-referral case id");
    Check(event.report().victims_size() == 1, "a self-referral case without its victim");
  }
}

}  // namespace
}  // namespace hub::fuzz

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv);
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

// Protobuf logs every string field with invalid UTF-8 it refuses to parse; the fuzzer makes
// many, and the log would drown libFuzzer's own output.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using hub::fuzz::IntakeInput;
  if (size == 0) {
    return 0;
  }
  const auto kind = static_cast<IntakeInput>(data[0] % hub::fuzz::kIntakeInputKinds);
  const char* payload = reinterpret_cast<const char*>(data + 1);
  const int length = static_cast<int>(size - 1);
  switch (kind) {
    case IntakeInput::kCrimeReport: {
      hub::intake::v1::SubmitCrimeReportRequest request;
      if (request.ParseFromArray(payload, length)) {
        hub::fuzz::FuzzReport(request.report());
      }
      break;
    }
    case IntakeInput::kCrimeUpdate: {
      hub::intake::v1::UpdateCrimeReportRequest request;
      if (request.ParseFromArray(payload, length)) {
        hub::fuzz::FuzzUpdate(request.update());
      }
      break;
    }
    case IntakeInput::kSelfReferral: {
      hub::intake::v1::SubmitSelfReferralRequest request;
      if (request.ParseFromArray(payload, length)) {
        hub::fuzz::FuzzSelfReferral(request.referral());
      }
      break;
    }
    case IntakeInput::kCrimeReportJson: {
      hub::intake::v1::CrimeReport report;
      if (google::protobuf::util::JsonStringToMessage(std::string(payload, size - 1), &report)
              .ok()) {
        hub::fuzz::FuzzReport(report);
      }
      break;
    }
  }
  return 0;
}
