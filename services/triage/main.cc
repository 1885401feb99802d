// hub-triage: the Initial Victim Needs Assessment stage.
//
// Settings beyond the shared ones:
//   --rules (HUB_RULES)                 the triage rules (default: the repository's
//                                       deploy/rules/triage-rules.yaml, or $HUB_RULES_DIR)
//   --offence-table (HUB_OFFENCE_TABLE) the offence reference table (default: offences.yaml
//                                       beside it)
//   --calendar (HUB_CALENDAR)           the bank holiday calendar working days count
//   --rules-check-interval (HUB_RULES_CHECK_INTERVAL)
//                                       how often the three files are checked for changes
//                                       (default 2s; 0 means only on SIGHUP)
// A file that does not check stops the start (exit 2, naming the file, rule and field); a
// bad file at a later reload is refused and the rules in force stay (docs/triage-rules.md).
#include "absl/strings/str_cat.h"

#include "services/common/config/config.h"
#include "services/common/log/log.h"
#include "services/common/runtime/service_runtime.h"
#include "services/common/status/status_macros.h"
#include "services/triage/rules.h"
#include "services/triage/triage_service.h"

namespace {

constexpr char kRulesSetting[] = "rules";
constexpr char kOffenceTableSetting[] = "offence-table";
constexpr char kCalendarSetting[] = "calendar";
constexpr char kCheckIntervalSetting[] = "rules-check-interval";

// The three rule files, from the settings or the repository's defaults.
absl::StatusOr<hub::triage::RulePaths> PathsFrom(const hub::config::ConfigSource& settings) {
  const hub::triage::RulePaths defaults = hub::triage::DefaultRulePaths();
  hub::triage::RulePaths paths;
  HUB_ASSIGN_OR_RETURN(paths.rules,
                       hub::config::GetString(settings, kRulesSetting, defaults.rules));
  HUB_ASSIGN_OR_RETURN(paths.offences,
                       hub::config::GetString(settings, kOffenceTableSetting, defaults.offences));
  HUB_ASSIGN_OR_RETURN(paths.calendar,
                       hub::config::GetString(settings, kCalendarSetting, defaults.calendar));
  return paths;
}

}  // namespace

int main(int argc, char** argv) {
  hub::runtime::ServiceSpec spec;
  spec.name = "triage";
  spec.defaults = {{"127.0.0.1", 50052}, {"127.0.0.1", 19102}};
  spec.produces = [](const hub::events::TopicNames& topics) {
    return std::vector<std::string>{topics.needs_assessed, topics.reassessment_requested,
                                    topics.dead_letter};
  };
  spec.extra_settings = {kRulesSetting, kOffenceTableSetting, kCalendarSetting,
                         kCheckIntervalSetting};
  // Checked before Redis and Kafka are connected, so a bad file is named at once.
  spec.check_files = [](const hub::config::ConfigSource& settings) -> absl::Status {
    HUB_ASSIGN_OR_RETURN(hub::triage::RulePaths paths, PathsFrom(settings));
    return hub::triage::RuleBook::Load(paths).status();
  };
  spec.factory = [](hub::runtime::ServiceContext& context)
      -> absl::StatusOr<std::unique_ptr<hub::runtime::Service>> {
    HUB_ASSIGN_OR_RETURN(hub::triage::RulePaths paths, PathsFrom(*context.settings));
    HUB_ASSIGN_OR_RETURN(
        absl::Duration interval,
        hub::config::GetDuration(*context.settings, kCheckIntervalSetting, absl::Seconds(2),
                                 absl::ZeroDuration(), absl::Hours(1)));
    absl::StatusOr<std::unique_ptr<hub::triage::RuleBookSource>> rules =
        hub::triage::RuleBookSource::Create(paths);
    if (!rules.ok()) {
      // A bad rule file is bad configuration: exit 2, naming the file, rule and field.
      return absl::InvalidArgumentError(rules.status().message());
    }
    hub::log::Info("rules loaded", {{"version", (*rules)->Current()->version}});
    return std::make_unique<hub::triage::TriageService>(context, *std::move(rules), interval);
  };
  return hub::runtime::RunService(argc, argv, spec);
}
