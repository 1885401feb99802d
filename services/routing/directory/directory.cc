#include "services/routing/directory/directory.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "nlohmann/json.hpp"
#include <sys/stat.h>

#include "services/common/status/status_macros.h"
#include "services/common/yamlcheck/yaml_check.h"

namespace hub::routing {
namespace {

using Json = nlohmann::json;
using yamlcheck::Problems;
using FieldSet = std::set<std::string>;

// Where an HSDS service_area's uri names the area routing matches on.
constexpr absl::string_view kGssUriPrefix =
    "http://statistics.data.gov.uk/id/statistical-geography/";
constexpr absl::string_view kPostcodeDistrictUriPrefix =
    "http://data.ordnancesurvey.co.uk/id/postcodedistrict/";
constexpr int kMaxAge = 130;
constexpr int kMaxAcceptTargetHours = 24 * 30;
constexpr int kMaxActive = 100000;

// The HSDS 3.1 properties of each object this flat file holds. HSDS lets publishers add
// properties, but routing reads this file, and a misspelt "minimun_age" must not pass as an
// absent one; so only these, plus the documented `routing` extension, are accepted.
// Relations HSDS may nest (a service's service_areas, phones, ...) are written here as
// top-level arrays linked by id, like HSDS's tabular form, and refused when nested.
const FieldSet& HsdsFields(absl::string_view type) {
  static const auto* fields = new std::map<std::string, FieldSet, std::less<>>{
      {"organization",
       {"id", "name", "alternate_name", "description", "email", "website", "additional_websites",
        "tax_status", "tax_id", "year_incorporated", "legal_status", "logo", "uri",
        "parent_organization_id", "funding", "organization_identifiers", "attributes", "metadata"}},
      {"service",
       {"id",
        "organization_id",
        "program_id",
        "name",
        "alternate_name",
        "description",
        "url",
        "additional_urls",
        "email",
        "status",
        "interpretation_services",
        "application_process",
        "fees_description",
        "wait_time",
        "fees",
        "accreditations",
        "eligibility_description",
        "minimum_age",
        "maximum_age",
        "assured_date",
        "assurer_email",
        "licenses",
        "alert",
        "last_modified",
        "funding",
        "cost_options",
        "program",
        "required_documents",
        "attributes",
        "metadata",
        "routing"}},
      {"service_area",
       {"id", "service_id", "service_at_location_id", "name", "description", "extent",
        "extent_type", "uri", "attributes", "metadata"}},
      {"location",
       {"id", "location_type", "url", "organization_id", "name", "alternate_name", "description",
        "transportation", "latitude", "longitude", "external_identifier",
        "external_identifier_type", "addresses", "accessibility", "attributes", "metadata"}},
      {"schedule",
       {"id",
        "service_id",
        "location_id",
        "service_at_location_id",
        "valid_from",
        "valid_to",
        "dtstart",
        "timezone",
        "until",
        "count",
        "wkst",
        "freq",
        "interval",
        "byday",
        "byweekno",
        "bymonthday",
        "byyearday",
        "description",
        "opens_at",
        "closes_at",
        "schedule_link",
        "attending_type",
        "notes",
        "attributes",
        "metadata"}},
      {"phone",
       {"id", "location_id", "service_id", "organization_id", "contact_id",
        "service_at_location_id", "number", "extension", "type", "description", "attributes",
        "metadata"}},
      {"contact",
       {"id", "organization_id", "service_id", "service_at_location_id", "location_id", "name",
        "title", "department", "email", "attributes", "metadata"}},
      {"service_capacity",
       {"id", "service_id", "unit", "unit_id", "available", "maximum", "description", "updated",
        "attributes", "metadata"}},
      {"unit", {"id", "name", "scheme", "identifier", "uri", "attributes", "metadata"}},
      {"language",
       {"id", "service_id", "location_id", "phone_id", "name", "code", "note", "attributes",
        "metadata"}},
  };
  return fields->find(type)->second;
}

// HSDS relations this file keeps at the top level rather than nested.
const std::map<std::string, std::string>& NestedRelations() {
  static const auto* nested = new std::map<std::string, std::string>{
      {"phones", "phones"},
      {"schedules", "schedules"},
      {"service_areas", "service_areas"},
      {"languages", "languages"},
      {"contacts", "contacts"},
      {"capacities", "service_capacity"},
      {"locations", "locations"},
      {"organization", "organizations"},
      {"service_at_locations", "services and locations"},
      {"programs", "programs"},
  };
  return *nested;
}

const FieldSet& RoutingFields() {
  static const auto* fields = new FieldSet{"key",
                                           "needs",
                                           "categories",
                                           "enhanced_only",
                                           "consent_required",
                                           "accept_target_hours",
                                           "max_active",
                                           "fallback"};
  return *fields;
}

const FieldSet& TopLevelFields() {
  static const auto* fields = new FieldSet{
      "version",   "description", "organizations", "services",         "service_areas", "locations",
      "schedules", "phones",      "contacts",      "service_capacity", "languages"};
  return *fields;
}

std::string JsonType(const Json& value) {
  if (value.is_null()) {
    return "null";
  }
  if (value.is_boolean()) {
    return "a boolean";
  }
  if (value.is_number()) {
    return "a number";
  }
  if (value.is_string()) {
    return "a string";
  }
  if (value.is_array()) {
    return "an array";
  }
  return "an object";
}

std::string Shown(const Json& value) {
  std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  if (text.size() > 60) {
    text = absl::StrCat(text.substr(0, 57), "...");
  }
  return text;
}

bool IsHex(char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); }

// RFC 4122 text form: 8-4-4-4-12 hexadecimal digits.
bool IsUuid(absl::string_view text) {
  if (text.size() != 36) {
    return false;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !IsHex(text[i])) {
      return false;
    }
  }
  return true;
}

// A routing key: lower-case letters, digits and '-', starting with a letter.
bool IsKey(absl::string_view key) {
  if (key.empty() || key.size() > 64 || !absl::ascii_islower(static_cast<unsigned char>(key[0]))) {
    return false;
  }
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if (!absl::ascii_islower(u) && !absl::ascii_isdigit(u) && c != '-') {
      return false;
    }
  }
  return true;
}

// ONS GSS code of a local authority: unitary (E06), district (E07), metropolitan (E08),
// London borough (E09), Welsh principal area (W06).
bool IsLaCode(absl::string_view code) {
  if (code.size() != 9) {
    return false;
  }
  const absl::string_view prefix = code.substr(0, 3);
  if (prefix != "E06" && prefix != "E07" && prefix != "E08" && prefix != "E09" && prefix != "W06") {
    return false;
  }
  for (char c : code.substr(3)) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

// An upper-case outward code: A9, A99, AA9, AA99, A9A, AA9A.
bool IsPostcodeDistrict(absl::string_view d) {
  size_t i = 0;
  while (i < d.size() && i < 2 && absl::ascii_isupper(static_cast<unsigned char>(d[i]))) {
    ++i;
  }
  if (i == 0 || i >= d.size() || !absl::ascii_isdigit(static_cast<unsigned char>(d[i]))) {
    return false;
  }
  const absl::string_view rest = d.substr(i + 1);
  if (rest.empty()) {
    return true;
  }
  if (rest.size() != 1) {
    return false;
  }
  const auto c = static_cast<unsigned char>(rest[0]);
  return absl::ascii_isdigit(c) || absl::ascii_isupper(c);
}

// HH:MM or HH:MM:SS, optionally followed by Z or an offset +HH:MM / -HH:MM.
bool IsTimeOfDay(absl::string_view text) {
  auto two_digits = [](absl::string_view t, size_t at, int max) {
    if (t.size() < at + 2) {
      return false;
    }
    const auto a = static_cast<unsigned char>(t[at]);
    const auto b = static_cast<unsigned char>(t[at + 1]);
    if (!absl::ascii_isdigit(a) || !absl::ascii_isdigit(b)) {
      return false;
    }
    return (a - '0') * 10 + (b - '0') <= max;
  };
  if (!two_digits(text, 0, 24) || text.size() < 5 || text[2] != ':' || !two_digits(text, 3, 59)) {
    return false;
  }
  size_t at = 5;
  if (text.size() >= 8 && text[5] == ':') {
    if (!two_digits(text, 6, 59)) {
      return false;
    }
    at = 8;
  }
  const absl::string_view zone = text.substr(at);
  if (zone.empty() || zone == "Z") {
    return true;
  }
  return zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && two_digits(zone, 1, 14) &&
         zone[3] == ':' && two_digits(zone, 4, 59);
}

// One byday part: MO..SU, for MONTHLY optionally preceded by an occurrence 1..5 or -1..-5.
bool IsByDay(absl::string_view part, bool monthly) {
  static const FieldSet days = {"MO", "TU", "WE", "TH", "FR", "SA", "SU"};
  if (part.size() < 2 || days.count(std::string(part.substr(part.size() - 2))) == 0) {
    return false;
  }
  const absl::string_view ordinal = part.substr(0, part.size() - 2);
  if (ordinal.empty()) {
    return true;
  }
  int n = 0;
  return monthly && absl::SimpleAtoi(ordinal, &n) && n != 0 && n >= -5 && n <= 5;
}

// Reads the fields of one JSON object, reporting each problem under "<where>.<field>".
class Record {
 public:
  Record(const Json& node, std::string where, Problems* problems)
      : node_(node), where_(std::move(where)), problems_(problems) {}

  const std::string& where() const { return where_; }
  std::string Field(absl::string_view field) const { return absl::StrCat(where_, ".", field); }
  bool Has(const std::string& field) const { return node_.contains(field); }
  const Json& Get(const std::string& field) const { return node_.at(field); }
  void Problem(absl::string_view field, absl::string_view what) const {
    problems_->Add(field.empty() ? where_ : Field(field), what);
  }

  void CheckFields(const FieldSet& known) const {
    for (const auto& item : node_.items()) {
      if (known.count(item.key()) > 0) {
        continue;
      }
      const auto nested = NestedRelations().find(item.key());
      if (nested != NestedRelations().end()) {
        Problem(item.key(), absl::StrCat("nested records are not read: list them in the "
                                         "top-level ",
                                         nested->second, " with a reference to this one"));
      } else {
        problems_->Add(where_, absl::StrCat("unknown field '", item.key(), "'"));
      }
    }
  }

  // A present, non-null value of the field, or nullopt (reported when required).
  const Json* Value(const std::string& field, bool required) const {
    auto it = node_.find(field);
    if (it == node_.end() || it->is_null()) {
      if (required) {
        Problem(field, "is required");
      }
      return nullptr;
    }
    return &*it;
  }

  std::optional<std::string> String(const std::string& field, bool required = true) const {
    const Json* value = Value(field, required);
    if (value == nullptr) {
      return std::nullopt;
    }
    if (!value->is_string()) {
      Problem(field, absl::StrCat("must be a string, not ", JsonType(*value)));
      return std::nullopt;
    }
    std::string text = value->get<std::string>();
    if (absl::StripAsciiWhitespace(text).empty()) {
      Problem(field, "must not be empty");
      return std::nullopt;
    }
    return text;
  }

  std::optional<std::string> Uuid(const std::string& field, bool required = true) const {
    std::optional<std::string> text = String(field, required);
    if (text && !IsUuid(*text)) {
      Problem(field, absl::StrCat("must be a UUID (HSDS identifiers are RFC 4122 UUIDs), not '",
                                  Shown(*text), "'"));
      return std::nullopt;
    }
    return text;
  }

  std::optional<std::string> Enum(const std::string& field, const std::vector<std::string>& values,
                                  bool required = true) const {
    std::optional<std::string> text = String(field, required);
    if (!text) {
      return std::nullopt;
    }
    for (const std::string& v : values) {
      if (*text == v) {
        return text;
      }
    }
    Problem(field, absl::StrCat("must be one of ", absl::StrJoin(values, ", "), ", not '",
                                Shown(*text), "'"));
    return std::nullopt;
  }

  std::optional<bool> Bool(const std::string& field, bool required = true) const {
    const Json* value = Value(field, required);
    if (value == nullptr) {
      return std::nullopt;
    }
    if (!value->is_boolean()) {
      Problem(field, absl::StrCat("must be true or false, not ", Shown(*value)));
      return std::nullopt;
    }
    return value->get<bool>();
  }

  // A JSON number that is a whole number in [min, max].
  std::optional<int> Whole(const std::string& field, int min, int max, bool required = true) const {
    const Json* value = Value(field, required);
    if (value == nullptr) {
      return std::nullopt;
    }
    const bool whole = value->is_number_integer() ||
                       (value->is_number_float() &&
                        value->get<double>() == static_cast<double>(value->get<int64_t>()));
    if (!whole) {
      Problem(field, absl::StrCat("must be a whole number from ", min, " to ", max, ", not ",
                                  value->is_number() ? Shown(*value) : JsonType(*value)));
      return std::nullopt;
    }
    const int64_t n = value->get<int64_t>();
    if (n < min || n > max) {
      Problem(field, absl::StrCat("must be a whole number from ", min, " to ", max, ", not ", n));
      return std::nullopt;
    }
    return static_cast<int>(n);
  }

  // Any JSON number (HSDS "number" fields routing does not read).
  void Number(const std::string& field) const {
    const Json* value = Value(field, false);
    if (value != nullptr && !value->is_number()) {
      Problem(field, absl::StrCat("must be a number, not ", JsonType(*value)));
    }
  }

  // HSDS format date-time (RFC 3339), e.g. 2024-05-01T09:00:00Z.
  std::optional<absl::Time> DateTime(const std::string& field, bool required = true) const {
    std::optional<std::string> text = String(field, required);
    if (!text) {
      return std::nullopt;
    }
    absl::Time time;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, *text, &time, &error)) {
      Problem(field, absl::StrCat("must be a date-time like 2024-05-01T09:00:00Z, not '",
                                  Shown(*text), "'"));
      return std::nullopt;
    }
    return time;
  }

  // ISO 8601 date YYYY-MM-DD.
  std::optional<absl::CivilDay> Date(const std::string& field, bool required = true) const {
    std::optional<std::string> text = String(field, required);
    if (!text) {
      return std::nullopt;
    }
    absl::CivilDay day;
    if (text->size() != 10 || !absl::ParseCivilTime(*text, &day) ||
        absl::FormatCivilTime(day) != *text) {
      Problem(field, absl::StrCat("must be a date YYYY-MM-DD, not '", Shown(*text), "'"));
      return std::nullopt;
    }
    return day;
  }

  // An array field (absent is fine unless required); reports a non-array.
  const Json* Array(const std::string& field, bool required = false) const {
    const Json* value = Value(field, required);
    if (value != nullptr && !value->is_array()) {
      Problem(field, absl::StrCat("must be an array, not ", JsonType(*value)));
      return nullptr;
    }
    return value;
  }

 private:
  const Json& node_;
  std::string where_;
  Problems* problems_;
};

// "<list>[<i>] (<key>)" for a service with a routing key, "<list>[<i>] (id <id>)" otherwise.
std::string Label(absl::string_view list, size_t index, const Json& entry) {
  std::string label = absl::StrCat(list, "[", index, "]");
  if (!entry.is_object()) {
    return label;
  }
  auto routing = entry.find("routing");
  if (routing != entry.end() && routing->is_object()) {
    auto key = routing->find("key");
    if (key != routing->end() && key->is_string()) {
      return absl::StrCat(label, " (", key->get<std::string>(), ")");
    }
  }
  auto id = entry.find("id");
  if (id != entry.end() && id->is_string()) {
    absl::StrAppend(&label, " (id ", Shown(*id), ")");
  }
  return label;
}

// Where a record lives, for "also at" messages and reference checks.
struct Known {
  std::map<std::string, std::string> all_ids;  // id -> label of the record holding it.
  std::map<std::string, size_t> organizations;
  std::map<std::string, size_t> services;
  std::set<std::string> locations;
  std::set<std::string> contacts;
  std::set<std::string> phones;
};

class Parser {
 public:
  Parser(const Json& root, const offences::OffenceTable& offences, Problems* problems)
      : root_(root), offences_(offences), problems_(problems) {
    for (const auto& need : offences.need_domains()) {
      need_ids_.insert(need.id);
    }
  }

  void Run(std::string* version, std::vector<Organization>* organizations,
           std::vector<Service>* services) {
    for (const auto& item : root_.items()) {
      if (TopLevelFields().count(item.key()) == 0) {
        problems_->Add(item.key(), "unknown top-level field");
      }
    }
    if (root_.contains("version")) {
      const Json& v = root_.at("version");
      if (!v.is_string() || v.get<std::string>().empty()) {
        problems_->Add("version", "must be a non-empty string");
      } else {
        *version = v.get<std::string>();
      }
    }
    // Ids first, so references can point forwards.
    for (const char* list : {"organizations", "services", "service_areas", "locations", "schedules",
                             "phones", "contacts", "service_capacity", "languages"}) {
      CollectIds(list);
    }
    ReadOrganizations(organizations);
    ReadServices(*organizations, services);
    ReadLocations();
    ReadContacts(services);
    ReadServiceAreas(services);
    ReadSchedules(services);
    ReadPhones(services);
    ReadCapacities(services);
    ReadLanguages(services);
    CheckServices(*services);
  }

 private:
  // The array at `list`, or null (reported when required and missing or not an array).
  const Json* List(const char* list, bool required) {
    auto it = root_.find(list);
    if (it == root_.end()) {
      if (required) {
        problems_->Add(list, "is required");
      }
      return nullptr;
    }
    if (!it->is_array()) {
      problems_->Add(list, absl::StrCat("must be an array, not ", JsonType(*it)));
      return nullptr;
    }
    return &*it;
  }

  void CollectIds(const char* list) {
    auto it = root_.find(list);
    if (it == root_.end() || !it->is_array()) {
      return;
    }
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& entry = (*it)[i];
      if (!entry.is_object() || !entry.contains("id") || !entry["id"].is_string()) {
        continue;
      }
      const std::string id = entry["id"].get<std::string>();
      const std::string label = Label(list, i, entry);
      auto [at, inserted] = known_.all_ids.emplace(id, label);
      if (!inserted) {
        problems_->Add(absl::StrCat(label, ".id"),
                       absl::StrCat("duplicate id '", id, "' (also ", at->second, ")"));
        continue;
      }
      const absl::string_view name = list;
      if (name == "organizations") {
        known_.organizations.emplace(id, i);
      }
      if (name == "services") {
        known_.services.emplace(id, i);
      }
      if (name == "locations") {
        known_.locations.insert(id);
      }
      if (name == "contacts") {
        known_.contacts.insert(id);
      }
      if (name == "phones") {
        known_.phones.insert(id);
      }
    }
  }

  // Calls `read` for each object of `list`; reports entries that are not objects.
  template <typename Fn>
  void Each(const char* list, bool required, const std::string& type, Fn read) {
    const Json* entries = List(list, required);
    if (entries == nullptr) {
      return;
    }
    for (size_t i = 0; i < entries->size(); ++i) {
      const Json& entry = (*entries)[i];
      const std::string label = Label(list, i, entry);
      if (!entry.is_object()) {
        problems_->Add(label, absl::StrCat("must be an object, not ", JsonType(entry)));
        continue;
      }
      Record record(entry, label, problems_);
      record.CheckFields(HsdsFields(type));
      record.Uuid("id");
      record.Array("attributes");
      record.Array("metadata");
      read(record, entry);
    }
  }

  // A reference field that must name a record of `kind` held in `ids`.
  template <typename Ids>
  std::optional<std::string> Reference(const Record& record, const std::string& field,
                                       const Ids& ids, absl::string_view kind, bool required) {
    std::optional<std::string> id = record.Uuid(field, required);
    if (id && ids.count(*id) == 0) {
      record.Problem(field, absl::StrCat("no ", kind, " has id '", *id, "'"));
      return std::nullopt;
    }
    return id;
  }

  Service* ServiceById(std::vector<Service>* services, const std::optional<std::string>& id) {
    if (!id) {
      return nullptr;
    }
    auto it = known_.services.find(*id);
    // Indices are file positions; an entry that was not an object shifts them, but such a
    // file is refused anyway, so a mismatch just means "not found".
    if (it == known_.services.end() || it->second >= services->size() ||
        (*services)[it->second].id != *id) {
      return nullptr;
    }
    return &(*services)[it->second];
  }

  void ReadOrganizations(std::vector<Organization>* organizations) {
    Each("organizations", true, "organization", [&](const Record& r, const Json&) {
      Organization org;
      org.id = r.Uuid("id").value_or("");
      org.name = r.String("name").value_or("");
      org.description = r.String("description").value_or("");
      r.Number("year_incorporated");
      if (r.Has("parent_organization_id")) {
        Reference(r, "parent_organization_id", known_.organizations, "organization", false);
      }
      organizations->push_back(std::move(org));
    });
    if (organizations->empty() && root_.contains("organizations")) {
      problems_->Add("organizations", "must list at least one organization");
    }
  }

  void ReadServices(const std::vector<Organization>& organizations,
                    std::vector<Service>* services) {
    Each("services", true, "service", [&](const Record& r, const Json& entry) {
      Service s;
      s.id = r.Uuid("id").value_or("");
      s.name = r.String("name").value_or("");
      r.String("description", false);
      if (r.Has("description") && r.Get("description").is_string()) {
        s.description = r.Get("description").get<std::string>();
      }
      std::optional<std::string> org =
          Reference(r, "organization_id", known_.organizations, "organization", true);
      if (org) {
        s.organization_id = *org;
        auto at = known_.organizations.find(*org);
        if (at->second < organizations.size() && organizations[at->second].id == *org) {
          s.organization_name = organizations[at->second].name;
        }
      }
      std::optional<std::string> status =
          r.Enum("status", {"active", "inactive", "defunct", "temporarily closed"});
      if (status == "inactive") {
        s.status = ServiceStatus::kInactive;
      }
      if (status == "defunct") {
        s.status = ServiceStatus::kDefunct;
      }
      if (status == "temporarily closed") {
        s.status = ServiceStatus::kTemporarilyClosed;
      }
      s.eligibility_description = r.String("eligibility_description", false).value_or("");
      s.minimum_age = r.Whole("minimum_age", 0, kMaxAge, false);
      s.maximum_age = r.Whole("maximum_age", 0, kMaxAge, false);
      if (s.minimum_age && s.maximum_age && *s.minimum_age > *s.maximum_age) {
        r.Problem("minimum_age",
                  absl::StrCat("is ", *s.minimum_age, ", above maximum_age ", *s.maximum_age));
      }
      r.DateTime("last_modified", false);
      r.Date("assured_date", false);
      ReadRouting(r, entry, &s);
      services->push_back(std::move(s));
    });
  }

  void ReadRouting(const Record& service, const Json& entry, Service* s) {
    if (!entry.contains("routing")) {
      service.Problem("routing", "is required: routing cannot offer a service without it");
      return;
    }
    const Json& node = entry.at("routing");
    if (!node.is_object()) {
      service.Problem("routing", absl::StrCat("must be an object, not ", JsonType(node)));
      return;
    }
    Record r(node, service.Field("routing"), problems_);
    r.CheckFields(RoutingFields());
    std::optional<std::string> key = r.String("key");
    if (key) {
      if (!IsKey(*key)) {
        r.Problem("key", absl::StrCat("must be lower-case letters, digits and '-', starting "
                                      "with a letter, not '",
                                      Shown(*key), "'"));
      } else if (auto [at, inserted] = keys_.emplace(*key, service.where()); !inserted) {
        r.Problem("key", absl::StrCat("duplicate key '", *key, "' (also ", at->second, ")"));
      } else {
        s->key = *key;
      }
    }
    // needs: a non-empty array of need-domain ids.
    if (const Json* needs = r.Array("needs", true); needs != nullptr) {
      if (needs->empty()) {
        r.Problem("needs", "must name at least one need domain");
      }
      for (size_t i = 0; i < needs->size(); ++i) {
        const std::string field = absl::StrCat("needs[", i, "]");
        const Json& need = (*needs)[i];
        if (!need.is_string()) {
          r.Problem(field, absl::StrCat("must be a need-domain id, not ", JsonType(need)));
        } else if (need_ids_.count(need.get<std::string>()) == 0) {
          r.Problem(field, absl::StrCat("unknown need domain '", Shown(need), "'"));
        } else if (!s->needs.insert(need.get<std::string>()).second) {
          r.Problem(field, absl::StrCat("'", Shown(need), "' is listed twice"));
        }
      }
    }
    // categories: "any" or a non-empty array of crime-category ids.
    if (const Json* categories = r.Value("categories", true); categories != nullptr) {
      if (categories->is_string() && categories->get<std::string>() == "any") {
        s->any_category = true;
      } else if (!categories->is_array() || categories->empty()) {
        r.Problem("categories", "must be \"any\" or a non-empty array of crime-category ids");
      } else {
        for (size_t i = 0; i < categories->size(); ++i) {
          const std::string field = absl::StrCat("categories[", i, "]");
          const Json& category = (*categories)[i];
          if (!category.is_string()) {
            r.Problem(field, absl::StrCat("must be a crime-category id, not ", JsonType(category)));
          } else if (offences_.FindCategory(category.get<std::string>()) == nullptr) {
            r.Problem(field, absl::StrCat("unknown crime category '", Shown(category), "'"));
          } else if (!s->categories.insert(category.get<std::string>()).second) {
            r.Problem(field, absl::StrCat("'", Shown(category), "' is listed twice"));
          }
        }
      }
    }
    s->enhanced_only = r.Bool("enhanced_only").value_or(false);
    s->consent_required = r.Bool("consent_required").value_or(false);
    if (std::optional<int> hours = r.Whole("accept_target_hours", 1, kMaxAcceptTargetHours)) {
      s->accept_target = absl::Hours(*hours);
    }
    s->max_active = r.Whole("max_active", 1, kMaxActive).value_or(0);
    s->fallback = r.Bool("fallback", false).value_or(false);
  }

  void ReadLocations() {
    Each("locations", false, "location", [&](const Record& r, const Json&) {
      r.Enum("location_type", {"physical", "postal", "virtual"});
      r.String("name", false);
      if (r.Has("organization_id")) {
        Reference(r, "organization_id", known_.organizations, "organization", false);
      }
      r.Number("latitude");
      r.Number("longitude");
    });
  }

  void ReadContacts(std::vector<Service>* services) {
    Each("contacts", false, "contact", [&](const Record& r, const Json&) {
      bool linked = false;
      if (r.Has("organization_id")) {
        linked = true;
        Reference(r, "organization_id", known_.organizations, "organization", false);
      }
      if (r.Has("service_id")) {
        linked = true;
        Service* s =
            ServiceById(services, Reference(r, "service_id", known_.services, "service", false));
        std::optional<std::string> email = r.String("email", /*required=*/false);
        if (s != nullptr && email && !email->empty()) {
          s->emails.push_back(*email);
        }
      }
      if (r.Has("location_id")) {
        linked = true;
        Reference(r, "location_id", known_.locations, "location", false);
      }
      if (!linked) {
        r.Problem("", "must name its organization_id, service_id or location_id");
      }
    });
  }

  void ReadServiceAreas(std::vector<Service>* services) {
    Each("service_areas", true, "service_area", [&](const Record& r, const Json&) {
      Service* s =
          ServiceById(services, Reference(r, "service_id", known_.services, "service", true));
      r.String("name", false);
      r.String("extent", false);
      if (r.Has("extent_type")) {
        r.Enum("extent_type", {"geojson", "topojson", "kml", "text"});
      }
      std::optional<std::string> uri = r.String("uri");
      if (!uri) {
        return;
      }
      if (absl::StartsWith(*uri, kGssUriPrefix)) {
        const std::string code(absl::string_view(*uri).substr(kGssUriPrefix.size()));
        if (!IsLaCode(code)) {
          r.Problem("uri", absl::StrCat("'", code,
                                        "' is not a local authority GSS code (E06, E07, E08, "
                                        "E09 or W06 and six digits)"));
        } else if (s != nullptr) {
          s->la_codes.insert(code);
        }
      } else if (absl::StartsWith(*uri, kPostcodeDistrictUriPrefix)) {
        const std::string district(
            absl::string_view(*uri).substr(kPostcodeDistrictUriPrefix.size()));
        if (!IsPostcodeDistrict(district)) {
          r.Problem("uri", absl::StrCat("'", district,
                                        "' is not an upper-case postcode district like PE1"));
        } else if (s != nullptr) {
          s->postcode_districts.insert(district);
        }
      } else {
        r.Problem("uri",
                  absl::StrCat("must name the area: ", kGssUriPrefix, "<GSS code> or ",
                               kPostcodeDistrictUriPrefix, "<district>, not '", Shown(*uri), "'"));
      }
    });
  }

  void ReadSchedules(std::vector<Service>* services) {
    Each("schedules", false, "schedule", [&](const Record& r, const Json&) {
      Service* s = nullptr;
      if (r.Has("service_id")) {
        s = ServiceById(services, Reference(r, "service_id", known_.services, "service", false));
      } else if (r.Has("location_id")) {
        Reference(r, "location_id", known_.locations, "location", false);
      } else {
        r.Problem("", "must name its service_id or location_id");
      }
      Schedule schedule;
      std::optional<std::string> freq = r.Enum("freq", {"WEEKLY", "MONTHLY"}, false);
      schedule.freq = freq.value_or("");
      if (std::optional<std::string> byday = r.String("byday", false)) {
        for (absl::string_view part : absl::StrSplit(*byday, ',')) {
          if (!IsByDay(part, freq == "MONTHLY")) {
            r.Problem("byday", absl::StrCat("'", part,
                                            "' is not a day (MO,TU,WE,TH,FR,SA,SU; MONTHLY may "
                                            "prefix an occurrence such as 2MO or -1FR)"));
          }
          schedule.byday.emplace_back(part);
        }
      }
      r.Enum("wkst", {"MO", "TU", "WE", "TH", "FR", "SA", "SU"}, false);
      for (const char* field : {"opens_at", "closes_at"}) {
        std::optional<std::string> time = r.String(field, false);
        if (time && !IsTimeOfDay(*time)) {
          r.Problem(field, absl::StrCat("must be a time HH:MM, optionally with seconds and Z "
                                        "or an offset, not '",
                                        Shown(*time), "'"));
        } else if (time) {
          (absl::string_view(field) == "opens_at" ? schedule.opens_at : schedule.closes_at) = *time;
        }
      }
      std::optional<absl::CivilDay> from = r.Date("valid_from", false);
      std::optional<absl::CivilDay> to = r.Date("valid_to", false);
      if (from && to && *from > *to) {
        r.Problem("valid_from", absl::StrCat("is after valid_to ", absl::FormatCivilTime(*to)));
      }
      r.Date("dtstart", false);
      r.Date("until", false);
      for (const char* number : {"timezone", "count", "interval"}) {
        r.Number(number);
      }
      schedule.description = r.String("description", false).value_or("");
      if (s != nullptr) {
        s->schedules.push_back(std::move(schedule));
      }
    });
  }

  void ReadPhones(std::vector<Service>* services) {
    Each("phones", false, "phone", [&](const Record& r, const Json&) {
      std::optional<std::string> number = r.String("number");
      bool linked = false;
      if (r.Has("service_id")) {
        linked = true;
        Service* s =
            ServiceById(services, Reference(r, "service_id", known_.services, "service", false));
        if (s != nullptr && number) {
          s->phones.push_back(*number);
        }
      }
      if (r.Has("organization_id")) {
        linked = true;
        Reference(r, "organization_id", known_.organizations, "organization", false);
      }
      if (r.Has("contact_id")) {
        linked = true;
        Reference(r, "contact_id", known_.contacts, "contact", false);
      }
      if (r.Has("location_id")) {
        linked = true;
        Reference(r, "location_id", known_.locations, "location", false);
      }
      if (!linked) {
        r.Problem("", "must name its service_id, organization_id, contact_id or location_id");
      }
      r.Number("extension");
    });
  }

  void ReadCapacities(std::vector<Service>* services) {
    std::map<std::string, std::string> seen;  // service id -> label of its capacity.
    Each("service_capacity", false, "service_capacity", [&](const Record& r, const Json&) {
      std::optional<std::string> service_id =
          Reference(r, "service_id", known_.services, "service", true);
      Service* s = ServiceById(services, service_id);
      if (service_id) {
        auto [at, inserted] = seen.emplace(*service_id, r.where());
        if (!inserted) {
          r.Problem("service_id",
                    absl::StrCat("the service already has a capacity (", at->second, ")"));
        }
      }
      // HSDS requires the unit object; the flat form also names it by unit_id.
      if (const Json* unit = r.Value("unit", true); unit != nullptr) {
        if (!unit->is_object()) {
          r.Problem("unit", absl::StrCat("must be an object, not ", JsonType(*unit)));
        } else {
          Record u(*unit, r.Field("unit"), problems_);
          u.CheckFields(HsdsFields("unit"));
          std::optional<std::string> unit_id = u.Uuid("id");
          u.String("name");
          std::optional<std::string> named = r.Uuid("unit_id", false);
          if (unit_id && named && *unit_id != *named) {
            r.Problem("unit_id", absl::StrCat("is '", *named, "' but unit.id is '", *unit_id, "'"));
          }
        }
      }
      std::optional<int> available = r.Whole("available", 0, kMaxActive);
      std::optional<int> maximum = r.Whole("maximum", 1, kMaxActive, false);
      if (available && maximum && *available > *maximum) {
        r.Problem("available", absl::StrCat("is ", *available, ", above maximum ", *maximum));
      }
      r.DateTime("updated");
      r.String("description", false);
      if (s != nullptr) {
        if (maximum && s->max_active > 0 && *maximum != s->max_active) {
          r.Problem("maximum", absl::StrCat("is ", *maximum,
                                            " but the service's "
                                            "routing.max_active is ",
                                            s->max_active, "; they must agree"));
        }
        s->capacity_available = available;
      }
    });
  }

  void ReadLanguages(std::vector<Service>* services) {
    Each("languages", false, "language", [&](const Record& r, const Json&) {
      std::optional<std::string> code = r.String("code");
      if (code) {
        const bool ok = (code->size() == 2 || code->size() == 3) &&
                        std::all_of(code->begin(), code->end(), [](char c) {
                          return absl::ascii_islower(static_cast<unsigned char>(c));
                        });
        if (!ok) {
          r.Problem("code", absl::StrCat("must be an ISO 639-1 or 639-3 code like 'en' or 'pol', "
                                         "not '",
                                         Shown(*code), "'"));
          code.reset();
        }
      }
      r.String("name", false);
      if (r.Has("service_id")) {
        Service* s =
            ServiceById(services, Reference(r, "service_id", known_.services, "service", false));
        if (s != nullptr && code) {
          s->languages.push_back(*code);
        }
      } else if (r.Has("location_id")) {
        Reference(r, "location_id", known_.locations, "location", false);
      } else if (r.Has("phone_id")) {
        Reference(r, "phone_id", known_.phones, "phone", false);
      } else {
        r.Problem("", "must name its service_id, location_id or phone_id");
      }
    });
  }

  // Rules across records: coverage, and exactly one active fallback.
  void CheckServices(const std::vector<Service>& services) {
    std::vector<std::string> fallbacks;
    const Json* entries = List("services", false);
    for (size_t i = 0; i < services.size(); ++i) {
      const Service& s = services[i];
      const std::string label =
          entries != nullptr && i < entries->size() ? Label("services", i, (*entries)[i]) : "";
      if (s.la_codes.empty() && s.postcode_districts.empty()) {
        problems_->Add(label,
                       "covers no area: add service_areas naming its local authorities "
                       "or postcode districts");
      }
      if (s.fallback) {
        fallbacks.push_back(label);
        if (!s.active()) {
          problems_->Add(absl::StrCat(label, ".status"), "the fallback service must be active");
        }
        if (s.enhanced_only || s.minimum_age || s.maximum_age || !s.any_category) {
          problems_->Add(absl::StrCat(label, ".routing.fallback"),
                         "the fallback must take every victim: categories \"any\", no age "
                         "limits, not enhanced_only");
        }
      }
    }
    if (fallbacks.empty() && !services.empty()) {
      problems_->Add("services",
                     "no service has routing.fallback true; exactly one must (the "
                     "Hub's own Victim Care team)");
    } else if (fallbacks.size() > 1) {
      problems_->Add("services",
                     absl::StrCat("more than one fallback: ", absl::StrJoin(fallbacks, ", "),
                                  "; exactly one service may be the fallback"));
    }
  }

  const Json& root_;
  const offences::OffenceTable& offences_;
  Problems* problems_;
  std::set<std::string> need_ids_;
  std::map<std::string, std::string> keys_;
  Known known_;
};

}  // namespace

absl::string_view ServiceStatusName(ServiceStatus status) {
  switch (status) {
    case ServiceStatus::kActive:
      return "active";
    case ServiceStatus::kInactive:
      return "inactive";
    case ServiceStatus::kDefunct:
      return "defunct";
    case ServiceStatus::kTemporarilyClosed:
      return "temporarily closed";
  }
  return "unknown";
}

std::string NormalizePostcodeDistrict(absl::string_view text) {
  std::string upper = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(text));
  // A full postcode: the district is everything before the space, or all but the last
  // three characters (the inward code) when written without one.
  if (const size_t space = upper.find(' '); space != std::string::npos) {
    upper.resize(space);
  } else if (upper.size() >= 5 && !IsPostcodeDistrict(upper)) {
    upper.resize(upper.size() - 3);
  }
  return IsPostcodeDistrict(upper) ? upper : std::string();
}

bool Covers(const Service& service, absl::string_view la_code,
            absl::string_view postcode_district) {
  if (!la_code.empty() && service.la_codes.count(std::string(la_code)) > 0) {
    return true;
  }
  if (postcode_district.empty()) {
    return false;
  }
  const std::string district = NormalizePostcodeDistrict(postcode_district);
  return !district.empty() && service.postcode_districts.count(district) > 0;
}

absl::StatusOr<std::shared_ptr<const Directory>> Directory::Parse(
    absl::string_view json_text, const offences::OffenceTable& offences) {
  Json root;
  try {
    root = Json::parse(json_text.begin(), json_text.end());
  } catch (const Json::parse_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("not valid JSON at byte ", e.byte, ": ", e.what()));
  }
  if (!root.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the directory must be a JSON object, not ", JsonType(root)));
  }
  Problems problems;
  std::shared_ptr<Directory> directory(new Directory());
  Parser parser(root, offences, &problems);
  parser.Run(&directory->version_, &directory->organizations_, &directory->services_);
  HUB_RETURN_IF_ERROR(problems.ToStatus());
  for (size_t i = 0; i < directory->organizations_.size(); ++i) {
    directory->organization_index_.emplace(directory->organizations_[i].id, i);
  }
  for (size_t i = 0; i < directory->services_.size(); ++i) {
    const Service& s = directory->services_[i];
    directory->service_index_.emplace(s.id, i);
    directory->service_index_.emplace(s.key, i);
    if (s.fallback) {
      directory->fallback_index_ = i;
    }
  }
  return std::shared_ptr<const Directory>(std::move(directory));
}

absl::StatusOr<std::shared_ptr<const Directory>> Directory::Load(
    const std::string& path, const offences::OffenceTable& offences) {
  std::string text;
  HUB_RETURN_IF_ERROR(yamlcheck::ReadFile(path, &text));
  absl::StatusOr<std::shared_ptr<const Directory>> directory = Parse(text, offences);
  if (!directory.ok()) {
    return absl::Status(directory.status().code(),
                        absl::StrCat(path, ": ", directory.status().message()));
  }
  return directory;
}

const Service* Directory::FindService(absl::string_view id_or_key) const {
  auto it = service_index_.find(id_or_key);
  return it == service_index_.end() ? nullptr : &services_[it->second];
}

const Organization* Directory::FindOrganization(absl::string_view id) const {
  auto it = organization_index_.find(id);
  return it == organization_index_.end() ? nullptr : &organizations_[it->second];
}

std::vector<const Service*> Directory::Covering(absl::string_view la_code,
                                                absl::string_view postcode_district) const {
  std::vector<const Service*> covering;
  for (const Service& s : services_) {
    if (s.active() && Covers(s, la_code, postcode_district)) {
      covering.push_back(&s);
    }
  }
  return covering;
}

absl::StatusOr<std::unique_ptr<DirectorySource>> DirectorySource::Create(
    std::string path, const offences::OffenceTable* offences) {
  std::unique_ptr<DirectorySource> source(new DirectorySource(std::move(path), offences));
  const Stamp stamp = source->Stat();
  HUB_ASSIGN_OR_RETURN(std::shared_ptr<const Directory> directory,
                       Directory::Load(source->path_, *offences));
  absl::MutexLock lock(&source->mu_);
  source->current_ = std::move(directory);
  source->stamp_ = stamp;
  return source;
}

std::shared_ptr<const Directory> DirectorySource::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

absl::StatusOr<std::string> DirectorySource::Reload() {
  // Stat before reading: a write that lands while we read changes the stamp again, so it is
  // picked up next time rather than lost.
  const Stamp stamp = Stat();
  absl::StatusOr<std::shared_ptr<const Directory>> directory = Directory::Load(path_, *offences_);
  absl::MutexLock lock(&mu_);
  stamp_ = stamp;
  if (!directory.ok()) {
    return directory.status();
  }
  current_ = *std::move(directory);
  return current_->version();
}

bool DirectorySource::Changed() {
  const Stamp stamp = Stat();
  absl::MutexLock lock(&mu_);
  return !(stamp == stamp_);
}

DirectorySource::Stamp DirectorySource::Stat() const {
  Stamp stamp;
  struct stat info {};
  if (::stat(path_.c_str(), &info) == 0) {
    stamp.size = static_cast<int64_t>(info.st_size);
    stamp.mtime_ns = static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 +
                     static_cast<int64_t>(info.st_mtim.tv_nsec);
    stamp.inode = static_cast<int64_t>(info.st_ino);
  }
  return stamp;
}

std::string DefaultDirectoryPath() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read once at start-up, before threads start.
  const char* dir = std::getenv("HUB_DIRECTORY_DIR");
  const std::string base = (dir != nullptr && *dir != '\0') ? dir : HUB_DEFAULT_DIRECTORY_DIR;
  return absl::StrCat(base, "/providers.json");
}

}  // namespace hub::routing
