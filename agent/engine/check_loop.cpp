#include "engine/check_loop.h"

#include <sys/resource.h>

#include <algorithm>
#include <unordered_map>

#include "config/units.h"
#include "util/log.h"

namespace mg {

std::vector<ConfigError> validate_against_host(const Config& config, const CgroupFs& cgroups) {
  std::vector<ConfigError> errors;
  if (cgroups.layout() != CgroupLayout::kNone) return errors;
  for (std::size_t i = 0; i < config.rules.size(); ++i) {
    const RuleSpec& r = config.rules[i];
    if (r.limit.is_percent()) {
      errors.push_back({config.path, r.limit_mark, "rules[" + std::to_string(i) + "].limit",
                        "a limit in % needs the memory limit of a cgroup, but no cgroup "
                        "filesystem was found at " +
                            cgroups.root()});
    }
  }
  return errors;
}

CheckLoop::CheckLoop(CheckLoopOptions options, Metrics& metrics, SignalSender& sender,
                     const Clock& clock)
    : options_(std::move(options)),
      metrics_(metrics),
      clock_(clock),
      proc_(options_.procfs),
      cgroups_(options_.cgroupfs),
      table_(proc_, cgroups_),
      sampler_(proc_, clock_, std::chrono::seconds(15)),
      guard_(options_.procfs, cgroups_) {
  ActuatorHooks hooks;
  hooks.on_signal = [this](const std::string& rule, int signal) {
    metrics_.signal_sent(rule, signal_name(signal), clock_.unix_seconds());
  };
  hooks.on_failure = [this](const std::string& rule, const std::string& reason) {
    metrics_.action_failed(rule, reason);
  };
  hooks.on_skip = [this](const std::string& rule, const std::string& reason) {
    metrics_.action_skipped(rule, reason);
  };
  auto probe = std::make_shared<VictimProbe>(options_.procfs);
  hooks.recheck = [probe](const ProcessIdentity& id, Measure m) { return probe->look(id, m); };
  actuator_ = std::make_unique<Actuator>(
      sender, cgroups_, options_.procfs, [this](pid_t pid) { return guard_.is_protected_now(pid); },
      hooks);
}

CheckLoop::~CheckLoop() = default;

std::vector<ConfigError> CheckLoop::percent_limit_errors(const Config& config) {
  std::vector<ConfigError> errors;
  if (std::none_of(config.rules.begin(), config.rules.end(),
                   [](const RuleSpec& r) { return r.limit.is_percent(); }))
    return errors;
  ScanErrors ignored;
  table_.scan(clock_.now(), needs_of(config), Duration{0}, ignored);
  PidFiles pid_files;
  pid_files.refresh(proc_, config);
  std::vector<pid_t> members;
  for (std::size_t i = 0; i < config.rules.size(); ++i) {
    const RuleSpec& rule = config.rules[i];
    if (!rule.limit.is_percent()) continue;
    RuleMatcher matcher(rule);
    matcher.rebind(rule);
    matcher.select(table_, pid_files, members);
    for (pid_t pid : members) {
      const Process& p = *table_.find(pid);
      if (p.attrs.cgroups && cgroups_.memory_limit(*p.attrs.cgroups)) continue;
      const std::string where =
          p.attrs.primary_cgroup ? "cgroup " + p.attrs.primary_cgroup->path : "its cgroup";
      errors.push_back({config.path, rule.limit_mark, "rules[" + std::to_string(i) + "].limit",
                        "a limit in % of the cgroup's memory limit, but " + where + " (pid " +
                            std::to_string(pid) + ", " + p.stat.comm +
                            ") has no memory limit (rule \"" + rule.name + "\")"});
      break;
    }
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
  auto errors = validate_against_host(config, cgroups_);
  if (errors.empty()) errors = percent_limit_errors(config);
  if (!errors.empty()) return errors;
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
      (*it)->spec = spec;
      (*it)->matcher.rebind((*it)->spec);
      next.push_back(std::move(*it));
    } else {
      next.push_back(std::make_unique<RuleState>(spec, clock_));
    }
    RuleCounters rc{spec.name, {spec.action.signal_name}};
    if (spec.action.signal_name != "SIGKILL") rc.signals.push_back("SIGKILL");
    counters.push_back(std::move(rc));
  }
  for (const auto& old : rules_) {
    if (old && actuator_->in_flight_for_rule(old->spec.name) > 0) {
      log::info("rule removed while an action is under way; it will finish",
                {{"rule", old->spec.name}});
    }
  }
  rules_ = std::move(next);
  config_ = shared;
  content_hash_ = content_hash;
  needs_ = needs_of(*config_);
  guard_.set_config(config_);
  sampler_.set_staleness(options_.once ? Duration{0} : config_->stats_frequency);
  fast_.clear();  // its items name rules by their index in the old config
  interval_ns_ = config_->interval.count();
  metrics_.set_rules(counters);
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
  if (loaded.config) {
    auto host_errors = validate_against_host(*loaded.config, cgroups_);
    if (host_errors.empty()) host_errors = percent_limit_errors(*loaded.config);
    if (!host_errors.empty()) {
      loaded.errors = std::move(host_errors);
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
    CheckReport report = check(false);
    const auto end = steady_clock::now();
    if (this_check_early) {
      early_allowed = end + std::max<Duration>(20 * (end - start), fast_policy_.min_period);
      this_check_early = false;
    }
    metrics_.scan_finished(std::chrono::duration<double>(end - start).count());
    // Reads by the looks between checks are counted with the next check's.
    report_memory_reads();
    heartbeat_ = end.time_since_epoch().count();
    if (log::enabled(log::Level::kDebug) && end - last_summary_ >= config_->stats_frequency) {
      last_summary_ = end;
      log_summary(report);
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
      } else if (auto due = fast_.next_due()) {
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

void CheckLoop::check_now() {
  check(false);
}

bool CheckLoop::run_fast_checks() {
  const TimePoint now = clock_.now();
  ScanErrors errors;
  bool crossed = false;
  fast_.run_due(now, [&](const FastCheckSchedule::Item& item) -> std::optional<TimePoint> {
    if (crossed) return item.due;  // the full check about to run rebuilds the schedule
    const Process* p = table_.find(item.id.pid);
    if (!p || p->id != item.id) return std::nullopt;
    ++fast_checks_done_;
    if (!sampler_.refresh_rss(*p, errors)) {
      table_.suspect(item.id.pid);
      return std::nullopt;
    }
    if (item.measure != Measure::kRss) {
      // Exactly as a full check asks (see MemorySampler): the rollup is read
      // only once RSS has reached the limit, within the lock duty caps.
      DetailDemand demand;
      demand.wanted = true;
      demand.threshold = item.limit;
      sampler_.refresh_detail(*p, demand, errors);
    }
    const MemoryFigures& f = *sampler_.figures(item.id.pid);
    if (item.measure != Measure::kRss && !f.have_detail) return std::nullopt;
    const std::uint64_t bytes = f.value(item.measure);
    if (bytes > item.limit) {
      crossed = true;
      return std::nullopt;
    }
    auto period =
        fast_check_period(bytes, item.limit, f.growth_per_second, config_->interval, fast_policy_);
    if (!period) return std::nullopt;
    return now + *period;
  });
  if (errors.vanished) metrics_.scan_error("vanished", errors.vanished);
  if (errors.permission) metrics_.scan_error("permission", errors.permission);
  if (errors.parse) metrics_.scan_error("parse", errors.parse);
  if (errors.io) metrics_.scan_error("io", errors.io);
  return crossed;
}

CheckLoop::GroupSum& CheckLoop::RuleState::group_sum(const std::optional<CgroupRef>& cgroup,
                                                     std::uint64_t check) {
  // The same keys as group_key(), built in a reused buffer.
  std::string& key = group_key_buffer;
  key.clear();
  if (spec.scope == Scope::kGroup) {
    key = "g";
  } else if (cgroup) {
    key.append(cgroup->v2 ? "c2:" : "c1:").append(cgroup->path);
  }
  auto it = groups.find(std::string_view(key));
  if (it == groups.end()) it = groups.emplace(key, GroupSum{}).first;
  if (it->second.check != check) it->second = GroupSum{0, 0, 0, check};
  return it->second;
}

std::uint64_t CheckLoop::resolve_limit(RuleState& rs, const Process& p) {
  if (!rs.spec.limit.is_percent()) return rs.spec.limit.bytes;
  if (!p.attrs.primary_cgroup || !p.attrs.cgroups) return 0;
  const CgroupRef& ref = *p.attrs.primary_cgroup;
  auto [it, inserted] = cgroup_limits_.try_emplace(ref);
  if (inserted) it->second = cgroups_.memory_limit(*p.attrs.cgroups);
  if (!it->second) {
    if (!rs.warned_no_limit[ref.path]) {
      rs.warned_no_limit[ref.path] = true;
      log::warn("limit in % but the cgroup has no memory limit; rule skips its processes",
                {{"rule", rs.spec.name}, {"cgroup", ref.path}});
    }
    return 0;
  }
  return static_cast<std::uint64_t>(static_cast<double>(*it->second) * rs.spec.limit.percent /
                                    100.0);
}

CheckReport CheckLoop::check(bool collect_rows) {
  CheckReport report;
  ScanErrors errors;
  const TimePoint now = clock_.now();
  cgroup_limits_.clear();
  // What a process is gets re-read at least this often, so renames, rewritten
  // command lines and cgroup moves are seen even without an exec.
  // 10s keeps that refresh (stat and cmdline: ~20us a process) to about a
  // third of a steady check's cost; a young process is re-read every check
  // (see ProcessTable), which catches the exec that usually follows a fork.
  const Duration attribute_ttl = std::max<Duration>(config_->interval, std::chrono::seconds(10));
  table_.scan(now, needs_, attribute_ttl, errors);
  pid_files_.refresh(proc_, *config_);
  sampler_.prune(table_);
  report.processes_seen = table_.processes().size();

  // match. The per-process state of a check lives in containers kept from
  // one check to the next, so a steady check allocates nothing per process.
  const std::uint64_t check_number = ++checks_;
  fast_.clear();
  for (auto& rs : rules_) {
    rs->matcher.select(table_, pid_files_, rs->members);
    for (pid_t pid : rs->members) {
      Demand& d = demand_[pid];
      if (d.check != check_number) d = Demand{{}, check_number, false};
      // Every watched process gets its PSS read at least every
      // stats_frequency for the gauges, whatever its rules judge by.
      d.detail.wanted = true;
    }
  }
  std::erase_if(demand_, [&](const auto& kv) { return kv.second.check != check_number; });
  // measure: the cheap figure for every matched process
  for (auto& [pid, d] : demand_) {
    const Process* p = table_.find(pid);
    d.measured = p && sampler_.refresh_rss(*p, errors);
    if (p && !d.measured) table_.suspect(pid);
  }
  // Which exact figures judging needs (see MemorySampler).
  for (auto& rs : rules_) {
    if (rs->spec.measure == Measure::kRss) continue;
    const bool by_process = rs->spec.scope == Scope::kProcess;
    for (pid_t pid : rs->members) {
      Demand& d = demand_[pid];
      if (!d.measured) continue;
      const Process& p = *table_.find(pid);
      const std::uint64_t limit = resolve_limit(*rs, p);
      if (limit == 0) continue;
      const MemoryFigures& f = *sampler_.figures(pid);
      if (by_process) {
        d.detail.threshold = std::min(d.detail.threshold, limit);
        continue;
      }
      GroupSum& g = rs->group_sum(p.attrs.primary_cgroup, check_number);
      g.rss += f.rss;
      g.estimate += f.value(rs->spec.measure);
      g.limit = g.limit == 0 ? limit : std::min(g.limit, limit);
    }
    if (by_process) continue;
    for (pid_t pid : rs->members) {
      Demand& d = demand_[pid];
      if (!d.measured) continue;
      const Process& p = *table_.find(pid);
      const GroupSum& g = rs->group_sum(p.attrs.primary_cgroup, check_number);
      if (g.limit == 0) continue;
      if (g.rss < g.limit) continue;  // cannot be over: PSS <= RSS
      if (g.estimate >= g.limit)
        d.detail.force = true;  // may be over: know exactly
      else
        d.detail.threshold = 0;  // near: read as the duty budget allows
    }
    std::erase_if(rs->groups, [&](const auto& kv) { return kv.second.check != check_number; });
  }
  for (auto& [pid, d] : demand_) {
    if (d.measured) sampler_.refresh_detail(*table_.find(pid), d.detail, errors);
  }

  // judge and act; export
  auto snapshot = std::make_shared<Snapshot>();
  std::vector<Candidate>& candidates = candidates_;
  for (std::size_t rule_index = 0; rule_index < rules_.size(); ++rule_index) {
    auto& rs = rules_[rule_index];
    const RuleSpec& rule = rs->spec;
    candidates.clear();
    RuleSample sample;
    sample.rule = rule.name;
    std::vector<ProcessSample>& all = rs->samples;
    all.clear();
    std::map<std::string, std::uint64_t> cgroup_sums;
    for (pid_t pid : rs->members) {
      if (!demand_[pid].measured) continue;
      const Process& p = *table_.find(pid);
      const MemoryFigures& f = *sampler_.figures(pid);
      // A PSS or USS never read (no CAP_SYS_PTRACE for this process, say) is
      // unknown, not RSS: such a process is neither judged nor exported by
      // this rule, only counted in scan_errors_total.
      if (rule.measure != Measure::kRss && !f.have_detail) continue;
      Candidate c;
      c.id = p.id;
      c.name = p.stat.comm;
      c.pgrp = p.stat.pgrp;
      c.cgroup = p.attrs.primary_cgroup;
      c.bytes = f.value(rule.measure);
      c.limit = resolve_limit(*rs, p);
      c.is_protected = guard_.is_protected(p, pid_files_);
      c.in_flight = actuator_->in_flight(p.id);
      if (!options_.once && rule.scope == Scope::kProcess && c.limit && !c.is_protected &&
          !c.in_flight) {
        if (auto period = fast_check_period(c.bytes, c.limit, f.growth_per_second,
                                            config_->interval, fast_policy_)) {
          fast_.add({p.id, rule_index, c.limit, rule.measure, now + *period});
        }
      }
      candidates.push_back(std::move(c));
      if (f.have_detail) sample.pss_bytes += f.pss;
      all.push_back({pid, p.stat.comm, f.pss, f.uss, f.rss, f.have_detail});
      if (rule.scope == Scope::kCgroup && p.attrs.primary_cgroup && f.have_detail)
        cgroup_sums[p.attrs.primary_cgroup->path] += f.pss;
    }
    std::uint64_t least_limit = 0;
    for (const auto& c : candidates) {
      if (c.limit && (least_limit == 0 || c.limit < least_limit)) least_limit = c.limit;
    }
    sample.limit_bytes = rule.limit.is_percent() ? least_limit : rule.limit.bytes;
    sample.processes = candidates.size();

    JudgeResult result = rs->judge.judge(rule, candidates);
    for (std::uint64_t i = 0; i < result.exceeded; ++i) metrics_.limit_exceeded(rule.name);
    if (!options_.once) {
      for (auto& action : result.actions) actuator_->submit(std::move(action));
    }
    if (collect_rows) {
      for (const Verdict& v : result.verdicts) {
        const Process* p = table_.find(v.id.pid);
        if (!p) continue;
        CheckRow row{rule.name,    v.id.pid, p->stat.comm,     *sampler_.figures(v.id.pid),
                     rule.measure, v.limit,  describe(v, rule)};
        if (options_.once && v.kind == VerdictKind::kAct) {
          row.verdict =
              "over: would " + rule.action.signal_name +
              (rule.for_duration.count() ? " after for: " + format_duration(rule.for_duration)
                                         : "");
        }
        report.rows.push_back(std::move(row));
      }
      if (rule.scope != Scope::kProcess) add_group_rows(rule, candidates, report);
    }

    const std::size_t top_n = std::min<std::size_t>(config_->top_processes, all.size());
    std::partial_sort(all.begin(), all.begin() + top_n, all.end(),
                      [](const auto& a, const auto& b) { return a.pss > b.pss; });
    sample.top.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(top_n));
    for (auto& [path, bytes] : cgroup_sums) sample.cgroups.push_back({path, bytes});
    snapshot->rules.push_back(std::move(sample));
  }
  metrics_.publish(std::move(snapshot));

  if (errors.vanished) metrics_.scan_error("vanished", errors.vanished);
  if (errors.permission) metrics_.scan_error("permission", errors.permission);
  if (errors.parse) metrics_.scan_error("parse", errors.parse);
  if (errors.io) metrics_.scan_error("io", errors.io);
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

void CheckLoop::add_group_rows(const RuleSpec& rule, const std::vector<Candidate>& candidates,
                               CheckReport& report) {
  // One line per group with its sum, so a table of small processes under a
  // group verdict explains itself.
  struct Sum {
    MemoryFigures fig;
    std::uint64_t limit = 0;
    std::size_t n = 0;
  };
  std::map<std::string, Sum> sums;
  for (const Candidate& c : candidates) {
    const std::string key = rule.scope == Scope::kGroup ? "(group)"
                            : c.cgroup                  ? "(cgroup " + c.cgroup->path + ")"
                                                        : "(no cgroup)";
    Sum& s = sums[key];
    if (const MemoryFigures* f = sampler_.figures(c.id.pid)) {
      s.fig.pss += f->pss;
      s.fig.uss += f->uss;
      s.fig.rss += f->rss;
    }
    if (c.limit && (s.limit == 0 || c.limit < s.limit)) s.limit = c.limit;
    ++s.n;
  }
  for (auto& [key, s] : sums) {
    const std::uint64_t judged = s.fig.value(rule.measure);
    std::string verdict = std::to_string(s.n) + " processes, " + to_string(rule.measure) + " sum " +
                          format_bytes(judged) + (s.limit && judged > s.limit ? ": over" : ": ok");
    report.rows.push_back({rule.name, 0, key, s.fig, rule.measure, s.limit, verdict});
  }
}

void CheckLoop::report_memory_reads() {
  const SamplerStats& now = sampler_.stats();
  metrics_.memory_read(
      now.rollup_reads - reported_reads_.rollup_reads,
      std::chrono::duration<double>(now.rollup_time - reported_reads_.rollup_time).count());
  reported_reads_ = now;
}

void CheckLoop::log_summary(const CheckReport&) {
  // Rebuilt from the rules, so the summary matches what /metrics shows.
  for (const auto& rs : rules_) {
    std::uint64_t total = 0, largest = 0;
    for (pid_t pid : rs->members) {
      if (const MemoryFigures* f = sampler_.figures(pid)) {
        total += f->value(rs->spec.measure);
        largest = std::max(largest, f->value(rs->spec.measure));
      }
    }
    log::debug("rule stats",
               {{"rule", rs->spec.name},
                {"processes", rs->members.size()},
                {"measure", to_string(rs->spec.measure)},
                {"total", format_bytes(total)},
                {"largest", format_bytes(largest)},
                {"limit", rs->spec.limit.is_percent() ? std::to_string(rs->spec.limit.percent) + "%"
                                                      : format_bytes(rs->spec.limit.bytes)}});
  }
}

}  // namespace mg
