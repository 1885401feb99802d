// The hub's offence reference table: what a recorded offence means for its victim.
//
// The table is versioned data, deploy/rules/offences.yaml, not code (docs/offences.md
// explains every field and how to change it). It maps Home Office offence class codes
// ("8L", "28E", "4.10") to a crime category, the Victims' Code most-serious flag, the
// consent rule and the need domains; CJS offence codes ("TH68010") to a Home Office class;
// crime flags (domestic abuse, hate crime, terrorism, ...) to flag-driven categories; and the
// self-referral categories of intake.proto to a category and needs. Intake uses it to flag a
// well-formed code the hub does not know (RECEIPT_FLAG_OFFENCE_CODE_UNKNOWN: the case is
// accepted and assessed with GeneralRules(), never refused or dropped), triage for the
// assessment, and the returns for crime types.
//
// Lifecycle: a service loads the table once at start-up with Load(DefaultOffenceTablePath())
// and refuses to start if it does not validate; Parse() checks the whole file and names
// every bad entry and field, e.g.
//   offences[12] (code 8L).category: unknown category 'violense'
// (entries are numbered from 0 in file order). An OffenceTable is immutable after Parse, so
// it is safe to share between threads; copies are independent. Pointers it returns stay
// valid for the life of the table they came from.
#ifndef HUB_SERVICES_COMMON_OFFENCES_OFFENCES_H_
#define HUB_SERVICES_COMMON_OFFENCES_OFFENCES_H_

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"

#include "hub/intake/v1/intake.pb.h"

namespace hub::offences {

// One Home Office offence class, or the general rules for a code the table does not know.
struct OffenceClass {
  // Whether a referral waits for the victim's explicit consent (opt-in) or goes ahead unless
  // the victim says no (opt-out).
  enum class Consent { kOptOut, kExplicit };

  // "8L"; empty for GeneralRules().
  std::string code;
  std::string title;
  // A category id declared in the table, e.g. "stalking_harassment".
  std::string category;
  // On the Victims' Code most serious crime list by its offence alone.
  bool most_serious = false;
  Consent consent = Consent::kOptOut;
  // Need domain ids declared in the table, in the table's order.
  std::vector<std::string> needs;
  // A hate crime by definition (racially or religiously aggravated offences): treat the
  // crime as flagged hate crime even if the feed did not set the flag.
  bool racially_or_religiously_aggravated = false;
};

// "opt_out" or "explicit", the spelling the table uses.
absl::string_view ConsentName(OffenceClass::Consent consent);

// A crime type of the returns and of provider eligibility.
struct CrimeCategory {
  std::string id;
  std::string title;
  // CrimeFlags field names (intake.proto) that put a crime in this category whatever its
  // offence code, e.g. {"domestic_abuse", "honour_based_abuse"}. Empty for a category that
  // only offence codes lead to. The rules below exist only for flag-driven categories and
  // apply, on top of the offence's own, when one of these flags is set.
  std::vector<std::string> flags;
  bool most_serious = false;
  OffenceClass::Consent consent = OffenceClass::Consent::kOptOut;
  std::vector<std::string> needs;
};

struct NeedDomain {
  std::string id;
  std::string title;
};

// A CJS offence code and the Home Office class a crime charged under it is counted in.
struct CjsOffence {
  std::string code;
  std::string title;
  std::string home_office;
};

// What a self-referral category means: consent is given by the act of referring, so there
// is no consent rule.
struct SelfReferralRule {
  std::string category;
  bool most_serious = false;
  std::vector<std::string> needs;
};

class OffenceTable {
 public:
  // Parses and validates the whole table: a version and an effective_from date; unique,
  // well-formed Home Office codes (IsHomeOfficeCode) and CJS codes (IsCjsCode); numeric
  // codes quoted; every category, need domain, Home Office class and crime flag referenced
  // is declared; every SelfReferralCategory value except UNSPECIFIED mapped; no unknown
  // fields. kInvalidArgument lists every problem, separated by "; ".
  static absl::StatusOr<OffenceTable> Parse(absl::string_view yaml_text);
  // Reads and parses the file at `path`; errors start with the path. kNotFound when the
  // file cannot be read.
  static absl::StatusOr<OffenceTable> Load(const std::string& path);

  // E.g. "2026-11-25.1": record it with every assessment made with this table.
  const std::string& version() const { return version_; }
  absl::CivilDay effective_from() const { return effective_from_; }

  // The class for a Home Office code, exactly as written ("8L", not "8l"); nullptr when the
  // table does not know it. Intake then flags the code and triage uses GeneralRules().
  const OffenceClass* FindHomeOffice(absl::string_view code) const;
  // The class a CJS code is counted in: the exact code first, then the code without its
  // A/B/C/I suffix ("TH68010A" finds TH68010 when TH68010A is not listed). nullptr when
  // unknown.
  const OffenceClass* FindCjs(absl::string_view cjs_code) const;
  // The CJS entry itself (its title), with the same lookup as FindCjs.
  const CjsOffence* FindCjsEntry(absl::string_view cjs_code) const;
  // How a well-formed code the table does not know is assessed: the general rules (by
  // default category "other", opt-out consent, the standard needs).
  const OffenceClass& GeneralRules() const { return general_rules_; }

  // The category and needs for a self-referral category; nullptr for UNSPECIFIED or a value
  // newer than this build.
  const SelfReferralRule* ForSelfReferral(hub::intake::v1::SelfReferralCategory category) const;

  // nullptr when `id` is not declared.
  const CrimeCategory* FindCategory(absl::string_view id) const;
  // The flag-driven category a CrimeFlags field ("hate_crime") puts a crime in; nullptr
  // when no category names the flag.
  const CrimeCategory* CategoryForFlag(absl::string_view flag) const;

  // Everything, in file order.
  const std::vector<CrimeCategory>& categories() const { return categories_; }
  const std::vector<NeedDomain>& need_domains() const { return need_domains_; }
  const std::vector<OffenceClass>& offences() const { return offences_; }
  const std::vector<CjsOffence>& cjs_offences() const { return cjs_offences_; }

 private:
  friend class TableBuilder;

  std::string version_;
  absl::CivilDay effective_from_;
  OffenceClass general_rules_;
  std::vector<CrimeCategory> categories_;
  std::vector<NeedDomain> need_domains_;
  std::vector<OffenceClass> offences_;
  std::vector<CjsOffence> cjs_offences_;
  absl::flat_hash_map<std::string, size_t> offence_by_code_;
  absl::flat_hash_map<std::string, size_t> cjs_by_code_;
  absl::flat_hash_map<std::string, size_t> category_by_id_;
  absl::flat_hash_map<std::string, size_t> category_by_flag_;
  std::map<int, SelfReferralRule> self_referrals_;
};

// Home Office offence class codes: 1-3 digits, optionally '.' and 1-2 digits of sub-class,
// then up to 2 upper-case letters ("8L", "28E", "105A", "4.10", "3.2B"). The same rule as
// intake's validation.
bool IsHomeOfficeCode(absl::string_view code);
// CJS offence codes: 2 upper-case letters, 2 digits (the year of the Act), 3 digits, and an
// optional suffix A (attempt), B (aiding), C (conspiracy) or I (inciting): "TH68010",
// "OF61016A".
bool IsCjsCode(absl::string_view code);

// The repository's table: <dir>/offences.yaml, where <dir> is $HUB_RULES_DIR when set and
// not empty, else the source tree's deploy/rules (compiled in). Read the environment once,
// in main; installed images set HUB_RULES_DIR.
std::string DefaultOffenceTablePath();

}  // namespace hub::offences

#endif  // HUB_SERVICES_COMMON_OFFENCES_OFFENCES_H_
