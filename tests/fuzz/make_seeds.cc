// Writes the seed corpus of intake_request_fuzz (tests/fuzz/corpus/): every sample in
// deploy/samples in the binary encoding intake receives (and the crime reports also as
// JSON), plus edge cases the samples do not reach. Run by hand when the samples or the
// proto change, and commit the result:
//   <fuzz build>/tests/fuzz/intake_fuzz_seeds deploy/samples tests/fuzz/corpus
// Existing files of the same name are overwritten; nothing else is deleted.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"

#include "hub/intake/v1/intake.pb.h"
#include "tests/fuzz/intake_fuzz_input.h"

namespace hub::fuzz {
namespace {

namespace fs = std::filesystem;
using hub::intake::v1::ContactRoute;
using hub::intake::v1::CrimeReport;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

bool WriteSeed(const fs::path& dir, const std::string& name, IntakeInput kind,
               const std::string& payload) {
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.put(static_cast<char>(kind));
  out << payload;
  return out.good();
}

std::vector<fs::path> JsonFiles(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::is_directory(dir)) {
    return files;
  }
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

bool ParseJson(const fs::path& path, google::protobuf::Message* message) {
  auto status = google::protobuf::util::JsonStringToMessage(ReadFile(path), message);
  if (!status.ok()) {
    std::cerr << path.string() << ": " << status.ToString() << "\n";
  }
  return status.ok();
}

// Reports that probe limits and unknown values the samples never use.
std::vector<std::pair<std::string, CrimeReport>> EdgeReports(const CrimeReport& base) {
  std::vector<std::pair<std::string, CrimeReport>> edges;
  CrimeReport report = base;
  auto* victim = report.mutable_victims(0);
  victim->set_victim_type(static_cast<hub::intake::v1::VictimType>(99));
  victim->mutable_contact_routes(0)->set_channel(static_cast<ContactRoute::Channel>(77));
  victim->mutable_contact_routes(0)->set_safety(static_cast<hub::intake::v1::ChannelSafety>(-5));
  victim->mutable_communication_needs()->Add(1000);
  report.mutable_flags()->mutable_hate_crime_strands()->Add(-1);
  edges.emplace_back("edge-unknown-enums", report);

  report = base;
  report.mutable_reported_at()->set_seconds(std::numeric_limits<int64_t>::min());
  report.mutable_recorded_at()->set_seconds(std::numeric_limits<int64_t>::max());
  report.mutable_recorded_at()->set_nanos(-1);
  victim = report.mutable_victims(0);
  victim->set_age_at_offence(std::numeric_limits<uint32_t>::max());
  victim->mutable_date_of_birth()->set_year(std::numeric_limits<int32_t>::min());
  victim->mutable_date_of_birth()->set_month(std::numeric_limits<int32_t>::max());
  victim->mutable_date_of_birth()->set_day(-1);
  victim->mutable_contact_routes(0)->add_safe_times()->set_start_minute(
      std::numeric_limits<int32_t>::min());
  edges.emplace_back("edge-extreme-numbers", report);

  report = base;
  for (int i = 0; i < 101; ++i) {
    *report.add_victims() = base.victims(0);
  }
  edges.emplace_back("edge-101-victims", report);

  report = base;
  victim = report.mutable_victims(0);
  victim->clear_age_at_offence();
  victim->mutable_date_of_birth()->set_year(2008);
  victim->mutable_date_of_birth()->set_month(2);
  victim->mutable_date_of_birth()->set_day(29);
  victim->mutable_name()->set_given(std::string("\xc3\x28\xed\xa0\x80\xf4\x90\x80\x80", 9));
  victim->set_language("zh-Hant-TW-x-private1");
  edges.emplace_back("edge-leap-day-bad-utf8", report);
  return edges;
}

int Run(const fs::path& samples, const fs::path& corpus) {
  fs::create_directories(corpus);
  int written = 0;
  bool ok = true;
  CrimeReport first;
  for (const fs::path& path : JsonFiles(samples)) {
    hub::intake::v1::SubmitCrimeReportRequest request;
    if (!ParseJson(path, request.mutable_report())) {
      ok = false;
      continue;
    }
    if (first.victims().empty()) {
      first = request.report();
    }
    const std::string stem = path.stem().string();
    ok = WriteSeed(corpus, "report-" + stem, IntakeInput::kCrimeReport,
                   request.SerializeAsString()) &&
         ok;
    ok = WriteSeed(corpus, "json-" + stem, IntakeInput::kCrimeReportJson, ReadFile(path)) && ok;
    written += 2;
  }
  for (const fs::path& path : JsonFiles(samples / "updates")) {
    hub::intake::v1::UpdateCrimeReportRequest request;
    if (!ParseJson(path, request.mutable_update())) {
      ok = false;
      continue;
    }
    ok = WriteSeed(corpus, "update-" + path.stem().string(), IntakeInput::kCrimeUpdate,
                   request.SerializeAsString()) &&
         ok;
    ++written;
  }
  for (const fs::path& path : JsonFiles(samples / "self-referrals")) {
    hub::intake::v1::SubmitSelfReferralRequest request;
    if (!ParseJson(path, request.mutable_referral())) {
      ok = false;
      continue;
    }
    ok = WriteSeed(corpus, "referral-" + path.stem().string(), IntakeInput::kSelfReferral,
                   request.SerializeAsString()) &&
         ok;
    ++written;
  }
  if (first.victims().empty()) {
    std::cerr << "no crime report samples in " << samples.string() << "\n";
    return 1;
  }
  for (const auto& [name, report] : EdgeReports(first)) {
    hub::intake::v1::SubmitCrimeReportRequest request;
    *request.mutable_report() = report;
    ok = WriteSeed(corpus, "report-" + name, IntakeInput::kCrimeReport,
                   request.SerializeAsString()) &&
         ok;
    ++written;
  }
  ok = WriteSeed(corpus, "report-edge-empty", IntakeInput::kCrimeReport, "") && ok;
  ok = WriteSeed(corpus, "update-edge-empty", IntakeInput::kCrimeUpdate, "") && ok;
  ok = WriteSeed(corpus, "referral-edge-empty", IntakeInput::kSelfReferral, "") && ok;
  ok = WriteSeed(corpus, "json-edge-empty-object", IntakeInput::kCrimeReportJson, "{}") && ok;
  ok = WriteSeed(corpus, "json-edge-wrong-types", IntakeInput::kCrimeReportJson,
                 R"({"victims": [{"ageAtOffence": -1, "dateOfBirth": {"year": 1e99}}],)"
                 R"( "reportedAt": "2026-02-30T25:61:00Z", "flags": {"hateCrime": "yes"}})") &&
       ok;
  written += 5;
  std::cout << "wrote " << written << " seeds to " << corpus.string() << "\n";
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace hub::fuzz

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " <deploy/samples> <tests/fuzz/corpus>\n";
    return 2;
  }
  return hub::fuzz::Run(argv[1], argv[2]);
}
