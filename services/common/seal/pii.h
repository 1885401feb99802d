// Separating a message's personal data from the rest, generically, by protobuf reflection
// over the field option (hub.options.v1.pii).
//
// ExtractPii splits a message into two of the same type: the clear part, which keeps
// everything not marked pii (references, flags, ages, channel safety...) and may be
// published, and the pii part, which holds only the marked fields and is sealed
// (SealPii). RestorePii zips them back. A field marked pii moves whole, whatever its type
// (a marked message field such as a date of birth moves with all its contents). Unmarked
// message fields are descended into, singular and repeated; a repeated message field keeps
// the same number of elements on both sides, so element i of the pii part belongs to
// element i of the clear part. Map fields and unknown fields are not descended into (the
// hub's protos mark no field inside a map) and stay in the clear part.
//
// The functions are pure: thread-safe for distinct messages.
#ifndef HUB_SERVICES_COMMON_SEAL_PII_H_
#define HUB_SERVICES_COMMON_SEAL_PII_H_

#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

#include "hub/seal/v1/seal.pb.h"
#include "services/common/seal/crypto.h"

namespace hub::seal {

// True if `field` carries (hub.options.v1.pii) = true.
bool IsPiiField(const google::protobuf::FieldDescriptor& field);

// Moves every pii-marked field of *message (recursing into unmarked singular and repeated
// message fields) into a new message of the same type, which is returned; *message keeps
// everything else. Returns nullptr, leaving *message unchanged, when no pii-marked field
// is set anywhere.
std::unique_ptr<google::protobuf::Message> ExtractPii(google::protobuf::Message* message);

// The inverse of ExtractPii: puts the fields of `pii` back into *message, element-wise
// for repeated message fields. kInvalidArgument, leaving *message unchanged, when the
// shapes do not line up: different message types, different element counts of a repeated
// field, a field set in `pii` that is not marked pii and is not a message on the way to
// one, or a oneof whose clear side holds another member.
absl::Status RestorePii(const google::protobuf::Message& pii, google::protobuf::Message* message);

// True if any pii-marked field is set anywhere in `message`. Used to assert that nothing
// personal is published in clear.
bool ContainsPii(const google::protobuf::Message& message);

// ExtractPii, serialize the pii part and Seal it under `key` bound to `context` (the case
// id). Returns std::nullopt, leaving *message unchanged, when there is no pii. On an error
// *message is left as it was.
absl::StatusOr<std::optional<hub::seal::v1::SealedData>> SealPii(const DataKey& key,
                                                                 google::protobuf::Message* message,
                                                                 absl::string_view context);

// Open `sealed` with `key` and `context` and RestorePii the result into *message (the
// clear part it was sealed from). Errors as Open; kDataLoss if the plaintext does not
// parse as *message's type; kInvalidArgument as RestorePii. On an error *message is left
// as it was.
absl::Status OpenPii(const DataKey& key, const hub::seal::v1::SealedData& sealed,
                     absl::string_view context, google::protobuf::Message* message);

}  // namespace hub::seal

#endif  // HUB_SERVICES_COMMON_SEAL_PII_H_
