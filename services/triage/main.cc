// hub-triage: the Initial Victim Needs Assessment stage.
//
// Settings beyond the shared ones:
//   --calendar (HUB_CALENDAR)  the bank holiday calendar that working-day deadlines count
//                              (default: the repository's
//                              deploy/rules/bank-holidays-england-wales.yaml).
#include "absl/strings/str_cat.h"

#include "services/common/config/config.h"
#include "services/common/log/log.h"
#include "services/common/runtime/service_runtime.h"
#include "services/common/status/status_macros.h"
#include "services/common/workdays/working_calendar.h"
#include "services/triage/triage_service.h"

namespace {
constexpr char kCalendarSetting[] = "calendar";
}  // namespace

int main(int argc, char** argv) {
  hub::runtime::ServiceSpec spec;
  spec.name = "triage";
  spec.defaults = {{"127.0.0.1", 50052}, {"127.0.0.1", 19102}};
  spec.produces = [](const hub::events::TopicNames& topics) {
    return std::vector<std::string>{topics.needs_assessed, topics.dead_letter};
  };
  spec.extra_settings = {kCalendarSetting};
  spec.factory = [](hub::runtime::ServiceContext& context)
      -> absl::StatusOr<std::unique_ptr<hub::runtime::Service>> {
    HUB_ASSIGN_OR_RETURN(std::string path,
                         hub::config::GetString(*context.settings, kCalendarSetting,
                                                hub::workdays::DefaultCalendarPath()));
    HUB_ASSIGN_OR_RETURN(hub::workdays::WorkingCalendar calendar,
                         hub::workdays::WorkingCalendar::Load(path));
    hub::log::Info("bank holiday calendar loaded",
                   {{"version", calendar.version()},
                    {"years", absl::StrCat(calendar.first_year(), "-", calendar.last_year())}});
    return std::make_unique<hub::triage::TriageService>(context, std::move(calendar));
  };
  return hub::runtime::RunService(argc, argv, spec);
}
