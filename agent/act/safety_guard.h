#pragma once
// The processes no rule may ever touch: the agent, its ancestors, pid 1 of its
// pid namespace, kernel threads, and whatever `protect` matches. The judge
// consults it with what the scan saw; the actuator asks again with a fresh
// read right before it signals members of a group or cgroup it enumerated.
#include <sys/types.h>

#include <memory>
#include <mutex>
#include <unordered_set>

#include "config/config.h"
#include "discover/process_table.h"
#include "match/matcher.h"
#include "procfs/proc_fs.h"

namespace mg {

// The agent's parent, its parent, and so on up to pid 1 of the agent's pid
// namespace (or as far as `proc` can follow the chain).
std::unordered_set<pid_t> ancestors_of_self(ProcFs& proc);

class SafetyGuard {
 public:
  // `procfs_root` is where the agent finds itself and its ancestors.
  SafetyGuard(const std::string& procfs_root, const CgroupFs& cgroups);
  void set_config(std::shared_ptr<const Config> config);

  // With what a scan already read (scan thread only).
  bool is_protected(const Process& p, const PidFiles& pid_files) const;
  // Reads the process afresh; safe from any thread. Anything unreadable or
  // gone counts as protected: doubt never leads to a signal.
  bool is_protected_now(pid_t pid);

  pid_t self() const { return self_; }
  const std::unordered_set<pid_t>& ancestors() const { return ancestors_; }

 private:
  bool structurally_protected(pid_t pid, const ProcStat& stat) const;

  pid_t self_;
  std::unordered_set<pid_t> ancestors_;
  const CgroupFs& cgroups_;
  std::mutex mu_;  // guards fresh_proc_, placements_ and config_ for is_protected_now
  ProcFs fresh_proc_;
  CgroupPlacements placements_{cgroups_};
  std::shared_ptr<const Config> config_;
};

}  // namespace mg
