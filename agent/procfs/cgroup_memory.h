#pragma once
// A cgroup's memory charge, and its working set as the kubelet computes it
// (and cAdvisor's container_memory_working_set_bytes): the charge minus the
// inactive file cache, which the kernel reclaims before it OOM-kills.
//   v2: memory.current          - inactive_file (memory.stat)
//   v1: memory.usage_in_bytes   - total_inactive_file (memory.stat, which
//       counts the cgroup and its descendants, as usage_in_bytes does)
#include <cstdint>
#include <optional>
#include <string_view>

namespace mg {

struct CgroupMemory {
  std::uint64_t usage = 0;          // what is charged: anon, page cache, tmpfs, kernel
  std::uint64_t inactive_file = 0;  // the part the kernel can drop first
  std::uint64_t working_set() const { return usage > inactive_file ? usage - inactive_file : 0; }
};

// The value of `key` in a memory.stat text ("key value" per line).
std::optional<std::uint64_t> memory_stat_value(std::string_view text, std::string_view key);

}  // namespace mg
