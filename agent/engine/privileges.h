#pragma once
// What the agent may do to processes of other users: reading smaps_rollup
// needs CAP_SYS_PTRACE, signalling needs CAP_KILL. Reported once at start;
// after that, denials are only counted (memoryguard_scan_errors_total and
// memoryguard_kill_failures_total), never logged per process per check.
namespace mg {

struct Privileges {
  bool kill = false;
  bool sys_ptrace = false;
};

Privileges effective_privileges();
void report_privileges_once(const Privileges& p);

}  // namespace mg
