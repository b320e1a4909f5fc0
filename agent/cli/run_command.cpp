#include "cli/run_command.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "cli/child_process.h"
#include "cli/exit_codes.h"
#include "cli/guard_config.h"
#include "cli/guard_session.h"
#include "cli/reaper.h"
#include "cli/signal_events.h"
#include "cli/signal_forwarder.h"
#include "config/units.h"
#include "procfs/cgroup_fs.h"
#include "procfs/proc_fs.h"
#include "util/log.h"

namespace mg {
namespace {

// CMD starts in memoryguard's own cgroup, so a % limit is a share of that
// cgroup's limit: one it lacks is a bad flag now, not a warning once CMD runs.
std::optional<int> refuse_percent_without_cgroup_limit(const Flags& flags) {
  if (flags.config_file_given || !flags.guard.limit->is_percent()) return std::nullopt;
  ProcFs proc;
  CgroupFs cgroups(flags.cgroupfs);
  auto mine = proc.read_cgroups(::getpid());
  if (mine && cgroups.memory_limit(*mine)) return std::nullopt;
  std::cerr << "memoryguard: --limit=" << flags.guard.limit_text
            << ": a share of the memory limit of the cgroup CMD starts in (memoryguard's own), "
               "but it has none; give a size (512Mi, 2Gi) or run it in a cgroup with a limit\n";
  return kExitUsage;
}

}  // namespace

int run_command(const Flags& flags) {
  ChildStartState child_state = child_start_state();
  std::vector<int> waited = forwarded_signals();
  waited.push_back(SIGCHLD);
  SignalEvents events(waited);  // before any thread exists
  child_state.mask = events.original_mask();
  // A scrape's client may go away mid-answer; CMD gets SIGPIPE back.
  ignore_for_self({SIGPIPE}, child_state);

  const bool pid1 = ::getpid() == 1;
  if (!pid1 && !become_subreaper()) {
    log::warn("cannot become a subreaper: CMD's orphans will leave the guarded tree",
              {{"err", std::strerror(errno)}});
  }
  ProcFs proc;
  auto self = proc.read_stat(::getpid());
  // Rooted at memoryguard itself: CMD, its descendants, and the orphans it
  // adopts, but never memoryguard.
  TreeRoot tree{{::getpid(), self ? self->start_time : 0}, false, true};
  GuardSession session(flags, tree);
  const std::string name = guard_rule_name(flags.command.front());
  if (auto code = session.prepare(name)) return *code;
  if (auto code = refuse_percent_without_cgroup_limit(flags)) return *code;
  if (auto code = session.start()) return *code;

  SpawnedChild child = spawn_child(flags.command, child_state);
  if (!child.ok()) {
    session.stop();
    std::cerr << "memoryguard: run: " << child.error << "\n";
    return child.exit_code;
  }
  session.sender().watch(child.id);
  // posix_spawn returns once CMD has exec'd: only now is the tree CMD's.
  session.start_checking();
  log::info("guarding",
            {{"command", name},
             {"pid", child.pid},
             {"rules", session.config().rules.size()},
             {"limit", session.from_file() ? flags.config_file : flags.guard.limit_text},
             {"tree", flags.guard.tree},
             {"pid1", pid1},
             {"dry_run", flags.dry_run}});

  Reaper reaper(child.pid);
  SignalForwarder forwarder(child.pidfd, child.pid);
  while (!reaper.watched_status()) {
    // Every thread blocks SIGCHLD, but a library's thread that did not would
    // take it unseen: look every second anyway, as tini does.
    const SignalEvent event = events.next(1000);
    if (event.signal == 0 || event.signal == SIGCHLD) {
      reaper.reap();
      continue;
    }
    forwarder.forward(event);
    if (event.signal == SIGHUP) session.reload("SIGHUP");
  }
  const int status = *reaper.watched_status();
  session.stop();
  if (child.pidfd >= 0) ::close(child.pidfd);

  int code = exit_code_of(status);
  if (auto signal = session.sender().signalled_with()) {
    if (flags.guard.kill_exit_code) code = *flags.guard.kill_exit_code;
    log::warn("command ended by memoryguard", {{"command", name},
                                               {"pid", child.pid},
                                               {"signal", signal_name(*signal)},
                                               {"status", describe_wait_status(status)},
                                               {"exit_code", code}});
  } else {
    log::info("command ended", {{"command", name},
                                {"pid", child.pid},
                                {"status", describe_wait_status(status)},
                                {"exit_code", code}});
  }
  return code;
}

}  // namespace mg
