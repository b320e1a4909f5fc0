#include "act/cgroup_kill_guard.h"

#include <unistd.h>

#include <filesystem>
#include <vector>

namespace mg {
namespace {

bool within(const std::string& path, const std::string& top) {
  if (top == "/") return true;
  return path == top || (path.size() > top.size() && path.compare(0, top.size(), top) == 0 &&
                         path[top.size()] == '/');
}

// Every cgroup of the subtree must list its members. A pid this namespace
// cannot see shows as 0 in a v2 cgroup.procs, which CgroupFs rejects as a
// parse error: such a member could be anyone, an ancestor of the agent too.
// A child removed while we walk is simply gone.
bool subtree_fully_visible(const CgroupFs& cgroups, const CgroupRef& ref, std::string& why) {
  if (!cgroups.procs(ref)) {
    why = "its members cannot all be read or seen from this pid namespace";
    return false;
  }
  const std::string dir = cgroups.dir_of(ref);
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(dir, ec), end;
  if (ec) {
    why = "its subtree cannot be listed";
    return false;
  }
  for (; it != end; it.increment(ec)) {
    if (ec) {
      why = "its subtree cannot be listed";
      return false;
    }
    std::error_code sub;
    if (!it->is_directory(sub) || it->is_symlink(sub)) continue;
    // Appended piece by piece: GCC 12 at -O3 reports a bogus -Wrestrict
    // (GCC PR 105329) on `"/" + std::string&&`, which inserts into the temporary.
    std::string child = ref.path == "/" ? "" : ref.path;
    child += '/';
    child += std::filesystem::relative(it->path(), dir, sub).string();
    auto pids = cgroups.procs({ref.v2, child});
    if (!pids && pids.error() != ReadError::kVanished) {
      why = "cgroup " + child + " has members that cannot be read or seen from this pid namespace";
      return false;
    }
  }
  return true;
}

}  // namespace

CgroupKillCheck check_cgroup_kill(const CgroupFs& cgroups, ProcFs& proc, const CgroupRef& ref,
                                  const std::unordered_set<pid_t>& ancestors) {
  CgroupKillCheck c;
  if (!ref.v2 || cgroups.local_path(ref) == "/") {
    c.why = "not a non-root cgroup v2";
    return c;
  }
  // Asked of each by its own /proc/PID/cgroup, so a member the walk below
  // might miss (joined a moment ago, hidden) is still caught.
  std::vector<std::pair<pid_t, const char*>> anchors{{::getpid(), "the agent"}, {1, "pid 1"}};
  for (pid_t a : ancestors) anchors.emplace_back(a, "an ancestor of the agent");
  for (const auto& [pid, who] : anchors) {
    auto memberships = proc.read_cgroups(pid);
    if (!memberships) {
      if (memberships.error() == ReadError::kVanished && pid != ::getpid()) continue;
      c.why = std::string("cannot tell whether it holds ") + who;
      return c;
    }
    for (const CgroupMembership& m : *memberships) {
      if (m.hierarchy_id == 0 && within(m.path, ref.path)) {
        c.why = std::string("it holds ") + who + " (pid " + std::to_string(pid) + ")";
        return c;
      }
    }
  }
  if (!subtree_fully_visible(cgroups, ref, c.why)) return c;
  c.safe = true;
  return c;
}

}  // namespace mg
