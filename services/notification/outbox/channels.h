// The seam between the outbox and the world: one call sends one rendered message on one
// channel and says what became of it; another asks whether an earlier attempt got through.
// The service's implementation (delivery_channels.h) sends email over SMTP and SMS and
// letters through a GOV.UK Notify-compatible API; tests use fakes.
#ifndef HUB_SERVICES_NOTIFICATION_OUTBOX_CHANNELS_H_
#define HUB_SERVICES_NOTIFICATION_OUTBOX_CHANNELS_H_

#include <string>
#include <vector>

#include "hub/events/v1/events.pb.h"
#include "services/notification/templates/templates.h"

namespace hub::notification::outbox {

// One message ready to go on one channel. Holds personal data (the address and the text):
// it lives only for the length of a send and is never logged.
struct Delivery {
  std::string message_id;
  // EMAIL, SMS or LETTER.
  hub::events::v1::Channel channel = hub::events::v1::CHANNEL_UNSPECIFIED;
  // Stable for the message and route: Notify's reference, the email's Message-ID.
  std::string reference;
  // Email address or phone number (EMAIL, SMS).
  std::string address;
  // LETTER: the postal address, line by line, the postcode last.
  std::vector<std::string> postal_address;
  templates::Language language = templates::Language::kEnglish;
  templates::RenderedMessage content;
};

enum class SendOutcome { kSent, kTransientFailure, kPermanentFailure, kInDoubt };

struct SendReport {
  SendOutcome outcome = SendOutcome::kInDoubt;
  // The channel's id for the message when sent.
  std::string channel_reference;
  // What happened, without personal data (no address, no text).
  std::string reason;
};

enum class LookupOutcome {
  // The channel has it: it was sent (or at least accepted).
  kReceived,
  // The channel has it and says it failed for good.
  kFailed,
  // The channel has nothing under the reference.
  kNotReceived,
  // The channel could not be asked now: ask again later.
  kUnknown,
  // The channel cannot be asked (SMTP): a person must check.
  kCannotLookUp,
};

struct LookupReport {
  LookupOutcome outcome = LookupOutcome::kUnknown;
  std::string channel_reference;
  std::string reason;
};

class Channels {
 public:
  virtual ~Channels() = default;
  virtual SendReport Send(const Delivery& delivery) = 0;
  virtual LookupReport Lookup(hub::events::v1::Channel channel, const std::string& reference) = 0;
};

}  // namespace hub::notification::outbox

#endif  // HUB_SERVICES_NOTIFICATION_OUTBOX_CHANNELS_H_
