#pragma once
// A rule's limit for one process in one check. A byte limit is itself; a `%`
// limit is that share of the memory limit of the process's cgroup (the least
// over it and its ancestors), read once per cgroup per check however many
// rules and processes ask. A cgroup without a limit gives 0 (no limit): the
// rule skips its processes, and says so once per rule and cgroup.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "config/config.h"
#include "discover/process_table.h"
#include "procfs/cgroup_fs.h"

namespace mg {

class LimitResolver {
 public:
  explicit LimitResolver(const CgroupFs& cgroups) : cgroups_(cgroups) {}
  // Forgets the cgroup limits read in the last check.
  void new_check() { limits_.clear(); }
  std::uint64_t limit_for(const RuleSpec& rule, const Process& p);
  // The share `percent` of `p`'s cgroup limit; nullopt when it has none.
  std::optional<std::uint64_t> percent_of_cgroup_limit(double percent, const Process& p);

 private:
  const CgroupFs& cgroups_;
  std::map<CgroupRef, std::optional<std::uint64_t>> limits_;       // this check's reads
  std::set<std::pair<std::string, std::string>> warned_no_limit_;  // (rule, cgroup)
};

}  // namespace mg
