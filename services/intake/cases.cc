#include "services/intake/cases.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/time_util.h"

#include "services/common/events/cloudevents.h"

namespace hub::intake {

std::string CaseIdFor(absl::string_view force_code, absl::string_view crime_reference,
                      absl::string_view victim_ref) {
  return absl::StrCat("c_", events::Sha256Hex(absl::StrCat("case\n", force_code, "\n",
                                                           crime_reference, "\n", victim_ref))
                                .substr(0, 24));
}

std::vector<hub::events::v1::CrimeReported> SplitIntoCases(
    const hub::intake::v1::CrimeReport& report, absl::Time received_at,
    absl::string_view submitted_by) {
  std::vector<hub::events::v1::CrimeReported> cases;
  for (const hub::intake::v1::Victim& victim : report.victims()) {
    hub::events::v1::CrimeReported event;
    event.set_case_id(
        CaseIdFor(report.force_code(), report.crime_reference(), victim.victim_ref()));
    *event.mutable_report() = report;
    event.mutable_report()->clear_victims();
    *event.mutable_report()->add_victims() = victim;
    *event.mutable_received_at() =
        google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(received_at));
    event.set_submitted_by(std::string(submitted_by));
    cases.push_back(std::move(event));
  }
  return cases;
}

std::string ContentDigest(const hub::intake::v1::CrimeReport& report) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    report.SerializeToCodedStream(&coded);
  }
  return events::Sha256Hex(bytes);
}

}  // namespace hub::intake
