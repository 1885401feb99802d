#include "services/notification/templates/templates.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "services/common/status/status_matchers.h"

namespace hub::notification::templates {
namespace {

namespace fs = std::filesystem;

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr Language kBoth[] = {Language::kEnglish, Language::kWelsh};

const TemplateSet& Shipped() {
  static const auto* set = [] {
    absl::StatusOr<TemplateSet> loaded = TemplateSet::Load(SourceTreeTemplatesDir());
    EXPECT_THAT(loaded, IsOk());
    return new TemplateSet(*std::move(loaded));
  }();
  return *set;
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string HtmlEscaped(absl::string_view value) {
  return absl::StrReplaceAll(
      value, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}, {"'", "&#39;"}});
}

Variables Examples(absl::string_view message_id, Language language) {
  const MessageSpec* message = FindMessage(message_id);
  EXPECT_NE(message, nullptr) << message_id;
  return message == nullptr ? Variables() : ExampleVariables(*message, language);
}

// A copy of the shipped templates in a fresh directory, for tests that break one file.
class TemplateDir {
 public:
  TemplateDir() {
    std::string pattern = absl::StrCat(::testing::TempDir(), "/templates-XXXXXX");
    const char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    root_ = fs::path(pattern);
    fs::copy(SourceTreeTemplatesDir(), root_, fs::copy_options::recursive);
  }
  ~TemplateDir() {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }
  TemplateDir(const TemplateDir&) = delete;
  TemplateDir& operator=(const TemplateDir&) = delete;

  std::string path() const { return root_.string(); }
  std::string Read(const std::string& file) const { return ReadAll(root_ / file); }
  void Write(const std::string& file, absl::string_view contents) const {
    fs::create_directories((root_ / file).parent_path());
    std::ofstream out(root_ / file, std::ios::binary | std::ios::trunc);
    out << contents;
  }
  void Replace(const std::string& file, absl::string_view from, absl::string_view to) const {
    const std::string before = Read(file);
    ASSERT_TRUE(absl::StrContains(before, from)) << file << " has no \"" << from << "\"";
    Write(file, absl::StrReplaceAll(before, {{from, to}}));
  }
  void Remove(const std::string& file) const { fs::remove(root_ / file); }
  absl::Status Load(const LoadOptions& options = LoadOptions()) const {
    return TemplateSet::Load(path(), options).status();
  }

 private:
  fs::path root_;
};

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

TEST(ShippedTemplatesTest, LoadEveryMessageInBothLanguages) {
  size_t expected = 0;
  for (const MessageSpec& message : MessageCatalogue()) {
    expected += 2 * PartsOf(message).size();
  }
  EXPECT_EQ(Shipped().template_count(), expected);
  EXPECT_GT(Shipped().discreet_words().size(), 100u);
}

TEST(ShippedTemplatesTest, EveryMessageRendersEveryValueInBothLanguages) {
  for (const MessageSpec& message : MessageCatalogue()) {
    for (Language language : kBoth) {
      const Variables values = ExampleVariables(message, language);
      std::string text;  // everything rendered without HTML escaping
      std::string html;
      for (Part part : PartsOf(message)) {
        absl::StatusOr<std::string> out = Shipped().Render(message.id, language, part, values);
        ASSERT_THAT(out, IsOk()) << message.id << " " << PartName(part);
        EXPECT_FALSE(absl::StrContains(*out, "{{")) << message.id << " " << PartName(part);
        absl::StrAppend(IsHtml(part) ? &html : &text, *out, "\n");
      }
      for (const auto& [name, value] : values) {
        EXPECT_TRUE(absl::StrContains(text, value))
            << message.id << " (" << LanguageCode(language) << ") never shows " << name;
        if (!html.empty() &&
            absl::StrContains(*Shipped().Source(message.id, language, Part::kEmailText),
                              absl::StrCat("{{", name, "}}"))) {
          EXPECT_TRUE(absl::StrContains(html, HtmlEscaped(value)))
              << message.id << " (" << LanguageCode(language) << ") HTML lacks " << name;
        }
      }
    }
  }
}

TEST(ShippedTemplatesTest, WelshVictimsGetWelshText) {
  absl::StatusOr<std::string> welsh =
      Shipped().Render("victim.acknowledgement", LanguageForTag("cy-GB"), Part::kEmailText,
                       Examples("victim.acknowledgement", Language::kWelsh));
  ASSERT_THAT(welsh, IsOk());
  EXPECT_THAT(*welsh, AllOf(HasSubstr("Annwyl Siân,"), HasSubstr("Cod y Dioddefwyr")));
  absl::StatusOr<std::string> english =
      Shipped().Render("victim.acknowledgement", LanguageForTag("pl"), Part::kEmailText,
                       Examples("victim.acknowledgement", Language::kEnglish));
  ASSERT_THAT(english, IsOk());
  EXPECT_THAT(*english, HasSubstr("Dear Sam,"));
}

TEST(ShippedTemplatesTest, DiscreetPartsKeepTheProviderAndCrimeOut) {
  for (Language language : kBoth) {
    const Variables values = Examples("victim.referral_made", language);
    absl::StatusOr<RenderedMessage> sms =
        Shipped().RenderChannel("victim.referral_made", language, Channel::kSms, values);
    ASSERT_THAT(sms, IsOk());
    EXPECT_THAT(sms->sms,
                AllOf(Not(HasSubstr(values.at("provider_name"))),
                      Not(HasSubstr(values.at("hub_name"))), HasSubstr(values.at("contact_by"))));
    EXPECT_EQ(Shipped().discreet_words().FindIn(sms->sms), std::nullopt) << sms->sms;
    absl::StatusOr<RenderedMessage> email =
        Shipped().RenderChannel("victim.referral_made", language, Channel::kEmail, values);
    ASSERT_THAT(email, IsOk());
    EXPECT_EQ(Shipped().discreet_words().FindIn(email->email_subject), std::nullopt);
    const std::string preview = FirstCharacters(VisibleText(email->email_html, true), 200);
    EXPECT_EQ(Shipped().discreet_words().FindIn(preview), std::nullopt) << preview;
    EXPECT_THAT(email->email_text, HasSubstr(values.at("provider_name")));
  }
}

TEST(RenderTest, RefusesAMissingOrEmptyOrUnknownVariable) {
  Variables values = Examples("victim.referral_made", Language::kEnglish);
  values.erase("contact_by");
  EXPECT_THAT(Shipped().Render("victim.referral_made", Language::kEnglish, Part::kSms, values),
              StatusIs(kInvalid, HasSubstr("\"contact_by\", which was not given")));
  values["contact_by"] = "  ";
  EXPECT_THAT(Shipped().Render("victim.referral_made", Language::kEnglish, Part::kSms, values),
              StatusIs(kInvalid, HasSubstr("\"contact_by\" is empty")));
  values["contact_by"] = "Friday";
  values["crime_type"] = "Rape";
  EXPECT_THAT(Shipped().Render("victim.referral_made", Language::kEnglish, Part::kSms, values),
              StatusIs(kInvalid, HasSubstr("does not provide variable \"crime_type\"")));
}

TEST(RenderTest, RefusesControlCharactersAndLinksThatAreNotHttps) {
  Variables values = Examples("staff.deadline_breach", Language::kEnglish);
  values["case_reference"] = "CB-1\r\nBcc: x";
  EXPECT_THAT(
      Shipped().Render("staff.deadline_breach", Language::kEnglish, Part::kEmailText, values),
      StatusIs(kInvalid, HasSubstr("control character")));
  values = Examples("staff.deadline_breach", Language::kEnglish);
  values["case_url"] = "javascript:alert(1)";
  EXPECT_THAT(
      Shipped().Render("staff.deadline_breach", Language::kEnglish, Part::kEmailHtml, values),
      StatusIs(kInvalid, HasSubstr("https://")));
  values["case_url"] = "https://hub.example.org/\" onclick=\"x";
  EXPECT_THAT(
      Shipped().Render("staff.deadline_breach", Language::kEnglish, Part::kEmailHtml, values),
      StatusIs(kInvalid, HasSubstr("https://")));
}

TEST(RenderTest, SubjectStaysOneLine) {
  Variables values = Examples("victim.acknowledgement", Language::kEnglish);
  values["case_reference"] = "CB-1\nSecond line";
  EXPECT_THAT(
      Shipped().Render("victim.acknowledgement", Language::kEnglish, Part::kEmailSubject, values),
      StatusIs(kInvalid, HasSubstr("line break")));
}

TEST(RenderTest, UnknownMessageOrPartIsNotFound) {
  EXPECT_THAT(Shipped().Render("victim.nope", Language::kEnglish, Part::kSms, {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("victim.nope")));
  EXPECT_THAT(Shipped().Render("staff.deadline_breach", Language::kEnglish, Part::kLetter,
                               Examples("staff.deadline_breach", Language::kEnglish)),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no letter part")));
  EXPECT_THAT(Shipped().RenderChannel("staff.deadline_breach", Language::kWelsh, Channel::kSms,
                                      Examples("staff.deadline_breach", Language::kWelsh)),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("does not go by sms")));
}

TEST(RenderTest, HtmlPartsEscapeValuesAndTextPartsDoNot) {
  Variables values = Examples("victim.acknowledgement", Language::kEnglish);
  values["first_name"] = "<script>alert('x')</script> & Jo";
  absl::StatusOr<RenderedMessage> email = Shipped().RenderChannel(
      "victim.acknowledgement", Language::kEnglish, Channel::kEmail, values);
  ASSERT_THAT(email, IsOk());
  EXPECT_THAT(email->email_html,
              AllOf(HasSubstr("Dear &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Jo,"),
                    Not(HasSubstr("<script>"))));
  EXPECT_THAT(email->email_text, HasSubstr("Dear <script>alert('x')</script> & Jo,"));
  absl::StatusOr<std::string> sms =
      Shipped().Render("victim.acknowledgement", Language::kEnglish, Part::kSms, values);
  ASSERT_THAT(sms, IsOk());
  EXPECT_THAT(*sms, HasSubstr("Hello <script>alert('x')</script> & Jo,"));
  values["first_name"] = "Siân O'Neil";
  absl::StatusOr<std::string> letter =
      Shipped().Render("victim.acknowledgement", Language::kWelsh, Part::kLetter, values);
  ASSERT_THAT(letter, IsOk());
  EXPECT_THAT(*letter, HasSubstr("Annwyl Siân O'Neil,"));
}

TEST(RenderTest, ValuesThatWouldRevealTooMuchOnALockScreenAreRefused) {
  Variables values = Examples("victim.acknowledgement", Language::kEnglish);
  values["case_reference"] = "VICTIM-0042";
  EXPECT_THAT(Shipped().Render("victim.acknowledgement", Language::kEnglish, Part::kSms, values),
              StatusIs(kInvalid, HasSubstr("\"victim*\"")));
  EXPECT_THAT(
      Shipped().Render("victim.acknowledgement", Language::kEnglish, Part::kEmailSubject, values),
      StatusIs(kInvalid, HasSubstr("\"victim*\"")));
  // The body of a letter may show it.
  EXPECT_THAT(Shipped().Render("victim.acknowledgement", Language::kEnglish, Part::kLetter, values),
              IsOk());
  values = Examples("victim.acknowledgement", Language::kEnglish);
  values["first_name"] = "Police";
  EXPECT_THAT(
      Shipped().Render("victim.acknowledgement", Language::kEnglish, Part::kEmailHtml, values),
      StatusIs(kInvalid, HasSubstr("preview would show the discreet word \"police\"")));
  values["first_name"] = "Courtney";
  EXPECT_THAT(Shipped().Render("victim.acknowledgement", Language::kEnglish, Part::kSms, values),
              IsOk());
}

TEST(RenderTest, SmsOrSubjectLongerThanItsLimitIsRefused) {
  LoadOptions options;
  options.sms_max_characters = 60;
  options.subject_max_characters = 20;
  absl::StatusOr<TemplateSet> set = TemplateSet::Load(SourceTreeTemplatesDir(), options);
  ASSERT_THAT(set, IsOk());
  EXPECT_THAT(set->Render("victim.consent_request", Language::kWelsh, Part::kSms,
                          Examples("victim.consent_request", Language::kWelsh)),
              StatusIs(kInvalid, HasSubstr("more than 60")));
  EXPECT_THAT(set->Render("victim.consent_request", Language::kWelsh, Part::kEmailSubject,
                          Examples("victim.consent_request", Language::kWelsh)),
              StatusIs(kInvalid, HasSubstr("more than 20")));
}

TEST(RenderTest, ConcurrentRendersAgree) {
  const Variables values = Examples("victim.update.bail", Language::kWelsh);
  const absl::StatusOr<std::string> expected =
      Shipped().Render("victim.update.bail", Language::kWelsh, Part::kEmailHtml, values);
  ASSERT_THAT(expected, IsOk());
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        absl::StatusOr<std::string> out =
            Shipped().Render("victim.update.bail", Language::kWelsh, Part::kEmailHtml, values);
        if (!out.ok() || *out != *expected) {
          ++mismatches[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_THAT(mismatches, ::testing::Each(0));
}

// Every broken set below is the shipped set with one thing changed, so each test shows that
// exact change is what refuses the set.
TEST(LoadTest, ACopyOfTheShippedSetLoads) {
  TemplateDir dir;
  EXPECT_THAT(dir.Load(), IsOk());
}

TEST(LoadTest, UnknownVariableNamesFileAndVariable) {
  TemplateDir dir;
  dir.Replace("victim.referral_made/en/email.txt", "{{contact_by}}.", "{{contact_date}}.");
  EXPECT_THAT(dir.Load(),
              StatusIs(kInvalid, AllOf(HasSubstr("victim.referral_made/en/email.txt: line 11"),
                                       HasSubstr("variable \"contact_date\" is not provided"))));
}

TEST(LoadTest, MissingWelshFileIsRefused) {
  TemplateDir dir;
  dir.Remove("victim.update.charge/cy/letter.txt");
  EXPECT_THAT(dir.Load(), StatusIs(kInvalid, HasSubstr("victim.update.charge/cy/letter.txt: "
                                                       "missing")));
}

TEST(LoadTest, DiscreetWordInAnSmsIsRefusedInEitherLanguage) {
  TemplateDir dir;
  dir.Replace("victim.consent_request/en/sms.txt", "help that is available",
              "domestic abuse support");
  dir.Replace("victim.consent_request/cy/sms.txt", "am help", "am y drosedd");
  const absl::Status status = dir.Load();
  EXPECT_THAT(status, StatusIs(kInvalid, HasSubstr("victim.consent_request/en/sms.txt: contains "
                                                   "\"abus*\"")));
  EXPECT_THAT(status, StatusIs(kInvalid, HasSubstr("victim.consent_request/cy/sms.txt: contains "
                                                   "\"drosedd*\"")));
}

TEST(LoadTest, DiscreetWordInASubjectOrPreviewIsRefused) {
  TemplateDir dir;
  dir.Replace("staff.waiting_list/en/email.subject.txt", "Waiting list alert", "IDVA waiting list");
  dir.Replace("victim.update.arrest/cy/email.txt", "gyda gwybodaeth i chi",
              "gyda gwybodaeth gan yr heddlu");
  dir.Replace("victim.update.arrest/cy/email.html", "gyda gwybodaeth i chi",
              "gyda gwybodaeth gan yr heddlu");
  const absl::Status status = dir.Load();
  EXPECT_THAT(status, StatusIs(kInvalid, HasSubstr("staff.waiting_list/en/email.subject.txt: "
                                                   "contains \"idva*\"")));
  EXPECT_THAT(status, StatusIs(kInvalid, HasSubstr("victim.update.arrest/cy/email.html: the "
                                                   "preview (first 200 characters) contains "
                                                   "\"heddlu\"")));
}

TEST(LoadTest, IndiscreetVariableInAnSmsOrPreviewIsRefused) {
  TemplateDir dir;
  dir.Replace("victim.referral_made/en/sms.txt", "someone will", "{{provider_name}} will");
  dir.Replace("victim.referral_made/cy/email.txt", "Annwyl {{first_name}},",
              "Annwyl {{first_name}}, {{hub_name}}");
  const absl::Status status = dir.Load();
  EXPECT_THAT(status, StatusIs(kInvalid, HasSubstr("victim.referral_made/en/sms.txt: line 1: "
                                                   "{{provider_name}}: \"provider_name\" may "
                                                   "reveal too much")));
  EXPECT_THAT(status, StatusIs(kInvalid, HasSubstr("victim.referral_made/cy/email.txt: the "
                                                   "preview (first 200 characters) shows "
                                                   "\"hub_name\"")));
}

TEST(LoadTest, ParseErrorsNameTheLine) {
  TemplateDir dir;
  dir.Replace("victim.update.bail/en/letter.txt", "Bail can come with conditions",
              "{{#decision_date}}Bail can come with conditions");
  EXPECT_THAT(dir.Load(),
              StatusIs(kInvalid, AllOf(HasSubstr("victim.update.bail/en/letter.txt: does not "
                                                 "parse: Unclosed section \"decision_date\""),
                                       HasSubstr("(line 9)"))));
}

TEST(LoadTest, TripleMustacheIsRefusedInHtmlOnly) {
  TemplateDir dir;
  dir.Replace("victim.acknowledgement/en/email.txt", "Dear {{first_name}},",
              "Dear {{{first_name}}},");
  EXPECT_THAT(dir.Load(), IsOk());
  dir.Replace("victim.acknowledgement/en/email.html", "Dear {{first_name}},",
              "Dear {{& first_name}},");
  EXPECT_THAT(dir.Load(), StatusIs(kInvalid, HasSubstr("victim.acknowledgement/en/email.html: "
                                                       "line 8: {{& first_name}} inserts")));
}

TEST(LoadTest, PartialsAndDelimiterChangesAreRefused) {
  TemplateDir dir;
  dir.Replace("victim.acknowledgement/en/letter.txt", "Yours sincerely,",
              "{{> signature}}{{=<% %>=}}");
  const absl::Status status = dir.Load();
  EXPECT_THAT(status, StatusIs(kInvalid, HasSubstr("is a partial")));
  EXPECT_THAT(status, StatusIs(kInvalid, HasSubstr("changes the delimiters")));
}

TEST(LoadTest, HtmlMustSayWhatTheTextSays) {
  TemplateDir dir;
  dir.Replace("victim.update.charge/cy/email.html", "Bydd yr achos yn mynd i'r llys nawr.",
              "Bydd yr achos yn mynd i'r llys.");
  EXPECT_THAT(dir.Load(), StatusIs(kInvalid, AllOf(HasSubstr("victim.update.charge/cy/email.html: "
                                                             "does not say the same as email.txt"),
                                                   HasSubstr("the text says \" nawr."))));
}

TEST(LoadTest, HtmlNeedsTheLanguageAttribute) {
  TemplateDir dir;
  dir.Replace("provider.reminder/cy/email.html", "<html lang=\"cy\">", "<html lang=\"en\">");
  EXPECT_THAT(dir.Load(), StatusIs(kInvalid, HasSubstr("provider.reminder/cy/email.html: needs "
                                                       "lang=\"cy\"")));
}

TEST(LoadTest, TranslationsMustUseTheSameVariables) {
  TemplateDir dir;
  dir.Replace("victim.update.arrest/cy/sms.txt", " Eich cyfeirnod yw {{case_reference}}.", "");
  EXPECT_THAT(dir.Load(),
              StatusIs(kInvalid, AllOf(HasSubstr("victim.update.arrest/cy/sms.txt: uses "
                                                 "first_name, support_phone but the English uses "
                                                 "case_reference, first_name, support_phone"))));
}

TEST(LoadTest, EveryProvidedVariableMustBeUsedSomewhere) {
  TemplateDir dir;
  for (const char* file :
       {"staff.delivery_failed/en/email.txt", "staff.delivery_failed/en/email.html"}) {
    dir.Replace(file, "Reason: {{failure_reason}}", "Reason: see the case");
  }
  EXPECT_THAT(dir.Load(), StatusIs(kInvalid, HasSubstr("staff.delivery_failed/en/: variable "
                                                       "\"failure_reason\" is provided but no "
                                                       "part uses it")));
}

TEST(LoadTest, StrayFilesAndDirectoriesAreRefused) {
  TemplateDir dir;
  dir.Write("victim.acknowledgement/en/email.subjet.txt", "x");
  dir.Write("victim.acknowledgment/en/sms.txt", "x");
  dir.Write("staff.deadline_breach/fr/email.txt", "x");
  dir.Write(".editor-state", "ignored");
  const absl::Status status = dir.Load();
  EXPECT_THAT(status, StatusIs(kInvalid, HasSubstr("victim.acknowledgement/en/email.subjet.txt: "
                                                   "unexpected file")));
  EXPECT_THAT(status, StatusIs(kInvalid, HasSubstr("victim.acknowledgment/: not a message id")));
  EXPECT_THAT(status, StatusIs(kInvalid, HasSubstr("staff.deadline_breach/fr: unexpected")));
  EXPECT_THAT(status, Not(StatusIs(kInvalid, HasSubstr("editor-state"))));
}

TEST(LoadTest, FilesMustBeUtf8AndTheWordListPresent) {
  TemplateDir dir;
  dir.Write("victim.consent_request/cy/sms.txt", "Helo {{first_name}}, diolch \xE2 chi");
  dir.Remove(std::string(TemplateSet::kDiscreetWordsFile));
  const absl::Status status = dir.Load();
  EXPECT_THAT(status, StatusIs(kInvalid, HasSubstr("victim.consent_request/cy/sms.txt: not valid "
                                                   "UTF-8")));
  EXPECT_THAT(status, StatusIs(kInvalid, HasSubstr("discreet-words.txt: missing")));
}

TEST(LoadTest, ByteOrderMarkAndWindowsLineEndingsAreAccepted) {
  TemplateDir dir;
  const std::string file = "victim.update.arrest/en/letter.txt";
  dir.Write(file,
            absl::StrCat("\xEF\xBB\xBF", absl::StrReplaceAll(dir.Read(file), {{"\n", "\r\n"}})));
  absl::StatusOr<TemplateSet> set = TemplateSet::Load(dir.path());
  ASSERT_THAT(set, IsOk());
  absl::StatusOr<std::string> letter =
      set->Render("victim.update.arrest", Language::kEnglish, Part::kLetter,
                  Examples("victim.update.arrest", Language::kEnglish));
  ASSERT_THAT(letter, IsOk());
  EXPECT_TRUE(absl::StartsWith(*letter, "Our reference: CB-2025-004217\n\nDear Sam,"));
  EXPECT_FALSE(absl::StrContains(*letter, "\r"));
}

TEST(LoadTest, NotADirectoryIsNotFound) {
  EXPECT_THAT(TemplateSet::Load("/nonexistent/templates").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("not a directory")));
}

TEST(DocsTest, TheTemplateGuideNamesEveryMessageAndVariable) {
  const std::string guide = ReadAll(fs::path(HUB_SOURCE_DIR) / "docs" / "templates.md");
  ASSERT_FALSE(guide.empty());
  for (const MessageSpec& message : MessageCatalogue()) {
    EXPECT_TRUE(absl::StrContains(guide, absl::StrCat("`", message.id, "`"))) << message.id;
  }
  for (const VariableSpec& variable : VariableCatalogue()) {
    EXPECT_TRUE(absl::StrContains(guide, absl::StrCat("`", variable.name, "`"))) << variable.name;
  }
}

}  // namespace
}  // namespace hub::notification::templates
