#include "tests/integration/triage/triage_harness.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include <grpcpp/grpcpp.h>
#include <librdkafka/rdkafkacpp.h>

#include "services/common/events/topics.h"
#include "services/common/status/status_macros.h"
#include "tests/support/topic_reader.h"

namespace hub::triage::testing {
namespace {

using hub::events::v1::CrimeReported;
using hub::events::v1::CrimeUpdated;
using hub::intake::v1::CrimeUpdate;

int Milliseconds(absl::Duration duration) {
  return static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(duration)));
}

std::mt19937_64& Random() {
  static std::mt19937_64 generator{std::random_device{}()};
  return generator;
}

std::string RandomBytes(int count) {
  std::string bytes;
  for (int i = 0; i < count; ++i) {
    bytes.push_back(static_cast<char>(Random()() & 0xff));
  }
  return bytes;
}

// The force's crime reference, the same for the report and every update of a case.
std::string CrimeReferenceOf(const std::string& case_id) {
  return absl::StrCat("CF/", case_id.substr(2, 8), "/26");
}

}  // namespace

// ---- TriageProcess

absl::StatusOr<std::unique_ptr<TriageProcess>> TriageProcess::Start(const Options& options) {
  std::unique_ptr<TriageProcess> triage(new TriageProcess());
  triage->grpc_port_ = hub::testing::FreePort();
  triage->http_port_ = hub::testing::FreePort();
  if (triage->grpc_port_ == 0 || triage->http_port_ == 0) {
    return absl::UnavailableError("no free loopback port");
  }
  std::map<std::string, std::string> env = {
      {"HUB_NAMESPACE", options.ns},
      {"HUB_KAFKA_BOOTSTRAP", options.kafka_bootstrap},
      {"HUB_REDIS_ADDR", options.redis_address},
      {"HUB_GRPC_ADDR", absl::StrCat("127.0.0.1:", triage->grpc_port_)},
      {"HUB_HTTP_ADDR", absl::StrCat("127.0.0.1:", triage->http_port_)},
      {"HUB_LOG_LEVEL", "info"}};
  absl::StatusOr<std::unique_ptr<hub::testing::ChildProcess>> process =
      hub::testing::ChildProcess::Start(absl::StrCat(options.bin_dir, "/hub-triage"), options.args,
                                        env, options.log_path);
  if (!process.ok()) {
    return process.status();
  }
  triage->process_ = *std::move(process);
  return triage;
}

absl::Status TriageProcess::WaitReady(absl::Duration timeout) {
  return hub::testing::WaitForHttp200(http_port_, "/readyz", timeout);
}

absl::StatusOr<double> TriageProcess::Metric(const std::string& series) const {
  absl::StatusOr<std::string> body = hub::testing::HttpGet(http_port_, "/metrics");
  if (!body.ok()) {
    return body.status();
  }
  const std::string prefix = absl::StrCat(series, " ");
  for (absl::string_view line : absl::StrSplit(*body, '\n')) {
    if (absl::ConsumePrefix(&line, prefix)) {
      double value = 0;
      if (!absl::SimpleAtod(line, &value)) {
        return absl::InternalError(absl::StrCat("unreadable value of ", series, ": ", line));
      }
      return value;
    }
  }
  return absl::NotFoundError(absl::StrCat("no series ", series, " in /metrics"));
}

absl::Status TriageProcess::WaitForMetric(const std::string& series, double at_least,
                                          absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<double> value = Metric(series);
  while (!value.ok() || *value < at_least) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(series, " did not reach ", at_least, " in time; last: ",
                       value.ok() ? absl::StrCat(*value) : std::string(value.status().message())));
    }
    absl::SleepFor(absl::Milliseconds(50));
    value = Metric(series);
  }
  return absl::OkStatus();
}

absl::StatusOr<int> TriageProcess::Stop(absl::Duration timeout) {
  process_->Signal(SIGTERM);
  return process_->Wait(timeout);
}

std::string TriageProcess::Log() const {
  absl::StatusOr<std::string> text = ReadFile(process_->log_path());
  return text.ok() ? *text : std::string();
}

std::unique_ptr<hub::triage::v1::TriageService::Stub> TriageProcess::NewStub() const {
  return hub::triage::v1::TriageService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", grpc_port_), grpc::InsecureChannelCredentials()));
}

// ---- TopicFollower

absl::StatusOr<std::unique_ptr<TopicFollower>> TopicFollower::Create(const std::string& bootstrap,
                                                                     const std::string& topic,
                                                                     int partitions) {
  std::unique_ptr<TopicFollower> follower(new TopicFollower(topic, partitions));
  std::string error;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  for (const auto& [name, value] : std::map<std::string, std::string>{
           {"bootstrap.servers", bootstrap},
           // KafkaConsumer insists on a group id; the follower only assigns, never commits.
           {"group.id", absl::StrCat(topic, ".follower.", absl::ToUnixNanos(absl::Now()))},
           {"client.id", "hub-triage-itest-follower"},
           {"enable.auto.commit", "false"},
           {"enable.auto.offset.store", "false"},
           // A broker answers one connection's requests in order: a fetch waiting for data
           // (500 ms by default) would hold up every end-offset query behind it.
           {"fetch.wait.max.ms", "10"}}) {
    if (conf->set(name, value, error) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat("follower config ", name, ": ", error));
    }
  }
  follower->consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (follower->consumer_ == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("follower not created: ", error));
  }
  std::vector<RdKafka::TopicPartition*> assignment;
  assignment.reserve(static_cast<size_t>(partitions));
  for (int partition = 0; partition < partitions; ++partition) {
    assignment.push_back(
        RdKafka::TopicPartition::create(topic, partition, RdKafka::Topic::OFFSET_BEGINNING));
  }
  const RdKafka::ErrorCode assigned = follower->consumer_->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  if (assigned != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(
        absl::StrCat("assign of ", topic, ": ", RdKafka::err2str(assigned)));
  }
  return follower;
}

TopicFollower::TopicFollower(std::string topic, int partitions)
    : topic_(std::move(topic)), positions_(static_cast<size_t>(partitions), 0) {}

TopicFollower::~TopicFollower() {
  if (consumer_ != nullptr) {
    consumer_->close();
  }
}

void TopicFollower::ReadOnce(absl::Duration wait) {
  std::unique_ptr<RdKafka::Message> message(consumer_->consume(Milliseconds(wait)));
  if (message->err() != RdKafka::ERR_NO_ERROR) {
    return;
  }
  const auto partition = static_cast<size_t>(message->partition());
  if (partition < positions_.size()) {
    positions_[partition] = message->offset() + 1;
  }
  records_.push_back(hub::testing::ToConsumedRecord(*message));
}

bool TopicFollower::ReadUntil(
    const std::function<bool(const std::vector<kafka::ConsumedRecord>&)>& done,
    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done(records_)) {
    if (absl::Now() >= deadline) {
      return false;
    }
    ReadOnce(absl::Milliseconds(100));
  }
  return true;
}

absl::Status TopicFollower::CatchUp(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<int64_t> ends(positions_.size(), 0);
  for (size_t partition = 0; partition < positions_.size(); ++partition) {
    HUB_ASSIGN_OR_RETURN(const hub::testing::Watermarks marks,
                         hub::testing::QueryWatermarks(*consumer_, topic_,
                                                       static_cast<int32_t>(partition), deadline));
    // A partition read from its beginning starts at `low`.
    ends[partition] = marks.high > marks.low ? marks.high : 0;
  }
  auto behind = [&] {
    for (size_t partition = 0; partition < positions_.size(); ++partition) {
      if (positions_[partition] < ends[partition]) {
        return true;
      }
    }
    return false;
  };
  while (behind()) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("could not read all of ", topic_));
    }
    ReadOnce(absl::Milliseconds(100));
  }
  return absl::OkStatus();
}

std::vector<hub::events::v1::NeedsAssessed> AssessmentsOf(
    const std::vector<kafka::ConsumedRecord>& records, const std::string& case_id) {
  std::vector<hub::events::v1::NeedsAssessed> assessments;
  for (const kafka::ConsumedRecord& record : records) {
    hub::events::v1::NeedsAssessed assessment;
    if (record.key == case_id &&
        events::ParseRecord(record, events::kNeedsAssessedType, &assessment).ok()) {
      assessments.push_back(std::move(assessment));
    }
  }
  return assessments;
}

// ---- Events

std::string RandomHex(int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (int i = 0; i < digits; ++i) {
    hex.push_back(kHex[Random()() % 16]);
  }
  return hex;
}

std::string NewCaseId() { return absl::StrCat("c_", RandomHex(24)); }

std::string NewPseudonymousId() { return absl::StrCat("pv_", RandomHex(32)); }

std::string KeyIdFor(const std::string& pseudonymous_id) {
  return absl::StrCat("vk_", pseudonymous_id.substr(3));
}

google::protobuf::Timestamp Ts(absl::Time time) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(time));
}

absl::Time Utc(int year, int month, int day, int hour, int minute) {
  return absl::FromCivil(absl::CivilMinute(year, month, day, hour, minute), absl::UTCTimeZone());
}

events::CloudEvent IntakeEvent(const char* type) {
  events::CloudEvent event;
  event.id = events::NewEventId();
  event.source = "/hub/intake";
  event.type = type;
  event.time = absl::Now();
  event.traceparent = events::NewTrace().ToTraceparent();
  return event;
}

CrimeReported MakeCrimeReported(const std::string& case_id, const std::string& pseudonymous_id,
                                absl::Time reported_at) {
  CrimeReported crime;
  crime.set_case_id(case_id);
  hub::intake::v1::CrimeReport& report = *crime.mutable_report();
  report.set_force_code("CAMBS");
  report.set_source_system("athena");
  report.set_source_event_id(absl::StrCat("athena-", RandomHex(16)));
  report.set_crime_reference(CrimeReferenceOf(case_id));
  *report.mutable_reported_at() = Ts(reported_at);
  *report.mutable_recorded_at() = Ts(reported_at + absl::Minutes(20));
  report.set_offence_class_code("28E");
  report.mutable_location()->set_local_authority_code("E07000008");
  report.mutable_location()->set_postcode_district("CB1");
  // Only this case's victim, its personal fields emptied into `personal_data`.
  hub::intake::v1::Victim& victim = *report.add_victims();
  victim.set_victim_ref("V1");
  victim.set_victim_type(hub::intake::v1::VICTIM_TYPE_INDIVIDUAL);
  victim.set_relationship_to_suspect(hub::intake::v1::RELATIONSHIP_TO_SUSPECT_STRANGER);
  victim.set_language("en");
  hub::intake::v1::ContactRoute& route = *victim.add_contact_routes();
  route.set_channel(hub::intake::v1::ContactRoute::CHANNEL_SMS);
  route.set_safety(hub::intake::v1::CHANNEL_SAFETY_SAFE);
  victim.mutable_consent()->set_status(hub::intake::v1::CONSENT_STATUS_NOT_ASKED);
  *crime.mutable_received_at() = Ts(reported_at + absl::Minutes(21));
  crime.set_submitted_by("police:CAMBS:athena");
  hub::seal::v1::SealedData& sealed = *crime.mutable_personal_data();
  sealed.set_key_id(KeyIdFor(pseudonymous_id));
  sealed.set_key_generation(RandomHex(16));
  sealed.set_nonce(RandomBytes(12));
  sealed.set_ciphertext(RandomBytes(96));
  crime.set_pseudonymous_victim_id(pseudonymous_id);
  crime.set_origin(hub::events::v1::ORIGIN_POLICE_REPORT);
  return crime;
}

CrimeUpdated MakeCrimeUpdated(const std::string& case_id, const CrimeUpdate& update,
                              absl::Time updated_at) {
  CrimeUpdated event;
  event.set_case_id(case_id);
  CrimeUpdate& copy = *event.mutable_update();
  copy = update;
  copy.set_force_code("CAMBS");
  copy.set_source_system("athena");
  copy.set_source_event_id(absl::StrCat("athena-", RandomHex(16)));
  copy.set_crime_reference(CrimeReferenceOf(case_id));
  *copy.mutable_updated_at() = Ts(updated_at);
  *event.mutable_received_at() = Ts(updated_at + absl::Minutes(1));
  event.set_submitted_by("police:CAMBS:athena");
  return event;
}

CrimeUpdated MakeConsentUpdate(const std::string& case_id, hub::intake::v1::ConsentStatus status,
                               absl::Time recorded_at) {
  CrimeUpdate update;
  hub::intake::v1::ConsentChange& change = *update.mutable_consent();
  change.set_victim_ref("V1");
  hub::intake::v1::Consent& consent = *change.mutable_consent();
  consent.set_status(status);
  *consent.mutable_recorded_at() = Ts(recorded_at);
  consent.set_recorded_by("CAMBS-1234");
  consent.set_scope(status == hub::intake::v1::CONSENT_STATUS_GIVEN
                        ? hub::intake::v1::CONSENT_SCOPE_ALL_PROVIDERS
                        : hub::intake::v1::CONSENT_SCOPE_UNSPECIFIED);
  return MakeCrimeUpdated(case_id, update, recorded_at);
}

CrimeUpdated MakeMilestoneUpdate(const std::string& case_id, hub::intake::v1::MilestoneType type,
                                 absl::Time decided_at) {
  CrimeUpdate update;
  hub::intake::v1::Milestone& milestone = *update.mutable_milestone();
  milestone.set_type(type);
  *milestone.mutable_decided_at() = Ts(decided_at);
  return MakeCrimeUpdated(case_id, update, decided_at + absl::Minutes(30));
}

hub::events::v1::VictimErased MakeVictimErased(const std::string& pseudonymous_id,
                                               const std::vector<std::string>& case_ids) {
  hub::events::v1::VictimErased erased;
  erased.set_key_id(KeyIdFor(pseudonymous_id));
  erased.set_pseudonymous_victim_id(pseudonymous_id);
  for (const std::string& case_id : case_ids) {
    erased.add_case_ids(case_id);
  }
  *erased.mutable_erased_at() = Ts(absl::Now());
  erased.set_request_reference(absl::StrCat("DPR-", RandomHex(6)));
  return erased;
}

// ---- Files

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status ReplaceFile(const std::string& path, const std::string& text) {
  const std::string temporary = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      return absl::InternalError(absl::StrCat("cannot write ", temporary));
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", temporary, " to ", path));
  }
  return absl::OkStatus();
}

absl::Status CopyFile(const std::string& from, const std::string& to) {
  absl::StatusOr<std::string> text = ReadFile(from);
  if (!text.ok()) {
    return text.status();
  }
  return ReplaceFile(to, *text);
}

}  // namespace hub::triage::testing
