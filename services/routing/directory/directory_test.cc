#include "services/routing/directory/directory.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

#include "services/common/status/status_matchers.h"

namespace hub::routing {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

const std::string& SamplePath() {
  static const auto* path = new std::string(HUB_SOURCE_DIR "/deploy/directory/providers.json");
  return *path;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteText(const std::string& path, const std::string& text) {
  // Write then rename, as an operator's deploy would, so a reader never sees half a file.
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    ASSERT_TRUE(out) << "cannot write " << temp;
    out << text;
  }
  ASSERT_EQ(std::rename(temp.c_str(), path.c_str()), 0);
}

const offences::OffenceTable& Offences() {
  static const auto* table = [] {
    absl::StatusOr<offences::OffenceTable> loaded =
        offences::OffenceTable::Load(offences::DefaultOffenceTablePath());
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new offences::OffenceTable(*std::move(loaded));
  }();
  return *table;
}

const Json& Sample() {
  static const auto* sample = new Json(Json::parse(ReadText(SamplePath())));
  return *sample;
}

// Index of the service with routing key `key` in the sample.
size_t ServiceAt(const std::string& key) {
  const Json& services = Sample()["services"];
  for (size_t i = 0; i < services.size(); ++i) {
    if (services[i]["routing"]["key"] == key) {
      return i;
    }
  }
  ADD_FAILURE() << "no service " << key;
  return 0;
}

std::string ServiceId(const std::string& key) {
  return Sample()["services"][ServiceAt(key)]["id"].get<std::string>();
}

// Index of the first element of `list` whose service_id is the service `key`.
size_t RecordOf(const std::string& list, const std::string& key) {
  const Json& records = Sample()[list];
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].value("service_id", "") == ServiceId(key)) {
      return i;
    }
  }
  ADD_FAILURE() << "no " << list << " for " << key;
  return 0;
}

absl::StatusOr<std::shared_ptr<const Directory>> ParseEdited(
    const std::function<void(Json&)>& edit) {
  Json copy = Sample();
  edit(copy);
  return Directory::Parse(copy.dump(), Offences());
}

TEST(DirectoryTest, ShippedSampleLoads) {
  absl::StatusOr<std::shared_ptr<const Directory>> loaded =
      Directory::Load(SamplePath(), Offences());
  ASSERT_THAT(loaded, IsOk());
  const Directory& directory = **loaded;
  EXPECT_FALSE(directory.version().empty());
  EXPECT_EQ(directory.services().size(), 15u);
  EXPECT_EQ(directory.fallback().key, "hub-victim-care");
  EXPECT_TRUE(directory.fallback().any_category);
  EXPECT_EQ(directory.fallback().la_codes.size(), 6u);

  const Service* isva = directory.FindService("isva-cambs");
  ASSERT_NE(isva, nullptr);
  EXPECT_EQ(directory.FindService(isva->id), isva);
  EXPECT_TRUE(isva->consent_required);
  EXPECT_TRUE(isva->MeetsNeed("sexual_violence"));
  EXPECT_TRUE(isva->AcceptsCategory("rape"));
  EXPECT_FALSE(isva->AcceptsCategory("burglary_residential"));
  EXPECT_FALSE(isva->AcceptsAge(17));
  EXPECT_EQ(isva->organization_name, "Cambridgeshire Rape Crisis Partnership");
  EXPECT_NE(directory.FindOrganization(isva->organization_id), nullptr);

  const Service* security = directory.FindService("home-security");
  ASSERT_NE(security, nullptr);
  EXPECT_EQ(security->minimum_age, 65);
  EXPECT_FALSE(security->AcceptsAge(64));
  EXPECT_EQ(security->max_active, 20);

  const Service* sarc = directory.FindService("sarc");
  ASSERT_NE(sarc, nullptr);
  EXPECT_EQ(sarc->accept_target, absl::Hours(2));
  ASSERT_EQ(sarc->schedules.size(), 1u);
  EXPECT_THAT(sarc->schedules[0].byday, ElementsAre("MO", "TU", "WE", "TH", "FR", "SA", "SU"));

  const Service* slavery = directory.FindService("modern-slavery");
  ASSERT_NE(slavery, nullptr);
  EXPECT_THAT(slavery->languages, ::testing::Contains("pl"));
  EXPECT_EQ(directory.FindService("no-such-service"), nullptr);
  // Every service's phone number is in Ofcom's drama range.
  for (const Service& s : directory.services()) {
    ASSERT_FALSE(s.phones.empty()) << s.key;
    for (const std::string& phone : s.phones) {
      EXPECT_THAT(phone, ::testing::StartsWith("01632 960"));
    }
  }
}

TEST(DirectoryTest, CoverageByLocalAuthorityOrPostcodeDistrict) {
  absl::StatusOr<std::shared_ptr<const Directory>> loaded =
      Directory::Load(SamplePath(), Offences());
  ASSERT_THAT(loaded, IsOk());
  const Directory& directory = **loaded;
  const Service& peterborough_idva = *directory.FindService("idva-peterborough");
  EXPECT_TRUE(Covers(peterborough_idva, "E06000031", ""));
  EXPECT_TRUE(Covers(peterborough_idva, "E07000010", "pe7"));  // Whittlesey, in Fenland.
  EXPECT_TRUE(Covers(peterborough_idva, "", "PE7 1AB"));
  EXPECT_FALSE(Covers(peterborough_idva, "E07000008", "CB4"));
  EXPECT_FALSE(Covers(peterborough_idva, "", ""));

  const Service& pathfinder = *directory.FindService("mh-pathfinder");
  EXPECT_TRUE(Covers(pathfinder, "E07000008", "CB4"));
  EXPECT_FALSE(Covers(pathfinder, "E07000008", "CB21"));  // South of the pilot area.

  auto keys = [](const std::vector<const Service*>& services) {
    std::vector<std::string> out;
    out.reserve(services.size());
    for (const Service* s : services) {
      out.push_back(s->key);
    }
    return out;
  };
  // Wisbech (PE13) is covered by the home-security scheme; Chatteris (PE16) is not.
  EXPECT_THAT(keys(directory.Covering("E07000010", "PE13")), ::testing::Contains("home-security"));
  EXPECT_THAT(keys(directory.Covering("E07000010", "PE16")),
              Not(::testing::Contains("home-security")));
  EXPECT_THAT(keys(directory.Covering("E07000010", "PE16")),
              ::testing::Contains("hub-victim-care"));
  // Outside the county only a postcode district can match, and none does.
  EXPECT_TRUE(directory.Covering("E09000001", "EC1").empty());
}

TEST(DirectoryTest, NormalizesPostcodeDistricts) {
  EXPECT_EQ(NormalizePostcodeDistrict(" pe1 "), "PE1");
  EXPECT_EQ(NormalizePostcodeDistrict("CB4 1AA"), "CB4");
  EXPECT_EQ(NormalizePostcodeDistrict("cb41aa"), "CB4");
  EXPECT_EQ(NormalizePostcodeDistrict("EC1A 1BB"), "EC1A");
  EXPECT_EQ(NormalizePostcodeDistrict("CB21"), "CB21");
  EXPECT_EQ(NormalizePostcodeDistrict("not a postcode"), "");
  EXPECT_EQ(NormalizePostcodeDistrict(""), "");
}

struct Refusal {
  std::string name;
  std::function<void(Json&)> edit;
  std::string message;  // Expected in the error, naming the record and field.
};

class RefusalTest : public ::testing::TestWithParam<Refusal> {};

TEST_P(RefusalTest, NamesRecordAndField) {
  EXPECT_THAT(ParseEdited(GetParam().edit),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().message)));
}

std::string S(const std::string& key) {
  return "services[" + std::to_string(ServiceAt(key)) + "] (" + key + ")";
}

std::vector<Refusal> Refusals() {
  return {
      {"UnknownNeed",
       [](Json& d) {
         d["services"][ServiceAt("isva-cambs")]["routing"]["needs"][1] = "sexual_violense";
       },
       S("isva-cambs") + ".routing.needs[1]: unknown need domain 'sexual_violense'"},
      {"UnknownCategory",
       [](Json& d) { d["services"][ServiceAt("isva-cambs")]["routing"]["categories"][0] = "rap"; },
       S("isva-cambs") + ".routing.categories[0]: unknown crime category 'rap'"},
      {"CategoriesNotAny",
       [](Json& d) { d["services"][ServiceAt("sarc")]["routing"]["categories"] = "all"; },
       S("sarc") + ".routing.categories: must be \"any\" or a non-empty array"},
      {"NoNeeds",
       [](Json& d) { d["services"][ServiceAt("sarc")]["routing"]["needs"] = Json::array(); },
       S("sarc") + ".routing.needs: must name at least one need domain"},
      {"MissingRouting", [](Json& d) { d["services"][ServiceAt("sarc")].erase("routing"); },
       "services[" + std::to_string(ServiceAt("sarc")) + "] (id " + ServiceId("sarc") +
           ").routing: is required"},
      {"UnknownRoutingField",
       [](Json& d) { d["services"][ServiceAt("sarc")]["routing"]["max_activ"] = 3; },
       S("sarc") + ".routing: unknown field 'max_activ'"},
      {"BadKey", [](Json& d) { d["services"][ServiceAt("sarc")]["routing"]["key"] = "SARC 24/7"; },
       ".routing.key: must be lower-case letters"},
      {"DuplicateKey",
       [](Json& d) { d["services"][ServiceAt("sarc")]["routing"]["key"] = "isva-cambs"; },
       ".routing.key: duplicate key 'isva-cambs' (also " + S("isva-cambs") + ")"},
      {"DuplicateId", [](Json& d) { d["service_areas"][1]["id"] = d["service_areas"][0]["id"]; },
       "service_areas[1] (id " + Sample()["service_areas"][0]["id"].get<std::string>() +
           ").id: duplicate id"},
      {"IdNotUuid", [](Json& d) { d["organizations"][0]["id"] = "opcc"; },
       "organizations[0] (id opcc).id: must be a UUID"},
      {"DanglingOrganization",
       [](Json& d) {
         d["services"][ServiceAt("sarc")]["organization_id"] =
             "00000000-0000-4000-8000-000000000000";
       },
       S("sarc") +
           ".organization_id: no organization has id '00000000-0000-4000-8000-000000000000'"},
      {"MissingOrganization",
       [](Json& d) { d["services"][ServiceAt("sarc")].erase("organization_id"); },
       S("sarc") + ".organization_id: is required"},
      {"DanglingServiceInArea",
       [](Json& d) {
         d["service_areas"][0]["service_id"] = "00000000-0000-4000-8000-000000000001";
       },
       ".service_id: no service has id '00000000-0000-4000-8000-000000000001'"},
      {"DanglingServiceInCapacity",
       [](Json& d) {
         d["service_capacity"][0]["service_id"] = "00000000-0000-4000-8000-000000000002";
       },
       "service_capacity[0] (id " + Sample()["service_capacity"][0]["id"].get<std::string>() +
           ").service_id: no service has id"},
      {"MinimumAboveMaximum",
       [](Json& d) { d["services"][ServiceAt("isva-children")]["minimum_age"] = 18; },
       S("isva-children") + ".minimum_age: is 18, above maximum_age 17"},
      {"FractionalAge",
       [](Json& d) { d["services"][ServiceAt("idva-cambs")]["minimum_age"] = 16.5; },
       S("idva-cambs") + ".minimum_age: must be a whole number from 0 to 130, not 16.5"},
      {"AgeAsString", [](Json& d) { d["services"][ServiceAt("idva-cambs")]["minimum_age"] = "16"; },
       S("idva-cambs") + ".minimum_age: must be a whole number from 0 to 130, not a string"},
      {"MaxActiveZero",
       [](Json& d) { d["services"][ServiceAt("sarc")]["routing"]["max_active"] = 0; },
       S("sarc") + ".routing.max_active: must be a whole number from 1 to 100000, not 0"},
      {"AcceptTargetMissing",
       [](Json& d) { d["services"][ServiceAt("sarc")]["routing"].erase("accept_target_hours"); },
       S("sarc") + ".routing.accept_target_hours: is required"},
      {"ConsentNotBool",
       [](Json& d) { d["services"][ServiceAt("sarc")]["routing"]["consent_required"] = "yes"; },
       S("sarc") + ".routing.consent_required: must be true or false"},
      {"NoFallback",
       [](Json& d) { d["services"][ServiceAt("hub-victim-care")]["routing"].erase("fallback"); },
       "services: no service has routing.fallback true"},
      {"TwoFallbacks",
       [](Json& d) {
         d["services"][ServiceAt("restorative-justice")]["routing"]["fallback"] = true;
       },
       "services: more than one fallback: " + S("hub-victim-care") + ", " +
           S("restorative-justice")},
      {"FallbackNotForEveryone",
       [](Json& d) {
         d["services"][ServiceAt("hub-victim-care")]["routing"]["enhanced_only"] = true;
       },
       S("hub-victim-care") + ".routing.fallback: the fallback must take every victim"},
      {"FallbackInactive",
       [](Json& d) { d["services"][ServiceAt("hub-victim-care")]["status"] = "inactive"; },
       S("hub-victim-care") + ".status: the fallback service must be active"},
      {"UnknownStatus", [](Json& d) { d["services"][ServiceAt("sarc")]["status"] = "open"; },
       S("sarc") + ".status: must be one of active, inactive, defunct, temporarily closed, not "
                   "'open'"},
      {"MissingName", [](Json& d) { d["services"][ServiceAt("sarc")].erase("name"); },
       S("sarc") + ".name: is required"},
      {"MisspeltField", [](Json& d) { d["services"][ServiceAt("sarc")]["minimun_age"] = 16; },
       S("sarc") + ": unknown field 'minimun_age'"},
      {"NestedServiceAreas",
       [](Json& d) { d["services"][ServiceAt("sarc")]["service_areas"] = Json::array(); },
       S("sarc") + ".service_areas: nested records are not read"},
      {"UnknownExtentType", [](Json& d) { d["service_areas"][0]["extent_type"] = "polygon"; },
       ".extent_type: must be one of geojson, topojson, kml, text, not 'polygon'"},
      {"AreaUriNotRecognised",
       [](Json& d) { d["service_areas"][0]["uri"] = "https://example.org/cambridge"; },
       ".uri: must name the area"},
      {"BadGssCode",
       [](Json& d) {
         d["service_areas"][0]["uri"] =
             "http://statistics.data.gov.uk/id/statistical-geography/E10000003";
       },
       ".uri: 'E10000003' is not a local authority GSS code"},
      {"BadPostcodeDistrict",
       [](Json& d) {
         d["service_areas"][0]["uri"] = "http://data.ordnancesurvey.co.uk/id/postcodedistrict/pe1";
       },
       ".uri: 'pe1' is not an upper-case postcode district"},
      {"ServiceCoversNoArea",
       [](Json& d) {
         const std::string id = ServiceId("sarc");
         Json kept = Json::array();
         for (const Json& area : d["service_areas"]) {
           if (area["service_id"] != id) {
             kept.push_back(area);
           }
         }
         d["service_areas"] = kept;
       },
       S("sarc") + ": covers no area"},
      {"BadCapacityDate", [](Json& d) { d["service_capacity"][0]["updated"] = "13/01/2025"; },
       ".updated: must be a date-time like 2024-05-01T09:00:00Z, not '13/01/2025'"},
      {"BadScheduleDate", [](Json& d) { d["schedules"][0]["valid_from"] = "2025-02-30"; },
       ".valid_from: must be a date YYYY-MM-DD, not '2025-02-30'"},
      {"ScheduleValidFromAfterTo", [](Json& d) { d["schedules"][0]["valid_to"] = "2024-12-31"; },
       ".valid_from: is after valid_to 2024-12-31"},
      {"BadLastModified",
       [](Json& d) { d["services"][ServiceAt("sarc")]["last_modified"] = "yesterday"; },
       S("sarc") + ".last_modified: must be a date-time"},
      {"BadByDay", [](Json& d) { d["schedules"][0]["byday"] = "MO,TUE"; },
       ".byday: 'TUE' is not a day"},
      {"BadFreq", [](Json& d) { d["schedules"][0]["freq"] = "DAILY"; },
       ".freq: must be one of WEEKLY, MONTHLY, not 'DAILY'"},
      {"BadOpensAt", [](Json& d) { d["schedules"][0]["opens_at"] = "9am"; },
       ".opens_at: must be a time HH:MM"},
      {"CapacityDisagreesWithMaxActive",
       [](Json& d) { d["service_capacity"][RecordOf("service_capacity", "sarc")]["maximum"] = 7; },
       ".maximum: is 7 but the service's routing.max_active is 6"},
      {"CapacityAvailableAboveMaximum",
       [](Json& d) {
         d["service_capacity"][RecordOf("service_capacity", "sarc")]["available"] = 9;
       },
       ".available: is 9, above maximum 6"},
      {"CapacityWithoutUnit", [](Json& d) { d["service_capacity"][0].erase("unit"); },
       ".unit: is required"},
      {"PhoneWithoutNumber", [](Json& d) { d["phones"][0].erase("number"); },
       ".number: is required"},
      {"BadLanguageCode", [](Json& d) { d["languages"][0]["code"] = "English"; },
       ".code: must be an ISO 639-1 or 639-3 code"},
      {"UnknownLocationType", [](Json& d) { d["locations"][0]["location_type"] = "office"; },
       ".location_type: must be one of physical, postal, virtual"},
      {"UnknownTopLevel", [](Json& d) { d["service_area"] = Json::array(); },
       "service_area: unknown top-level field"},
      {"MissingServices", [](Json& d) { d.erase("services"); }, "services: is required"},
  };
}

INSTANTIATE_TEST_SUITE_P(Directory, RefusalTest, ::testing::ValuesIn(Refusals()),
                         [](const ::testing::TestParamInfo<Refusal>& param_info) {
                           return param_info.param.name;
                         });

TEST(DirectoryTest, RefusesTextThatIsNotJson) {
  EXPECT_THAT(Directory::Parse("{\"services\": [", Offences()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not valid JSON at byte")));
  EXPECT_THAT(Directory::Parse("[]", Offences()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must be a JSON object")));
}

TEST(DirectoryTest, ListsEveryProblemAtOnce) {
  absl::StatusOr<std::shared_ptr<const Directory>> parsed = ParseEdited([](Json& d) {
    d["services"][ServiceAt("sarc")]["routing"]["max_active"] = 0;
    d["services"][ServiceAt("isva-cambs")]["status"] = "open";
  });
  EXPECT_THAT(parsed, StatusIs(absl::StatusCode::kInvalidArgument,
                               ::testing::AllOf(HasSubstr("routing.max_active"),
                                                HasSubstr(".status: must be one of"))));
}

TEST(DirectoryTest, LoadNamesTheFile) {
  EXPECT_THAT(Directory::Load("/nonexistent/providers.json", Offences()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/providers.json")));
}

class DirectorySourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/hub_directory_test_XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/providers.json";
    WriteText(path_, ReadText(SamplePath()));
  }
  void TearDown() override {
    (void)std::remove(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string dir_;
  std::string path_;
};

TEST_F(DirectorySourceTest, ReloadKeepsTheOldDirectoryOnABadFile) {
  absl::StatusOr<std::unique_ptr<DirectorySource>> source =
      DirectorySource::Create(path_, &Offences());
  ASSERT_THAT(source, IsOk());
  std::shared_ptr<const Directory> first = (*source)->Current();
  EXPECT_FALSE((*source)->Changed());

  Json bad = Sample();
  bad["services"][ServiceAt("sarc")]["routing"]["max_active"] = 0;
  WriteText(path_, bad.dump(2));
  EXPECT_TRUE((*source)->Changed());
  EXPECT_THAT((*source)->Reload(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr(path_), HasSubstr(".routing.max_active"))));
  EXPECT_EQ((*source)->Current(), first);
  // A refused file is not retried until it changes again.
  EXPECT_FALSE((*source)->Changed());

  Json good = Sample();
  good["version"] = "2025-02-01.1";
  good["services"][ServiceAt("sarc")]["routing"]["max_active"] = 9;
  good["service_capacity"][RecordOf("service_capacity", "sarc")]["maximum"] = 9;
  WriteText(path_, good.dump(2));
  EXPECT_TRUE((*source)->Changed());
  absl::StatusOr<std::string> version = (*source)->Reload();
  ASSERT_THAT(version, IsOk());
  EXPECT_EQ(*version, "2025-02-01.1");
  EXPECT_EQ((*source)->Current()->FindService("sarc")->max_active, 9);
  // A reader that took the first directory still holds it, unchanged.
  EXPECT_EQ(first->FindService("sarc")->max_active, 6);
}

TEST_F(DirectorySourceTest, CreateFailsOnABadFile) {
  WriteText(path_, "{}");
  EXPECT_THAT(DirectorySource::Create(path_, &Offences()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("services: is required")));
}

}  // namespace
}  // namespace hub::routing
