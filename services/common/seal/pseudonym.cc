#include "services/common/seal/pseudonym.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"

#include "services/common/seal/internal/primitives.h"

namespace hub::seal {
namespace {

constexpr size_t kIdHexDigits = 32;

bool IsAsciiSeparator(char c) {
  // Whitespace, the ASCII punctuation (hyphen, apostrophe, dot, comma, ...) and control
  // characters separate or decorate names; they never distinguish two people.
  return absl::ascii_isspace(static_cast<unsigned char>(c)) ||
         absl::ascii_ispunct(static_cast<unsigned char>(c)) ||
         absl::ascii_iscntrl(static_cast<unsigned char>(c));
}

bool IsValidDate(const hub::intake::v1::Date& date) {
  if (date.year() < 1900 || date.year() > 2100 || date.month() < 1 || date.month() > 12 ||
      date.day() < 1 || date.day() > 31) {
    return false;
  }
  // CivilDay normalises 31 February to 3 March; a valid date survives unchanged.
  const absl::CivilDay day(date.year(), date.month(), date.day());
  return day.year() == date.year() && day.month() == date.month() && day.day() == date.day();
}

}  // namespace

std::string NormaliseNamePart(absl::string_view part) {
  std::string out;
  out.reserve(part.size());
  for (char c : part) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      out.push_back(c);  // Part of a UTF-8 sequence: kept as is.
    } else if (!IsAsciiSeparator(c)) {
      out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

std::string NormaliseFirstGivenName(absl::string_view given) {
  for (absl::string_view part :
       absl::StrSplit(given, absl::ByAnyChar(" -\t\n\r\f\v"), absl::SkipEmpty())) {
    std::string normalised = NormaliseNamePart(part);
    if (!normalised.empty()) {
      return normalised;
    }
  }
  return std::string();
}

Pseudonymizer::Pseudonymizer(const MasterKey& master) : key_(master.Derive(kPseudonymKeyInfo)) {}

std::optional<std::string> Pseudonymizer::VictimId(
    const hub::intake::v1::PersonName& name, const hub::intake::v1::Date& date_of_birth) const {
  const std::string family = NormaliseNamePart(name.family());
  const std::string given = NormaliseFirstGivenName(name.given());
  if (family.empty() || given.empty() || !IsValidDate(date_of_birth)) {
    return std::nullopt;
  }
  const std::string dob = absl::StrFormat("%04d-%02d-%02d", date_of_birth.year(),
                                          date_of_birth.month(), date_of_birth.day());
  return absl::StrCat("pv_", Mac("", absl::StrCat(family, "\n", given, "\n", dob)));
}

std::string Pseudonymizer::KeyIdForVictim(absl::string_view pseudonymous_id) const {
  return absl::StrCat("vk_", Mac("victim\n", pseudonymous_id));
}

std::string Pseudonymizer::KeyIdForCase(absl::string_view case_id) const {
  return absl::StrCat("vk_", Mac("case\n", case_id));
}

std::string Pseudonymizer::Mac(absl::string_view prefix, absl::string_view data) const {
  return internal::Hex(internal::HmacSha256(key_, absl::StrCat(prefix, data)))
      .substr(0, kIdHexDigits);
}

}  // namespace hub::seal
