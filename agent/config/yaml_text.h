#pragma once
// Checks on a config's bytes that YAML parsing alone does not make: where
// the text stops being UTF-8 (yaml-cpp takes NUL bytes and invalid
// sequences silently, and an invalid rule name would break every scrape),
// and whether a second YAML document follows the first. Private to
// agent/config.
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

namespace mg::config_internal {

struct BadByte {
  Mark mark;
  std::string reason;
};

std::optional<BadByte> first_bad_byte(std::string_view text);
// Where a second document starts, if any. Throws YAML::ParserException where
// yaml-cpp's parser makes no progress (it would loop forever).
std::optional<Mark> second_document_start(const std::string& yaml);

}  // namespace mg::config_internal
