#pragma once
// The signals a way in waits for, read one at a time from a signalfd by the
// main thread. They are blocked in the calling thread before any other
// thread exists, so every thread started later inherits the block and none
// of them takes one (and, as pid 1, a blocked signal is queued rather than
// dropped for having no handler). What the process had before is kept, so a
// child can be given back its original mask.
#include <signal.h>

#include <vector>

namespace mg {

struct SignalEvent {
  int signal = 0;  // 0: none came in time
  int code = 0;    // si_code: SI_USER for kill(), SI_KERNEL for a terminal's Ctrl-C
};

class SignalEvents {
 public:
  // Throws std::system_error when no signalfd can be made.
  explicit SignalEvents(const std::vector<int>& signals);
  ~SignalEvents();
  SignalEvents(const SignalEvents&) = delete;
  SignalEvents& operator=(const SignalEvents&) = delete;

  int fd() const { return fd_; }
  // The next signal, waiting up to `timeout_ms` (-1: for ever).
  SignalEvent next(int timeout_ms);
  // The mask the process had before: a child starts with it.
  const sigset_t& original_mask() const { return original_; }

 private:
  int fd_ = -1;
  sigset_t set_{};
  sigset_t original_{};
};

}  // namespace mg
