#pragma once
// The check loop: each `interval` it runs discover -> match -> measure ->
// judge -> act -> export, and between checks it applies reloads and looks
// again at the processes near their limits. It is the only thread that
// touches the rules, the process table and the sampler. The steps of a
// check each live in their own file beside this one: measure_plan (what to
// read of whom), rule_pass (one rule's judging, acting and export),
// between_checks (the looks between checks), check_report (--once and the
// debug summary), host_validation (what a config must pass on this host).
#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "act/actuator.h"
#include "act/safety_guard.h"
#include "config/config.h"
#include "config/config_loader.h"
#include "discover/process_table.h"
#include "engine/between_checks.h"
#include "engine/check_report.h"
#include "engine/host_validation.h"
#include "engine/limit_resolver.h"
#include "engine/measure_plan.h"
#include "engine/rule_pass.h"
#include "engine/rule_state.h"
#include "export/http_server.h"
#include "export/metrics.h"
#include "match/matcher.h"
#include "match/tree_filter.h"
#include "measure/memory_sampler.h"
#include "measure/oom_kills.h"
#include "procfs/cgroup_fs.h"
#include "procfs/proc_fs.h"
#include "util/clock.h"

namespace mg {

struct CheckLoopOptions {
  std::string config_path;
  std::string procfs = "/proc";
  std::string cgroupfs = "/sys/fs/cgroup";
  bool force_dry_run = false;  // --dry-run
  bool once = false;           // --once: measure everything exactly, act on nothing
  // `run` and `--pid`: every rule acts only within this process tree.
  std::optional<TreeRoot> tree = std::nullopt;
};

class CheckLoop {
 public:
  CheckLoop(CheckLoopOptions options, Metrics& metrics, SignalSender& sender, const Clock& clock);
  ~CheckLoop();

  // Installs a first config (start-up). Returns the errors when rejected.
  std::vector<ConfigError> start_with(Config config, const std::string& content_hash);

  CheckReport check_once();  // one check with its rows, as --once uses it
  // The conditions of every rule as they are now, beside a limit on
  // processes (see add_condition_rows): no process is measured.
  std::vector<ConditionRow> conditions_now();
  void check_now();    // one full check, as the loop runs it (no rows)
  void check_early();  // the check a crossing brings forward, as the loop runs it
  // The looks between full checks (see engine/fast_check_schedule.h) that
  // are due now. Returns true when one found a process over its limit: a
  // full check should run now to judge it.
  bool run_fast_checks();
  std::optional<TimePoint> next_fast_check() const { return between_.schedule().next_due(); }
  std::size_t fast_checks_scheduled() const { return between_.schedule().size(); }
  std::uint64_t fast_checks_done() const { return between_.done(); }
  // Cgroup and host files read for conditions since the start (each at most
  // once per check), for tests.
  std::uint64_t condition_reads() const { return cgroup_signals_.reads() + host_signals_.reads(); }
  void run();  // until stop(); checks every interval, and near processes between
  void stop();

  // From any thread: reload the config file; the future resolves once the
  // loop has tried. Bad configs leave the running one in place.
  std::future<ReloadOutcome> request_reload(std::string why);
  bool healthy() const;

  const Config& config() const { return *config_; }
  const CgroupFs& cgroups() const { return cgroups_; }

 private:
  void apply(Config config, const std::string& content_hash);
  std::vector<ConfigError> host_errors(const Config& config);
  ReloadOutcome reload(const std::string& why);
  void process_reloads();
  // `early`: brought forward by a look that found a process over its limit.
  // Then only the processes the looks were watching have their RSS read
  // again; the others keep the figures of the last check, which judging
  // between checks has anyway, and a check at N=10,000 stays a fraction of
  // a regular one's cost on the way to a kill.
  CheckReport check(bool collect_rows, bool early = false);
  RulePassContext pass_context(TimePoint now, ScanErrors& errors, bool once, CheckReport* report);
  void report_memory_reads();
  void count_scan_errors(const ScanErrors& errors);
  // Gives the judges back the targets of actions skipped below their limit.
  void forget_spared_actions();

  CheckLoopOptions options_;
  Metrics& metrics_;
  const Clock& clock_;
  ProcFs proc_;
  CgroupFs cgroups_;
  ProcessTable table_;
  MemorySampler sampler_;
  SafetyGuard guard_;
  PidFiles pid_files_;
  std::optional<TreeFilter> tree_;
  std::unique_ptr<Actuator> actuator_;

  std::shared_ptr<const Config> config_;
  std::string content_hash_;
  // Moves with every config applied: the rules' match verdicts kept in the
  // process table are for one config's rules (see RuleMatcher::memoize).
  std::uint64_t config_generation_ = 0;
  AttributeNeeds needs_;
  RuleStates rules_;  // config order

  LimitResolver limits_;
  CgroupSignals cgroup_signals_;
  HostSignals host_signals_;
  OomKillWatch oom_kills_;
  MeasurePlan plan_;
  std::vector<Candidate> candidates_;
  std::uint64_t checks_ = 0;
  BetweenChecks between_;
  TimePoint last_summary_{};
  SamplerStats reported_reads_{};  // the sampler's totals at the last report
  bool warned_permission_ = false;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  struct PendingReload {
    std::string why;
    std::promise<ReloadOutcome> done;
  };
  std::deque<PendingReload> reloads_;
  // (rule, backoff key) of actions the actuator skipped below their limit.
  std::vector<std::pair<std::string, std::string>> spared_;
  std::atomic<TimePoint::rep> heartbeat_{0};
  std::atomic<Duration::rep> interval_ns_{0};
};

}  // namespace mg
