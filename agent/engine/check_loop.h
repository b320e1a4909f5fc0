#pragma once
// The check loop: each `interval` it runs discover -> match -> measure ->
// judge -> act -> export, and between checks it applies reloads. It is the
// only thread that touches the rules, the process table and the sampler.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "act/actuator.h"
#include "act/safety_guard.h"
#include "config/config.h"
#include "config/config_loader.h"
#include "discover/process_table.h"
#include "export/http_server.h"
#include "export/metrics.h"
#include "judge/rule_judge.h"
#include "match/matcher.h"
#include "measure/memory_sampler.h"
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
};

// One row of --once: a process as one rule sees it.
struct CheckRow {
  std::string rule;
  pid_t pid = 0;
  std::string name;
  MemoryFigures figures;
  Measure measure = Measure::kPss;
  std::uint64_t limit = 0;
  std::string verdict;
};

struct CheckReport {
  std::vector<CheckRow> rows;
  std::size_t processes_seen = 0;
};

// Checks what the loader cannot: a % limit needs a cgroup memory controller.
std::vector<ConfigError> validate_against_host(const Config& config, const CgroupFs& cgroups);

class CheckLoop {
 public:
  CheckLoop(CheckLoopOptions options, Metrics& metrics, SignalSender& sender, const Clock& clock);
  ~CheckLoop();

  // Installs a first config (start-up). Returns the errors when rejected.
  std::vector<ConfigError> start_with(Config config, const std::string& content_hash);

  CheckReport check_once();  // one check, as --once and the loop use it
  void run();                // until stop(); checks every interval
  void stop();

  // From any thread: reload the config file; the future resolves once the
  // loop has tried. Bad configs leave the running one in place.
  std::future<ReloadOutcome> request_reload(std::string why);
  bool healthy() const;

  const Config& config() const { return *config_; }
  const CgroupFs& cgroups() const { return cgroups_; }

 private:
  struct RuleState {
    RuleSpec spec;
    RuleMatcher matcher{spec};
    RuleJudge judge;
    std::vector<pid_t> members;
    std::map<std::string, bool> warned_no_limit;
    explicit RuleState(const RuleSpec& s, const Clock& c) : spec(s), judge(c) {
      matcher.rebind(spec);
    }
  };

  void apply(Config config, const std::string& content_hash);
  // A % limit needs its processes' cgroups to have a memory limit; checked
  // against the processes running now, with the rule's position.
  std::vector<ConfigError> percent_limit_errors(const Config& config);
  ReloadOutcome reload(const std::string& why);
  void process_reloads();
  CheckReport check(bool collect_rows);
  void log_summary(const CheckReport& report);
  void add_group_rows(const RuleSpec& rule, const std::vector<Candidate>& candidates,
                      CheckReport& report);
  std::uint64_t resolve_limit(RuleState& rs, const Process& p);

  CheckLoopOptions options_;
  Metrics& metrics_;
  const Clock& clock_;
  ProcFs proc_;
  CgroupFs cgroups_;
  ProcessTable table_;
  MemorySampler sampler_;
  SafetyGuard guard_;
  PidFiles pid_files_;
  std::unique_ptr<Actuator> actuator_;

  std::shared_ptr<const Config> config_;
  std::string content_hash_;
  AttributeNeeds needs_;
  std::vector<std::unique_ptr<RuleState>> rules_;  // config order

  std::map<CgroupRef, std::optional<std::uint64_t>> cgroup_limits_;  // per check
  TimePoint last_summary_{};
  bool warned_permission_ = false;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  struct PendingReload {
    std::string why;
    std::promise<ReloadOutcome> done;
  };
  std::deque<PendingReload> reloads_;
  std::atomic<TimePoint::rep> heartbeat_{0};
  std::atomic<Duration::rep> interval_ns_{0};
};

}  // namespace mg
