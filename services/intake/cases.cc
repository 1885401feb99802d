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
    event.set_origin(hub::events::v1::ORIGIN_POLICE_REPORT);
    cases.push_back(std::move(event));
  }
  return cases;
}

std::string ContentDigest(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return events::Sha256Hex(bytes);
}

std::string SelfReferralCaseId(absl::string_view principal, absl::string_view referral_id) {
  return absl::StrCat(
      "s_", events::Sha256Hex(absl::StrCat("self\n", principal, "\n", referral_id)).substr(0, 24));
}

hub::events::v1::CrimeReported SelfReferralToCase(const hub::intake::v1::SelfReferral& referral,
                                                  absl::Time received_at,
                                                  absl::string_view submitted_by) {
  hub::events::v1::CrimeReported event;
  const std::string case_id = SelfReferralCaseId(submitted_by, referral.referral_id());
  event.set_case_id(case_id);
  event.set_origin(hub::events::v1::ORIGIN_SELF_REFERRAL);
  event.set_self_referral_category(referral.category());
  const google::protobuf::Timestamp received =
      google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(received_at));
  hub::intake::v1::CrimeReport& report = *event.mutable_report();
  report.set_force_code(referral.reported_to_police() ? referral.force_code() : "");
  report.set_source_system("self-referral");
  report.set_source_event_id(referral.referral_id());
  report.set_crime_reference(referral.reported_to_police() && !referral.crime_reference().empty()
                                 ? referral.crime_reference()
                                 : case_id);
  *report.mutable_reported_at() = received;
  *report.mutable_recorded_at() = received;
  *report.mutable_flags() = referral.flags();
  *report.mutable_location() = referral.location();
  hub::intake::v1::Victim& victim = *report.add_victims();
  victim = referral.victim();
  if (victim.victim_ref().empty()) {
    victim.set_victim_ref("self");
  }
  if (!victim.has_consent()) {
    hub::intake::v1::Consent& consent = *victim.mutable_consent();
    consent.set_status(hub::intake::v1::CONSENT_STATUS_GIVEN);
    *consent.mutable_recorded_at() = received;
    consent.set_recorded_by("victim");
    consent.set_scope(hub::intake::v1::CONSENT_SCOPE_ALL_PROVIDERS);
  }
  *event.mutable_received_at() = received;
  event.set_submitted_by(std::string(submitted_by));
  return event;
}

}  // namespace hub::intake
