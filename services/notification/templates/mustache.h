// The one place the hub calls kainjow mustache (Debian libkainjow-mustache-dev): parse a
// template to see whether it is valid, and render it with string values. Keeping kainjow
// behind these two functions confines its header to one translation unit (see
// CMakeLists.txt for the warning that unit needs relaxed) and keeps its API out of ours.
//
// Stateless; thread-safe (each call builds its own kainjow objects).
#ifndef HUB_SERVICES_NOTIFICATION_TEMPLATES_MUSTACHE_H_
#define HUB_SERVICES_NOTIFICATION_TEMPLATES_MUSTACHE_H_

#include <string>

#include "absl/status/statusor.h"

#include "services/notification/templates/catalogue.h"

namespace hub::notification::templates {

// kainjow's parse error for `source` ("Unclosed section \"x\" at 12"), or empty when it
// parses.
std::string MustacheParseError(const std::string& source);

// Renders `source` with `values`. With `html_escape`, values in {{name}} tags are
// HTML-escaped (& < > " ' become &amp; &lt; &gt; &quot; &#39;); without, they are inserted
// as they are (plain-text parts).
// kInvalidArgument if the template does not parse or rendering fails.
absl::StatusOr<std::string> RenderMustache(const std::string& source, const Variables& values,
                                           bool html_escape);

}  // namespace hub::notification::templates

#endif  // HUB_SERVICES_NOTIFICATION_TEMPLATES_MUSTACHE_H_
