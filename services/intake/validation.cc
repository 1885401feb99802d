#include "services/intake/validation.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"

namespace hub::intake {
namespace {

using hub::intake::v1::ContactRoute;
using hub::intake::v1::CrimeReport;
using hub::intake::v1::Victim;

constexpr size_t kMaxVictims = 100;
constexpr size_t kMaxContactRoutes = 10;
constexpr uint32_t kMaxAge = 120;
constexpr uint32_t kMaxDashScore = 27;
constexpr absl::Duration kAllowedClockSkew = absl::Minutes(1);
// The Victims' Code predates none of the crimes the hub handles by more than decades; a
// report older than this is a typo, not a backfill.
constexpr absl::Duration kOldestReport = absl::Hours(24 * 366 * 30);

bool AllOf(absl::string_view text, bool (*allowed)(char)) {
  for (char c : text) {
    if (!allowed(c)) {
      return false;
    }
  }
  return true;
}

bool IsUpperAlnum(char c) { return absl::ascii_isupper(c) || absl::ascii_isdigit(c); }
bool IsReferenceChar(char c) { return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '/'; }
bool IsSystemChar(char c) {
  return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-' || c == '_';
}
bool IsEventIdChar(char c) { return absl::ascii_isgraph(c); }

void CheckText(absl::string_view value, absl::string_view field, size_t min, size_t max,
               bool (*allowed)(char), absl::string_view what,
               std::vector<FieldViolation>* violations) {
  if (value.empty() && min > 0) {
    violations->push_back({std::string(field), "is required"});
  } else if (value.size() < min || value.size() > max || !AllOf(value, allowed)) {
    violations->push_back({std::string(field), absl::StrCat("must be ", min, "-", max, " ", what)});
  }
}

// Home Office offence class codes: 1-3 digits, optionally a '.' and 1-2 more digits for a
// sub-class, then optionally 1-2 upper-case letters ("8L", "28E", "105A", "4.4", "3.2B").
bool IsOffenceClassCode(absl::string_view code) {
  auto take_digits = [&code](size_t max) {
    size_t n = 0;
    while (n < code.size() && n < max + 1 && absl::ascii_isdigit(code[n])) {
      ++n;
    }
    code.remove_prefix(n);
    return n;
  };
  size_t digits = take_digits(3);
  if (digits < 1 || digits > 3) {
    return false;
  }
  if (!code.empty() && code.front() == '.') {
    code.remove_prefix(1);
    size_t sub = take_digits(2);
    if (sub < 1 || sub > 2) {
      return false;
    }
  }
  return code.size() <= 2 && AllOf(code, [](char c) { return absl::ascii_isupper(c) != 0; });
}

// ONS GSS codes for local authorities: a letter (E, W) and 8 digits.
bool IsGssCode(absl::string_view code) {
  return code.size() == 9 && (code[0] == 'E' || code[0] == 'W') &&
         AllOf(code.substr(1), [](char c) { return absl::ascii_isdigit(c) != 0; });
}

void CheckVictim(const Victim& victim, const std::string& path, std::set<std::string>* refs,
                 std::vector<FieldViolation>* violations) {
  CheckText(victim.victim_ref(), path + ".victim_ref", 1, 64, IsReferenceChar,
            "letters, digits, '-', '_' or '/'", violations);
  if (!victim.victim_ref().empty() && !refs->insert(victim.victim_ref()).second) {
    violations->push_back({path + ".victim_ref", "repeats another victim's victim_ref"});
  }
  if (victim.has_age_at_offence() && victim.age_at_offence() > kMaxAge) {
    violations->push_back({path + ".age_at_offence", absl::StrCat("must be 0-", kMaxAge)});
  }
  if (victim.has_dash_score() && victim.dash_score() > kMaxDashScore) {
    violations->push_back({path + ".dash_score", absl::StrCat("must be 0-", kMaxDashScore)});
  }
  if (victim.consent() == hub::intake::v1::CONSENT_STATUS_UNSPECIFIED) {
    violations->push_back(
        {path + ".consent", "is required: CONSENT_STATUS_NOT_ASKED, _GIVEN or _DECLINED"});
  }
  if (victim.contact_routes_size() > static_cast<int>(kMaxContactRoutes)) {
    violations->push_back(
        {path + ".contact_routes", absl::StrCat("at most ", kMaxContactRoutes, " routes")});
  }
  for (int i = 0; i < victim.contact_routes_size(); ++i) {
    if (victim.contact_routes(i).channel() == ContactRoute::CHANNEL_UNSPECIFIED) {
      violations->push_back(
          {absl::StrCat(path, ".contact_routes[", i, "].channel"), "is required"});
    }
  }
  if (victim.contact_routes_size() == 0 && !victim.no_contact()) {
    violations->push_back(
        {path + ".contact_routes", "at least one contact route, or set no_contact"});
  }
  if (victim.contact_routes_size() > 0 && victim.no_contact()) {
    violations->push_back({path + ".no_contact", "is set but contact routes are given"});
  }
  if (!victim.language().empty() &&
      (victim.language().size() > 35 ||
       !AllOf(victim.language(), [](char c) { return absl::ascii_isalnum(c) || c == '-'; }))) {
    violations->push_back({path + ".language", "must be a BCP 47 tag such as 'en' or 'cy'"});
  }
}

bool IsValidTimestamp(const google::protobuf::Timestamp& timestamp) {
  return timestamp.seconds() >= google::protobuf::util::TimeUtil::kTimestampMinSeconds &&
         timestamp.seconds() <= google::protobuf::util::TimeUtil::kTimestampMaxSeconds &&
         timestamp.nanos() >= 0 && timestamp.nanos() <= 999999999;
}

}  // namespace

std::vector<FieldViolation> ValidateCrimeReport(const CrimeReport& report, absl::Time now) {
  std::vector<FieldViolation> violations;
  CheckText(report.force_code(), "report.force_code", 2, 8, IsUpperAlnum,
            "upper-case letters or digits", &violations);
  CheckText(report.source_system(), "report.source_system", 1, 32, IsSystemChar,
            "lower-case letters, digits, '-' or '_'", &violations);
  CheckText(report.source_event_id(), "report.source_event_id", 1, 128, IsEventIdChar,
            "printable characters without spaces", &violations);
  CheckText(report.crime_reference(), "report.crime_reference", 1, 64, IsReferenceChar,
            "letters, digits, '-', '_' or '/'", &violations);
  if (!report.has_reported_at()) {
    violations.push_back({"report.reported_at", "is required"});
  } else if (!IsValidTimestamp(report.reported_at())) {
    violations.push_back({"report.reported_at", "is not a valid timestamp"});
  } else {
    absl::Time reported = absl::FromUnixSeconds(report.reported_at().seconds()) +
                          absl::Nanoseconds(report.reported_at().nanos());
    if (reported > now + kAllowedClockSkew) {
      violations.push_back({"report.reported_at", "is in the future"});
    } else if (reported < now - kOldestReport) {
      violations.push_back({"report.reported_at", "is more than 30 years ago"});
    }
  }
  if (report.offence_class_code().empty()) {
    violations.push_back({"report.offence_class_code", "is required"});
  } else if (!IsOffenceClassCode(report.offence_class_code())) {
    violations.push_back({"report.offence_class_code",
                          "must be a Home Office offence class code such as '8L', '28E' or '4.4'"});
  }
  if (!report.local_authority_code().empty() && !IsGssCode(report.local_authority_code())) {
    violations.push_back(
        {"report.local_authority_code", "must be an ONS local authority code such as 'E07000008'"});
  }
  if (report.victims().empty()) {
    violations.push_back({"report.victims", "at least one victim is required"});
  } else if (report.victims_size() > static_cast<int>(kMaxVictims)) {
    violations.push_back({"report.victims", absl::StrCat("at most ", kMaxVictims, " victims")});
  } else {
    std::set<std::string> refs;
    for (int i = 0; i < report.victims_size(); ++i) {
      CheckVictim(report.victims(i), absl::StrCat("report.victims[", i, "]"), &refs, &violations);
    }
  }
  return violations;
}

absl::Status ViolationsToStatus(const std::vector<FieldViolation>& violations) {
  if (violations.empty()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrJoin(violations, "; ", [](std::string* out, const FieldViolation& violation) {
        absl::StrAppend(out, violation.field, ": ", violation.description);
      }));
}

}  // namespace hub::intake
