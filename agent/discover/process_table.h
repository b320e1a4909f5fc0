#pragma once
// discover: who is running. One scan lists /proc, reads each process's stat
// (comm, ppid, pgrp, flags, start time) and keeps what else matching needs
// (cmdline, exe, uid, cgroups) cached per identity, so a steady scan reads one
// small file per process. The cache never blinds the agent: a changed comm
// (exec) drops it at once, and every entry is re-read at least every
// `attribute_ttl` to see a rewritten command line or a cgroup move.
#include <sys/types.h>

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "discover/process_identity.h"
#include "procfs/cgroup_fs.h"
#include "procfs/proc_fs.h"
#include "util/clock.h"

namespace mg {

// Which attributes the current rules look at; nothing else is read.
struct AttributeNeeds {
  bool cmdline = false;
  bool exe = false;
  bool user = false;
  bool cgroups = false;
  AttributeNeeds& operator|=(const AttributeNeeds& o) {
    cmdline |= o.cmdline;
    exe |= o.exe;
    user |= o.user;
    cgroups |= o.cgroups;
    return *this;
  }
};

struct ProcessAttributes {
  std::optional<std::string> cmdline;
  std::optional<std::string> exe;
  std::optional<uid_t> uid;
  std::optional<std::vector<CgroupMembership>> cgroups;
  std::optional<CgroupRef> primary_cgroup;
  TimePoint read_at{};
  bool valid = false;
};

struct Process {
  ProcessIdentity id;
  ProcStat stat;
  ProcessAttributes attrs;
  std::uint64_t seen_in_scan = 0;
  std::uint64_t first_seen_scan = 0;
};

struct ScanErrors;

// Reads what `needs` asks for of one process. Another user's exe link needs
// CAP_SYS_PTRACE: that failure is counted and the attribute left absent.
ProcessAttributes read_attributes(ProcFs& proc, const CgroupFs& cgroups, pid_t pid,
                                  const AttributeNeeds& needs, TimePoint now, ScanErrors& errors);

struct ScanErrors {
  std::uint64_t vanished = 0;
  std::uint64_t permission = 0;
  std::uint64_t parse = 0;
  std::uint64_t io = 0;
  void count(ReadError e);
};

class ProcessTable {
 public:
  ProcessTable(ProcFs& proc, const CgroupFs& cgroups);

  // Lists /proc, refreshes every entry and forgets processes that are gone.
  void scan(TimePoint now, const AttributeNeeds& needs, Duration attribute_ttl, ScanErrors& errors);

  const std::unordered_map<pid_t, Process>& processes() const { return processes_; }
  const Process* find(pid_t pid) const;
  std::uint64_t scan_number() const { return scan_; }

 private:
  ProcFs& proc_;
  const CgroupFs& cgroups_;
  std::unordered_map<pid_t, Process> processes_;
  std::vector<pid_t> pids_;
  std::uint64_t scan_ = 0;
};

}  // namespace mg
