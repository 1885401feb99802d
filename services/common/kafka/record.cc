#include <optional>
#include <string_view>

#include "services/common/kafka/kafka.h"

namespace hub::kafka {

std::optional<std::string_view> ConsumedRecord::FindHeader(std::string_view name) const {
  for (const Header& header : headers) {
    if (header.key == name) {
      return std::string_view{header.value};
    }
  }
  return std::nullopt;
}

}  // namespace hub::kafka
