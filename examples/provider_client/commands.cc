#include "examples/provider_client/commands.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <sstream>
#include <utility>

#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace hub::provider_client {

const char kUsage[] =
    R"(usage: hub-provider [connection flags] COMMAND [arguments]

connection flags (anywhere on the line):
  --target HOST:PORT   the hub's routing service (default 127.0.0.1:50053)
  --caller PRINCIPAL   who you are, e.g. provider:idva-cambs, sent as x-hub-caller
                       (development, loopback only; required without --tls-cert)
  --tls-ca FILE        PEM roots that sign the hub's certificate; any --tls-* flag means TLS
  --tls-cert FILE      PEM client certificate, with --tls-key (production identity)
  --tls-key FILE       PEM private key of --tls-cert
  --json               one JSON object per line instead of text

commands:
  offers [--follow] [--ack] [--max N] [--timeout S]
        print offers as they arrive; without --follow stop once none arrives for 1 s;
        --ack acknowledges each offer after printing it (the referral is then received)
  list [--status S[,S...]]
        your referrals, newest first; S is requested, received, accepted, rejected,
        in-progress, on-hold, completed, failed, cancelled or entered-in-error
  get ID                  one referral, every field
  accept ID               received (or offered) -> accepted
  reject ID --reason R    R is at-capacity, ineligible, no-safe-contact, duplicate or other
  start ID                accepted -> in-progress
  hold ID                 in-progress -> on-hold
  resume ID               on-hold -> in-progress
  complete ID [--outcome M[,M...]] [--closure C]
        support ended (at least one of the two); M names each measure that improved, the
        others are recorded as assessed and not improved: cope, safer, health, cjs, access
        (or none); C is refused, lack-of-capacity, no-longer-needed, unable-to-contact or
        other
  fail ID --closure C     support could not be delivered
  contact ID              the victim's contact details (personal data; accepted referrals
                          only; every read is audited)
  work [--max N] [--timeout S] [--outcome M[,M...]]
        for each offer: acknowledge, accept, start, complete with the outcome (default
        cope,safer); stops after N referrals or S seconds
  help

exit status: 0 done; 1 the hub refused the call or could not be reached (the gRPC code and
message are on stderr), or work stopped before N referrals; 2 usage error
)";

namespace {

namespace v1 = ::hub::routing::v1;
using google::protobuf::util::TimeUtil;

const std::map<std::string, Command>& CommandNames() {
  static const auto* names = new std::map<std::string, Command>{
      {"help", Command::kHelp},     {"offers", Command::kOffers},
      {"list", Command::kList},     {"get", Command::kGet},
      {"accept", Command::kAccept}, {"reject", Command::kReject},
      {"start", Command::kStart},   {"hold", Command::kHold},
      {"resume", Command::kResume}, {"complete", Command::kComplete},
      {"fail", Command::kFail},     {"contact", Command::kContact},
      {"work", Command::kWork},
  };
  return *names;
}

struct FlagSpec {
  bool takes_value;
  bool repeatable;
  // The commands that take it; empty means every command.
  std::vector<Command> commands;
};

const std::map<std::string, FlagSpec>& Flags() {
  static const auto* flags = new std::map<std::string, FlagSpec>{
      {"target", {true, false, {}}},
      {"caller", {true, false, {}}},
      {"tls-ca", {true, false, {}}},
      {"tls-cert", {true, false, {}}},
      {"tls-key", {true, false, {}}},
      {"json", {false, false, {}}},
      {"follow", {false, false, {Command::kOffers}}},
      {"ack", {false, false, {Command::kOffers}}},
      {"max", {true, false, {Command::kOffers, Command::kWork}}},
      {"timeout", {true, false, {Command::kOffers, Command::kWork}}},
      {"status", {true, true, {Command::kList}}},
      {"reason", {true, false, {Command::kReject}}},
      {"outcome", {true, false, {Command::kComplete, Command::kWork}}},
      {"closure", {true, false, {Command::kComplete, Command::kFail}}},
  };
  return *flags;
}

bool TakesReferralId(Command command) {
  switch (command) {
    case Command::kGet:
    case Command::kAccept:
    case Command::kReject:
    case Command::kStart:
    case Command::kHold:
    case Command::kResume:
    case Command::kComplete:
    case Command::kFail:
    case Command::kContact:
      return true;
    default:
      return false;
  }
}

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    parts.push_back(part);
  }
  return parts;
}

std::string Join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string joined;
  for (const std::string& part : parts) {
    if (!joined.empty()) {
      joined += separator;
    }
    joined += part;
  }
  return joined;
}

template <typename Repeated>
std::string JoinRepeated(const Repeated& parts, const std::string& separator) {
  return Join(std::vector<std::string>(parts.begin(), parts.end()), separator);
}

std::string OrDash(const std::string& text) { return text.empty() ? "-" : text; }

std::string YesNo(bool value) { return value ? "yes" : "no"; }

std::string Time(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) {
    return "-";
  }
  return TimeUtil::ToString(time);
}

// Finds `label` among the enum's values by EnumLabel; false when none has it.
template <typename Enum>
bool EnumFromLabel(const google::protobuf::EnumDescriptor* type, const std::string& label,
                   Enum* value) {
  for (int i = 0; i < type->value_count(); ++i) {
    const int number = type->value(i)->number();
    if (number != 0 && EnumLabel(type, number) == label) {
      *value = static_cast<Enum>(number);
      return true;
    }
  }
  return false;
}

// The closure reasons a provider gives. UNABLE_TO_CONTACT_PROVIDER is the hub's own.
const std::map<std::string, v1::ClosureReason>& ClosureNames() {
  static const auto* names = new std::map<std::string, v1::ClosureReason>{
      {"refused", v1::CLOSURE_REASON_VICTIM_REFUSED_SERVICES},
      {"lack-of-capacity", v1::CLOSURE_REASON_LACK_OF_CAPACITY},
      {"no-longer-needed", v1::CLOSURE_REASON_SERVICES_NO_LONGER_NEEDED},
      {"unable-to-contact", v1::CLOSURE_REASON_UNABLE_TO_CONTACT_VICTIM},
      {"other", v1::CLOSURE_REASON_OTHER},
  };
  return *names;
}

// The five measures in proto order, with their command-line names.
using OutcomeSetter = void (v1::CopeAndRecoverOutcome::*)(bool);
using OutcomeHas = bool (v1::CopeAndRecoverOutcome::*)() const;
using OutcomeGet = bool (v1::CopeAndRecoverOutcome::*)() const;
struct Measure {
  const char* name;
  OutcomeSetter set;
  OutcomeHas has;
  OutcomeGet get;
};
constexpr Measure kMeasures[] = {
    {"cope", &v1::CopeAndRecoverOutcome::set_cope_with_everyday_life_improved,
     &v1::CopeAndRecoverOutcome::has_cope_with_everyday_life_improved,
     &v1::CopeAndRecoverOutcome::cope_with_everyday_life_improved},
    {"safer", &v1::CopeAndRecoverOutcome::set_feel_safer_improved,
     &v1::CopeAndRecoverOutcome::has_feel_safer_improved,
     &v1::CopeAndRecoverOutcome::feel_safer_improved},
    {"health", &v1::CopeAndRecoverOutcome::set_health_and_wellbeing_improved,
     &v1::CopeAndRecoverOutcome::has_health_and_wellbeing_improved,
     &v1::CopeAndRecoverOutcome::health_and_wellbeing_improved},
    {"cjs", &v1::CopeAndRecoverOutcome::set_engage_with_criminal_justice_improved,
     &v1::CopeAndRecoverOutcome::has_engage_with_criminal_justice_improved,
     &v1::CopeAndRecoverOutcome::engage_with_criminal_justice_improved},
    {"access", &v1::CopeAndRecoverOutcome::set_access_services_improved,
     &v1::CopeAndRecoverOutcome::has_access_services_improved,
     &v1::CopeAndRecoverOutcome::access_services_improved},
};

// "improved: cope, safer; not improved: health; not assessed: cjs, access".
std::string RenderOutcome(const v1::CopeAndRecoverOutcome& outcome) {
  std::vector<std::string> improved, not_improved, not_assessed;
  for (const Measure& measure : kMeasures) {
    if (!(outcome.*measure.has)()) {
      not_assessed.push_back(measure.name);
    } else if ((outcome.*measure.get)()) {
      improved.push_back(measure.name);
    } else {
      not_improved.push_back(measure.name);
    }
  }
  std::vector<std::string> parts;
  if (!improved.empty()) {
    parts.push_back("improved: " + Join(improved, ", "));
  }
  if (!not_improved.empty()) {
    parts.push_back("not improved: " + Join(not_improved, ", "));
  }
  if (!not_assessed.empty()) {
    parts.push_back("not assessed: " + Join(not_assessed, ", "));
  }
  return Join(parts, "; ");
}

bool HasAnyMeasure(const v1::CopeAndRecoverOutcome& outcome) {
  return std::any_of(std::begin(kMeasures), std::end(kMeasures),
                     [&](const Measure& measure) { return (outcome.*measure.has)(); });
}

bool ParseCount(const std::string& flag, const std::string& text, int* count, std::string* error) {
  int value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || value < 1) {
    *error = "--" + flag + " needs a whole number of at least 1, not '" + text + "'";
    return false;
  }
  *count = value;
  return true;
}

bool ParseSeconds(const std::string& flag, const std::string& text,
                  std::chrono::milliseconds* duration, std::string* error) {
  double seconds = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, seconds);
  if (ec != std::errc() || ptr != end || !(seconds > 0) || seconds > 1e7) {
    *error = "--" + flag + " needs a number of seconds above 0, not '" + text + "'";
    return false;
  }
  *duration = std::chrono::milliseconds(std::llround(seconds * 1000));
  return true;
}

// "09:05" for 545; "24:00" for the end of the day.
std::string Minutes(int minutes) {
  auto two_digits = [](int value) {
    return std::string(value < 10 ? "0" : "") + std::to_string(value);
  };
  return two_digits(minutes / 60) + ":" + two_digits(minutes % 60);
}

std::string RenderSafeTime(const hub::intake::v1::SafeTime& time) {
  std::string day = time.day() == hub::intake::v1::DAY_OF_WEEK_UNSPECIFIED
                        ? "every day"
                        : EnumLabel(hub::intake::v1::DayOfWeek_descriptor(), time.day());
  return day + " " + Minutes(time.start_minute()) + "-" + Minutes(time.end_minute());
}

std::string RenderRoute(const hub::intake::v1::ContactRoute& route) {
  using hub::intake::v1::ContactRoute;
  std::string line = EnumLabel(ContactRoute::Channel_descriptor(), route.channel()) + ": ";
  if (route.channel() == ContactRoute::CHANNEL_LETTER || route.has_address()) {
    std::vector<std::string> parts(route.address().lines().begin(), route.address().lines().end());
    if (!route.address().town().empty()) {
      parts.push_back(route.address().town());
    }
    if (!route.address().postcode().empty()) {
      parts.push_back(route.address().postcode());
    }
    line += Join(parts, ", ");
  } else {
    line += route.value();
  }
  std::vector<std::string> notes;
  if (route.safety() != hub::intake::v1::CHANNEL_SAFETY_SAFE) {
    notes.push_back("NOT marked safe: do not use");
  }
  if (route.channel() == ContactRoute::CHANNEL_PHONE) {
    notes.push_back(route.voicemail_ok() ? "voicemail ok" : "no voicemail");
  }
  if (route.safe_times_size() > 0) {
    std::vector<std::string> times;
    for (const auto& time : route.safe_times()) {
      times.push_back(RenderSafeTime(time));
    }
    notes.push_back("only " + Join(times, ", "));
  }
  if (!notes.empty()) {
    line += " (" + Join(notes, "; ") + ")";
  }
  return line;
}

std::string RenderName(const hub::intake::v1::PersonName& name) {
  std::vector<std::string> parts;
  if (!name.given().empty()) {
    parts.push_back(name.given());
  }
  if (!name.family().empty()) {
    parts.push_back(name.family());
  }
  return Join(parts, " ");
}

void RenderRepresentative(const std::string& title, const hub::intake::v1::Representative& person,
                          std::ostringstream& out) {
  out << title << ": " << RenderName(person.name());
  if (!person.role().empty()) {
    out << " (" << person.role() << ")";
  }
  out << "\n";
  for (const auto& route : person.contact_routes()) {
    out << "  " << RenderRoute(route) << "\n";
  }
}

void Field(std::ostringstream& out, const std::string& name, const std::string& value) {
  std::string key = name + ":";
  key.resize(std::max<size_t>(key.size() + 1, 17), ' ');
  out << key << value << "\n";
}

}  // namespace

bool ParseOutcome(const std::string& text, v1::CopeAndRecoverOutcome* outcome, std::string* error) {
  if (text.empty()) {
    *error = "--outcome needs the measures that improved, or none";
    return false;
  }
  v1::CopeAndRecoverOutcome parsed;
  for (const Measure& measure : kMeasures) {
    (parsed.*measure.set)(false);
  }
  if (text != "none") {
    for (const std::string& name : SplitCommas(text)) {
      const auto* found =
          std::find_if(std::begin(kMeasures), std::end(kMeasures),
                       [&](const Measure& measure) { return name == measure.name; });
      if (found == std::end(kMeasures)) {
        *error = "--outcome: unknown measure '" + name +
                 "' (use cope, safer, health, cjs, access or none)";
        return false;
      }
      (parsed.*found->set)(true);
    }
  }
  *outcome = parsed;
  return true;
}

bool ParseArgs(const std::vector<std::string>& args, Options* options, std::string* error) {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> given;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      *options = Options();
      return true;
    }
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      positional.push_back(arg);
      continue;
    }
    const size_t equals = arg.find('=');
    const std::string name = arg.substr(2, equals == std::string::npos ? equals : equals - 2);
    const auto spec = Flags().find(name);
    if (spec == Flags().end()) {
      *error = "unknown flag --" + name;
      return false;
    }
    std::string value;
    if (spec->second.takes_value) {
      if (equals != std::string::npos) {
        value = arg.substr(equals + 1);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        *error = "--" + name + " needs a value";
        return false;
      }
    } else if (equals != std::string::npos) {
      *error = "--" + name + " takes no value";
      return false;
    }
    if (!spec->second.repeatable && given.count(name) > 0) {
      *error = "--" + name + " given twice";
      return false;
    }
    given[name].push_back(value);
  }

  if (positional.empty()) {
    *error = "no command given";
    return false;
  }
  const auto command = CommandNames().find(positional[0]);
  if (command == CommandNames().end()) {
    *error = "unknown command '" + positional[0] + "'";
    return false;
  }
  Options parsed;
  parsed.command = command->second;
  if (parsed.command == Command::kHelp) {
    *options = parsed;
    return true;
  }
  for (const auto& [name, values] : given) {
    const std::vector<Command>& allowed = Flags().at(name).commands;
    if (!allowed.empty() &&
        std::find(allowed.begin(), allowed.end(), parsed.command) == allowed.end()) {
      *error = "--" + name + " does not apply to " + positional[0];
      return false;
    }
  }
  size_t expected_positionals = 1;
  if (TakesReferralId(parsed.command)) {
    if (positional.size() < 2 || positional[1].empty()) {
      *error = positional[0] + " needs a referral id";
      return false;
    }
    parsed.referral_id = positional[1];
    expected_positionals = 2;
  }
  if (positional.size() > expected_positionals) {
    *error = "unexpected argument '" + positional[expected_positionals] + "'";
    return false;
  }

  auto value_of = [&](const std::string& name) -> const std::string* {
    const auto found = given.find(name);
    return found == given.end() ? nullptr : &found->second.front();
  };
  if (const std::string* target = value_of("target")) {
    parsed.target = *target;
  }
  if (const std::string* caller = value_of("caller")) {
    parsed.caller = *caller;
  }
  if (const std::string* ca = value_of("tls-ca")) {
    parsed.tls_ca_file = *ca;
  }
  if (const std::string* cert = value_of("tls-cert")) {
    parsed.tls_cert_file = *cert;
  }
  if (const std::string* key = value_of("tls-key")) {
    parsed.tls_key_file = *key;
  }
  parsed.json = given.count("json") > 0;
  parsed.follow = given.count("follow") > 0;
  parsed.ack = given.count("ack") > 0;
  if (parsed.target.empty()) {
    *error = "--target needs HOST:PORT";
    return false;
  }
  if (parsed.tls_cert_file.empty() != parsed.tls_key_file.empty()) {
    *error = "--tls-cert and --tls-key go together";
    return false;
  }
  if (parsed.caller.empty() && parsed.tls_cert_file.empty()) {
    *error = "--caller is required without a client certificate (e.g. provider:idva-cambs)";
    return false;
  }
  if (const std::string* max = value_of("max")) {
    if (!ParseCount("max", *max, &parsed.max, error)) {
      return false;
    }
  }
  if (const std::string* timeout = value_of("timeout")) {
    std::chrono::milliseconds duration{};
    if (!ParseSeconds("timeout", *timeout, &duration, error)) {
      return false;
    }
    parsed.timeout = duration;
  }
  if (given.count("status") > 0) {
    for (const std::string& list : given["status"]) {
      for (const std::string& label : SplitCommas(list)) {
        v1::ReferralStatus status{};
        if (!EnumFromLabel(v1::ReferralStatus_descriptor(), label, &status)) {
          *error = "--status: unknown status '" + label + "'";
          return false;
        }
        parsed.statuses.push_back(status);
      }
    }
  }
  if (const std::string* reason = value_of("reason")) {
    if (!EnumFromLabel(v1::RejectionReason_descriptor(), *reason, &parsed.rejection_reason)) {
      *error = "--reason: unknown reason '" + *reason +
               "' (use at-capacity, ineligible, no-safe-contact, duplicate or other)";
      return false;
    }
  }
  if (const std::string* closure = value_of("closure")) {
    const auto found = ClosureNames().find(*closure);
    if (found == ClosureNames().end()) {
      *error = "--closure: unknown reason '" + *closure +
               "' (use refused, lack-of-capacity, no-longer-needed, unable-to-contact or other)";
      return false;
    }
    parsed.closure_reason = found->second;
  }
  if (const std::string* outcome = value_of("outcome")) {
    v1::CopeAndRecoverOutcome measures;
    if (!ParseOutcome(*outcome, &measures, error)) {
      return false;
    }
    parsed.outcome = measures;
  }

  switch (parsed.command) {
    case Command::kReject:
      if (parsed.rejection_reason == v1::REJECTION_REASON_UNSPECIFIED) {
        *error = "reject needs --reason";
        return false;
      }
      break;
    case Command::kComplete:
      if (!parsed.outcome && parsed.closure_reason == v1::CLOSURE_REASON_UNSPECIFIED) {
        *error = "complete needs --outcome or --closure";
        return false;
      }
      break;
    case Command::kFail:
      if (parsed.closure_reason == v1::CLOSURE_REASON_UNSPECIFIED) {
        *error = "fail needs --closure";
        return false;
      }
      break;
    case Command::kWork:
      if (!parsed.outcome) {
        v1::CopeAndRecoverOutcome measures;
        ParseOutcome("cope,safer", &measures, error);
        parsed.outcome = measures;
      }
      break;
    default:
      break;
  }
  *options = std::move(parsed);
  return true;
}

v1::CompleteReferralRequest CompletionRequest(const Options& options) {
  v1::CompleteReferralRequest request;
  request.set_referral_id(options.referral_id);
  request.set_status(options.command == Command::kFail ? v1::REFERRAL_STATUS_FAILED
                                                       : v1::REFERRAL_STATUS_COMPLETED);
  if (options.outcome) {
    *request.mutable_outcome() = *options.outcome;
  }
  request.set_closure_reason(options.closure_reason);
  return request;
}

std::string EnumLabel(const google::protobuf::EnumDescriptor* type, int value) {
  const google::protobuf::EnumValueDescriptor* found = type->FindValueByNumber(value);
  if (found == nullptr) {
    return std::to_string(value);
  }
  // The value names start with the type's name in upper snake case: ReferralStatus →
  // REFERRAL_STATUS_.
  std::string prefix;
  for (char c : type->name()) {
    if (std::isupper(static_cast<unsigned char>(c)) && !prefix.empty()) {
      prefix += '_';
    }
    prefix += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  prefix += '_';
  std::string name = found->name();
  if (name.rfind(prefix, 0) == 0) {
    name = name.substr(prefix.size());
  }
  for (char& c : name) {
    c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return name;
}

std::string RenderOfferLine(const v1::Offer& offer) {
  const v1::Referral& referral = offer.referral();
  std::ostringstream out;
  out << "seq=" << offer.sequence() << " offer=" << OrDash(offer.offer_id())
      << " referral=" << OrDash(referral.referral_id()) << " case=" << OrDash(referral.case_id())
      << " priority=" << EnumLabel(hub::events::v1::Priority_descriptor(), referral.priority())
      << " enhanced=" << YesNo(referral.enhanced())
      << " needs=" << OrDash(JoinRepeated(referral.needs(), ","))
      << " respond_by=" << Time(offer.respond_by());
  return out.str();
}

std::string RenderReferralLine(const v1::Referral& referral) {
  std::ostringstream out;
  out << OrDash(referral.referral_id())
      << " status=" << EnumLabel(v1::ReferralStatus_descriptor(), referral.status())
      << " case=" << OrDash(referral.case_id())
      << " priority=" << EnumLabel(hub::events::v1::Priority_descriptor(), referral.priority())
      << " enhanced=" << YesNo(referral.enhanced())
      << " crime=" << OrDash(referral.crime_category())
      << " needs=" << OrDash(JoinRepeated(referral.needs(), ","));
  if (referral.rejection_reason() != v1::REJECTION_REASON_UNSPECIFIED) {
    out << " reason=" << EnumLabel(v1::RejectionReason_descriptor(), referral.rejection_reason());
  }
  if (referral.closure_reason() != v1::CLOSURE_REASON_UNSPECIFIED) {
    out << " closure=" << EnumLabel(v1::ClosureReason_descriptor(), referral.closure_reason());
  }
  if (referral.has_outcome() && HasAnyMeasure(referral.outcome())) {
    std::vector<std::string> improved;
    for (const Measure& measure : kMeasures) {
      if ((referral.outcome().*measure.get)()) {
        improved.push_back(measure.name);
      }
    }
    out << " improved=" << (improved.empty() ? "none" : Join(improved, ","));
  }
  out << " updated=" << Time(referral.updated_at());
  return out.str();
}

std::string RenderReferral(const v1::Referral& referral) {
  std::ostringstream out;
  Field(out, "referral", OrDash(referral.referral_id()));
  Field(out, "case", OrDash(referral.case_id()));
  Field(out, "provider", OrDash(referral.provider_id()));
  Field(out, "status", EnumLabel(v1::ReferralStatus_descriptor(), referral.status()));
  Field(out, "priority", EnumLabel(hub::events::v1::Priority_descriptor(), referral.priority()));
  std::vector<std::string> categories;
  for (int category : referral.enhanced_categories()) {
    categories.push_back(EnumLabel(hub::events::v1::EnhancedCategory_descriptor(), category));
  }
  Field(out, "enhanced",
        YesNo(referral.enhanced()) +
            (categories.empty() ? std::string() : " (" + Join(categories, ", ") + ")"));
  Field(out, "crime", OrDash(referral.crime_category()));
  Field(out, "needs", OrDash(JoinRepeated(referral.needs(), ", ")));
  Field(out, "age at offence",
        referral.has_age_at_offence() ? std::to_string(referral.age_at_offence()) : "unknown");
  Field(out, "language",
        OrDash(referral.language()) +
            (referral.interpreter_needed() ? " (interpreter needed)" : std::string()));
  std::vector<std::string> needs;
  for (int need : referral.communication_needs()) {
    needs.push_back(EnumLabel(hub::intake::v1::CommunicationNeed_descriptor(), need));
  }
  Field(out, "communication", needs.empty() ? "none recorded" : Join(needs, ", "));
  Field(out, "area",
        OrDash(referral.local_authority_code()) + " " + OrDash(referral.postcode_district()));
  Field(out, "consent",
        EnumLabel(hub::intake::v1::ConsentStatus_descriptor(), referral.consent_status()));
  Field(out, "created", Time(referral.created_at()));
  Field(out, "updated", Time(referral.updated_at()));
  if (referral.rejection_reason() != v1::REJECTION_REASON_UNSPECIFIED) {
    Field(out, "rejection reason",
          EnumLabel(v1::RejectionReason_descriptor(), referral.rejection_reason()));
  }
  if (referral.closure_reason() != v1::CLOSURE_REASON_UNSPECIFIED) {
    Field(out, "closure reason",
          EnumLabel(v1::ClosureReason_descriptor(), referral.closure_reason()));
  }
  if (referral.has_outcome() && HasAnyMeasure(referral.outcome())) {
    Field(out, "outcome", RenderOutcome(referral.outcome()));
  }
  return out.str();
}

std::string RenderContact(const v1::VictimContact& contact) {
  std::ostringstream out;
  out << "referral: " << contact.referral_id() << "\n";
  if (contact.suspect_shares_address()) {
    out << "WARNING: the suspect lives at the victim's address: never write to it or visit "
           "it.\n";
  }
  if (contact.has_name()) {
    out << "name: " << RenderName(contact.name()) << "\n";
  }
  if (!contact.business_name().empty()) {
    out << "business: " << contact.business_name() << "\n";
  }
  for (const auto& route : contact.contact_routes()) {
    out << RenderRoute(route) << "\n";
  }
  if (contact.has_business_contact()) {
    RenderRepresentative("business contact", contact.business_contact(), out);
  }
  if (contact.has_parent_guardian()) {
    RenderRepresentative("parent or guardian", contact.parent_guardian(), out);
  }
  if (contact.contact_routes_size() == 0 && !contact.has_business_contact() &&
      !contact.has_parent_guardian()) {
    out << "no safe contact route: ask the Hub before any contact\n";
  }
  return out.str();
}

std::string RenderJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) {
    return "{}";
  }
  return json;
}

}  // namespace hub::provider_client
