#pragma once
// The seam through which every signal leaves the agent. The real one goes
// through a pidfd checked against the process identity; tests record instead.
#include <chrono>
#include <optional>

#include "discover/process_identity.h"
#include "util/clock.h"

namespace mg {

enum class SendOutcome {
  kSent,
  kGone,        // exited (reaped, or a zombie): nothing sent
  kReused,      // the pid now belongs to a process that started later: nothing sent
  kRefused,     // pid 1, the agent itself or a kernel thread: never signalled
  kPermission,  // EPERM: needs CAP_KILL or the same uid
  kError,
};
const char* to_string(SendOutcome o);

class SignalSender {
 public:
  virtual ~SignalSender() = default;
  // Opens a pidfd for id.pid, checks that /proc/PID/stat still shows
  // id.start_time, that the process is still running, and that it is none
  // of those no signal may ever reach, then signals through the pidfd.
  virtual SendOutcome send(const ProcessIdentity& id, int signal) = 0;
  // Waits up to `timeout` for the process to exit. Returns how long it took,
  // or nullopt if it is still alive. With the real sender this polls a pidfd
  // (no busy loop); a process already gone returns at once.
  virtual std::optional<Duration> wait_exit(const ProcessIdentity& id, Duration timeout) = 0;
};

}  // namespace mg
