#include "services/routing/routing_service.h"

#include "absl/strings/str_cat.h"

#include "hub/events/v1/events.pb.h"
#include "services/common/events/topics.h"
#include "services/common/log/log.h"
#include "services/routing/matching.h"

namespace hub::routing {

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
      events::ParseRecord(record, events::kNeedsAssessedType, &assessment);
  if (!input.ok()) {
    return input.status();
  }
  if (absl::Status id = casestate::ValidateCaseId(assessment.case_id()); !id.ok()) {
    return id;
  }
  if (assessment.crime().report().victims_size() != 1) {
    return absl::InvalidArgumentError("NeedsAssessed must carry the crime with exactly one victim");
  }
  absl::Time now = context_.clock->Now();
  hub::events::v1::ReferralRouted routed = Route(assessment, now);
  events::CloudEvent output = stage::NextEvent(*input, "routing", events::kReferralRoutedType,
                                               "routing/referral_routed", now);
  casestate::CaseStep step;
  step.case_id = assessment.case_id();
  step.stage = hub::cases::v1::STAGE_ROUTED;
  step.service = "routing";
  step.event_id = output.id;
  step.recorded_at = now;
  step.detail = absl::StrCat("routed to ", routed.provider_id(), ": ", routed.reason());
  step.attributes = {{"provider_id", routed.provider_id()},
                     {"referral_id", routed.referral_id()},
                     {"external", routed.external() ? "true" : "false"}};
  absl::Status done = recorder_.PublishThenRecord(
      events::MakeRecord(context_.topics.referral_routed, assessment.case_id(), routed, output),
      step);
  if (done.ok()) {
    log::Debug("case routed", {{"case_id", assessment.case_id()}, {"event_id", output.id}});
  }
  return done;
}

}  // namespace hub::routing
