#include "engine/privileges.h"

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "procfs/proc_fs.h"
#include "util/log.h"

namespace mg {

Privileges effective_privileges() {
  // The agent's own status, not the watched /proc (which may be a host's).
  std::ifstream in("/proc/self/status");
  std::string line;
  Privileges p;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) == 0) {
      const std::uint64_t caps = std::strtoull(line.c_str() + 7, nullptr, 16);
      p.kill = caps & (1ull << 5);         // CAP_KILL
      p.sys_ptrace = caps & (1ull << 19);  // CAP_SYS_PTRACE
    }
  }
  return p;
}

void report_privileges_once(const Privileges& p) {
  if (p.kill && p.sys_ptrace) return;
  log::warn(
      "missing capabilities: processes of other users can only be watched and acted on "
      "with them; denials are counted, not logged",
      {{"CAP_KILL", p.kill}, {"CAP_SYS_PTRACE", p.sys_ptrace}});
}

bool procfs_is_own_pid_namespace(const std::string& procfs) {
  ProcFs own("/proc");
  ProcFs given(procfs);
  auto mine = own.read_stat(getpid());
  auto there = given.read_stat(getpid());
  return mine && there && mine->start_time == there->start_time && mine->comm == there->comm;
}

}  // namespace mg
