// The outbox's channels as the service runs them: email over SMTP (or through Notify when
// so configured), SMS and letters through a GOV.UK Notify-compatible API.
//
// Notify sends from templates made in its own console; the hub renders its own texts
// (deploy/templates) and sends them as personalisation of three plain Notify templates, one
// per channel, whose content is only placeholders:
//   SMS     "((body))"
//   email   subject "((subject))", body "((body))"
//   letter  "((body))" (the address goes in address_line_1..7, as Notify requires)
// Their ids are configuration (notify-sms-template, notify-email-template,
// notify-letter-template).
//
// In doubt: Notify is asked by reference; what Notify marks permanent-failure,
// technical-failure, validation-failed, virus-scan-failed or cancelled failed, anything
// else it holds was received. An SMTP server cannot be asked: Lookup says so, and a person
// checks. Thread-safe when the senders are.
#ifndef HUB_SERVICES_NOTIFICATION_DELIVERY_CHANNELS_H_
#define HUB_SERVICES_NOTIFICATION_DELIVERY_CHANNELS_H_

#include <memory>
#include <string>

#include "services/notification/notify/notify_client.h"
#include "services/notification/outbox/channels.h"
#include "services/notification/smtp/smtp_client.h"

namespace hub::notification {

struct NotifyTemplateIds {
  std::string sms;
  std::string email;
  std::string letter;
};

class DeliveryChannels final : public outbox::Channels {
 public:
  // Either sender may be null: its channels then fail permanently ("not configured"), so
  // the next safe route is tried. Email goes by SMTP when `email` is set, else by Notify.
  DeliveryChannels(std::unique_ptr<smtp::EmailSender> email,
                   std::unique_ptr<notify::NotifyApi> notify, NotifyTemplateIds ids);

  outbox::SendReport Send(const outbox::Delivery& delivery) override;
  outbox::LookupReport Lookup(hub::events::v1::Channel channel,
                              const std::string& reference) override;

 private:
  outbox::SendReport SendEmail(const outbox::Delivery& delivery);

  const std::unique_ptr<smtp::EmailSender> email_;
  const std::unique_ptr<notify::NotifyApi> notify_;
  const NotifyTemplateIds ids_;
};

}  // namespace hub::notification

#endif  // HUB_SERVICES_NOTIFICATION_DELIVERY_CHANNELS_H_
