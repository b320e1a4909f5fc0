#pragma once
// discover: who is running. One scan lists /proc and keeps what a process is
// (stat: comm, ppid, pgrp, flags, start time; and what matching needs:
// cmdline, exe, uid, cgroups) cached per identity (pid, start time).
//
// On a real procfs a steady scan reads no file at all: the listing gives each
// /proc/PID directory's inode, and a reused pid gets a new one, so a pid with
// an unchanged inode is the same process. stat is read for a pid that is new
// or has a new inode (then the start time decides), at every scan while the
// process is young (a fork is often followed by an exec that gives it its
// real name), and for every process at least every `attribute_ttl`, together
// with its attributes, spread over time so no scan pays for all of them. A
// changed comm drops the attributes at once. (On a fixture tree, where inodes
// mean nothing, stat is read at every scan.)
#include <sys/types.h>

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "discover/cgroup_identity.h"
#include "discover/cgroup_placement.h"
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
  // Where it sits in the cgroup trees (shared with every process of the
  // same /proc/PID/cgroup); null when not read.
  std::shared_ptr<const CgroupPlacement> cgroups;
  TimePoint read_at{};
  bool valid = false;

  const std::optional<CgroupRef>& primary_cgroup() const {
    return cgroups ? cgroups->primary : kNone;
  }
  const std::optional<CgroupRef>& memory_cgroup() const {
    return cgroups ? cgroups->memory : kNone;
  }
  const std::shared_ptr<const CgroupIdentity>& identity() const {
    static const std::shared_ptr<const CgroupIdentity> kUnknown;
    return cgroups ? cgroups->identity : kUnknown;
  }

 private:
  static inline const std::optional<CgroupRef> kNone;
};

// What the rules' matchers concluded of a process, one byte a rule, kept with
// the process so that it goes when the process goes (match/matcher.h owns
// what it means). A map per rule instead costs about 60 bytes a process a
// rule: 30 MiB at 10,000 processes and 50 rules.
struct MatchMemo {
  std::uint64_t generation = 0;  // of the config whose rules drew them
  TimePoint attrs_read_at{};     // from the attributes read then
  std::vector<std::uint8_t> verdicts;
};

struct Process {
  ProcessIdentity id;
  ProcStat stat;
  ProcessAttributes attrs;
  std::uint64_t seen_in_scan = 0;
  std::uint64_t first_seen_scan = 0;
  std::uint64_t ino = 0;      // of /proc/PID when stat was last read
  TimePoint first_seen_at{};  // by this table
  TimePoint refresh_due{};    // stat and attributes are re-read from then on
  mutable MatchMemo match_memo;
};

// A process that came, went or exec'd another program in the latest scan:
// what the processes that share pages with it need to know (see
// measure/sharing_pools.h).
struct ProcessChange {
  pid_t pid = 0;
  pid_t ppid = 0;
  std::string comm;  // for a rename, the old name (the new one is in the table)
};

struct ScanChanges {
  std::vector<ProcessChange> born;
  std::vector<ProcessChange> gone;
  std::vector<ProcessChange> renamed;
  void clear() {
    born.clear();
    gone.clear();
    renamed.clear();
  }
};

struct ScanErrors;

// Reads what `needs` asks for of one process. Another user's exe link needs
// CAP_SYS_PTRACE: that failure is counted and the attribute left absent.
// The cgroups are looked up in `placements`.
ProcessAttributes read_attributes(ProcFs& proc, CgroupPlacements& placements, pid_t pid,
                                  const AttributeNeeds& needs, TimePoint now, ScanErrors& errors);
// The same into `a`, reusing its storage.
void refresh_attributes(ProcFs& proc, CgroupPlacements& placements, pid_t pid,
                        const AttributeNeeds& needs, TimePoint now, ScanErrors& errors,
                        ProcessAttributes& a);

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
  // Something else saw this pid's process gone (a cached read failed with
  // ESRCH) while /proc still lists the pid: re-read its stat at the next scan
  // whatever its inode says.
  void suspect(pid_t pid);
  // Reads the cgroups (and so whose process it is) of a process that no rule
  // matches by them but that is watched, for its labels. Until its next
  // attribute refresh; nothing when they are there already.
  void ensure_cgroups(pid_t pid, ScanErrors& errors);
  void set_container_runtime(std::string runtime) {
    placements_.set_container_runtime(std::move(runtime));
  }
  // Who came, went or was renamed in the latest scan. The first scan finds
  // every process: none of those count as born.
  const ScanChanges& changes() const { return changes_; }
  // Seconds since boot when the latest scan began (a process's age is this
  // less its start_time); none where /proc has no uptime.
  std::optional<double> uptime() const { return uptime_; }
  // stat files read by the latest scan, for tests and benchmarks.
  std::size_t stat_reads() const { return stat_reads_; }

 private:
  ProcFs& proc_;
  std::unordered_map<pid_t, Process> processes_;
  CgroupPlacements placements_;
  std::vector<PidEntry> pids_;
  ScanChanges changes_;
  std::optional<double> uptime_;
  std::uint64_t scan_ = 0;
  std::size_t stat_reads_ = 0;
  bool listing_failed_ = false;  // said once when it starts, once when it ends
};

}  // namespace mg
