#include "act/action_runner.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "act/cgroup_kill_guard.h"
#include "config/units.h"
#include "procfs/proc_fs.h"
#include "util/log.h"

namespace mg {
namespace {

std::string ms_text(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + "ms";
}

std::string spec_signal_name(const ActionSpec& spec) {
  return spec.signal_name.empty() ? signal_name(spec.signal) : spec.signal_name;
}

// "3 processes: " before the outcome of a group, nothing for one process.
std::string count_prefix(std::size_t members) {
  return members > 1 ? std::to_string(members) + " processes: " : "";
}

std::string spared_note(int spared) {
  return spared > 0 ? "; " + std::to_string(spared) + " protected spared" : "";
}

ActionResult failure(const ActionRequest& r, const char* reason, std::string outcome) {
  ActionResult res;
  res.rule = r.rule;
  res.failed = true;
  res.failure_reason = reason;
  res.outcome = std::move(outcome);
  return res;
}

ActionResult skipped(const ActionRequest& r, const char* reason, std::string outcome) {
  ActionResult res;
  res.rule = r.rule;
  res.skipped = reason;
  res.outcome = std::move(outcome);
  return res;
}

ActionResult exited_before_signal(const ActionRequest& r) {
  return skipped(r, "exited", "skipped: exited before signal");
}

ActionResult pid_reused(const ActionRequest& r) {
  return skipped(r, "pid_reused", "skipped: pid reused");
}

}  // namespace

// Counts of what the sender said, over the members of one action.
struct ActionRunner::Tally {
  int gone = 0;
  int reused = 0;
  int refused = 0;
  int permission = 0;
  int error = 0;
  void add(SendOutcome o) {
    if (o == SendOutcome::kGone) ++gone;
    if (o == SendOutcome::kReused) ++reused;
    if (o == SendOutcome::kRefused) ++refused;
    if (o == SendOutcome::kPermission) ++permission;
    if (o == SendOutcome::kError) ++error;
  }
  // Marks res failed when anything was refused; `none_sent` decides whether
  // a vanished process is the whole story (nothing to act on) or nothing.
  void apply(ActionResult& res, bool none_sent) const {
    if (permission > 0) {
      res.failed = true;
      res.failure_reason = "permission";
    } else if (error > 0) {
      res.failed = true;
      res.failure_reason = "error";
    } else if (refused > 0) {
      res.failed = true;
      res.failure_reason = "protected";
    } else if (none_sent) {
      res.skipped = reused > 0 ? "pid_reused" : "exited";
    }
  }
  std::string note(bool none_sent) const {
    if (none_sent) {
      if (permission > 0) return "failed: EPERM";
      if (error > 0) return "failed: error";
      if (refused > 0) return "not signalled: protected";
      return reused > 0 ? "skipped: pid reused" : "skipped: exited before signal";
    }
    if (permission > 0) return "; " + std::to_string(permission) + " failed: EPERM";
    if (error > 0) return "; " + std::to_string(error) + " failed: error";
    if (refused > 0) return "; " + std::to_string(refused) + " protected spared";
    return "";
  }
};

bool ActionRunner::may_signal(pid_t pid) const {
  // Whatever the injected check says, the agent, its ancestors and pid 1 are
  // never signalled (and the sender refuses kernel threads).
  if (pid <= 1 || pid == ::getpid()) return false;
  if (ctx_.ancestors && ctx_.ancestors->contains(pid)) return false;
  return !(ctx_.is_protected && ctx_.is_protected(pid));
}

std::optional<ActionResult> ActionRunner::recheck(const ActionRequest& r) const {
  if (!ctx_.recheck) return std::nullopt;
  const VictimNow now = ctx_.recheck(r.victim, r.measure);
  switch (now.state) {
    case VictimNow::State::kExited:
      return exited_before_signal(r);
    case VictimNow::State::kZombie:
      return skipped(r, "zombie", "skipped: exited before signal (zombie, not yet reaped)");
    case VictimNow::State::kPidReused:
      return pid_reused(r);
    case VictimNow::State::kUnknown:
    case VictimNow::State::kAlive:
      break;
  }
  // Unreadable now: what was judged stands. The re-check only ever removes
  // an action, it never adds one.
  if (!now.bytes || r.limit == 0 || !r.recheck_figure) return std::nullopt;
  // A group's sum is re-taken with the victim's fresh figure in place of its
  // judged one; re-reading every member (smaps_rollup each) is what the
  // sampler's lock budget is there to avoid, and the next check does it.
  std::uint64_t figure = *now.bytes;
  if (r.scope != Scope::kProcess) {
    figure = r.bytes - std::min(r.bytes, r.victim_bytes) + *now.bytes;
  }
  if (figure > r.limit) return std::nullopt;
  return skipped(r, "below_limit",
                 std::string("skipped: below limit now (") + to_string(r.measure) +
                     (r.scope == Scope::kProcess ? " " : " sum ") + format_bytes(figure) +
                     " <= " + format_bytes(r.limit) + ")");
}

void ActionRunner::delivered(const ActionRequest& r, int signal, ActionResult& res) const {
  res.signal = signal;
  ++res.signals_sent;
  if (ctx_.on_signal) ctx_.on_signal(r, signal);
}

ActionResult ActionRunner::run(const ActionRequest& r) const {
  if (r.dry_run) {
    ActionResult res;
    res.rule = r.rule;
    if (r.spec.target == Target::kProcess && !may_signal(r.victim.pid)) {
      res.outcome = "dry-run: protected, would send nothing";
    } else {
      res.outcome = "dry-run: would send " + spec_signal_name(r.spec);
    }
    return res;
  }
  if (auto skip = recheck(r)) return *skip;
  switch (r.spec.target) {
    case Target::kProcess:
      return run_process(r);
    case Target::kProcessGroup:
      return run_process_group(r);
    case Target::kCgroup:
      return run_cgroup(r);
  }
  return failure(r, "error", "failed: unknown target");
}

ActionResult ActionRunner::run_process(const ActionRequest& r) const {
  if (!may_signal(r.victim.pid)) {
    // A check that cannot read the process calls it protected; if it has in
    // fact exited, say so rather than blame protection.
    if (ctx_.sender.wait_exit(r.victim, Duration::zero())) return exited_before_signal(r);
    return failure(r, "protected", "not signalled: protected");
  }
  return signal_members(r, {r.victim}, 0, [this, &r](const Members& alive, ActionResult& res) {
    return sigkill_each(r, alive, res);
  });
}

// Never kill(-pgrp): the agent or its ancestors may share the group. Each
// member is signalled on its own, through its own identity check.
ActionResult ActionRunner::run_process_group(const ActionRequest& r) const {
  ProcFs procfs(ctx_.procfs_root);
  // The group is the victim's as it is now, and only while the victim is the
  // process that was judged: a reused pgid is never a target.
  auto victim = procfs.read_stat(r.victim.pid);
  if (!victim) return exited_before_signal(r);
  if (victim->start_time != r.victim.start_time) return pid_reused(r);
  const pid_t pgrp = victim->pgrp;
  if (pgrp <= 0) {
    // Its group leader lives outside our pid namespace; pgrp 0 would name
    // every such process at once.
    return failure(r, "error", "failed: process group not visible from this pid namespace");
  }
  std::vector<pid_t> pids;
  if (!procfs.list_pids(pids)) return failure(r, "error", "failed: cannot list processes");
  Members members;
  int spared = 0;
  for (pid_t pid : pids) {
    auto stat = procfs.read_stat(pid);
    if (!stat || stat->pgrp != pgrp || stat->is_kernel_thread()) continue;
    if (!may_signal(pid)) {
      ++spared;
      log::debug("protected process spared", {{"rule", r.rule}, {"pid", pid}, {"pgrp", pgrp}});
      continue;
    }
    members.push_back({pid, stat->start_time});
  }
  if (members.empty()) {
    return spared > 0 ? failure(r, "protected", "not signalled: process group protected")
                      : exited_before_signal(r);
  }
  return signal_members(r, members, spared, [this, &r](const Members& alive, ActionResult& res) {
    return sigkill_each(r, alive, res);
  });
}

ActionResult ActionRunner::run_cgroup(const ActionRequest& r) const {
  if (!r.cgroup) return failure(r, "error", "failed: no cgroup");
  const CgroupRef& ref = *r.cgroup;
  if (ctx_.cgroups.local_path(ref) == "/") {
    // The root of what we see holds everything (and, in a cgroup namespace,
    // is our own container): never a target.
    return failure(r, "protected", "not signalled: refusing to act on the root cgroup");
  }
  ProcFs procfs(ctx_.procfs_root);
  // cgroup.kill takes the whole subtree, so protection is checked over the
  // whole subtree too, and the per-process fallback covers it as well.
  auto enumerate = [&](Members& members, int& spared) -> Expected<bool> {
    auto pids = ctx_.cgroups.procs_recursive(ref);
    if (!pids) return pids.error();
    for (pid_t pid : *pids) {
      auto stat = procfs.read_stat(pid);
      if (!stat || stat->is_kernel_thread()) continue;
      if (!may_signal(pid)) {
        ++spared;
        log::debug("protected process spared",
                   {{"rule", r.rule}, {"pid", pid}, {"cgroup", ref.path}});
        continue;
      }
      members.push_back({pid, stat->start_time});
    }
    return true;
  };

  Members members;
  int spared = 0;
  if (auto ok = enumerate(members, spared); !ok) {
    return ok.error() == ReadError::kVanished ? exited_before_signal(r)
                                              : failure(r, "error", "failed: cannot read cgroup");
  }
  if (members.empty()) {
    return spared > 0 ? failure(r, "protected", "not signalled: cgroup protected")
                      : exited_before_signal(r);
  }
  // cgroup.kill spares nobody, so it is used only when nobody is protected,
  // and asked again right before each write.
  static const std::unordered_set<pid_t> kNoAncestors;
  const auto& ancestors = ctx_.ancestors ? *ctx_.ancestors : kNoAncestors;
  const bool whole = spared == 0 && ctx_.cgroups.can_kill(ref);
  auto kill_whole = [&](ActionResult& res) {
    if (auto check = check_cgroup_kill(ctx_.cgroups, procfs, ref, ancestors); !check.safe) {
      log::info("cgroup.kill not used; signalling members one by one",
                {{"rule", r.rule}, {"cgroup", ref.path}, {"why", check.why}});
      return false;
    }
    if (!ctx_.cgroups.kill(ref)) return false;
    delivered(r, SIGKILL, res);
    return true;
  };

  if (whole && r.spec.signal == SIGKILL) {
    ActionResult res;
    res.rule = r.rule;
    if (kill_whole(res)) {
      Duration elapsed{0};
      Members left = wait_all(members, kReportWait, elapsed);
      res.outcome = count_prefix(members.size()) + "killed by cgroup.kill, " +
                    (left.empty() ? "exited after " + ms_text(elapsed) : "exit not seen after 5s");
      return res;
    }
    // The write was refused: fall back to one signal per member.
  }
  return signal_members(r, members, spared, [&](const Members& alive, ActionResult& res) {
    if (whole) {
      // Look again: a protected process may have joined in the meantime.
      Members now;
      int now_spared = 0;
      if (enumerate(now, now_spared) && now_spared == 0 && kill_whole(res)) return true;
    }
    return sigkill_each(r, alive, res);
  });
}

bool ActionRunner::sigkill_each(const ActionRequest& r, const Members& alive,
                                ActionResult& res) const {
  Tally tally;
  int sent = 0;
  for (const auto& id : alive) {
    SendOutcome o = ctx_.sender.send(id, SIGKILL);
    if (o == SendOutcome::kSent) {
      delivered(r, SIGKILL, res);
      ++sent;
    }
    tally.add(o);
  }
  tally.apply(res, false);
  return sent > 0;
}

ActionResult ActionRunner::signal_members(
    const ActionRequest& r, const Members& members, int spared,
    const std::function<bool(const Members&, ActionResult&)>& escalate) const {
  ActionResult res;
  res.rule = r.rule;
  const int sig = r.spec.signal;
  Members alive;
  Tally tally;
  for (const auto& id : members) {
    SendOutcome o = ctx_.sender.send(id, sig);
    if (o == SendOutcome::kSent) {
      delivered(r, sig, res);
      alive.push_back(id);
    }
    tally.add(o);
  }
  const std::string prefix = count_prefix(members.size());
  const std::string tail = spared_note(spared);
  if (alive.empty()) {
    tally.apply(res, true);
    res.outcome = prefix + tally.note(true) + tail;
    return res;
  }
  tally.apply(res, false);
  const std::string refused = tally.note(false);

  Duration elapsed{0};
  if (sig == SIGKILL) {
    Members left = wait_all(alive, kReportWait, elapsed);
    if (left.empty()) {
      res.outcome = "exited after " + ms_text(elapsed);
    } else if (ctx_.abandoned && ctx_.abandoned()) {
      res.outcome = "abandoned at shutdown: SIGKILL sent, exit not seen";
    } else {
      res.outcome = "SIGKILL sent, exit not seen after 5s";
    }
    res.outcome = prefix + res.outcome + refused + tail;
    return res;
  }

  Members left = wait_all(alive, r.spec.kill_after, elapsed);
  if (left.empty()) {
    res.outcome = prefix + "exited after " + ms_text(elapsed) + refused + tail;
    return res;
  }
  if (ctx_.abandoned && ctx_.abandoned()) {
    res.outcome = prefix + "abandoned at shutdown: SIGKILL not sent" + refused + tail;
    return res;
  }
  const bool was_failed = res.failed;
  if (!escalate(left, res)) {
    if (res.failed && !was_failed) {
      res.outcome = prefix + spec_signal_name(r.spec) + " sent, escalation failed: " +
                    (res.failure_reason == "permission" ? "EPERM" : "error") + refused + tail;
    } else {
      // Every survivor exited between the deadline and the SIGKILL.
      res.outcome = prefix + "exited after " + ms_text(r.spec.kill_after) + refused + tail;
    }
    return res;
  }
  res.escalated = true;
  Duration after_kill{0};
  Members still = wait_all(left, kReportWait, after_kill);
  std::string which = members.size() > 1 ? " (" + std::to_string(left.size()) + " of " +
                                               std::to_string(alive.size()) + ")"
                                         : "";
  std::string end;
  if (still.empty()) {
    end = ", exited after " + ms_text(after_kill);
  } else if (ctx_.abandoned && ctx_.abandoned()) {
    end = ", abandoned at shutdown before the exit";
  } else {
    end = ", exit not seen after 5s";
  }
  res.outcome = prefix + "escalated to SIGKILL" + which + end + refused + tail;
  return res;
}

ActionRunner::Members ActionRunner::wait_all(const Members& members, Duration budget,
                                             Duration& elapsed) const {
  Members left;
  Duration spent{0};
  for (const auto& id : members) {
    bool exited = false;
    for (;;) {
      if (ctx_.abandoned && ctx_.abandoned()) {
        // Giving up, but a process already gone is still reported as such.
        exited = ctx_.sender.wait_exit(id, Duration::zero()).has_value();
        break;
      }
      // Waited in slices so that shutdown is noticed; a pidfd poll per slice
      // is no busy loop.
      Duration slice = std::clamp(budget, Duration::zero(), kWaitSlice);
      if (auto took = ctx_.sender.wait_exit(id, slice)) {
        spent += *took;
        budget -= *took;
        exited = true;
        break;
      }
      spent += slice;
      budget -= slice;
      if (budget <= Duration::zero()) break;
    }
    if (exited) {
      elapsed = spent;
    } else {
      left.push_back(id);
    }
  }
  return left;
}

}  // namespace mg
