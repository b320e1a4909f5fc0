#pragma once
// cgroup.kill spares nobody: not a protected process, not one this pid
// namespace cannot see. It may be written only when the whole subtree is
// known and none of it is the agent, one of its ancestors or pid 1.
#include <sys/types.h>

#include <string>
#include <unordered_set>

#include "procfs/cgroup_fs.h"
#include "procfs/proc_fs.h"

namespace mg {

struct CgroupKillCheck {
  bool safe = false;
  std::string why;  // when not safe: "holds the agent", "a member is not visible", ...
};

// `ancestors`: the agent's (see ancestors_of_self). The agent itself and pid 1
// are always added.
CgroupKillCheck check_cgroup_kill(const CgroupFs& cgroups, ProcFs& proc, const CgroupRef& ref,
                                  const std::unordered_set<pid_t>& ancestors);

}  // namespace mg
