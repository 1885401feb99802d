// Keyed pseudonymous ids for victims, and the data key ids derived from them.
//
// A victim named in several reports (repeat victimisation) must be recognised without
// storing who they are. The pseudonymous id is "pv_" + the first 32 hex digits of
// HMAC-SHA256, under a key derived from the master key ("hub.pseudonym.v1"), over
//   normalised family name + "\n" + normalised first given name + "\n" + "YYYY-MM-DD".
// Without the master key the id cannot be recomputed from a known name and birthday.
//
// Normalisation (so the spelling variations police systems produce still match):
//  - given names: only the first counts. Given names are split at ASCII spaces and
//    hyphens, so "Mary Ann", "Mary-Ann" and "mary" all count as "mary";
//  - ASCII letters are lower-cased;
//  - ASCII spaces, hyphens, apostrophes, dots, every other ASCII punctuation character and
//    control characters are dropped ("O'Neil", "O Neil" and "ONeil" are all "oneil";
//    "Smith-Jones" is "smithjones"); ASCII digits are kept;
//  - bytes outside ASCII (accented and non-Latin letters in UTF-8) are kept exactly as
//    they are, without case folding or accent stripping: "Zoë" and "Zoe" differ.
// So "Mary-Jane O'Neil" and "mary jane oneil" give the same id. The id exists only when
// the family name, the first given name and a full valid date of birth (year 1900 to
// 2100, a real calendar day) are all present after normalisation.
//
// Data key ids are "vk_" + 32 hex digits of HMAC under the same key over
// "victim\n" + pseudonymous id (a matched victim: one key for all their cases) or
// "case\n" + case id (a victim who cannot be matched: one key per case).
//
// Immutable after construction; thread-safe.
#ifndef HUB_SERVICES_COMMON_SEAL_PSEUDONYM_H_
#define HUB_SERVICES_COMMON_SEAL_PSEUDONYM_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

#include "hub/intake/v1/intake.pb.h"
#include "services/common/seal/master_key.h"

namespace hub::seal {

// The HKDF purpose of the pseudonym key.
inline constexpr char kPseudonymKeyInfo[] = "hub.pseudonym.v1";

// A family name normalised as described in the file comment: lower-case ASCII, ASCII
// punctuation, spaces and control characters dropped, other bytes kept.
std::string NormaliseNamePart(absl::string_view part);

// The first given name of `given`, normalised: the first part, splitting at ASCII spaces
// and hyphens, that is not empty after NormaliseNamePart. Empty if there is none.
std::string NormaliseFirstGivenName(absl::string_view given);

class Pseudonymizer {
 public:
  // Keys the pseudonyms with master.Derive("hub.pseudonym.v1"); keeps no copy of `master`.
  explicit Pseudonymizer(const MasterKey& master);

  // "pv_" + 32 hex digits, or std::nullopt unless the family name, the first given name
  // and a full valid date of birth are all present after normalisation.
  std::optional<std::string> VictimId(const hub::intake::v1::PersonName& name,
                                      const hub::intake::v1::Date& date_of_birth) const;

  // The data key id of a matched victim: "vk_" + 32 hex digits.
  std::string KeyIdForVictim(absl::string_view pseudonymous_id) const;

  // The data key id of an unmatched victim's case: "vk_" + 32 hex digits.
  std::string KeyIdForCase(absl::string_view case_id) const;

 private:
  std::string Mac(absl::string_view prefix, absl::string_view data) const;

  std::string key_;
};

}  // namespace hub::seal

#endif  // HUB_SERVICES_COMMON_SEAL_PSEUDONYM_H_
