#include "cli/child_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <fstream>

#include "act/pidfd.h"
#include "config/units.h"
#include "procfs/proc_fs.h"

extern char** environ;

namespace mg {

void ignore_for_self(std::initializer_list<int> signals, ChildStartState& state) {
  for (int s : signals) {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    struct sigaction before {};
    if (::sigaction(s, &ignore, &before) == 0 && before.sa_handler == SIG_DFL)
      sigaddset(&state.to_default, s);
  }
}

std::set<int> open_fds() {
  std::set<int> fds;
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return fds;
  const int own = ::dirfd(dir);
  while (const dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == '\0' && fd != own) fds.insert(static_cast<int>(fd));
  }
  ::closedir(dir);
  return fds;
}

namespace {

// The signals this process ignores, from /proc/self/status (bit N-1: signal N).
std::uint64_t ignored_at_start() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("SigIgn:", 0) == 0) return std::strtoull(line.c_str() + 7, nullptr, 16);
  }
  return 0;
}

}  // namespace

ChildStartState child_start_state() {
  ChildStartState state;
  sigemptyset(&state.mask);
  sigemptyset(&state.to_default);
  // glibc's posix_spawn leaves its own internal signals (the kernel's first
  // real-time ones, below glibc's SIGRTMIN) ignored in the child unless they
  // are in the set to default, and an ignored signal stays ignored across
  // exec. So each goes back to its default unless memoryguard itself was
  // started with it ignored. sigaction will not tell of them, nor sigaddset
  // take them: the kernel's SigIgn tells, and their bits are set by hand
  // (posix_spawn reads the set as it is).
  const std::uint64_t ignored = ignored_at_start();
  constexpr int kBits = 8 * sizeof(state.to_default.__val[0]);
  for (int s = __SIGRTMIN; s < SIGRTMIN; ++s) {
    if (!(ignored & (1ULL << (s - 1))))
      state.to_default.__val[(s - 1) / kBits] |= 1UL << ((s - 1) % kBits);
  }
  state.inherited_fds = open_fds();
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) state.nofile = lim;
  return state;
}

namespace {

// Not every library marks its descriptors close-on-exec (Asio's sockets are
// not): CMD must not hold the metrics port, or a scrape's connection, open
// after memoryguard has gone.
void close_own_fds_on_exec(const std::set<int>& inherited) {
  for (int fd : open_fds()) {
    if (inherited.contains(fd)) continue;
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
}

void explain_failure(const std::string& cmd, int err, SpawnedChild& out) {
  const bool path = cmd.find('/') != std::string::npos;
  out.exit_code = 126;
  switch (err) {
    case ENOENT:
      if (path && ::access(cmd.c_str(), F_OK) == 0) {
        out.error = cmd + ": cannot execute: its interpreter (#!) was not found";
      } else {
        out.exit_code = 127;
        out.error = cmd + (path ? ": no such file" : ": command not found (not in PATH)");
      }
      break;
    case EACCES:
      out.error = cmd + ": permission denied (not an executable file)";
      break;
    case ENOEXEC:
      out.error = cmd + ": cannot execute: not a binary or a script with #!";
      break;
    default:
      out.error = cmd + ": cannot execute: " + ::strerror(err);
  }
}

}  // namespace

SpawnedChild spawn_child(const std::vector<std::string>& argv, const ChildStartState& state) {
  SpawnedChild out;
  close_own_fds_on_exec(state.inherited_fds);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_setsigmask(&attr, &state.mask);
  posix_spawnattr_setsigdefault(&attr, &state.to_default);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  // posix_spawn has no rlimit action: the child inherits the limit it has
  // at the clone, so lower ours for that moment (CMD execs before
  // posix_spawn returns). Only an open past the old limit could fail in the
  // meantime, and memoryguard holds that many only when its tree is that big.
  rlimit raised{};
  const bool lower = state.nofile && ::getrlimit(RLIMIT_NOFILE, &raised) == 0 &&
                     raised.rlim_cur != state.nofile->rlim_cur &&
                     ::setrlimit(RLIMIT_NOFILE, &*state.nofile) == 0;
  pid_t pid = -1;
  const int err = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  if (lower) ::setrlimit(RLIMIT_NOFILE, &raised);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err != 0) {
    explain_failure(argv[0], err, out);
    return out;
  }
  out.pid = pid;
  // Unreaped, the pid is ours: neither open nor read can reach another process.
  out.pidfd = pidfd::open(pid);
  ProcFs proc("/proc");
  auto stat = proc.read_stat(pid);
  out.id = {pid, stat ? stat->start_time : 0};
  return out;
}

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

std::string describe_wait_status(int wait_status) {
  if (WIFEXITED(wait_status)) return "exited with " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status))
    return "killed by " + signal_name(WTERMSIG(wait_status)) +
           (WCOREDUMP(wait_status) ? " (core dumped)" : "");
  return "status " + std::to_string(wait_status);
}

}  // namespace mg
