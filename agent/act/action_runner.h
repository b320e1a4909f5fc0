#pragma once
// Carries out one action from start to outcome, on the calling thread: the
// safety check, the signal through the sender, the wait on kill_after, the
// escalation to SIGKILL, for one process, a process group or a cgroup. The
// Actuator owns threads, bookkeeping and logging; this owns what is done.
#include <functional>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "act/action.h"
#include "act/signal_sender.h"
#include "procfs/cgroup_fs.h"

namespace mg {

class ActionRunner {
 public:
  struct Context {
    SignalSender& sender;
    const CgroupFs& cgroups;
    std::string procfs_root;
    ProtectedCheck is_protected;
    std::function<void(const ActionRequest&, int)> on_signal;  // each signal delivered
    std::function<bool()> abandoned;                           // the agent gave up waiting
    // Looks at the victim right before the first signal; none: no re-check.
    VictimRecheck recheck;
    // Never signalled whatever `is_protected` says, with the agent and pid 1.
    const std::unordered_set<pid_t>* ancestors = nullptr;
  };

  // How long a wait may block before it looks at `abandoned` again.
  static constexpr Duration kWaitSlice = std::chrono::milliseconds(100);
  // After SIGKILL the wait only serves the log line, so it is bounded.
  static constexpr Duration kReportWait = std::chrono::seconds(5);

  explicit ActionRunner(Context ctx) : ctx_(std::move(ctx)) {}
  ActionResult run(const ActionRequest& r) const;

 private:
  struct Tally;
  using Members = std::vector<ProcessIdentity>;

  bool may_signal(pid_t pid) const;
  // A result when the action must not go ahead: the victim exited, is a
  // zombie, lost its pid to another process, or is back under its limit.
  std::optional<ActionResult> recheck(const ActionRequest& r) const;
  ActionResult run_process(const ActionRequest& r) const;
  ActionResult run_process_group(const ActionRequest& r) const;
  ActionResult run_cgroup(const ActionRequest& r) const;
  // Signals each member, waits kill_after, then calls `escalate` on those
  // still alive (by default SIGKILL to each through the sender).
  ActionResult signal_members(
      const ActionRequest& r, const Members& members, int spared,
      const std::function<bool(const Members&, ActionResult&)>& escalate) const;
  bool sigkill_each(const ActionRequest& r, const Members& alive, ActionResult& res) const;
  // Waits up to `budget` for every member in turn. Returns those still alive
  // and, in `elapsed`, the time until the last exit seen.
  Members wait_all(const Members& members, Duration budget, Duration& elapsed) const;
  void delivered(const ActionRequest& r, int signal, ActionResult& res) const;

  Context ctx_;
};

}  // namespace mg
