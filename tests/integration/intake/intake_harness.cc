#include "tests/integration/intake/intake_harness.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"

#include "services/common/clock/clock.h"
#include "services/common/events/topics.h"

namespace hub::intake::testing {

using hub::intake::v1::BulkSubmitCrimeReportsRequest;
using hub::intake::v1::BulkSubmitCrimeReportsResponse;

namespace {

void Prepare(grpc::ClientContext* context, const std::string& caller, absl::Duration deadline) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  context->AddMetadata(identity::kCallerMetadataKey, caller);
}

}  // namespace

IntakeHarness::IntakeHarness(const seal::MasterKey& master, std::string ns)
    : ns_(std::move(ns)), topics_(events::Topics(ns_)), pseudonyms_(master) {}

absl::StatusOr<std::unique_ptr<IntakeHarness>> IntakeHarness::Start(
    const std::string& ns, const std::string& bootstrap_servers, kafka::Producer* producer,
    redis::RedisClient* redis, const seal::MasterKey& master,
    const offences::OffenceTable* offences) {
  std::unique_ptr<IntakeHarness> harness(new IntakeHarness(master, ns));
  absl::StatusOr<std::shared_ptr<clock::Clock>> clock = clock::CreateClock("system");
  if (!clock.ok()) {
    return clock.status();
  }
  harness->keys_ = std::make_unique<seal::KeyStore>(
      master, producer, redis, *clock,
      seal::KeyStore::Options{ns, harness->topics_.data_keys, bootstrap_servers, absl::Seconds(30),
                              harness->workers_.Executor()});
  harness->intake_ = std::make_unique<Intake>(
      IntakeDeps{producer, redis, *clock, &harness->metrics_, ns, harness->topics_,
                 harness->keys_.get(), &harness->pseudonyms_, offences, &harness->workers_});
  harness->identity_ = identity::CreateDeclaredLoopbackIdentityProvider();
  harness->service_ = std::make_unique<IntakeServiceImpl>(
      harness->intake_.get(), harness->identity_.get(), &harness->metrics_);

  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &harness->port_);
  builder.RegisterService(harness->service_.get());
  harness->server_ = builder.BuildAndStart();
  if (harness->server_ == nullptr || harness->port_ == 0) {
    return absl::UnavailableError("the in-process intake server did not start");
  }
  harness->stub_ = hub::intake::v1::IntakeService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", harness->port_), grpc::InsecureChannelCredentials()));
  return harness;
}

IntakeHarness::~IntakeHarness() { Shutdown(); }

void IntakeHarness::Shutdown() {
  if (shut_down_ || server_ == nullptr) {
    return;
  }
  shut_down_ = true;
  server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  server_->Wait();
}

grpc::Status IntakeHarness::Submit(const hub::intake::v1::CrimeReport& report,
                                   hub::intake::v1::SubmitCrimeReportResponse* response,
                                   const std::string& caller, absl::Duration deadline) {
  grpc::ClientContext context;
  Prepare(&context, caller, deadline);
  hub::intake::v1::SubmitCrimeReportRequest request;
  *request.mutable_report() = report;
  return stub_->SubmitCrimeReport(&context, request, response);
}

grpc::Status IntakeHarness::Update(const hub::intake::v1::CrimeUpdate& update,
                                   hub::intake::v1::UpdateCrimeReportResponse* response,
                                   const std::string& caller, absl::Duration deadline) {
  grpc::ClientContext context;
  Prepare(&context, caller, deadline);
  hub::intake::v1::UpdateCrimeReportRequest request;
  *request.mutable_update() = update;
  return stub_->UpdateCrimeReport(&context, request, response);
}

grpc::Status IntakeHarness::SelfRefer(const hub::intake::v1::SelfReferral& referral,
                                      hub::intake::v1::SubmitSelfReferralResponse* response,
                                      const std::string& caller, absl::Duration deadline) {
  grpc::ClientContext context;
  Prepare(&context, caller, deadline);
  hub::intake::v1::SubmitSelfReferralRequest request;
  *request.mutable_referral() = referral;
  return stub_->SubmitSelfReferral(&context, request, response);
}

grpc::Status IntakeHarness::Erase(const hub::intake::v1::RequestErasureRequest& request,
                                  hub::intake::v1::RequestErasureResponse* response,
                                  const std::string& caller, absl::Duration deadline) {
  grpc::ClientContext context;
  Prepare(&context, caller, deadline);
  return stub_->RequestErasure(&context, request, response);
}

grpc::Status IntakeHarness::BulkSubmit(const std::vector<hub::intake::v1::CrimeReport>& reports,
                                       std::vector<BulkSubmitCrimeReportsResponse>* results,
                                       const std::string& caller, absl::Duration deadline) {
  grpc::ClientContext context;
  Prepare(&context, caller, deadline);
  std::unique_ptr<
      grpc::ClientReaderWriter<BulkSubmitCrimeReportsRequest, BulkSubmitCrimeReportsResponse>>
      stream = stub_->BulkSubmitCrimeReports(&context);
  for (const hub::intake::v1::CrimeReport& report : reports) {
    BulkSubmitCrimeReportsRequest request;
    *request.mutable_report() = report;
    if (!stream->Write(request)) {
      break;
    }
  }
  stream->WritesDone();
  BulkSubmitCrimeReportsResponse result;
  while (stream->Read(&result)) {
    results->push_back(result);
  }
  return stream->Finish();
}

hub::intake::v1::Victim MakeVictim(const std::string& victim_ref, const std::string& given,
                                   const std::string& family, int birth_year, int birth_month,
                                   int birth_day, const std::string& phone) {
  hub::intake::v1::Victim victim;
  victim.set_victim_ref(victim_ref);
  victim.mutable_name()->set_given(given);
  victim.mutable_name()->set_family(family);
  victim.mutable_date_of_birth()->set_year(birth_year);
  victim.mutable_date_of_birth()->set_month(birth_month);
  victim.mutable_date_of_birth()->set_day(birth_day);
  hub::intake::v1::ContactRoute& route = *victim.add_contact_routes();
  route.set_channel(hub::intake::v1::ContactRoute::CHANNEL_SMS);
  route.set_safety(hub::intake::v1::CHANNEL_SAFETY_SAFE);
  route.set_value(phone);
  hub::intake::v1::Consent& consent = *victim.mutable_consent();
  consent.set_status(hub::intake::v1::CONSENT_STATUS_GIVEN);
  *consent.mutable_recorded_at() = Ts(absl::Now() - absl::Minutes(30));
  consent.set_recorded_by("CAMBS-1234");
  consent.set_scope(hub::intake::v1::CONSENT_SCOPE_ALL_PROVIDERS);
  return victim;
}

hub::intake::v1::CrimeReport MakeReport(const std::string& source_event_id,
                                        const std::string& crime_reference,
                                        const std::vector<hub::intake::v1::Victim>& victims) {
  hub::intake::v1::CrimeReport report;
  report.set_force_code("CAMBS");
  report.set_source_system("athena");
  report.set_source_event_id(source_event_id);
  report.set_crime_reference(crime_reference);
  *report.mutable_reported_at() = Ts(absl::Now() - absl::Hours(2));
  *report.mutable_recorded_at() = Ts(absl::Now() - absl::Hours(2) + absl::Minutes(10));
  report.set_offence_class_code("28E");
  report.mutable_location()->set_local_authority_code("E07000008");
  report.mutable_location()->set_postcode_district("CB1");
  for (const hub::intake::v1::Victim& victim : victims) {
    *report.add_victims() = victim;
  }
  return report;
}

google::protobuf::Timestamp Ts(absl::Time time) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(time));
}

}  // namespace hub::intake::testing
