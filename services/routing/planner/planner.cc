#include "services/routing/planner/planner.h"

#include <algorithm>
#include <optional>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hub::routing {
namespace {

using hub::events::v1::NeedsAssessed;

int LoadOf(const PlanInput& input, const Service& service) {
  auto it = input.load.find(service.key);
  return it == input.load.end() ? 0 : it->second;
}

// Why `service` may not take this victim, or nullopt when it may.
std::optional<std::string> Ineligible(const Service& service, const NeedsAssessed& assessment,
                                      const PlanInput& input) {
  const hub::intake::v1::CrimeReport& report = assessment.crime().report();
  const hub::intake::v1::Victim& victim =
      report.victims_size() > 0 ? report.victims(0) : hub::intake::v1::Victim::default_instance();
  if (!service.active()) {
    return absl::StrCat("not active (", ServiceStatusName(service.status), ")");
  }
  if (input.excluded.count(service.key) > 0) {
    return std::string("already declined or let the offer lapse");
  }
  const std::string la = report.location().local_authority_code();
  const std::string district = NormalizePostcodeDistrict(report.location().postcode_district());
  if (!Covers(service, la, district)) {
    return absl::StrCat("does not cover ", la.empty() ? "an unknown area" : la,
                        district.empty() ? "" : absl::StrCat(" ", district));
  }
  if (!service.AcceptsCategory(assessment.crime_category())) {
    return absl::StrCat("does not take ", assessment.crime_category());
  }
  if (service.minimum_age.has_value() || service.maximum_age.has_value()) {
    if (!victim.has_age_at_offence()) {
      return std::string("takes an age range and the victim's age is not known");
    }
    if (!service.AcceptsAge(static_cast<int>(victim.age_at_offence()))) {
      return absl::StrCat(
          "age range ", service.minimum_age.value_or(0), "-",
          service.maximum_age.has_value() ? absl::StrCat(*service.maximum_age) : std::string(""),
          " does not include ", victim.age_at_offence());
    }
  }
  if (service.enhanced_only && !assessment.enhanced()) {
    return std::string("takes enhanced-service victims only");
  }
  const hub::intake::v1::Consent& consent = victim.consent();
  const bool explicit_consent =
      assessment.consent_rule() == hub::events::v1::CONSENT_RULE_SELF_REFERRAL ||
      assessment.consent_status() == hub::intake::v1::CONSENT_STATUS_GIVEN;
  if (service.consent_required && !explicit_consent) {
    return std::string("takes referrals only with the victim's explicit consent");
  }
  if (consent.scope() == hub::intake::v1::CONSENT_SCOPE_HUB_ONLY) {
    return std::string("the victim consented to the Hub's own team only");
  }
  if (consent.scope() == hub::intake::v1::CONSENT_SCOPE_NAMED_PROVIDERS &&
      std::find(consent.provider_ids().begin(), consent.provider_ids().end(), service.key) ==
          consent.provider_ids().end()) {
    return std::string("not among the providers the victim consented to");
  }
  return std::nullopt;
}

// How specialised `service` is for this case: an explicit match of the crime category counts
// 2, and each of the case's needs the fallback does not meet counts 1. Zero means a generalist,
// never chosen over the Hub's own team.
int Specialism(const Service& service, const Service& fallback, const NeedsAssessed& assessment,
               const std::vector<std::string>& remaining) {
  int score = 0;
  if (!service.any_category && service.categories.count(assessment.crime_category()) > 0) {
    score += 2;
  }
  for (const std::string& need : remaining) {
    if (service.MeetsNeed(need) && !fallback.MeetsNeed(need)) {
      ++score;
    }
  }
  return score;
}

std::string Describe(const Service& service, int load) {
  return absl::StrCat(load, " of ", service.max_active, " places in use");
}

}  // namespace

Plan PlanReferrals(const Directory& directory, const NeedsAssessed& assessment,
                   const PlanInput& input) {
  Plan plan;
  const Service& fallback = directory.fallback();
  if (assessment.referral_decision() != hub::events::v1::REFERRAL_DECISION_REFER) {
    plan.referrals.push_back(
        {&fallback,
         {},
         absl::StrCat("no external referral may be made (",
                      hub::events::v1::ReferralDecision_Name(assessment.referral_decision()),
                      "): the Hub's own team keeps the case"),
         LoadOf(input, fallback) >= fallback.max_active});
    return plan;
  }

  std::vector<std::string> remaining(assessment.needs().begin(), assessment.needs().end());
  std::vector<const Service*> candidates;
  for (const Service& service : directory.services()) {
    if (service.fallback) {
      continue;
    }
    const bool meets_a_need =
        std::any_of(remaining.begin(), remaining.end(),
                    [&](const auto& need) { return service.MeetsNeed(need); });
    if (!meets_a_need) {
      continue;
    }
    if (std::optional<std::string> why = Ineligible(service, assessment, input); why.has_value()) {
      plan.not_chosen.push_back(absl::StrCat(service.key, ": ", *why));
      continue;
    }
    candidates.push_back(&service);
  }

  // Greedy: the best provider for the needs still open takes every one of them it meets.
  while (!remaining.empty()) {
    const Service* best = nullptr;
    std::tuple<bool, int, int, double> best_rank{};
    for (const Service* service : candidates) {
      const int meets =
          static_cast<int>(std::count_if(remaining.begin(), remaining.end(), [&](const auto& need) {
            return service->MeetsNeed(need);
          }));
      const int specialism = Specialism(*service, fallback, assessment, remaining);
      if (meets == 0 || specialism == 0) {
        continue;
      }
      const int load = LoadOf(input, *service);
      const bool has_room = load < service->max_active;
      // Room first, then specialism, then how many open needs, then the lighter load.
      const std::tuple<bool, int, int, double> rank{
          has_room, specialism, meets, -static_cast<double>(load) / service->max_active};
      if (best == nullptr || rank > best_rank) {
        best = service;
        best_rank = rank;
      }
    }
    if (best == nullptr) {
      break;
    }
    PlannedReferral referral{best, {}, "", !std::get<0>(best_rank)};
    std::vector<std::string> still_open;
    for (const std::string& need : remaining) {
      (best->MeetsNeed(need) ? referral.needs : still_open).push_back(need);
    }
    remaining = std::move(still_open);
    referral.reason = absl::StrCat(
        best->name, " for ", absl::StrJoin(referral.needs, ", "), ": ",
        !best->any_category && best->categories.count(assessment.crime_category()) > 0
            ? absl::StrCat("specialist in ", assessment.crime_category())
            : std::string("specialist support"),
        "; ", Describe(*best, LoadOf(input, *best)),
        referral.full ? " (full: the referral waits for a place; no eligible provider has room)"
                      : "");
    candidates.erase(std::remove(candidates.begin(), candidates.end(), best), candidates.end());
    plan.referrals.push_back(std::move(referral));
  }

  if (!remaining.empty() || plan.referrals.empty()) {
    std::vector<std::string> unmet;
    for (const std::string& need : remaining) {
      if (!fallback.MeetsNeed(need)) {
        unmet.push_back(need);
      }
    }
    std::string reason = absl::StrCat(
        fallback.name, remaining.empty() ? " as the default service for every victim"
                                         : absl::StrCat(" for ", absl::StrJoin(remaining, ", ")));
    if (!unmet.empty()) {
      absl::StrAppend(&reason, "; no eligible provider meets ", absl::StrJoin(unmet, ", "),
                      ": the Hub's team sources it");
    }
    const int load = LoadOf(input, fallback);
    absl::StrAppend(&reason, "; ", Describe(fallback, load));
    plan.referrals.push_back(
        {&fallback, remaining, std::move(reason), load >= fallback.max_active});
  }
  return plan;
}

}  // namespace hub::routing
