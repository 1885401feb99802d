#include "services/notification/contact_policy.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace hub::notification {
namespace {

using ::hub::events::v1::NeedsAssessed;
using ::hub::intake::v1::ChannelSafety;
using ::hub::intake::v1::ContactRoute;
using ::hub::intake::v1::SafeTime;
using ::hub::intake::v1::Victim;
using SafeTimes = google::protobuf::RepeatedPtrField<SafeTime>;

constexpr ChannelSafety kSafe = hub::intake::v1::CHANNEL_SAFETY_SAFE;
constexpr ChannelSafety kUnspecified = hub::intake::v1::CHANNEL_SAFETY_UNSPECIFIED;
constexpr ChannelSafety kUnsafe = hub::intake::v1::CHANNEL_SAFETY_UNSAFE;

// Personal data planted in every route: no decision or reason may ever contain any of it.
constexpr absl::string_view kMarkers[] = {"MARKER", "7700 900", "ZZ99", "example.invalid"};

// The tests need tzdata (SafeTimesTest.TzdataIsInstalled says so when it is missing).
absl::TimeZone London() {
  absl::TimeZone london;
  if (!absl::LoadTimeZone("Europe/London", &london)) {
    return absl::UTCTimeZone();
  }
  return london;
}

// A UK wall-clock time.
absl::Time Uk(int year, int month, int day, int hour, int minute) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, 0), London());
}

absl::Time Utc(int year, int month, int day, int hour, int minute) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, 0), absl::UTCTimeZone());
}

SafeTime Window(hub::intake::v1::DayOfWeek day, int start_hour, int start_minute, int end_hour,
                int end_minute) {
  SafeTime window;
  window.set_day(day);
  window.set_start_minute(start_hour * 60 + start_minute);
  window.set_end_minute(end_hour * 60 + end_minute);
  return window;
}

SafeTimes Windows(std::initializer_list<SafeTime> list) {
  SafeTimes windows;
  for (const SafeTime& window : list) {
    *windows.Add() = window;
  }
  return windows;
}

// A route with marker personal data in it.
ContactRoute Route(ContactRoute::Channel channel, ChannelSafety safety, bool voicemail_ok = false) {
  ContactRoute route;
  route.set_channel(channel);
  route.set_safety(safety);
  route.set_voicemail_ok(voicemail_ok);
  switch (channel) {
    case ContactRoute::CHANNEL_EMAIL:
      route.set_value("MARKER.person@example.invalid");
      break;
    case ContactRoute::CHANNEL_LETTER:
      route.mutable_address()->add_lines("1 MARKER Street");
      route.mutable_address()->set_town("MARKERTOWN");
      route.mutable_address()->set_postcode("ZZ99 9ZZ");
      break;
    default:
      route.set_value("+44 7700 900123");
      break;
  }
  return route;
}

ContactRoute Email(ChannelSafety safety) { return Route(ContactRoute::CHANNEL_EMAIL, safety); }
ContactRoute Sms(ChannelSafety safety) { return Route(ContactRoute::CHANNEL_SMS, safety); }
ContactRoute Letter(ChannelSafety safety) { return Route(ContactRoute::CHANNEL_LETTER, safety); }
ContactRoute Phone(ChannelSafety safety, bool voicemail_ok) {
  return Route(ContactRoute::CHANNEL_PHONE, safety, voicemail_ok);
}

// A situation for a message with every written medium, at `now`.
ContactSituation Situation(std::vector<ContactRoute> routes, bool sensitive_crime,
                           bool suspect_shares_address, absl::Time now) {
  ContactSituation situation;
  situation.routes = std::move(routes);
  situation.sensitive_crime = sensitive_crime;
  situation.suspect_shares_address = suspect_shares_address;
  situation.written_media = {Medium::kEmail, Medium::kSms, Medium::kLetter};
  situation.now = now;
  return situation;
}

// "sms@1" per choice: compact to compare whole plans.
std::vector<std::string> Summary(const ContactPlan& plan) {
  std::vector<std::string> summary;
  summary.reserve(plan.choices.size());
  for (const RouteChoice& choice : plan.choices) {
    summary.push_back(absl::StrCat(MediumName(choice.medium), "@", choice.route_index));
  }
  return summary;
}

bool AnyDecisionContains(const ContactPlan& plan, absl::string_view text) {
  return std::any_of(plan.decisions.begin(), plan.decisions.end(),
                     [text](const std::string& line) { return absl::StrContains(line, text); });
}

void ExpectNoPersonalData(const ContactPlan& plan) {
  std::vector<std::string> texts = plan.decisions;
  texts.push_back(plan.no_contact_reason);
  for (const RouteChoice& choice : plan.choices) {
    texts.push_back(choice.reason);
  }
  for (const std::string& text : texts) {
    for (absl::string_view marker : kMarkers) {
      EXPECT_FALSE(absl::StrContains(text, marker)) << text;
    }
  }
}

// ---------------------------------------------------------------------------------------
// The decision table: every combination of safety marks on an email, an SMS, a letter and
// a phone (voicemail agreed) route, for each kind of crime, with and without the suspect at
// the victim's address, and four kinds of timing. Every combination is checked against the
// rules stated independently here.

struct CrimeKind {
  std::string name;
  bool sensitive;
  void (*apply)(NeedsAssessed&);
};

const std::vector<CrimeKind>& CrimeKinds() {
  static const auto* const kinds = new std::vector<CrimeKind>{
      {"Burglary", false,
       [](NeedsAssessed& a) {
         a.set_crime_category("burglary_residential");
         a.add_needs("emotional");
         a.add_needs("safety_home_security");
       }},
      {"DomesticAbuseFlag", true,
       [](NeedsAssessed& a) {
         a.set_crime_category("violence_with_injury");
         a.mutable_crime()->mutable_report()->mutable_flags()->set_domestic_abuse(true);
       }},
      {"StalkingCategory", true,
       [](NeedsAssessed& a) { a.set_crime_category("stalking_harassment"); }},
      {"SexualOffenceCategory", true,
       [](NeedsAssessed& a) { a.set_crime_category("sexual_offences"); }},
      {"HonourBasedAbuseFlag", true,
       [](NeedsAssessed& a) {
         a.set_crime_category("violence_without_injury");
         a.mutable_crime()->mutable_report()->mutable_flags()->set_honour_based_abuse(true);
       }},
      {"ModernSlaveryFlag", true,
       [](NeedsAssessed& a) {
         a.set_crime_category("other");
         a.mutable_crime()->mutable_report()->mutable_flags()->set_modern_slavery(true);
       }},
  };
  return *kinds;
}

enum class Timing {
  kNoneDaytime,  // No safe times; 14:00 on a Wednesday.
  kNoneNight,    // No safe times; 03:00 on a Wednesday.
  kInside,       // Every route has a window around now.
  kOutside,      // Every route has a window later today.
};

std::string TimingName(Timing timing) {
  switch (timing) {
    case Timing::kNoneDaytime:
      return "NoWindowsDaytime";
    case Timing::kNoneNight:
      return "NoWindowsNight";
    case Timing::kInside:
      return "InsideWindow";
    case Timing::kOutside:
      return "OutsideWindow";
  }
  return "";
}

using TableParam = std::tuple<int, bool, Timing>;  // crime kind index, suspect, timing

class DecisionTableTest : public ::testing::TestWithParam<TableParam> {};

TEST_P(DecisionTableTest, EveryCombinationKeepsTheRules) {
  const CrimeKind& crime = CrimeKinds()[static_cast<std::size_t>(std::get<0>(GetParam()))];
  const bool suspect = std::get<1>(GetParam());
  const Timing timing = std::get<2>(GetParam());
  const absl::Time now =
      timing == Timing::kNoneNight ? Uk(2026, 6, 10, 3, 0) : Uk(2026, 6, 10, 14, 0);
  SafeTimes windows;
  if (timing == Timing::kInside) {
    windows = Windows({Window(hub::intake::v1::WEDNESDAY, 13, 0, 15, 0)});
  } else if (timing == Timing::kOutside) {
    windows = Windows({Window(hub::intake::v1::DAY_OF_WEEK_UNSPECIFIED, 18, 30, 19, 30)});
  }
  const bool sensitive = crime.sensitive || suspect;
  const ChannelSafety safeties[] = {kSafe, kUnspecified, kUnsafe};
  int combinations = 0;

  for (ChannelSafety email : safeties) {
    for (ChannelSafety sms : safeties) {
      for (ChannelSafety letter : safeties) {
        for (ChannelSafety phone : safeties) {
          ++combinations;
          SCOPED_TRACE(absl::StrCat("email ", ChannelSafety_Name(email), " sms ",
                                    ChannelSafety_Name(sms), " letter ", ChannelSafety_Name(letter),
                                    " phone ", ChannelSafety_Name(phone)));
          NeedsAssessed assessment;
          crime.apply(assessment);
          Victim* victim = assessment.mutable_crime()->mutable_report()->add_victims();
          victim->set_suspect_shares_address(suspect);
          victim->set_age_at_offence(40);
          for (ContactRoute route : {Email(email), Sms(sms), Letter(letter), Phone(phone, true)}) {
            *route.mutable_safe_times() = windows;
            *victim->add_contact_routes() = route;
          }
          const ContactSituation situation = VictimSituation(assessment, now);
          ASSERT_EQ(situation.routes.size(), 4U);
          const ContactPlan plan = PlanContact(situation);
          const ChannelSafety marks[] = {email, sms, letter, phone};

          // The plan, derived from the rules independently of the implementation: written
          // routes safe first, each tier in medium order (the routes are already in that
          // order), then the call task.
          auto usable = [&](int index) {
            const ChannelSafety mark = marks[index];
            if (mark == kUnsafe || (index == 2 && suspect)) {
              return false;
            }
            return mark == kSafe || !sensitive;
          };
          std::vector<std::string> expected;
          for (ChannelSafety tier : {kSafe, kUnspecified}) {
            for (int index = 0; index < 3; ++index) {
              if (marks[index] == tier && usable(index)) {
                expected.push_back(absl::StrCat(index == 0   ? "email"
                                                : index == 1 ? "sms"
                                                             : "letter",
                                                "@", index));
              }
            }
          }
          expected.push_back(phone == kUnsafe ? "call@-1" : "call@3");
          EXPECT_EQ(Summary(plan), expected);
          EXPECT_EQ(plan.sensitive, sensitive);
          EXPECT_TRUE(plan.no_contact_reason.empty());

          // Invariants, checked on the plan itself.
          ASSERT_FALSE(plan.choices.empty());
          EXPECT_EQ(plan.choices.back().medium, Medium::kCall);
          EXPECT_EQ(std::count_if(plan.choices.begin(), plan.choices.end(),
                                  [](const RouteChoice& c) { return c.medium == Medium::kCall; }),
                    1);
          for (const RouteChoice& choice : plan.choices) {
            SCOPED_TRACE(absl::StrCat(MediumName(choice.medium), "@", choice.route_index));
            EXPECT_GE(choice.not_before, now);
            if (choice.route_index < 0) {
              EXPECT_EQ(choice.medium, Medium::kCall);
              EXPECT_EQ(choice.not_before, now);
              EXPECT_FALSE(choice.voicemail_allowed);
              continue;
            }
            const ContactRoute& route =
                situation.routes[static_cast<std::size_t>(choice.route_index)];
            EXPECT_NE(route.safety(), kUnsafe);
            EXPECT_FALSE(suspect && choice.medium == Medium::kLetter);
            if (sensitive && choice.medium != Medium::kCall) {
              EXPECT_EQ(route.safety(), kSafe);
            }
            if (choice.voicemail_allowed) {
              EXPECT_EQ(choice.medium, Medium::kCall);
              EXPECT_TRUE(route.voicemail_ok());
              EXPECT_TRUE(route.safety() == kSafe || !sensitive);
            } else if (choice.medium == Medium::kCall) {
              // Voicemail was agreed on the phone route: refused only when sensitive and
              // not marked safe.
              EXPECT_TRUE(sensitive && route.safety() != kSafe);
            }
            // Timing.
            switch (timing) {
              case Timing::kInside:
              case Timing::kNoneDaytime:
                EXPECT_EQ(choice.not_before, now);
                break;
              case Timing::kOutside:
                EXPECT_EQ(choice.not_before, Uk(2026, 6, 10, 18, 30));
                break;
              case Timing::kNoneNight:
                EXPECT_EQ(choice.not_before,
                          (choice.medium == Medium::kSms || choice.medium == Medium::kCall)
                              ? Uk(2026, 6, 10, 8, 0)
                              : now);
                break;
            }
            EXPECT_TRUE(WithinSafeTimes(route.safe_times(), choice.not_before));
          }

          // One line per route, naming its index and medium.
          const char* const labels[] = {
              "route 0 (email): ", "route 1 (sms): ", "route 2 (letter): ", "route 3 (phone): "};
          for (const char* label : labels) {
            EXPECT_EQ(std::count_if(plan.decisions.begin(), plan.decisions.end(),
                                    [label](const std::string& line) {
                                      return absl::StartsWith(line, label);
                                    }),
                      1)
                << label;
          }
          ExpectNoPersonalData(plan);
        }
      }
    }
  }
  EXPECT_EQ(combinations, 81);
}

INSTANTIATE_TEST_SUITE_P(
    AllCombinations, DecisionTableTest,
    ::testing::Combine(::testing::Range(0, 6), ::testing::Bool(),
                       ::testing::Values(Timing::kNoneDaytime, Timing::kNoneNight, Timing::kInside,
                                         Timing::kOutside)),
    [](const ::testing::TestParamInfo<TableParam>& param_info) {
      return absl::StrCat(
          CrimeKinds()[static_cast<std::size_t>(std::get<0>(param_info.param))].name,
          std::get<1>(param_info.param) ? "SuspectAtHome" : "SuspectElsewhere",
          TimingName(std::get<2>(param_info.param)));
    });

// ---------------------------------------------------------------------------------------
// Example rows.

// Wednesday 10 June 2026, 14:00 BST.
absl::Time WednesdayAfternoon() { return Uk(2026, 6, 10, 14, 0); }

TEST(PlanContactTest, DomesticAbuseUnspecifiedLetterSafeSmsTextsThenCalls) {
  const ContactPlan plan =
      PlanContact(Situation({Letter(kUnspecified), Sms(kSafe)}, true, false, WednesdayAfternoon()));
  EXPECT_EQ(Summary(plan), (std::vector<std::string>{"sms@1", "call@-1"}));
  EXPECT_TRUE(plan.sensitive);
  EXPECT_EQ(plan.choices[0].reason, "sms marked safe");
  EXPECT_TRUE(AnyDecisionContains(
      plan, "route 0 (letter): refused: not marked safe, and the crime is sensitive"));
  EXPECT_TRUE(AnyDecisionContains(plan, "route 1 (sms): used, choice 1: sms marked safe"));
  EXPECT_TRUE(AnyDecisionContains(plan, "call task: no usable phone number"));
  ExpectNoPersonalData(plan);
}

TEST(PlanContactTest, BurglaryUnspecifiedEmailEmailsThenCalls) {
  const ContactPlan plan =
      PlanContact(Situation({Email(kUnspecified)}, false, false, WednesdayAfternoon()));
  EXPECT_EQ(Summary(plan), (std::vector<std::string>{"email@0", "call@-1"}));
  EXPECT_FALSE(plan.sensitive);
  EXPECT_EQ(plan.choices[0].not_before, WednesdayAfternoon());
}

TEST(PlanContactTest, SuspectAtTheAddressGetsNoLetterEvenMarkedSafe) {
  const ContactPlan plan = PlanContact(
      Situation({Letter(kSafe), Phone(kSafe, true)}, false, true, WednesdayAfternoon()));
  EXPECT_EQ(Summary(plan), (std::vector<std::string>{"call@1"}));
  EXPECT_TRUE(plan.sensitive);
  EXPECT_TRUE(plan.choices[0].voicemail_allowed);
  EXPECT_TRUE(AnyDecisionContains(
      plan, "route 0 (letter): refused: the suspect lives at the victim's address"));
  EXPECT_TRUE(AnyDecisionContains(plan, "sensitive: the suspect lives at the victim's address"));
}

TEST(PlanContactTest, SuspectAtTheAddressRefusesUnspecifiedEmailToo) {
  const ContactPlan plan = PlanContact(
      Situation({Email(kUnspecified), Email(kSafe)}, false, true, WednesdayAfternoon()));
  EXPECT_EQ(Summary(plan), (std::vector<std::string>{"email@1", "call@-1"}));
  EXPECT_TRUE(AnyDecisionContains(
      plan,
      "route 0 (email): refused: not marked safe, and the suspect lives at the victim's address"));
}

TEST(PlanContactTest, EverythingUnsafeLeavesACallTaskWithoutANumber) {
  const ContactPlan plan =
      PlanContact(Situation({Email(kUnsafe), Sms(kUnsafe), Letter(kUnsafe), Phone(kUnsafe, true)},
                            false, false, WednesdayAfternoon()));
  EXPECT_EQ(Summary(plan), (std::vector<std::string>{"call@-1"}));
  EXPECT_FALSE(plan.choices[0].voicemail_allowed);
  EXPECT_EQ(plan.choices[0].not_before, WednesdayAfternoon());
  EXPECT_TRUE(absl::StrContains(plan.choices[0].reason, "officer in the case"));
  for (absl::string_view line :
       {"route 0 (email): refused: marked unsafe", "route 1 (sms): refused: marked unsafe",
        "route 2 (letter): refused: marked unsafe", "route 3 (phone): refused: marked unsafe"}) {
    EXPECT_TRUE(AnyDecisionContains(plan, line)) << line;
  }
  EXPECT_TRUE(AnyDecisionContains(plan, "written: no written route may be used"));
}

TEST(PlanContactTest, NoRoutesAtAllLeavesACallTaskWithoutANumber) {
  const ContactPlan plan = PlanContact(Situation({}, true, false, WednesdayAfternoon()));
  EXPECT_EQ(Summary(plan), (std::vector<std::string>{"call@-1"}));
}

TEST(PlanContactTest, NoContactSendsNothing) {
  ContactSituation situation =
      Situation({Email(kSafe), Phone(kSafe, true)}, true, false, WednesdayAfternoon());
  situation.no_contact = true;
  const ContactPlan plan = PlanContact(situation);
  EXPECT_TRUE(plan.choices.empty());
  EXPECT_EQ(plan.no_contact_reason, "the victim asked not to be contacted: nothing is sent");
  EXPECT_EQ(plan.decisions.size(), 1U);
  EXPECT_TRUE(plan.sensitive);
}

TEST(PlanContactTest, SafeBeforeUnspecifiedThenEmailSmsLetterThenRouteOrder) {
  const ContactPlan plan =
      PlanContact(Situation({Letter(kSafe), Email(kUnspecified), Sms(kSafe), Email(kSafe),
                             Email(kSafe), Sms(kUnspecified), Letter(kUnspecified)},
                            false, false, WednesdayAfternoon()));
  EXPECT_EQ(Summary(plan), (std::vector<std::string>{"email@3", "email@4", "sms@2", "letter@0",
                                                     "email@1", "sms@5", "letter@6", "call@-1"}));
  EXPECT_TRUE(AnyDecisionContains(plan, "route 6 (letter): used, choice 7: "));
}

TEST(PlanContactTest, SmsRoutesAreNotCalled) {
  const ContactPlan plan = PlanContact(Situation({Sms(kSafe)}, false, false, WednesdayAfternoon()));
  EXPECT_EQ(Summary(plan), (std::vector<std::string>{"sms@0", "call@-1"}));
}

TEST(PlanContactTest, CallPrefersASafePhoneOverAnEarlierUnspecifiedOne) {
  for (const bool sensitive : {false, true}) {
    const ContactPlan plan = PlanContact(
        Situation({Phone(kUnspecified, true), Phone(kUnsafe, true), Phone(kSafe, false)}, sensitive,
                  false, WednesdayAfternoon()));
    EXPECT_EQ(Summary(plan), (std::vector<std::string>{"call@2"}));
    EXPECT_FALSE(plan.choices[0].voicemail_allowed);
    EXPECT_EQ(plan.choices[0].reason,
              "phone marked safe; no voicemail: not agreed for this number");
    EXPECT_TRUE(AnyDecisionContains(plan, "route 0 (phone): not used: route 2 is called instead"));
    EXPECT_TRUE(AnyDecisionContains(plan, "route 1 (phone): refused: marked unsafe"));
  }
}

TEST(PlanContactTest, SensitiveUnspecifiedPhoneIsCalledWithoutVoicemail) {
  const ContactPlan plan =
      PlanContact(Situation({Phone(kUnspecified, true)}, true, false, WednesdayAfternoon()));
  ASSERT_EQ(Summary(plan), (std::vector<std::string>{"call@0"}));
  EXPECT_FALSE(plan.choices[0].voicemail_allowed);
  EXPECT_TRUE(absl::StrContains(plan.choices[0].reason, "confirm it is safe to talk"));
  EXPECT_TRUE(absl::StrContains(plan.choices[0].reason, "no voicemail: the number is not marked"));
}

TEST(PlanContactTest, SensitiveSafePhoneWithVoicemailAgreedMayTakeVoicemail) {
  const ContactPlan plan =
      PlanContact(Situation({Phone(kSafe, true)}, true, false, WednesdayAfternoon()));
  ASSERT_EQ(Summary(plan), (std::vector<std::string>{"call@0"}));
  EXPECT_TRUE(plan.choices[0].voicemail_allowed);
}

TEST(PlanContactTest, OrdinaryUnspecifiedPhoneWithVoicemailAgreedMayTakeVoicemail) {
  const ContactPlan plan =
      PlanContact(Situation({Phone(kUnspecified, true)}, false, false, WednesdayAfternoon()));
  ASSERT_EQ(Summary(plan), (std::vector<std::string>{"call@0"}));
  EXPECT_TRUE(plan.choices[0].voicemail_allowed);
}

TEST(PlanContactTest, OnlyTheMediaTheMessageHasAreOffered) {
  ContactSituation situation = Situation({Sms(kSafe), Letter(kSafe), Email(kUnspecified)}, false,
                                         false, WednesdayAfternoon());
  situation.written_media = {Medium::kEmail};
  const ContactPlan plan = PlanContact(situation);
  EXPECT_EQ(Summary(plan), (std::vector<std::string>{"email@2", "call@-1"}));
  EXPECT_TRUE(
      AnyDecisionContains(plan, "route 0 (sms): not used: this message has no sms version"));
  EXPECT_TRUE(
      AnyDecisionContains(plan, "route 1 (letter): not used: this message has no letter version"));
}

TEST(PlanContactTest, UnknownChannelAndUnknownSafetyAreRefused) {
  ContactRoute no_channel = Route(ContactRoute::CHANNEL_UNSPECIFIED, kSafe);
  ContactRoute odd_safety = Email(kSafe);
  odd_safety.set_safety(static_cast<ChannelSafety>(7));
  const ContactPlan plan =
      PlanContact(Situation({no_channel, odd_safety}, false, false, WednesdayAfternoon()));
  EXPECT_EQ(Summary(plan), (std::vector<std::string>{"call@-1"}));
  EXPECT_TRUE(AnyDecisionContains(plan, "route 0 (no channel): refused: no channel recorded"));
  EXPECT_TRUE(AnyDecisionContains(plan, "route 1 (email): refused: marked unsafe"));
}

TEST(PlanContactTest, TextsAndCallsWithoutSafeTimesWaitForMorning) {
  const absl::Time late = Uk(2026, 6, 10, 21, 30);
  const ContactPlan plan = PlanContact(Situation(
      {Email(kSafe), Sms(kSafe), Letter(kSafe), Phone(kSafe, false)}, false, false, late));
  ASSERT_EQ(Summary(plan), (std::vector<std::string>{"email@0", "sms@1", "letter@2", "call@3"}));
  EXPECT_EQ(plan.choices[0].not_before, late);
  EXPECT_EQ(plan.choices[1].not_before, Uk(2026, 6, 11, 8, 0));
  EXPECT_EQ(plan.choices[1].reason, "sms marked safe; waits for reasonable hours");
  EXPECT_EQ(plan.choices[2].not_before, late);
  EXPECT_EQ(plan.choices[3].not_before, Uk(2026, 6, 11, 8, 0));
  EXPECT_TRUE(absl::StrContains(plan.choices[3].reason, "waits for reasonable hours"));
}

TEST(PlanContactTest, ReasonableHoursAreConfigurable) {
  ContactSituation situation = Situation({Sms(kSafe)}, false, false, Uk(2026, 6, 10, 17, 30));
  situation.reasonable_hours_start_minute = 9 * 60;
  situation.reasonable_hours_end_minute = 17 * 60;
  const ContactPlan plan = PlanContact(situation);
  EXPECT_EQ(plan.choices[0].not_before, Uk(2026, 6, 11, 9, 0));
}

TEST(PlanContactTest, ReasonableHoursFollowTheClocksGoingForward) {
  // Sunday 29 March 2026, 07:30 BST: the clocks went forward at 01:00 GMT.
  const ContactPlan plan =
      PlanContact(Situation({Sms(kSafe)}, false, false, Utc(2026, 3, 29, 6, 30)));
  EXPECT_EQ(plan.choices[0].not_before, Utc(2026, 3, 29, 7, 0));
}

TEST(PlanContactTest, TheVictimsOwnWindowOverridesReasonableHours) {
  ContactRoute sms = Sms(kSafe);
  *sms.mutable_safe_times() =
      Windows({Window(hub::intake::v1::DAY_OF_WEEK_UNSPECIFIED, 21, 0, 22, 0)});
  const ContactPlan plan = PlanContact(Situation({sms}, true, false, Uk(2026, 6, 10, 21, 15)));
  EXPECT_EQ(plan.choices[0].not_before, Uk(2026, 6, 10, 21, 15));
  EXPECT_EQ(plan.choices[0].reason, "sms marked safe");
}

TEST(PlanContactTest, WindowLaterTodayDefersTheChoice) {
  ContactRoute email = Email(kSafe);
  *email.mutable_safe_times() =
      Windows({Window(hub::intake::v1::DAY_OF_WEEK_UNSPECIFIED, 18, 0, 20, 0)});
  const ContactPlan plan = PlanContact(Situation({email}, true, false, Uk(2026, 6, 10, 10, 0)));
  EXPECT_EQ(plan.choices[0].not_before, Uk(2026, 6, 10, 18, 0));
  EXPECT_EQ(plan.choices[0].reason, "email marked safe; waits for the next safe time");
}

TEST(PlanContactTest, RouteWhoseWindowsNeverOpenIsRefused) {
  ContactRoute email = Email(kSafe);
  ContactRoute phone = Phone(kSafe, true);
  *email.mutable_safe_times() = Windows({Window(hub::intake::v1::MONDAY, 10, 0, 9, 0)});
  *phone.mutable_safe_times() = Windows({Window(hub::intake::v1::MONDAY, 10, 0, 10, 0)});
  const ContactPlan plan = PlanContact(
      Situation({email, phone, Phone(kUnspecified, false)}, false, false, WednesdayAfternoon()));
  EXPECT_EQ(Summary(plan), (std::vector<std::string>{"call@2"}));
  EXPECT_TRUE(AnyDecisionContains(plan, "route 0 (email): refused: its safe times never open"));
  EXPECT_TRUE(
      AnyDecisionContains(plan, "route 1 (phone): refused for calls: its safe times never open"));
}

TEST(PlanContactTest, PlansAreDeterministic) {
  const ContactSituation situation =
      Situation({Letter(kSafe), Email(kUnspecified), Phone(kUnspecified, true), Sms(kSafe)}, false,
                false, WednesdayAfternoon());
  const ContactPlan first = PlanContact(situation);
  const ContactPlan second = PlanContact(situation);
  EXPECT_EQ(Summary(first), Summary(second));
  EXPECT_EQ(first.decisions, second.decisions);
}

TEST(MediumNameTest, NamesEveryMedium) {
  EXPECT_EQ(MediumName(Medium::kEmail), "email");
  EXPECT_EQ(MediumName(Medium::kSms), "sms");
  EXPECT_EQ(MediumName(Medium::kLetter), "letter");
  EXPECT_EQ(MediumName(Medium::kCall), "call");
}

// ---------------------------------------------------------------------------------------
// Safe times.

TEST(SafeTimesTest, TzdataIsInstalled) {
  absl::TimeZone london;
  EXPECT_TRUE(absl::LoadTimeZone("Europe/London", &london));
}

TEST(SafeTimesTest, NoWindowsMeansAlways) {
  const SafeTimes none;
  EXPECT_TRUE(WithinSafeTimes(none, Uk(2026, 6, 10, 3, 0)));
  EXPECT_EQ(NextSafeTime(none, Uk(2026, 6, 10, 3, 0)), Uk(2026, 6, 10, 3, 0));
}

TEST(SafeTimesTest, StartIsInsideEndIsNot) {
  const SafeTimes windows = Windows({Window(hub::intake::v1::WEDNESDAY, 9, 0, 10, 0)});
  EXPECT_FALSE(WithinSafeTimes(windows, Uk(2026, 6, 10, 8, 59)));
  EXPECT_TRUE(WithinSafeTimes(windows, Uk(2026, 6, 10, 9, 0)));
  EXPECT_TRUE(WithinSafeTimes(windows, Uk(2026, 6, 10, 9, 59)));
  EXPECT_FALSE(WithinSafeTimes(windows, Uk(2026, 6, 10, 10, 0)));
  // Thursday: the window is Wednesday's only.
  EXPECT_FALSE(WithinSafeTimes(windows, Uk(2026, 6, 11, 9, 30)));
}

TEST(SafeTimesTest, WindowsAreUkLocalTimeInSummer) {
  const SafeTimes windows =
      Windows({Window(hub::intake::v1::DAY_OF_WEEK_UNSPECIFIED, 9, 0, 10, 0)});
  EXPECT_TRUE(WithinSafeTimes(windows, Utc(2026, 6, 10, 8, 30)));   // 09:30 BST
  EXPECT_FALSE(WithinSafeTimes(windows, Utc(2026, 6, 10, 9, 30)));  // 10:30 BST
  EXPECT_TRUE(WithinSafeTimes(windows, Utc(2026, 12, 10, 9, 30)));  // 09:30 GMT
}

TEST(SafeTimesTest, WindowToMidnight) {
  const SafeTimes windows =
      Windows({Window(hub::intake::v1::DAY_OF_WEEK_UNSPECIFIED, 23, 0, 24, 0)});
  EXPECT_TRUE(WithinSafeTimes(windows, Uk(2026, 6, 10, 23, 59)));
  EXPECT_FALSE(WithinSafeTimes(windows, Uk(2026, 6, 11, 0, 0)));
}

TEST(SafeTimesTest, InsideReturnsNow) {
  const SafeTimes windows = Windows({Window(hub::intake::v1::WEDNESDAY, 13, 0, 15, 0)});
  EXPECT_EQ(NextSafeTime(windows, WednesdayAfternoon()), WednesdayAfternoon());
}

TEST(SafeTimesTest, WindowLaterToday) {
  const SafeTimes windows =
      Windows({Window(hub::intake::v1::DAY_OF_WEEK_UNSPECIFIED, 18, 0, 20, 0)});
  EXPECT_EQ(NextSafeTime(windows, WednesdayAfternoon()), Uk(2026, 6, 10, 18, 0));
}

TEST(SafeTimesTest, EarliestOfSeveralWindows) {
  const SafeTimes windows = Windows({Window(hub::intake::v1::THURSDAY, 8, 0, 9, 0),
                                     Window(hub::intake::v1::WEDNESDAY, 19, 0, 20, 0),
                                     Window(hub::intake::v1::WEDNESDAY, 16, 0, 17, 0)});
  EXPECT_EQ(NextSafeTime(windows, WednesdayAfternoon()), Uk(2026, 6, 10, 16, 0));
}

TEST(SafeTimesTest, WindowNextMonday) {
  const SafeTimes windows = Windows({Window(hub::intake::v1::MONDAY, 9, 0, 12, 0)});
  EXPECT_EQ(NextSafeTime(windows, WednesdayAfternoon()), Uk(2026, 6, 15, 9, 0));
}

TEST(SafeTimesTest, SameDayNextWeekWhenTodaysWindowHasPassed) {
  const SafeTimes windows = Windows({Window(hub::intake::v1::WEDNESDAY, 9, 0, 10, 0)});
  EXPECT_EQ(NextSafeTime(windows, WednesdayAfternoon()), Uk(2026, 6, 17, 9, 0));
}

TEST(SafeTimesTest, MalformedWindowsNeverOpen) {
  SafeTime odd_day = Window(hub::intake::v1::MONDAY, 9, 0, 10, 0);
  odd_day.set_day(static_cast<hub::intake::v1::DayOfWeek>(9));
  const SafeTimes windows = Windows({Window(hub::intake::v1::MONDAY, 10, 0, 9, 0),
                                     Window(hub::intake::v1::MONDAY, -60, 0, 10, 0),
                                     Window(hub::intake::v1::MONDAY, 9, 0, 25, 0), odd_day});
  EXPECT_FALSE(WithinSafeTimes(windows, Uk(2026, 6, 15, 9, 30)));
  EXPECT_EQ(NextSafeTime(windows, WednesdayAfternoon()), absl::InfiniteFuture());
}

TEST(SafeTimesTest, ClocksGoForwardWindowNextMorningIsBst) {
  // Saturday 28 March 2026 12:00 GMT; the clocks go forward overnight.
  const SafeTimes windows =
      Windows({Window(hub::intake::v1::DAY_OF_WEEK_UNSPECIFIED, 9, 0, 10, 0)});
  EXPECT_EQ(NextSafeTime(windows, Utc(2026, 3, 28, 12, 0)), Utc(2026, 3, 29, 8, 0));
}

TEST(SafeTimesTest, ClocksGoBackWindowNextMorningIsGmt) {
  // Saturday 24 October 2026 12:00 BST; the clocks go back overnight.
  const SafeTimes windows =
      Windows({Window(hub::intake::v1::DAY_OF_WEEK_UNSPECIFIED, 9, 0, 10, 0)});
  EXPECT_EQ(NextSafeTime(windows, Utc(2026, 10, 24, 11, 0)), Utc(2026, 10, 25, 9, 0));
}

TEST(SafeTimesTest, WindowStartingInTheSkippedHourOpensAtTheChange) {
  // 01:30 on 29 March 2026 does not exist: the clock jumps from 01:00 GMT to 02:00 BST.
  const SafeTimes windows = Windows({Window(hub::intake::v1::SUNDAY, 1, 30, 3, 0)});
  EXPECT_EQ(NextSafeTime(windows, Utc(2026, 3, 28, 12, 0)), Utc(2026, 3, 29, 1, 0));
}

TEST(SafeTimesTest, WindowInsideTheSkippedHourWaitsAWeek) {
  const SafeTimes windows = Windows({Window(hub::intake::v1::SUNDAY, 1, 0, 2, 0)});
  EXPECT_EQ(NextSafeTime(windows, Utc(2026, 3, 28, 12, 0)), Utc(2026, 4, 5, 0, 0));
}

TEST(SafeTimesTest, WindowInTheRepeatedHourOpensAtItsFirstOccurrence) {
  const SafeTimes windows = Windows({Window(hub::intake::v1::SUNDAY, 1, 0, 2, 0)});
  EXPECT_EQ(NextSafeTime(windows, Utc(2026, 10, 24, 11, 0)), Utc(2026, 10, 25, 0, 0));
  // Between the two, 01:05 GMT is 01:05 on the clock again: inside.
  EXPECT_TRUE(WithinSafeTimes(windows, Utc(2026, 10, 25, 1, 5)));
}

TEST(SafeTimesTest, WindowInTheRepeatedHourOpensAgainInTheSecondPass) {
  // At 01:05 GMT (the second 01:05) a 01:30-02:00 window next opens at 01:30 GMT.
  const SafeTimes windows = Windows({Window(hub::intake::v1::SUNDAY, 1, 30, 2, 0)});
  EXPECT_EQ(NextSafeTime(windows, Utc(2026, 10, 25, 1, 5)), Utc(2026, 10, 25, 1, 30));
}

// ---------------------------------------------------------------------------------------
// IsSensitiveCrime.

struct SensitivityCase {
  std::string name;
  void (*apply)(NeedsAssessed&);
  bool sensitive;
};

class SensitiveCrimeTest : public ::testing::TestWithParam<SensitivityCase> {};

TEST_P(SensitiveCrimeTest, ReadsFlagsCategoryNeedsAndRelationship) {
  NeedsAssessed assessment;
  assessment.mutable_crime()->mutable_report()->add_victims();
  GetParam().apply(assessment);
  EXPECT_EQ(IsSensitiveCrime(assessment), GetParam().sensitive);
}

hub::intake::v1::CrimeFlags* Flags(NeedsAssessed& a) {
  return a.mutable_crime()->mutable_report()->mutable_flags();
}

void Relationship(NeedsAssessed& a, hub::intake::v1::RelationshipToSuspect relationship) {
  a.mutable_crime()->mutable_report()->mutable_victims(0)->set_relationship_to_suspect(
      relationship);
}

INSTANTIATE_TEST_SUITE_P(
    EveryReason, SensitiveCrimeTest,
    ::testing::Values(
        SensitivityCase{"Nothing", [](NeedsAssessed&) {}, false},
        SensitivityCase{"Burglary",
                        [](NeedsAssessed& a) {
                          a.set_crime_category("burglary_residential");
                          a.add_needs("safety_home_security");
                        },
                        false},
        SensitivityCase{"HateCrimeFlag", [](NeedsAssessed& a) { Flags(a)->set_hate_crime(true); },
                        false},
        SensitivityCase{"TerrorismFlag", [](NeedsAssessed& a) { Flags(a)->set_terrorism(true); },
                        false},
        SensitivityCase{"PersistentlyTargetedAlone",
                        [](NeedsAssessed& a) {
                          a.add_enhanced_categories(
                              hub::events::v1::ENHANCED_CATEGORY_PERSISTENTLY_TARGETED);
                        },
                        false},
        SensitivityCase{"StrangerSuspect",
                        [](NeedsAssessed& a) {
                          Relationship(a, hub::intake::v1::RELATIONSHIP_TO_SUSPECT_STRANGER);
                        },
                        false},
        SensitivityCase{"DomesticAbuseFlag",
                        [](NeedsAssessed& a) { Flags(a)->set_domestic_abuse(true); }, true},
        SensitivityCase{"HonourBasedAbuseFlag",
                        [](NeedsAssessed& a) { Flags(a)->set_honour_based_abuse(true); }, true},
        SensitivityCase{"ModernSlaveryFlag",
                        [](NeedsAssessed& a) { Flags(a)->set_modern_slavery(true); }, true},
        SensitivityCase{"ChildSexualExploitationFlag",
                        [](NeedsAssessed& a) { Flags(a)->set_child_sexual_exploitation(true); },
                        true},
        SensitivityCase{"DomesticAbuseCategory",
                        [](NeedsAssessed& a) { a.set_crime_category("domestic_abuse"); }, true},
        SensitivityCase{"StalkingCategory",
                        [](NeedsAssessed& a) { a.set_crime_category("stalking_harassment"); },
                        true},
        SensitivityCase{"SexualOffencesCategory",
                        [](NeedsAssessed& a) { a.set_crime_category("sexual_offences"); }, true},
        SensitivityCase{"RapeCategory", [](NeedsAssessed& a) { a.set_crime_category("rape"); },
                        true},
        SensitivityCase{"ModernSlaveryCategory",
                        [](NeedsAssessed& a) { a.set_crime_category("modern_slavery"); }, true},
        SensitivityCase{"DomesticAbuseNeed",
                        [](NeedsAssessed& a) {
                          a.add_needs("emotional");
                          a.add_needs("domestic_abuse");
                        },
                        true},
        SensitivityCase{"SexualViolenceNeed",
                        [](NeedsAssessed& a) { a.add_needs("sexual_violence"); }, true},
        SensitivityCase{"StalkingNeed", [](NeedsAssessed& a) { a.add_needs("stalking"); }, true},
        SensitivityCase{"ExploitationNeed",
                        [](NeedsAssessed& a) { a.add_needs("exploitation_modern_slavery"); }, true},
        SensitivityCase{"SelfReferralDomesticAbuse",
                        [](NeedsAssessed& a) {
                          a.mutable_crime()->set_self_referral_category(
                              hub::intake::v1::SELF_REFERRAL_CATEGORY_DOMESTIC_ABUSE);
                        },
                        true},
        SensitivityCase{"SelfReferralSexualViolence",
                        [](NeedsAssessed& a) {
                          a.mutable_crime()->set_self_referral_category(
                              hub::intake::v1::SELF_REFERRAL_CATEGORY_SEXUAL_VIOLENCE);
                        },
                        true},
        SensitivityCase{"SelfReferralStalking",
                        [](NeedsAssessed& a) {
                          a.mutable_crime()->set_self_referral_category(
                              hub::intake::v1::SELF_REFERRAL_CATEGORY_STALKING_HARASSMENT);
                        },
                        true},
        SensitivityCase{"SelfReferralExploitation",
                        [](NeedsAssessed& a) {
                          a.mutable_crime()->set_self_referral_category(
                              hub::intake::v1::SELF_REFERRAL_CATEGORY_EXPLOITATION);
                        },
                        true},
        SensitivityCase{"SelfReferralBurglary",
                        [](NeedsAssessed& a) {
                          a.mutable_crime()->set_self_referral_category(
                              hub::intake::v1::SELF_REFERRAL_CATEGORY_BURGLARY);
                        },
                        false},
        SensitivityCase{"PartnerSuspectUnflagged",
                        [](NeedsAssessed& a) {
                          Relationship(a, hub::intake::v1::RELATIONSHIP_TO_SUSPECT_PARTNER);
                        },
                        true},
        SensitivityCase{"ExPartnerSuspectUnflagged",
                        [](NeedsAssessed& a) {
                          Relationship(a, hub::intake::v1::RELATIONSHIP_TO_SUSPECT_EX_PARTNER);
                        },
                        true},
        SensitivityCase{"FamilySuspectUnflagged",
                        [](NeedsAssessed& a) {
                          Relationship(a, hub::intake::v1::RELATIONSHIP_TO_SUSPECT_FAMILY);
                        },
                        true}),
    [](const ::testing::TestParamInfo<SensitivityCase>& param_info) {
      return param_info.param.name;
    });

// ---------------------------------------------------------------------------------------
// VictimSituation.

NeedsAssessed ChildWithGuardian() {
  NeedsAssessed assessment;
  assessment.set_crime_category("violence_with_injury");
  Victim* victim = assessment.mutable_crime()->mutable_report()->add_victims();
  victim->set_age_at_offence(15);
  victim->set_suspect_shares_address(true);
  *victim->add_contact_routes() = Sms(kSafe);
  hub::intake::v1::Representative* guardian = victim->mutable_parent_guardian();
  guardian->mutable_name()->set_given("MARKER");
  guardian->set_role("mother");
  *guardian->add_contact_routes() = Letter(kSafe);
  *guardian->add_contact_routes() = Email(kSafe);
  *guardian->add_contact_routes() = Phone(kUnspecified, true);
  return assessment;
}

TEST(VictimSituationTest, ChildIsReachedThroughTheGuardianUnderTheSameRules) {
  const ContactSituation situation = VictimSituation(ChildWithGuardian(), WednesdayAfternoon());
  EXPECT_TRUE(situation.guardian);
  ASSERT_EQ(situation.routes.size(), 3U);
  EXPECT_EQ(situation.routes[0].channel(), ContactRoute::CHANNEL_LETTER);
  EXPECT_EQ(situation.routes[1].channel(), ContactRoute::CHANNEL_EMAIL);
  EXPECT_EQ(situation.routes[2].channel(), ContactRoute::CHANNEL_PHONE);
  EXPECT_TRUE(situation.routes[2].voicemail_ok());
  EXPECT_TRUE(situation.suspect_shares_address);
  EXPECT_EQ(situation.now, WednesdayAfternoon());
  // Only what the decision reads is carried: no values or addresses.
  for (const ContactRoute& route : situation.routes) {
    EXPECT_TRUE(route.value().empty());
    EXPECT_FALSE(route.has_address());
  }

  const ContactPlan plan = PlanContact(situation);
  // The suspect shares the (child's) address: no letter; the unmarked phone is called
  // without voicemail.
  EXPECT_EQ(Summary(plan), (std::vector<std::string>{"email@1", "call@2"}));
  EXPECT_FALSE(plan.choices[1].voicemail_allowed);
  EXPECT_TRUE(
      AnyDecisionContains(plan, "the parent's or guardian's, because the victim is under 18"));
  ExpectNoPersonalData(plan);
}

TEST(VictimSituationTest, GuardianWithoutAnAgeInClearIsStillUsed) {
  NeedsAssessed assessment = ChildWithGuardian();
  assessment.mutable_crime()->mutable_report()->mutable_victims(0)->clear_age_at_offence();
  EXPECT_TRUE(VictimSituation(assessment, WednesdayAfternoon()).guardian);
}

TEST(VictimSituationTest, AdultsOwnRoutesAreUsedEvenWithAGuardianRecorded) {
  NeedsAssessed assessment = ChildWithGuardian();
  assessment.mutable_crime()->mutable_report()->mutable_victims(0)->set_age_at_offence(18);
  const ContactSituation situation = VictimSituation(assessment, WednesdayAfternoon());
  EXPECT_FALSE(situation.guardian);
  ASSERT_EQ(situation.routes.size(), 1U);
  EXPECT_EQ(situation.routes[0].channel(), ContactRoute::CHANNEL_SMS);
}

TEST(VictimSituationTest, ChildWhoAskedForNoContactGetsNone) {
  NeedsAssessed assessment = ChildWithGuardian();
  assessment.mutable_crime()->mutable_report()->mutable_victims(0)->set_no_contact(true);
  const ContactSituation situation = VictimSituation(assessment, WednesdayAfternoon());
  EXPECT_TRUE(situation.no_contact);
  EXPECT_FALSE(situation.guardian);
  const ContactPlan plan = PlanContact(situation);
  EXPECT_TRUE(plan.choices.empty());
  EXPECT_FALSE(plan.no_contact_reason.empty());
}

TEST(VictimSituationTest, VictimsOwnRoutesAndWrittenMedia) {
  NeedsAssessed assessment;
  assessment.set_crime_category("stalking_harassment");
  Victim* victim = assessment.mutable_crime()->mutable_report()->add_victims();
  victim->set_age_at_offence(30);
  ContactRoute email = Email(kSafe);
  *email.mutable_safe_times() = Windows({Window(hub::intake::v1::MONDAY, 9, 0, 12, 0)});
  *victim->add_contact_routes() = email;
  const ContactSituation situation = VictimSituation(assessment, WednesdayAfternoon());
  EXPECT_TRUE(situation.sensitive_crime);
  EXPECT_FALSE(situation.suspect_shares_address);
  EXPECT_FALSE(situation.no_contact);
  EXPECT_EQ(situation.written_media,
            (std::vector<Medium>{Medium::kEmail, Medium::kSms, Medium::kLetter}));
  ASSERT_EQ(situation.routes.size(), 1U);
  EXPECT_EQ(situation.routes[0].safe_times().size(), 1);
  EXPECT_EQ(PlanContact(situation).choices[0].not_before, Uk(2026, 6, 15, 9, 0));
}

TEST(VictimSituationTest, CaseWithoutAVictimGetsACallTaskWithoutANumber) {
  NeedsAssessed assessment;
  const ContactSituation situation = VictimSituation(assessment, WednesdayAfternoon());
  EXPECT_TRUE(situation.routes.empty());
  EXPECT_EQ(Summary(PlanContact(situation)), (std::vector<std::string>{"call@-1"}));
}

}  // namespace
}  // namespace hub::notification
