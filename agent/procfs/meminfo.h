#pragma once
// The host's memory as /proc/meminfo tells it: MemTotal, and MemAvailable,
// the kernel's estimate of what can be allocated without swapping (free
// memory plus the page cache and reclaimable slab it can drop), which is
// what earlyoom watches. MemAvailable exists since Linux 3.14.
#include <cstdint>
#include <optional>
#include <string_view>

namespace mg {

struct MemInfo {
  std::uint64_t total = 0;
  std::optional<std::uint64_t> available;
};

// nullopt when MemTotal is missing or malformed.
std::optional<MemInfo> parse_meminfo(std::string_view text);

}  // namespace mg
