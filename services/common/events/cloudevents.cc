#include "services/common/events/cloudevents.h"

#include <array>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace hub::events {
namespace {

std::array<unsigned char, 32> Sha256(absl::string_view text) {
  std::array<unsigned char, 32> digest{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return digest;
}

std::string FormatUuid(std::array<unsigned char, 16> bytes) {
  std::string hex = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20, 12));
}

std::string RandomHex(size_t bytes) {
  std::string buffer(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(buffer.data()), static_cast<int>(bytes));
  return absl::BytesToHexString(buffer);
}

bool IsLowerHex(absl::string_view text, size_t length) {
  if (text.size() != length) {
    return false;
  }
  bool all_zero = true;
  for (char c : text) {
    if (!absl::ascii_isdigit(c) && (c < 'a' || c > 'f')) {
      return false;
    }
    all_zero = all_zero && c == '0';
  }
  return !all_zero;
}

}  // namespace

std::string TraceContext::ToTraceparent() const {
  return absl::StrCat("00-", trace_id, "-", span_id, sampled ? "-01" : "-00");
}

absl::StatusOr<TraceContext> ParseTraceparent(absl::string_view traceparent) {
  std::vector<absl::string_view> parts = absl::StrSplit(traceparent, '-');
  if (parts.size() != 4 || parts[0] != "00") {
    return absl::InvalidArgumentError("traceparent: expected 00-<trace id>-<span id>-<flags>");
  }
  if (!IsLowerHex(parts[1], 32)) {
    return absl::InvalidArgumentError("traceparent: trace id must be 32 hex digits, not all 0");
  }
  if (!IsLowerHex(parts[2], 16)) {
    return absl::InvalidArgumentError("traceparent: span id must be 16 hex digits, not all 0");
  }
  if (parts[3].size() != 2) {
    return absl::InvalidArgumentError("traceparent: flags must be 2 hex digits");
  }
  return TraceContext{std::string(parts[1]), std::string(parts[2]), parts[3] == "01"};
}

TraceContext NewTrace() { return TraceContext{RandomHex(16), RandomHex(8), true}; }

TraceContext ChildOf(const TraceContext& parent, absl::string_view step) {
  std::string span = Sha256Hex(absl::StrCat(parent.trace_id, parent.span_id, step)).substr(0, 16);
  if (span == std::string(16, '0')) {
    span[15] = '1';
  }
  return TraceContext{parent.trace_id, span, parent.sampled};
}

std::string NewEventId() {
  std::array<unsigned char, 16> bytes{};
  RAND_bytes(bytes.data(), static_cast<int>(bytes.size()));
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);
  return FormatUuid(bytes);
}

std::string DeriveEventId(absl::string_view parent_id, absl::string_view step) {
  std::array<unsigned char, 32> digest = Sha256(absl::StrCat(parent_id, "\n", step));
  std::array<unsigned char, 16> bytes{};
  std::copy_n(digest.begin(), bytes.size(), bytes.begin());
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x80);
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);
  return FormatUuid(bytes);
}

std::string Sha256Hex(absl::string_view text) {
  std::array<unsigned char, 32> digest = Sha256(text);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

std::vector<kafka::Header> ToHeaders(const CloudEvent& event) {
  return {
      {"ce_specversion", kSpecVersion},
      {"ce_id", event.id},
      {"ce_source", event.source},
      {"ce_type", event.type},
      {"ce_time", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", event.time, absl::UTCTimeZone())},
      {"content-type", kContentType},
      {"traceparent", event.traceparent},
  };
}

absl::StatusOr<CloudEvent> FromHeaders(const kafka::ConsumedRecord& record) {
  auto required = [&record](const char* name) -> absl::StatusOr<std::string> {
    std::optional<std::string_view> value = record.FindHeader(name);
    if (!value.has_value() || value->empty()) {
      return absl::InvalidArgumentError(absl::StrCat("record has no '", name, "' header"));
    }
    return std::string(*value);
  };
  absl::StatusOr<std::string> spec = required("ce_specversion");
  if (!spec.ok()) {
    return spec.status();
  }
  if (*spec != kSpecVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("ce_specversion '", *spec, "' is not supported; expected 1.0"));
  }
  absl::StatusOr<std::string> content_type = required("content-type");
  if (!content_type.ok()) {
    return content_type.status();
  }
  if (*content_type != kContentType) {
    return absl::InvalidArgumentError(
        absl::StrCat("content-type '", *content_type, "' is not ", kContentType));
  }
  CloudEvent event;
  for (auto [name, target] : {std::pair<const char*, std::string*>{"ce_id", &event.id},
                              {"ce_source", &event.source},
                              {"ce_type", &event.type},
                              {"traceparent", &event.traceparent}}) {
    absl::StatusOr<std::string> value = required(name);
    if (!value.ok()) {
      return value.status();
    }
    *target = *std::move(value);
  }
  absl::StatusOr<std::string> time = required("ce_time");
  if (!time.ok()) {
    return time.status();
  }
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, *time, &event.time, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("ce_time is not RFC 3339: ", error));
  }
  if (!ParseTraceparent(event.traceparent).ok()) {
    return absl::InvalidArgumentError("traceparent header is malformed");
  }
  return event;
}

kafka::OutgoingRecord MakeRecord(const std::string& topic, const std::string& key,
                                 const google::protobuf::MessageLite& payload,
                                 const CloudEvent& event) {
  kafka::OutgoingRecord record;
  record.topic = topic;
  record.key = key;
  payload.SerializeToString(&record.value);
  record.headers = ToHeaders(event);
  return record;
}

absl::StatusOr<CloudEvent> ParseRecord(const kafka::ConsumedRecord& record,
                                       absl::string_view expected_type,
                                       google::protobuf::MessageLite* payload) {
  absl::StatusOr<CloudEvent> event = FromHeaders(record);
  if (!event.ok()) {
    return event.status();
  }
  if (event->type != expected_type) {
    return absl::InvalidArgumentError(
        absl::StrCat("ce_type '", event->type, "' is not the expected '", expected_type, "'"));
  }
  if (!payload->ParseFromString(record.value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("value of a ", expected_type, " record does not parse as protobuf"));
  }
  return event;
}

}  // namespace hub::events
