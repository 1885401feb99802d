#include "services/notification/templates/mustache.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include <kainjow/mustache.hpp>

namespace hub::notification::templates {
namespace {

// kainjow's html_escape, except that an apostrophe becomes &#39; rather than &apos;, which
// HTML 4 lacks and some desktop mail clients show as it is ("O&apos;Neil").
std::string EscapeHtml(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
        break;
    }
  }
  return out;
}

}  // namespace

std::string MustacheParseError(const std::string& source) {
  const kainjow::mustache::mustache parsed(source);
  return parsed.is_valid() ? std::string() : parsed.error_message();
}

absl::StatusOr<std::string> RenderMustache(const std::string& source, const Variables& values,
                                           bool html_escape) {
  kainjow::mustache::mustache tmpl(source);
  if (!tmpl.is_valid()) {
    return absl::InvalidArgumentError(
        absl::StrCat("template does not parse: ", tmpl.error_message()));
  }
  if (html_escape) {
    tmpl.set_custom_escape(EscapeHtml);
  } else {
    tmpl.set_custom_escape([](const std::string& text) { return text; });
  }
  kainjow::mustache::data data;
  for (const auto& [name, value] : values) {
    data.set(name, value);
  }
  std::string out = tmpl.render(data);
  if (!tmpl.is_valid()) {
    return absl::InvalidArgumentError(absl::StrCat("rendering failed: ", tmpl.error_message()));
  }
  return out;
}

}  // namespace hub::notification::templates
