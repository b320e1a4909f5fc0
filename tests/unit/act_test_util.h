#pragma once
// Shared by the act_race_* and act_protect tests: real children forked here,
// steered over a pipe, and a record of what the Actuator reported. Only these
// children are ever signalled.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "act/actuator.h"
#include "act/pidfd.h"
#include "procfs/proc_fs.h"

namespace mg::acttest {

using namespace std::chrono_literals;

inline ProcessIdentity identity_of(pid_t pid) {
  ProcFs procfs("/proc");
  auto stat = procfs.read_stat(pid);
  return stat ? ProcessIdentity{pid, stat->start_time} : ProcessIdentity{pid, 0};
}

// The wait status of our child, reaped.
inline int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

inline bool alive_unreaped(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == 0;
}

// Blocks until `pid` (our child) has exited, without reaping it.
inline bool wait_zombie(pid_t pid, Duration within = 5s) {
  siginfo_t info{};
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    info = {};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid)
      return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

// A child that holds `mib` MiB of touched private memory and obeys one-byte
// commands: 'f' frees it, 'n' renames itself "mgt_renamed", 'x' exits 0.
// Each command is answered with one byte once done. Between fork and _exit
// only system calls.
class Child {
 public:
  explicit Child(long mib) {
    int down[2], up[2];
    if (::pipe(down) != 0 || ::pipe(up) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(down[1]);
      ::close(up[0]);
      const std::size_t size = static_cast<std::size_t>(mib) << 20;
      void* area =
          size ? ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
               : nullptr;
      if (area == MAP_FAILED) ::_exit(3);
      if (area) std::memset(area, 0x5a, size);
      char c = 'r';
      (void)!::write(up[1], &c, 1);
      while (::read(down[0], &c, 1) == 1) {
        if (c == 'f' && area) {
          ::munmap(area, size);
          area = nullptr;
        } else if (c == 'n') {
          ::prctl(PR_SET_NAME, "mgt_renamed", 0, 0, 0);
        } else if (c == 'x') {
          ::_exit(0);
        }
        (void)!::write(up[1], &c, 1);
      }
      ::_exit(0);
    }
    ::close(down[0]);
    ::close(up[1]);
    to_ = down[1];
    from_ = up[0];
    char c;
    if (pid_ > 0 && ::read(from_, &c, 1) != 1) pid_ = -1;
  }
  ~Child() {
    if (pid_ > 0 && alive_unreaped(pid_)) {
      ::kill(pid_, SIGKILL);
      reap(pid_);
    }
    if (to_ >= 0) ::close(to_);
    if (from_ >= 0) ::close(from_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool command(char c) {
    if (::write(to_, &c, 1) != 1) return false;
    if (c == 'x') return true;
    char ack;
    return ::read(from_, &ack, 1) == 1;
  }
  // Reaps it; the status for assertions.
  int reap_now() {
    int status = reap(pid_);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
};

// What the Actuator reported through its hooks.
struct Recorded {
  std::mutex mu;
  std::vector<int> signals;
  std::vector<std::string> failures;
  std::vector<std::string> skips;

  ActuatorHooks hooks(VictimRecheck recheck = {}) {
    ActuatorHooks h;
    h.on_signal = [this](const ActionRequest&, int s) {
      std::lock_guard lock(mu);
      signals.push_back(s);
    };
    h.on_failure = [this](const std::string&, const std::string& r) {
      std::lock_guard lock(mu);
      failures.push_back(r);
    };
    h.on_skip = [this](const ActionRequest&, const std::string& r) {
      std::lock_guard lock(mu);
      skips.push_back(r);
    };
    h.recheck = std::move(recheck);
    return h;
  }
  std::vector<int> sigs() {
    std::lock_guard lock(mu);
    return signals;
  }
  std::vector<std::string> skipped() {
    std::lock_guard lock(mu);
    return skips;
  }
  std::vector<std::string> failed() {
    std::lock_guard lock(mu);
    return failures;
  }
};

inline VictimRecheck probe_of(VictimProbe& probe) {
  return [&probe](const ProcessIdentity& id, Measure m) { return probe.look(id, m); };
}

inline bool wait_idle(const Actuator& a, const ProcessIdentity& id, Duration within = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (a.in_flight(id)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// A judged request: `bytes` over `limit`, as the judge hands it over.
inline ActionRequest judged(const ProcessIdentity& id, Measure measure, std::uint64_t bytes,
                            std::uint64_t limit, int signal = SIGKILL,
                            const char* signal_name = "SIGKILL") {
  ActionRequest r;
  r.rule = "race";
  r.victim = id;
  r.name = "victim";
  r.bytes = bytes;
  r.victim_bytes = bytes;
  r.limit = limit;
  r.measure = measure;
  r.spec.signal = signal;
  r.spec.signal_name = signal_name;
  r.spec.kill_after = 300ms;
  return r;
}

// Only the listed pids may be reached; everything else counts as protected.
inline ProtectedCheck only(std::vector<pid_t> allowed) {
  return [allowed](pid_t p) {
    for (pid_t a : allowed)
      if (a == p) return false;
    return true;
  };
}

}  // namespace mg::acttest
