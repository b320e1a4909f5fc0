#pragma once
// What a config must pass against the host it runs on, beyond what the
// loader can see in the file: a `%` limit or a working set needs a cgroup
// memory controller, and every process a `%` rule matches right now needs a
// cgroup with a memory limit; `pressure:` needs the kernel's PSI (and cgroup
// v2 for a scope: cgroup rule), `available:` a MemAvailable. Errors point at
// the rule's key, as the loader's do.
#include <vector>

#include "config/config.h"
#include "config/config_loader.h"
#include "discover/process_table.h"
#include "match/tree_filter.h"
#include "procfs/cgroup_fs.h"
#include "procfs/proc_fs.h"
#include "util/clock.h"

namespace mg {

std::vector<ConfigError> validate_against_host(const Config& config, ProcFs& proc,
                                               const CgroupFs& cgroups);

// Scans `table` (the engine's own, which this warms up) for the processes
// each `%` rule matches now; with `tree`, only those within it.
std::vector<ConfigError> percent_limit_errors(const Config& config, ProcFs& proc,
                                              ProcessTable& table, const CgroupFs& cgroups,
                                              TimePoint now, TreeFilter* tree = nullptr);

}  // namespace mg
