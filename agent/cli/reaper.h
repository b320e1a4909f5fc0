#pragma once
// Reaping for `memoryguard run`: CMD's exit status, and every orphan that
// comes to memoryguard, as tini does when it is pid 1 of a container (the
// kernel gives it every orphan of the namespace) or a subreaper otherwise
// (CMD's orphans then stay below memoryguard, in the tree it guards, rather
// than going to the host's init).
//
// Only the main thread reaps, and only its own children (__WNOTHREAD): CMD,
// which it spawned, and the orphans, which the kernel hands to the thread
// group's leader. An `exec` hook is a child of the actuator thread that runs
// it, and that thread waits for its status itself; a waitpid(-1) of the
// whole process would steal it.
#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace mg {

// PR_SET_CHILD_SUBREAPER; false (errno set) where the kernel refuses.
bool become_subreaper();

class Reaper {
 public:
  explicit Reaper(pid_t watched) : watched_(watched) {}
  // Reaps every child of this thread that has exited, without blocking.
  void reap();
  // The wait status of `watched` once it has been reaped.
  const std::optional<int>& watched_status() const { return status_; }
  std::uint64_t orphans_reaped() const { return orphans_; }

 private:
  pid_t watched_;
  std::optional<int> status_;
  std::uint64_t orphans_ = 0;
};

}  // namespace mg
