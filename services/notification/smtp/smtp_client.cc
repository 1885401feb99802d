#include "services/notification/smtp/smtp_client.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/base/call_once.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include <curl/curl.h>
#include <sys/socket.h>

#include "services/common/status/status_macros.h"

namespace hub::notification::smtp {
namespace {

// Longest message line SMTP carries (RFC 5321 4.5.3.1.6), without the CRLF.
constexpr size_t kMaxLineLength = 998;
// Longest encoded line quoted-printable allows (RFC 2045 6.7), without the CRLF.
constexpr size_t kQuotedPrintableLineLength = 76;
// UTF-8 bytes per RFC 2047 encoded word: 39 bytes are 52 base64 characters, so a word
// ("=?UTF-8?B?" ... "?=") is 64 characters and every header line stays under 78.
constexpr size_t kEncodedWordBytes = 39;
// An ASCII header value longer than this is sent as encoded words, which fold.
constexpr size_t kMaxPlainHeaderValue = 900;
constexpr size_t kMaxMessageIdLength = 200;

constexpr absl::string_view kRedactedRecipient = "<recipient>";

bool IsLoopbackHost(absl::string_view host) {
  return host == "127.0.0.1" || host == "::1" || absl::EqualsIgnoreCase(host, "localhost");
}

// A DNS name, an IPv4 address, or an IPv6 address without brackets.
bool IsHostName(absl::string_view host) {
  if (host.empty() || host.size() > 253) {
    return false;
  }
  return std::all_of(host.begin(), host.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':';
  });
}

// RFC 5322 atext.
bool IsAtext(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != absl::string_view::npos;
}

// RFC 5322 dot-atom-text: atext runs joined by single dots.
bool IsDotAtom(absl::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.' || absl::StrContains(text, "..")) {
    return false;
  }
  return std::all_of(text.begin(), text.end(), [](char c) { return c == '.' || IsAtext(c); });
}

bool IsDomain(absl::string_view domain) {
  if (domain.empty() || domain.size() > 253) {
    return false;
  }
  for (absl::string_view label : absl::StrSplit(domain, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    if (!std::all_of(label.begin(), label.end(), [](char c) {
          return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-';
        })) {
      return false;
    }
  }
  return true;
}

// "local@domain" with a dot-atom local part (no quoted strings, no comments, ASCII only):
// what the hub's addresses look like, and nothing that could break the SMTP command line.
bool IsMailAddress(absl::string_view address) {
  if (address.size() > 254) {
    return false;
  }
  size_t at = address.rfind('@');
  if (at == absl::string_view::npos) {
    return false;
  }
  absl::string_view local = address.substr(0, at);
  return local.size() <= 64 && IsDotAtom(local) && IsDomain(address.substr(at + 1));
}

absl::string_view DomainOf(absl::string_view address) {
  return address.substr(address.rfind('@') + 1);
}

// A language tag as BCP 47 spells it, e.g. "cy" or "en-GB".
bool IsLanguageTag(absl::string_view tag) {
  std::vector<absl::string_view> subtags = absl::StrSplit(tag, '-');
  for (size_t i = 0; i < subtags.size(); ++i) {
    absl::string_view subtag = subtags[i];
    size_t min = i == 0 ? 2 : 1;
    if (subtag.size() < min || subtag.size() > 8 ||
        !std::all_of(subtag.begin(), subtag.end(), [i](char c) {
          return i == 0 ? absl::ascii_isalpha(static_cast<unsigned char>(c))
                        : absl::ascii_isalnum(static_cast<unsigned char>(c));
        })) {
      return false;
    }
  }
  return true;
}

// The length of the UTF-8 sequence starting at text[i], or 0 if it is not well formed
// (overlong forms, surrogates and code points above U+10FFFF are refused).
size_t Utf8SequenceLength(absl::string_view text, size_t i) {
  auto byte = [&text](size_t at) { return static_cast<unsigned char>(text[at]); };
  unsigned char lead = byte(i);
  if (lead < 0x80) {
    return 1;
  }
  size_t length = 0;
  uint32_t code_point = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code_point = lead & 0x1Fu;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code_point = lead & 0x0Fu;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code_point = lead & 0x07u;
  } else {
    return 0;
  }
  if (i + length > text.size()) {
    return 0;
  }
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      return 0;
    }
    code_point = (code_point << 6) | (byte(i + k) & 0x3Fu);
  }
  constexpr std::array<uint32_t, 5> kMinForLength = {0, 0, 0x80, 0x800, 0x10000};
  if (code_point < kMinForLength[length] || code_point > 0x10FFFF ||
      (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    return 0;
  }
  return length;
}

bool IsValidUtf8(absl::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t length = Utf8SequenceLength(text, i);
    if (length == 0) {
      return false;
    }
    i += length;
  }
  return true;
}

bool IsPrintableAscii(absl::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
}

// A header value as unstructured text (RFC 5322 2.2.1): itself when it is short printable
// ASCII that cannot be mistaken for an encoded word, else RFC 2047 "B" encoded words in
// UTF-8, folded one word per line. Control characters become spaces either way, so a
// value can never start a new header. `text` is valid UTF-8.
std::string EncodeHeaderText(absl::string_view text) {
  std::string clean(text);
  std::replace_if(
      clean.begin(), clean.end(), [](char c) { return c >= 0 && c < 0x20; }, ' ');
  if (IsPrintableAscii(clean) && clean.size() <= kMaxPlainHeaderValue &&
      !absl::StrContains(clean, "=?")) {
    return clean;
  }
  std::vector<std::string> words;
  size_t start = 0;
  while (start < clean.size()) {
    size_t end = start;
    while (end < clean.size()) {
      size_t length = std::max<size_t>(Utf8SequenceLength(clean, end), 1);
      if (end + length - start > kEncodedWordBytes) {
        break;
      }
      end += length;
    }
    words.push_back(
        absl::StrCat("=?UTF-8?B?", absl::Base64Escape(clean.substr(start, end - start)), "?="));
    start = end;
  }
  return absl::StrJoin(words, "\r\n ");
}

// The From: value: `"Name" <address>`, `=?UTF-8?B?...?= <address>` or the bare address.
std::string FormatMailbox(absl::string_view name, absl::string_view address) {
  if (name.empty()) {
    return std::string(address);
  }
  if (IsPrintableAscii(name) && !absl::StrContains(name, "=?") &&
      name.size() <= kMaxPlainHeaderValue) {
    std::string quoted = absl::StrReplaceAll(name, {{"\\", "\\\\"}, {"\"", "\\\""}});
    return absl::StrCat("\"", quoted, "\" <", address, ">");
  }
  return absl::StrCat(EncodeHeaderText(name), " <", address, ">");
}

// RFC 5322 3.3 date-time in UTC, with English names whatever the process locale.
std::string FormatDate(absl::Time time) {
  static constexpr std::array<absl::string_view, 7> kDays = {"Mon", "Tue", "Wed", "Thu",
                                                             "Fri", "Sat", "Sun"};
  static constexpr std::array<absl::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  absl::CivilSecond civil = absl::ToCivilSecond(time, absl::UTCTimeZone());
  size_t weekday = 0;
  switch (absl::GetWeekday(civil)) {
    case absl::Weekday::monday:
      weekday = 0;
      break;
    case absl::Weekday::tuesday:
      weekday = 1;
      break;
    case absl::Weekday::wednesday:
      weekday = 2;
      break;
    case absl::Weekday::thursday:
      weekday = 3;
      break;
    case absl::Weekday::friday:
      weekday = 4;
      break;
    case absl::Weekday::saturday:
      weekday = 5;
      break;
    case absl::Weekday::sunday:
      weekday = 6;
      break;
  }
  return absl::StrFormat("%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[weekday], civil.day(),
                         kMonths[static_cast<size_t>(civil.month() - 1)], civil.year(),
                         civil.hour(), civil.minute(), civil.second());
}

// The body's lines, with CRLF, CR and LF all taken as line ends; a final line end adds no
// empty line.
std::vector<absl::string_view> BodyLines(absl::string_view body, std::string& storage) {
  storage = absl::StrReplaceAll(body, {{"\r\n", "\n"}, {"\r", "\n"}});
  absl::string_view text = storage;
  if (absl::EndsWith(text, "\n")) {
    text.remove_suffix(1);
  }
  if (body.empty()) {
    return {};
  }
  return absl::StrSplit(text, '\n');
}

std::string QuotedPrintableLine(absl::string_view line) {
  std::string out;
  size_t column = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    auto byte = static_cast<unsigned char>(line[i]);
    bool last = i + 1 == line.size();
    // Whitespace at the end of a line would be lost in transit (RFC 2045 6.7 (3)).
    bool encode = byte == '=' || (byte < 0x20 && byte != '\t') || byte > 0x7E ||
                  ((byte == ' ' || byte == '\t') && last);
    std::string token = encode ? absl::StrFormat("=%02X", byte) : std::string(1, line[i]);
    // Room for the "=" of a soft line break, unless this token ends the line.
    size_t limit = last ? kQuotedPrintableLineLength : kQuotedPrintableLineLength - 1;
    if (column + token.size() > limit) {
      out += "=\r\n";
      column = 0;
    }
    out += token;
    column += token.size();
  }
  out += "\r\n";
  return out;
}

struct EncodedBody {
  // "7bit" or "quoted-printable".
  absl::string_view transfer_encoding;
  // CRLF line ends; ends with CRLF unless empty.
  std::string text;
};

// 7bit when the body is ASCII without NUL and with lines SMTP can carry, so it stays
// readable in a mailbox; quoted-printable otherwise (Welsh text: ŵ, ŷ, â).
EncodedBody EncodeBody(absl::string_view body) {
  std::string storage;
  std::vector<absl::string_view> lines = BodyLines(body, storage);
  bool seven_bit = std::all_of(lines.begin(), lines.end(), [](absl::string_view line) {
    return line.size() <= kMaxLineLength &&
           std::all_of(line.begin(), line.end(), [](char c) { return c > 0 && c < 0x7F; });
  });
  EncodedBody encoded;
  if (seven_bit) {
    encoded.transfer_encoding = "7bit";
    for (absl::string_view line : lines) {
      absl::StrAppend(&encoded.text, line, "\r\n");
    }
  } else {
    encoded.transfer_encoding = "quoted-printable";
    for (absl::string_view line : lines) {
      encoded.text += QuotedPrintableLine(line);
    }
  }
  return encoded;
}

std::string PartHeaders(absl::string_view media_type, const EncodedBody& body) {
  return absl::StrCat("Content-Type: ", media_type, "; charset=UTF-8\r\n",
                      "Content-Transfer-Encoding: ", body.transfer_encoding, "\r\n");
}

// A boundary for multipart/alternative that occurs in neither encoded body; the same for
// the same message id and bodies, so a resend is byte-identical apart from the Date.
std::string ChooseBoundary(absl::string_view message_id, const EncodedBody& text,
                           const EncodedBody& html) {
  uint64_t hash = 14695981039346656037ULL;  // FNV-1a.
  for (char c : message_id) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  for (int attempt = 0;; ++attempt) {
    std::string boundary = absl::StrFormat("=_hub_alt_%016x_%d", hash, attempt);
    if (!absl::StrContains(text.text, boundary) && !absl::StrContains(html.text, boundary)) {
      return boundary;
    }
  }
}

// libcurl's read callback: hands over the message and notes when all of it was read.
struct Upload {
  absl::string_view data;
  size_t offset = 0;
  bool finished = false;
};

size_t ReadUpload(char* buffer, size_t size, size_t count, void* user_data) {
  auto* upload = static_cast<Upload*>(user_data);
  size_t n = std::min(size * count, upload->data.size() - upload->offset);
  if (n == 0) {
    upload->finished = true;
    return 0;
  }
  std::memcpy(buffer, upload->data.data() + upload->offset, n);
  upload->offset += n;
  // With the size known (CURLOPT_INFILESIZE_LARGE), libcurl stops calling once it has
  // every byte, without asking for the end.
  upload->finished = upload->offset == upload->data.size();
  return n;
}

absl::once_flag curl_init_once;

// libcurl takes integer options as long.
using CurlLong = long;  // NOLINT(google-runtime-int)

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// Sets options one after the other, keeping the first failure.
class OptionSetter {
 public:
  explicit OptionSetter(CURL* curl) : curl_(curl) {}
  template <typename T>
  void Set(CURLoption option, T value) {
    CURLcode code = curl_easy_setopt(curl_, option, value);
    if (first_error_ == CURLE_OK && code != CURLE_OK) {
      first_error_ = code;
    }
  }
  CURLcode first_error() const { return first_error_; }

 private:
  CURL* curl_;
  CURLcode first_error_ = CURLE_OK;
};

// `text` with every occurrence of `address` (in any case) replaced by "<recipient>".
std::string RedactRecipient(absl::string_view text, absl::string_view address) {
  if (address.empty()) {
    return std::string(text);
  }
  const std::string lowered_text = absl::AsciiStrToLower(text);
  const std::string lowered_address = absl::AsciiStrToLower(address);
  std::string out;
  size_t position = 0;
  for (size_t at = lowered_text.find(lowered_address); at != std::string::npos;
       at = lowered_text.find(lowered_address, position)) {
    absl::StrAppend(&out, text.substr(position, at - position), kRedactedRecipient);
    position = at + address.size();
  }
  absl::StrAppend(&out, text.substr(position));
  return out;
}

std::string CurlDescription(const TransferFacts& facts) {
  std::string text =
      absl::StrCat("curl: ", curl_easy_strerror(static_cast<CURLcode>(facts.curl_code)));
  if (!facts.curl_detail.empty()) {
    absl::StrAppend(&text, ": ", facts.curl_detail);
  }
  return text;
}

SmtpResult Result(SmtpOutcome outcome, const TransferFacts& facts, absl::string_view summary) {
  return {outcome, facts.reply_code, absl::StrCat(summary, " (", CurlDescription(facts), ")")};
}

}  // namespace

absl::string_view TlsModeName(TlsMode mode) {
  switch (mode) {
    case TlsMode::kNone:
      return "none";
    case TlsMode::kStartTls:
      return "starttls";
    case TlsMode::kImplicit:
      return "implicit";
  }
  return "unknown";
}

absl::StatusOr<TlsMode> ParseTlsMode(absl::string_view text) {
  for (TlsMode mode : {TlsMode::kNone, TlsMode::kStartTls, TlsMode::kImplicit}) {
    if (text == TlsModeName(mode)) {
      return mode;
    }
  }
  return config::InvalidSetting(kTlsSetting, text, "must be starttls, implicit or none");
}

absl::string_view SmtpOutcomeName(SmtpOutcome outcome) {
  switch (outcome) {
    case SmtpOutcome::kSent:
      return "sent";
    case SmtpOutcome::kTransientFailure:
      return "transient_failure";
    case SmtpOutcome::kPermanentFailure:
      return "permanent_failure";
    case SmtpOutcome::kInDoubt:
      return "in_doubt";
  }
  return "unknown";
}

absl::Status ValidateSmtpOptions(const SmtpOptions& options) {
  if (!IsHostName(options.host)) {
    return config::InvalidSetting(kHostSetting, options.host,
                                  "not a host name or IP address (IPv6 without brackets)");
  }
  if (options.port < 1 || options.port > 65535) {
    return config::InvalidSetting(kPortSetting, absl::StrCat(options.port), "must be 1-65535");
  }
  if (options.tls == TlsMode::kNone && !IsLoopbackHost(options.host)) {
    return config::InvalidSetting(
        kTlsSetting, TlsModeName(options.tls),
        absl::StrCat("mail goes in clear only to a loopback host (127.0.0.1, ::1, localhost), "
                     "not to ",
                     options.host, ": use starttls or implicit"));
  }
  if (options.username.empty() != options.password.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid settings --", kUsernameSetting,
                                                   " and --", kPasswordFileSetting,
                                                   ": give both for SMTP AUTH, or neither"));
  }
  if (!IsPrintableAscii(options.username) ||
      std::any_of(options.password.begin(), options.password.end(),
                  [](char c) { return c == '\r' || c == '\n' || c == '\0'; })) {
    // Neither value is repeated: both are credentials.
    return absl::InvalidArgumentError(absl::StrCat("invalid setting --", kUsernameSetting, " or --",
                                                   kPasswordFileSetting,
                                                   ": contains control characters"));
  }
  if (!IsMailAddress(options.from_address)) {
    return config::InvalidSetting(kFromSetting, options.from_address,
                                  "not an email address like hub@example.org");
  }
  if (!IsValidUtf8(options.from_name) ||
      std::any_of(options.from_name.begin(), options.from_name.end(),
                  [](char c) { return c >= 0 && c < 0x20; })) {
    return config::InvalidSetting(kFromNameSetting, options.from_name,
                                  "must be UTF-8 text on one line");
  }
  if (!IsDomain(options.helo_name)) {
    return config::InvalidSetting(kHeloNameSetting, options.helo_name,
                                  "must be a host name (letters, digits, '-', '.')");
  }
  if (options.connect_timeout <= absl::ZeroDuration()) {
    return config::InvalidSetting(
        kConnectTimeoutSetting, absl::FormatDuration(options.connect_timeout), "must be positive");
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return config::InvalidSetting(kTimeoutSetting, absl::FormatDuration(options.timeout),
                                  "must be positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<SmtpOptions> LoadSmtpOptions(const config::ConfigSource& source) {
  SmtpOptions options;
  HUB_ASSIGN_OR_RETURN(options.host, config::GetRequiredString(source, kHostSetting));
  HUB_ASSIGN_OR_RETURN(std::string tls, config::GetString(source, kTlsSetting, "starttls"));
  HUB_ASSIGN_OR_RETURN(options.tls, ParseTlsMode(tls));
  int default_port = 587;
  if (options.tls == TlsMode::kImplicit) {
    default_port = 465;
  } else if (options.tls == TlsMode::kNone) {
    default_port = 25;
  }
  HUB_ASSIGN_OR_RETURN(int64_t port, config::GetInt(source, kPortSetting, default_port, 1, 65535));
  options.port = static_cast<int>(port);
  HUB_ASSIGN_OR_RETURN(options.ca_file, config::GetString(source, kCaFileSetting, ""));
  HUB_ASSIGN_OR_RETURN(options.username, config::GetString(source, kUsernameSetting, ""));
  HUB_ASSIGN_OR_RETURN(std::string password_file,
                       config::GetString(source, kPasswordFileSetting, ""));
  if (!password_file.empty()) {
    std::ifstream in(password_file, std::ios::binary);
    if (!in) {
      return config::InvalidSetting(kPasswordFileSetting, password_file, "cannot read the file");
    }
    std::ostringstream contents;
    contents << in.rdbuf();
    options.password = contents.str();
    while (!options.password.empty() &&
           (options.password.back() == '\n' || options.password.back() == '\r')) {
      options.password.pop_back();
    }
    if (options.password.empty()) {
      return config::InvalidSetting(kPasswordFileSetting, password_file, "the file is empty");
    }
  }
  HUB_ASSIGN_OR_RETURN(options.from_address, config::GetRequiredString(source, kFromSetting));
  HUB_ASSIGN_OR_RETURN(options.from_name, config::GetString(source, kFromNameSetting, ""));
  HUB_ASSIGN_OR_RETURN(options.helo_name,
                       config::GetString(source, kHeloNameSetting, options.helo_name));
  HUB_ASSIGN_OR_RETURN(options.connect_timeout,
                       config::GetDuration(source, kConnectTimeoutSetting, options.connect_timeout,
                                           absl::Milliseconds(100), absl::Minutes(5)));
  HUB_ASSIGN_OR_RETURN(options.timeout,
                       config::GetDuration(source, kTimeoutSetting, options.timeout,
                                           absl::Milliseconds(100), absl::Minutes(30)));
  HUB_RETURN_IF_ERROR(ValidateSmtpOptions(options));
  return options;
}

std::set<std::string> SmtpSettingNames() {
  std::set<std::string> names;
  for (absl::string_view name :
       {kHostSetting, kPortSetting, kTlsSetting, kCaFileSetting, kUsernameSetting,
        kPasswordFileSetting, kFromSetting, kFromNameSetting, kHeloNameSetting,
        kConnectTimeoutSetting, kTimeoutSetting}) {
    names.emplace(name);
  }
  return names;
}

absl::StatusOr<std::string> ComposeMessage(const SmtpOptions& options, const Email& email,
                                           absl::Time date) {
  if (!IsMailAddress(email.to_address)) {
    return absl::InvalidArgumentError(
        "the recipient address is malformed (expected local@domain, ASCII, no quoting)");
  }
  if (email.message_id.size() > kMaxMessageIdLength || !IsDotAtom(email.message_id)) {
    return absl::InvalidArgumentError(
        "the message id cannot be a Message-ID (letters, digits, atext symbols, single "
        "inner dots)");
  }
  if (!email.language.empty() && !IsLanguageTag(email.language)) {
    return absl::InvalidArgumentError("the language is not a language tag such as en or cy");
  }
  if (!IsValidUtf8(email.subject)) {
    return absl::InvalidArgumentError("the subject is not valid UTF-8");
  }
  if (!IsValidUtf8(email.text_body) || !IsValidUtf8(email.html_body)) {
    return absl::InvalidArgumentError("a body is not valid UTF-8");
  }

  std::string message =
      absl::StrCat("Date: ", FormatDate(date), "\r\n",                                        //
                   "From: ", FormatMailbox(options.from_name, options.from_address), "\r\n",  //
                   "To: ", email.to_address, "\r\n",                                          //
                   "Subject: ", EncodeHeaderText(email.subject), "\r\n",                      //
                   "Message-ID: <", email.message_id, "@", DomainOf(options.from_address), ">\r\n",
                   "X-Hub-Message-Id: ", email.message_id, "\r\n",  //
                   "Auto-Submitted: auto-generated\r\n");
  if (!email.language.empty()) {
    absl::StrAppend(&message, "Content-Language: ", email.language, "\r\n");
  }
  absl::StrAppend(&message, "MIME-Version: 1.0\r\n");

  EncodedBody text = EncodeBody(email.text_body);
  if (email.html_body.empty()) {
    absl::StrAppend(&message, PartHeaders("text/plain", text), "\r\n", text.text);
    return message;
  }
  EncodedBody html = EncodeBody(email.html_body);
  std::string boundary = ChooseBoundary(email.message_id, text, html);
  // Each delimiter starts with the CRLF that ends the part before it (RFC 2046 5.1.1), so
  // a body's own final line end is kept.
  absl::StrAppend(&message, "Content-Type: multipart/alternative; boundary=\"", boundary,
                  "\"\r\n\r\n",                                                     //
                  "--", boundary, "\r\n", PartHeaders("text/plain", text), "\r\n",  //
                  text.text, "\r\n--", boundary, "\r\n",                            //
                  PartHeaders("text/html", html), "\r\n", html.text,                //
                  "\r\n--", boundary, "--\r\n");
  return message;
}

SmtpResult ClassifyTransfer(const TransferFacts& facts) {
  const int code = facts.reply_code;
  const bool transient_reply = code >= 400 && code < 500;
  const bool permanent_reply = code >= 500 && code < 600;
  if (facts.curl_code == CURLE_OK) {
    return {SmtpOutcome::kSent, code, ""};
  }
  if (facts.payload_sent) {
    // The server had the whole message: only its answer to the end of DATA says whether it
    // took it, and without one it may have.
    if (transient_reply) {
      return Result(SmtpOutcome::kTransientFailure, facts,
                    absl::StrCat("the server refused the message after receiving it, for now "
                                 "(reply ",
                                 code, "); it did not take it"));
    }
    if (permanent_reply) {
      return Result(
          SmtpOutcome::kPermanentFailure, facts,
          absl::StrCat("the server refused the message after receiving it (reply ", code, ")"));
    }
    return Result(SmtpOutcome::kInDoubt, facts,
                  "the whole message was handed over but the server's answer never came: it "
                  "may have taken the message, so it must not be resent blindly");
  }
  switch (static_cast<CURLcode>(facts.curl_code)) {
    case CURLE_LOGIN_DENIED:
      if (transient_reply) {
        return Result(SmtpOutcome::kTransientFailure, facts,
                      absl::StrCat("SMTP AUTH failed for now (reply ", code, ")"));
      }
      return Result(SmtpOutcome::kPermanentFailure, facts,
                    absl::StrCat("the SMTP server refused the credentials (AUTH",
                                 code > 0 ? absl::StrCat(", reply ", code) : "",
                                 "): an operator must check --", kUsernameSetting, " and --",
                                 kPasswordFileSetting));
    case CURLE_USE_SSL_FAILED:
      return Result(SmtpOutcome::kTransientFailure, facts,
                    absl::StrCat("STARTTLS unavailable: the server did not offer or refused "
                                 "STARTTLS, and --",
                                 kTlsSetting, "=starttls never sends in clear; nothing was sent"));
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
      return Result(SmtpOutcome::kTransientFailure, facts,
                    "the TLS handshake or the check of the server's certificate failed; "
                    "nothing was sent");
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
      return Result(SmtpOutcome::kTransientFailure, facts,
                    "could not connect to the SMTP server; nothing was sent");
    case CURLE_OPERATION_TIMEDOUT:
      return Result(SmtpOutcome::kTransientFailure, facts,
                    "timed out before the message was handed over; nothing was taken");
    case CURLE_SEND_ERROR:
      // libcurl's code for a refused MAIL FROM, RCPT TO or DATA command (its detail says
      // which), as well as for a failed write.
      if (permanent_reply) {
        return Result(SmtpOutcome::kPermanentFailure, facts,
                      absl::StrCat("the server refused the envelope (reply ", code,
                                   "): it will not take this message"));
      }
      if (transient_reply) {
        return Result(SmtpOutcome::kTransientFailure, facts,
                      absl::StrCat("the server refused the envelope for now (reply ", code, ")"));
      }
      break;
    default:
      break;
  }
  return Result(SmtpOutcome::kTransientFailure, facts,
                "the SMTP session failed before the message was handed over; nothing was "
                "taken");
}

absl::StatusOr<std::unique_ptr<SmtpClient>> SmtpClient::Create(
    SmtpOptions options, std::shared_ptr<clock::Clock> clock) {
  HUB_RETURN_IF_ERROR(ValidateSmtpOptions(options));
  if (!options.ca_file.empty()) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(options.ca_file, error) ||
        !std::ifstream(options.ca_file).good()) {
      return config::InvalidSetting(kCaFileSetting, options.ca_file,
                                    "not a readable file of PEM certificates");
    }
  }
  if (clock == nullptr) {
    return absl::InvalidArgumentError("SmtpClient needs a clock");
  }
  CURLcode init_error = CURLE_OK;
  absl::call_once(curl_init_once,
                  [&init_error] { init_error = curl_global_init(CURL_GLOBAL_ALL); });
  if (init_error != CURLE_OK) {
    return absl::InternalError(
        absl::StrCat("curl_global_init failed: ", curl_easy_strerror(init_error)));
  }
  std::string host =
      absl::StrContains(options.host, ':') ? absl::StrCat("[", options.host, "]") : options.host;
  std::string url = absl::StrCat(options.tls == TlsMode::kImplicit ? "smtps://" : "smtp://", host,
                                 ":", options.port, "/", options.helo_name);
  return std::unique_ptr<SmtpClient>(
      new SmtpClient(std::move(options), std::move(clock), std::move(url)));
}

SmtpClient::SmtpClient(SmtpOptions options, std::shared_ptr<clock::Clock> clock, std::string url)
    : options_(std::move(options)), clock_(std::move(clock)), url_(std::move(url)) {}

SmtpResult SmtpClient::Send(const Email& email) {
  absl::StatusOr<std::string> message = ComposeMessage(options_, email, clock_->Now());
  if (!message.ok()) {
    return {SmtpOutcome::kPermanentFailure, 0,
            absl::StrCat("refused before sending: ", message.status().message())};
  }
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (curl == nullptr) {
    return {SmtpOutcome::kTransientFailure, 0, "curl_easy_init failed; nothing was sent"};
  }
  std::unique_ptr<curl_slist, SlistDeleter> recipients(
      curl_slist_append(nullptr, absl::StrCat("<", email.to_address, ">").c_str()));
  if (recipients == nullptr) {
    return {SmtpOutcome::kTransientFailure, 0, "out of memory; nothing was sent"};
  }
  std::string mail_from = absl::StrCat("<", options_.from_address, ">");
  Upload upload{*message};
  std::array<char, CURL_ERROR_SIZE> error_buffer{};

  OptionSetter set(curl.get());
  set.Set(CURLOPT_URL, url_.c_str());
  set.Set(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  // No proxy, whatever ALL_PROXY says: mail goes straight to the configured server.
  set.Set(CURLOPT_PROXY, "");
  set.Set(CURLOPT_NOSIGNAL, CurlLong{1});
  set.Set(CURLOPT_CONNECTTIMEOUT_MS,
          static_cast<CurlLong>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  set.Set(CURLOPT_TIMEOUT_MS, static_cast<CurlLong>(absl::ToInt64Milliseconds(options_.timeout)));
  // Each wait for an answer, including the one for QUIT when the handle is cleaned up
  // after a success (whole seconds; libcurl's default is 120 s).
  set.Set(CURLOPT_SERVER_RESPONSE_TIMEOUT,
          static_cast<CurlLong>(std::max<int64_t>(
              1, absl::ToInt64Seconds(absl::Ceil(options_.timeout, absl::Seconds(1))))));
  set.Set(CURLOPT_USE_SSL,
          static_cast<CurlLong>(options_.tls == TlsMode::kNone ? CURLUSESSL_NONE : CURLUSESSL_ALL));
  set.Set(CURLOPT_SSLVERSION, static_cast<CurlLong>(CURL_SSLVERSION_TLSv1_2));
  set.Set(CURLOPT_SSL_VERIFYPEER, CurlLong{1});
  set.Set(CURLOPT_SSL_VERIFYHOST, CurlLong{2});
  if (!options_.ca_file.empty()) {
    set.Set(CURLOPT_CAINFO, options_.ca_file.c_str());
  }
  if (!options_.username.empty()) {
    set.Set(CURLOPT_USERNAME, options_.username.c_str());
    set.Set(CURLOPT_PASSWORD, options_.password.c_str());
  }
  set.Set(CURLOPT_MAIL_FROM, mail_from.c_str());
  set.Set(CURLOPT_MAIL_RCPT, recipients.get());
  set.Set(CURLOPT_UPLOAD, CurlLong{1});
  set.Set(CURLOPT_READFUNCTION, &ReadUpload);
  set.Set(CURLOPT_READDATA, &upload);
  set.Set(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message->size()));
  set.Set(CURLOPT_ERRORBUFFER, error_buffer.data());
  if (set.first_error() != CURLE_OK) {
    return {SmtpOutcome::kTransientFailure, 0,
            absl::StrCat("libcurl refused an option (", curl_easy_strerror(set.first_error()),
                         "); nothing was sent")};
  }

  TransferFacts facts;
  facts.curl_code = curl_easy_perform(curl.get());
  CurlLong reply_code = 0;
  if (curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &reply_code) == CURLE_OK) {
    facts.reply_code = static_cast<int>(reply_code);
  }
  facts.payload_sent = upload.finished;
  if (facts.curl_code != CURLE_OK) {
    // libcurl 7.88 keeps the connection after a timeout and, when the handle is cleaned up,
    // sends QUIT and waits for its answer, past the deadline. A server that did not answer
    // the last command will not answer that either: close the connection without QUIT.
    curl_socket_t socket = CURL_SOCKET_BAD;
    if (curl_easy_getinfo(curl.get(), CURLINFO_ACTIVESOCKET, &socket) == CURLE_OK &&
        socket != CURL_SOCKET_BAD) {
      shutdown(socket, SHUT_RDWR);
    }
  }
  facts.curl_detail = RedactRecipient(error_buffer.data(), email.to_address);
  return ClassifyTransfer(facts);
}

}  // namespace hub::notification::smtp
