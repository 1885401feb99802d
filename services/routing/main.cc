// hub-routing: referrals to support providers, the provider API, feedback to forces and
// the case read API.
//
// Settings beyond the shared ones:
//   --directory (HUB_DIRECTORY)           the provider directory (default: the repository's
//                                         deploy/directory/providers.json, or
//                                         $HUB_DIRECTORY_DIR/providers.json)
//   --offence-table (HUB_OFFENCE_TABLE)   the offence reference table the directory's needs
//                                         and categories are checked against
//   --master-key-file (HUB_MASTER_KEY_FILE)
//                                         the master key, to open a victim's contact
//                                         details for the provider that accepted them
//   --directory-check-interval (HUB_DIRECTORY_CHECK_INTERVAL)
//                                         how often the directory file is checked for
//                                         changes (default 2s; 0 means only on SIGHUP)
//   --sweep-interval (HUB_SWEEP_INTERVAL) how often places held but never offered are
//                                         looked for (default 30s)
//   --poll-interval (HUB_POLL_INTERVAL)   how often timers and provider streams look for
//                                         new work (default 200ms)
// A directory that does not check stops the start (exit 2, naming the record and field); a
// bad file at a later reload is refused and the directory in force stays.
#include <memory>

#include "services/common/config/config.h"
#include "services/common/log/log.h"
#include "services/common/offences/offences.h"
#include "services/common/runtime/service_runtime.h"
#include "services/common/seal/master_key.h"
#include "services/common/status/status_macros.h"
#include "services/routing/directory/directory.h"
#include "services/routing/routing_service.h"

namespace {

constexpr char kDirectorySetting[] = "directory";
constexpr char kOffenceTableSetting[] = "offence-table";
constexpr char kMasterKeySetting[] = "master-key-file";
constexpr char kDirectoryIntervalSetting[] = "directory-check-interval";
constexpr char kSweepIntervalSetting[] = "sweep-interval";
constexpr char kPollIntervalSetting[] = "poll-interval";

struct Files {
  std::string directory;
  std::string offences;
};

absl::StatusOr<Files> FilesFrom(const hub::config::ConfigSource& settings) {
  Files files;
  HUB_ASSIGN_OR_RETURN(
      files.directory,
      hub::config::GetString(settings, kDirectorySetting, hub::routing::DefaultDirectoryPath()));
  HUB_ASSIGN_OR_RETURN(files.offences,
                       hub::config::GetString(settings, kOffenceTableSetting,
                                              hub::offences::DefaultOffenceTablePath()));
  return files;
}

absl::Status CheckFiles(const hub::config::ConfigSource& settings) {
  HUB_ASSIGN_OR_RETURN(Files files, FilesFrom(settings));
  HUB_ASSIGN_OR_RETURN(hub::offences::OffenceTable offences,
                       hub::offences::OffenceTable::Load(files.offences));
  return hub::routing::Directory::Load(files.directory, offences).status();
}

}  // namespace

int main(int argc, char** argv) {
  hub::runtime::ServiceSpec spec;
  spec.name = "routing";
  spec.defaults = {{"127.0.0.1", 50053}, {"127.0.0.1", 19103}};
  spec.produces = [](const hub::events::TopicNames& topics) {
    return std::vector<std::string>{topics.referral_routed, topics.referral_status,
                                    topics.staff_alerts, topics.contact_reads, topics.dead_letter};
  };
  spec.extra_settings = {kDirectorySetting,         kOffenceTableSetting,  kMasterKeySetting,
                         kDirectoryIntervalSetting, kSweepIntervalSetting, kPollIntervalSetting};
  spec.check_files = CheckFiles;
  spec.factory = [](hub::runtime::ServiceContext& context)
      -> absl::StatusOr<std::unique_ptr<hub::runtime::Service>> {
    const hub::config::ConfigSource& settings = *context.settings;
    HUB_ASSIGN_OR_RETURN(Files files, FilesFrom(settings));
    HUB_ASSIGN_OR_RETURN(std::string key_file,
                         hub::config::GetRequiredString(settings, kMasterKeySetting));
    HUB_ASSIGN_OR_RETURN(hub::seal::MasterKey master, hub::seal::MasterKey::FromFile(key_file));
    hub::routing::RoutingOptions options;
    HUB_ASSIGN_OR_RETURN(
        options.directory_check_interval,
        hub::config::GetDuration(settings, kDirectoryIntervalSetting, absl::Seconds(2),
                                 absl::ZeroDuration(), absl::Hours(1)));
    HUB_ASSIGN_OR_RETURN(
        options.sweep_interval,
        hub::config::GetDuration(settings, kSweepIntervalSetting, absl::Seconds(30),
                                 absl::Milliseconds(100), absl::Hours(1)));
    HUB_ASSIGN_OR_RETURN(
        absl::Duration poll,
        hub::config::GetDuration(settings, kPollIntervalSetting, absl::Milliseconds(200),
                                 absl::Milliseconds(10), absl::Seconds(10)));
    options.timer_poll_interval = poll;
    options.stream_poll_interval = poll;
    HUB_ASSIGN_OR_RETURN(hub::offences::OffenceTable table,
                         hub::offences::OffenceTable::Load(files.offences));
    auto offences = std::make_unique<hub::offences::OffenceTable>(std::move(table));
    absl::StatusOr<std::unique_ptr<hub::routing::DirectorySource>> directory =
        hub::routing::DirectorySource::Create(files.directory, offences.get());
    if (!directory.ok()) {
      // A bad directory is bad configuration: exit 2, naming the record and field.
      return absl::InvalidArgumentError(directory.status().message());
    }
    hub::log::Info(
        "provider directory loaded",
        {{"version", (*directory)->Current()->version()},
         {"services", static_cast<int64_t>((*directory)->Current()->services().size())}});
    HUB_ASSIGN_OR_RETURN(
        std::unique_ptr<hub::routing::RoutingService> service,
        hub::routing::RoutingService::Create(context, std::move(offences), *std::move(directory),
                                             std::move(master), options));
    return std::unique_ptr<hub::runtime::Service>(std::move(service));
  };
  return hub::runtime::RunService(argc, argv, spec);
}
