#include "act/exec_hook.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>

#include "act/pidfd.h"
#include "config/units.h"

extern char** environ;

namespace mg {
namespace {

// How often a waiting hook checks whether the agent is shutting down.
constexpr Duration kAbandonCheck = std::chrono::milliseconds(100);

// Built before spawning: nothing may allocate between fork and exec.
std::vector<std::string> build_env(const HookEnv& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    std::string_view key = kv.substr(0, kv.find('='));
    bool overridden =
        std::any_of(extra.begin(), extra.end(), [&](const auto& x) { return x.first == key; });
    if (!overridden) env.emplace_back(kv);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> c_array(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The agent may block or ignore signals of its own (it waits for SIGTERM and
// SIGHUP itself, and ignores SIGPIPE); a hook must start with the defaults.
int spawn(const std::vector<std::string>& argv_in, const HookEnv& extra, pid_t& pid) {
  std::vector<std::string> argv_strings = argv_in;
  std::vector<std::string> env_strings = build_env(extra);
  std::vector<char*> argv = c_array(argv_strings);
  std::vector<char*> envp = c_array(env_strings);

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  // stdin from /dev/null; stdout to the agent's stderr so its own stdout
  // (the --once table) stays clean.
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  int err = posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  return err;
}

// Waits for our own child: it cannot be reaped by anyone else, so its pid
// (and its process group id) stays ours until waitpid below.
bool wait_readable(int pidfd, pid_t pid, Duration timeout, const std::function<bool()>& abandoned,
                   bool& was_abandoned) {
  const TimePoint deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (abandoned && abandoned()) {
      was_abandoned = true;
      return false;
    }
    Duration left = deadline - std::chrono::steady_clock::now();
    if (left <= Duration::zero()) return false;
    Duration slice = abandoned ? std::min(left, kAbandonCheck) : left;
    int ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(slice).count());
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      int n = ::poll(&p, 1, ms);
      if (n > 0) return true;
      if (n < 0 && errno != EINTR) return false;
    } else {
      // No pidfd (fd limit reached): look without reaping, so the status is
      // still there for the waitpid that follows.
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == pid) {
        return true;
      }
      ::usleep(static_cast<useconds_t>(std::min(ms, 50) * 1000));
    }
  }
}

}  // namespace

std::string HookRun::describe() const {
  switch (status) {
    case Status::kExited:
      return "exited with status " + std::to_string(exit_code);
    case Status::kSignaled:
      return "killed by " + signal_name(term_signal);
    case Status::kTimedOut:
      return "killed after timeout " + format_duration(timeout);
    case Status::kAbandoned:
      return "killed at shutdown";
    case Status::kSpawnFailed:
      return std::string("failed to start: ") +
             (strerrorname_np(spawn_errno) ? strerrorname_np(spawn_errno) : "error");
  }
  return "unknown";
}

HookRun run_hook(const std::vector<std::string>& argv, const HookEnv& extra, Duration timeout,
                 const std::function<bool()>& abandoned) {
  HookRun run;
  run.timeout = timeout;
  if (argv.empty()) {
    run.spawn_errno = EINVAL;
    return run;
  }
  const TimePoint start = std::chrono::steady_clock::now();
  pid_t pid = -1;
  if (int err = spawn(argv, extra, pid); err != 0) {
    run.spawn_errno = err;
    return run;
  }
  int pidfd = pidfd::open(pid);
  bool was_abandoned = false;
  bool exited = wait_readable(pidfd, pid, timeout, abandoned, was_abandoned);
  if (!exited) {
    // The hook leads its own group; everything it started goes with it.
    ::kill(-pid, SIGKILL);
    run.status = was_abandoned ? HookRun::Status::kAbandoned : HookRun::Status::kTimedOut;
  }
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  if (pidfd >= 0) ::close(pidfd);
  run.took = std::chrono::steady_clock::now() - start;
  if (!exited) return run;
  if (r < 0) {
    // ECHILD: SIGCHLD is ignored, so the kernel reaped it and kept no status.
    run.status = HookRun::Status::kExited;
    run.exit_code = 0;
  } else if (WIFSIGNALED(status)) {
    run.status = HookRun::Status::kSignaled;
    run.term_signal = WTERMSIG(status);
  } else {
    run.status = HookRun::Status::kExited;
    run.exit_code = WEXITSTATUS(status);
  }
  return run;
}

}  // namespace mg
