// The triage rules as data: deploy/rules/triage-rules.yaml, checked against the offence
// table, and the rule book the assessment reads (rules + offence table + bank holiday
// calendar, one immutable snapshot with one combined version).
//
// Each rule is one conclusion the assessment can reach, named by a dotted id
// ("deadline.referral"). The code decides what a rule looks at; the file holds what may
// change without a release: whether a local rule applies (`enabled`), its numbers and
// lists, and the plain-English reason (with {placeholders}) a caseworker reads.
// docs/triage-rules.md describes every rule.
//
// Parse() refuses the whole file, naming each rule and field that is wrong:
//   rules.deadline.referral.working_days: must be a whole number from 1 to 20, not 'two'
//   rules.needs.staff.reason: unknown placeholder {name}; this rule offers {needs}
//   rules.enhanced.intimidated: is required
// A RuleBook is immutable, so one can be shared between threads; RuleBookSource swaps in a
// new one on reload and hands out shared pointers, so an assessment in progress keeps the
// book it started with.
#ifndef HUB_SERVICES_TRIAGE_RULES_H_
#define HUB_SERVICES_TRIAGE_RULES_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"

#include "services/common/offences/offences.h"
#include "services/common/workdays/working_calendar.h"

namespace hub::triage {

// Every rule the assessment knows, in the order of the file.
enum class RuleId : int {
  kMostSeriousOffence,
  kMostSeriousFlag,
  kMostSeriousVictimType,
  kMostSeriousSelfReferral,
  kPersistentlyTargetedRepeat,
  kPersistentlyTargetedCampaign,
  kVulnerableUnderAge,
  kVulnerableMarker,
  kIntimidated,
  kNotApplicableBusiness,
  kConsentExplicitOffence,
  kConsentExplicitCategory,
  kConsentExplicitVictimType,
  kConsentOptOut,
  kConsentSelfReferral,
  kReferralRefer,
  kReferralSeekConsent,
  kReferralNoSupportWanted,
  kReferralCancelOpenReferrals,
  kReferralClose,
  kRiskDashHigh,
  kRiskPotentialEscalation,
  kRiskStaffMarac,
  kPriorityImmediate,
  kPriorityEnhanced,
  kPriorityStandard,
  kNeedsOffence,
  kNeedsUnknownOffence,
  kNeedsCategory,
  kNeedsSelfReferral,
  kNeedsVictimType,
  kNeedsYoungVictim,
  kNeedsSharedAddress,
  kNeedsStaff,
  kDeadlineReferral,
  kDeadlineConsentContact,
  kDeadlineReferralAfterConsent,
  kDeadlineFirstContact,
  kDeadlineCaseUpdate,
  kDeadlineCaseUpdateNone,
  kDeadlineCalendarGap,
};
inline constexpr size_t kRuleCount = static_cast<size_t>(RuleId::kDeadlineCalendarGap) + 1;

// The rule's id as the file and every explanation write it, e.g. "deadline.referral".
absl::string_view RuleName(RuleId id);

// A reason with {placeholders}, split once at load so rendering is a walk over segments.
class ReasonTemplate {
 public:
  using Args = std::initializer_list<std::pair<absl::string_view, absl::string_view>>;

  // Compiles `text`; every {name} must be in `offered`. On failure returns nullopt and
  // sets `error` ("unknown placeholder {x}; this rule offers {a}, {b}", "unclosed '{'").
  static std::optional<ReasonTemplate> Compile(absl::string_view text,
                                               const std::vector<std::string>& offered,
                                               std::string* error);

  // The text with each placeholder replaced by its argument. The assessment passes every
  // placeholder a rule offers, in the order the rule offers them (found by position; any
  // other order still works, by search); one it did not pass is left as "{name}" (tests
  // check none is).
  std::string Render(Args args) const;

 private:
  struct Segment {
    std::string text;
    bool placeholder = false;
    // For a placeholder: its position in the rule's offered list. Callers pass arguments in
    // that order, so Render finds each by position (checking the name) without a search.
    size_t index = 0;
  };
  std::vector<Segment> segments_;
};

// One rule as the file configured it.
struct Rule {
  bool enabled = true;
  ReasonTemplate reason;
};

// The checked contents of triage-rules.yaml, with each rule's parameters typed.
class TriageRules {
 public:
  // Parses and checks the file; categories and need domains must exist in `offences`.
  // kInvalidArgument lists every problem (see the file comment).
  static absl::StatusOr<TriageRules> Parse(absl::string_view yaml_text,
                                           const offences::OffenceTable& offences);

  const std::string& version() const { return version_; }
  absl::CivilDay effective_from() const { return effective_from_; }
  const Rule& rule(RuleId id) const { return rules_[static_cast<size_t>(id)]; }

  // enhanced.most_serious.victim_type.victim_types (hub.intake.v1.VictimType values).
  const std::set<int>& most_serious_victim_types() const { return most_serious_victim_types_; }
  // enhanced.persistently_targeted.repeat.
  int repeat_threshold() const { return repeat_threshold_; }
  int repeat_window_days() const { return repeat_window_days_; }
  // enhanced.persistently_targeted.campaign.categories.
  const std::set<std::string>& campaign_categories() const { return campaign_categories_; }
  // enhanced.vulnerable.under_age.age: under this age at the offence is vulnerable.
  int vulnerable_under_age() const { return vulnerable_under_age_; }
  // enhanced.vulnerable.marker.markers (hub.intake.v1.VulnerabilityMarker values).
  const std::set<int>& vulnerability_markers() const { return vulnerability_markers_; }
  // consent.explicit.victim_type.victim_types.
  const std::set<int>& explicit_consent_victim_types() const {
    return explicit_consent_victim_types_;
  }
  // risk.dash_high.threshold.
  int dash_threshold() const { return dash_threshold_; }
  // risk.potential_escalation.
  const std::set<std::string>& escalation_categories() const { return escalation_categories_; }
  int escalation_threshold() const { return escalation_threshold_; }
  int escalation_window_days() const { return escalation_window_days_; }
  // needs.victim_type.victim_types: VictimType value → need ids.
  const std::map<int, std::vector<std::string>>& victim_type_needs() const {
    return victim_type_needs_;
  }
  // needs.young_victim.
  int young_victim_age() const { return young_victim_age_; }
  const std::vector<std::string>& young_victim_needs() const { return young_victim_needs_; }
  // needs.shared_address.needs.
  const std::vector<std::string>& shared_address_needs() const { return shared_address_needs_; }
  // deadline.* working days and hours.
  int referral_working_days() const { return referral_working_days_; }
  int consent_contact_working_days() const { return consent_contact_working_days_; }
  int referral_after_consent_working_days() const { return referral_after_consent_working_days_; }
  int first_contact_hours() const { return first_contact_hours_; }
  int update_standard_working_days() const { return update_standard_working_days_; }
  int update_enhanced_working_days() const { return update_enhanced_working_days_; }
  // deadline.case_update.milestones (hub.intake.v1.MilestoneType values).
  const std::set<int>& update_milestones() const { return update_milestones_; }

  // The need domain's title as it reads inside a sentence ("domestic abuse advocacy
  // (IDVA)"); the id itself for an unknown one.
  absl::string_view NeedTitle(absl::string_view need) const;
  bool IsNeed(absl::string_view need) const { return need_titles_.contains(need); }

  // How far back triage must keep a victim's report history: the longest enabled window
  // of the repeat and escalation rules, in days (0 when neither is enabled).
  int history_window_days() const;

 private:
  friend class RulesBuilder;

  std::string version_;
  absl::CivilDay effective_from_;
  std::array<Rule, kRuleCount> rules_;
  std::set<int> most_serious_victim_types_;
  int repeat_threshold_ = 0;
  int repeat_window_days_ = 0;
  std::set<std::string> campaign_categories_;
  int vulnerable_under_age_ = 0;
  std::set<int> vulnerability_markers_;
  std::set<int> explicit_consent_victim_types_;
  int dash_threshold_ = 0;
  std::set<std::string> escalation_categories_;
  int escalation_threshold_ = 0;
  int escalation_window_days_ = 0;
  std::map<int, std::vector<std::string>> victim_type_needs_;
  int young_victim_age_ = 0;
  std::vector<std::string> young_victim_needs_;
  std::vector<std::string> shared_address_needs_;
  int referral_working_days_ = 0;
  int consent_contact_working_days_ = 0;
  int referral_after_consent_working_days_ = 0;
  int first_contact_hours_ = 0;
  int update_standard_working_days_ = 0;
  int update_enhanced_working_days_ = 0;
  std::set<int> update_milestones_;
  absl::flat_hash_map<std::string, std::string> need_titles_;
};

// Where the three files are.
struct RulePaths {
  std::string rules;
  std::string offences;
  std::string calendar;
};

// The repository's files (under $HUB_RULES_DIR when set; see DefaultOffenceTablePath).
RulePaths DefaultRulePaths();

// Everything an assessment reads, loaded and checked together.
struct RuleBook {
  TriageRules rules;
  offences::OffenceTable offences;
  workdays::WorkingCalendar calendar;
  // "triage <v>; offences <v>; calendar <v>": recorded with every assessment.
  std::string version;

  // Loads and checks all three files; the first that fails is named in the error (its
  // path, then every problem).
  static absl::StatusOr<std::shared_ptr<const RuleBook>> Load(const RulePaths& paths);
  // From texts already read (tests, hubctl).
  static absl::StatusOr<std::shared_ptr<const RuleBook>> FromTexts(absl::string_view rules_yaml,
                                                                   absl::string_view offences_yaml,
                                                                   absl::string_view calendar_yaml);
};

// The rule book in force, reloaded on demand. Thread-safe.
class RuleBookSource {
 public:
  // Loads the files; fails (so the service does not start) if they do not check.
  static absl::StatusOr<std::unique_ptr<RuleBookSource>> Create(RulePaths paths);

  std::shared_ptr<const RuleBook> Current() const ABSL_LOCKS_EXCLUDED(mu_);

  // Loads the files again. On success the new book is in force and its version returned;
  // on failure the book in force stays and the error names the file, rule and problem.
  absl::StatusOr<std::string> Reload() ABSL_LOCKS_EXCLUDED(mu_);

  // Whether any of the three files changed (size, modification time or inode) since the
  // last load or refused attempt. A refused file is not retried until it changes again.
  bool Changed() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Stamp {
    int64_t size = -1;
    int64_t mtime_ns = -1;
    int64_t inode = -1;
    bool operator==(const Stamp& other) const {
      return size == other.size && mtime_ns == other.mtime_ns && inode == other.inode;
    }
  };
  using Stamps = std::array<Stamp, 3>;

  explicit RuleBookSource(RulePaths paths) : paths_(std::move(paths)) {}
  Stamps Stat() const;

  const RulePaths paths_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const RuleBook> current_ ABSL_GUARDED_BY(mu_);
  Stamps stamps_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hub::triage

#endif  // HUB_SERVICES_TRIAGE_RULES_H_
