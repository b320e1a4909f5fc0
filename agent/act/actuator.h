#pragma once
// Carries out actions: signal through a pidfd, escalate to SIGKILL after
// kill_after (waited on the pidfd, off the check loop), act on a process group
// or a whole cgroup, run the exec hook, or only log and count under dry-run.
// Writes one log line per action when its outcome is known.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "act/action.h"
#include "act/signal_sender.h"
#include "act/victim_probe.h"
#include "procfs/cgroup_fs.h"
#include "procfs/proc_fs.h"

namespace mg {

struct ActuatorHooks {
  // Called for every signal actually sent: the action and the signal.
  std::function<void(const ActionRequest&, int)> on_signal;
  // Called for every failed action (rule, reason).
  std::function<void(const std::string&, const std::string&)> on_failure;
  // Called for every action skipped right before its first signal (the
  // action, one of kSkipReasons).
  std::function<void(const ActionRequest&, const std::string&)> on_skip;
  // Looks at the victim right before the first signal (VictimProbe::look);
  // none: act on what was judged.
  VictimRecheck recheck;
};

class Actuator {
 public:
  Actuator(SignalSender& sender, const CgroupFs& cgroups, std::string procfs_root,
           ProtectedCheck is_protected, ActuatorHooks hooks);
  ~Actuator();  // abandons what is in flight, with a log line each

  // Returns at once; waiting and escalation happen on the actuator's thread.
  void submit(ActionRequest request);
  // Whether an action on this process is still under way (so the judge does
  // not pick it again while it is dying).
  bool in_flight(const ProcessIdentity& id) const;
  // Actions of this rule still under way.
  std::size_t in_flight_for_rule(const std::string& rule) const;
  // Finish within `grace` what is under way, then abandon the rest, logging each.
  void shutdown(Duration grace);

 private:
  struct Worker {
    std::thread thread;
    bool done = false;  // set under mu_ as the thread's last act
  };

  void worker_loop(Worker* self);
  void execute(const ActionRequest& r);
  ActionResult run(const ActionRequest& r);
  void finish(const ActionRequest& r);
  void run_hook_for(const ActionRequest& r, const ActionResult& result);
  bool abandoning() const { return abandon_.load(); }
  // Threads that have ended, taken out of workers_ to be joined without mu_.
  std::vector<std::thread> take_done_locked();

  SignalSender& sender_;
  const CgroupFs& cgroups_;
  std::string procfs_root_;
  ProtectedCheck is_protected_;
  ActuatorHooks hooks_;
  std::unordered_set<pid_t> ancestors_;  // never signalled, whatever is_protected_ says

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // queued work, or stopping
  std::condition_variable idle_cv_;  // an action or hook ended
  std::deque<ActionRequest> queue_;
  std::unordered_map<ProcessIdentity, int, ProcessIdentityHash> busy_;  // queued or running
  std::unordered_map<std::string, std::size_t> busy_rules_;
  std::size_t hooks_running_ = 0;
  std::size_t idle_workers_ = 0;
  bool stopping_ = false;
  bool shut_down_ = false;
  std::atomic<bool> abandon_{false};
  std::list<Worker> workers_;
};

}  // namespace mg
