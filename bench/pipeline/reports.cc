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
  report.set_local_authority_code("E07000008");
  hub::intake::v1::Victim& victim = *report.add_victims();
  victim.set_victim_ref("V1");
  victim.set_age_at_offence(34);
  victim.set_consent(hub::intake::v1::CONSENT_STATUS_NOT_ASKED);
  ContactRoute& route = *victim.add_contact_routes();
  route.set_channel(ContactRoute::CHANNEL_SMS);
  route.set_safe(true);
  victim.set_language("en");
  return request;
}

size_t SubmitRequestBytes(absl::string_view run_id, int64_t requests) {
  // The last index has the most digits; the time only changes a varint's value.
  return MakeSubmitRequest(run_id, requests > 0 ? requests - 1 : 0, absl::Now()).ByteSizeLong();
}

}  // namespace hub::bench
