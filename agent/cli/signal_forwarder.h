#pragma once
// The signals `memoryguard run` passes on to CMD, so that a container's stop
// (SIGTERM to pid 1), a `kill` of memoryguard, a reload request or a
// terminal's resize reach the program they are meant for.
//
// CMD stays in memoryguard's process group, as with `timeout --foreground`:
// a terminal's Ctrl-C, Ctrl-\ and resize then reach both at once, and Ctrl-Z
// stops both, so the shell's job control keeps working. Such a signal comes
// from the kernel (SI_KERNEL), and passing it on as well would deliver it
// twice (a second Ctrl-C means "force quit" to many programs): it is passed
// on only if CMD has left memoryguard's process group.
#include <sys/types.h>

#include <vector>

#include "cli/signal_events.h"

namespace mg {

// SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH.
const std::vector<int>& forwarded_signals();

class SignalForwarder {
 public:
  // `pidfd` pins CMD, so a signal can never reach a process that took its
  // pid after it was reaped.
  SignalForwarder(int pidfd, pid_t pid) : pidfd_(pidfd), pid_(pid) {}
  // False when it was not passed on: CMD got it from the terminal already,
  // or has exited.
  bool forward(const SignalEvent& event) const;

 private:
  int pidfd_;
  pid_t pid_;
};

}  // namespace mg
