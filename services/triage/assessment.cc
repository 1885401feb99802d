#include "services/triage/assessment.h"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/time_util.h"

namespace hub::triage {
namespace {

using hub::events::v1::CrimeReported;
using hub::events::v1::NeedsAssessed;
using hub::intake::v1::Victim;

google::protobuf::Timestamp ToProto(absl::Time time) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(time));
}

absl::Time FromProto(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

// "Wednesday 25 November 2026, 23:59" in London time: the form caseworkers read. Written
// into a buffer of its own (an assessment formats several; no allocation).
class LondonText {
 public:
  LondonText(absl::Time time, absl::TimeZone london) {
    static constexpr std::array<absl::string_view, 7> kWeekdays = {
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
    static constexpr std::array<absl::string_view, 12> kMonths = {
        "January", "February", "March",     "April",   "May",      "June",
        "July",    "August",   "September", "October", "November", "December"};
    const absl::CivilSecond civil = absl::ToCivilSecond(time, london);
    Append(kWeekdays[static_cast<size_t>(absl::GetWeekday(absl::CivilDay(civil)))]);
    Append(" ");
    Number(civil.day(), 1);
    Append(" ");
    Append(kMonths[static_cast<size_t>(civil.month() - 1)]);
    Append(" ");
    Number(static_cast<int>(civil.year()), 4);
    Append(", ");
    Number(civil.hour(), 2);
    Append(":");
    Number(civil.minute(), 2);
  }
  absl::string_view view() const { return absl::string_view(buffer_.data(), size_); }

 private:
  void Append(absl::string_view text) {
    const size_t n = std::min(text.size(), buffer_.size() - size_);
    std::copy_n(text.data(), n, buffer_.data() + size_);
    size_ += n;
  }
  // `value` (0 to 9999) with at least `width` digits.
  void Number(int value, int width) {
    std::array<char, 4> digits{};
    int count = 0;
    do {
      digits[static_cast<size_t>(count++)] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value > 0 && count < 4);
    while (count < width) {
      digits[static_cast<size_t>(count++)] = '0';
    }
    for (int i = count - 1; i >= 0 && size_ < buffer_.size(); --i) {
      buffer_[size_++] = digits[static_cast<size_t>(i)];
    }
  }

  std::array<char, 48> buffer_{};
  size_t size_ = 0;
};

// "MILESTONE_TYPE_NO_FURTHER_ACTION" → "No further action".
std::string Readable(absl::string_view enum_name, absl::string_view prefix) {
  std::string text(absl::StripPrefix(enum_name, prefix));
  absl::AsciiStrToLower(&text);
  absl::StrReplaceAll({{"_", " "}}, &text);
  if (!text.empty()) {
    text[0] = absl::ascii_toupper(static_cast<unsigned char>(text[0]));
  }
  return text;
}

// An enum's values as words, worked out once per enum: Sentence() starts with a capital
// ("No further action"), Phrase() does not ("no further action").
class EnumText {
 public:
  EnumText(const google::protobuf::EnumDescriptor* descriptor, absl::string_view prefix) {
    for (int i = 0; i < descriptor->value_count(); ++i) {
      const google::protobuf::EnumValueDescriptor* value = descriptor->value(i);
      std::string sentence = Readable(value->name(), prefix);
      std::string phrase = sentence;
      if (!phrase.empty()) {
        phrase[0] = absl::ascii_tolower(static_cast<unsigned char>(phrase[0]));
      }
      sentences_.emplace(value->number(), std::move(sentence));
      phrases_.emplace(value->number(), std::move(phrase));
    }
  }
  absl::string_view Sentence(int number) const { return Find(sentences_, number); }
  absl::string_view Phrase(int number) const { return Find(phrases_, number); }

 private:
  static absl::string_view Find(const absl::flat_hash_map<int, std::string>& texts, int number) {
    auto it = texts.find(number);
    return it == texts.end() ? absl::string_view("unknown") : absl::string_view(it->second);
  }
  absl::flat_hash_map<int, std::string> sentences_;
  absl::flat_hash_map<int, std::string> phrases_;
};

const EnumText& MilestoneText() {
  static const auto* text =
      new EnumText(hub::intake::v1::MilestoneType_descriptor(), "MILESTONE_TYPE_");
  return *text;
}
const EnumText& VictimTypeText() {
  static const auto* text = new EnumText(hub::intake::v1::VictimType_descriptor(), "VICTIM_TYPE_");
  return *text;
}
const EnumText& MarkerText() {
  static const auto* text =
      new EnumText(hub::intake::v1::VulnerabilityMarker_descriptor(), "VULNERABILITY_MARKER_");
  return *text;
}
const EnumText& CancellationText() {
  static const auto* text =
      new EnumText(hub::intake::v1::CancellationReason_descriptor(), "CANCELLATION_REASON_");
  return *text;
}
const EnumText& RequestReasonText() {
  static const auto* text =
      new EnumText(hub::events::v1::ReassessmentReason_descriptor(), "REASSESSMENT_REASON_");
  return *text;
}
const EnumText& EnhancedText() {
  static const auto* text =
      new EnumText(hub::events::v1::EnhancedCategory_descriptor(), "ENHANCED_CATEGORY_");
  return *text;
}

// "Domestic abuse advocacy (IDVA)" → "domestic abuse advocacy (IDVA)": a title inside a
// sentence. Only the first letter changes, so acronyms survive.
// "1 working day", "5 working days".
std::string WorkingDays(int days) {
  return absl::StrCat(days, days == 1 ? " working day" : " working days");
}

std::string Lower(std::string text) {
  if (!text.empty()) {
    text[0] = absl::ascii_tolower(static_cast<unsigned char>(text[0]));
  }
  return text;
}

// The flag-driven categories, in the order an assessment considers them (the first set
// one is the case's category).
struct FlagField {
  const char* name;
  bool (hub::intake::v1::CrimeFlags::*get)() const;
};
constexpr std::array<FlagField, 6> kFlagFields = {{
    {"domestic_abuse", &hub::intake::v1::CrimeFlags::domestic_abuse},
    {"honour_based_abuse", &hub::intake::v1::CrimeFlags::honour_based_abuse},
    {"child_sexual_exploitation", &hub::intake::v1::CrimeFlags::child_sexual_exploitation},
    {"modern_slavery", &hub::intake::v1::CrimeFlags::modern_slavery},
    {"terrorism", &hub::intake::v1::CrimeFlags::terrorism},
    {"hate_crime", &hub::intake::v1::CrimeFlags::hate_crime},
}};

// What the case's offence means: the offence class (known or the general rules), or the
// self-referral rule.
struct Offence {
  const offences::OffenceClass* offence_class = nullptr;
  const offences::SelfReferralRule* self_referral = nullptr;
  // The code as the report gave it (Home Office class, else CJS code).
  std::string code;
  bool known = false;
};

Offence ResolveOffence(const offences::OffenceTable& table, const CrimeReported& crime) {
  Offence offence;
  if (crime.origin() == hub::events::v1::ORIGIN_SELF_REFERRAL) {
    offence.self_referral = table.ForSelfReferral(crime.self_referral_category());
    if (offence.self_referral != nullptr) {
      offence.known = true;
      return offence;
    }
  }
  const hub::intake::v1::CrimeReport& report = crime.report();
  if (!report.offence_class_code().empty()) {
    offence.code = report.offence_class_code();
    offence.offence_class = table.FindHomeOffice(offence.code);
  }
  if (offence.offence_class == nullptr && !report.cjs_offence_code().empty()) {
    offence.offence_class = table.FindCjs(report.cjs_offence_code());
    // Name the code that was understood: an unknown Home Office class beside a known CJS
    // code is explained by the CJS code (intake flags the unknown class for staff).
    if (offence.code.empty() || offence.offence_class != nullptr) {
      offence.code = report.cjs_offence_code();
    }
  }
  if (offence.code.empty()) {
    offence.code = crime.origin() == hub::events::v1::ORIGIN_SELF_REFERRAL
                       ? "(none: a self-referral without a category)"
                       : "(none given)";
  }
  offence.known = offence.offence_class != nullptr;
  if (!offence.known) {
    offence.offence_class = &table.GeneralRules();
  }
  return offence;
}

// The flag-driven categories that apply: flagged ones, then hate crime for a racially or
// religiously aggravated offence. No repeats.
std::vector<const offences::CrimeCategory*> FlagCategories(const offences::OffenceTable& table,
                                                           const CrimeReported& crime,
                                                           const Offence& offence) {
  std::vector<const offences::CrimeCategory*> categories;
  auto add = [&](const offences::CrimeCategory* category) {
    if (category != nullptr &&
        std::find(categories.begin(), categories.end(), category) == categories.end()) {
      categories.push_back(category);
    }
  };
  const hub::intake::v1::CrimeFlags& flags = crime.report().flags();
  for (const FlagField& field : kFlagFields) {
    if ((flags.*field.get)()) {
      add(table.CategoryForFlag(field.name));
    }
  }
  if (offence.offence_class != nullptr &&
      offence.offence_class->racially_or_religiously_aggravated) {
    add(table.CategoryForFlag("hate_crime"));
  }
  return categories;
}

std::string PrimaryCategory(const Offence& offence,
                            const std::vector<const offences::CrimeCategory*>& flagged) {
  if (!flagged.empty()) {
    return flagged.front()->id;
  }
  if (offence.self_referral != nullptr) {
    return offence.self_referral->category;
  }
  return offence.offence_class->category;
}

class Assessor {
 public:
  Assessor(const RuleBook& book, const AssessmentInput& input, NeedsAssessed* out)
      : book_(book),
        rules_(book.rules),
        table_(book.offences),
        input_(input),
        crime_(input.crime),
        victim_(crime_.report().victims_size() > 0 ? crime_.report().victims(0)
                                                   : Victim::default_instance()),
        out_(out),
        london_(workdays::LondonTimeZone()),
        reported_(FromProto(crime_.report().reported_at())) {}

  // Assesses; copies the crime into the result when `copy_crime`.
  void Run(bool copy_crime) {
    out_->set_case_id(crime_.case_id());
    out_->set_rules_version(book_.version);
    *out_->mutable_assessed_at() = ToProto(input_.now);
    out_->set_sequence(input_.sequence);
    out_->set_trigger(input_.trigger);
    out_->set_trigger_event_id(input_.trigger_event_id);
    for (const auto& request : input_.requests) {
      *out_->add_reassessment_requests() = request;
    }
    offence_ = ResolveOffence(table_, crime_);
    flagged_ = FlagCategories(table_, crime_, offence_);
    out_->set_crime_category(PrimaryCategory(offence_, flagged_));
    CountHistory();

    Enhanced();
    Consent();
    Risk();
    Priority();
    Needs();
    Deadlines();
    if (copy_crime) {
      *out_->mutable_crime() = crime_;
    }
  }

 private:
  void Explain(RuleId id, ReasonTemplate::Args args = {}) {
    auto* explanation = out_->add_explanations();
    const absl::string_view name = RuleName(id);
    explanation->set_rule(name.data(), name.size());
    explanation->set_reason(rules_.rule(id).reason.Render(args));
  }

  bool IsBusiness() const { return victim_.victim_type() == hub::intake::v1::VICTIM_TYPE_BUSINESS; }

  absl::string_view VictimTypeLabel() const {
    return VictimTypeText().Phrase(victim_.victim_type());
  }

  const std::string& CategoryTitle(const std::string& id) const {
    const offences::CrimeCategory* category = table_.FindCategory(id);
    return category == nullptr ? id : category->title;
  }

  // Whether the case is in any of `categories` (a flagged one, or its own category).
  bool InAny(const std::set<std::string>& categories, std::string* which) const {
    for (const auto* category : flagged_) {
      if (categories.count(category->id) > 0) {
        *which = category->id;
        return true;
      }
    }
    const std::string& own = offence_.self_referral != nullptr ? offence_.self_referral->category
                                                               : offence_.offence_class->category;
    if (categories.count(own) > 0) {
      *which = own;
      return true;
    }
    return false;
  }

  // Reports in each rule's window, this one included; none when the victim is unmatched.
  void CountHistory() {
    if (crime_.pseudonymous_victim_id().empty()) {
      return;
    }
    repeat_reports_ = 1;
    const absl::Time repeat_from = reported_ - absl::Hours(24) * rules_.repeat_window_days();
    const absl::Time escalation_from =
        reported_ - absl::Hours(24) * rules_.escalation_window_days();
    escalation_reports_ = 1;
    for (const PriorReport& prior : input_.history) {
      if (prior.case_id == crime_.case_id() || prior.reported_at > reported_) {
        continue;
      }
      if (prior.reported_at >= repeat_from) {
        ++repeat_reports_;
      }
      if (prior.reported_at >= escalation_from &&
          rules_.escalation_categories().count(prior.category) > 0) {
        ++escalation_reports_;
      }
    }
    out_->set_reports_in_window(repeat_reports_);
  }

  void AddCategory(hub::events::v1::EnhancedCategory category) {
    for (int existing : out_->enhanced_categories()) {
      if (existing == category) {
        return;
      }
    }
    out_->add_enhanced_categories(category);
  }

  void Enhanced() {
    using hub::events::v1::ENHANCED_CATEGORY_INTIMIDATED;
    using hub::events::v1::ENHANCED_CATEGORY_MOST_SERIOUS_CRIME;
    using hub::events::v1::ENHANCED_CATEGORY_PERSISTENTLY_TARGETED;
    using hub::events::v1::ENHANCED_CATEGORY_VULNERABLE;
    if (offence_.self_referral != nullptr) {
      if (offence_.self_referral->most_serious) {
        AddCategory(ENHANCED_CATEGORY_MOST_SERIOUS_CRIME);
        Explain(RuleId::kMostSeriousSelfReferral,
                {{"category_title", CategoryTitle(offence_.self_referral->category)}});
      }
    } else if (offence_.offence_class->most_serious) {
      AddCategory(ENHANCED_CATEGORY_MOST_SERIOUS_CRIME);
      Explain(RuleId::kMostSeriousOffence,
              {{"offence_code", offence_.code}, {"offence_title", offence_.offence_class->title}});
    }
    for (const auto* category : flagged_) {
      if (category->most_serious) {
        AddCategory(ENHANCED_CATEGORY_MOST_SERIOUS_CRIME);
        Explain(RuleId::kMostSeriousFlag, {{"category_title", Lower(category->title)}});
      }
    }
    if (rules_.most_serious_victim_types().count(victim_.victim_type()) > 0) {
      AddCategory(ENHANCED_CATEGORY_MOST_SERIOUS_CRIME);
      Explain(RuleId::kMostSeriousVictimType, {{"victim_type", VictimTypeLabel()}});
    }

    if (rules_.rule(RuleId::kPersistentlyTargetedRepeat).enabled &&
        repeat_reports_ >= rules_.repeat_threshold()) {
      AddCategory(ENHANCED_CATEGORY_PERSISTENTLY_TARGETED);
      const std::string reports = absl::StrCat(repeat_reports_);
      const std::string window = absl::StrCat(rules_.repeat_window_days());
      const std::string threshold = absl::StrCat(rules_.repeat_threshold());
      Explain(RuleId::kPersistentlyTargetedRepeat,
              {{"reports", reports}, {"window_days", window}, {"threshold", threshold}});
    }
    std::string campaign;
    if (InAny(rules_.campaign_categories(), &campaign)) {
      AddCategory(ENHANCED_CATEGORY_PERSISTENTLY_TARGETED);
      Explain(RuleId::kPersistentlyTargetedCampaign, {{"category_title", CategoryTitle(campaign)}});
    }

    if (IsBusiness()) {
      Explain(RuleId::kNotApplicableBusiness);
    } else {
      if (victim_.has_age_at_offence() &&
          static_cast<int>(victim_.age_at_offence()) < rules_.vulnerable_under_age()) {
        AddCategory(ENHANCED_CATEGORY_VULNERABLE);
        const std::string age = absl::StrCat(victim_.age_at_offence());
        const std::string limit = absl::StrCat(rules_.vulnerable_under_age());
        Explain(RuleId::kVulnerableUnderAge, {{"age", age}, {"age_limit", limit}});
      }
      for (int marker : victim_.vulnerability_markers()) {
        if (rules_.vulnerability_markers().count(marker) > 0) {
          AddCategory(ENHANCED_CATEGORY_VULNERABLE);
          const absl::string_view name = MarkerText().Phrase(marker);
          Explain(RuleId::kVulnerableMarker, {{"marker", name}});
        }
      }
      if (victim_.intimidated()) {
        AddCategory(ENHANCED_CATEGORY_INTIMIDATED);
        Explain(RuleId::kIntimidated);
      }
    }
    std::sort(out_->mutable_enhanced_categories()->begin(),
              out_->mutable_enhanced_categories()->end());
    out_->set_enhanced(!out_->enhanced_categories().empty());
  }

  void Consent() {
    using hub::intake::v1::CONSENT_STATUS_DECLINED;
    using hub::intake::v1::CONSENT_STATUS_GIVEN;
    using hub::intake::v1::CONSENT_STATUS_WITHDRAWN;
    const hub::intake::v1::ConsentStatus status = victim_.consent().status();
    out_->set_consent_status(status);
    bool explicit_needed = false;
    if (offence_.self_referral != nullptr) {
      out_->set_consent_rule(hub::events::v1::CONSENT_RULE_SELF_REFERRAL);
      Explain(RuleId::kConsentSelfReferral);
    } else {
      if (offence_.offence_class->consent == offences::OffenceClass::Consent::kExplicit) {
        explicit_needed = true;
        Explain(
            RuleId::kConsentExplicitOffence,
            {{"offence_code", offence_.code}, {"offence_title", offence_.offence_class->title}});
      }
      for (const auto* category : flagged_) {
        if (category->consent == offences::OffenceClass::Consent::kExplicit) {
          explicit_needed = true;
          Explain(RuleId::kConsentExplicitCategory, {{"category_title", category->title}});
        }
      }
      if (rules_.explicit_consent_victim_types().count(victim_.victim_type()) > 0) {
        explicit_needed = true;
        Explain(RuleId::kConsentExplicitVictimType, {{"victim_type", VictimTypeLabel()}});
      }
      out_->set_consent_rule(explicit_needed ? hub::events::v1::CONSENT_RULE_EXPLICIT
                                             : hub::events::v1::CONSENT_RULE_OPT_OUT);
      if (!explicit_needed) {
        Explain(RuleId::kConsentOptOut);
      }
    }
    out_->set_consent_required(explicit_needed);

    if (input_.cancellation != hub::intake::v1::CANCELLATION_REASON_UNSPECIFIED) {
      decision_ = hub::events::v1::REFERRAL_DECISION_CLOSE;
      const absl::string_view how = CancellationText().Phrase(input_.cancellation);
      Explain(RuleId::kReferralClose, {{"cancellation", how}});
    } else if (status == CONSENT_STATUS_WITHDRAWN) {
      decision_ = hub::events::v1::REFERRAL_DECISION_CANCEL_OPEN_REFERRALS;
      Explain(RuleId::kReferralCancelOpenReferrals);
    } else if (status == CONSENT_STATUS_DECLINED) {
      decision_ = hub::events::v1::REFERRAL_DECISION_NO_SUPPORT_WANTED;
      Explain(RuleId::kReferralNoSupportWanted);
    } else if (explicit_needed && status != CONSENT_STATUS_GIVEN) {
      decision_ = hub::events::v1::REFERRAL_DECISION_SEEK_CONSENT;
      Explain(RuleId::kReferralSeekConsent);
    } else {
      decision_ = hub::events::v1::REFERRAL_DECISION_REFER;
      absl::string_view basis = offence_.self_referral != nullptr ? "the victim asked for support"
                                : explicit_needed ? "the victim gave explicit consent"
                                : status == CONSENT_STATUS_GIVEN
                                    ? "the victim agreed"
                                    : "opt-out, and the victim has not said no";
      Explain(RuleId::kReferralRefer, {{"consent_basis", basis}});
    }
    out_->set_referral_decision(decision_);
  }

  void Risk() {
    if (victim_.has_dash_score() &&
        static_cast<int>(victim_.dash_score()) >= rules_.dash_threshold()) {
      out_->set_marac_referral(true);
      out_->set_idva_referral(true);
      immediate_why_.push_back(absl::StrCat("DASH score ", victim_.dash_score()));
      const std::string score = absl::StrCat(victim_.dash_score());
      const std::string threshold = absl::StrCat(rules_.dash_threshold());
      Explain(RuleId::kRiskDashHigh, {{"dash_score", score}, {"threshold", threshold}});
    }
    std::string escalation;
    if (rules_.rule(RuleId::kRiskPotentialEscalation).enabled &&
        InAny(rules_.escalation_categories(), &escalation) &&
        escalation_reports_ >= rules_.escalation_threshold()) {
      out_->set_marac_referral(true);
      out_->set_idva_referral(true);
      immediate_why_.push_back("potential escalation");
      const std::string reports = absl::StrCat(escalation_reports_);
      const std::string window = absl::StrCat(rules_.escalation_window_days());
      const std::string threshold = absl::StrCat(rules_.escalation_threshold());
      Explain(RuleId::kRiskPotentialEscalation,
              {{"reports", reports},
               {"category_title", Lower(CategoryTitle(escalation))},
               {"window_days", window},
               {"threshold", threshold}});
    }
    for (const auto& request : input_.requests) {
      if (request.refer_to_marac()) {
        out_->set_marac_referral(true);
        out_->set_idva_referral(true);
        immediate_why_.push_back("MARAC referral by Hub staff");
        const absl::string_view reason = RequestReasonText().Phrase(request.reason());
        Explain(RuleId::kRiskStaffMarac, {{"request_reason", reason}});
      }
      if (request.minimum_priority() == hub::events::v1::PRIORITY_IMMEDIATE) {
        immediate_why_.push_back("raised by Hub staff");
      } else if (request.minimum_priority() == hub::events::v1::PRIORITY_ENHANCED) {
        staff_enhanced_ = true;
      }
    }
  }

  void Priority() {
    if (!immediate_why_.empty()) {
      out_->set_priority(hub::events::v1::PRIORITY_IMMEDIATE);
      Explain(RuleId::kPriorityImmediate, {{"why", absl::StrJoin(immediate_why_, "; ")}});
    } else if (out_->enhanced() || staff_enhanced_) {
      out_->set_priority(hub::events::v1::PRIORITY_ENHANCED);
      std::vector<std::string> why;
      if (out_->enhanced()) {
        std::vector<absl::string_view> categories;
        for (int category : out_->enhanced_categories()) {
          categories.push_back(EnhancedText().Phrase(category));
        }
        why.push_back(absl::StrCat("entitled to the enhanced service (",
                                   absl::StrJoin(categories, ", "), ")"));
      }
      if (staff_enhanced_) {
        why.push_back("raised by Hub staff");
      }
      Explain(RuleId::kPriorityEnhanced, {{"why", absl::StrJoin(why, "; ")}});
    } else {
      out_->set_priority(hub::events::v1::PRIORITY_STANDARD);
      Explain(RuleId::kPriorityStandard);
    }
  }

  // Adds `needs` not already present; returns their titles for the explanation.
  std::string AddNeeds(const std::vector<std::string>& needs) {
    std::vector<absl::string_view> titles;
    titles.reserve(needs.size());
    for (const std::string& need : needs) {
      if (std::find(out_->needs().begin(), out_->needs().end(), need) == out_->needs().end()) {
        out_->add_needs(need);
      }
      titles.push_back(rules_.NeedTitle(need));
    }
    return absl::StrJoin(titles, ", ");
  }

  void Needs() {
    if (offence_.self_referral != nullptr) {
      const std::string needs = AddNeeds(offence_.self_referral->needs);
      Explain(RuleId::kNeedsSelfReferral,
              {{"category_title", Lower(CategoryTitle(offence_.self_referral->category))},
               {"needs", needs}});
    } else if (offence_.known) {
      const std::string needs = AddNeeds(offence_.offence_class->needs);
      Explain(RuleId::kNeedsOffence, {{"offence_code", offence_.code},
                                      {"offence_title", offence_.offence_class->title},
                                      {"needs", needs}});
    } else {
      const std::string needs = AddNeeds(offence_.offence_class->needs);
      Explain(RuleId::kNeedsUnknownOffence, {{"offence_code", offence_.code},
                                             {"offences_version", table_.version()},
                                             {"needs", needs}});
    }
    for (const auto* category : flagged_) {
      if (!category->needs.empty()) {
        const std::string needs = AddNeeds(category->needs);
        Explain(RuleId::kNeedsCategory,
                {{"category_title", Lower(category->title)}, {"needs", needs}});
      }
    }
    if (rules_.rule(RuleId::kNeedsVictimType).enabled) {
      auto it = rules_.victim_type_needs().find(victim_.victim_type());
      if (it != rules_.victim_type_needs().end()) {
        const std::string needs = AddNeeds(it->second);
        Explain(RuleId::kNeedsVictimType, {{"victim_type", VictimTypeLabel()}, {"needs", needs}});
      }
    }
    if (rules_.rule(RuleId::kNeedsYoungVictim).enabled && !IsBusiness() &&
        victim_.has_age_at_offence() &&
        static_cast<int>(victim_.age_at_offence()) < rules_.young_victim_age()) {
      const std::string needs = AddNeeds(rules_.young_victim_needs());
      const std::string limit = absl::StrCat(rules_.young_victim_age());
      Explain(RuleId::kNeedsYoungVictim, {{"age_limit", limit}, {"needs", needs}});
    }
    if (rules_.rule(RuleId::kNeedsSharedAddress).enabled && victim_.suspect_shares_address()) {
      const std::string needs = AddNeeds(rules_.shared_address_needs());
      Explain(RuleId::kNeedsSharedAddress, {{"needs", needs}});
    }
    std::vector<std::string> staff;
    for (const auto& request : input_.requests) {
      for (const std::string& need : request.additional_needs()) {
        const bool declared =
            std::any_of(table_.need_domains().begin(), table_.need_domains().end(),
                        [&](const auto& domain) { return domain.id == need; });
        if (declared && std::find(staff.begin(), staff.end(), need) == staff.end()) {
          staff.push_back(need);
        }
      }
    }
    if (!staff.empty()) {
      const std::string needs = AddNeeds(staff);
      Explain(RuleId::kNeedsStaff, {{"needs", needs}});
    }
  }

  // 23:59 London on the `working_days`-th working day after `from`; weekends only (and said
  // once) when the calendar does not cover the dates.
  absl::Time WorkingDeadline(absl::Time from, int working_days) {
    absl::StatusOr<absl::Time> counted = book_.calendar.DeadlineAfter(from, working_days, london_);
    if (counted.ok()) {
      return *counted;
    }
    if (!calendar_gap_explained_) {
      calendar_gap_explained_ = true;
      const std::string first = absl::StrCat(book_.calendar.first_year());
      const std::string last = absl::StrCat(book_.calendar.last_year());
      Explain(RuleId::kDeadlineCalendarGap, {{"calendar_version", book_.calendar.version()},
                                             {"first_year", first},
                                             {"last_year", last}});
    }
    return workdays::WorkingCalendar::WeekendOnlyDeadlineAfter(from, working_days, london_);
  }

  void Deadlines() {
    using hub::events::v1::REFERRAL_DECISION_REFER;
    using hub::events::v1::REFERRAL_DECISION_SEEK_CONSENT;
    if (decision_ == REFERRAL_DECISION_REFER) {
      const hub::intake::v1::Consent& consent = victim_.consent();
      // Explicit consent given after the report: 2 working days from the consent. Given at
      // or before the report (e.g. at the scene), the report's own deadline applies.
      if (out_->consent_required() && consent.has_recorded_at() &&
          FromProto(consent.recorded_at()) > reported_) {
        const int days = rules_.referral_after_consent_working_days();
        const absl::Time due = WorkingDeadline(FromProto(consent.recorded_at()), days);
        *out_->mutable_referral_due() = ToProto(due);
        Explain(RuleId::kDeadlineReferralAfterConsent,
                {{"working_days", WorkingDays(days)}, {"due", LondonText(due, london_).view()}});
      } else {
        const int days = rules_.referral_working_days();
        const absl::Time due = WorkingDeadline(reported_, days);
        *out_->mutable_referral_due() = ToProto(due);
        Explain(RuleId::kDeadlineReferral,
                {{"working_days", WorkingDays(days)}, {"due", LondonText(due, london_).view()}});
      }
    } else if (decision_ == REFERRAL_DECISION_SEEK_CONSENT) {
      const int days = rules_.consent_contact_working_days();
      const absl::Time due = WorkingDeadline(reported_, days);
      *out_->mutable_consent_contact_due() = ToProto(due);
      Explain(RuleId::kDeadlineConsentContact,
              {{"working_days", WorkingDays(days)}, {"due", LondonText(due, london_).view()}});
    }
    if ((decision_ == REFERRAL_DECISION_REFER || decision_ == REFERRAL_DECISION_SEEK_CONSENT) &&
        rules_.rule(RuleId::kDeadlineFirstContact).enabled) {
      const int hours = rules_.first_contact_hours();
      const absl::Time due = reported_ + absl::Hours(hours);
      *out_->mutable_first_contact_due() = ToProto(due);
      Explain(RuleId::kDeadlineFirstContact,
              {{"hours", absl::StrCat(hours)}, {"due", LondonText(due, london_).view()}});
    }
    if (decision_ == hub::events::v1::REFERRAL_DECISION_CLOSE) {
      return;
    }
    for (const MilestoneRecord& record : input_.milestones) {
      const auto type = record.milestone.type();
      const absl::string_view name = MilestoneText().Sentence(type);
      if (rules_.update_milestones().count(type) == 0) {
        Explain(RuleId::kDeadlineCaseUpdateNone, {{"milestone", name}});
        continue;
      }
      const int days = out_->enhanced() ? rules_.update_enhanced_working_days()
                                        : rules_.update_standard_working_days();
      const absl::Time decided = FromProto(record.milestone.decided_at());
      const absl::Time due = WorkingDeadline(decided, days);
      auto* deadline = out_->add_case_update_deadlines();
      deadline->set_milestone(type);
      *deadline->mutable_decided_at() = record.milestone.decided_at();
      *deadline->mutable_due() = ToProto(due);
      deadline->set_source_event_id(record.event_id);
      Explain(RuleId::kDeadlineCaseUpdate, {{"milestone", name},
                                            {"decided_at", LondonText(decided, london_).view()},
                                            {"working_days", WorkingDays(days)},
                                            {"service", out_->enhanced() ? "enhanced" : "standard"},
                                            {"due", LondonText(due, london_).view()}});
    }
  }

  const RuleBook& book_;
  const TriageRules& rules_;
  const offences::OffenceTable& table_;
  const AssessmentInput& input_;
  const CrimeReported& crime_;
  const Victim& victim_;
  NeedsAssessed* out_;
  const absl::TimeZone london_;
  const absl::Time reported_;

  Offence offence_;
  std::vector<const offences::CrimeCategory*> flagged_;
  int repeat_reports_ = 0;
  int escalation_reports_ = 0;
  hub::events::v1::ReferralDecision decision_ = hub::events::v1::REFERRAL_DECISION_UNSPECIFIED;
  std::vector<std::string> immediate_why_;
  bool staff_enhanced_ = false;
  bool calendar_gap_explained_ = false;
};

}  // namespace

NeedsAssessed Assess(const RuleBook& book, const AssessmentInput& input) {
  NeedsAssessed assessment;
  Assessor(book, input, &assessment).Run(/*copy_crime=*/true);
  return assessment;
}

void Assess(const RuleBook& book, const AssessmentInput& input, NeedsAssessed* out) {
  Assessor(book, input, out).Run(/*copy_crime=*/true);
}

NeedsAssessed Assess(const RuleBook& book, AssessmentInput&& input) {
  NeedsAssessed assessment;
  Assessor(book, input, &assessment).Run(/*copy_crime=*/false);
  assessment.mutable_crime()->Swap(&input.crime);
  return assessment;
}

std::string CrimeCategory(const RuleBook& book, const CrimeReported& crime) {
  Offence offence = ResolveOffence(book.offences, crime);
  return PrimaryCategory(offence, FlagCategories(book.offences, crime, offence));
}

}  // namespace hub::triage
