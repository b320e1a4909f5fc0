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
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "act/actuator.h"
#include "act/safety_guard.h"
#include "config/config.h"
#include "config/config_loader.h"
#include "discover/process_table.h"
#include "engine/fast_check_schedule.h"
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

  CheckReport check_once();  // one check with its rows, as --once uses it
  void check_now();          // one full check, as the loop runs it (no rows)
  // The looks between full checks (see engine/fast_check_schedule.h) that
  // are due now. Returns true when one found a process over its limit: a
  // full check should run now to judge it.
  bool run_fast_checks();
  std::optional<TimePoint> next_fast_check() const { return fast_.next_due(); }
  std::size_t fast_checks_scheduled() const { return fast_.size(); }
  std::uint64_t fast_checks_done() const { return fast_checks_done_; }
  void run();  // until stop(); checks every interval, and near processes between
  void stop();

  // From any thread: reload the config file; the future resolves once the
  // loop has tried. Bad configs leave the running one in place.
  std::future<ReloadOutcome> request_reload(std::string why);
  bool healthy() const;

  const Config& config() const { return *config_; }
  const CgroupFs& cgroups() const { return cgroups_; }

 private:
  // A group's (scope: group) or cgroup's (scope: cgroup) sums in one check.
  struct GroupSum {
    std::uint64_t rss = 0;
    std::uint64_t estimate = 0;  // by the rule's measure
    std::uint64_t limit = 0;     // the least over its members; 0 = none
    std::uint64_t check = 0;     // the check these sums belong to
  };
  // Lets a map keyed by std::string be searched with a string_view.
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct RuleState {
    RuleSpec spec;
    RuleMatcher matcher{spec};
    RuleJudge judge;
    std::vector<pid_t> members;
    std::map<std::string, bool> warned_no_limit;
    // Kept across checks so that a steady check does not allocate them anew.
    std::unordered_map<std::string, GroupSum, StringHash, std::equal_to<>> groups;
    std::string group_key_buffer;
    std::vector<ProcessSample> samples;
    explicit RuleState(const RuleSpec& s, const Clock& c) : spec(s), judge(c) {
      matcher.rebind(spec);
    }
    // The sums of the group `cgroup` belongs to, zeroed on first use in a check.
    GroupSum& group_sum(const std::optional<CgroupRef>& cgroup, std::uint64_t check);
  };
  // What one check needs of one matched process.
  struct Demand {
    DetailDemand detail;
    std::uint64_t check = 0;
    bool measured = false;  // its RSS was read in this check
  };

  void apply(Config config, const std::string& content_hash);
  // A % limit needs its processes' cgroups to have a memory limit; checked
  // against the processes running now, with the rule's position.
  std::vector<ConfigError> percent_limit_errors(const Config& config);
  ReloadOutcome reload(const std::string& why);
  void process_reloads();
  CheckReport check(bool collect_rows);
  void log_summary(const CheckReport& report);
  void report_memory_reads();
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
  std::unordered_map<pid_t, Demand> demand_;
  std::vector<Candidate> candidates_;
  std::uint64_t checks_ = 0;
  FastCheckSchedule fast_;
  FastCheckPolicy fast_policy_;
  std::uint64_t fast_checks_done_ = 0;
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
  std::atomic<TimePoint::rep> heartbeat_{0};
  std::atomic<Duration::rep> interval_ns_{0};
};

}  // namespace mg
