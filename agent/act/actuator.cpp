#include "act/actuator.h"

#include <signal.h>

#include "act/action_runner.h"
#include "act/exec_hook.h"
#include "act/safety_guard.h"
#include "config/units.h"
#include "util/log.h"

namespace mg {
namespace {

// One thread per action under way, up to this many; beyond that actions
// queue. Escalations mostly sleep on a pidfd, so threads are cheap here, and
// an idle actuator holds none.
constexpr std::size_t kMaxWorkers = 32;
constexpr Duration kIdleExit = std::chrono::seconds(10);

std::string signal_text(const ActionSpec& spec) {
  return spec.signal_name.empty() ? signal_name(spec.signal) : spec.signal_name;
}

// The one line an action gets (SPEC §4). Never a command line: it can hold
// secrets.
void log_action(const ActionRequest& r, const ActionResult& res) {
  // A skipped action (the victim exited, say) is no fault of the agent.
  const log::Level level = res.failed ? log::Level::kWarn : log::Level::kInfo;
  std::vector<log::Field> fields{{"rule", r.rule},
                                 {"pid", r.victim.pid},
                                 {"name", r.name},
                                 {"bytes", r.bytes},
                                 {"limit", r.limit},
                                 {"signal", signal_text(r.spec)},
                                 {"target", to_string(r.spec.target)}};
  // Name what a group or cgroup action reached; never a command line.
  if (r.spec.target == Target::kProcessGroup) fields.emplace_back("pgrp", r.pgrp);
  if (r.spec.target == Target::kCgroup)
    fields.emplace_back("cgroup", r.cgroup ? r.cgroup->path : std::string());
  if (r.identity) {
    if (!r.identity->pod_uid.empty()) fields.emplace_back("pod_uid", r.identity->pod_uid);
    if (!r.identity->container_id.empty())
      fields.emplace_back("container_id", r.identity->container_id);
    if (!r.identity->systemd_unit.empty())
      fields.emplace_back("systemd_unit", r.identity->systemd_unit);
  }
  fields.emplace_back("dry_run", r.dry_run);
  if (!r.trigger.empty()) fields.emplace_back("trigger", r.trigger);
  fields.emplace_back("outcome", res.outcome);
  log::write(level, "action", fields);
}

}  // namespace

Actuator::Actuator(SignalSender& sender, const CgroupFs& cgroups, std::string procfs_root,
                   ProtectedCheck is_protected, ActuatorHooks hooks)
    : sender_(sender),
      cgroups_(cgroups),
      procfs_root_(std::move(procfs_root)),
      is_protected_(std::move(is_protected)),
      hooks_(std::move(hooks)) {
  ProcFs proc(procfs_root_);
  ancestors_ = ancestors_of_self(proc);
}

Actuator::~Actuator() {
  shutdown(Duration::zero());
}

void Actuator::submit(ActionRequest request) {
  std::vector<std::thread> done;
  bool refused = false;
  bool no_thread = false;
  {
    std::lock_guard lock(mu_);
    done = take_done_locked();
    if (stopping_) {
      refused = true;
    } else {
      ++busy_[request.victim];
      ++busy_rules_[request.rule];
      queue_.push_back(std::move(request));
      if (queue_.size() > idle_workers_ && workers_.size() < kMaxWorkers) {
        Worker& w = workers_.emplace_back();
        try {
          w.thread = std::thread(&Actuator::worker_loop, this, &w);
        } catch (const std::system_error& e) {
          workers_.pop_back();
          log::error("cannot start an actuator thread", {{"err", e.what()}});
          // With no thread at all the request would wait forever, in flight.
          if (workers_.empty()) {
            request = std::move(queue_.back());
            queue_.pop_back();
            no_thread = true;
          }
        }
      }
      work_cv_.notify_one();
    }
  }
  for (auto& t : done) t.join();
  if (refused) {
    ActionResult res;
    res.rule = request.rule;
    res.outcome = "abandoned at shutdown: nothing sent";
    log_action(request, res);
  } else if (no_thread) {
    ActionResult res;
    res.rule = request.rule;
    res.failed = true;
    res.failure_reason = "error";
    res.outcome = "failed: no thread to act on";
    log_action(request, res);
    if (hooks_.on_failure) hooks_.on_failure(request.rule, res.failure_reason);
    finish(request);
  }
}

std::vector<std::thread> Actuator::take_done_locked() {
  std::vector<std::thread> done;
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->done) {
      done.push_back(std::move(it->thread));
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
  return done;
}

void Actuator::worker_loop(Worker* self) {
  std::unique_lock lock(mu_);
  for (;;) {
    ++idle_workers_;
    work_cv_.wait_for(lock, kIdleExit, [&] { return !queue_.empty() || stopping_; });
    --idle_workers_;
    if (queue_.empty()) break;  // idle too long, or stopping with nothing left
    ActionRequest r = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    execute(r);
    lock.lock();
  }
  self->done = true;
}

void Actuator::execute(const ActionRequest& r) {
  ActionResult res;
  if (abandoning()) {
    res.rule = r.rule;
    res.outcome = "abandoned at shutdown: nothing sent";
  } else {
    res = run(r);
  }
  log_action(r, res);
  // A victim that exited on its own before the signal is the goal reached, not
  // a failure an alert should page on: counted apart, as a skip.
  if (res.failed && hooks_.on_failure) hooks_.on_failure(r.rule, res.failure_reason);
  if (!res.skipped.empty() && hooks_.on_skip) hooks_.on_skip(r, res.skipped);
  // The hook runs only after a signal went out: it reports a kill.
  const bool hook = !r.dry_run && !r.spec.exec.empty() && res.signals_sent > 0;
  {
    std::lock_guard lock(mu_);
    if (hook) ++hooks_running_;
  }
  finish(r);
  if (!hook) return;
  run_hook_for(r, res);
  std::lock_guard lock(mu_);
  --hooks_running_;
  idle_cv_.notify_all();
}

ActionResult Actuator::run(const ActionRequest& r) {
  ActionRunner runner({sender_, cgroups_, procfs_root_, is_protected_, hooks_.on_signal,
                       [this] { return abandoning(); }, hooks_.recheck, &ancestors_});
  return runner.run(r);
}

void Actuator::run_hook_for(const ActionRequest& r, const ActionResult& result) {
  HookEnv env = {
      {"MEMORYGUARD_RULE", r.rule},
      {"MEMORYGUARD_PID", std::to_string(r.victim.pid)},
      {"MEMORYGUARD_NAME", r.name},
      {"MEMORYGUARD_BYTES", std::to_string(r.bytes)},
      {"MEMORYGUARD_LIMIT", std::to_string(r.limit)},
      {"MEMORYGUARD_SIGNAL", signal_name(result.signal)},
      {"MEMORYGUARD_TRIGGER", r.trigger},
  };
  // Whose process it was, when known; absent otherwise, as on /metrics.
  if (r.identity) {
    if (!r.identity->pod_uid.empty()) env.emplace_back("MEMORYGUARD_POD_UID", r.identity->pod_uid);
    if (!r.identity->container_id.empty())
      env.emplace_back("MEMORYGUARD_CONTAINER_ID", r.identity->container_id);
    if (!r.identity->systemd_unit.empty())
      env.emplace_back("MEMORYGUARD_SYSTEMD_UNIT", r.identity->systemd_unit);
  }
  HookRun run = run_hook(r.spec.exec, env, r.spec.exec_timeout, [this] { return abandoning(); });
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(run.took).count();
  // argv[0] only: the rest of a hook's argv is configuration, not for logs.
  log::write(run.ok() ? log::Level::kInfo : log::Level::kWarn, "hook",
             {{"rule", r.rule},
              {"pid", r.victim.pid},
              {"exec", r.spec.exec.front()},
              {"outcome", run.describe()},
              {"took", std::to_string(took) + "ms"}});
  // A hook cut short by shutdown did not fail on its own account.
  if (!run.ok() && run.status != HookRun::Status::kAbandoned && hooks_.on_failure) {
    hooks_.on_failure(r.rule, "hook");
  }
}

void Actuator::finish(const ActionRequest& r) {
  std::lock_guard lock(mu_);
  if (auto it = busy_.find(r.victim); it != busy_.end() && --it->second == 0) busy_.erase(it);
  if (auto it = busy_rules_.find(r.rule); it != busy_rules_.end() && --it->second == 0) {
    busy_rules_.erase(it);
  }
  idle_cv_.notify_all();
}

bool Actuator::in_flight(const ProcessIdentity& id) const {
  std::lock_guard lock(mu_);
  return busy_.contains(id);
}

std::size_t Actuator::in_flight_for_rule(const std::string& rule) const {
  std::lock_guard lock(mu_);
  auto it = busy_rules_.find(rule);
  return it == busy_rules_.end() ? 0 : it->second;
}

void Actuator::shutdown(Duration grace) {
  std::deque<ActionRequest> dropped;
  std::list<Worker> workers;
  {
    std::unique_lock lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
    stopping_ = true;
    work_cv_.notify_all();
    const bool finished =
        idle_cv_.wait_for(lock, grace, [&] { return busy_.empty() && hooks_running_ == 0; });
    if (!finished) {
      abandon_ = true;
      dropped.swap(queue_);
    }
  }
  for (const auto& r : dropped) {
    ActionResult res;
    res.rule = r.rule;
    res.outcome = "abandoned at shutdown: nothing sent";
    log_action(r, res);
    finish(r);
  }
  // Workers see abandon_ within one wait slice and wind up with a log line.
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  for (auto& w : workers) w.thread.join();
}

}  // namespace mg
