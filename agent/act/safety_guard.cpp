#include "act/safety_guard.h"

#include <unistd.h>

namespace mg {

std::unordered_set<pid_t> ancestors_of_self(ProcFs& proc) {
  // Seen through the same /proc the rules see. In a private pid namespace
  // the chain ends at its pid 1; the parent is known even when /proc is not.
  std::unordered_set<pid_t> ancestors;
  pid_t pid = getppid();
  for (int depth = 0; pid > 0 && depth < 4096; ++depth) {
    ancestors.insert(pid);
    auto st = proc.read_stat(pid);
    if (!st || st->ppid == pid) break;
    pid = st->ppid;
  }
  return ancestors;
}

SafetyGuard::SafetyGuard(const std::string& procfs_root, const CgroupFs& cgroups)
    : self_(getpid()), cgroups_(cgroups), fresh_proc_(procfs_root) {
  ancestors_ = ancestors_of_self(fresh_proc_);
}

void SafetyGuard::set_config(std::shared_ptr<const Config> config) {
  std::lock_guard lock(mu_);
  config_ = std::move(config);
}

bool SafetyGuard::structurally_protected(pid_t pid, const ProcStat& stat) const {
  // Kernel threads are known by PF_KTHREAD alone: in a container's pid
  // namespace pid 2 is an ordinary workload process.
  return pid <= 1 || pid == self_ || ancestors_.contains(pid) || stat.is_kernel_thread();
}

namespace {

// Whether `m` protects `p`. An attribute that could not be read leaves the
// answer open, and for protection an open answer means protected.
bool protects(const MatchSpec& m, const Process& p, const PidFiles& pid_files) {
  if (matches(m, p, pid_files)) return true;
  return (m.needs_cmdline() && !p.attrs.cmdline) || (m.needs_exe() && !p.attrs.exe) ||
         (m.needs_user() && !p.attrs.uid) || (m.needs_cgroup() && !p.attrs.cgroups);
}

}  // namespace

bool SafetyGuard::is_protected(const Process& p, const PidFiles& pid_files) const {
  if (structurally_protected(p.id.pid, p.stat)) return true;
  if (!config_) return false;
  for (const MatchSpec& m : config_->protect) {
    if (protects(m, p, pid_files)) return true;
  }
  return false;
}

bool SafetyGuard::is_protected_now(pid_t pid) {
  std::lock_guard lock(mu_);
  auto stat = fresh_proc_.read_stat(pid);
  if (!stat) return true;
  if (structurally_protected(pid, *stat)) return true;
  if (!config_ || config_->protect.empty()) return false;
  Process p;
  p.id = {pid, stat->start_time};
  p.stat = *stat;
  AttributeNeeds needs;
  for (const MatchSpec& m : config_->protect) needs |= needs_of(m);
  ScanErrors ignored;  // unreadable means protected below, nothing to count
  p.attrs = read_attributes(fresh_proc_, placements_, pid, needs, TimePoint{}, ignored);
  PidFiles pid_files;
  pid_files.refresh(fresh_proc_, *config_);
  for (const MatchSpec& m : config_->protect) {
    if (protects(m, p, pid_files)) return true;
  }
  return false;
}

}  // namespace mg
