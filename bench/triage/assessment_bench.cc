// How many Initial Victim Needs Assessments one core makes per second (docs/benchmarks.md,
// "Triage assessment"). Assess() is pure, so this measures the engine alone: no Kafka, no
// Redis, no clock. BM_Baseline copies the same case into an empty NeedsAssessed, which every
// assessment must do, so results read as a ratio to it; items_per_second is assessments per
// second. Run with bench/triage/run (pinned to one core, 5 repetitions).
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/util/time_util.h"

#include "hub/events/v1/events.pb.h"
#include "services/common/workdays/working_calendar.h"
#include "services/triage/assessment.h"
#include "services/triage/rules.h"

namespace hub::triage {
namespace {

namespace ev = ::hub::events::v1;
namespace in = ::hub::intake::v1;

const RuleBook& Book() {
  static const auto* book = [] {
    absl::StatusOr<std::shared_ptr<const RuleBook>> loaded = RuleBook::Load(DefaultRulePaths());
    if (!loaded.ok()) {
      std::cerr << "cannot load the rule book: " << loaded.status() << "\n";
      std::abort();
    }
    return new std::shared_ptr<const RuleBook>(*std::move(loaded));
  }();
  return **book;
}

absl::Time London(int y, int m, int d, int hh, int mm) {
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), workdays::LondonTimeZone());
}

google::protobuf::Timestamp Ts(absl::Time time) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(time));
}

void AddRoute(in::Victim& victim, in::ContactRoute::Channel channel, in::ChannelSafety safety) {
  in::ContactRoute& route = *victim.add_contact_routes();
  route.set_channel(channel);
  route.set_safety(safety);
  in::SafeTime& window = *route.add_safe_times();
  window.set_day(in::MONDAY);
  window.set_start_minute(9 * 60);
  window.set_end_minute(17 * 60);
}

// A case as intake publishes it: one victim, personal data sealed (the victim's name, date of
// birth and contact values are empty in the report), a safe SMS route and an email route,
// consent recorded by the officer.
ev::CrimeReported StandardCase() {
  const absl::Time reported = London(2026, 11, 23, 10, 0);
  ev::CrimeReported crime;
  crime.set_case_id("c_5f1d0a3e9b7c42d18e6a0b4c");
  crime.set_pseudonymous_victim_id("pv_0123456789abcdef0123456789abcdef");
  crime.set_origin(ev::ORIGIN_POLICE_REPORT);
  crime.set_submitted_by("police:CAMBS:athena");
  *crime.mutable_received_at() = Ts(reported + absl::Minutes(25));
  hub::seal::v1::SealedData& sealed = *crime.mutable_personal_data();
  sealed.set_key_id("vk_0123456789abcdef0123456789abcdef");
  sealed.set_key_generation("00000000000000a1");
  sealed.set_nonce(std::string(12, '\x5a'));
  sealed.set_ciphertext(std::string(240, '\x3c'));
  in::CrimeReport& report = *crime.mutable_report();
  report.set_force_code("CAMBS");
  report.set_source_system("athena");
  report.set_source_event_id("athena-2026-11-23-000123");
  report.set_crime_reference("CAMBS/26/0012345");
  report.set_offence_class_code("49");
  report.set_cjs_offence_code("TH68020");
  *report.mutable_reported_at() = Ts(reported);
  *report.mutable_recorded_at() = Ts(reported + absl::Minutes(20));
  report.mutable_location()->set_local_authority_code("E07000008");
  report.mutable_location()->set_postcode_district("CB1");
  in::Victim& victim = *report.add_victims();
  victim.set_victim_ref("V1");
  victim.set_victim_type(in::VICTIM_TYPE_INDIVIDUAL);
  victim.set_age_at_offence(34);
  victim.set_language("en");
  victim.set_relationship_to_suspect(in::RELATIONSHIP_TO_SUSPECT_STRANGER);
  AddRoute(victim, in::ContactRoute::CHANNEL_SMS, in::CHANNEL_SAFETY_SAFE);
  AddRoute(victim, in::ContactRoute::CHANNEL_EMAIL, in::CHANNEL_SAFETY_SAFE);
  in::Consent& consent = *victim.mutable_consent();
  consent.set_status(in::CONSENT_STATUS_GIVEN);
  *consent.mutable_recorded_at() = Ts(reported);
  consent.set_recorded_by("CAMBS1234");
  consent.set_scope(in::CONSENT_SCOPE_ALL_PROVIDERS);
  return crime;
}

AssessmentInput StandardInput() {
  AssessmentInput input;
  input.crime = StandardCase();
  input.now = London(2026, 11, 23, 10, 30);
  input.trigger_event_id = "3f2c1a90-6a7e-4c55-9a0e-0d3b2b1f8c11";
  return input;
}

// High-risk domestic abuse: flagged, DASH 16, consent not yet asked, the suspect lives at
// the victim's address (the letter route is unsafe), an arrest and bail so far.
AssessmentInput DomesticAbuseInput() {
  AssessmentInput input = StandardInput();
  in::CrimeReport& report = *input.crime.mutable_report();
  report.set_offence_class_code("8N");
  report.set_cjs_offence_code("OF61102");
  report.mutable_flags()->set_domestic_abuse(true);
  in::Victim& victim = *report.mutable_victims(0);
  victim.set_relationship_to_suspect(in::RELATIONSHIP_TO_SUSPECT_PARTNER);
  victim.set_dash_score(16);
  victim.set_suspect_shares_address(true);
  AddRoute(victim, in::ContactRoute::CHANNEL_LETTER, in::CHANNEL_SAFETY_UNSAFE);
  victim.mutable_consent()->Clear();
  victim.mutable_consent()->set_status(in::CONSENT_STATUS_NOT_ASKED);
  const in::MilestoneType types[] = {in::MILESTONE_TYPE_ARREST, in::MILESTONE_TYPE_BAIL};
  for (int i = 0; i < 2; ++i) {
    MilestoneRecord record;
    record.milestone.set_type(types[i]);
    *record.milestone.mutable_decided_at() = Ts(London(2026, 11, 23, 14 + 3 * i, 0));
    record.event_id = absl::StrCat("9b7e3c1d-0000-4000-8000-00000000000", i);
    input.milestones.push_back(std::move(record));
  }
  return input;
}

// The standard case of a victim with 10 earlier reports in the last year.
AssessmentInput HistoryInput() {
  AssessmentInput input = StandardInput();
  const char* categories[] = {"theft", "criminal_damage", "domestic_abuse", "theft",
                              "violence_without_injury"};
  for (int i = 0; i < 10; ++i) {
    input.history.push_back(PriorReport{absl::StrCat("c_prior_", i),
                                        London(2026, 11, 23, 10, 0) - absl::Hours(24 * 30 * i + 24),
                                        categories[i % 5]});
  }
  return input;
}

// Google Benchmark's conventions: BM_ names, and a loop variable that is never read.
// NOLINTBEGIN(readability-identifier-naming, clang-analyzer-deadcode.DeadStores)
// As the triage service assesses: each assessment on a protobuf Arena of its own.
void RunAssess(benchmark::State& state, const AssessmentInput& input) {
  const RuleBook& book = Book();
  for (auto _ : state) {
    google::protobuf::Arena arena;
    auto* assessment = google::protobuf::Arena::CreateMessage<ev::NeedsAssessed>(&arena);
    Assess(book, input, assessment);
    benchmark::DoNotOptimize(assessment);
  }
  state.SetItemsProcessed(state.iterations());
}

// The same with the result on the heap (Assess returning a message): what the arena saves.
void RunAssessOnHeap(benchmark::State& state, const AssessmentInput& input) {
  const RuleBook& book = Book();
  for (auto _ : state) {
    ev::NeedsAssessed assessment = Assess(book, input);
    benchmark::DoNotOptimize(assessment);
  }
  state.SetItemsProcessed(state.iterations());
}

// What every assessment must do whatever the rules say: put the case into the result (on
// an arena, as the assessments below).
void BM_Baseline(benchmark::State& state) {
  const AssessmentInput input = StandardInput();
  for (auto _ : state) {
    google::protobuf::Arena arena;
    auto* assessment = google::protobuf::Arena::CreateMessage<ev::NeedsAssessed>(&arena);
    *assessment->mutable_crime() = input.crime;
    benchmark::DoNotOptimize(assessment);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Baseline);

void BM_AssessStandard(benchmark::State& state) { RunAssess(state, StandardInput()); }
BENCHMARK(BM_AssessStandard);

void BM_AssessDomesticAbuseHighRisk(benchmark::State& state) {
  RunAssess(state, DomesticAbuseInput());
}
BENCHMARK(BM_AssessDomesticAbuseHighRisk);

void BM_AssessWithHistory(benchmark::State& state) { RunAssess(state, HistoryInput()); }
BENCHMARK(BM_AssessWithHistory);

// ---- Variants and pieces, to see where an assessment's time goes ---------------------------
// Not part of the target; bench/triage/run lists them separately.

void BM_Variant_DomesticAbuseOnHeap(benchmark::State& state) {
  RunAssessOnHeap(state, DomesticAbuseInput());
}
BENCHMARK(BM_Variant_DomesticAbuseOnHeap);

// The high-risk case without its two milestones: the difference is what two Right 6
// deadlines cost (working-day count, two formatted times each, one explanation each).
void BM_Variant_DomesticAbuseNoMilestones(benchmark::State& state) {
  AssessmentInput input = DomesticAbuseInput();
  input.milestones.clear();
  RunAssess(state, input);
}
BENCHMARK(BM_Variant_DomesticAbuseNoMilestones);

// The high-risk case's crime copied into a result: the baseline for that case.
void BM_Variant_BaselineDomesticAbuse(benchmark::State& state) {
  const AssessmentInput input = DomesticAbuseInput();
  for (auto _ : state) {
    ev::NeedsAssessed assessment;
    *assessment.mutable_crime() = input.crime;
    benchmark::DoNotOptimize(assessment);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Variant_BaselineDomesticAbuse);

// The same copy into a message on a protobuf Arena: what allocation costs in the copy.
void BM_Variant_BaselineOnArena(benchmark::State& state) {
  const AssessmentInput input = DomesticAbuseInput();
  for (auto _ : state) {
    google::protobuf::Arena arena;
    auto* assessment = google::protobuf::Arena::CreateMessage<ev::NeedsAssessed>(&arena);
    *assessment->mutable_crime() = input.crime;
    benchmark::DoNotOptimize(assessment);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Variant_BaselineOnArena);

// Building and destroying the 12 explanations the high-risk case produces (rule names and
// reasons of the sizes it writes), without deciding anything: the floor for explaining.
void BM_Piece_TwelveExplanations(benchmark::State& state) {
  const ev::NeedsAssessed real = Assess(Book(), DomesticAbuseInput());
  for (auto _ : state) {
    ev::NeedsAssessed assessment;
    for (const ev::Explanation& explanation : real.explanations()) {
      ev::Explanation* copy = assessment.add_explanations();
      copy->set_rule(explanation.rule());
      copy->set_reason(explanation.reason());
    }
    benchmark::DoNotOptimize(assessment);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Piece_TwelveExplanations);

// One reason rendered from its template (deadline.case_update: five placeholders).
void BM_Piece_RenderReason(benchmark::State& state) {
  const ReasonTemplate& reason = Book().rules.rule(RuleId::kDeadlineCaseUpdate).reason;
  for (auto _ : state) {
    std::string text = reason.Render({{"milestone", "Arrest"},
                                      {"decided_at", "Monday 23 November 2026, 14:00"},
                                      {"working_days", "1"},
                                      {"service", "enhanced"},
                                      {"due", "Tuesday 24 November 2026, 23:59"}});
    benchmark::DoNotOptimize(text);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Piece_RenderReason);

// Looking up Europe/London (each assessment does once).
void BM_Piece_LondonTimeZone(benchmark::State& state) {
  for (auto _ : state) {
    absl::TimeZone zone = workdays::LondonTimeZone();
    benchmark::DoNotOptimize(zone);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Piece_LondonTimeZone);

// One working-day deadline (2 working days from a Monday), as every deadline costs.
void BM_Piece_WorkingDeadline(benchmark::State& state) {
  const absl::TimeZone london = workdays::LondonTimeZone();
  const absl::Time from = London(2026, 11, 23, 10, 0);
  for (auto _ : state) {
    absl::StatusOr<absl::Time> due = Book().calendar.DeadlineAfter(from, 2, london);
    benchmark::DoNotOptimize(due);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Piece_WorkingDeadline);

// Breaking a time into London civil time, as each formatted time in a reason does.
void BM_Piece_ToLondonCivilTime(benchmark::State& state) {
  const absl::TimeZone london = workdays::LondonTimeZone();
  const absl::Time when = London(2026, 11, 25, 23, 59);
  for (auto _ : state) {
    absl::CivilSecond civil = absl::ToCivilSecond(when, london);
    benchmark::DoNotOptimize(civil);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Piece_ToLondonCivilTime);

// NOLINTEND(readability-identifier-naming, clang-analyzer-deadcode.DeadStores)

}  // namespace
}  // namespace hub::triage

BENCHMARK_MAIN();
