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
  hub::events::v1::ReferralRouted routed = Route(assessment, now);
  stage::StageOutput output = stage::BeginStep(kStage, *input, assessment.case_id(), now);
  output.step.detail = absl::StrCat("routed to ", routed.provider_id(), ": ", routed.reason());
  output.step.attributes = {{"provider_id", routed.provider_id()},
                            {"referral_id", routed.referral_id()},
                            {"external", routed.external() ? "true" : "false"}};
  return recorder_.PublishThenRecord(events::MakeRecord(context_.topics.referral_routed,
                                                        assessment.case_id(), routed, output.event),
                                     output.step);
}

}  // namespace hub::routing
