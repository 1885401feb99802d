#include "bench/pipeline/reports.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace hub::bench {

using hub::intake::v1::ContactRoute;
using hub::intake::v1::SubmitCrimeReportRequest;

absl::Status ValidateRunId(absl::string_view run_id) {
  if (run_id.empty() || run_id.size() > 24) {
    return absl::InvalidArgumentError("run id must be 1-24 characters");
  }
  for (char c : run_id) {
    if (!absl::ascii_isalnum(c) && c != '-') {
      return absl::InvalidArgumentError("run id may hold only letters, digits and '-'");
    }
  }
  return absl::OkStatus();
}

SubmitCrimeReportRequest MakeSubmitRequest(absl::string_view run_id, int64_t index,
                                           absl::Time now) {
  SubmitCrimeReportRequest request;
  hub::intake::v1::CrimeReport& report = *request.mutable_report();
  report.set_force_code("CAMBS");
  report.set_source_system("loadgen");
  report.set_source_event_id(absl::StrCat("loadgen-", run_id, "-", index));
  report.set_crime_reference(absl::StrCat("LG-", run_id, "-", index));
  const absl::Time reported = now - absl::Hours(1);
  report.mutable_reported_at()->set_seconds(absl::ToUnixSeconds(reported));
  report.set_offence_class_code("49");
  report.mutable_location()->set_local_authority_code("E07000008");
  report.mutable_location()->set_postcode_district("CB1");
  hub::intake::v1::Victim& victim = *report.add_victims();
  victim.set_victim_ref("V1");
  // Synthetic personal data, sealed by intake like a real victim's: a distinct person per
  // report, so each report also creates a data key (the common case: most victims are new).
  victim.mutable_name()->set_given("Loadgen");
  victim.mutable_name()->set_family(absl::StrCat("Person-", run_id, "-", index));
  victim.mutable_date_of_birth()->set_year(1990);
  victim.mutable_date_of_birth()->set_month(1 + static_cast<int>(index % 12));
  victim.mutable_date_of_birth()->set_day(1 + static_cast<int>(index % 28));
  victim.mutable_consent()->set_status(hub::intake::v1::CONSENT_STATUS_NOT_ASKED);
  ContactRoute& route = *victim.add_contact_routes();
  route.set_channel(ContactRoute::CHANNEL_SMS);
  route.set_safety(hub::intake::v1::CHANNEL_SAFETY_SAFE);
  route.set_value(absl::StrCat("07700 900", absl::Dec(index % 1000, absl::kZeroPad3)));
  victim.set_language("en");
  return request;
}

size_t SubmitRequestBytes(absl::string_view run_id, int64_t requests) {
  // The last index has the most digits; the time only changes a varint's value.
  return MakeSubmitRequest(run_id, requests > 0 ? requests - 1 : 0, absl::Now()).ByteSizeLong();
}

}  // namespace hub::bench
