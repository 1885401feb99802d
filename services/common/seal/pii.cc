#include "services/common/seal/pii.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"

#include "hub/options/v1/options.pb.h"
#include "services/common/status/status_macros.h"

namespace hub::seal {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// A field whose contents are descended into: an unmarked message field that is not a map.
bool IsContainer(const FieldDescriptor& field) {
  return field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !field.is_map() &&
         !IsPiiField(field);
}

std::vector<const FieldDescriptor*> SetFields(const Message& message) {
  std::vector<const FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);
  return fields;
}

// Moves the pii of *from into *to (an empty message of the same type). True if anything
// moved.
bool ExtractInto(Message* from, Message* to) {
  const Reflection* reflection = from->GetReflection();
  bool moved = false;
  for (const FieldDescriptor* field : SetFields(*from)) {
    if (IsPiiField(*field)) {
      reflection->SwapFields(from, to, {field});
      moved = true;
    } else if (IsContainer(*field) && !field->is_repeated()) {
      if (ExtractInto(reflection->MutableMessage(from, field),
                      reflection->MutableMessage(to, field))) {
        moved = true;
      } else {
        reflection->ClearField(to, field);
      }
    } else if (IsContainer(*field)) {
      const int size = reflection->FieldSize(*from, field);
      bool any = false;
      for (int i = 0; i < size; ++i) {
        // Every element gets a counterpart, moved into or not, so the two sides zip.
        Message* counterpart = reflection->AddMessage(to, field);
        any = ExtractInto(reflection->MutableRepeatedMessage(from, field, i), counterpart) || any;
      }
      if (any) {
        moved = true;
      } else {
        reflection->ClearField(to, field);
      }
    }
  }
  return moved;
}

// Moves every field of *from (a pii part) into *to (its clear part).
absl::Status RestoreInto(Message* from, Message* to, const std::string& path) {
  const Reflection* reflection = from->GetReflection();
  for (const FieldDescriptor* field : SetFields(*from)) {
    const std::string field_path =
        path.empty() ? field->name() : absl::StrCat(path, ".", field->name());
    if (IsPiiField(*field)) {
      if (const auto* oneof = field->real_containing_oneof(); oneof != nullptr) {
        const FieldDescriptor* clear_member = reflection->GetOneofFieldDescriptor(*to, oneof);
        if (clear_member != nullptr && clear_member != field) {
          return absl::InvalidArgumentError(
              absl::StrCat("pii field ", field_path, " belongs to a oneof whose clear side holds ",
                           clear_member->name()));
        }
      }
      reflection->ClearField(to, field);
      reflection->SwapFields(from, to, {field});
    } else if (IsContainer(*field) && !field->is_repeated()) {
      HUB_RETURN_IF_ERROR(RestoreInto(reflection->MutableMessage(from, field),
                                      reflection->MutableMessage(to, field), field_path));
    } else if (IsContainer(*field)) {
      const int size = reflection->FieldSize(*from, field);
      if (size != reflection->FieldSize(*to, field)) {
        return absl::InvalidArgumentError(absl::StrCat("pii part has ", size, " elements of ",
                                                       field_path, ", the clear part ",
                                                       reflection->FieldSize(*to, field)));
      }
      for (int i = 0; i < size; ++i) {
        HUB_RETURN_IF_ERROR(RestoreInto(reflection->MutableRepeatedMessage(from, field, i),
                                        reflection->MutableRepeatedMessage(to, field, i),
                                        absl::StrCat(field_path, "[", i, "]")));
      }
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("pii part sets ", field_path, ", which is not marked pii"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool IsPiiField(const FieldDescriptor& field) {
  return field.options().GetExtension(hub::options::v1::pii);
}

std::unique_ptr<Message> ExtractPii(Message* message) {
  std::unique_ptr<Message> pii(message->New());
  if (!ExtractInto(message, pii.get())) {
    return nullptr;
  }
  return pii;
}

absl::Status RestorePii(const Message& pii, Message* message) {
  if (pii.GetDescriptor() != message->GetDescriptor()) {
    return absl::InvalidArgumentError(absl::StrCat("pii part is a ", pii.GetTypeName(),
                                                   ", the clear part a ", message->GetTypeName()));
  }
  // Work on copies so that *message is untouched when the shapes do not line up.
  std::unique_ptr<Message> from(pii.New());
  from->CopyFrom(pii);
  std::unique_ptr<Message> to(message->New());
  to->CopyFrom(*message);
  HUB_RETURN_IF_ERROR(RestoreInto(from.get(), to.get(), ""));
  message->GetReflection()->Swap(message, to.get());
  return absl::OkStatus();
}

bool ContainsPii(const Message& message) {
  const Reflection* reflection = message.GetReflection();
  for (const FieldDescriptor* field : SetFields(message)) {
    if (IsPiiField(*field)) {
      return true;
    }
    if (!IsContainer(*field)) {
      continue;
    }
    if (!field->is_repeated()) {
      if (ContainsPii(reflection->GetMessage(message, field))) {
        return true;
      }
      continue;
    }
    for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
      if (ContainsPii(reflection->GetRepeatedMessage(message, field, i))) {
        return true;
      }
    }
  }
  return false;
}

absl::StatusOr<std::optional<hub::seal::v1::SealedData>> SealPii(const DataKey& key,
                                                                 Message* message,
                                                                 absl::string_view context) {
  std::unique_ptr<Message> pii = ExtractPii(message);
  if (pii == nullptr) {
    return std::optional<hub::seal::v1::SealedData>();
  }
  std::string plaintext;
  absl::StatusOr<hub::seal::v1::SealedData> sealed =
      pii->SerializeToString(&plaintext)
          ? Seal(key, plaintext, context)
          : absl::InternalError(absl::StrCat("a ", pii->GetTypeName(), " did not serialize"));
  if (!sealed.ok()) {
    // Put the personal data back so the caller's message is as it was.
    if (absl::Status restored = RestorePii(*pii, message); !restored.ok()) {
      return restored;
    }
    return sealed.status();
  }
  return std::optional<hub::seal::v1::SealedData>(*std::move(sealed));
}

absl::Status OpenPii(const DataKey& key, const hub::seal::v1::SealedData& sealed,
                     absl::string_view context, Message* message) {
  HUB_ASSIGN_OR_RETURN(std::string plaintext, Open(key, sealed, context));
  std::unique_ptr<Message> pii(message->New());
  if (!pii->ParseFromString(plaintext)) {
    return absl::DataLossError(
        absl::StrCat("sealed data does not hold a ", message->GetTypeName()));
  }
  return RestorePii(*pii, message);
}

}  // namespace hub::seal
