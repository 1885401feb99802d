#include "services/routing/routing_service.h"

#include "absl/strings/str_cat.h"

#include "hub/events/v1/events.pb.h"
#include "services/common/events/topics.h"
#include "services/routing/matching.h"

namespace hub::routing {
namespace {

constexpr stage::StageSpec kStage{"routing", "routing/referral_routed", events::kReferralRoutedType,
                                  hub::cases::v1::STAGE_ROUTED};

}  // namespace

RoutingService::RoutingService(runtime::ServiceContext& context)
    : context_(context),
      store_(context.redis, context.config.ns),
      recorder_(context.producer, &store_),
      cases_api_(&store_, context.identity) {}

std::vector<std::string> RoutingService::ConsumedTopics() {
  return {context_.topics.needs_assessed};
}

absl::Status RoutingService::Handle(const kafka::ConsumedRecord& record) {
  hub::events::v1::NeedsAssessed assessment;
  absl::StatusOr<events::CloudEvent> input =
      stage::ParseStageInput(record, events::kNeedsAssessedType, &assessment);
  if (!input.ok()) {
    return input.status();
  }
  absl::Time now = context_.clock->Now();
  if (assessment.sequence() > 1) {
    // A re-assessment: the case was routed on its first assessment. Record what changed
    // for the case's referral; no new referral (and so no new notification) is made.
    stage::StageOutput output = stage::BeginStep(kStage, *input, assessment.case_id(), now);
    const std::string decision =
        hub::events::v1::ReferralDecision_Name(assessment.referral_decision());
    const bool stop = assessment.referral_decision() ==
                          hub::events::v1::REFERRAL_DECISION_CANCEL_OPEN_REFERRALS ||
                      assessment.referral_decision() == hub::events::v1::REFERRAL_DECISION_CLOSE;
    output.step.detail = absl::StrCat("re-assessment ", assessment.sequence(), " received (",
                                      decision, stop ? "): open referrals cancelled" : ")");
    output.step.attributes = {{"referral_status", stop ? "cancelled" : "open"}};
    output.step.overwrite_attributes = true;
    absl::StatusOr<bool> recorded = store_.RecordStep(output.step);
    return recorded.ok() ? absl::OkStatus() : absl::UnavailableError(recorded.status().message());
  }
  hub::events::v1::ReferralRouted routed = Route(assessment, now);
  stage::StageOutput output = stage::BeginStep(kStage, *input, assessment.case_id(), now);
  output.step.detail = absl::StrCat("routed to ", routed.provider_id(), ": ", routed.reason());
  output.step.attributes = {{"provider_id", routed.provider_id()},
                            {"referral_id", routed.referral_id()},
                            {"external", routed.external() ? "true" : "false"},
                            {"referral_status", "open"}};
  return recorder_.PublishThenRecord(events::MakeRecord(context_.topics.referral_routed,
                                                        assessment.case_id(), routed, output.event),
                                     output.step);
}

}  // namespace hub::routing
