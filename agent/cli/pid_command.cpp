#include "cli/pid_command.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "act/pidfd.h"
#include "act/safety_guard.h"
#include "cli/exit_codes.h"
#include "cli/guard_config.h"
#include "cli/guard_session.h"
#include "cli/signal_events.h"
#include "config/units.h"
#include "procfs/proc_fs.h"
#include "util/log.h"
#include "util/scoped_fd.h"

namespace mg {
namespace {

int refuse(const std::string& flag, const std::string& why) {
  std::cerr << "memoryguard: " << flag << ": " << why << "\n";
  return kExitUsage;
}

}  // namespace

int pid_command(const Flags& flags) {
  SignalEvents events({SIGTERM, SIGINT, SIGHUP});  // before any thread exists
  ::signal(SIGPIPE, SIG_IGN);
  ProcFs proc(flags.procfs);
  pid_t pid = flags.guard.pid;
  std::string flag = "--pid=" + std::to_string(pid);
  if (!flags.guard.pid_file.empty()) {
    flag = "--pid-file=" + flags.guard.pid_file;
    auto read = proc.read_pid_file(flags.guard.pid_file);
    if (!read || *read <= 0)
      return refuse(flag, "holds no pid (missing, unreadable or not a number)");
    pid = *read;
  }
  ScopedFd pidfd(pidfd::open(pid));
  if (pidfd.get() < 0) {
    return refuse(flag, errno == ESRCH
                            ? "no process with pid " + std::to_string(pid)
                            : std::string("cannot open a pidfd: ") + std::strerror(errno));
  }
  // Read after the pidfd pins the process: this start time is the pinned
  // one's, whoever held the pid before.
  auto stat = proc.read_stat(pid);
  pollfd exited{pidfd.get(), POLLIN, 0};
  if (!stat || ::poll(&exited, 1, 0) > 0) return refuse(flag, "the process has already exited");
  if (pid == 1 || pid == ::getpid() || ancestors_of_self(proc).contains(pid) ||
      stat->is_kernel_thread()) {
    return refuse(flag,
                  "pid 1, memoryguard itself, its ancestors and kernel threads are never "
                  "signalled, so there is nothing to guard");
  }

  const TreeRoot tree{{pid, stat->start_time}, true, flags.guard.tree};
  GuardSession session(flags, tree);
  const std::string name = guard_rule_name(stat->comm);
  if (auto code = session.prepare(name)) return *code;
  if (auto code = session.start()) return *code;
  session.start_checking();
  session.sender().watch(tree.id);
  log::info("guarding",
            {{"pid", pid},
             {"name", stat->comm},
             {"rules", session.config().rules.size()},
             {"limit", session.from_file() ? flags.config_file : flags.guard.limit_text},
             {"tree", flags.guard.tree},
             {"dry_run", flags.dry_run}});

  bool gone = false;
  for (bool stopping = false; !gone && !stopping;) {
    pollfd fds[2] = {{pidfd.get(), POLLIN, 0}, {events.fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    gone = fds[0].revents != 0;
    for (SignalEvent event; !gone && (event = events.next(0)).signal != 0;) {
      if (event.signal == SIGHUP) {
        session.reload("SIGHUP");
      } else {
        log::info("stopping", {{"signal", signal_name(event.signal)}});
        stopping = true;
        break;
      }
    }
  }
  session.stop();
  const auto signalled = session.sender().signalled_with();
  int code = kExitOk;
  if (gone && signalled && flags.guard.kill_exit_code) code = *flags.guard.kill_exit_code;
  if (gone) {
    log::info(signalled ? "process ended by memoryguard" : "process exited",
              {{"pid", pid}, {"name", stat->comm}, {"exit_code", code}});
  }
  return code;
}

}  // namespace mg
