#pragma once
// What the judge asks the actuator to do, and what came of it.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "discover/process_identity.h"
#include "procfs/cgroup_fs.h"

namespace mg {

struct ActionRequest {
  std::string rule;
  ProcessIdentity victim;  // the process that was measured and judged
  std::string name;        // comm, for the log line and the hook
  pid_t pgrp = 0;          // for target: process_group
  std::optional<CgroupRef> cgroup;  // for target: cgroup
  std::uint64_t bytes = 0;  // what was measured (process, group sum or cgroup sum)
  std::uint64_t limit = 0;
  ActionSpec spec;
  bool dry_run = false;
};

struct ActionResult {
  std::string rule;
  int signal = 0;      // the last signal sent (SIGKILL after escalation)
  int signals_sent = 0;
  bool escalated = false;
  bool failed = false;
  std::string failure_reason;  // "permission", "gone", "protected", "error", "hook"
  std::string outcome;         // "exited after 120ms", "escalated to SIGKILL", "failed: EPERM"
};

// Decides whether a pid may ever be signalled: never the agent, its
// ancestors, pid 1, kernel threads, or a `protect`ed process.
using ProtectedCheck = std::function<bool(pid_t)>;

}  // namespace mg
