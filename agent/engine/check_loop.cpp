#include "engine/check_loop.h"

#include <sys/resource.h>

#include <algorithm>

#include "config/units.h"
#include "util/log.h"

namespace mg {

CheckLoop::CheckLoop(CheckLoopOptions options, Metrics& metrics, SignalSender& sender,
                     const Clock& clock)
    : options_(std::move(options)),
      metrics_(metrics),
      clock_(clock),
      proc_(options_.procfs),
      cgroups_(options_.cgroupfs),
      table_(proc_, cgroups_),
      sampler_(proc_, clock_, std::chrono::seconds(15)),
      guard_(options_.procfs, cgroups_),
      limits_(cgroups_),
      cgroup_signals_(cgroups_),
      host_signals_(proc_),
      oom_kills_(cgroups_) {
  if (options_.tree) tree_.emplace(*options_.tree);
  ActuatorHooks hooks;
  hooks.on_signal = [this](const ActionRequest& r, int signal) {
    metrics_.signal_sent(r.rule, signal_name(signal), clock_.unix_seconds());
    metrics_.last_victim(r.rule, r.name, r.victim.pid, r.identity.get());
  };
  hooks.on_failure = [this](const std::string& rule, const std::string& reason) {
    metrics_.action_failed(rule, reason);
  };
  hooks.on_skip = [this](const ActionRequest& r, const std::string& reason) {
    metrics_.action_skipped(r.rule, reason);
    if (reason == "below_limit") {
      std::lock_guard lock(mu_);
      spared_.emplace_back(r.rule, r.backoff_key);
    }
  };
  auto probe = std::make_shared<VictimProbe>(options_.procfs);
  hooks.recheck = [probe](const ProcessIdentity& id, Measure m) { return probe->look(id, m); };
  actuator_ = std::make_unique<Actuator>(
      sender, cgroups_, options_.procfs, [this](pid_t pid) { return guard_.is_protected_now(pid); },
      hooks);
}

CheckLoop::~CheckLoop() = default;

std::vector<ConfigError> CheckLoop::host_errors(const Config& config) {
  auto errors = validate_against_host(config, proc_, cgroups_);
  if (errors.empty()) {
    errors = percent_limit_errors(config, proc_, table_, cgroups_, clock_.now(),
                                  tree_ ? &*tree_ : nullptr);
  }
  return errors;
}

namespace {

// The statm of every watched process is kept open (see CachedFile), and the
// soft limit on descriptors is often 1024 while the hard one is far higher:
// take what is allowed, as the Go runtime does at start.
void raise_open_file_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
}

}  // namespace

std::vector<ConfigError> CheckLoop::start_with(Config config, const std::string& content_hash) {
  raise_open_file_limit();
  if (auto errors = host_errors(config); !errors.empty()) return errors;
  apply(std::move(config), content_hash);
  return {};
}

void CheckLoop::apply(Config config, const std::string& content_hash) {
  if (options_.force_dry_run) {
    config.dry_run = true;
    for (auto& r : config.rules) r.dry_run = true;
  }
  auto shared = std::make_shared<const Config>(std::move(config));
  // A rule that keeps its name keeps its state: for: timers, cooldowns and
  // (in Metrics) its counters.
  std::vector<std::unique_ptr<RuleState>> next;
  std::vector<RuleCounters> counters;
  for (const RuleSpec& spec : shared->rules) {
    auto it = std::find_if(rules_.begin(), rules_.end(),
                           [&](const auto& rs) { return rs && rs->spec.name == spec.name; });
    if (it != rules_.end()) {
      (*it)->respec(spec);
      next.push_back(std::move(*it));
    } else {
      next.push_back(std::make_unique<RuleState>(spec, clock_));
    }
    RuleCounters rc{spec.name, {spec.action.signal_name}, {}};
    if (spec.action.signal_name != "SIGKILL") rc.signals.push_back("SIGKILL");
    if (spec.limit.is_set())
      rc.conditions.push_back(spec.measure == Measure::kWorkingSet ? "working_set" : "limit");
    if (spec.pressure) rc.conditions.push_back("pressure");
    if (spec.available) rc.conditions.push_back("available");
    counters.push_back(std::move(rc));
  }
  for (const auto& old : rules_) {
    if (old && actuator_->in_flight_for_rule(old->spec.name) > 0) {
      log::info("rule removed while an action is under way; it will finish",
                {{"rule", old->spec.name}});
    }
  }
  rules_ = std::move(next);
  ++config_generation_;
  for (std::size_t i = 0; i < rules_.size(); ++i) rules_[i]->matcher.memoize(i, config_generation_);
  config_ = shared;
  content_hash_ = content_hash;
  needs_ = needs_of(*config_);
  table_.set_container_runtime(config_->container_runtime);
  guard_.set_config(config_);
  sampler_.set_staleness(options_.once ? Duration{0} : config_->stats_frequency);
  between_.schedule().clear();  // its items name rules by their index in the old config
  interval_ns_ = config_->interval.count();
  metrics_.set_rules(counters);
  std::vector<std::string> names;
  for (const RuleSpec& spec : config_->rules) names.push_back(spec.name);
  oom_kills_.keep_rules(names);
}

std::future<ReloadOutcome> CheckLoop::request_reload(std::string why) {
  std::lock_guard lock(mu_);
  if (stopping_) {
    // The loop will not come round again to answer.
    std::promise<ReloadOutcome> refused;
    refused.set_value({false, "shutting down"});
    return refused.get_future();
  }
  reloads_.push_back({std::move(why), {}});
  auto f = reloads_.back().done.get_future();
  cv_.notify_all();
  return f;
}

ReloadOutcome CheckLoop::reload(const std::string& why) {
  ConfigLoadResult loaded = load_config_file(options_.config_path);
  // A file that turns empty is most likely being written (truncated, its
  // bytes not there yet), and empty is a valid config with no rule: it must
  // not drop every rule. `rules: []` does, as the web config's `{}` does.
  if (loaded.config && loaded.content_hash == config_content_hash("") &&
      content_hash_ != loaded.content_hash) {
    loaded.config.reset();
    loaded.errors.push_back({options_.config_path, Mark{}, "config.file",
                             "empty: most likely being written; a config without rules says "
                             "`rules: []`"});
  }
  if (loaded.config) {
    if (auto errors = host_errors(*loaded.config); !errors.empty()) {
      loaded.errors = std::move(errors);
      loaded.config.reset();
    }
  }
  if (!loaded.config) {
    // The answer to POST /-/reload: a generated config with 10,000 bad keys
    // would otherwise make a megabyte of it.
    constexpr std::size_t kErrorsShown = 20;
    std::string message;
    for (std::size_t i = 0; i < loaded.errors.size() && i < kErrorsShown; ++i)
      message += loaded.errors[i].to_string() + "\n";
    if (loaded.errors.size() > kErrorsShown)
      message += "... and " + std::to_string(loaded.errors.size() - kErrorsShown) + " more\n";
    log::error("config reload failed; keeping the running config",
               {{"trigger", why},
                {"file", options_.config_path},
                {"errors", std::to_string(loaded.errors.size())},
                {"first", loaded.errors.empty() ? "" : loaded.errors.front().to_string()}});
    metrics_.config_reloaded(false, clock_.unix_seconds());
    return {false, message};
  }
  const bool changed = loaded.content_hash != content_hash_;
  apply(std::move(*loaded.config), loaded.content_hash);
  metrics_.config_reloaded(true, clock_.unix_seconds());
  log::info("config reloaded", {{"trigger", why},
                                {"file", options_.config_path},
                                {"rules", config_->rules.size()},
                                {"changed", changed}});
  return {true, "config reloaded"};
}

void CheckLoop::process_reloads() {
  std::deque<PendingReload> pending;
  {
    std::lock_guard lock(mu_);
    if (reloads_.empty()) return;
    pending.swap(reloads_);
  }
  for (auto& r : pending) r.done.set_value(reload(r.why));
}

bool CheckLoop::healthy() const {
  const Duration interval{interval_ns_.load()};
  const TimePoint beat{Duration{heartbeat_.load()}};
  const Duration allowed = std::max<Duration>(3 * interval, std::chrono::seconds(10));
  return beat.time_since_epoch().count() != 0 && std::chrono::steady_clock::now() - beat < allowed;
}

void CheckLoop::stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

void CheckLoop::run() {
  using std::chrono::steady_clock;
  heartbeat_ = steady_clock::now().time_since_epoch().count();
  TimePoint next = steady_clock::now();
  // When the last check brought forward by a crossing may be followed by
  // another (see below).
  TimePoint early_allowed{};
  bool this_check_early = false;
  for (bool stopping = false; !stopping;) {
    process_reloads();
    const auto start = steady_clock::now();
    CheckReport report = check(false, this_check_early);
    const auto end = steady_clock::now();
    if (this_check_early) {
      early_allowed = end + std::max<Duration>(20 * (end - start), between_.policy().min_period);
      this_check_early = false;
    }
    metrics_.scan_finished(std::chrono::duration<double>(end - start).count());
    // Reads by the looks between checks are counted with the next check's.
    report_memory_reads();
    heartbeat_ = end.time_since_epoch().count();
    if (log::enabled(log::Level::kDebug) && end - last_summary_ >= config_->stats_frequency) {
      last_summary_ = end;
      log_rule_summaries(rules_, sampler_);
    }
    // A check run early (after a reload, or asked for by a fast check) does
    // not move the regular ones.
    if (end >= next) {
      next += config_->interval;
      if (next < end) next = end;  // a slow check does not cause a burst of catch-up checks
    }
    // Until the next full check, look at the processes near their limit as
    // they come due (fast_'s times come from clock_, the steady clock when
    // the loop runs). A crossing brings the full check forward at once, but
    // the checks brought forward take at most 5% of the time, so a process
    // that bobs around its limit cannot make the agent spin. (The cap counts
    // from the last such check, not from the regular one: measured from the
    // regular check, it made every kill wait 20 times a check's duration.)
    std::optional<TimePoint> early;
    for (;;) {
      TimePoint wake = next;
      if (early) {
        wake = std::min(wake, *early);
      } else if (auto due = between_.schedule().next_due()) {
        wake = std::min(wake, *due);
      }
      {
        std::unique_lock lock(mu_);
        cv_.wait_until(lock, wake, [this] { return stopping_ || !reloads_.empty(); });
        if (stopping_) stopping = true;
        if (stopping_ || !reloads_.empty()) break;
      }
      const auto now = steady_clock::now();
      if (now >= next) break;
      if (early && now >= *early) {
        this_check_early = true;
        break;
      }
      if (!early && run_fast_checks()) early = std::max<TimePoint>(now, early_allowed);
    }
  }
  // Finish what is under way for a short while, then abandon it explicitly.
  actuator_->shutdown(std::chrono::seconds(5));
  std::lock_guard lock(mu_);
  for (auto& r : reloads_) r.done.set_value({false, "shutting down"});
  reloads_.clear();
}

CheckReport CheckLoop::check_once() {
  return check(true);
}

RulePassContext CheckLoop::pass_context(TimePoint now, ScanErrors& errors, bool once,
                                        CheckReport* report) {
  return {*config_,
          table_,
          sampler_,
          plan_,
          limits_,
          guard_,
          pid_files_,
          *actuator_,
          metrics_,
          between_.schedule(),
          between_.policy(),
          cgroups_,
          cgroup_signals_,
          host_signals_,
          errors,
          now,
          once,
          report};
}

std::vector<ConditionRow> CheckLoop::conditions_now() {
  ScanErrors errors;
  const TimePoint now = clock_.now();
  cgroup_signals_.new_check();
  host_signals_.new_check();
  table_.scan(now, needs_, Duration{0}, errors);
  pid_files_.refresh(proc_, *config_);
  const RulePassContext ctx = pass_context(now, errors, true, nullptr);
  std::vector<ConditionRow> rows;
  for (auto& rs : rules_) {
    rs->matcher.select(table_, pid_files_, rs->members);
    if (tree_) tree_->apply(rs->members);
    add_condition_rows(*rs, ctx, rows);
  }
  return rows;
}

void CheckLoop::check_now() {
  check(false);
}

void CheckLoop::check_early() {
  check(false, true);
}

bool CheckLoop::run_fast_checks() {
  ScanErrors errors;
  const bool crossed = between_.look(clock_.now(), table_, sampler_, config_->interval, errors);
  count_scan_errors(errors);
  return crossed;
}

void CheckLoop::forget_spared_actions() {
  std::vector<std::pair<std::string, std::string>> spared;
  {
    std::lock_guard lock(mu_);
    spared.swap(spared_);
  }
  for (const auto& [rule, key] : spared) {
    for (auto& rs : rules_) {
      if (rs->spec.name == rule) rs->judge.forget_action(key);
    }
  }
}

void CheckLoop::count_scan_errors(const ScanErrors& errors) {
  if (errors.vanished) metrics_.scan_error("vanished", errors.vanished);
  if (errors.permission) metrics_.scan_error("permission", errors.permission);
  if (errors.parse) metrics_.scan_error("parse", errors.parse);
  if (errors.io) metrics_.scan_error("io", errors.io);
}

CheckReport CheckLoop::check(bool collect_rows, bool early) {
  CheckReport report;
  ScanErrors errors;
  const TimePoint now = clock_.now();
  limits_.new_check();
  cgroup_signals_.new_check();
  host_signals_.new_check();
  // discover. What a process is gets re-read at least this often, so
  // renames, rewritten command lines and cgroup moves are seen even without
  // an exec. 10s keeps that refresh (stat and cmdline: ~20us a process) to
  // about a third of a steady check's cost; a young process is re-read every
  // check (see ProcessTable), which catches the exec that usually follows a
  // fork.
  const Duration attribute_ttl = std::max<Duration>(config_->interval, std::chrono::seconds(10));
  table_.scan(now, needs_, attribute_ttl, errors);
  pid_files_.refresh(proc_, *config_);
  if (tree_) tree_->refresh(table_);
  sampler_.follow(table_);
  report.processes_seen = table_.processes().size();

  forget_spared_actions();

  // match
  const std::uint64_t check_number = ++checks_;
  std::vector<pid_t> watched;
  if (early) watched = between_.schedule().pids();
  between_.schedule().clear();
  for (auto& rs : rules_) {
    rs->matcher.select(table_, pid_files_, rs->members);
    if (tree_) tree_->apply(rs->members);
  }
  // The cgroups of each watched process, where no rule read them already:
  // for its labels (whose process it is) and to watch the kernel's OOM
  // kills in its cgroup.
  for (auto& rs : rules_) {
    for (pid_t pid : rs->members) {
      table_.ensure_cgroups(pid, errors);
      const Process* p = table_.find(pid);
      if (p && p->attrs.memory_cgroup()) {
        oom_kills_.note(rs->spec.name, *p->attrs.memory_cgroup(),
                        config_->identity_labels ? p->attrs.identity() : nullptr, now);
      }
    }
  }

  // measure
  plan_.begin(check_number, rules_);
  plan_.measure_rss(table_, sampler_, errors, early ? &watched : nullptr);
  plan_.measure_detail(rules_, table_, sampler_, limits_, errors);

  // judge and act, rule by rule; export
  const RulePassContext ctx =
      pass_context(now, errors, options_.once, collect_rows ? &report : nullptr);
  auto snapshot = std::make_shared<Snapshot>();
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    snapshot->rules.push_back(run_rule_pass(*rules_[i], i, candidates_, ctx));
  }
  snapshot->oom_kills = oom_kills_.read(now, errors);
  snapshot->host.meminfo = host_signals_.last_meminfo();
  snapshot->host.pressure = host_signals_.last_pressure();
  for (const auto& rs : rules_) {
    if (rs->spec.pressure && rs->spec.scope != Scope::kCgroup)
      snapshot->host.pressure_windows.insert(rs->spec.pressure->window_seconds);
  }
  metrics_.publish(std::move(snapshot));

  count_scan_errors(errors);
  if (errors.permission && !warned_permission_) {
    warned_permission_ = true;
    log::warn(
        "some processes could not be read (permission); give the agent CAP_SYS_PTRACE or run it "
        "as their user; counted in memoryguard_scan_errors_total{reason=\"permission\"} from now "
        "on",
        {{"count", errors.permission}});
  }
  return report;
}

void CheckLoop::report_memory_reads() {
  const SamplerStats& now = sampler_.stats();
  metrics_.memory_read(
      now.rollup_reads - reported_reads_.rollup_reads,
      now.rollup_reads_skipped - reported_reads_.rollup_reads_skipped,
      std::chrono::duration<double>(now.rollup_time - reported_reads_.rollup_time).count());
  reported_reads_ = now;
}

}  // namespace mg
