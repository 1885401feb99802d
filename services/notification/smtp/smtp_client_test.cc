#include "services/notification/smtp/smtp_client.h"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include <curl/curl.h>
#include <sys/wait.h>

#include "services/common/clock/clock.h"
#include "services/common/config/config.h"
#include "services/common/status/status_matchers.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"

namespace hub::notification::smtp {
namespace {

namespace fs = std::filesystem;

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// Personal data in the test messages: must never come back in a result.
constexpr char kRecipient[] = "sam.victim@example.org";
constexpr char kPassword[] = "s3cret-Pa55";
constexpr char kWelshSubject[] = "Diweddariad am eich achos: ŵ ŷ â — gwybodaeth bwysig i chi";
constexpr char kTextSecret[] = "Samira Okonkwo-Hale";

absl::Time TestTime() {
  return absl::FromCivil(absl::CivilSecond(2026, 1, 5, 9, 0, 0), absl::UTCTimeZone());
}

std::shared_ptr<clock::Clock> TestClock() { return std::make_shared<clock::FakeClock>(TestTime()); }

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Normalized(absl::string_view text) {
  return absl::StrReplaceAll(text, {{"\r\n", "\n"}});
}

// A directory under the test temp dir, removed when the test passed.
class TempDirectory {
 public:
  explicit TempDirectory(const std::string& prefix)
      : path_(fs::path(::testing::TempDir()) / hub::testing::UniqueName(prefix)) {
    fs::create_directories(path_);
  }
  ~TempDirectory() {
    if (!::testing::Test::HasFailure()) {
      std::error_code ignored;
      fs::remove_all(path_, ignored);
    }
  }
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// One message the sink saved: the raw .eml and the sidecar .json.
struct Saved {
  std::string eml;
  json info;
};

// The real deploy/local/smtp-sink on a free loopback port.
class Sink {
 public:
  // Starts the sink with `flags` (beyond --port and --maildir) and waits until it listens.
  static std::unique_ptr<Sink> Start(const std::vector<std::string>& flags) {
    auto sink = std::unique_ptr<Sink>(new Sink());
    for (int attempt = 0; attempt < 3; ++attempt) {
      sink->port_ = hub::testing::FreePort();
      std::vector<std::string> args = {"--port", absl::StrCat(sink->port_), "--maildir",
                                       sink->maildir().string()};
      args.insert(args.end(), flags.begin(), flags.end());
      std::string log = (sink->dir_.path() / absl::StrCat("sink-", attempt, ".log")).string();
      absl::StatusOr<std::unique_ptr<hub::testing::ChildProcess>> child =
          hub::testing::ChildProcess::Start(SinkPath(), args, {}, log);
      if (!child.ok()) {
        ADD_FAILURE() << child.status();
        return nullptr;
      }
      sink->child_ = *std::move(child);
      absl::Time deadline = absl::Now() + absl::Seconds(10);
      while (absl::Now() < deadline) {
        if (absl::StrContains(ReadFile(log), "smtp-sink: listening on")) {
          return sink;
        }
        if (sink->child_->Wait(absl::ZeroDuration()).ok()) {
          break;  // Exited: most likely the port was taken meanwhile; try another.
        }
        absl::SleepFor(absl::Milliseconds(10));
      }
      ADD_FAILURE() << "smtp-sink did not start (attempt " << attempt << "):\n"
                    << hub::testing::TailFile(log, 20);
    }
    return nullptr;
  }

  ~Sink() {
    if (child_ != nullptr) {
      child_->Signal(SIGTERM);
      absl::StatusOr<int> status = child_->Wait(absl::Seconds(5));
      EXPECT_TRUE(status.ok() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
          << "smtp-sink did not exit cleanly on SIGTERM:\n"
          << hub::testing::TailFile(child_->log_path(), 20);
    }
  }
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  int port() const { return port_; }
  fs::path maildir() const { return dir_.path() / "mail"; }

  // The messages saved so far, oldest first.
  std::vector<Saved> Messages() const {
    std::vector<fs::path> names;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(maildir(), error)) {
      if (entry.path().extension() == ".eml") {
        names.push_back(entry.path());
      }
    }
    std::sort(names.begin(), names.end());
    std::vector<Saved> saved;
    saved.reserve(names.size());
    for (const fs::path& eml : names) {
      fs::path sidecar = eml;
      sidecar.replace_extension(".json");
      saved.push_back({ReadFile(eml), json::parse(ReadFile(sidecar))});
    }
    return saved;
  }

  static std::string SinkPath() { return absl::StrCat(HUB_SOURCE_DIR, "/deploy/local/smtp-sink"); }

 private:
  Sink() : dir_("smtp-sink") {}

  TempDirectory dir_;
  int port_ = 0;
  std::unique_ptr<hub::testing::ChildProcess> child_;
};

class SmtpClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    shared_certs = new TempDirectory("smtp-certs");
    // The first sink makes the certificate; clients check their CA file exists at Create.
    std::unique_ptr<Sink> sink = StartTlsSink();
    ASSERT_NE(sink, nullptr);
    ASSERT_TRUE(fs::exists(CaFile()));
  }
  static void TearDownTestSuite() {
    delete shared_certs;
    shared_certs = nullptr;
  }

  // The self-signed certificate directory the sinks share (made by the first one).
  static std::string CertDir() { return shared_certs->path().string(); }
  static std::string CaFile() { return (shared_certs->path() / "cert.pem").string(); }

  // A sink offering STARTTLS with the shared certificate, plus `flags`.
  static std::unique_ptr<Sink> StartTlsSink(std::vector<std::string> flags = {}) {
    flags.insert(flags.begin(), {"--self-signed", CertDir()});
    return Sink::Start(flags);
  }

  static SmtpOptions Options(int port) {
    SmtpOptions options;
    options.host = "127.0.0.1";
    options.port = port;
    options.tls = TlsMode::kStartTls;
    options.ca_file = CaFile();
    options.from_address = "hub@example.org";
    options.from_name = "Victim and Witness Hub";
    options.connect_timeout = absl::Seconds(2);
    options.timeout = absl::Seconds(5);
    return options;
  }

  static std::unique_ptr<SmtpClient> Client(SmtpOptions options) {
    absl::StatusOr<std::unique_ptr<SmtpClient>> client =
        SmtpClient::Create(std::move(options), TestClock());
    EXPECT_THAT(client, IsOk());
    return client.ok() ? *std::move(client) : nullptr;
  }

  static Email Message(std::string message_id) {
    Email email;
    email.message_id = std::move(message_id);
    email.to_address = kRecipient;
    email.subject = "Your case update";
    email.text_body = absl::StrCat("Dear ", kTextSecret, ",\nThere is news about your case.\n");
    email.language = "en";
    return email;
  }

  // A failed result must carry neither the recipient nor any of the content.
  static void ExpectNoPersonalData(const SmtpResult& result, const Email& email) {
    EXPECT_THAT(result.error_message, Not(HasSubstr(email.to_address)));
    EXPECT_THAT(result.error_message, Not(HasSubstr("sam.victim")));
    EXPECT_THAT(result.error_message, Not(HasSubstr(kTextSecret)));
    EXPECT_THAT(result.error_message, Not(HasSubstr(email.subject)));
    EXPECT_THAT(result.error_message, Not(HasSubstr(kPassword)));
  }

  static TempDirectory* shared_certs;
};

TempDirectory* SmtpClientTest::shared_certs = nullptr;

// --- Options -----------------------------------------------------------------------------

SmtpOptions ValidOptions() {
  SmtpOptions options;
  options.host = "smtp.example.org";
  options.from_address = "hub@example.org";
  return options;
}

TEST(SmtpOptionsTest, AcceptsValidOptions) {
  EXPECT_THAT(ValidateSmtpOptions(ValidOptions()), IsOk());
  for (const char* host : {"127.0.0.1", "::1", "localhost"}) {
    SmtpOptions options = ValidOptions();
    options.host = host;
    options.tls = TlsMode::kNone;
    EXPECT_THAT(ValidateSmtpOptions(options), IsOk()) << host;
  }
  SmtpOptions with_auth = ValidOptions();
  with_auth.username = "hub";
  with_auth.password = kPassword;
  EXPECT_THAT(ValidateSmtpOptions(with_auth), IsOk());
}

TEST(SmtpOptionsTest, RefusesBadOptionsNamingTheSetting) {
  struct Case {
    const char* name;
    void (*change)(SmtpOptions&);
    const char* setting;
  };
  const Case cases[] = {
      {"empty host", [](SmtpOptions& o) { o.host = ""; }, "smtp-host"},
      {"host with a scheme", [](SmtpOptions& o) { o.host = "smtp://mail"; }, "smtp-host"},
      {"port 0", [](SmtpOptions& o) { o.port = 0; }, "smtp-port"},
      {"port 70000", [](SmtpOptions& o) { o.port = 70000; }, "smtp-port"},
      {"clear text to a remote host", [](SmtpOptions& o) { o.tls = TlsMode::kNone; }, "smtp-tls"},
      {"clear text to a LAN address",
       [](SmtpOptions& o) {
         o.host = "10.0.0.5";
         o.tls = TlsMode::kNone;
       },
       "smtp-tls"},
      {"no from", [](SmtpOptions& o) { o.from_address = ""; }, "smtp-from"},
      {"from without a domain", [](SmtpOptions& o) { o.from_address = "hub"; }, "smtp-from"},
      {"from with a header",
       [](SmtpOptions& o) { o.from_address = "hub@example.org\r\nBcc: x@example.org"; },
       "smtp-from"},
      {"from name on two lines", [](SmtpOptions& o) { o.from_name = "Hub\r\nBcc: x"; },
       "smtp-from-name"},
      {"helo with a space", [](SmtpOptions& o) { o.helo_name = "hub notification"; },
       "smtp-helo-name"},
      {"password without user", [](SmtpOptions& o) { o.password = kPassword; }, "smtp-username"},
      {"user without password", [](SmtpOptions& o) { o.username = "hub"; }, "smtp-password-file"},
      {"password with a newline",
       [](SmtpOptions& o) {
         o.username = "hub";
         o.password = absl::StrCat(kPassword, "\nRSET");
       },
       "smtp-password-file"},
      {"zero connect timeout", [](SmtpOptions& o) { o.connect_timeout = absl::ZeroDuration(); },
       "smtp-connect-timeout"},
      {"negative timeout", [](SmtpOptions& o) { o.timeout = absl::Seconds(-1); }, "smtp-timeout"},
  };
  for (const Case& c : cases) {
    SmtpOptions options = ValidOptions();
    c.change(options);
    absl::Status status = ValidateSmtpOptions(options);
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.setting)))
        << c.name;
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr(kPassword))) << c.name;
  }
}

TEST(SmtpOptionsTest, TlsModeNamesRoundTrip) {
  for (TlsMode mode : {TlsMode::kNone, TlsMode::kStartTls, TlsMode::kImplicit}) {
    absl::StatusOr<TlsMode> parsed = ParseTlsMode(TlsModeName(mode));
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(*parsed, mode);
  }
  EXPECT_THAT(ParseTlsMode("ssl"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("smtp-tls")));
}

TEST(SmtpOptionsTest, LoadsFromSettings) {
  TempDirectory dir("smtp-settings");
  std::string password_file = (dir.path() / "password").string();
  std::ofstream(password_file) << kPassword << "\n";

  absl::StatusOr<SmtpOptions> options = LoadSmtpOptions(config::ConfigSource::FromMap({
      {"smtp-host", "smtp.example.org"},
      {"smtp-tls", "implicit"},
      {"smtp-username", "hub"},
      {"smtp-password-file", password_file},
      {"smtp-from", "hub@example.org"},
      {"smtp-from-name", "Hwb Dioddefwyr"},
      {"smtp-timeout", "45s"},
  }));
  ASSERT_THAT(options, IsOk());
  EXPECT_EQ(options->host, "smtp.example.org");
  EXPECT_EQ(options->tls, TlsMode::kImplicit);
  EXPECT_EQ(options->port, 465);
  EXPECT_EQ(options->username, "hub");
  EXPECT_EQ(options->password, kPassword);
  EXPECT_EQ(options->from_name, "Hwb Dioddefwyr");
  EXPECT_EQ(options->timeout, absl::Seconds(45));
  EXPECT_EQ(options->connect_timeout, absl::Seconds(10));

  absl::StatusOr<SmtpOptions> defaults = LoadSmtpOptions(config::ConfigSource::FromMap(
      {{"smtp-host", "smtp.example.org"}, {"smtp-from", "hub@example.org"}}));
  ASSERT_THAT(defaults, IsOk());
  EXPECT_EQ(defaults->tls, TlsMode::kStartTls);
  EXPECT_EQ(defaults->port, 587);
  EXPECT_TRUE(defaults->username.empty() && defaults->password.empty());

  EXPECT_THAT(LoadSmtpOptions(config::ConfigSource::FromMap({{"smtp-from", "hub@example.org"}})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("smtp-host")));
  EXPECT_THAT(LoadSmtpOptions(config::ConfigSource::FromMap(
                  {{"smtp-host", "smtp.example.org"},
                   {"smtp-from", "hub@example.org"},
                   {"smtp-username", "hub"},
                   {"smtp-password-file", (dir.path() / "missing").string()}})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("smtp-password-file")));
  EXPECT_THAT(LoadSmtpOptions(config::ConfigSource::FromMap({{"smtp-host", "smtp.example.org"},
                                                             {"smtp-from", "hub@example.org"},
                                                             {"smtp-tls", "none"}})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("smtp-tls")));
  EXPECT_EQ(SmtpSettingNames().count("smtp-password-file"), 1U);
}

TEST(SmtpOptionsTest, CreateRefusesAnUnreadableCaFile) {
  SmtpOptions options = ValidOptions();
  for (const char* ca_file : {"/nonexistent/ca.pem", "/tmp"}) {
    options.ca_file = ca_file;
    EXPECT_THAT(SmtpClient::Create(options, TestClock()),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("smtp-ca-file")))
        << ca_file;
  }
}

// --- Composing the message ---------------------------------------------------------------

// The header block of a composed message, as name → value (folding undone).
std::map<std::string, std::string> Headers(absl::string_view message) {
  absl::string_view head = message.substr(0, message.find("\r\n\r\n"));
  std::string unfolded = absl::StrReplaceAll(head, {{"\r\n ", " "}});
  std::map<std::string, std::string> headers;
  for (absl::string_view line : absl::StrSplit(unfolded, "\r\n")) {
    size_t colon = line.find(": ");
    headers[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 2));
  }
  return headers;
}

TEST(ComposeMessageTest, TextOnlyAsciiMessage) {
  Email email;
  email.message_id = "n-2026-000123.1";
  email.to_address = kRecipient;
  email.subject = "Your case update";
  email.text_body = "Hello,\n.starts with a dot\n.\nBye\n";
  email.language = "en";
  absl::StatusOr<std::string> message = ComposeMessage(ValidOptions(), email, TestTime());
  ASSERT_THAT(message, IsOk());
  std::map<std::string, std::string> headers = Headers(*message);
  EXPECT_EQ(headers["Date"], "Mon, 05 Jan 2026 09:00:00 +0000");
  EXPECT_EQ(headers["From"], "hub@example.org");
  EXPECT_EQ(headers["To"], kRecipient);
  EXPECT_EQ(headers["Subject"], "Your case update");
  EXPECT_EQ(headers["Message-ID"], "<n-2026-000123.1@example.org>");
  EXPECT_EQ(headers["X-Hub-Message-Id"], "n-2026-000123.1");
  EXPECT_EQ(headers["Content-Language"], "en");
  EXPECT_EQ(headers["MIME-Version"], "1.0");
  EXPECT_EQ(headers["Content-Type"], "text/plain; charset=UTF-8");
  EXPECT_EQ(headers["Content-Transfer-Encoding"], "7bit");
  EXPECT_EQ(headers["Auto-Submitted"], "auto-generated");
  // CRLF line ends; the dots are left for libcurl to stuff.
  EXPECT_TRUE(absl::EndsWith(*message, "\r\n\r\nHello,\r\n.starts with a dot\r\n.\r\nBye\r\n"))
      << *message;
}

TEST(ComposeMessageTest, WelshSubjectAndBodiesAreEncoded) {
  SmtpOptions options = ValidOptions();
  options.from_name = "Hwb Dioddefwyr a Thystion ŵ";
  Email email;
  email.message_id = "m1";
  email.to_address = kRecipient;
  email.subject = kWelshSubject;
  email.text_body = absl::StrCat("Annwyl ", kTextSecret, ", mae'n ddrwg gennym = ŵ ŷ â. ",
                                 std::string(120, 'x'), "\n");
  email.html_body = "<p>Annwyl ŵ</p>\n";
  email.language = "cy";
  absl::StatusOr<std::string> message = ComposeMessage(options, email, TestTime());
  ASSERT_THAT(message, IsOk());
  std::map<std::string, std::string> headers = Headers(*message);
  EXPECT_THAT(headers["Subject"], HasSubstr("=?UTF-8?B?"));
  EXPECT_THAT(headers["From"], AllOf(HasSubstr("=?UTF-8?B?"), HasSubstr("<hub@example.org>")));
  EXPECT_THAT(headers["Content-Type"], HasSubstr("multipart/alternative; boundary="));
  EXPECT_EQ(headers["Content-Language"], "cy");
  EXPECT_THAT(*message, HasSubstr("Content-Transfer-Encoding: quoted-printable"));
  EXPECT_THAT(*message, HasSubstr("=3D =C5=B5 =C5=B7 =C3=A2"));
  for (absl::string_view line : absl::StrSplit(*message, "\r\n")) {
    EXPECT_LE(line.size(), 78U) << line;
    for (char c : line) {
      EXPECT_TRUE(c >= 0x20 && c < 0x7F) << "not 7-bit: " << line;
    }
  }
}

TEST(ComposeMessageTest, RefusesWhatCannotBeSentSafely) {
  struct Case {
    const char* name;
    void (*change)(Email&);
  };
  const Case cases[] = {
      {"empty address", [](Email& e) { e.to_address = ""; }},
      {"no domain", [](Email& e) { e.to_address = "sam.victim"; }},
      {"two ats", [](Email& e) { e.to_address = "sam@victim@example.org"; }},
      {"space", [](Email& e) { e.to_address = "sam victim@example.org"; }},
      {"angle brackets", [](Email& e) { e.to_address = "<sam.victim@example.org>"; }},
      {"header injection", [](Email& e) { e.to_address = "sam.victim@example.org\r\nBcc: x@y"; }},
      {"bad domain", [](Email& e) { e.to_address = "sam.victim@-example.org"; }},
      {"two addresses", [](Email& e) { e.to_address = "sam.victim@example.org,x@example.org"; }},
      {"empty message id", [](Email& e) { e.message_id = ""; }},
      {"message id with a space", [](Email& e) { e.message_id = "a b"; }},
      {"message id with brackets", [](Email& e) { e.message_id = "<a>"; }},
      {"bad language", [](Email& e) { e.language = "Welsh language"; }},
      {"subject not UTF-8", [](Email& e) { e.subject = "caf\xe9"; }},
      {"body not UTF-8", [](Email& e) { e.text_body = "\xc3\x28"; }},
  };
  for (const Case& c : cases) {
    Email email{.message_id = "m1",
                .to_address = kRecipient,
                .subject = "s",
                .text_body = "b",
                .html_body = "",
                .language = ""};
    c.change(email);
    absl::StatusOr<std::string> message = ComposeMessage(ValidOptions(), email, TestTime());
    EXPECT_THAT(message, StatusIs(absl::StatusCode::kInvalidArgument)) << c.name;
    EXPECT_THAT(std::string(message.status().message()), Not(HasSubstr("sam")));
  }
}

// --- Classification ----------------------------------------------------------------------

TEST(ClassifyTransferTest, TellsSentFailedAndInDoubtApart) {
  struct Case {
    CURLcode curl_code;
    int reply_code;
    bool payload_sent;
    SmtpOutcome expected;
    const char* message_part;
  };
  const Case cases[] = {
      {CURLE_OK, 250, true, SmtpOutcome::kSent, ""},
      // After the whole message: the answer to the end of DATA decides.
      {CURLE_RECV_ERROR, 354, true, SmtpOutcome::kInDoubt, "may have taken"},
      {CURLE_OPERATION_TIMEDOUT, 354, true, SmtpOutcome::kInDoubt, "may have taken"},
      {CURLE_GOT_NOTHING, 354, true, SmtpOutcome::kInDoubt, "must not be resent"},
      {CURLE_SEND_ERROR, 354, true, SmtpOutcome::kInDoubt, "may have taken"},
      {CURLE_WEIRD_SERVER_REPLY, 451, true, SmtpOutcome::kTransientFailure, "451"},
      {CURLE_WEIRD_SERVER_REPLY, 554, true, SmtpOutcome::kPermanentFailure, "554"},
      // Before it: nothing was taken.
      {CURLE_SEND_ERROR, 550, false, SmtpOutcome::kPermanentFailure, "envelope"},
      {CURLE_SEND_ERROR, 553, false, SmtpOutcome::kPermanentFailure, "553"},
      {CURLE_SEND_ERROR, 451, false, SmtpOutcome::kTransientFailure, "451"},
      {CURLE_SEND_ERROR, 250, false, SmtpOutcome::kTransientFailure, "nothing was taken"},
      {CURLE_RECV_ERROR, 354, false, SmtpOutcome::kTransientFailure, "nothing was taken"},
      {CURLE_LOGIN_DENIED, 535, false, SmtpOutcome::kPermanentFailure, "refused the credentials"},
      {CURLE_LOGIN_DENIED, 250, false, SmtpOutcome::kPermanentFailure, "refused the credentials"},
      {CURLE_LOGIN_DENIED, 454, false, SmtpOutcome::kTransientFailure, "AUTH failed for now"},
      {CURLE_USE_SSL_FAILED, 250, false, SmtpOutcome::kTransientFailure, "STARTTLS unavailable"},
      {CURLE_PEER_FAILED_VERIFICATION, 220, false, SmtpOutcome::kTransientFailure, "TLS"},
      {CURLE_SSL_CONNECT_ERROR, 220, false, SmtpOutcome::kTransientFailure, "TLS"},
      {CURLE_COULDNT_CONNECT, 0, false, SmtpOutcome::kTransientFailure, "could not connect"},
      {CURLE_COULDNT_RESOLVE_HOST, 0, false, SmtpOutcome::kTransientFailure, "could not connect"},
      {CURLE_OPERATION_TIMEDOUT, 250, false, SmtpOutcome::kTransientFailure, "timed out"},
      // A 554 greeting ("no service here") is about the server, not this message.
      {CURLE_WEIRD_SERVER_REPLY, 554, false, SmtpOutcome::kTransientFailure, "nothing was taken"},
  };
  for (const Case& c : cases) {
    TransferFacts facts;
    facts.curl_code = c.curl_code;
    facts.reply_code = c.reply_code;
    facts.payload_sent = c.payload_sent;
    facts.curl_detail = "detail";
    SmtpResult result = ClassifyTransfer(facts);
    std::string label =
        absl::StrCat("curl ", c.curl_code, " reply ", c.reply_code, " payload ", c.payload_sent);
    EXPECT_EQ(SmtpOutcomeName(result.outcome), SmtpOutcomeName(c.expected)) << label;
    EXPECT_EQ(result.reply_code, c.reply_code) << label;
    EXPECT_THAT(result.error_message, HasSubstr(c.message_part)) << label;
    if (c.expected != SmtpOutcome::kSent) {
      EXPECT_THAT(result.error_message, HasSubstr("detail")) << label;
    }
  }
}

TEST(ClassifyTransferTest, OutcomeNames) {
  EXPECT_EQ(SmtpOutcomeName(SmtpOutcome::kSent), "sent");
  EXPECT_EQ(SmtpOutcomeName(SmtpOutcome::kTransientFailure), "transient_failure");
  EXPECT_EQ(SmtpOutcomeName(SmtpOutcome::kPermanentFailure), "permanent_failure");
  EXPECT_EQ(SmtpOutcomeName(SmtpOutcome::kInDoubt), "in_doubt");
}

// --- Against the real sink ---------------------------------------------------------------

TEST_F(SmtpClientTest, DeliversOverStartTlsWithWelshSubjectAndBothParts) {
  std::unique_ptr<Sink> sink = StartTlsSink();
  ASSERT_NE(sink, nullptr);
  std::unique_ptr<SmtpClient> client = Client(Options(sink->port()));
  ASSERT_NE(client, nullptr);

  Email email = Message("n-2026-000123");
  email.subject = kWelshSubject;
  email.language = "cy";
  email.text_body =
      "Annwyl Samira,\n.Mae'r llinell hon yn dechrau gyda dot\n.\n..dau ddot\nŵ ŷ â = hwyl\n";
  email.html_body = "<p>Annwyl Samira,</p>\n.<p>dot</p>\n.\n<p>ŵ ŷ â</p>\n";
  SmtpResult result = client->Send(email);
  ASSERT_EQ(SmtpOutcomeName(result.outcome), "sent") << result.error_message;
  EXPECT_EQ(result.reply_code, 250);
  EXPECT_EQ(result.error_message, "");

  std::vector<Saved> saved = sink->Messages();
  ASSERT_EQ(saved.size(), 1U);
  const json& info = saved[0].info;
  EXPECT_EQ(info["tls"], true);
  EXPECT_EQ(info["envelope_from"], "hub@example.org");
  EXPECT_EQ(info["envelope_to"], json::array({kRecipient}));
  EXPECT_THAT(saved[0].eml, HasSubstr("X-Sink-TLS: yes\r\n"));
  EXPECT_THAT(saved[0].eml, HasSubstr("\r\nSubject: =?UTF-8?B?"));
  EXPECT_THAT(saved[0].eml, HasSubstr("\r\nDate: Mon, 05 Jan 2026 09:00:00 +0000\r\n"));

  // As a mail client reads it (Python's email package, in the sink).
  const json& message = info["message"];
  EXPECT_EQ(message["subject"], kWelshSubject);
  EXPECT_EQ(message["from"], "Victim and Witness Hub <hub@example.org>");
  EXPECT_EQ(message["to"], kRecipient);
  EXPECT_EQ(message["message_id"], "<n-2026-000123@example.org>");
  EXPECT_EQ(message["content_type"], "multipart/alternative");
  EXPECT_EQ(message["defects"], json::array());
  std::map<std::string, std::string> headers;
  for (const json& header : message["headers"]) {
    headers[header[0].get<std::string>()] = header[1].get<std::string>();
  }
  EXPECT_EQ(headers["X-Hub-Message-Id"], "n-2026-000123");
  EXPECT_EQ(headers["Content-Language"], "cy");
  EXPECT_EQ(headers["MIME-Version"], "1.0");
  ASSERT_EQ(message["parts"].size(), 2U);
  const json& text = message["parts"][0];
  const json& html = message["parts"][1];
  EXPECT_EQ(text["content_type"], "text/plain");
  EXPECT_EQ(text["charset"], "utf-8");
  EXPECT_EQ(text["transfer_encoding"], "quoted-printable");
  EXPECT_EQ(Normalized(text["body"].get<std::string>()), email.text_body);
  EXPECT_EQ(html["content_type"], "text/html");
  EXPECT_EQ(html["charset"], "utf-8");
  EXPECT_EQ(Normalized(html["body"].get<std::string>()), email.html_body);
}

TEST_F(SmtpClientTest, PlainTextLinesStartingWithADotSurvive) {
  std::unique_ptr<Sink> sink = StartTlsSink();
  ASSERT_NE(sink, nullptr);
  std::unique_ptr<SmtpClient> client = Client(Options(sink->port()));
  ASSERT_NE(client, nullptr);

  Email email = Message("dots-1");
  email.text_body = ".first\n.\n..\n...three\nlast line\n.";
  SmtpResult result = client->Send(email);
  ASSERT_EQ(SmtpOutcomeName(result.outcome), "sent") << result.error_message;

  std::vector<Saved> saved = sink->Messages();
  ASSERT_EQ(saved.size(), 1U);
  // The raw message as received, after the server undid the dot-stuffing.
  EXPECT_TRUE(
      absl::EndsWith(saved[0].eml, "\r\n\r\n.first\r\n.\r\n..\r\n...three\r\nlast line\r\n.\r\n"))
      << saved[0].eml;
  const json& part = saved[0].info["message"]["parts"][0];
  EXPECT_EQ(part["content_type"], "text/plain");
  EXPECT_EQ(part["transfer_encoding"], "7bit");
  EXPECT_EQ(Normalized(part["body"].get<std::string>()), email.text_body + "\n");
}

TEST_F(SmtpClientTest, RefusesToSendInClearWhenStartTlsIsNotOffered) {
  std::unique_ptr<Sink> sink = Sink::Start({});  // No certificate: no STARTTLS.
  ASSERT_NE(sink, nullptr);
  std::unique_ptr<SmtpClient> client = Client(Options(sink->port()));
  ASSERT_NE(client, nullptr);

  Email email = Message("clear-1");
  SmtpResult result = client->Send(email);
  EXPECT_EQ(SmtpOutcomeName(result.outcome), "transient_failure");
  EXPECT_THAT(result.error_message, HasSubstr("STARTTLS unavailable"));
  ExpectNoPersonalData(result, email);
  EXPECT_TRUE(sink->Messages().empty());
}

TEST_F(SmtpClientTest, PlainSmtpToLoopbackWhenAllowed) {
  std::unique_ptr<Sink> sink = Sink::Start({});
  ASSERT_NE(sink, nullptr);
  SmtpOptions options = Options(sink->port());
  options.tls = TlsMode::kNone;
  options.ca_file = "";
  std::unique_ptr<SmtpClient> client = Client(options);
  ASSERT_NE(client, nullptr);

  SmtpResult result = client->Send(Message("clear-ok"));
  EXPECT_EQ(SmtpOutcomeName(result.outcome), "sent") << result.error_message;
  std::vector<Saved> saved = sink->Messages();
  ASSERT_EQ(saved.size(), 1U);
  EXPECT_EQ(saved[0].info["tls"], false);
}

TEST_F(SmtpClientTest, DeliversOverImplicitTls) {
  std::unique_ptr<Sink> sink = StartTlsSink({"--implicit-tls"});
  ASSERT_NE(sink, nullptr);
  SmtpOptions options = Options(sink->port());
  options.tls = TlsMode::kImplicit;
  std::unique_ptr<SmtpClient> client = Client(options);
  ASSERT_NE(client, nullptr);

  SmtpResult result = client->Send(Message("implicit-1"));
  EXPECT_EQ(SmtpOutcomeName(result.outcome), "sent") << result.error_message;
  std::vector<Saved> saved = sink->Messages();
  ASSERT_EQ(saved.size(), 1U);
  EXPECT_EQ(saved[0].info["tls"], true);
}

TEST_F(SmtpClientTest, AuthenticatesWithTheConfiguredCredentials) {
  TempDirectory dir("smtp-auth");
  std::string password_file = (dir.path() / "password").string();
  std::ofstream(password_file) << kPassword << "\n";
  std::unique_ptr<Sink> sink =
      StartTlsSink({"--require-tls", "--auth-user", "hub", "--auth-password-file", password_file});
  ASSERT_NE(sink, nullptr);

  SmtpOptions options = Options(sink->port());
  options.username = "hub";
  options.password = kPassword;
  std::unique_ptr<SmtpClient> client = Client(options);
  ASSERT_NE(client, nullptr);
  SmtpResult result = client->Send(Message("auth-ok"));
  EXPECT_EQ(SmtpOutcomeName(result.outcome), "sent") << result.error_message;

  // Wrong password: 535, and every message would fail the same way until an operator acts.
  options.password = "wrong-password";
  client = Client(options);
  ASSERT_NE(client, nullptr);
  Email email = Message("auth-bad");
  result = client->Send(email);
  EXPECT_EQ(SmtpOutcomeName(result.outcome), "permanent_failure");
  EXPECT_EQ(result.reply_code, 535);
  EXPECT_THAT(result.error_message, HasSubstr("refused the credentials"));
  EXPECT_THAT(result.error_message, Not(HasSubstr("wrong-password")));
  ExpectNoPersonalData(result, email);

  // No credentials at all: the server refuses MAIL FROM with 530.
  options.username = "";
  options.password = "";
  client = Client(options);
  ASSERT_NE(client, nullptr);
  result = client->Send(Message("auth-none"));
  EXPECT_EQ(SmtpOutcomeName(result.outcome), "permanent_failure");
  EXPECT_EQ(result.reply_code, 530);

  std::vector<Saved> saved = sink->Messages();
  ASSERT_EQ(saved.size(), 1U);
  EXPECT_EQ(saved[0].info["auth_user"], "hub");
  EXPECT_THAT(saved[0].eml, HasSubstr("X-Hub-Message-Id: auth-ok\r\n"));
}

TEST_F(SmtpClientTest, RecipientRefusalsArePermanentOrTransientByCode) {
  std::unique_ptr<Sink> sink =
      StartTlsSink({"--fail-rcpt", "nosuchuser:550", "--fail-rcpt", "busy:451"});
  ASSERT_NE(sink, nullptr);
  std::unique_ptr<SmtpClient> client = Client(Options(sink->port()));
  ASSERT_NE(client, nullptr);

  Email unknown = Message("rcpt-550");
  unknown.to_address = "nosuchuser@example.org";
  SmtpResult result = client->Send(unknown);
  EXPECT_EQ(SmtpOutcomeName(result.outcome), "permanent_failure");
  EXPECT_EQ(result.reply_code, 550);
  EXPECT_THAT(result.error_message, HasSubstr("RCPT"));
  ExpectNoPersonalData(result, unknown);
  EXPECT_THAT(result.error_message, Not(HasSubstr("nosuchuser")));

  Email busy = Message("rcpt-451");
  busy.to_address = "busy@example.org";
  result = client->Send(busy);
  EXPECT_EQ(SmtpOutcomeName(result.outcome), "transient_failure");
  EXPECT_EQ(result.reply_code, 451);
  EXPECT_THAT(result.error_message, Not(HasSubstr("busy@")));

  EXPECT_TRUE(sink->Messages().empty());
  result = client->Send(Message("rcpt-ok"));
  EXPECT_EQ(SmtpOutcomeName(result.outcome), "sent") << result.error_message;
  EXPECT_EQ(sink->Messages().size(), 1U);
}

TEST_F(SmtpClientTest, RefusalAtTheEndOfDataIsTransientOrPermanentByCode) {
  for (const auto& [code, expected] : std::vector<std::pair<int, absl::string_view>>{
           {451, "transient_failure"}, {554, "permanent_failure"}}) {
    std::unique_ptr<Sink> sink = StartTlsSink({"--fail-data", absl::StrCat(code)});
    ASSERT_NE(sink, nullptr);
    std::unique_ptr<SmtpClient> client = Client(Options(sink->port()));
    ASSERT_NE(client, nullptr);
    Email email = Message(absl::StrCat("data-", code));
    SmtpResult result = client->Send(email);
    EXPECT_EQ(SmtpOutcomeName(result.outcome), expected) << code;
    EXPECT_EQ(result.reply_code, code);
    ExpectNoPersonalData(result, email);
    EXPECT_TRUE(sink->Messages().empty());
  }
}

TEST_F(SmtpClientTest, NoAnswerAfterTheWholeMessageIsInDoubt) {
  std::unique_ptr<Sink> sink = StartTlsSink({"--drop-after-data"});
  ASSERT_NE(sink, nullptr);
  std::unique_ptr<SmtpClient> client = Client(Options(sink->port()));
  ASSERT_NE(client, nullptr);

  Email email = Message("drop-1");
  SmtpResult result = client->Send(email);
  EXPECT_EQ(SmtpOutcomeName(result.outcome), "in_doubt");
  EXPECT_EQ(result.reply_code, 354);
  EXPECT_THAT(result.error_message, HasSubstr("must not be resent"));
  ExpectNoPersonalData(result, email);
  // Exactly why it must not be resent blindly: the server did keep it.
  std::vector<Saved> saved = sink->Messages();
  ASSERT_EQ(saved.size(), 1U);
  EXPECT_THAT(saved[0].eml, HasSubstr("X-Hub-Message-Id: drop-1\r\n"));
}

TEST_F(SmtpClientTest, TimeoutAfterTheWholeMessageIsInDoubt) {
  std::unique_ptr<Sink> sink = StartTlsSink({"--stall-after-data"});
  ASSERT_NE(sink, nullptr);
  SmtpOptions options = Options(sink->port());
  options.timeout = absl::Seconds(1);
  std::unique_ptr<SmtpClient> client = Client(options);
  ASSERT_NE(client, nullptr);

  absl::Time start = absl::Now();
  SmtpResult result = client->Send(Message("stall-1"));
  absl::Duration took = absl::Now() - start;
  EXPECT_EQ(SmtpOutcomeName(result.outcome), "in_doubt");
  // The wait for the last answer is bounded too (libcurl's own default would be 120 s).
  EXPECT_LT(took, absl::Seconds(2));
  EXPECT_THAT(result.error_message, HasSubstr("Timeout"));
  EXPECT_EQ(sink->Messages().size(), 1U);
}

TEST_F(SmtpClientTest, ConnectionRefusedIsTransient) {
  std::unique_ptr<SmtpClient> client = Client(Options(hub::testing::FreePort()));
  ASSERT_NE(client, nullptr);
  Email email = Message("refused-1");
  SmtpResult result = client->Send(email);
  EXPECT_EQ(SmtpOutcomeName(result.outcome), "transient_failure");
  EXPECT_EQ(result.reply_code, 0);
  EXPECT_THAT(result.error_message, HasSubstr("could not connect"));
  ExpectNoPersonalData(result, email);
}

TEST_F(SmtpClientTest, MalformedRecipientIsRefusedBeforeConnecting) {
  // Nothing listens on the port: a permanent failure proves no connection was tried.
  std::unique_ptr<SmtpClient> client = Client(Options(hub::testing::FreePort()));
  ASSERT_NE(client, nullptr);
  Email email = Message("bad-address");
  email.to_address = "sam.victim@example.org>\r\nRCPT TO:<other@example.org";
  SmtpResult result = client->Send(email);
  EXPECT_EQ(SmtpOutcomeName(result.outcome), "permanent_failure");
  EXPECT_THAT(result.error_message, HasSubstr("refused before sending"));
  ExpectNoPersonalData(result, email);
}

TEST_F(SmtpClientTest, UntrustedCertificateIsTransientAndSendsNothing) {
  TempDirectory other_certs("smtp-other-certs");
  // A sink whose certificate is not the one the client trusts.
  std::unique_ptr<Sink> sink = Sink::Start({"--self-signed", other_certs.path().string()});
  ASSERT_NE(sink, nullptr);

  for (const std::string& ca_file : {CaFile(), std::string()}) {
    SmtpOptions options = Options(sink->port());
    options.ca_file = ca_file;  // Empty: the system store, which knows no self-signed cert.
    std::unique_ptr<SmtpClient> client = Client(options);
    ASSERT_NE(client, nullptr);
    Email email = Message("untrusted-1");
    SmtpResult result = client->Send(email);
    EXPECT_EQ(SmtpOutcomeName(result.outcome), "transient_failure") << ca_file;
    EXPECT_THAT(result.error_message, HasSubstr("certificate")) << ca_file;
    ExpectNoPersonalData(result, email);
  }
  EXPECT_TRUE(sink->Messages().empty());
}

TEST_F(SmtpClientTest, ConcurrentSendsEachArriveOnce) {
  std::unique_ptr<Sink> sink = StartTlsSink();
  ASSERT_NE(sink, nullptr);
  std::unique_ptr<SmtpClient> client = Client(Options(sink->port()));
  ASSERT_NE(client, nullptr);

  constexpr int kThreads = 4;
  constexpr int kPerThread = 3;
  std::vector<std::vector<SmtpResult>> results(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&client, &results, t] {
      for (int i = 0; i < kPerThread; ++i) {
        results[t].push_back(client->Send(Message(absl::StrCat("concurrent-", t, "-", i))));
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  for (const std::vector<SmtpResult>& per_thread : results) {
    for (const SmtpResult& result : per_thread) {
      EXPECT_EQ(SmtpOutcomeName(result.outcome), "sent") << result.error_message;
    }
  }
  std::vector<Saved> saved = sink->Messages();
  ASSERT_EQ(saved.size(), static_cast<size_t>(kThreads * kPerThread));
  std::set<std::string> ids;
  for (const Saved& message : saved) {
    ids.insert(message.info["message"]["message_id"].get<std::string>());
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace hub::notification::smtp
