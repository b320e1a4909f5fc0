#pragma once
// What the judge asks the actuator to do, and what came of it.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "discover/cgroup_identity.h"
#include "discover/process_identity.h"
#include "procfs/cgroup_fs.h"

namespace mg {

struct ActionRequest {
  std::string rule;
  ProcessIdentity victim;                          // the process that was measured and judged
  std::string name;                                // comm, for the log line and the hook
  pid_t pgrp = 0;                                  // for target: process_group
  std::optional<CgroupRef> cgroup;                 // for target: cgroup
  std::shared_ptr<const CgroupIdentity> identity;  // whose process: for the line and hook
  std::uint64_t bytes = 0;  // what was measured (process, group sum or cgroup sum)
  std::uint64_t limit = 0;
  // For the re-check right before the signal: the figure the limit compares,
  // whether `bytes` is a sum over a group, and the victim's own share of it.
  Measure measure = Measure::kPss;
  Scope scope = Scope::kProcess;
  std::uint64_t victim_bytes = 0;
  // Whether that re-check applies: only where the limit compares the
  // processes' own figures (not a working set, pressure or MemAvailable).
  bool recheck_figure = true;
  // The conditions that held, in words, for the log line and the hook.
  std::string trigger;
  // What the judge backs off from after this action (see target_key): given
  // back when the action is skipped with the victim back under its limit,
  // so the next crossing is acted on at once.
  std::string backoff_key;
  ActionSpec spec;
  bool dry_run = false;
};

struct ActionResult {
  std::string rule;
  int signal = 0;  // the last signal sent (SIGKILL after escalation)
  int signals_sent = 0;
  bool escalated = false;
  bool failed = false;
  std::string failure_reason;  // "permission", "protected", "error", "hook"
  // Not carried out on purpose, nothing sent: "exited", "zombie", "pid_reused",
  // "below_limit". Neither a kill nor a failure.
  std::string skipped;
  std::string outcome;  // "exited after 120ms", "escalated to SIGKILL", "skipped: pid reused"
};

// The reasons an action may be skipped, each counted per rule from 0.
inline constexpr const char* kSkipReasons[] = {"exited", "zombie", "pid_reused", "below_limit"};

// The victim as it is right before the first signal (see victim_probe.h).
struct VictimNow {
  enum class State {
    kAlive,
    kExited,     // gone and reaped
    kZombie,     // exited, not yet reaped: its memory is already freed
    kPidReused,  // the pid belongs to a process that started later
    kUnknown,    // could not tell: act on what was judged
  };
  State state = State::kUnknown;
  std::optional<std::uint64_t> bytes;  // by the request's measure, when readable
};
using VictimRecheck = std::function<VictimNow(const ProcessIdentity&, Measure)>;

// Decides whether a pid may ever be signalled: never the agent, its
// ancestors, pid 1, kernel threads, or a `protect`ed process.
using ProtectedCheck = std::function<bool(pid_t)>;

}  // namespace mg
