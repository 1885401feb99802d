// The email channel over SMTP: composes one message (RFC 5322 headers, MIME parts in
// UTF-8) and hands it to a mail server with libcurl, over STARTTLS unless told otherwise.
//
// Sending never happens twice by accident. Each Send ends in one of four outcomes, and
// the line between them is whether the server may have taken the message:
//   kSent              the server answered 250 to the end of DATA: it took the message.
//   kTransientFailure  the server certainly did not take it, and a later attempt may
//                      work: connecting, DNS, the TLS handshake or certificate check
//                      failed; STARTTLS was required but not offered (the client never
//                      sends in clear instead); a 4xx to AUTH, MAIL FROM, RCPT TO or
//                      DATA; the connection broke or timed out before the whole message
//                      was handed over; or a 4xx answer to the end of DATA.
//   kPermanentFailure  retrying cannot help: a 5xx to MAIL FROM, RCPT TO or DATA (e.g.
//                      550 no such user), a 5xx answer to the end of DATA, a recipient
//                      address or message the client refused before connecting, or AUTH
//                      refused (535): the configured credentials are wrong, so every
//                      message will fail until an operator fixes them (the error says so).
//   kInDoubt           the whole message was handed over (libcurl read it all and sent
//                      the final ".") but no answer came back: timeout or connection lost.
//                      The server may have queued it. The caller must not resend blindly:
//                      SMTP offers no way to ask the server afterwards, so what happens next
//                      is the caller's policy (e.g. a task for staff, who can find the
//                      message in the recipient's or a journal mailbox by its Message-ID or
//                      X-Hub-Message-Id). A resend with the same message_id carries the same
//                      Message-ID, which lets mail clients hide the duplicate.
//
// The message: Date (from the injected clock), From (display name and from_address),
// To, Subject (RFC 2047 encoded words in UTF-8 when not plain ASCII), Message-ID
// "<message_id@domain of from_address>", X-Hub-Message-Id, Auto-Submitted:
// auto-generated (RFC 3834: no out-of-office replies), Content-Language, MIME-Version. A
// text-only email is one text/plain part; with an HTML body it is multipart/alternative
// (text first, then HTML). Bodies are UTF-8, sent as 7bit when plain ASCII with short
// lines and quoted-printable otherwise; line ends become CRLF. libcurl dot-stuffs lines
// that start with ".", so such lines arrive intact. The message is composed here rather
// than with curl_mime because the outcome depends on knowing when libcurl has read the
// last byte of it, which only a read callback tells.
//
// Personal data: the recipient address and the message content go to the server and
// nowhere else. The client does not log; error messages never contain the address or the
// content (libcurl's own error text is included with the address redacted). Secrets (the
// password) never appear in an error either.
//
// Time: Send blocks for at most about `timeout` (plus up to `timeout` more for the
// server's answer to QUIT after a successful send). After a failure the connection is
// closed without QUIT, because libcurl 7.88 would otherwise wait for the answer past the
// deadline.
//
// Lifecycle: Create() validates the options; the client then serves Send calls until
// destroyed. Thread-safe: each Send uses its own libcurl handle and connection.
#ifndef HUB_SERVICES_NOTIFICATION_SMTP_SMTP_CLIENT_H_
#define HUB_SERVICES_NOTIFICATION_SMTP_SMTP_CLIENT_H_

#include <memory>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#include "services/common/clock/clock.h"
#include "services/common/config/config.h"

namespace hub::notification::smtp {

// Setting names (services/common/config/config.h spelling), used by LoadSmtpOptions and in
// error messages.
inline constexpr absl::string_view kHostSetting = "smtp-host";
inline constexpr absl::string_view kPortSetting = "smtp-port";
inline constexpr absl::string_view kTlsSetting = "smtp-tls";
inline constexpr absl::string_view kCaFileSetting = "smtp-ca-file";
inline constexpr absl::string_view kUsernameSetting = "smtp-username";
inline constexpr absl::string_view kPasswordFileSetting = "smtp-password-file";
inline constexpr absl::string_view kFromSetting = "smtp-from";
inline constexpr absl::string_view kFromNameSetting = "smtp-from-name";
inline constexpr absl::string_view kHeloNameSetting = "smtp-helo-name";
inline constexpr absl::string_view kConnectTimeoutSetting = "smtp-connect-timeout";
inline constexpr absl::string_view kTimeoutSetting = "smtp-timeout";

enum class TlsMode {
  // Plain SMTP: only to a loopback host (a local sink or relay).
  kNone,
  // STARTTLS, required: a server that does not offer it gets nothing.
  kStartTls,
  // TLS from the first byte (smtps://, usually port 465).
  kImplicit,
};

// "none", "starttls" or "implicit": the values of the smtp-tls setting.
absl::string_view TlsModeName(TlsMode mode);
// The inverse of TlsModeName; kInvalidArgument naming smtp-tls otherwise.
absl::StatusOr<TlsMode> ParseTlsMode(absl::string_view text);

struct SmtpOptions {
  // A host name or IP address (IPv6 without brackets).
  std::string host;
  int port = 587;
  TlsMode tls = TlsMode::kStartTls;
  // PEM file of trusted CAs; empty: the system's trust store. The server's certificate
  // and host name are always verified.
  std::string ca_file;
  // Both empty: no AUTH. Both set: AUTH with a mechanism the server offers. Secrets: the
  // password is never put in an error or a log.
  std::string username;
  std::string password;
  // The envelope sender and the From: address, e.g. "hub@example.org". Its domain is the
  // right-hand side of every Message-ID.
  std::string from_address;
  // The display name in From:, e.g. "Victim and Witness Hub"; may be UTF-8.
  std::string from_name;
  // The name this client gives in EHLO.
  std::string helo_name = "hub-notification";
  absl::Duration connect_timeout = absl::Seconds(10);
  // The whole transaction, connection included. A timeout after the message was handed
  // over makes the send kInDoubt.
  absl::Duration timeout = absl::Seconds(30);
};

// OK, or kInvalidArgument naming the setting (smtp-host, smtp-port, smtp-tls, smtp-from,
// ...) and what is wrong; never a secret. TlsMode::kNone is refused unless the host is
// loopback (127.0.0.1, ::1 or localhost). Pure: does not read ca_file.
absl::Status ValidateSmtpOptions(const SmtpOptions& options);

// SmtpOptions from the smtp-* settings, validated:
//   smtp-host (required), smtp-tls (starttls | implicit | none; default starttls),
//   smtp-port (default 587, or 465 for implicit, 25 for none), smtp-ca-file,
//   smtp-username and smtp-password-file (a file holding the password; a trailing newline
//   is ignored), smtp-from (required), smtp-from-name, smtp-helo-name,
//   smtp-connect-timeout (default 10s), smtp-timeout (default 30s).
// Reads the password file; errors name the setting, never the password.
absl::StatusOr<SmtpOptions> LoadSmtpOptions(const config::ConfigSource& source);
// The setting names LoadSmtpOptions reads, for ConfigSource::CheckNoUnknownFlags.
std::set<std::string> SmtpSettingNames();

struct Email {
  // The hub's stable id for this message, the same across attempts: becomes the
  // Message-ID "<id@domain>" and the X-Hub-Message-Id header, so staff can find the
  // message in a mailbox. Letters, digits and !#$%&'*+-/=?^_`{|}~ with single inner dots.
  std::string message_id;
  // The recipient. Personal data.
  std::string to_address;
  std::string subject;
  std::string text_body;
  // Optional: empty sends text/plain only; otherwise multipart/alternative.
  std::string html_body;
  // A language tag for Content-Language ("en", "cy"); empty: no such header.
  std::string language;
};

enum class SmtpOutcome { kSent, kTransientFailure, kPermanentFailure, kInDoubt };

// "sent", "transient_failure", "permanent_failure" or "in_doubt" (for logs and metrics).
absl::string_view SmtpOutcomeName(SmtpOutcome outcome);

struct SmtpResult {
  SmtpOutcome outcome = SmtpOutcome::kInDoubt;
  // The last SMTP reply code seen (250 when sent; 354 when the answer to the end of DATA
  // never came), or 0 when the server never answered.
  int reply_code = 0;
  // Empty when sent; otherwise what went wrong, without personal data.
  std::string error_message;
};

// Sends one email; a seam for fakes in the notification service's tests.
class EmailSender {
 public:
  virtual ~EmailSender() = default;
  virtual SmtpResult Send(const Email& email) = 0;
};

class SmtpClient final : public EmailSender {
 public:
  // kInvalidArgument as ValidateSmtpOptions, or naming smtp-ca-file when it is set but
  // cannot be read. `clock` dates each message.
  static absl::StatusOr<std::unique_ptr<SmtpClient>> Create(SmtpOptions options,
                                                            std::shared_ptr<clock::Clock> clock);
  SmtpClient(const SmtpClient&) = delete;
  SmtpClient& operator=(const SmtpClient&) = delete;

  SmtpResult Send(const Email& email) override;

 private:
  SmtpClient(SmtpOptions options, std::shared_ptr<clock::Clock> clock, std::string url);

  const SmtpOptions options_;
  const std::shared_ptr<clock::Clock> clock_;
  // "smtp://host:port/helo_name" or "smtps://...".
  const std::string url_;
};

// The parts below are exposed for tests.

// The message exactly as Send hands it to libcurl (CRLF line ends, before dot-stuffing).
// kInvalidArgument, naming the field but never its value, for a malformed recipient
// address, message id or language tag, or a subject or body that is not valid UTF-8.
absl::StatusOr<std::string> ComposeMessage(const SmtpOptions& options, const Email& email,
                                           absl::Time date);

// What one libcurl transfer ended with.
struct TransferFacts {
  // The CURLcode of curl_easy_perform.
  int curl_code = 0;
  // CURLINFO_RESPONSE_CODE: the last SMTP reply, 0 if none.
  int reply_code = 0;
  // libcurl read the whole message (the read callback reached the end), so the final "."
  // followed: from here on, a missing answer means the server may have the message.
  bool payload_sent = false;
  // libcurl's error buffer, already free of personal data.
  std::string curl_detail;
};

// The outcome of a transfer, as described at the top of this file. Pure.
SmtpResult ClassifyTransfer(const TransferFacts& facts);

}  // namespace hub::notification::smtp

#endif  // HUB_SERVICES_NOTIFICATION_SMTP_SMTP_CLIENT_H_
