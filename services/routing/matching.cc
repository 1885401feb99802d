#include "services/routing/matching.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"

#include "services/common/events/cloudevents.h"

namespace hub::routing {

std::string ReferralIdFor(absl::string_view case_id, absl::string_view provider_id) {
  return absl::StrCat(
      "r_",
      events::Sha256Hex(absl::StrCat("referral\n", case_id, "\n", provider_id)).substr(0, 24));
}

hub::events::v1::ReferralRouted Route(const hub::events::v1::NeedsAssessed& assessment,
                                      absl::Time routed_at) {
  hub::events::v1::ReferralRouted routed;
  routed.set_case_id(assessment.case_id());
  routed.set_provider_id(kHubVictimCareProviderId);
  routed.set_referral_id(ReferralIdFor(assessment.case_id(), kHubVictimCareProviderId));
  *routed.mutable_routed_at() =
      google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(routed_at));
  routed.set_external(false);
  switch (assessment.referral_decision()) {
    case hub::events::v1::REFERRAL_DECISION_NO_SUPPORT_WANTED:
      routed.set_reason(
          "The victim declined a referral: no external referral; the Hub's Victim Care team "
          "keeps the case for information and updates.");
      break;
    case hub::events::v1::REFERRAL_DECISION_SEEK_CONSENT:
      routed.set_reason(
          "Explicit consent is needed before any external referral: the Hub's Victim Care "
          "team will contact the victim to seek it.");
      break;
    case hub::events::v1::REFERRAL_DECISION_CANCEL_OPEN_REFERRALS:
    case hub::events::v1::REFERRAL_DECISION_CLOSE:
      routed.set_reason(
          "No referral may be made (consent withdrawn or the crime closed): the Hub's Victim "
          "Care team keeps the record only.");
      break;
    default:
      if (assessment.priority() == hub::events::v1::PRIORITY_IMMEDIATE) {
        routed.set_reason(
            "Immediate risk: the Hub's Victim Care team acts at once and makes the specialist "
            "referrals.");
      } else {
        routed.set_reason("The Hub's Victim Care team is the default service for every victim.");
      }
  }
  *routed.mutable_assessment() = assessment;
  return routed;
}

}  // namespace hub::routing
