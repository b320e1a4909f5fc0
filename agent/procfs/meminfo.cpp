#include "procfs/meminfo.h"

#include <charconv>
#include <limits>

namespace mg {
namespace {

// "   24683748 kB" -> bytes. Every size in meminfo is in KiB.
std::optional<std::uint64_t> kib_value(std::string_view rest) {
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  std::uint64_t kib = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), kib);
  if (ec != std::errc() || p == rest.data()) return std::nullopt;
  std::string_view unit(p, static_cast<std::size_t>(rest.data() + rest.size() - p));
  while (!unit.empty() && (unit.front() == ' ' || unit.back() == ' ' || unit.back() == '\r')) {
    if (unit.front() == ' ')
      unit.remove_prefix(1);
    else
      unit.remove_suffix(1);
  }
  if (unit != "kB") return std::nullopt;
  if (kib > std::numeric_limits<std::uint64_t>::max() / 1024) return std::nullopt;
  return kib * 1024;
}

}  // namespace

std::optional<MemInfo> parse_meminfo(std::string_view text) {
  std::optional<std::uint64_t> total, available;
  while (!text.empty() && !(total && available)) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, colon);
    if (key == "MemTotal") {
      total = kib_value(line.substr(colon + 1));
      if (!total) return std::nullopt;
    } else if (key == "MemAvailable") {
      available = kib_value(line.substr(colon + 1));
    }
  }
  if (!total || *total == 0) return std::nullopt;
  return MemInfo{*total, available};
}

}  // namespace mg
