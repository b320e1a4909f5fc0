#pragma once
// CMD of `memoryguard run`, started as the agent's child: in memoryguard's
// process group (see signal_forwarder.h for why), with the signal mask and
// dispositions memoryguard itself was started with, and the file
// descriptors memoryguard was given, none of its own.
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "discover/process_identity.h"

namespace mg {

// What a child gets back of the process's start-up state.
struct ChildStartState {
  sigset_t mask{};        // the signal mask memoryguard was started with
  sigset_t to_default{};  // signals memoryguard ignores that were at their default
  std::set<int> inherited_fds;
  // The engine raises its own soft limit on descriptors to the hard one; a
  // program that select()s must not get that, as Go restores it for its
  // children too.
  std::optional<rlimit> nofile;
};

// Ignores `signals` in this process and notes which the child must get back
// at their default. Call before any thread exists.
void ignore_for_self(std::initializer_list<int> signals, ChildStartState& state);
// The descriptors open now: the ones given to memoryguard, which CMD gets too.
std::set<int> open_fds();
// What CMD is to get back of the process as it is now, before memoryguard
// changes it: the descriptors and the limit on them.
ChildStartState child_start_state();

struct SpawnedChild {
  pid_t pid = -1;
  int pidfd = -1;  // owned by the caller
  ProcessIdentity id;
  // When it could not start: 127 (not found) or 126 (found, not executable),
  // as shells and timeout(1) exit, and why.
  int exit_code = 0;
  std::string error;
  bool ok() const { return pid > 0; }
};

// Starts argv (argv[0] looked up in PATH, as execvp does) from the calling
// thread, which must be the one that reaps it (see reaper.h).
SpawnedChild spawn_child(const std::vector<std::string>& argv, const ChildStartState& state);

// The exit code for a wait status, as timeout(1) gives it: the child's own
// code, or 128+N when signal N ended it.
int exit_code_of(int wait_status);
// "exited with 3", "killed by SIGKILL"
std::string describe_wait_status(int wait_status);

}  // namespace mg
