#include "services/notification/templates/discretion.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"
#include "services/notification/templates/templates.h"

namespace hub::notification::templates {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

DiscreetWords Words(absl::string_view text) {
  absl::StatusOr<DiscreetWords> words = DiscreetWords::Parse(text);
  EXPECT_THAT(words, IsOk());
  return *std::move(words);
}

const DiscreetWords& Shipped() {
  static const auto* words = [] {
    absl::StatusOr<DiscreetWords> loaded = DiscreetWords::Load(
        absl::StrCat(SourceTreeTemplatesDir(), "/", TemplateSet::kDiscreetWordsFile));
    EXPECT_THAT(loaded, IsOk());
    return new DiscreetWords(*std::move(loaded));
  }();
  return *words;
}

TEST(DiscreetWordsTest, MatchesWholeWordsAnyCase) {
  const DiscreetWords words = Words("court\nrape crisis\n");
  EXPECT_THAT(words.FindIn("See you in Court."), Optional(std::string("court")));
  EXPECT_EQ(words.FindIn("Hello Courtney"), std::nullopt);
  EXPECT_THAT(words.FindIn("from RAPE  Crisis"), Optional(std::string("rape crisis")));
  EXPECT_EQ(words.FindIn("rape-seed crisis"), std::nullopt);
}

TEST(DiscreetWordsTest, StarMakesTheLastWordAPrefix) {
  const DiscreetWords words = Words("victim*  # any form\ncam-drin*\n");
  EXPECT_THAT(words.FindIn("Victims' Code"), Optional(std::string("victim*")));
  EXPECT_THAT(words.FindIn("victim"), Optional(std::string("victim*")));
  EXPECT_EQ(words.FindIn("evict him"), std::nullopt);
  EXPECT_THAT(words.FindIn("cam-driniaeth"), Optional(std::string("cam-drin*")));
  EXPECT_THAT(words.FindIn("cam drin"), Optional(std::string("cam-drin*")));
}

TEST(DiscreetWordsTest, RefusesAnEmptyListAndAnEntryWithoutWords) {
  EXPECT_THAT(DiscreetWords::Parse("# only comments\n\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(DiscreetWords::Parse("police\n--*\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2")));
}

TEST(DiscreetWordsTest, ShippedListCoversEnglishAndMutatedWelsh) {
  for (absl::string_view text :
       {"domestic abuse", "sexual violence", "the IDVA service", "Rape Crisis", "the police",
        "a victim", "Witness Care", "trais rhywiol", "y drosedd", "fy nhrosedd", "cam-drin",
        "yr heddlu", "ar fechnïaeth", "wedi'i gyhuddo", "Cod y Dioddefwyr", "ddioddefwr",
        "y llys"}) {
    EXPECT_NE(Shipped().FindIn(text), std::nullopt) << text;
  }
  for (absl::string_view text :
       {"Hello Courtney", "we have an update for you", "mae gennym ddiweddariad i chi",
        "Ffoniwch ni pan fydd hi'n ddiogel", "help available to you", "Siân"}) {
    EXPECT_EQ(Shipped().FindIn(text), std::nullopt) << text;
  }
}

TEST(SplitWordsTest, KeepsWelshLettersInsideWords) {
  EXPECT_THAT(SplitWords("Mechnïaeth, y ŵyl's"), ElementsAre("mechnïaeth", "y", "ŵyl", "s"));
}

TEST(VisibleTextTest, HtmlDropsHeadAndTagsAndDecodesEntities) {
  const std::string html =
      "<!DOCTYPE html><html lang=\"en\"><head><title>Secret</title><style>p{}</style></head>"
      "<body><!-- note --><p>Dear Sam,</p>\n<p>Call <a href=\"tel:1\">0300</a>. "
      "Tom &amp; Jo&#39;s &lt;b&gt;</p></body></html>";
  EXPECT_EQ(VisibleText(html, true), "Dear Sam, Call 0300. Tom & Jo's <b>");
}

TEST(VisibleTextTest, TextCollapsesWhitespaceAndListMarkers) {
  EXPECT_EQ(VisibleText("  Dear Sam,\n\n- one\n* two\n\tthree  ", false),
            "Dear Sam, one two three");
}

TEST(Utf8Test, CountsAndCutsCharactersNotBytes) {
  EXPECT_EQ(CountCharacters("Siân ŵ"), 6u);
  EXPECT_EQ(FirstCharacters("Siân ŵ", 4), "Siân");
  EXPECT_EQ(FirstCharacters("ab", 5), "ab");
  EXPECT_TRUE(IsValidUtf8("Siân ŵ ŷ"));
  EXPECT_FALSE(IsValidUtf8("Si\xE2n"));           // Latin-1 â
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
}

}  // namespace
}  // namespace hub::notification::templates
