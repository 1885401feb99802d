// The delivery channels against the in-process Notify stand-in (real HTTP, real tokens) and
// a fake SMTP sender: what each channel sends, how every answer maps to the outbox's
// outcomes, how a send in doubt is looked up, and that no reason repeats personal data.
#include "services/notification/delivery_channels.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

#include "services/common/clock/clock.h"
#include "services/common/status/status_matchers.h"
#include "services/notification/notify/notify_client.h"
#include "services/notification/notify/notify_stand_in.h"
#include "services/notification/smtp/smtp_client.h"

namespace hub::notification {
namespace {

namespace ev = ::hub::events::v1;
using ::hub::testing::IsOk;
using nlohmann::json;
using outbox::Delivery;
using outbox::LookupOutcome;
using outbox::LookupReport;
using outbox::SendOutcome;
using outbox::SendReport;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kApiKey[] =
    "hub_test-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-4c4e-9a34-57a5e8c7f8c1";
constexpr char kSmsTemplate[] = "f33517ff-2a88-4f6e-b855-c550268ce08a";
constexpr char kEmailTemplate[] = "a1b2c3d4-2a88-4f6e-b855-c550268ce08a";
constexpr char kLetterTemplate[] = "b1b2c3d4-2a88-4f6e-b855-c550268ce08a";

// Personal data and rendered text: never in a reason.
constexpr char kPhone[] = "07700 900123";
constexpr char kEmail[] = "ceridwen.oh@example.org";
constexpr char kStreet[] = "17 Mill Road";
constexpr char kTown[] = "Cambridge";
constexpr char kPostcode[] = "CB1 2AB";
constexpr char kSmsText[] = "Hello Ceridwen, we have some information for you. Call 0300 123 4567.";
constexpr char kSubject[] = "Information for Ceridwen";
constexpr char kEmailText[] = "Dear Ceridwen,\n\nWe are writing with information for you.";
constexpr char kEmailHtml[] =
    "<html lang=\"en\"><body><p>Dear Ceridwen,</p><p>We are writing with information for "
    "you.</p></body></html>";
constexpr char kLetterText[] = "Dear Ceridwen,\n\nPlease read this letter somewhere private.";

// Monday 2 November 2026, 10:00 UTC.
const absl::Time kT0 =
    absl::FromCivil(absl::CivilSecond(2026, 11, 2, 10, 0, 0), absl::UTCTimeZone());

Delivery SmsDelivery(const std::string& reference) {
  Delivery delivery;
  delivery.message_id = "0123456789abcdef0123456789abcdef";
  delivery.channel = ev::CHANNEL_SMS;
  delivery.reference = reference;
  delivery.address = kPhone;
  delivery.content.channel = templates::Channel::kSms;
  delivery.content.sms = kSmsText;
  return delivery;
}

Delivery EmailDelivery(const std::string& reference) {
  Delivery delivery;
  delivery.message_id = "0123456789abcdef0123456789abcdef";
  delivery.channel = ev::CHANNEL_EMAIL;
  delivery.reference = reference;
  delivery.address = kEmail;
  delivery.language = templates::Language::kWelsh;
  delivery.content.channel = templates::Channel::kEmail;
  delivery.content.email_subject = kSubject;
  delivery.content.email_text = kEmailText;
  delivery.content.email_html = kEmailHtml;
  return delivery;
}

Delivery LetterDelivery(const std::string& reference) {
  Delivery delivery;
  delivery.message_id = "0123456789abcdef0123456789abcdef";
  delivery.channel = ev::CHANNEL_LETTER;
  delivery.reference = reference;
  // A blank line (an address with no second line) is left out, not sent empty.
  delivery.postal_address = {kStreet, "", kTown, kPostcode};
  delivery.content.channel = templates::Channel::kLetter;
  delivery.content.letter = kLetterText;
  return delivery;
}

// A reason may say what happened, never to whom or what the message said.
void ExpectNoPersonalData(const std::string& reason) {
  EXPECT_FALSE(reason.empty());
  for (const char* personal : {kPhone, kEmail, kStreet, kPostcode, kSmsText, kSubject, kEmailText,
                               kEmailHtml, kLetterText, "Ceridwen"}) {
    EXPECT_THAT(reason, Not(HasSubstr(personal))) << personal;
  }
}

// An email sender that keeps what it is given and answers as told.
class FakeEmailSender final : public smtp::EmailSender {
 public:
  smtp::SmtpResult Send(const smtp::Email& email) override {
    sent_.push_back(email);
    return answer_;
  }
  void AnswerWith(const smtp::SmtpResult& answer) { answer_ = answer; }
  const std::vector<smtp::Email>& sent() const { return sent_; }

 private:
  std::vector<smtp::Email> sent_;
  smtp::SmtpResult answer_ = Sent();

  static smtp::SmtpResult Sent() {
    smtp::SmtpResult sent;
    sent.outcome = smtp::SmtpOutcome::kSent;
    sent.reply_code = 250;
    return sent;
  }
};

class DeliveryChannelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    notify::NotifyStandInOptions options;
    options.api_key = kApiKey;
    options.clock = clock_;
    ASSERT_OK_AND_ASSIGN(stand_in_, notify::NotifyStandIn::Start(options));
  }

  std::unique_ptr<notify::NotifyApi> Notify() {
    notify::NotifyClientOptions options;
    options.base_url = stand_in_->base_url();
    options.api_key = kApiKey;
    options.read_timeout = absl::Seconds(2);
    absl::StatusOr<std::unique_ptr<notify::NotifyClient>> client =
        notify::NotifyClient::Create(options, clock_);
    EXPECT_THAT(client.status(), IsOk());
    return client.ok() ? *std::move(client) : nullptr;
  }

  // Channels with Notify and, when `with_smtp`, the fake email sender.
  std::unique_ptr<DeliveryChannels> Channels(bool with_smtp) {
    std::unique_ptr<FakeEmailSender> email;
    if (with_smtp) {
      email = std::make_unique<FakeEmailSender>();
      email_ = email.get();
    }
    return std::make_unique<DeliveryChannels>(
        std::move(email), Notify(),
        NotifyTemplateIds{kSmsTemplate, kEmailTemplate, kLetterTemplate});
  }

  // The body of the request that created the only stored notification.
  json OnlyStoredBody() {
    const std::vector<notify::StoredNotification> stored = stand_in_->notifications();
    EXPECT_EQ(stored.size(), 1U);
    if (stored.size() != 1) {
      return json();
    }
    return json::parse(stored[0].request_body, nullptr, false);
  }

  std::shared_ptr<clock::FakeClock> clock_ = std::make_shared<clock::FakeClock>(kT0);
  std::unique_ptr<notify::NotifyStandIn> stand_in_;
  FakeEmailSender* email_ = nullptr;
};

// --- What each channel sends -------------------------------------------------------------

TEST_F(DeliveryChannelsTest, SmsGoesToNotifyWithTheTextAsItsBody) {
  std::unique_ptr<DeliveryChannels> channels = Channels(/*with_smtp=*/true);
  const SendReport report = channels->Send(SmsDelivery("hub-m-0001-0"));
  EXPECT_EQ(report.outcome, SendOutcome::kSent) << report.reason;
  ExpectNoPersonalData(report.reason);

  const std::vector<notify::StoredNotification> stored = stand_in_->notifications();
  ASSERT_EQ(stored.size(), 1U);
  EXPECT_EQ(stored[0].type, "sms");
  EXPECT_EQ(stored[0].reference, "hub-m-0001-0");
  EXPECT_EQ(stored[0].template_id, kSmsTemplate);
  EXPECT_EQ(report.channel_reference, stored[0].id);
  const json body = OnlyStoredBody();
  EXPECT_EQ(body["phone_number"], kPhone);
  EXPECT_EQ(body["reference"], "hub-m-0001-0");
  EXPECT_EQ(body["personalisation"], json({{"body", kSmsText}}));
  EXPECT_TRUE(email_->sent().empty());
}

TEST_F(DeliveryChannelsTest, LetterPutsTheAddressInTheAddressLinesAndTheTextInTheBody) {
  std::unique_ptr<DeliveryChannels> channels = Channels(/*with_smtp=*/true);
  const SendReport report = channels->Send(LetterDelivery("hub-m-0002-2"));
  EXPECT_EQ(report.outcome, SendOutcome::kSent) << report.reason;
  ExpectNoPersonalData(report.reason);

  const std::vector<notify::StoredNotification> stored = stand_in_->notifications();
  ASSERT_EQ(stored.size(), 1U);
  EXPECT_EQ(stored[0].type, "letter");
  EXPECT_EQ(stored[0].template_id, kLetterTemplate);
  EXPECT_EQ(stored[0].reference, "hub-m-0002-2");
  EXPECT_EQ(report.channel_reference, stored[0].id);
  EXPECT_EQ(OnlyStoredBody()["personalisation"], json({{"address_line_1", kStreet},
                                                       {"address_line_2", kTown},
                                                       {"address_line_3", kPostcode},
                                                       {"body", kLetterText}}));
}

TEST_F(DeliveryChannelsTest, LetterWithTheLongestAddressIntakeAllowsKeepsThePostcodeLast) {
  // Four lines, the town and the postcode: six of Notify's seven.
  std::unique_ptr<DeliveryChannels> channels = Channels(/*with_smtp=*/false);
  Delivery letter = LetterDelivery("hub-m-0003-2");
  letter.postal_address = {"Flat 2", kStreet, "Romsey", "Petersfield", kTown, kPostcode};
  EXPECT_EQ(channels->Send(letter).outcome, SendOutcome::kSent);
  const json personalisation = OnlyStoredBody()["personalisation"];
  EXPECT_EQ(personalisation.size(), 7U);
  EXPECT_EQ(personalisation["address_line_1"], "Flat 2");
  EXPECT_EQ(personalisation["address_line_6"], kPostcode);
  EXPECT_FALSE(personalisation.contains("address_line_7"));
}

TEST_F(DeliveryChannelsTest, EmailGoesByTheEmailSenderWhenThereIsOne) {
  std::unique_ptr<DeliveryChannels> channels = Channels(/*with_smtp=*/true);
  const SendReport report = channels->Send(EmailDelivery("hub-m-0004-0"));
  EXPECT_EQ(report.outcome, SendOutcome::kSent);
  EXPECT_EQ(report.channel_reference, "hub-m-0004-0");
  ExpectNoPersonalData(report.reason);

  ASSERT_EQ(email_->sent().size(), 1U);
  const smtp::Email& sent = email_->sent()[0];
  EXPECT_EQ(sent.message_id, "hub-m-0004-0");
  EXPECT_EQ(sent.to_address, kEmail);
  EXPECT_EQ(sent.subject, kSubject);
  EXPECT_EQ(sent.text_body, kEmailText);
  EXPECT_EQ(sent.html_body, kEmailHtml);
  EXPECT_EQ(sent.language, "cy");
  EXPECT_TRUE(stand_in_->requests().empty());
}

TEST_F(DeliveryChannelsTest, EmailGoesThroughNotifyWithoutAnEmailSender) {
  std::unique_ptr<DeliveryChannels> channels = Channels(/*with_smtp=*/false);
  const SendReport report = channels->Send(EmailDelivery("hub-m-0005-0"));
  EXPECT_EQ(report.outcome, SendOutcome::kSent) << report.reason;
  ExpectNoPersonalData(report.reason);

  const std::vector<notify::StoredNotification> stored = stand_in_->notifications();
  ASSERT_EQ(stored.size(), 1U);
  EXPECT_EQ(stored[0].type, "email");
  EXPECT_EQ(stored[0].template_id, kEmailTemplate);
  EXPECT_EQ(stored[0].reference, "hub-m-0005-0");
  EXPECT_EQ(report.channel_reference, stored[0].id);
  const json body = OnlyStoredBody();
  EXPECT_EQ(body["email_address"], kEmail);
  EXPECT_EQ(body["personalisation"], json({{"subject", kSubject}, {"body", kEmailText}}));
}

TEST_F(DeliveryChannelsTest, AChannelWithoutConfigurationFailsPermanently) {
  DeliveryChannels nothing(nullptr, nullptr, NotifyTemplateIds{});
  for (const Delivery& delivery :
       {SmsDelivery("r-1"), EmailDelivery("r-2"), LetterDelivery("r-3")}) {
    const SendReport report = nothing.Send(delivery);
    EXPECT_EQ(report.outcome, SendOutcome::kPermanentFailure) << delivery.channel;
    EXPECT_THAT(report.reason, HasSubstr("not configured")) << delivery.channel;
    ExpectNoPersonalData(report.reason);
  }

  // Notify without a template id for the channel is not configured for it either.
  DeliveryChannels no_ids(nullptr, Notify(), NotifyTemplateIds{kSmsTemplate, "", ""});
  for (const Delivery& delivery : {EmailDelivery("r-4"), LetterDelivery("r-5")}) {
    const SendReport report = no_ids.Send(delivery);
    EXPECT_EQ(report.outcome, SendOutcome::kPermanentFailure) << delivery.channel;
    EXPECT_THAT(report.reason, HasSubstr("not configured")) << delivery.channel;
  }
  EXPECT_TRUE(stand_in_->requests().empty());
  EXPECT_EQ(no_ids.Send(SmsDelivery("r-6")).outcome, SendOutcome::kSent);

  // An email sender alone sends email, and nothing else.
  DeliveryChannels smtp_only(std::make_unique<FakeEmailSender>(), nullptr, NotifyTemplateIds{});
  EXPECT_EQ(smtp_only.Send(EmailDelivery("r-7")).outcome, SendOutcome::kSent);
  EXPECT_THAT(smtp_only.Send(SmsDelivery("r-8")).reason, HasSubstr("not configured"));
}

TEST_F(DeliveryChannelsTest, ACallTaskIsNotSent) {
  std::unique_ptr<DeliveryChannels> channels = Channels(/*with_smtp=*/true);
  Delivery call = SmsDelivery("r-9");
  call.channel = ev::CHANNEL_CALL_TASK;
  const SendReport report = channels->Send(call);
  EXPECT_EQ(report.outcome, SendOutcome::kPermanentFailure);
  EXPECT_THAT(report.reason, HasSubstr("not a written channel"));
  EXPECT_TRUE(stand_in_->requests().empty());
  EXPECT_TRUE(email_->sent().empty());
}

// --- Outcomes ----------------------------------------------------------------------------

TEST_F(DeliveryChannelsTest, SmtpOutcomesMapToSendOutcomes) {
  struct Case {
    smtp::SmtpOutcome outcome;
    int reply_code;
    const char* error_message;
    SendOutcome expected;
    const char* reason;
  };
  const Case cases[] = {
      {smtp::SmtpOutcome::kSent, 250, "", SendOutcome::kSent, "SMTP sent (reply 250)"},
      {smtp::SmtpOutcome::kTransientFailure, 451, "the server is busy",
       SendOutcome::kTransientFailure, "SMTP transient_failure (reply 451): the server is busy"},
      {smtp::SmtpOutcome::kPermanentFailure, 550, "mailbox unavailable",
       SendOutcome::kPermanentFailure, "SMTP permanent_failure (reply 550): mailbox unavailable"},
      {smtp::SmtpOutcome::kInDoubt, 354, "no answer to the end of DATA", SendOutcome::kInDoubt,
       "SMTP in_doubt (reply 354): no answer to the end of DATA"},
      {smtp::SmtpOutcome::kTransientFailure, 0, "connection refused",
       SendOutcome::kTransientFailure, "SMTP transient_failure: connection refused"},
  };
  std::unique_ptr<DeliveryChannels> channels = Channels(/*with_smtp=*/true);
  for (const Case& c : cases) {
    smtp::SmtpResult answer;
    answer.outcome = c.outcome;
    answer.reply_code = c.reply_code;
    answer.error_message = c.error_message;
    email_->AnswerWith(answer);
    const SendReport report = channels->Send(EmailDelivery("hub-m-0010-0"));
    EXPECT_EQ(report.outcome, c.expected) << c.reason;
    EXPECT_EQ(report.reason, c.reason);
    EXPECT_EQ(report.channel_reference, "hub-m-0010-0");
    ExpectNoPersonalData(report.reason);
  }
}

TEST_F(DeliveryChannelsTest, NotifyFailuresMapToSendOutcomes) {
  std::unique_ptr<DeliveryChannels> channels = Channels(/*with_smtp=*/false);

  stand_in_->FailNext(1, 500, "Exception", "Internal server error");
  const SendReport server_error = channels->Send(SmsDelivery("hub-m-0011-1"));
  EXPECT_EQ(server_error.outcome, SendOutcome::kTransientFailure);
  EXPECT_THAT(server_error.reason, HasSubstr("HTTP 500"));
  EXPECT_THAT(server_error.reason, HasSubstr("Internal server error"));
  ExpectNoPersonalData(server_error.reason);

  stand_in_->FailNext(1, 400, "BadRequestError",
                      "Can't send to this recipient using a team-only API key");
  const SendReport refused = channels->Send(EmailDelivery("hub-m-0012-0"));
  EXPECT_EQ(refused.outcome, SendOutcome::kPermanentFailure);
  EXPECT_THAT(refused.reason, HasSubstr("HTTP 400"));
  EXPECT_THAT(refused.reason, HasSubstr("BadRequestError"));
  ExpectNoPersonalData(refused.reason);

  // Notify's own validation: the number is not a mobile. Its message names the field only.
  Delivery landline = SmsDelivery("hub-m-0013-1");
  landline.address = "01223 555 014";
  const SendReport invalid = channels->Send(landline);
  EXPECT_EQ(invalid.outcome, SendOutcome::kPermanentFailure);
  EXPECT_THAT(invalid.reason, HasSubstr("ValidationError"));
  EXPECT_THAT(invalid.reason, Not(HasSubstr("01223 555 014")));
  ExpectNoPersonalData(invalid.reason);

  // A letter Notify cannot post: too few address lines.
  Delivery short_address = LetterDelivery("hub-m-0014-2");
  short_address.postal_address = {kStreet, kPostcode};
  const SendReport unpostable = channels->Send(short_address);
  EXPECT_EQ(unpostable.outcome, SendOutcome::kPermanentFailure);
  ExpectNoPersonalData(unpostable.reason);

  EXPECT_TRUE(stand_in_->notifications().empty());

  // Stored but the answer lost: in doubt, never a failure to resend.
  stand_in_->DropNextAnswer(1);
  const SendReport lost = channels->Send(LetterDelivery("hub-m-0015-2"));
  EXPECT_EQ(lost.outcome, SendOutcome::kInDoubt);
  EXPECT_TRUE(lost.channel_reference.empty());
  ExpectNoPersonalData(lost.reason);
  EXPECT_EQ(stand_in_->notifications().size(), 1U);
}

TEST_F(DeliveryChannelsTest, ARejectedKeyIsPermanent) {
  notify::NotifyClientOptions options;
  options.base_url = stand_in_->base_url();
  options.api_key =
      "other-26785a09-ab16-4eb0-8407-a37497a57506-0f0f0f0f-8d35-4c4e-9a34-57a5e8c7f8c1";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<notify::NotifyClient> client,
                       notify::NotifyClient::Create(options, clock_));
  DeliveryChannels channels(nullptr, std::move(client),
                            NotifyTemplateIds{kSmsTemplate, kEmailTemplate, kLetterTemplate});
  const SendReport report = channels.Send(SmsDelivery("hub-m-0016-1"));
  EXPECT_EQ(report.outcome, SendOutcome::kPermanentFailure);
  EXPECT_THAT(report.reason, HasSubstr("AuthError"));
  ExpectNoPersonalData(report.reason);
}

// --- Lookup ------------------------------------------------------------------------------

TEST_F(DeliveryChannelsTest, EmailOverSmtpCannotBeLookedUp) {
  std::unique_ptr<DeliveryChannels> channels = Channels(/*with_smtp=*/true);
  const LookupReport report = channels->Lookup(ev::CHANNEL_EMAIL, "hub-m-0020-0");
  EXPECT_EQ(report.outcome, LookupOutcome::kCannotLookUp);
  EXPECT_FALSE(report.reason.empty());
  EXPECT_TRUE(stand_in_->requests().empty());

  DeliveryChannels nothing(nullptr, nullptr, NotifyTemplateIds{});
  EXPECT_EQ(nothing.Lookup(ev::CHANNEL_SMS, "hub-m-0020-1").outcome, LookupOutcome::kCannotLookUp);
}

TEST_F(DeliveryChannelsTest, LookupFindsWhatNotifyReceived) {
  std::unique_ptr<DeliveryChannels> channels = Channels(/*with_smtp=*/true);
  const SendReport sent = channels->Send(SmsDelivery("hub-m-0021-1"));
  ASSERT_EQ(sent.outcome, SendOutcome::kSent) << sent.reason;

  const LookupReport created = channels->Lookup(ev::CHANNEL_SMS, "hub-m-0021-1");
  EXPECT_EQ(created.outcome, LookupOutcome::kReceived) << created.reason;
  EXPECT_EQ(created.channel_reference, sent.channel_reference);

  stand_in_->SetStatus(sent.channel_reference, "delivered");
  const LookupReport delivered = channels->Lookup(ev::CHANNEL_SMS, "hub-m-0021-1");
  EXPECT_EQ(delivered.outcome, LookupOutcome::kReceived);
  EXPECT_EQ(delivered.channel_reference, sent.channel_reference);
  EXPECT_THAT(delivered.reason, HasSubstr("delivered"));
  ExpectNoPersonalData(delivered.reason);
}

TEST_F(DeliveryChannelsTest, LookupReportsWhatNotifyFailed) {
  std::unique_ptr<DeliveryChannels> channels = Channels(/*with_smtp=*/false);
  int n = 0;
  for (const std::string status : {"permanent-failure", "technical-failure", "validation-failed",
                                   "virus-scan-failed", "cancelled"}) {
    const std::string reference = absl::StrCat("hub-m-0022-", ++n);
    const SendReport sent = channels->Send(LetterDelivery(reference));
    ASSERT_EQ(sent.outcome, SendOutcome::kSent) << sent.reason;
    stand_in_->SetStatus(sent.channel_reference, status);
    const LookupReport report = channels->Lookup(ev::CHANNEL_LETTER, reference);
    EXPECT_EQ(report.outcome, LookupOutcome::kFailed) << status;
    EXPECT_THAT(report.reason, HasSubstr(status));
    ExpectNoPersonalData(report.reason);
  }
}

TEST_F(DeliveryChannelsTest, LookupPrefersAnAttemptNotifyStillHas) {
  // Sent twice under one reference (a doubt resolved by a resend): one failed, one did not.
  std::unique_ptr<DeliveryChannels> channels = Channels(/*with_smtp=*/false);
  const SendReport first = channels->Send(SmsDelivery("hub-m-0023-1"));
  const SendReport second = channels->Send(SmsDelivery("hub-m-0023-1"));
  ASSERT_EQ(first.outcome, SendOutcome::kSent);
  ASSERT_EQ(second.outcome, SendOutcome::kSent);
  stand_in_->SetStatus(second.channel_reference, "permanent-failure");
  stand_in_->SetStatus(first.channel_reference, "delivered");
  const LookupReport report = channels->Lookup(ev::CHANNEL_SMS, "hub-m-0023-1");
  EXPECT_EQ(report.outcome, LookupOutcome::kReceived);
  EXPECT_EQ(report.channel_reference, first.channel_reference);
}

TEST_F(DeliveryChannelsTest, LookupOfNothingIsNotReceived) {
  std::unique_ptr<DeliveryChannels> channels = Channels(/*with_smtp=*/false);
  const LookupReport report = channels->Lookup(ev::CHANNEL_EMAIL, "hub-m-0024-0");
  EXPECT_EQ(report.outcome, LookupOutcome::kNotReceived);
  EXPECT_TRUE(report.channel_reference.empty());
  ExpectNoPersonalData(report.reason);
}

TEST_F(DeliveryChannelsTest, LookupThatFailsIsUnknown) {
  std::unique_ptr<DeliveryChannels> channels = Channels(/*with_smtp=*/false);
  stand_in_->FailNext(1, 500, "Exception", "Internal server error");
  const LookupReport report = channels->Lookup(ev::CHANNEL_SMS, "hub-m-0025-1");
  EXPECT_EQ(report.outcome, LookupOutcome::kUnknown);
  EXPECT_THAT(report.reason, HasSubstr("could not be asked"));
  ExpectNoPersonalData(report.reason);
}

TEST_F(DeliveryChannelsTest, ASendInDoubtIsResolvedByLookup) {
  std::unique_ptr<DeliveryChannels> channels = Channels(/*with_smtp=*/false);
  stand_in_->DropNextAnswer(1);
  ASSERT_EQ(channels->Send(SmsDelivery("hub-m-0026-1")).outcome, SendOutcome::kInDoubt);
  const LookupReport report = channels->Lookup(ev::CHANNEL_SMS, "hub-m-0026-1");
  EXPECT_EQ(report.outcome, LookupOutcome::kReceived);
  ASSERT_EQ(stand_in_->notifications().size(), 1U);
  EXPECT_EQ(report.channel_reference, stand_in_->notifications()[0].id);
}

}  // namespace
}  // namespace hub::notification
