#pragma once
// What the agent may do to processes of other users: reading smaps_rollup
// needs CAP_SYS_PTRACE, signalling needs CAP_KILL. Reported once at start;
// after that, denials are only counted (memoryguard_scan_errors_total and
// memoryguard_kill_failures_total), never logged per process per check.
#include <string>

namespace mg {

struct Privileges {
  bool kill = false;
  bool sys_ptrace = false;
};

Privileges effective_privileges();
void report_privileges_once(const Privileges& p);

// Whether `procfs` shows the agent's own pid namespace: its own pid there is
// itself (same start time). pidfds and getpid() live in that namespace, so a
// /proc of another one (a DaemonSet without hostPID) would make the agent
// mistake other processes for itself and its ancestors.
bool procfs_is_own_pid_namespace(const std::string& procfs);

}  // namespace mg
