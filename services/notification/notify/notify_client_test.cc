#include "services/notification/notify/notify_client.h"

#include <signal.h>
#include <unistd.h>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "services/common/clock/clock.h"
#include "services/common/status/status_matchers.h"
#include "services/notification/notify/jwt.h"
#include "services/notification/notify/notify_stand_in.h"

namespace hub::notification::notify {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using nlohmann::json;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

constexpr char kServiceId[] = "2b9d7c4e-1a6f-4e83-b5d0-9f3e2a7c8d14";
constexpr char kSecret[] = "6f1c2b8e-4d3a-4f7e-9b21-0c5d8e7a3f19";
constexpr char kOtherUuid[] = "0d2f6a1b-7c3e-4b59-8a60-5e4d3c2b1a09";
constexpr char kSmsTemplate[] = "f33517ff-2a88-4f6e-b855-c550268ce08a";
constexpr char kEmailTemplate[] = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
constexpr char kLetterTemplate[] = "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4";
// Personal data in the test messages: must never come back in a result.
constexpr char kPhone[] = "07700 900123";
constexpr char kEmail[] = "sam.victim@example.org";
constexpr char kName[] = "Samira Okonkwo-Hale";

std::string KeyFor(const std::string& service_id, const std::string& secret) {
  return absl::StrCat("hub-test-key-", service_id, "-", secret);
}

std::set<std::string> Keys(const json& object) {
  std::set<std::string> keys;
  for (const auto& [key, value] : object.items()) {
    keys.insert(key);
  }
  return keys;
}

SmsMessage Sms(std::string reference) {
  SmsMessage message;
  message.phone_number = kPhone;
  message.template_id = kSmsTemplate;
  message.personalisation = {{"name", kName}, {"crime_reference", "CF-0412-26"}};
  message.reference = std::move(reference);
  return message;
}

EmailMessage Email(std::string reference) {
  EmailMessage message;
  message.email_address = kEmail;
  message.template_id = kEmailTemplate;
  message.personalisation = {{"name", kName}};
  message.reference = std::move(reference);
  return message;
}

LetterMessage Letter(std::string reference) {
  LetterMessage message;
  message.template_id = kLetterTemplate;
  message.personalisation = {{"address_line_1", kName},
                             {"address_line_2", "12 Mill Road"},
                             {"address_line_3", "Cambridge"},
                             {"address_line_4", "CB1 2AB"},
                             {"name", kName}};
  message.reference = std::move(reference);
  return message;
}

// Every text field of a result joined, to look for leaked personal data.
std::string AllText(const SendResult& result) {
  return absl::StrCat(result.notification_id, "|", result.error_type, "|", result.error_message);
}

class NotifyClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NotifyStandInOptions options;
    options.api_key = KeyFor(kServiceId, kSecret);
    options.clock = notify_clock_;
    ASSERT_OK_AND_ASSIGN(stand_in_, NotifyStandIn::Start(options));
  }

  NotifyClientOptions Options() const {
    NotifyClientOptions options;
    options.base_url = stand_in_->base_url();
    options.api_key = KeyFor(kServiceId, kSecret);
    options.connect_timeout = absl::Seconds(2);
    options.read_timeout = absl::Seconds(5);
    return options;
  }

  std::unique_ptr<NotifyClient> MakeClient(NotifyClientOptions options) {
    absl::StatusOr<std::unique_ptr<NotifyClient>> client =
        NotifyClient::Create(std::move(options), client_clock_);
    EXPECT_THAT(client, IsOk());
    return client.ok() ? *std::move(client) : nullptr;
  }

  std::unique_ptr<NotifyClient> MakeClient() { return MakeClient(Options()); }

  // The JSON body of the only request the stand-in saw.
  json OnlyRequestBody() const {
    std::vector<RecordedRequest> requests = stand_in_->requests();
    EXPECT_THAT(requests, SizeIs(1));
    return requests.empty() ? json() : json::parse(requests.front().body);
  }

  const absl::Time start_ = absl::FromUnixSeconds(1767603600);  // 2026-01-05T09:00:00Z
  std::shared_ptr<clock::FakeClock> client_clock_ = std::make_shared<clock::FakeClock>(start_);
  std::shared_ptr<clock::FakeClock> notify_clock_ = std::make_shared<clock::FakeClock>(start_);
  std::unique_ptr<NotifyStandIn> stand_in_;
};

TEST_F(NotifyClientTest, SendsAnSmsWithNotifysFieldNames) {
  auto client = MakeClient();
  SendResult result = client->SendSms(Sms("hub-n-0001"));

  ASSERT_EQ(result.outcome, SendOutcome::kSent) << result.error_message;
  ASSERT_THAT(stand_in_->notifications(), SizeIs(1));
  EXPECT_EQ(result.notification_id, stand_in_->notifications()[0].id);
  EXPECT_EQ(result.http_status, 201);
  EXPECT_EQ(result.template_version, 1);
  std::vector<RecordedRequest> requests = stand_in_->requests();
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/v2/notifications/sms");
  json body = OnlyRequestBody();
  EXPECT_EQ(Keys(body),
            (std::set<std::string>{"phone_number", "template_id", "personalisation", "reference"}));
  EXPECT_EQ(body["phone_number"], kPhone);
  EXPECT_EQ(body["template_id"], kSmsTemplate);
  EXPECT_EQ(body["reference"], "hub-n-0001");
  EXPECT_EQ(body["personalisation"], (json{{"name", kName}, {"crime_reference", "CF-0412-26"}}));
  // The stand-in's 201 echoes the rendered message, as Notify does; none of it is kept.
  EXPECT_THAT(AllText(result), AllOf(Not(HasSubstr(kName)), Not(HasSubstr("CF-0412"))));
}

TEST_F(NotifyClientTest, SmsSenderIdIsSentOnlyWhenSet) {
  auto client = MakeClient();
  SmsMessage message = Sms("hub-n-0002");
  message.sms_sender_id = kOtherUuid;
  ASSERT_EQ(client->SendSms(message).outcome, SendOutcome::kSent);
  json body = OnlyRequestBody();
  EXPECT_EQ(body["sms_sender_id"], kOtherUuid);
  EXPECT_EQ(Keys(body).size(), 5u);
}

TEST_F(NotifyClientTest, SendsAnEmailWithNotifysFieldNames) {
  auto client = MakeClient();
  EmailMessage message = Email("hub-n-0003");
  message.email_reply_to_id = kOtherUuid;
  SendResult result = client->SendEmail(message);

  ASSERT_EQ(result.outcome, SendOutcome::kSent) << result.error_message;
  EXPECT_EQ(stand_in_->requests()[0].path, "/v2/notifications/email");
  json body = OnlyRequestBody();
  EXPECT_EQ(Keys(body), (std::set<std::string>{"email_address", "template_id", "personalisation",
                                               "reference", "email_reply_to_id"}));
  EXPECT_EQ(body["email_address"], kEmail);
  EXPECT_EQ(body["template_id"], kEmailTemplate);
  EXPECT_EQ(body["reference"], "hub-n-0003");
  EXPECT_EQ(body["email_reply_to_id"], kOtherUuid);
  EXPECT_THAT(AllText(result), AllOf(Not(HasSubstr(kName)), Not(HasSubstr(kEmail))));
}

TEST_F(NotifyClientTest, SendsALetterWithTheAddressInThePersonalisation) {
  auto client = MakeClient();
  SendResult result = client->SendLetter(Letter("hub-n-0004"));

  ASSERT_EQ(result.outcome, SendOutcome::kSent) << result.error_message;
  EXPECT_EQ(stand_in_->requests()[0].path, "/v2/notifications/letter");
  json body = OnlyRequestBody();
  EXPECT_EQ(Keys(body), (std::set<std::string>{"template_id", "personalisation", "reference"}));
  EXPECT_EQ(body["template_id"], kLetterTemplate);
  EXPECT_EQ(body["reference"], "hub-n-0004");
  EXPECT_EQ(body["personalisation"]["address_line_1"], kName);
  EXPECT_EQ(body["personalisation"]["address_line_4"], "CB1 2AB");
  EXPECT_EQ(body["personalisation"]["name"], kName);
}

TEST_F(NotifyClientTest, EveryRequestCarriesTheMessagesReferenceAndAFreshToken) {
  auto client = MakeClient();
  ASSERT_EQ(client->SendSms(Sms("ref-sms")).outcome, SendOutcome::kSent);
  client_clock_->Advance(absl::Minutes(10));
  notify_clock_->Advance(absl::Minutes(10));
  ASSERT_EQ(client->SendEmail(Email("ref-email")).outcome, SendOutcome::kSent);
  client_clock_->Advance(absl::Hours(3));
  notify_clock_->Advance(absl::Hours(3));
  ASSERT_EQ(client->SendLetter(Letter("ref-letter")).outcome, SendOutcome::kSent);

  std::vector<RecordedRequest> requests = stand_in_->requests();
  ASSERT_THAT(requests, SizeIs(3));
  std::vector<std::string> references;
  std::vector<int64_t> issued;
  for (const RecordedRequest& request : requests) {
    references.push_back(json::parse(request.body)["reference"].get<std::string>());
    ASSERT_THAT(request.authorization, StartsWith("Bearer "));
    absl::StatusOr<JwtClaims> claims = VerifyHs256Jwt(request.authorization.substr(7), kSecret);
    ASSERT_THAT(claims, IsOk());
    EXPECT_EQ(claims->iss, kServiceId);
    issued.push_back(claims->iat);
  }
  EXPECT_THAT(references, ElementsAre("ref-sms", "ref-email", "ref-letter"));
  int64_t start = absl::ToUnixSeconds(start_);
  EXPECT_THAT(issued, ElementsAre(start, start + 600, start + 600 + int64_t{3} * 3600));
}

TEST_F(NotifyClientTest, RefusesAMessageWithoutAReferenceBeforeSending) {
  auto client = MakeClient();
  SendResult sms = client->SendSms(Sms(""));
  EXPECT_EQ(sms.outcome, SendOutcome::kPermanentFailure);
  EXPECT_EQ(sms.error_type, "ClientValidationError");
  EXPECT_THAT(sms.error_message, HasSubstr("reference"));
  EXPECT_EQ(client->SendEmail(Email("")).outcome, SendOutcome::kPermanentFailure);
  EXPECT_EQ(client->SendLetter(Letter("")).outcome, SendOutcome::kPermanentFailure);
  EXPECT_THAT(stand_in_->requests(), SizeIs(0));
}

TEST_F(NotifyClientTest, RefusesOtherInvalidMessagesBeforeSending) {
  auto client = MakeClient();
  SmsMessage bad_template = Sms("r1");
  bad_template.template_id = "welcome-letter";
  EXPECT_THAT(client->SendSms(bad_template).error_message, HasSubstr("template_id"));
  SmsMessage no_phone = Sms("r2");
  no_phone.phone_number.clear();
  EXPECT_THAT(client->SendSms(no_phone).error_message, HasSubstr("phone_number"));
  EmailMessage bad_reply_to = Email("r3");
  bad_reply_to.email_reply_to_id = "nope";
  EXPECT_THAT(client->SendEmail(bad_reply_to).error_message, HasSubstr("email_reply_to_id"));
  LetterMessage two_lines = Letter("r4");
  two_lines.personalisation = {{"address_line_1", kName}, {"address_line_2", "CB1 2AB"}};
  SendResult letter = client->SendLetter(two_lines);
  EXPECT_EQ(letter.outcome, SendOutcome::kPermanentFailure);
  EXPECT_THAT(letter.error_message, AllOf(HasSubstr("3 lines"), Not(HasSubstr(kName))));
  SmsMessage bad_utf8 = Sms("r5");
  bad_utf8.personalisation["name"] = "\xff\xfe";
  EXPECT_EQ(client->SendSms(bad_utf8).error_type, "ClientValidationError");
  EXPECT_THAT(stand_in_->requests(), SizeIs(0));
}

// --- Authentication, as Notify checks it ------------------------------------------------

TEST_F(NotifyClientTest, WrongSecretIsRefusedAsABadSignature) {
  NotifyClientOptions options = Options();
  options.api_key = KeyFor(kServiceId, kOtherUuid);
  SendResult result = MakeClient(options)->SendSms(Sms("hub-n-0010"));
  EXPECT_EQ(result.outcome, SendOutcome::kPermanentFailure);
  EXPECT_EQ(result.http_status, 403);
  EXPECT_EQ(result.error_type, "AuthError");
  EXPECT_EQ(result.error_message, "Invalid token: signature, api token not found");
  EXPECT_THAT(stand_in_->notifications(), SizeIs(0));
}

TEST_F(NotifyClientTest, WrongServiceIdIsRefused) {
  NotifyClientOptions options = Options();
  options.api_key = KeyFor(kOtherUuid, kSecret);
  SendResult result = MakeClient(options)->SendSms(Sms("hub-n-0011"));
  EXPECT_EQ(result.outcome, SendOutcome::kPermanentFailure);
  EXPECT_EQ(result.http_status, 403);
  EXPECT_EQ(result.error_message, "Invalid token: service not found");
  EXPECT_THAT(stand_in_->notifications(), SizeIs(0));
}

TEST_F(NotifyClientTest, ClockMoreThan30SecondsOffIsRefusedEitherWay) {
  auto client = MakeClient();
  for (absl::Duration skew : {absl::Seconds(31), absl::Seconds(-31)}) {
    client_clock_->Set(start_ + skew);
    SendResult result = client->SendSms(Sms("hub-n-0012"));
    EXPECT_EQ(result.outcome, SendOutcome::kPermanentFailure) << skew;
    EXPECT_EQ(result.http_status, 403);
    EXPECT_EQ(result.error_type, "AuthError");
    EXPECT_EQ(result.error_message,
              "Error: Your system clock must be accurate to within 30 seconds");
  }
  EXPECT_THAT(stand_in_->notifications(), SizeIs(0));
  for (absl::Duration skew : {absl::Seconds(30), absl::Seconds(-30)}) {
    client_clock_->Set(start_ + skew);
    EXPECT_EQ(client->SendSms(Sms("hub-n-0012")).outcome, SendOutcome::kSent) << skew;
  }
}

// --- Failures: transient, permanent, in doubt --------------------------------------------

TEST_F(NotifyClientTest, ServerErrorsAndRateLimitsAreTransient) {
  auto client = MakeClient();
  stand_in_->FailNext(1, 500, "Exception", "Internal server error");
  stand_in_->FailNext(1, 503, "Exception", "Service unavailable");
  stand_in_->FailNext(1, 429, "RateLimitError",
                      "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds");
  for (int expected_status : {500, 503, 429}) {
    SendResult result = client->SendSms(Sms("hub-n-0020"));
    EXPECT_EQ(result.outcome, SendOutcome::kTransientFailure) << expected_status;
    EXPECT_EQ(result.http_status, expected_status);
  }
  EXPECT_THAT(stand_in_->notifications(), SizeIs(0));
  // The retry goes through once the faults are spent.
  EXPECT_EQ(client->SendSms(Sms("hub-n-0020")).outcome, SendOutcome::kSent);
}

TEST_F(NotifyClientTest, RateLimitKeepsNotifysErrorTypeAndMessage) {
  auto client = MakeClient();
  stand_in_->FailNext(1, 429, "TooManyRequestsError", "Exceeded send limits (250000) for today");
  SendResult result = client->SendSms(Sms("hub-n-0021"));
  EXPECT_EQ(result.outcome, SendOutcome::kTransientFailure);
  EXPECT_EQ(result.error_type, "TooManyRequestsError");
  EXPECT_EQ(result.error_message, "Exceeded send limits (250000) for today");
}

TEST_F(NotifyClientTest, GatewayErrorsAreInDoubt) {
  auto client = MakeClient();
  stand_in_->FailNext(1, 502, "", "");
  stand_in_->FailNext(1, 504, "", "");
  for (int expected_status : {502, 504}) {
    SendResult result = client->SendSms(Sms("hub-n-0022"));
    EXPECT_EQ(result.outcome, SendOutcome::kInDoubt) << expected_status;
    EXPECT_EQ(result.http_status, expected_status);
    // The proxy's HTML page is not repeated.
    EXPECT_EQ(result.error_type, "HttpError");
    EXPECT_THAT(result.error_message, Not(HasSubstr("html")));
  }
}

TEST_F(NotifyClientTest, NotifysValidationErrorsArePermanent) {
  auto client = MakeClient();
  SmsMessage landline = Sms("hub-n-0023");
  landline.phone_number = "01223 555 000";
  SendResult result = client->SendSms(landline);
  EXPECT_EQ(result.outcome, SendOutcome::kPermanentFailure);
  EXPECT_EQ(result.http_status, 400);
  EXPECT_EQ(result.error_type, "ValidationError");
  EXPECT_EQ(result.error_message, "phone_number Not a UK mobile number");

  stand_in_->FailNext(1, 400, "BadRequestError",
                      "Can't send to this recipient using a team-only API key");
  stand_in_->FailNext(1, 404, "NoResultFound", "No result found");
  stand_in_->FailNext(1, 403, "AuthError", "Invalid token: API key revoked");
  for (int expected_status : {400, 404, 403}) {
    SendResult failed = client->SendSms(Sms("hub-n-0023"));
    EXPECT_EQ(failed.outcome, SendOutcome::kPermanentFailure) << expected_status;
    EXPECT_EQ(failed.http_status, expected_status);
  }
  EXPECT_THAT(stand_in_->notifications(), SizeIs(0));
}

TEST_F(NotifyClientTest, ErrorMessagesNeverRepeatPersonalData) {
  auto client = MakeClient();
  stand_in_->FailNext(
      1, 400, "ValidationError",
      absl::StrCat("phone_number ", kPhone, " is not valid; name ", kName, " is too long"));
  SendResult result = client->SendSms(Sms("hub-n-0024"));
  EXPECT_EQ(result.outcome, SendOutcome::kPermanentFailure);
  EXPECT_THAT(result.error_message, AllOf(Not(HasSubstr(kPhone)), Not(HasSubstr(kName)),
                                          HasSubstr("<redacted>"), HasSubstr("is not valid")));
}

TEST_F(NotifyClientTest, TimeoutAfterNotifyGotTheRequestIsInDoubtAndLookupFindsIt) {
  NotifyClientOptions options = Options();
  options.read_timeout = absl::Milliseconds(300);
  auto client = MakeClient(options);
  stand_in_->DelayNextAnswer(1, absl::Seconds(30));

  absl::Time before = absl::Now();
  SendResult result = client->SendSms(Sms("hub-n-0030"));
  EXPECT_LT(absl::Now() - before, absl::Seconds(10));
  EXPECT_EQ(result.outcome, SendOutcome::kInDoubt);
  EXPECT_EQ(result.error_type, "NoAnswer");
  EXPECT_EQ(result.http_status, 0);
  ASSERT_THAT(stand_in_->notifications(), SizeIs(1));

  // The caller resolves the doubt by reference instead of sending again.
  LookupResult lookup = client->Lookup("hub-n-0030");
  ASSERT_EQ(lookup.outcome, LookupOutcome::kFound) << lookup.error_message;
  ASSERT_THAT(lookup.notifications, SizeIs(1));
  EXPECT_EQ(lookup.notifications[0].id, stand_in_->notifications()[0].id);
  EXPECT_EQ(lookup.notifications[0].reference, "hub-n-0030");
  EXPECT_EQ(lookup.notifications[0].type, "sms");
  EXPECT_EQ(lookup.notifications[0].status, "created");
  EXPECT_EQ(lookup.notifications[0].template_id, kSmsTemplate);
  EXPECT_EQ(lookup.notifications[0].template_version, 1);
  EXPECT_EQ(lookup.notifications[0].created_at, "2026-01-05T09:00:00.000000Z");
  std::vector<RecordedRequest> requests = stand_in_->requests();
  ASSERT_THAT(requests, SizeIs(2));
  EXPECT_EQ(requests[1].method, "GET");
  EXPECT_EQ(requests[1].path, "/v2/notifications");
  EXPECT_EQ(requests[1].reference_param, "hub-n-0030");
}

TEST_F(NotifyClientTest, ConnectionLostBeforeTheAnswerIsInDoubtAndLookupFindsIt) {
  auto client = MakeClient();
  stand_in_->DropNextAnswer(1);
  SendResult result = client->SendLetter(Letter("hub-n-0031"));
  EXPECT_EQ(result.outcome, SendOutcome::kInDoubt);
  EXPECT_THAT(stand_in_->notifications(), SizeIs(1));

  LookupResult lookup = client->Lookup("hub-n-0031");
  ASSERT_EQ(lookup.outcome, LookupOutcome::kFound);
  ASSERT_THAT(lookup.notifications, SizeIs(1));
  EXPECT_EQ(lookup.notifications[0].type, "letter");
}

TEST_F(NotifyClientTest, ConnectionRefusedIsTransientAndSendsNothing) {
  std::string base_url = stand_in_->base_url();
  stand_in_->Stop();
  NotifyClientOptions options = Options();
  options.base_url = base_url;
  SendResult result = MakeClient(options)->SendSms(Sms("hub-n-0032"));
  EXPECT_EQ(result.outcome, SendOutcome::kTransientFailure);
  EXPECT_EQ(result.error_type, "ConnectionFailed");
  EXPECT_EQ(result.http_status, 0);
}

TEST_F(NotifyClientTest, FailedTlsHandshakeIsTransientAndSendsNothing) {
  // The stand-in speaks plain HTTP, so the TLS handshake fails before any request.
  NotifyClientOptions options = Options();
  options.base_url = absl::StrCat("https://127.0.0.1:", stand_in_->port());
  SendResult result = MakeClient(options)->SendSms(Sms("hub-n-0034"));
  EXPECT_EQ(result.outcome, SendOutcome::kTransientFailure);
  EXPECT_EQ(result.error_type, "ConnectionFailed");
  EXPECT_THAT(stand_in_->notifications(), SizeIs(0));
}

TEST(NotifyClientSigpipeTest, ServerClosingMidRequestIsInDoubtAndDoesNotKillTheProcess) {
  // httplib's Server constructor ignores SIGPIPE process-wide (the stand-in in other tests
  // has one); the client must not rely on that, so the default disposition is back here.
  struct sigaction previous = {};
  struct sigaction default_action = {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  ASSERT_EQ(sigaction(SIGPIPE, &default_action, &previous), 0);
  // A server that reads a little of the request, then closes and resets the connection:
  // the client's next write fails with EPIPE, which raises SIGPIPE and would end the
  // test binary if the client did not block it.
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  std::thread server([listener] {
    int connection = accept(listener, nullptr, nullptr);
    if (connection < 0) {
      return;
    }
    char buffer[1024];
    ssize_t ignored = read(connection, buffer, sizeof(buffer));
    (void)ignored;
    // An early answer, FIN, then RST: the unread answer makes httplib's liveness check
    // pass, and a reset in CLOSE_WAIT makes the next send fail with EPIPE (and SIGPIPE).
    const char answer[] = "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n";
    ssize_t written = write(connection, answer, sizeof(answer) - 1);
    (void)written;
    shutdown(connection, SHUT_WR);
    absl::SleepFor(absl::Milliseconds(50));
    linger reset = {1, 0};
    setsockopt(connection, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    close(connection);
  });

  NotifyClientOptions options;
  options.base_url = absl::StrCat("http://127.0.0.1:", ntohs(address.sin_port));
  options.api_key = KeyFor(kServiceId, kSecret);
  SmsMessage huge = Sms("hub-n-0033");
  huge.personalisation["notes"] = std::string(32 << 20, 'x');
  auto clock = std::make_shared<clock::FakeClock>(absl::UnixEpoch());
  ASSERT_OK_AND_ASSIGN(auto client, NotifyClient::Create(options, clock));
  SendResult result = client->SendSms(huge);
  server.join();
  close(listener);
  sigaction(SIGPIPE, &previous, nullptr);
  EXPECT_EQ(result.outcome, SendOutcome::kInDoubt);
  EXPECT_THAT(result.error_type, ::testing::AnyOf("ConnectionLost", "NoAnswer"));
}

TEST(SendOutcomeForStatusTest, ClassifiesEveryKindOfAnswer) {
  struct Case {
    int status;
    SendOutcome outcome;
  };
  for (const Case& c : std::vector<Case>{{201, SendOutcome::kSent},
                                         {200, SendOutcome::kSent},
                                         {400, SendOutcome::kPermanentFailure},
                                         {401, SendOutcome::kPermanentFailure},
                                         {403, SendOutcome::kPermanentFailure},
                                         {404, SendOutcome::kPermanentFailure},
                                         {413, SendOutcome::kPermanentFailure},
                                         {301, SendOutcome::kPermanentFailure},
                                         {408, SendOutcome::kTransientFailure},
                                         {429, SendOutcome::kTransientFailure},
                                         {500, SendOutcome::kTransientFailure},
                                         {503, SendOutcome::kTransientFailure},
                                         {502, SendOutcome::kInDoubt},
                                         {504, SendOutcome::kInDoubt}}) {
    EXPECT_EQ(SendOutcomeForStatus(c.status), c.outcome) << c.status;
  }
}

// --- Lookups -------------------------------------------------------------------------

TEST_F(NotifyClientTest, LookupOfAnUnknownReferenceIsNotFound) {
  auto client = MakeClient();
  ASSERT_EQ(client->SendSms(Sms("hub-n-0040")).outcome, SendOutcome::kSent);
  LookupResult lookup = client->Lookup("hub-n-0041");
  EXPECT_EQ(lookup.outcome, LookupOutcome::kNotFound);
  EXPECT_THAT(lookup.notifications, SizeIs(0));
}

TEST(NotifyClientLookupTest, OnlyNotificationsCarryingTheReferenceCount) {
  NotifyStandInOptions stand_in_options;
  stand_in_options.api_key = KeyFor(kServiceId, kSecret);
  stand_in_options.ignore_reference_filter = true;
  ASSERT_OK_AND_ASSIGN(auto stand_in, NotifyStandIn::Start(stand_in_options));
  NotifyClientOptions options;
  options.base_url = stand_in->base_url();
  options.api_key = KeyFor(kServiceId, kSecret);
  ASSERT_OK_AND_ASSIGN(auto client,
                       NotifyClient::Create(options, clock::CreateClock("system").value()));
  ASSERT_EQ(client->SendSms(Sms("hub-n-0046")).outcome, SendOutcome::kSent);
  // The server answers with hub-n-0046's notification; it is not hub-n-0047's.
  LookupResult lookup = client->Lookup("hub-n-0047");
  EXPECT_EQ(lookup.outcome, LookupOutcome::kNotFound);
  EXPECT_EQ(client->Lookup("hub-n-0046").outcome, LookupOutcome::kFound);
}

TEST_F(NotifyClientTest, LookupListsEverySendOfAReferenceNewestFirst) {
  auto client = MakeClient();
  SendResult first = client->SendSms(Sms("hub-n-0042"));
  SendResult other = client->SendEmail(Email("hub-n-0043"));
  SendResult second = client->SendSms(Sms("hub-n-0042"));
  LookupResult lookup = client->Lookup("hub-n-0042");
  ASSERT_EQ(lookup.outcome, LookupOutcome::kFound);
  ASSERT_THAT(lookup.notifications, SizeIs(2));
  EXPECT_EQ(lookup.notifications[0].id, second.notification_id);
  EXPECT_EQ(lookup.notifications[1].id, first.notification_id);
}

TEST_F(NotifyClientTest, LookupEncodesTheReference) {
  auto client = MakeClient();
  const std::string reference = "case 7/notice&x=1";
  ASSERT_EQ(client->SendSms(Sms(reference)).outcome, SendOutcome::kSent);
  LookupResult lookup = client->Lookup(reference);
  ASSERT_EQ(lookup.outcome, LookupOutcome::kFound);
  EXPECT_EQ(stand_in_->requests().back().reference_param, reference);
}

TEST_F(NotifyClientTest, LookupFailuresAreReported) {
  auto client = MakeClient();
  stand_in_->FailNext(1, 500, "Exception", "Internal server error");
  EXPECT_EQ(client->Lookup("hub-n-0044").outcome, LookupOutcome::kTransientFailure);
  stand_in_->DelayNextAnswer(1, absl::Seconds(30));
  NotifyClientOptions options = Options();
  options.read_timeout = absl::Milliseconds(200);
  EXPECT_EQ(MakeClient(options)->Lookup("hub-n-0044").outcome, LookupOutcome::kTransientFailure);
  client_clock_->Advance(absl::Minutes(5));
  LookupResult refused = client->Lookup("hub-n-0044");
  EXPECT_EQ(refused.outcome, LookupOutcome::kPermanentFailure);
  EXPECT_EQ(refused.http_status, 403);
  EXPECT_EQ(client->Lookup("").outcome, LookupOutcome::kPermanentFailure);
}

TEST_F(NotifyClientTest, GetNotificationReportsItsStatus) {
  auto client = MakeClient();
  SendResult sent = client->SendEmail(Email("hub-n-0045"));
  ASSERT_EQ(sent.outcome, SendOutcome::kSent);
  stand_in_->SetStatus(sent.notification_id, "delivered");
  LookupResult found = client->GetNotification(sent.notification_id);
  ASSERT_EQ(found.outcome, LookupOutcome::kFound) << found.error_message;
  ASSERT_THAT(found.notifications, SizeIs(1));
  EXPECT_EQ(found.notifications[0].status, "delivered");
  EXPECT_EQ(found.notifications[0].reference, "hub-n-0045");
  EXPECT_EQ(client->GetNotification(kOtherUuid).outcome, LookupOutcome::kNotFound);
  LookupResult bad = client->GetNotification("../v2/notifications");
  EXPECT_EQ(bad.outcome, LookupOutcome::kPermanentFailure);
  EXPECT_EQ(bad.error_type, "ClientValidationError");
}

// --- Configuration ------------------------------------------------------------------

TEST(ParseApiKeyTest, SplitsNameServiceIdAndSecret) {
  absl::StatusOr<ApiKey> key = ParseApiKey(KeyFor(kServiceId, kSecret));
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->key_name, "hub-test-key");
  EXPECT_EQ(key->service_id, kServiceId);
  EXPECT_EQ(key->secret_key, kSecret);
}

TEST(ParseApiKeyTest, BadKeysAreRefusedNamingTheSettingNotTheSecret) {
  const std::string secret_part = "6f1c2b8e-4d3a-4f7e-9b21-0c5d8e7a3fZZ";
  for (const std::string& key :
       {std::string(kServiceId), absl::StrCat("name-", kServiceId, "-", secret_part),
        absl::StrCat("name-", kServiceId, secret_part), absl::StrCat(kServiceId, "-", kSecret),
        absl::StrCat(" ", KeyFor(kServiceId, kSecret)),
        absl::StrCat(KeyFor(kServiceId, kSecret), "\n")}) {
    absl::StatusOr<ApiKey> parsed = ParseApiKey(key);
    EXPECT_THAT(parsed,
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("--notify-api-key"), HasSubstr("HUB_NOTIFY_API_KEY"),
                               Not(HasSubstr("6f1c2b8e")), Not(HasSubstr(kServiceId)))))
        << key;
  }
  EXPECT_THAT(ParseApiKey(""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--notify-api-key"), HasSubstr("required"))));
}

TEST(NotifyClientCreateTest, RefusesABadKeyWithoutEchoingIt) {
  NotifyClientOptions options;
  options.api_key = absl::StrCat("live-", kServiceId, "-not-a-uuid-secret-value-0123456789");
  auto clock = std::make_shared<clock::FakeClock>(absl::UnixEpoch());
  EXPECT_THAT(NotifyClient::Create(options, clock),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("notify-api-key"), Not(HasSubstr("secret-value")))));
}

TEST(NotifyClientCreateTest, ChecksTheBaseUrl) {
  auto clock = std::make_shared<clock::FakeClock>(absl::UnixEpoch());
  auto create = [&](const std::string& url) {
    NotifyClientOptions options;
    options.base_url = url;
    options.api_key = KeyFor(kServiceId, kSecret);
    return NotifyClient::Create(options, clock);
  };
  EXPECT_THAT(create(std::string(kProductionBaseUrl)), IsOk());
  EXPECT_THAT(create("https://notify.example.gov.uk:8443/notify/"), IsOk());
  EXPECT_THAT(create("http://127.0.0.1:8080"), IsOk());
  EXPECT_THAT(create("http://localhost:8080"), IsOk());
  for (const char* url : {"api.notifications.service.gov.uk", "ftp://example.org",
                          "http://api.notifications.service.gov.uk", "https://", "https://host:0",
                          "https://host:70000", "https://host:", "https://host/?x=1",
                          "http://127.example.org", "http://127.0.0.1.example.org:80"}) {
    EXPECT_THAT(create(url),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("--notify-base-url"), HasSubstr("HUB_NOTIFY_BASE_URL"))))
        << url;
  }
  EXPECT_THAT(create("https://user:hunter2@host"),
              StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("hunter2"))));
}

TEST(NotifyClientCreateTest, ChecksTimeoutsAndClock) {
  auto clock = std::make_shared<clock::FakeClock>(absl::UnixEpoch());
  NotifyClientOptions options;
  options.api_key = KeyFor(kServiceId, kSecret);
  options.read_timeout = absl::ZeroDuration();
  EXPECT_THAT(NotifyClient::Create(options, clock),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("read timeout")));
  options.read_timeout = absl::Seconds(1);
  EXPECT_THAT(NotifyClient::Create(options, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("clock")));
}

TEST_F(NotifyClientTest, APathPrefixInTheBaseUrlIsKept) {
  NotifyClientOptions options = Options();
  options.base_url = absl::StrCat(stand_in_->base_url(), "/prefix/");
  SendResult result = MakeClient(options)->SendSms(Sms("hub-n-0050"));
  // The stand-in serves at the root, so the prefixed path is unknown to it.
  EXPECT_EQ(result.outcome, SendOutcome::kPermanentFailure);
  EXPECT_EQ(result.http_status, 404);
  ASSERT_THAT(stand_in_->requests(), SizeIs(1));
  EXPECT_EQ(stand_in_->requests()[0].path, "/prefix/v2/notifications/sms");
}

TEST_F(NotifyClientTest, ConcurrentSendsAllGetThrough) {
  auto client = MakeClient();
  std::vector<std::thread> threads;
  threads.reserve(8);
  std::vector<SendResult> results(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back(
        [&, i] { results[i] = client->SendSms(Sms(absl::StrCat("hub-n-concurrent-", i))); });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  std::set<std::string> ids;
  for (const SendResult& result : results) {
    EXPECT_EQ(result.outcome, SendOutcome::kSent) << result.error_message;
    ids.insert(result.notification_id);
  }
  EXPECT_THAT(ids, SizeIs(8));
  EXPECT_THAT(stand_in_->notifications(), SizeIs(8));
}

}  // namespace
}  // namespace hub::notification::notify
