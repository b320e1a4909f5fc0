#pragma once
// memoryguard --pid=PID | --pid-file=PATH [flags] (SPEC §2a): guards one
// running process (its tree with --tree) with the agent's engine until it
// exits, then exits 0. The process is pinned by a pidfd, opened before its
// start time is read, so it is known by its identity (pid, start time) and
// a later owner of its pid is never taken for it. A pid that names no
// process, or one that is never signalled (pid 1, memoryguard itself or an
// ancestor, a kernel thread), is a bad flag: exit 2.
#include "cli/flags.h"

namespace mg {

int pid_command(const Flags& flags);

}  // namespace mg
