#include "services/intake/validation.h"

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "google/protobuf/repeated_field.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/time_util.h"

namespace hub::intake {
namespace {

using google::protobuf::RepeatedField;
using google::protobuf::RepeatedPtrField;
using google::protobuf::Timestamp;
using hub::intake::v1::Consent;
using hub::intake::v1::ContactRoute;
using hub::intake::v1::CrimeFlags;
using hub::intake::v1::CrimeReport;
using hub::intake::v1::CrimeUpdate;
using hub::intake::v1::Date;
using hub::intake::v1::Location;
using hub::intake::v1::Milestone;
using hub::intake::v1::PersonName;
using hub::intake::v1::PostalAddress;
using hub::intake::v1::Representative;
using hub::intake::v1::RequestErasureRequest;
using hub::intake::v1::SafeTime;
using hub::intake::v1::SelfReferral;
using hub::intake::v1::Victim;

constexpr size_t kMaxVictims = 100;
constexpr size_t kMaxContactRoutes = 10;
constexpr size_t kMaxSafeTimes = 14;
constexpr size_t kMaxAddressLines = 4;
constexpr size_t kMaxCommunicationNeeds = 8;
constexpr size_t kMaxProviderIds = 20;
constexpr size_t kMaxMilestoneVictims = 100;
constexpr size_t kMaxNamePart = 128;
constexpr size_t kMaxAddressLine = 128;
constexpr size_t kMaxTown = 64;
constexpr size_t kMaxRole = 64;
constexpr size_t kMaxBusinessName = 128;
constexpr size_t kMaxEmail = 254;
constexpr size_t kMaxPhone = 32;
constexpr size_t kMaxLanguageTag = 35;
constexpr uint32_t kMaxAge = 120;
constexpr uint32_t kMaxDashScore = 27;
constexpr uint32_t kAdultAge = 18;
constexpr int kMinYear = 1900;
constexpr int kMaxYear = 2100;
constexpr int kMinutesPerDay = 1440;
constexpr int kMaxOutcomeCode = 22;
constexpr absl::Duration kAllowedClockSkew = absl::Minutes(1);
// A report older than this is a typo, not a backfill.
constexpr int kOldestReportYears = 30;

// What each kind of field must look like, as the descriptions say it.
constexpr char kForceCodeRule[] = "must be 2 to 8 upper-case letters or digits";
constexpr char kSourceSystemRule[] = "must be 1 to 32 lower-case letters, digits, '-' or '_'";
constexpr char kSourceEventIdRule[] = "must be 1 to 128 printable characters without spaces";
constexpr char kReferenceRule[] = "must be 1 to 64 letters, digits, '-', '_' or '/'";
constexpr char kOffenceClassRule[] =
    "must be a Home Office offence class code such as '8L', '28E' or '3.2B'";
constexpr char kCjsCodeRule[] =
    "must be a CJS offence code: 2 upper-case letters and 5 digits, or COML and 3 digits, then "
    "an optional suffix A, B, C or I";
constexpr char kUrnRule[] =
    "must be 11 characters: 2 digits of force, 2 upper-case letters of station, 5 digits of "
    "serial and 2 digits of year";
constexpr char kGssRule[] = "must be an ONS local authority code: E or W and 8 digits";
constexpr char kDistrictRule[] = "must be the outward half of a UK postcode, such as 'CB1'";
constexpr char kPostcodeRule[] = "must be a UK postcode such as 'CB1 2AB'";
constexpr char kPhoneRule[] =
    "must be a UK phone number: digits and spaces, starting 0 or +44, 10 or 11 digits in "
    "national form";
constexpr char kMobileRule[] =
    "must be a UK mobile number: digits and spaces, starting 07 or +447, 11 digits in "
    "national form";
constexpr char kEmailRule[] =
    "must be an email address of at most 254 bytes: one '@', a non-empty local part, a "
    "domain with a dot, no spaces";
constexpr char kLanguageRule[] = "must be a BCP 47 language tag such as 'en', 'cy' or 'pt-BR'";
constexpr char kRecordedByRule[] = "must be 1 to 64 letters, digits, '-', '_', '.' or ':'";
constexpr char kProviderIdRule[] = "must be 1 to 64 lower-case letters, digits, '-' or '_'";
constexpr char kCaseIdRule[] = "must be 'c_' or 's_' followed by 24 lower-case hex digits";
constexpr char kCleanTextRule[] = "must be valid UTF-8 without control characters";
constexpr char kUnknownEnum[] = "is not a known value";
constexpr char kFutureRule[] = "must not be in the future (a minute of clock skew is allowed)";
constexpr char kUsableRoute[] = "at least one route not marked CHANNEL_SAFETY_UNSAFE is required";

// ---- Character classes and formats.

bool AllOf(absl::string_view text, bool (*allowed)(char)) {
  for (char c : text) {
    if (!allowed(c)) {
      return false;
    }
  }
  return true;
}

bool IsDigit(char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }
bool IsAlpha(char c) { return absl::ascii_isalpha(static_cast<unsigned char>(c)); }
bool IsUpper(char c) { return absl::ascii_isupper(static_cast<unsigned char>(c)); }
bool IsAlnum(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); }
bool IsLowerHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }
bool IsUpperAlnum(char c) { return IsUpper(c) || IsDigit(c); }
bool IsReferenceChar(char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '/'; }
bool IsSystemChar(char c) {
  return absl::ascii_islower(static_cast<unsigned char>(c)) || IsDigit(c) || c == '-' || c == '_';
}
bool IsGraphic(char c) { return c > ' ' && c < '\x7f'; }
bool IsPrintable(char c) { return c >= ' ' && c < '\x7f'; }
bool IsRecordedByChar(char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.' || c == ':'; }

bool IsToken(absl::string_view text, size_t min, size_t max, bool (*allowed)(char)) {
  return text.size() >= min && text.size() <= max && AllOf(text, allowed);
}

// Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF) with no
// control characters (C0, DEL, C1).
bool IsCleanText(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      if (lead < 0x20 || lead == 0x7f) {
        return false;
      }
      ++i;
      continue;
    }
    size_t length = 0;
    uint32_t code_point = 0;
    uint32_t smallest = 0;
    if ((lead & 0xe0) == 0xc0) {
      length = 2;
      code_point = lead & 0x1fU;
      smallest = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3;
      code_point = lead & 0x0fU;
      smallest = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4;
      code_point = lead & 0x07U;
      smallest = 0x10000;
    } else {
      return false;
    }
    if (text.size() - i < length) {
      return false;
    }
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) {
        return false;
      }
      code_point = (code_point << 6) | (next & 0x3fU);
    }
    if (code_point < smallest || code_point > 0x10ffff ||
        (code_point >= 0xd800 && code_point <= 0xdfff) || code_point <= 0x9f) {
      return false;
    }
    i += length;
  }
  return true;
}

// Home Office offence class codes: 1-3 digits, optionally a '.' and 1-2 more digits for a
// sub-class, then optionally 1-2 upper-case letters ("8L", "28E", "105A", "4.4", "3.2B").
bool IsOffenceClassCode(absl::string_view code) {
  auto take_digits = [&code](size_t max) {
    size_t n = 0;
    while (n < code.size() && n < max + 1 && IsDigit(code[n])) {
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
  return code.size() <= 2 && AllOf(code, IsUpper);
}

// CJS offence codes: "AAYYNNN" ("TH68010"), or "COMLNNN" for common-law offences such as
// murder ("COML025"), and an optional suffix A, B, C or I ("OF61016A").
bool IsCjsOffenceCode(absl::string_view code) {
  if (code.size() != 7 && code.size() != 8) {
    return false;
  }
  const bool statute = IsUpper(code[0]) && IsUpper(code[1]) && AllOf(code.substr(2, 5), IsDigit);
  const bool common_law = code.substr(0, 4) == "COML" && AllOf(code.substr(4, 3), IsDigit);
  if (!statute && !common_law) {
    return false;
  }
  return code.size() == 7 || absl::string_view("ABCI").find(code[7]) != absl::string_view::npos;
}

// A prosecution case file URN: force (2 digits), station (2 letters), serial (5 digits),
// year (2 digits), e.g. "35AB1234526".
bool IsUrn(absl::string_view urn) {
  return urn.size() == 11 && AllOf(urn.substr(0, 2), IsDigit) && AllOf(urn.substr(2, 2), IsUpper) &&
         AllOf(urn.substr(4), IsDigit);
}

// ONS GSS codes for local authorities in England and Wales: E or W and 8 digits.
bool IsGssCode(absl::string_view code) {
  return code.size() == 9 && (code[0] == 'E' || code[0] == 'W') && AllOf(code.substr(1), IsDigit);
}

// The outward half of a UK postcode, any case: A9, A9A, A99, AA9, AA9A or AA99.
bool IsOutwardCode(absl::string_view code) {
  size_t i = 0;
  while (i < code.size() && i < 2 && IsAlpha(code[i])) {
    ++i;
  }
  if (i == 0 || i >= code.size() || !IsDigit(code[i])) {
    return false;
  }
  ++i;
  if (i < code.size() && IsAlnum(code[i])) {
    ++i;
  }
  return i == code.size();
}

// A full UK postcode, any case, with or without the space: outward code, then a digit and
// two letters.
bool IsPostcode(absl::string_view postcode) {
  if (postcode.size() < 5 || postcode.size() > 8) {
    return false;
  }
  absl::string_view inward = postcode.substr(postcode.size() - 3);
  absl::string_view outward = postcode.substr(0, postcode.size() - 3);
  if (absl::EndsWith(outward, " ")) {
    outward.remove_suffix(1);
  }
  return IsOutwardCode(outward) && IsDigit(inward[0]) && IsAlpha(inward[1]) && IsAlpha(inward[2]);
}

// The national significant number (without the leading 0 or 44) of a UK number written
// with digits, spaces and a leading 0 or +44; empty when `value` is not one.
std::string UkNationalNumber(absl::string_view value) {
  if (value.size() > kMaxPhone) {
    return "";
  }
  std::string digits;
  bool international = false;
  for (char c : value) {
    if (c == ' ') {
      continue;
    }
    if (c == '+' && digits.empty() && !international) {
      international = true;
    } else if (IsDigit(c)) {
      digits.push_back(c);
    } else {
      return "";
    }
  }
  absl::string_view prefix = international ? "44" : "0";
  if (!absl::StartsWith(digits, prefix)) {
    return "";
  }
  digits.erase(0, prefix.size());
  if (digits.size() < 9 || digits.size() > 10 || digits[0] == '0') {
    return "";
  }
  return digits;
}

bool IsUkPhone(absl::string_view value) { return !UkNationalNumber(value).empty(); }

bool IsUkMobile(absl::string_view value) {
  std::string national = UkNationalNumber(value);
  return national.size() == 10 && national[0] == '7';
}

bool IsEmail(absl::string_view value) {
  if (value.size() > kMaxEmail || !IsCleanText(value) ||
      value.find(' ') != absl::string_view::npos) {
    return false;
  }
  size_t at = value.find('@');
  if (at == absl::string_view::npos || at == 0 ||
      value.find('@', at + 1) != absl::string_view::npos) {
    return false;
  }
  absl::string_view domain = value.substr(at + 1);
  return domain.find('.') != absl::string_view::npos && domain.front() != '.' &&
         domain.back() != '.';
}

// A BCP 47 tag as the hub needs it: a primary language subtag of 2 or 3 letters, then
// subtags of 1 to 8 letters or digits, separated by '-', 35 bytes at most.
bool IsLanguageTag(absl::string_view tag) {
  if (tag.size() > kMaxLanguageTag) {
    return false;
  }
  bool primary = true;
  for (absl::string_view subtag : absl::StrSplit(tag, '-')) {
    if (primary) {
      if (subtag.size() < 2 || subtag.size() > 3 || !AllOf(subtag, IsAlpha)) {
        return false;
      }
      primary = false;
    } else if (!IsToken(subtag, 1, 8, IsAlnum)) {
      return false;
    }
  }
  return true;
}

bool IsEnglish(absl::string_view tag) {
  absl::string_view primary = tag.substr(0, tag.find('-'));
  return absl::EqualsIgnoreCase(primary, "en");
}

bool IsCaseId(absl::string_view id) {
  return id.size() == 26 && (absl::StartsWith(id, "c_") || absl::StartsWith(id, "s_")) &&
         AllOf(id.substr(2), IsLowerHex);
}

// ---- Time and dates.

std::optional<absl::Time> ToTime(const Timestamp& timestamp) {
  using google::protobuf::util::TimeUtil;
  if (timestamp.seconds() < TimeUtil::kTimestampMinSeconds ||
      timestamp.seconds() > TimeUtil::kTimestampMaxSeconds || timestamp.nanos() < 0 ||
      timestamp.nanos() > 999999999) {
    return std::nullopt;
  }
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

// Civil dates are the victim's, so they are read in UK local time.
const absl::TimeZone& UkTimeZone() {
  static const absl::TimeZone* const zone = [] {
    auto* london = new absl::TimeZone(absl::UTCTimeZone());
    absl::LoadTimeZone("Europe/London", london);  // Stays UTC without tzdata.
    return london;
  }();
  return *zone;
}

absl::CivilDay UkDay(absl::Time time) { return absl::ToCivilDay(time, UkTimeZone()); }

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Whole years from `birth` to `on`.
int AgeOn(absl::CivilDay birth, absl::CivilDay on) {
  int years = static_cast<int>(on.year() - birth.year());
  if (on.month() < birth.month() || (on.month() == birth.month() && on.day() < birth.day())) {
    --years;
  }
  return years;
}

// What a victim record must carry where it appears.
struct VictimRules {
  bool victim_ref_required = true;
  bool consent_required = true;
  // The day ages are computed on: when the crime was reported, or failing that now.
  absl::CivilDay age_day;
};

// Collects the violations of one request. The Check* methods each add what is wrong with
// one message at `path`.
class Checker {
 public:
  explicit Checker(absl::Time now) : now_(now) {}

  std::vector<FieldViolation> Take() && { return std::move(violations_); }

  void Add(std::string field, std::string description) {
    violations_.push_back({std::move(field), std::move(description)});
  }

  absl::Time now() const { return now_; }

  // A free-text field of at most `max` bytes; required when `required`.
  void FreeText(absl::string_view value, const std::string& path, size_t max, bool required) {
    if (value.empty()) {
      if (required) {
        Add(path, "is required");
      }
    } else if (value.size() > max) {
      Add(path, absl::StrCat("must be at most ", max, " bytes"));
    } else if (!IsCleanText(value)) {
      Add(path, kCleanTextRule);
    }
  }

  // A field with a fixed format; `rule` says what it must be.
  void Format(absl::string_view value, const std::string& path, bool required,
              bool (*valid)(absl::string_view), const char* rule) {
    if (value.empty()) {
      if (required) {
        Add(path, "is required");
      }
    } else if (!valid(value)) {
      Add(path, rule);
    }
  }

  void Enum(int value, const std::string& path, bool (*is_valid)(int), bool required) {
    if (!is_valid(value)) {
      Add(path, kUnknownEnum);
    } else if (required && value == 0) {
      Add(path, "is required");
    }
  }

  // A repeated enum: known values, none unspecified, no repeats, at most `max` (0: no limit).
  void EnumList(const RepeatedField<int>& values, const std::string& path, bool (*is_valid)(int),
                size_t max) {
    if (max > 0 && static_cast<size_t>(values.size()) > max) {
      Add(path, absl::StrCat("must have at most ", max, " entries"));
      return;
    }
    std::set<int> seen;
    for (int i = 0; i < values.size(); ++i) {
      const std::string item = absl::StrCat(path, "[", i, "]");
      if (!is_valid(values[i])) {
        Add(item, kUnknownEnum);
      } else if (values[i] == 0) {
        Add(item, "must not be the unspecified value");
      } else if (!seen.insert(values[i]).second) {
        Add(item, "repeats an earlier entry");
      }
    }
  }

  // A timestamp that may not be in the future; its time when it is set and acceptable.
  std::optional<absl::Time> PastTime(bool has, const Timestamp& timestamp, const std::string& path,
                                     bool required) {
    if (!has) {
      if (required) {
        Add(path, "is required");
      }
      return std::nullopt;
    }
    std::optional<absl::Time> time = ToTime(timestamp);
    if (!time.has_value()) {
      Add(path, "must be a valid timestamp");
    } else if (*time > now_ + kAllowedClockSkew) {
      Add(path, kFutureRule);
      return std::nullopt;
    }
    return time;
  }

  // A calendar date from 1900 to 2100 that exists; the day when it does.
  std::optional<absl::CivilDay> CalendarDate(const Date& date, const std::string& path) {
    bool valid = true;
    if (date.year() < kMinYear || date.year() > kMaxYear) {
      Add(path + ".year", absl::StrCat("must be ", kMinYear, " to ", kMaxYear));
      valid = false;
    }
    if (date.month() < 1 || date.month() > 12) {
      Add(path + ".month", "must be 1 to 12");
      valid = false;
    } else if (date.day() < 1 || date.day() > DaysInMonth(date.year(), date.month())) {
      Add(path + ".day", "must be a day that exists in the month and year");
      valid = false;
    }
    if (!valid) {
      return std::nullopt;
    }
    return absl::CivilDay(date.year(), date.month(), date.day());
  }

  // force_code, source_system, source_event_id and crime_reference, shared by reports and
  // updates.
  template <typename Message>
  void CheckSource(const Message& message, const std::string& path) {
    Format(message.force_code(), path + ".force_code", true, IsForceCode, kForceCodeRule);
    Format(
        message.source_system(), path + ".source_system", true,
        [](absl::string_view v) { return IsToken(v, 1, 32, IsSystemChar); }, kSourceSystemRule);
    Format(
        message.source_event_id(), path + ".source_event_id", true,
        [](absl::string_view v) { return IsToken(v, 1, 128, IsGraphic); }, kSourceEventIdRule);
    Format(message.crime_reference(), path + ".crime_reference", true, IsReference, kReferenceRule);
  }

  static bool IsForceCode(absl::string_view value) { return IsToken(value, 2, 8, IsUpperAlnum); }
  static bool IsReference(absl::string_view value) {
    return IsToken(value, 1, 64, IsReferenceChar);
  }

  void CheckLocation(bool has, const Location& location, const std::string& path) {
    if (!has) {
      Add(path, "is required");
      return;
    }
    Format(location.local_authority_code(), path + ".local_authority_code", true, IsGssCode,
           kGssRule);
    Format(location.postcode_district(), path + ".postcode_district", false, IsOutwardCode,
           kDistrictRule);
  }

  void CheckFlags(const CrimeFlags& flags, const std::string& path) {
    const std::string strands = path + ".hate_crime_strands";
    if (flags.hate_crime() && flags.hate_crime_strands().empty()) {
      Add(strands, "at least one strand is required when hate_crime is set");
    } else if (!flags.hate_crime() && !flags.hate_crime_strands().empty()) {
      Add(strands, "must be empty unless hate_crime is set");
    }
    EnumList(flags.hate_crime_strands(), strands, hub::intake::v1::HateCrimeStrand_IsValid, 0);
  }

  void CheckName(const PersonName& name, const std::string& path) {
    if (name.given().empty() && name.family().empty()) {
      Add(path, "at least one of given or family is required");
    }
    FreeText(name.given(), path + ".given", kMaxNamePart, false);
    FreeText(name.family(), path + ".family", kMaxNamePart, false);
  }

  void CheckAddress(const PostalAddress& address, const std::string& path) {
    if (address.lines().empty()) {
      Add(path + ".lines", "at least one line is required");
    } else if (static_cast<size_t>(address.lines_size()) > kMaxAddressLines) {
      Add(path + ".lines", absl::StrCat("must have at most ", kMaxAddressLines, " lines"));
    } else {
      for (int i = 0; i < address.lines_size(); ++i) {
        FreeText(address.lines(i), absl::StrCat(path, ".lines[", i, "]"), kMaxAddressLine, true);
      }
    }
    FreeText(address.town(), path + ".town", kMaxTown, true);
    Format(address.postcode(), path + ".postcode", true, IsPostcode, kPostcodeRule);
  }

  void CheckSafeTime(const SafeTime& window, const std::string& path) {
    Enum(window.day(), path + ".day", hub::intake::v1::DayOfWeek_IsValid, false);
    bool start_ok = window.start_minute() >= 0 && window.start_minute() < kMinutesPerDay;
    bool end_ok = window.end_minute() >= 1 && window.end_minute() <= kMinutesPerDay;
    if (!start_ok) {
      Add(path + ".start_minute", absl::StrCat("must be 0 to ", kMinutesPerDay - 1));
    }
    if (!end_ok) {
      Add(path + ".end_minute", absl::StrCat("must be 1 to ", kMinutesPerDay));
    } else if (start_ok && window.end_minute() <= window.start_minute()) {
      Add(path + ".end_minute", "must be after start_minute");
    }
  }

  void CheckRoute(const ContactRoute& route, const std::string& path) {
    Enum(route.channel(), path + ".channel", hub::intake::v1::ContactRoute_Channel_IsValid, true);
    Enum(route.safety(), path + ".safety", hub::intake::v1::ChannelSafety_IsValid, false);
    const std::string value = path + ".value";
    switch (route.channel()) {
      case ContactRoute::CHANNEL_PHONE:
        Format(route.value(), value, true, IsUkPhone, kPhoneRule);
        break;
      case ContactRoute::CHANNEL_SMS:
        Format(route.value(), value, true, IsUkMobile, kMobileRule);
        break;
      case ContactRoute::CHANNEL_EMAIL:
        Format(route.value(), value, true, IsEmail, kEmailRule);
        break;
      case ContactRoute::CHANNEL_LETTER:
        if (!route.value().empty()) {
          Add(value, "must be empty for letter routes (the address goes in address)");
        }
        break;
      default:
        break;
    }
    if (route.channel() == ContactRoute::CHANNEL_LETTER) {
      if (route.has_address()) {
        CheckAddress(route.address(), path + ".address");
      } else {
        Add(path + ".address", "is required for letter routes");
      }
    } else if (route.has_address()) {
      Add(path + ".address", "must be unset unless channel is CHANNEL_LETTER");
    }
    if (static_cast<size_t>(route.safe_times_size()) > kMaxSafeTimes) {
      Add(path + ".safe_times", absl::StrCat("must have at most ", kMaxSafeTimes, " windows"));
    } else {
      for (int i = 0; i < route.safe_times_size(); ++i) {
        CheckSafeTime(route.safe_times(i), absl::StrCat(path, ".safe_times[", i, "]"));
      }
    }
  }

  // Checks each route; whether any of them is usable (not marked unsafe).
  bool CheckRoutes(const RepeatedPtrField<ContactRoute>& routes, const std::string& path) {
    bool usable = false;
    for (const ContactRoute& route : routes) {
      usable = usable || route.safety() != hub::intake::v1::CHANNEL_SAFETY_UNSAFE;
    }
    if (static_cast<size_t>(routes.size()) > kMaxContactRoutes) {
      Add(path, absl::StrCat("must have at most ", kMaxContactRoutes, " routes"));
      return usable;
    }
    for (int i = 0; i < routes.size(); ++i) {
      CheckRoute(routes.Get(i), absl::StrCat(path, "[", i, "]"));
    }
    return usable;
  }

  void CheckRepresentative(const Representative& representative, const std::string& path) {
    if (representative.has_name()) {
      CheckName(representative.name(), path + ".name");
    } else {
      Add(path + ".name", "is required");
    }
    FreeText(representative.role(), path + ".role", kMaxRole, true);
    if (!CheckRoutes(representative.contact_routes(), path + ".contact_routes")) {
      Add(path + ".contact_routes", kUsableRoute);
    }
  }

  void CheckConsent(const Consent& consent, const std::string& path) {
    using hub::intake::v1::CONSENT_SCOPE_NAMED_PROVIDERS;
    using hub::intake::v1::CONSENT_SCOPE_UNSPECIFIED;
    using hub::intake::v1::CONSENT_STATUS_GIVEN;
    using hub::intake::v1::CONSENT_STATUS_NOT_ASKED;
    using hub::intake::v1::CONSENT_STATUS_UNSPECIFIED;
    Enum(consent.status(), path + ".status", hub::intake::v1::ConsentStatus_IsValid, true);
    const bool recorded = consent.status() != CONSENT_STATUS_UNSPECIFIED &&
                          consent.status() != CONSENT_STATUS_NOT_ASKED &&
                          hub::intake::v1::ConsentStatus_IsValid(consent.status());
    constexpr char kUnlessNotAsked[] = "is required unless status is CONSENT_STATUS_NOT_ASKED";
    if (recorded && !consent.has_recorded_at()) {
      Add(path + ".recorded_at", kUnlessNotAsked);
    }
    PastTime(consent.has_recorded_at(), consent.recorded_at(), path + ".recorded_at", false);
    if (recorded && consent.recorded_by().empty()) {
      Add(path + ".recorded_by", kUnlessNotAsked);
    }
    Format(
        consent.recorded_by(), path + ".recorded_by", false,
        [](absl::string_view v) { return IsToken(v, 1, 64, IsRecordedByChar); }, kRecordedByRule);
    Enum(consent.scope(), path + ".scope", hub::intake::v1::ConsentScope_IsValid, false);
    if (consent.status() == CONSENT_STATUS_GIVEN && consent.scope() == CONSENT_SCOPE_UNSPECIFIED) {
      Add(path + ".scope", "is required when status is CONSENT_STATUS_GIVEN");
    }
    const std::string ids = path + ".provider_ids";
    if (consent.scope() != CONSENT_SCOPE_NAMED_PROVIDERS) {
      if (!consent.provider_ids().empty()) {
        Add(ids, "must be empty unless scope is CONSENT_SCOPE_NAMED_PROVIDERS");
      }
    } else if (consent.provider_ids().empty()) {
      Add(ids, "at least one is required when scope is CONSENT_SCOPE_NAMED_PROVIDERS");
    } else if (static_cast<size_t>(consent.provider_ids_size()) > kMaxProviderIds) {
      Add(ids, absl::StrCat("must have at most ", kMaxProviderIds, " entries"));
    } else {
      ReferenceList(
          consent.provider_ids(), ids,
          [](absl::string_view v) { return IsToken(v, 1, 64, IsProviderIdChar); }, kProviderIdRule);
    }
  }

  static bool IsProviderIdChar(char c) {
    return absl::ascii_islower(static_cast<unsigned char>(c)) || IsDigit(c) || c == '-' || c == '_';
  }

  // Repeated identifiers: each well-formed, no repeats.
  void ReferenceList(const RepeatedPtrField<std::string>& values, const std::string& path,
                     bool (*valid)(absl::string_view), const char* rule) {
    std::set<absl::string_view> seen;
    for (int i = 0; i < values.size(); ++i) {
      const std::string item = absl::StrCat(path, "[", i, "]");
      if (!valid(values.Get(i))) {
        Add(item, values.Get(i).empty() ? "must not be empty" : rule);
      } else if (!seen.insert(values.Get(i)).second) {
        Add(item, "repeats an earlier entry");
      }
    }
  }

  void CheckVictim(const Victim& victim, const std::string& path, const VictimRules& rules,
                   std::set<std::string>* refs) {
    using hub::intake::v1::VICTIM_TYPE_BEREAVED_RELATIVE;
    using hub::intake::v1::VICTIM_TYPE_BUSINESS;
    using hub::intake::v1::VICTIM_TYPE_INDIVIDUAL;
    using hub::intake::v1::VICTIM_TYPE_UNSPECIFIED;

    const std::string ref = path + ".victim_ref";
    Format(victim.victim_ref(), ref, rules.victim_ref_required, IsReference, kReferenceRule);
    if (refs != nullptr && IsReference(victim.victim_ref()) &&
        !refs->insert(victim.victim_ref()).second) {
      Add(ref, "repeats the victim_ref of an earlier victim");
    }
    const bool age_ok = victim.has_age_at_offence() && victim.age_at_offence() <= kMaxAge;
    if (victim.has_age_at_offence() && !age_ok) {
      Add(path + ".age_at_offence", absl::StrCat("must be 0 to ", kMaxAge));
    }
    if (victim.has_dash_score() && victim.dash_score() > kMaxDashScore) {
      Add(path + ".dash_score", absl::StrCat("must be 0 to ", kMaxDashScore));
    }

    const bool usable = CheckRoutes(victim.contact_routes(), path + ".contact_routes");
    if (!victim.no_contact() && !usable) {
      Add(path + ".contact_routes", absl::StrCat(kUsableRoute, ", or set no_contact"));
    }
    if (victim.no_contact() && usable) {
      Add(path + ".no_contact",
          "must not be set while a route not marked CHANNEL_SAFETY_UNSAFE is given");
    }

    Format(victim.language(), path + ".language", false, IsLanguageTag, kLanguageRule);
    if (victim.interpreter_needed() &&
        (victim.language().empty() || IsEnglish(victim.language()))) {
      Add(path + ".interpreter_needed", "requires a language other than English");
    }

    Enum(victim.victim_type(), path + ".victim_type", hub::intake::v1::VictimType_IsValid, false);
    const auto type = victim.victim_type() == VICTIM_TYPE_UNSPECIFIED ? VICTIM_TYPE_INDIVIDUAL
                                                                      : victim.victim_type();
    if (victim.has_name()) {
      CheckName(victim.name(), path + ".name");
    } else if ((type == VICTIM_TYPE_INDIVIDUAL || type == VICTIM_TYPE_BEREAVED_RELATIVE) &&
               !victim.no_contact()) {
      Add(path + ".name", "is required for individuals and bereaved relatives unless no_contact");
    }

    std::optional<int> age_by_birth;
    if (victim.has_date_of_birth()) {
      const std::string dob = path + ".date_of_birth";
      std::optional<absl::CivilDay> birth = CalendarDate(victim.date_of_birth(), dob);
      if (birth.has_value() && *birth > UkDay(now_)) {
        Add(dob, "must not be in the future");
      } else if (birth.has_value()) {
        age_by_birth = AgeOn(*birth, rules.age_day);
      }
    }
    if (age_ok && age_by_birth.has_value() && *age_by_birth >= 0 &&
        std::abs(static_cast<int>(victim.age_at_offence()) - *age_by_birth) > 1) {
      Add(path + ".age_at_offence", "must agree with date_of_birth (within a year)");
    }
    const bool under_18 = (age_ok && victim.age_at_offence() < kAdultAge) ||
                          (age_by_birth.has_value() && *age_by_birth < static_cast<int>(kAdultAge));

    EnumList(victim.communication_needs(), path + ".communication_needs",
             hub::intake::v1::CommunicationNeed_IsValid, kMaxCommunicationNeeds);
    EnumList(victim.vulnerability_markers(), path + ".vulnerability_markers",
             hub::intake::v1::VulnerabilityMarker_IsValid, 0);
    Enum(victim.relationship_to_suspect(), path + ".relationship_to_suspect",
         hub::intake::v1::RelationshipToSuspect_IsValid, false);

    const std::string relationship = path + ".bereaved_relationship";
    if (type == VICTIM_TYPE_BEREAVED_RELATIVE) {
      if (victim.bereaved_relationship().empty()) {
        Add(relationship, "is required for bereaved relatives");
      }
      FreeText(victim.bereaved_relationship(), relationship, kMaxRole, false);
    } else if (!victim.bereaved_relationship().empty()) {
      Add(relationship, "must be empty unless victim_type is VICTIM_TYPE_BEREAVED_RELATIVE");
    }
    const std::string business_name = path + ".business_name";
    const std::string business_contact = path + ".business_contact";
    if (type == VICTIM_TYPE_BUSINESS) {
      if (victim.business_name().empty()) {
        Add(business_name, "is required for businesses");
      }
      FreeText(victim.business_name(), business_name, kMaxBusinessName, false);
      if (victim.has_business_contact()) {
        CheckRepresentative(victim.business_contact(), business_contact);
      } else {
        Add(business_contact, "is required for businesses");
      }
    } else {
      if (!victim.business_name().empty()) {
        Add(business_name, "must be empty unless victim_type is VICTIM_TYPE_BUSINESS");
      }
      if (victim.has_business_contact()) {
        Add(business_contact, "must be unset unless victim_type is VICTIM_TYPE_BUSINESS");
      }
    }
    if (victim.has_parent_guardian()) {
      CheckRepresentative(victim.parent_guardian(), path + ".parent_guardian");
    } else if (under_18 && !victim.no_contact()) {
      Add(path + ".parent_guardian", "is required for a victim under 18 unless no_contact");
    }

    if (victim.has_consent()) {
      CheckConsent(victim.consent(), path + ".consent");
    } else if (rules.consent_required) {
      Add(path + ".consent", "is required");
    }
  }

  void CheckMilestone(const Milestone& milestone, const std::string& path) {
    using hub::intake::v1::MILESTONE_TYPE_CHARGE;
    using hub::intake::v1::MILESTONE_TYPE_COURT_DATE_CHANGED;
    using hub::intake::v1::MILESTONE_TYPE_COURT_DATE_SET;
    using hub::intake::v1::MILESTONE_TYPE_OUTCOME;
    Enum(milestone.type(), path + ".type", hub::intake::v1::MilestoneType_IsValid, true);
    PastTime(milestone.has_decided_at(), milestone.decided_at(), path + ".decided_at", true);
    const bool court = milestone.type() == MILESTONE_TYPE_COURT_DATE_SET ||
                       milestone.type() == MILESTONE_TYPE_COURT_DATE_CHANGED;
    if (milestone.has_court_date()) {
      if (!ToTime(milestone.court_date()).has_value()) {
        Add(path + ".court_date", "must be a valid timestamp");
      }
    } else if (court) {
      Add(path + ".court_date",
          "is required when type is MILESTONE_TYPE_COURT_DATE_SET or "
          "MILESTONE_TYPE_COURT_DATE_CHANGED");
    }
    if (milestone.urn().empty() && milestone.type() == MILESTONE_TYPE_CHARGE) {
      Add(path + ".urn", "is required when type is MILESTONE_TYPE_CHARGE");
    }
    Format(milestone.urn(), path + ".urn", false, IsUrn, kUrnRule);
    if (milestone.outcome_code() == 0) {
      if (milestone.type() == MILESTONE_TYPE_OUTCOME) {
        Add(path + ".outcome_code", "is required when type is MILESTONE_TYPE_OUTCOME");
      }
    } else if (milestone.outcome_code() < 1 || milestone.outcome_code() > kMaxOutcomeCode) {
      Add(path + ".outcome_code", absl::StrCat("must be 1 to ", kMaxOutcomeCode));
    }
    if (static_cast<size_t>(milestone.victim_refs_size()) > kMaxMilestoneVictims) {
      Add(path + ".victim_refs",
          absl::StrCat("must have at most ", kMaxMilestoneVictims, " entries"));
    } else {
      ReferenceList(milestone.victim_refs(), path + ".victim_refs", IsReference, kReferenceRule);
    }
  }

 private:
  absl::Time now_;
  std::vector<FieldViolation> violations_;
};

}  // namespace

std::vector<FieldViolation> ValidateCrimeReport(const CrimeReport& report, absl::Time now) {
  Checker check(now);
  check.CheckSource(report, "report");
  std::optional<absl::Time> reported =
      check.PastTime(report.has_reported_at(), report.reported_at(), "report.reported_at", true);
  if (reported.has_value() &&
      UkDay(*reported) < absl::CivilDay(UkDay(now).year() - kOldestReportYears, UkDay(now).month(),
                                        UkDay(now).day())) {
    check.Add("report.reported_at",
              absl::StrCat("must not be more than ", kOldestReportYears, " years ago"));
  }
  std::optional<absl::Time> recorded =
      check.PastTime(report.has_recorded_at(), report.recorded_at(), "report.recorded_at", false);
  if (recorded.has_value() && reported.has_value() && *recorded < *reported - kAllowedClockSkew) {
    check.Add("report.recorded_at", "must not be before reported_at (by more than a minute)");
  }
  check.Format(report.offence_class_code(), "report.offence_class_code", true, IsOffenceClassCode,
               kOffenceClassRule);
  check.Format(report.cjs_offence_code(), "report.cjs_offence_code", false, IsCjsOffenceCode,
               kCjsCodeRule);
  check.Format(report.urn(), "report.urn", false, IsUrn, kUrnRule);
  check.CheckFlags(report.flags(), "report.flags");
  check.CheckLocation(report.has_location(), report.location(), "report.location");
  if (report.victims().empty()) {
    check.Add("report.victims", "at least one victim is required");
  } else if (static_cast<size_t>(report.victims_size()) > kMaxVictims) {
    check.Add("report.victims", absl::StrCat("must have at most ", kMaxVictims, " victims"));
  } else {
    VictimRules rules;
    rules.age_day = UkDay(reported.value_or(now));
    std::set<std::string> refs;
    for (int i = 0; i < report.victims_size(); ++i) {
      check.CheckVictim(report.victims(i), absl::StrCat("report.victims[", i, "]"), rules, &refs);
    }
  }
  return std::move(check).Take();
}

std::vector<FieldViolation> ValidateCrimeUpdate(const CrimeUpdate& update, absl::Time now) {
  Checker check(now);
  check.CheckSource(update, "update");
  std::optional<absl::Time> updated =
      check.PastTime(update.has_updated_at(), update.updated_at(), "update.updated_at", true);
  switch (update.change_case()) {
    case CrimeUpdate::kReclassification: {
      const auto& change = update.reclassification();
      check.Format(change.offence_class_code(), "update.reclassification.offence_class_code", true,
                   IsOffenceClassCode, kOffenceClassRule);
      check.Format(change.cjs_offence_code(), "update.reclassification.cjs_offence_code", false,
                   IsCjsOffenceCode, kCjsCodeRule);
      check.CheckFlags(change.flags(), "update.reclassification.flags");
      break;
    }
    case CrimeUpdate::kVictim: {
      VictimRules rules;
      rules.age_day = UkDay(updated.value_or(now));
      check.CheckVictim(update.victim(), "update.victim", rules, nullptr);
      break;
    }
    case CrimeUpdate::kConsent:
      check.Format(update.consent().victim_ref(), "update.consent.victim_ref", true,
                   Checker::IsReference, kReferenceRule);
      if (update.consent().has_consent()) {
        check.CheckConsent(update.consent().consent(), "update.consent.consent");
      } else {
        check.Add("update.consent.consent", "is required");
      }
      break;
    case CrimeUpdate::kCancellation:
      check.Enum(update.cancellation().reason(), "update.cancellation.reason",
                 hub::intake::v1::CancellationReason_IsValid, true);
      break;
    case CrimeUpdate::kMilestone:
      check.CheckMilestone(update.milestone(), "update.milestone");
      break;
    case CrimeUpdate::CHANGE_NOT_SET:
      check.Add("update.change",
                "exactly one change is required: reclassification, victim, consent, "
                "cancellation or milestone");
      break;
  }
  return std::move(check).Take();
}

std::vector<FieldViolation> ValidateSelfReferral(const SelfReferral& referral, absl::Time now) {
  Checker check(now);
  check.Format(
      referral.referral_id(), "referral.referral_id", true,
      [](absl::string_view v) { return IsToken(v, 1, 128, IsPrintable); },
      "must be 1 to 128 printable characters");
  check.Enum(referral.category(), "referral.category",
             hub::intake::v1::SelfReferralCategory_IsValid, true);
  if (referral.reported_to_police()) {
    check.Format(referral.force_code(), "referral.force_code", false, Checker::IsForceCode,
                 kForceCodeRule);
    check.Format(referral.crime_reference(), "referral.crime_reference", false,
                 Checker::IsReference, kReferenceRule);
  } else {
    if (!referral.force_code().empty()) {
      check.Add("referral.force_code", "must be empty unless reported_to_police is set");
    }
    if (!referral.crime_reference().empty()) {
      check.Add("referral.crime_reference", "must be empty unless reported_to_police is set");
    }
  }
  check.CheckLocation(referral.has_location(), referral.location(), "referral.location");
  if (referral.has_victim()) {
    VictimRules rules;
    rules.victim_ref_required = false;
    rules.consent_required = false;
    rules.age_day = UkDay(now);
    check.CheckVictim(referral.victim(), "referral.victim", rules, nullptr);
  } else {
    check.Add("referral.victim", "is required");
  }
  check.CheckFlags(referral.flags(), "referral.flags");
  return std::move(check).Take();
}

std::vector<FieldViolation> ValidateErasureRequest(const RequestErasureRequest& request) {
  // Only calendar validity is checked here, so the clock does not matter.
  Checker check(absl::InfinitePast());
  const auto& target = request.target();
  switch (target.target_case()) {
    case hub::intake::v1::ErasureTarget::kCaseId:
      check.Format(target.case_id(), "target.case_id", true, IsCaseId, kCaseIdRule);
      break;
    case hub::intake::v1::ErasureTarget::kIdentity: {
      const auto& identity = target.identity();
      if (identity.has_name()) {
        check.FreeText(identity.name().given(), "target.identity.name.given", kMaxNamePart, true);
        check.FreeText(identity.name().family(), "target.identity.name.family", kMaxNamePart, true);
      } else {
        check.Add("target.identity.name", "is required");
      }
      if (identity.has_date_of_birth()) {
        check.CalendarDate(identity.date_of_birth(), "target.identity.date_of_birth");
      } else {
        check.Add("target.identity.date_of_birth", "is required");
      }
      break;
    }
    case hub::intake::v1::ErasureTarget::TARGET_NOT_SET:
      check.Add("target", "exactly one of case_id or identity is required");
      break;
  }
  check.Format(
      request.request_reference(), "request_reference", true,
      [](absl::string_view v) { return IsToken(v, 1, 64, IsPrintable); },
      "must be 1 to 64 printable characters");
  return std::move(check).Take();
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

void DeriveAgeAtOffence(hub::intake::v1::Victim* victim, absl::Time on) {
  if (victim->has_age_at_offence() || !victim->has_date_of_birth()) {
    return;
  }
  const hub::intake::v1::Date& dob = victim->date_of_birth();
  if (dob.month() < 1 || dob.month() > 12 || dob.day() < 1 ||
      dob.day() > DaysInMonth(dob.year(), dob.month())) {
    return;
  }
  const int age = AgeOn(absl::CivilDay(dob.year(), dob.month(), dob.day()), UkDay(on));
  if (age >= 0 && age <= static_cast<int>(kMaxAge)) {
    victim->set_age_at_offence(static_cast<uint32_t>(age));
  }
}

}  // namespace hub::intake
