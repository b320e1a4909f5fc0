#pragma once
// The `exec` hook: an argv run after an action (no shell), with the action's
// facts in MEMORYGUARD_* environment variables, stdin from /dev/null, in its
// own process group so that a hook past its timeout is killed with everything
// it started.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "util/clock.h"

namespace mg {

struct HookRun {
  enum class Status {
    kExited,      // exit_code holds its status
    kSignaled,    // term_signal holds the signal that ended it
    kTimedOut,    // ran past the timeout, its process group was SIGKILLed
    kAbandoned,   // the agent is shutting down, its process group was SIGKILLed
    kSpawnFailed  // spawn_errno says why (ENOENT, EACCES, ...)
  };
  Status status = Status::kSpawnFailed;
  int exit_code = 0;
  int term_signal = 0;
  int spawn_errno = 0;
  Duration took{0};
  Duration timeout{0};
  bool ok() const { return status == Status::kExited && exit_code == 0; }
  // "exited with status 0", "killed after timeout 10s", "failed to start: ENOENT"
  std::string describe() const;
};

using HookEnv = std::vector<std::pair<std::string, std::string>>;

// Runs argv with the agent's environment plus `extra` (which wins over an
// inherited variable of the same name) and waits for it, up to `timeout`.
// `abandoned` is asked every so often while waiting; when it says true the
// hook is killed at once. Thread-safe: spawning never forks a copy of the
// agent's threads' state, and the child is reaped here.
HookRun run_hook(const std::vector<std::string>& argv, const HookEnv& extra, Duration timeout,
                 const std::function<bool()>& abandoned = {});

}  // namespace mg
