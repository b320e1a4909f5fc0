#pragma once
// The one place that reads and writes the cgroup filesystem. Built with a root
// (--cgroupfs) so tests use fixture trees. Handles the three layouts:
//   pure v2:  <root>/cgroup.controllers exists
//   hybrid:   v1 controllers under <root>/<controller>, v2 at <root>/unified
//   pure v1:  controllers under <root>/<controller>, no v2 anywhere
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "procfs/cgroup_memory.h"
#include "procfs/pressure.h"
#include "procfs/proc_fs.h"
#include "util/expected.h"

namespace mg {

enum class CgroupLayout { kUnified, kHybrid, kLegacy, kNone };
const char* to_string(CgroupLayout l);

// A cgroup as memoryguard groups by and acts on: which hierarchy and the path
// in it. v2 when the process sits in a non-root v2 cgroup, otherwise the v1
// memory controller's cgroup.
struct CgroupRef {
  bool v2 = true;
  std::string path;  // "/" for the root
  bool operator==(const CgroupRef&) const = default;
  bool operator<(const CgroupRef& o) const { return v2 != o.v2 ? v2 < o.v2 : path < o.path; }
};

class CgroupFs {
 public:
  explicit CgroupFs(std::string root = "/sys/fs/cgroup",
                    const std::string& mountinfo = "/proc/self/mountinfo");
  CgroupLayout layout() const { return layout_; }
  const std::string& root() const { return root_; }

  // The cgroup a process is grouped and acted on by (see CgroupRef), or
  // nullopt when it has none we can use.
  std::optional<CgroupRef> primary(const std::vector<CgroupMembership>& memberships) const;

  // The tightest memory limit that applies: the least of memory.max (v2) or
  // memory.limit_in_bytes (v1) over the cgroup and its ancestors. nullopt when
  // unlimited or unknown.
  std::optional<std::uint64_t> memory_limit(const std::vector<CgroupMembership>& m) const;
  std::optional<std::uint64_t> memory_limit(const CgroupRef& ref) const;

  // Where the memory controller accounts a process: its v2 cgroup where v2
  // has the controller there (memory.current exists), else its v1 memory
  // cgroup. On a hybrid host that is the v1 side. nullopt for the root (it
  // has no charge of its own to read) or when there is no controller.
  std::optional<CgroupRef> memory_cgroup(const std::vector<CgroupMembership>& m) const;
  // The process's v2 cgroup, whose memory.pressure v2 keeps whether or not
  // the memory controller is there (a hybrid host's unified tree too).
  std::optional<CgroupRef> pressure_cgroup(const std::vector<CgroupMembership>& m) const;
  bool has_v2() const { return !v2_root_.empty(); }
  // The charge and inactive file cache of a memory cgroup (see
  // cgroup_memory.h): memory.current or memory.usage_in_bytes, and
  // memory.stat.
  Expected<CgroupMemory> memory_usage(const CgroupRef& ref) const;
  // memory.pressure of a v2 cgroup.
  Expected<Pressure> memory_pressure(const CgroupRef& ref) const;
  // How many of the cgroup's processes the kernel's OOM killer has killed:
  // oom_kill of memory.events (v2) or memory.oom_control (v1, Linux 4.13+).
  Expected<std::uint64_t> oom_kills(const CgroupRef& memory_cgroup) const;

  // Member pids (cgroup.procs).
  Expected<std::vector<pid_t>> procs(const CgroupRef& ref) const;
  // Member pids of the cgroup and of every cgroup below it.
  Expected<std::vector<pid_t>> procs_recursive(const CgroupRef& ref) const;
  // cgroup.kill exists (v2, kernel >= 5.14).
  bool can_kill(const CgroupRef& ref) const;
  // Writes 1 to cgroup.kill: SIGKILL to every process in it, atomically.
  Expected<bool> kill(const CgroupRef& ref) const;

  // Directory of a cgroup on this filesystem.
  std::string dir_of(const CgroupRef& ref) const;

  // Where a hierarchy mounted at `mount_point` starts, from a mountinfo file.
  // A container without its own cgroup namespace sees host paths in
  // /proc/PID/cgroup while its cgroupfs is mounted from its own cgroup down:
  // that prefix is cut from every path before it is looked up. "/" otherwise.
  static std::string mount_root_of(const std::string& mountinfo_path,
                                   const std::string& mount_point);
  // A path of /proc/PID/cgroup made relative to what is mounted here; empty
  // when the cgroup lies outside of it.
  std::string local_path(const CgroupRef& ref) const;

 private:
  std::string root_;
  std::string v2_root_;      // empty when no v2 hierarchy
  std::string memory_root_;  // v1 memory controller, empty when none
  std::string v2_mount_root_ = "/";
  std::string memory_mount_root_ = "/";
  CgroupLayout layout_;
};

}  // namespace mg
