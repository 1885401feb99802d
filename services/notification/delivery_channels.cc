#include "services/notification/delivery_channels.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace hub::notification {
namespace {

using outbox::LookupOutcome;
using outbox::LookupReport;
using outbox::SendOutcome;
using outbox::SendReport;

SendReport FromNotify(const notify::SendResult& result) {
  SendReport report;
  switch (result.outcome) {
    case notify::SendOutcome::kSent:
      report.outcome = SendOutcome::kSent;
      report.channel_reference = result.notification_id;
      report.reason = "accepted by Notify";
      return report;
    case notify::SendOutcome::kTransientFailure:
      report.outcome = SendOutcome::kTransientFailure;
      break;
    case notify::SendOutcome::kPermanentFailure:
      report.outcome = SendOutcome::kPermanentFailure;
      break;
    case notify::SendOutcome::kInDoubt:
      report.outcome = SendOutcome::kInDoubt;
      break;
  }
  report.reason = absl::StrCat(
      "Notify ", notify::SendOutcomeName(result.outcome),
      result.http_status != 0 ? absl::StrCat(" (HTTP ", result.http_status, ")") : std::string(),
      ": ", result.error_type, result.error_message.empty() ? "" : ": ", result.error_message);
  return report;
}

bool NotifyFailed(const std::string& status) {
  return status == "permanent-failure" || status == "technical-failure" ||
         status == "validation-failed" || status == "virus-scan-failed" || status == "cancelled";
}

SendReport NotConfigured(absl::string_view what) {
  return {SendOutcome::kPermanentFailure, "", absl::StrCat(what, " is not configured")};
}

}  // namespace

DeliveryChannels::DeliveryChannels(std::unique_ptr<smtp::EmailSender> email,
                                   std::unique_ptr<notify::NotifyApi> notify, NotifyTemplateIds ids)
    : email_(std::move(email)), notify_(std::move(notify)), ids_(std::move(ids)) {}

SendReport DeliveryChannels::Send(const outbox::Delivery& delivery) {
  switch (delivery.channel) {
    case hub::events::v1::CHANNEL_EMAIL:
      return SendEmail(delivery);
    case hub::events::v1::CHANNEL_SMS: {
      if (notify_ == nullptr || ids_.sms.empty()) {
        return NotConfigured("SMS through Notify");
      }
      notify::SmsMessage sms;
      sms.phone_number = delivery.address;
      sms.template_id = ids_.sms;
      sms.personalisation = {{"body", delivery.content.sms}};
      sms.reference = delivery.reference;
      return FromNotify(notify_->SendSms(sms));
    }
    case hub::events::v1::CHANNEL_LETTER: {
      if (notify_ == nullptr || ids_.letter.empty()) {
        return NotConfigured("letters through Notify");
      }
      notify::LetterMessage letter;
      letter.template_id = ids_.letter;
      letter.reference = delivery.reference;
      int line = 0;
      for (const std::string& text : delivery.postal_address) {
        if (!text.empty() && line < 7) {
          letter.personalisation[absl::StrCat("address_line_", ++line)] = text;
        }
      }
      letter.personalisation["body"] = delivery.content.letter;
      return FromNotify(notify_->SendLetter(letter));
    }
    default:
      return {SendOutcome::kPermanentFailure, "", "not a written channel"};
  }
}

SendReport DeliveryChannels::SendEmail(const outbox::Delivery& delivery) {
  if (email_ != nullptr) {
    smtp::Email email;
    email.message_id = delivery.reference;
    email.to_address = delivery.address;
    email.subject = delivery.content.email_subject;
    email.text_body = delivery.content.email_text;
    email.html_body = delivery.content.email_html;
    email.language = std::string(templates::LanguageCode(delivery.language));
    const smtp::SmtpResult result = email_->Send(email);
    SendReport report;
    switch (result.outcome) {
      case smtp::SmtpOutcome::kSent:
        report.outcome = SendOutcome::kSent;
        break;
      case smtp::SmtpOutcome::kTransientFailure:
        report.outcome = SendOutcome::kTransientFailure;
        break;
      case smtp::SmtpOutcome::kPermanentFailure:
        report.outcome = SendOutcome::kPermanentFailure;
        break;
      case smtp::SmtpOutcome::kInDoubt:
        report.outcome = SendOutcome::kInDoubt;
        break;
    }
    report.channel_reference = delivery.reference;
    report.reason = absl::StrCat(
        "SMTP ", smtp::SmtpOutcomeName(result.outcome),
        result.reply_code != 0 ? absl::StrCat(" (reply ", result.reply_code, ")") : std::string(),
        result.error_message.empty() ? "" : ": ", result.error_message);
    return report;
  }
  if (notify_ == nullptr || ids_.email.empty()) {
    return NotConfigured("email (SMTP or Notify)");
  }
  notify::EmailMessage email;
  email.email_address = delivery.address;
  email.template_id = ids_.email;
  email.personalisation = {{"subject", delivery.content.email_subject},
                           {"body", delivery.content.email_text}};
  email.reference = delivery.reference;
  return FromNotify(notify_->SendEmail(email));
}

LookupReport DeliveryChannels::Lookup(hub::events::v1::Channel channel,
                                      const std::string& reference) {
  if (channel == hub::events::v1::CHANNEL_EMAIL && email_ != nullptr) {
    return {LookupOutcome::kCannotLookUp, "", "an SMTP server cannot be asked about a message"};
  }
  if (notify_ == nullptr) {
    return {LookupOutcome::kCannotLookUp, "", "Notify is not configured"};
  }
  const notify::LookupResult result = notify_->Lookup(reference);
  switch (result.outcome) {
    case notify::LookupOutcome::kFound: {
      for (const notify::NotificationInfo& info : result.notifications) {
        if (!NotifyFailed(info.status)) {
          return {LookupOutcome::kReceived, info.id,
                  absl::StrCat("Notify has it (", info.status, ")")};
        }
      }
      const std::string& status =
          result.notifications.empty() ? std::string("unknown") : result.notifications[0].status;
      return {LookupOutcome::kFailed, "", absl::StrCat("Notify has it as ", status)};
    }
    case notify::LookupOutcome::kNotFound:
      return {LookupOutcome::kNotReceived, "", "Notify has nothing under the reference"};
    case notify::LookupOutcome::kTransientFailure:
    case notify::LookupOutcome::kPermanentFailure:
      break;
  }
  return {LookupOutcome::kUnknown, "",
          absl::StrCat("Notify could not be asked: ", notify::LookupOutcomeName(result.outcome),
                       " ", result.error_type)};
}

}  // namespace hub::notification
