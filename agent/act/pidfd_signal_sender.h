#pragma once
// The real SignalSender. A pidfd pins the process, and /proc/PID/stat read
// after opening it proves the pinned process is the one that was measured
// (same start time), so a reused pid is never signalled. The exit is awaited
// by polling the same pidfd. Whatever it is asked, it never signals pid 1,
// the agent itself or a kernel thread: the last check before a signal leaves.
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "act/signal_sender.h"
#include "procfs/proc_fs.h"

namespace mg {

class PidfdSignalSender final : public SignalSender {
 public:
  explicit PidfdSignalSender(std::string procfs_root = "/proc");
  ~PidfdSignalSender() override;
  PidfdSignalSender(const PidfdSignalSender&) = delete;
  PidfdSignalSender& operator=(const PidfdSignalSender&) = delete;

  SendOutcome send(const ProcessIdentity& id, int signal) override;
  std::optional<Duration> wait_exit(const ProcessIdentity& id, Duration timeout) override;

  // Pidfds kept between a send and its wait, for tests and the fd budget.
  std::size_t open_pidfds() const;

 private:
  // Shared so that a pidfd being polled is never closed (and its number
  // reused) under the waiter by a prune on another thread.
  struct Fd {
    int fd = -1;
    explicit Fd(int f) : fd(f) {}
    ~Fd();
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
  };
  struct Pinned {
    std::shared_ptr<Fd> fd;
    TimePoint opened{};
  };
  enum class Open { kOk, kGone, kReused, kRefused, kError };

  // A pidfd for id: the one kept since the last send, or a fresh one checked
  // against id.start_time.
  Open acquire(const ProcessIdentity& id, std::shared_ptr<Fd>& out);
  Open open_checked(const ProcessIdentity& id, std::shared_ptr<Fd>& out);
  void forget(const ProcessIdentity& id, const std::shared_ptr<Fd>& fd);
  void prune_locked(TimePoint now);

  mutable std::mutex mu_;  // guards procfs_ (not thread-safe) and pinned_
  ProcFs procfs_;
  std::unordered_map<ProcessIdentity, Pinned, ProcessIdentityHash> pinned_;
};

}  // namespace mg
