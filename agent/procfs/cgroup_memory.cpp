#include "procfs/cgroup_memory.h"

#include <charconv>

namespace mg {

std::optional<std::uint64_t> memory_stat_value(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ' ')
      continue;
    line.remove_prefix(key.size() + 1);
    while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
    std::uint64_t value = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), value);
    if (ec != std::errc() || p != line.data() + line.size()) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

}  // namespace mg
