// hub-notify-stand-in: the GOV.UK Notify stand-in (notify_stand_in.h) as a process, for the
// local stack and demos. It accepts tokens for one API key, read from a file, and appends
// what it did to a record file that a demo script can `tail -f`: one JSON line per
// notification accepted and per request refused (a bad token, a bad body, a wrong path).
//
// Settings are flags only (no HUB_* environment), read once here; a bad one stops it with
// exit status 2 and a message naming the flag, never the key. It stops cleanly on SIGTERM or
// SIGINT (exit status 0).
#include <pthread.h>
#include <signal.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"

#include "services/common/config/config.h"
#include "services/common/http/health_server.h"
#include "services/common/status/status_macros.h"
#include "services/notification/notify/notify_stand_in.h"

namespace {

namespace notify = hub::notification::notify;

constexpr char kUsage[] =
    R"usage(usage: hub-notify-stand-in --port N [--host 127.0.0.1] --api-key-file FILE
                           --record FILE [--record-content] [--health-port M]

Serves the part of the GOV.UK Notify v2 API the hub uses on http://HOST:N, checking each
request as Notify does, and prints "hub-notify-stand-in: listening on http://HOST:N" when
ready. Stops on SIGTERM or SIGINT.

  --port N            the port to listen on (0: any free port, named in the line printed)
  --host H            the address to listen on (default 127.0.0.1)
  --api-key-file F    a file holding the one API key whose tokens are accepted, in Notify's
                      format "<key name>-<service id>-<secret key>", where the service id and
                      the secret key are UUIDs (8-4-4-4-12 hex) and the key name may contain
                      hyphens; give the hub the same key (setting notify-api-key).
                      Either of these makes one:
      printf 'hub-local-%s-%s\n' "$(uuidgen)" "$(uuidgen)" > F
      python3 -c 'import uuid as u; print(f"hub-local-{u.uuid4()}-{u.uuid4()}")' > F
  --record F          appends one JSON line per notification accepted ("event":"accepted":
                      id, reference, type, template_id, created_at, personalisation_keys)
                      and per request refused ("event":"refused": method, path, status,
                      error_type, message), flushed line by line
  --record-content    also records the personalisation values (the rendered text and the
                      letter address): personal data, for local demos with made-up people only
  --health-port M     also serves GET /healthz and /readyz on HOST:M
)usage";

struct Config {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string api_key_file;
  std::string record_path;
  bool record_content = false;
  std::optional<int> health_port;
};

absl::StatusOr<Config> LoadConfig(const hub::config::ConfigSource& source) {
  HUB_RETURN_IF_ERROR(source.CheckNoUnknownFlags(
      {"port", "host", "api-key-file", "record", "record-content", "health-port", "help"}));
  Config config;
  if (!source.Get("port").has_value()) {
    return absl::InvalidArgumentError("--port is required");
  }
  HUB_ASSIGN_OR_RETURN(int64_t port, hub::config::GetInt(source, "port", 0, 0, 65535));
  config.port = static_cast<int>(port);
  HUB_ASSIGN_OR_RETURN(config.host, hub::config::GetString(source, "host", config.host));
  if (config.host.empty()) {
    return hub::config::InvalidSetting("host", config.host, "must not be empty");
  }
  HUB_ASSIGN_OR_RETURN(config.api_key_file, hub::config::GetRequiredString(source, "api-key-file"));
  HUB_ASSIGN_OR_RETURN(config.record_path, hub::config::GetRequiredString(source, "record"));
  HUB_ASSIGN_OR_RETURN(config.record_content,
                       hub::config::GetBool(source, "record-content", false));
  if (source.Get("health-port").has_value()) {
    HUB_ASSIGN_OR_RETURN(int64_t health_port,
                         hub::config::GetInt(source, "health-port", 0, 1, 65535));
    config.health_port = static_cast<int>(health_port);
  }
  return config;
}

// The key in `path`, surrounding whitespace removed. Errors name the file, never its content.
absl::StatusOr<std::string> ReadApiKey(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return absl::InvalidArgumentError(absl::StrCat("--api-key-file: cannot read '", path, "'"));
  }
  std::ostringstream content;
  content << file.rdbuf();
  std::string key(absl::StripAsciiWhitespace(content.str()));
  if (absl::Status valid = notify::ParseApiKey(key).status(); !valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--api-key-file '", path,
                     "' does not hold a Notify API key: ", valid.message(), " (see --help)"));
  }
  return key;
}

// The --record file: lines come from the server's threads, so writes are serialised.
class RecordFile {
 public:
  static absl::StatusOr<std::unique_ptr<RecordFile>> Open(const std::string& path) {
    std::FILE* file = std::fopen(path.c_str(), "a");
    if (file == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("--record: cannot open '", path, "' to append"));
    }
    return std::unique_ptr<RecordFile>(new RecordFile(path, file));
  }
  // Every line was flushed when written, so a failure to close loses nothing.
  ~RecordFile() { (void)std::fclose(file_); }
  RecordFile(const RecordFile&) = delete;
  RecordFile& operator=(const RecordFile&) = delete;

  // Appends `line` and a newline, then flushes, so a reader sees whole lines at once.
  void Append(const std::string& line) {
    absl::MutexLock lock(&mu_);
    bool written = std::fputs(line.c_str(), file_) >= 0 && std::fputc('\n', file_) != EOF &&
                   std::fflush(file_) == 0;
    if (!written && !warned_) {
      // Once: a full disk must not flood stderr.
      std::cerr << "hub-notify-stand-in: cannot write to the record file '" << path_ << "'\n";
      warned_ = true;
    }
  }

 private:
  RecordFile(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}

  const std::string path_;
  absl::Mutex mu_;
  std::FILE* const file_ ABSL_PT_GUARDED_BY(mu_);
  bool warned_ ABSL_GUARDED_BY(mu_) = false;
};

int Run(const Config& config) {
  absl::StatusOr<std::string> key = ReadApiKey(config.api_key_file);
  if (!key.ok()) {
    std::cerr << "hub-notify-stand-in: " << key.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<std::unique_ptr<RecordFile>> record = RecordFile::Open(config.record_path);
  if (!record.ok()) {
    std::cerr << "hub-notify-stand-in: " << record.status().message() << "\n";
    return 2;
  }
  std::unique_ptr<hub::http::HealthServer> health;
  if (config.health_port.has_value()) {
    absl::StatusOr<std::unique_ptr<hub::http::HealthServer>> created =
        hub::http::HealthServer::Create({config.host, *config.health_port}, nullptr);
    if (!created.ok()) {
      std::cerr << "hub-notify-stand-in: --health-port: " << created.status().message() << "\n";
      return 1;
    }
    health = *std::move(created);
  }

  notify::NotifyStandInOptions options;
  options.api_key = *std::move(key);
  options.host = config.host;
  options.port = config.port;
  RecordFile* record_file = record->get();
  const bool record_content = config.record_content;
  options.on_request = [record_file, record_content](const notify::RecordedRequest& request,
                                                     const notify::StoredNotification* created) {
    std::string line = notify::RecordLine(request, created, record_content);
    if (!line.empty()) {
      record_file->Append(line);
    }
  };
  absl::StatusOr<std::unique_ptr<notify::NotifyStandIn>> stand_in =
      notify::NotifyStandIn::Start(std::move(options));
  if (!stand_in.ok()) {
    std::cerr << "hub-notify-stand-in: " << stand_in.status().message() << "\n";
    return 1;
  }
  if (health != nullptr) {
    health->Start();
  }
  std::cout << "hub-notify-stand-in: listening on " << (*stand_in)->base_url() << std::endl;

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  if (health != nullptr) {
    health->MarkStopping();
  }
  // The stand-in stops before the record file closes: no line is written after.
  (*stand_in)->Stop();
  if (health != nullptr) {
    health->Stop();
  }
  std::cout << "hub-notify-stand-in: stopped" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A client that goes away mid-answer must not end the process.
  (void)std::signal(SIGPIPE, SIG_IGN);
  // Blocked in every thread (they inherit the mask); main waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::vector<std::string> args(argv + 1, argv + argc);
  // Flags only: a HUB_PORT or HUB_RECORD left in a shell must not change what this does.
  absl::StatusOr<hub::config::ConfigSource> source = hub::config::ConfigSource::FromArgs(args, {});
  if (source.ok() && source->Get("help").has_value()) {
    std::cout << kUsage;
    return 0;
  }
  absl::StatusOr<Config> config =
      source.ok() ? LoadConfig(*source) : absl::StatusOr<Config>(source.status());
  if (!config.ok()) {
    std::cerr << "hub-notify-stand-in: " << config.status().message() << "\n\n" << kUsage;
    return 2;
  }
  return Run(*config);
}
