#include "services/common/seal/pseudonym.h"

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"

namespace hub::seal {
namespace {

using ::hub::intake::v1::Date;
using ::hub::intake::v1::PersonName;
using ::testing::MatchesRegex;

PersonName Name(const std::string& given, const std::string& family) {
  PersonName name;
  name.set_given(given);
  name.set_family(family);
  return name;
}

Date Dob(int year, int month, int day) {
  Date date;
  date.set_year(year);
  date.set_month(month);
  date.set_day(day);
  return date;
}

class PseudonymTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(MasterKey master, MasterKey::FromBytes(std::string(32, 'p')));
    pseudonymizer_.emplace(master);
  }
  std::optional<std::string> Id(const std::string& given, const std::string& family,
                                const Date& dob = Dob(1990, 4, 1)) const {
    return pseudonymizer_->VictimId(Name(given, family), dob);
  }

  std::optional<Pseudonymizer> pseudonymizer_;
};

TEST_F(PseudonymTest, IdFormat) {
  std::optional<std::string> id = Id("Jane", "Doe");
  ASSERT_TRUE(id.has_value());
  EXPECT_THAT(*id, MatchesRegex("pv_[0-9a-f]{32}"));
}

TEST_F(PseudonymTest, NormalisedSpellingsMatch) {
  const std::optional<std::string> reference = Id("Mary-Jane", "O'Neil");
  ASSERT_TRUE(reference.has_value());
  struct Row {
    std::string given;
    std::string family;
  };
  const Row same[] = {
      {"mary jane", "oneil"},         // spaces, case and apostrophe.
      {"MARY", "O NEIL"},             // first given name only; space in the family name.
      {"Mary Ann Louise", "O'Neil"},  // later given names do not count.
      {"  Mary ", "o.neil"},          // surrounding spaces; dots.
      {"mary-", "O-Neil"},            // hyphens.
      {"Mary", "O'Neil,"},            // other punctuation.
  };
  for (const Row& row : same) {
    SCOPED_TRACE(row.given + " / " + row.family);
    EXPECT_EQ(Id(row.given, row.family), reference);
  }
}

TEST_F(PseudonymTest, NormalisationRules) {
  EXPECT_EQ(NormaliseNamePart("Smith-Jones"), "smithjones");
  EXPECT_EQ(NormaliseNamePart("O'Neil"), "oneil");
  EXPECT_EQ(NormaliseNamePart("St. John"), "stjohn");
  EXPECT_EQ(NormaliseNamePart("Zoë"), "zoë");
  EXPECT_EQ(NormaliseNamePart("ZOË"), "zoË");  // Only ASCII is case-folded.
  EXPECT_EQ(NormaliseNamePart("Henry 8th"), "henry8th");
  EXPECT_EQ(NormaliseFirstGivenName("Mary Ann"), "mary");
  EXPECT_EQ(NormaliseFirstGivenName("Mary-Ann"), "mary");
  EXPECT_EQ(NormaliseFirstGivenName("  . Ann"), "ann");
  EXPECT_EQ(NormaliseFirstGivenName("D'Arcy James"), "darcy");
  EXPECT_EQ(NormaliseFirstGivenName(" - "), "");
}

TEST_F(PseudonymTest, DifferentPeopleDiffer) {
  EXPECT_NE(Id("Jane", "Doe"), Id("John", "Doe"));
  EXPECT_NE(Id("Jane", "Doe"), Id("Jane", "Dow"));
  EXPECT_NE(Id("Jane", "Doe", Dob(1990, 4, 1)), Id("Jane", "Doe", Dob(1990, 4, 2)));
  EXPECT_NE(Id("Jane", "Doe", Dob(1990, 4, 1)), Id("Jane", "Doe", Dob(1991, 4, 1)));
  EXPECT_NE(Id("Zoë", "Doe"), Id("Zoe", "Doe"));
  // A typographic apostrophe is not ASCII, so it is kept.
  EXPECT_NE(Id("Mary", "O’Neil"), Id("Mary", "O'Neil"));
  // The separator keeps "ab"+"c" apart from "a"+"bc".
  EXPECT_NE(Id("c", "ab"), Id("bc", "a"));
}

TEST_F(PseudonymTest, NeedsFamilyGivenAndAFullValidDate) {
  EXPECT_EQ(Id("", "Doe"), std::nullopt);
  EXPECT_EQ(Id("Jane", ""), std::nullopt);
  EXPECT_EQ(Id("'-.", "Doe"), std::nullopt);
  EXPECT_EQ(Id("Jane", " - "), std::nullopt);
  EXPECT_EQ(Id("Jane", "Doe", Date()), std::nullopt);
  EXPECT_EQ(Id("Jane", "Doe", Dob(1990, 4, 0)), std::nullopt);
  EXPECT_EQ(Id("Jane", "Doe", Dob(1990, 0, 1)), std::nullopt);
  EXPECT_EQ(Id("Jane", "Doe", Dob(0, 4, 1)), std::nullopt);
  EXPECT_EQ(Id("Jane", "Doe", Dob(1990, 2, 30)), std::nullopt);
  EXPECT_EQ(Id("Jane", "Doe", Dob(1990, 13, 1)), std::nullopt);
  EXPECT_EQ(Id("Jane", "Doe", Dob(1899, 12, 31)), std::nullopt);
  EXPECT_NE(Id("Jane", "Doe", Dob(2000, 2, 29)), std::nullopt);
  EXPECT_EQ(Id("Jane", "Doe", Dob(1900, 2, 29)), std::nullopt);
}

TEST_F(PseudonymTest, DependsOnTheMasterKey) {
  ASSERT_OK_AND_ASSIGN(MasterKey other_master, MasterKey::FromBytes(std::string(32, 'q')));
  const Pseudonymizer other(other_master);
  const std::optional<std::string> mine = Id("Jane", "Doe");
  const std::optional<std::string> theirs = other.VictimId(Name("Jane", "Doe"), Dob(1990, 4, 1));
  ASSERT_TRUE(mine.has_value());
  ASSERT_TRUE(theirs.has_value());
  EXPECT_NE(*mine, *theirs);
  EXPECT_NE(pseudonymizer_->KeyIdForVictim(*mine), other.KeyIdForVictim(*mine));
}

TEST_F(PseudonymTest, KeyIds) {
  const std::string victim_key = pseudonymizer_->KeyIdForVictim("pv_0123");
  const std::string case_key = pseudonymizer_->KeyIdForCase("pv_0123");
  EXPECT_THAT(victim_key, MatchesRegex("vk_[0-9a-f]{32}"));
  EXPECT_THAT(case_key, MatchesRegex("vk_[0-9a-f]{32}"));
  // The purpose prefix keeps a case id from colliding with a pseudonymous id.
  EXPECT_NE(victim_key, case_key);
  EXPECT_EQ(victim_key, pseudonymizer_->KeyIdForVictim("pv_0123"));
  EXPECT_NE(victim_key, pseudonymizer_->KeyIdForVictim("pv_0124"));
  EXPECT_NE(pseudonymizer_->KeyIdForCase("c_1"), pseudonymizer_->KeyIdForCase("c_2"));
}

}  // namespace
}  // namespace hub::seal
