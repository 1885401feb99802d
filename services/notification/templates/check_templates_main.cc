// hub-check-templates: loads a template directory with every check the service applies and
// prints the problems, or previews one message with the catalogue's example values.
//
//   hub-check-templates [DIR]                         check DIR (default: deploy/templates)
//   hub-check-templates DIR MESSAGE_ID [LANG [CHANNEL]]  also print the rendered parts
//   hub-check-templates --catalogue                   list messages and variables
//
// Exit status: 0 when the set loads (and the preview renders), 1 otherwise, 2 on bad usage.
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"

#include "services/notification/templates/catalogue.h"
#include "services/notification/templates/templates.h"

namespace {

namespace tpl = hub::notification::templates;

int PrintCatalogue() {
  for (const tpl::MessageSpec& message : tpl::MessageCatalogue()) {
    std::vector<std::string> channels;
    for (tpl::Channel channel : message.channels) {
      channels.emplace_back(tpl::ChannelName(channel));
    }
    std::cout << message.id << " (" << tpl::AudienceName(message.audience) << "; "
              << absl::StrJoin(channels, ", ") << ")\n  " << message.purpose
              << "\n  variables: " << absl::StrJoin(message.variables, ", ") << "\n";
  }
  std::cout << "\nvariables (* = may be shown on a lock screen):\n";
  for (const tpl::VariableSpec& variable : tpl::VariableCatalogue()) {
    std::cout << "  " << variable.name << (variable.lock_screen_safe ? " *" : "") << ": "
              << variable.meaning << "\n";
  }
  return 0;
}

int Preview(const tpl::TemplateSet& set, const std::string& message_id,
            const std::string& language_tag, const std::string& channel_name) {
  const tpl::MessageSpec* message = tpl::FindMessage(message_id);
  if (message == nullptr) {
    std::cerr << "unknown message id " << message_id << "\n";
    return 1;
  }
  const tpl::Language language = tpl::LanguageForTag(language_tag);
  const tpl::Variables variables = tpl::ExampleVariables(*message, language);
  for (tpl::Channel channel : message->channels) {
    if (!channel_name.empty() && channel_name != tpl::ChannelName(channel)) {
      continue;
    }
    for (tpl::Part part : tpl::PartsOf(channel)) {
      absl::StatusOr<std::string> text = set.Render(message_id, language, part, variables);
      if (!text.ok()) {
        std::cerr << text.status() << "\n";
        return 1;
      }
      std::cout << "===== " << message_id << " " << tpl::LanguageCode(language) << " "
                << tpl::PartName(part) << " =====\n"
                << *text << "\n\n";
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "--catalogue") {
    return PrintCatalogue();
  }
  if (args.size() > 4 || (!args.empty() && absl::StartsWith(args[0], "-"))) {
    std::cerr << "usage: hub-check-templates [DIR [MESSAGE_ID [LANG [CHANNEL]]]] | --catalogue\n";
    return 2;
  }
  const std::string dir = args.empty() ? tpl::SourceTreeTemplatesDir() : args[0];
  absl::StatusOr<tpl::TemplateSet> set = tpl::TemplateSet::Load(dir);
  if (!set.ok()) {
    std::cerr << set.status().message() << "\n";
    return 1;
  }
  if (args.size() < 2) {
    std::cout << dir << ": " << set->template_count() << " templates for "
              << tpl::MessageCatalogue().size() << " messages load cleanly\n";
    return 0;
  }
  return Preview(*set, args[1], args.size() > 2 ? args[2] : "en", args.size() > 3 ? args[3] : "");
}
