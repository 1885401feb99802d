// hub-notification: what victims, providers and staff are told, and how.
//
// Settings beyond the shared ones (each also an environment variable HUB_<NAME>):
//   --master-key-file       the master key, to open a victim's contact details to send
//   --templates             the message templates (default $HUB_TEMPLATES_DIR or the
//                           repository's deploy/templates); checked whole at start
//   --directory, --offence-table
//                           the provider directory: providers' referral email addresses
//   Email over SMTP (unset smtp-host: email goes through Notify, if configured):
//   --smtp-host, --smtp-port (587), --smtp-tls (starttls | implicit | none; none only on
//   loopback), --smtp-ca-file, --smtp-username, --smtp-password-file, --smtp-from,
//   --smtp-from-name, --smtp-helo-name, --smtp-connect-timeout, --smtp-timeout
//   (services/notification/smtp/smtp_client.h)
//   SMS and letters (and email without SMTP) through a GOV.UK Notify-compatible API:
//   --notify-base-url, --notify-api-key-file, --notify-ca-file, --notify-sms-template,
//   --notify-email-template, --notify-letter-template
//   What messages say and where staff mail goes: --support-phone, --staff-email,
//   --portal-url, --console-url, --hub-name-en, --hub-name-cy
//   --reasonable-hours (08:00-20:00, UK time): when texts and calls may go to a route
//   without safe times
//   Delivery: --poll-interval (timers, 200ms), --retry-backoff (30s, doubling to
//   --retry-backoff-max, 1h), --retry-attempts (6 per channel), --settle-time (2m: how long
//   after an unanswered Notify request a lookup that finds nothing is conclusive)
// Bad templates, a bad directory or an unreadable key file stop the start (exit 2).
#include <fstream>
#include <memory>
#include <sstream>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

#include "services/common/config/config.h"
#include "services/common/log/log.h"
#include "services/common/offences/offences.h"
#include "services/common/runtime/service_runtime.h"
#include "services/common/seal/master_key.h"
#include "services/common/status/status_macros.h"
#include "services/notification/delivery_channels.h"
#include "services/notification/notification_service.h"
#include "services/notification/notify/notify_client.h"
#include "services/notification/smtp/smtp_client.h"
#include "services/routing/directory/directory.h"

namespace {

namespace config = ::hub::config;

constexpr char kMasterKeySetting[] = "master-key-file";
constexpr char kTemplatesSetting[] = "templates";
constexpr char kDirectorySetting[] = "directory";
constexpr char kOffenceTableSetting[] = "offence-table";
constexpr char kNotifyBaseUrl[] = "notify-base-url";
constexpr char kNotifyKeyFile[] = "notify-api-key-file";
constexpr char kNotifyCaFile[] = "notify-ca-file";
constexpr char kNotifySmsTemplate[] = "notify-sms-template";
constexpr char kNotifyEmailTemplate[] = "notify-email-template";
constexpr char kNotifyLetterTemplate[] = "notify-letter-template";
constexpr char kSupportPhone[] = "support-phone";
constexpr char kStaffEmail[] = "staff-email";
constexpr char kPortalUrl[] = "portal-url";
constexpr char kConsoleUrl[] = "console-url";
constexpr char kPollInterval[] = "poll-interval";
constexpr char kRetryBackoff[] = "retry-backoff";
constexpr char kRetryBackoffMax[] = "retry-backoff-max";
constexpr char kRetryAttempts[] = "retry-attempts";
constexpr char kSettleTime[] = "settle-time";
constexpr char kHubNameEn[] = "hub-name-en";
constexpr char kHubNameCy[] = "hub-name-cy";
constexpr char kReasonableHours[] = "reasonable-hours";

// A secret read from a file, without surrounding whitespace; never logged.
absl::StatusOr<std::string> ReadSecretFile(absl::string_view setting, const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", setting, ": cannot read the file it names"));
  }
  std::stringstream contents;
  contents << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(contents.str()));
}

absl::StatusOr<std::unique_ptr<hub::notification::templates::TemplateSet>> LoadTemplates(
    const config::ConfigSource& settings) {
  HUB_ASSIGN_OR_RETURN(
      std::string dir,
      config::GetString(settings, kTemplatesSetting, hub::notification::DefaultTemplatesDir()));
  absl::StatusOr<hub::notification::templates::TemplateSet> templates =
      hub::notification::templates::TemplateSet::Load(dir);
  if (!templates.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", kTemplatesSetting, " ", dir, ": ", templates.status().message()));
  }
  return std::make_unique<hub::notification::templates::TemplateSet>(*std::move(templates));
}

struct DirectoryFiles {
  std::string directory;
  std::string offences;
};

absl::StatusOr<DirectoryFiles> DirectoryFilesFrom(const config::ConfigSource& settings) {
  DirectoryFiles files;
  HUB_ASSIGN_OR_RETURN(files.directory, config::GetString(settings, kDirectorySetting,
                                                          hub::routing::DefaultDirectoryPath()));
  HUB_ASSIGN_OR_RETURN(files.offences, config::GetString(settings, kOffenceTableSetting,
                                                         hub::offences::DefaultOffenceTablePath()));
  return files;
}

absl::Status CheckFiles(const config::ConfigSource& settings) {
  HUB_RETURN_IF_ERROR(LoadTemplates(settings).status());
  HUB_ASSIGN_OR_RETURN(DirectoryFiles files, DirectoryFilesFrom(settings));
  HUB_ASSIGN_OR_RETURN(hub::offences::OffenceTable offences,
                       hub::offences::OffenceTable::Load(files.offences));
  return hub::routing::Directory::Load(files.directory, offences).status();
}

// The SMTP client, or null when no smtp-host is set (email then goes through Notify).
absl::StatusOr<std::unique_ptr<hub::notification::smtp::SmtpClient>> SmtpFrom(
    const config::ConfigSource& settings, std::shared_ptr<hub::clock::Clock> clock) {
  namespace smtp = ::hub::notification::smtp;
  HUB_ASSIGN_OR_RETURN(std::string host, config::GetString(settings, smtp::kHostSetting, ""));
  if (host.empty()) {
    return std::unique_ptr<smtp::SmtpClient>();
  }
  HUB_ASSIGN_OR_RETURN(smtp::SmtpOptions options, smtp::LoadSmtpOptions(settings));
  return smtp::SmtpClient::Create(std::move(options), std::move(clock));
}

absl::StatusOr<std::unique_ptr<hub::notification::notify::NotifyClient>> NotifyFrom(
    const config::ConfigSource& settings, std::shared_ptr<hub::clock::Clock> clock,
    hub::notification::NotifyTemplateIds* ids) {
  namespace notify = ::hub::notification::notify;
  HUB_ASSIGN_OR_RETURN(std::string key_file, config::GetString(settings, kNotifyKeyFile, ""));
  if (key_file.empty()) {
    return std::unique_ptr<notify::NotifyClient>();
  }
  notify::NotifyClientOptions options;
  HUB_ASSIGN_OR_RETURN(options.api_key, ReadSecretFile(kNotifyKeyFile, key_file));
  HUB_ASSIGN_OR_RETURN(
      options.base_url,
      config::GetString(settings, kNotifyBaseUrl, std::string(notify::kProductionBaseUrl)));
  HUB_ASSIGN_OR_RETURN(options.ca_cert_file, config::GetString(settings, kNotifyCaFile, ""));
  HUB_ASSIGN_OR_RETURN(ids->sms, config::GetString(settings, kNotifySmsTemplate, ""));
  HUB_ASSIGN_OR_RETURN(ids->email, config::GetString(settings, kNotifyEmailTemplate, ""));
  HUB_ASSIGN_OR_RETURN(ids->letter, config::GetString(settings, kNotifyLetterTemplate, ""));
  return notify::NotifyClient::Create(std::move(options), std::move(clock));
}

// "HH:MM-HH:MM" (UK local time) as minutes after midnight, start before end.
absl::StatusOr<std::pair<int, int>> ParseHours(absl::string_view text) {
  auto minutes = [](absl::string_view hhmm) -> int {
    int hours = 0;
    int mins = 0;
    if (hhmm.size() != 5 || hhmm[2] != ':' || !absl::SimpleAtoi(hhmm.substr(0, 2), &hours) ||
        !absl::SimpleAtoi(hhmm.substr(3, 2), &mins) || hours < 0 || hours > 24 || mins < 0 ||
        mins > 59 || (hours == 24 && mins != 0)) {
      return -1;
    }
    return hours * 60 + mins;
  };
  const size_t dash = text.find('-');
  const int start = dash == absl::string_view::npos ? -1 : minutes(text.substr(0, dash));
  const int end = dash == absl::string_view::npos ? -1 : minutes(text.substr(dash + 1));
  if (start < 0 || end < 0 || start >= end) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", kReasonableHours,
                     " must be HH:MM-HH:MM in UK time, start before end, e.g. 08:00-20:00"));
  }
  return std::make_pair(start, end);
}

absl::StatusOr<hub::notification::NotificationOptions> OptionsFrom(
    const config::ConfigSource& settings) {
  hub::notification::NotificationOptions options;
  hub::notification::HubDetails& hub = options.hub;
  HUB_ASSIGN_OR_RETURN(hub.support_phone,
                       config::GetString(settings, kSupportPhone, hub.support_phone));
  HUB_ASSIGN_OR_RETURN(hub.staff_email, config::GetString(settings, kStaffEmail, hub.staff_email));
  HUB_ASSIGN_OR_RETURN(hub.portal_url, config::GetString(settings, kPortalUrl, hub.portal_url));
  HUB_ASSIGN_OR_RETURN(hub.console_url, config::GetString(settings, kConsoleUrl, hub.console_url));
  HUB_ASSIGN_OR_RETURN(hub.name_en, config::GetString(settings, kHubNameEn, hub.name_en));
  HUB_ASSIGN_OR_RETURN(hub.name_cy, config::GetString(settings, kHubNameCy, hub.name_cy));
  HUB_ASSIGN_OR_RETURN(std::string hours,
                       config::GetString(settings, kReasonableHours, "08:00-20:00"));
  HUB_ASSIGN_OR_RETURN(std::tie(hub.reasonable_hours_start_minute, hub.reasonable_hours_end_minute),
                       ParseHours(hours));
  HUB_ASSIGN_OR_RETURN(options.timer_poll_interval,
                       config::GetDuration(settings, kPollInterval, absl::Milliseconds(200),
                                           absl::Milliseconds(10), absl::Seconds(10)));
  hub::notification::outbox::OutboxOptions& outbox = options.outbox;
  HUB_ASSIGN_OR_RETURN(outbox.initial_backoff,
                       config::GetDuration(settings, kRetryBackoff, outbox.initial_backoff,
                                           absl::Milliseconds(10), absl::Hours(1)));
  HUB_ASSIGN_OR_RETURN(outbox.max_backoff,
                       config::GetDuration(settings, kRetryBackoffMax, outbox.max_backoff,
                                           absl::Milliseconds(10), absl::Hours(24)));
  HUB_ASSIGN_OR_RETURN(int64_t attempts, config::GetInt(settings, kRetryAttempts,
                                                        outbox.max_attempts_per_route, 1, 100));
  outbox.max_attempts_per_route = static_cast<int>(attempts);
  HUB_ASSIGN_OR_RETURN(outbox.settle_time,
                       config::GetDuration(settings, kSettleTime, outbox.settle_time,
                                           absl::Milliseconds(10), absl::Hours(24)));
  outbox.reasonable_hours_start_minute = hub.reasonable_hours_start_minute;
  outbox.reasonable_hours_end_minute = hub.reasonable_hours_end_minute;
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  hub::runtime::ServiceSpec spec;
  spec.name = "notification";
  spec.defaults = {{"127.0.0.1", 50054}, {"127.0.0.1", 19104}};
  spec.produces = [](const hub::events::TopicNames& topics) {
    return std::vector<std::string>{topics.notification_recorded, topics.notification_status,
                                    topics.staff_alerts, topics.dead_letter};
  };
  spec.extra_settings = {
      kMasterKeySetting,    kTemplatesSetting,     kDirectorySetting, kOffenceTableSetting,
      kNotifyBaseUrl,       kNotifyKeyFile,        kNotifyCaFile,     kNotifySmsTemplate,
      kNotifyEmailTemplate, kNotifyLetterTemplate, kSupportPhone,     kStaffEmail,
      kPortalUrl,           kConsoleUrl,           kPollInterval,     kRetryBackoff,
      kRetryBackoffMax,     kRetryAttempts,        kSettleTime,       kHubNameEn,
      kHubNameCy,           kReasonableHours};
  for (const std::string& name : hub::notification::smtp::SmtpSettingNames()) {
    spec.extra_settings.insert(name);
  }
  spec.check_files = CheckFiles;
  spec.factory = [](hub::runtime::ServiceContext& context)
      -> absl::StatusOr<std::unique_ptr<hub::runtime::Service>> {
    const config::ConfigSource& settings = *context.settings;
    hub::notification::NotificationParts parts;
    HUB_ASSIGN_OR_RETURN(parts.templates, LoadTemplates(settings));
    HUB_ASSIGN_OR_RETURN(std::string key_file,
                         config::GetRequiredString(settings, kMasterKeySetting));
    HUB_ASSIGN_OR_RETURN(hub::seal::MasterKey master, hub::seal::MasterKey::FromFile(key_file));
    HUB_ASSIGN_OR_RETURN(DirectoryFiles files, DirectoryFilesFrom(settings));
    HUB_ASSIGN_OR_RETURN(hub::offences::OffenceTable table,
                         hub::offences::OffenceTable::Load(files.offences));
    parts.offences = std::make_unique<hub::offences::OffenceTable>(std::move(table));
    absl::StatusOr<std::unique_ptr<hub::routing::DirectorySource>> directory =
        hub::routing::DirectorySource::Create(files.directory, parts.offences.get());
    if (!directory.ok()) {
      return absl::InvalidArgumentError(directory.status().message());
    }
    parts.directory = *std::move(directory);

    HUB_ASSIGN_OR_RETURN(std::unique_ptr<hub::notification::smtp::SmtpClient> email,
                         SmtpFrom(settings, context.clock));
    hub::notification::NotifyTemplateIds ids;
    HUB_ASSIGN_OR_RETURN(std::unique_ptr<hub::notification::notify::NotifyClient> notify,
                         NotifyFrom(settings, context.clock, &ids));
    hub::log::Info("notification channels",
                   {{"email", email != nullptr ? "smtp" : (notify != nullptr ? "notify" : "none")},
                    {"sms_and_letters", notify != nullptr ? "notify" : "none"}});
    parts.channels = std::make_unique<hub::notification::DeliveryChannels>(
        std::move(email), std::move(notify), std::move(ids));

    HUB_ASSIGN_OR_RETURN(hub::notification::NotificationOptions options, OptionsFrom(settings));
    HUB_ASSIGN_OR_RETURN(std::unique_ptr<hub::notification::NotificationService> service,
                         hub::notification::NotificationService::Create(
                             context, std::move(parts), std::move(master), std::move(options)));
    return std::unique_ptr<hub::runtime::Service>(std::move(service));
  };
  return hub::runtime::RunService(argc, argv, spec);
}
