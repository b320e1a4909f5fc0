#pragma once
// Where a process sits in the cgroup trees, parsed once per distinct
// /proc/PID/cgroup text and shared by every process with the same one (a
// pool's workers all have): its memberships, the cgroup it is grouped and
// acted on by, the one its memory is charged to, and whose process it is.
// A process re-read at its attribute refresh finds its placement by the
// text alone, so the refresh allocates nothing, and finding the memory
// cgroup (a stat) or parsing the identity happens once per cgroup.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "discover/cgroup_identity.h"
#include "procfs/cgroup_fs.h"
#include "procfs/proc_fs.h"

namespace mg {

struct CgroupPlacement {
  std::vector<CgroupMembership> memberships;
  std::optional<CgroupRef> primary;                // CgroupFs::primary
  std::optional<CgroupRef> memory;                 // CgroupFs::memory_cgroup
  std::shared_ptr<const CgroupIdentity> identity;  // null when the paths say nothing
};

class CgroupPlacements {
 public:
  explicit CgroupPlacements(const CgroupFs& cgroups) : cgroups_(cgroups) {}
  // How a bare container ID is written (see CgroupIdentities).
  void set_container_runtime(std::string runtime);
  // The placement a /proc/PID/cgroup text describes; null when it does not
  // parse.
  std::shared_ptr<const CgroupPlacement> of(std::string_view cgroup_file);
  // Forgets the placements no process holds any more.
  void prune();
  std::size_t size() const { return by_text_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  const CgroupFs& cgroups_;
  CgroupIdentities identities_;
  std::unordered_map<std::string, std::shared_ptr<const CgroupPlacement>, Hash, std::equal_to<>>
      by_text_;
};

}  // namespace mg
