#include "export/metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <charconv>
#include <map>
#include <set>
#include <sstream>

#include "export/self_metrics.h"
#include "export/snapshot_text.h"
#include "util/utf8.h"
#include "util/version.h"

namespace mg {
namespace {

// Shown at 0 from the start so that rate() and absent() behave before the
// first failure; they mirror what the actuator and the scanner report.
// Every reason the actuator reports, so alerts can use increase() on them
// from the start. (A victim that exited on its own is no failure: a skip.)
constexpr const char* kKillFailureReasons[] = {"permission", "protected", "error", "hook"};
// The actuator's reasons to skip an action (act/action.h, kSkipReasons).
constexpr const char* kActionSkipReasons[] = {"exited", "zombie", "pid_reused", "below_limit"};
constexpr const char* kScanErrorReasons[] = {"vanished", "permission", "parse", "io"};

// A scan walks /proc and, for a few processes, smaps_rollup: from well under a
// millisecond on a tiny container to seconds on a crowded host.
const prometheus::Histogram::BucketBoundaries kScanBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};

}  // namespace

struct Metrics::Impl {
  // Every series that carries a rule label, so a rule removed on reload takes
  // all of its series with it.
  struct RuleSeries {
    prometheus::Counter* limit_exceeded = nullptr;
    std::map<std::string, prometheus::Counter*> kills;     // by signal
    std::map<std::string, prometheus::Counter*> failures;  // by reason
    std::map<std::string, prometheus::Counter*> skips;     // by reason
    std::map<std::string, prometheus::Counter*> fired;     // by condition
    prometheus::Gauge* last_kill = nullptr;
    prometheus::Gauge* last_victim = nullptr;  // memoryguard_last_kill_info, once it has one
  };

  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& limit_exceeded =
      prometheus::BuildCounter()
          .Name("memoryguard_limit_exceeded_total")
          .Help(
              "Times a rule found its limit exceeded, or with pressure: or available:, every "
              "condition it gives holding (dry-run included).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& conditions_fired =
      prometheus::BuildCounter()
          .Name("memoryguard_condition_fired_total")
          .Help(
              "Times one of a rule's conditions (limit, working_set, pressure, available) started "
              "to hold for a process, group, cgroup or the host, whether or not the rule's other "
              "conditions held then (dry-run included).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& kills = prometheus::BuildCounter()
                                                       .Name("memoryguard_kills_total")
                                                       .Help("Signals sent, by rule and signal.")
                                                       .Register(*registry);
  prometheus::Family<prometheus::Counter>& kill_failures =
      prometheus::BuildCounter()
          .Name("memoryguard_kill_failures_total")
          .Help("Actions that failed, by rule and reason.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& actions_skipped =
      prometheus::BuildCounter()
          .Name("memoryguard_actions_skipped_total")
          .Help(
              "Actions not carried out, by rule and reason: right before the signal the victim "
              "had exited, was a zombie, had lost its pid to another process (pid_reused), or "
              "was back under its limit (below_limit).")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& last_kill =
      prometheus::BuildGauge()
          .Name("memoryguard_last_kill_timestamp_seconds")
          .Help("Unix time of the rule's last signal; 0 if it never sent one.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& last_kill_info =
      prometheus::BuildGauge()
          .Name("memoryguard_last_kill_info")
          .Help(
              "Always 1: who the rule's last signal went to, by name and pid, and by pod_uid, "
              "container_id and systemd_unit where known.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& scan_duration =
      prometheus::BuildHistogram()
          .Name("memoryguard_scan_duration_seconds")
          .Help("Duration of one check of every rule.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& scan_errors =
      prometheus::BuildCounter()
          .Name("memoryguard_scan_errors_total")
          .Help("Reads of /proc or the cgroup tree that failed during scans, by reason.")
          .Register(*registry);
  prometheus::Counter& smaps_reads =
      prometheus::BuildCounter()
          .Name("memoryguard_smaps_reads_total")
          .Help(
              "Reads of /proc/PID/smaps_rollup (smaps where the kernel has no rollup) for PSS "
              "and USS.")
          .Register(*registry)
          .Add({});
  prometheus::Counter& smaps_reads_skipped =
      prometheus::BuildCounter()
          .Name("memoryguard_smaps_reads_skipped_total")
          .Help(
              "Reads of smaps_rollup that the gauges were due, left out because the process's "
              "PSS cannot have moved by more than 1% since its last read: its statm is the "
              "same, and so are the processes it shares pages with. Each process is read at "
              "least every 10 stats_frequency periods.")
          .Register(*registry)
          .Add({});
  prometheus::Counter& smaps_read_seconds =
      prometheus::BuildCounter()
          .Name("memoryguard_smaps_read_seconds_total")
          .Help(
              "Wall time of those reads, summed over the processes read. Each walks the "
              "process's page tables under its mmap lock (held for reading: its mmap, munmap "
              "and brk wait), and each process's own share is capped at 1% of its time (10% "
              "when judging needs the read).")
          .Register(*registry)
          .Add({});
  prometheus::Gauge& reload_ok =
      prometheus::BuildGauge()
          .Name("memoryguard_config_last_reload_successful")
          .Help("Whether the last configuration load succeeded (1) or failed (0).")
          .Register(*registry)
          .Add({});
  prometheus::Gauge& reload_time =
      prometheus::BuildGauge()
          .Name("memoryguard_config_last_reload_success_timestamp_seconds")
          .Help("Unix time of the last successful configuration load.")
          .Register(*registry)
          .Add({});
  prometheus::Histogram& scan_histogram = scan_duration.Add({}, kScanBuckets);

  std::mutex mu;  // guards `rules` and keeps Add/Remove of one rule's series atomic
  std::map<std::string, RuleSeries> rules;

  SnapshotText snapshot;
  mutable std::mutex extra_mu;
  std::vector<std::shared_ptr<const prometheus::Collectable>> extra;
  // The size of the last page, so the next one is built without regrowing.
  mutable std::atomic<std::size_t> last_size{0};
  SelfMetrics self;

  Impl() {
    prometheus::BuildGauge()
        .Name("memoryguard_build_info")
        .Help("Version and revision memoryguard was built from; always 1.")
        .Register(*registry)
        .Add({{"version", kVersion}, {"revision", kRevision}})
        .Set(1);
    for (const char* reason : kScanErrorReasons) scan_errors.Add({{"reason", reason}});
  }

  // Callers hold `mu`.
  RuleSeries& series(const std::string& raw_rule) {
    const std::string rule = to_valid_utf8(raw_rule);
    // Keyed by the label value: two names that sanitize alike share series.
    auto [it, inserted] = rules.try_emplace(rule);
    RuleSeries& s = it->second;
    if (inserted) {
      s.limit_exceeded = &limit_exceeded.Add({{"rule", rule}});
      s.last_kill = &last_kill.Add({{"rule", rule}});
      for (const char* reason : kKillFailureReasons) {
        s.failures[reason] = &kill_failures.Add({{"rule", rule}, {"reason", reason}});
      }
      for (const char* reason : kActionSkipReasons) {
        s.skips[reason] = &actions_skipped.Add({{"rule", rule}, {"reason", reason}});
      }
    }
    return s;
  }

  prometheus::Counter& kill_counter(RuleSeries& s, const std::string& rule,
                                    const std::string& signal) {
    auto& slot = s.kills[signal];
    if (slot == nullptr) {
      slot = &kills.Add({{"rule", to_valid_utf8(rule)}, {"signal", to_valid_utf8(signal)}});
    }
    return *slot;
  }

  prometheus::Counter& fired_counter(RuleSeries& s, const std::string& rule,
                                     const std::string& condition) {
    auto& slot = s.fired[condition];
    if (slot == nullptr) {
      slot = &conditions_fired.Add(
          {{"rule", to_valid_utf8(rule)}, {"condition", to_valid_utf8(condition)}});
    }
    return *slot;
  }

  prometheus::Counter& failure_counter(RuleSeries& s, const std::string& rule,
                                       const std::string& reason) {
    auto& slot = s.failures[reason];
    if (slot == nullptr) {
      slot = &kill_failures.Add({{"rule", to_valid_utf8(rule)}, {"reason", to_valid_utf8(reason)}});
    }
    return *slot;
  }

  void remove(RuleSeries& s) {
    limit_exceeded.Remove(s.limit_exceeded);
    last_kill.Remove(s.last_kill);
    if (s.last_victim) last_kill_info.Remove(s.last_victim);
    for (auto& [_, c] : s.kills) kills.Remove(c);
    for (auto& [_, c] : s.failures) kill_failures.Remove(c);
    for (auto& [_, c] : s.skips) actions_skipped.Remove(c);
    for (auto& [_, c] : s.fired) conditions_fired.Remove(c);
  }
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::set_rules(const std::vector<RuleCounters>& rules) {
  std::lock_guard lock(impl_->mu);
  std::set<std::string> keep;
  for (const auto& r : rules) {
    keep.insert(to_valid_utf8(r.rule));
    auto& s = impl_->series(r.rule);
    for (const auto& sig : r.signals) impl_->kill_counter(s, r.rule, sig);
    // A condition a reload took away keeps its count (it may come back).
    for (const auto& c : r.conditions) impl_->fired_counter(s, r.rule, c);
  }
  for (auto it = impl_->rules.begin(); it != impl_->rules.end();) {
    if (keep.count(it->first) == 0) {
      impl_->remove(it->second);
      it = impl_->rules.erase(it);
    } else {
      ++it;
    }
  }
}

void Metrics::publish(std::shared_ptr<const Snapshot> snapshot) {
  impl_->snapshot.publish(std::move(snapshot));
}

void Metrics::limit_exceeded(const std::string& rule) {
  std::lock_guard lock(impl_->mu);
  impl_->series(rule).limit_exceeded->Increment();
}

void Metrics::condition_fired(const std::string& rule, const std::string& condition) {
  std::lock_guard lock(impl_->mu);
  auto& s = impl_->series(rule);
  impl_->fired_counter(s, rule, condition).Increment();
}

void Metrics::signal_sent(const std::string& rule, const std::string& signal, double unix_time) {
  std::lock_guard lock(impl_->mu);
  auto& s = impl_->series(rule);
  impl_->kill_counter(s, rule, signal).Increment();
  s.last_kill->Set(unix_time);
}

void Metrics::last_victim(const std::string& rule, const std::string& name, pid_t pid,
                          const CgroupIdentity* identity) {
  std::map<std::string, std::string> labels{
      {"rule", to_valid_utf8(rule)}, {"name", to_valid_utf8(name)}, {"pid", std::to_string(pid)}};
  if (identity) {
    if (!identity->pod_uid.empty()) labels["pod_uid"] = identity->pod_uid;
    if (!identity->container_id.empty()) labels["container_id"] = identity->container_id;
    if (!identity->systemd_unit.empty())
      labels["systemd_unit"] = to_valid_utf8(identity->systemd_unit);
  }
  std::lock_guard lock(impl_->mu);
  auto& s = impl_->series(rule);
  if (s.last_victim) impl_->last_kill_info.Remove(s.last_victim);
  s.last_victim = &impl_->last_kill_info.Add(labels);
  s.last_victim->Set(1);
}

void Metrics::action_failed(const std::string& rule, const std::string& reason) {
  std::lock_guard lock(impl_->mu);
  auto& s = impl_->series(rule);
  impl_->failure_counter(s, rule, reason).Increment();
}

void Metrics::action_skipped(const std::string& rule, const std::string& reason) {
  std::lock_guard lock(impl_->mu);
  auto& s = impl_->series(rule);
  auto& slot = s.skips[reason];
  if (slot == nullptr) {
    slot = &impl_->actions_skipped.Add(
        {{"rule", to_valid_utf8(rule)}, {"reason", to_valid_utf8(reason)}});
  }
  slot->Increment();
}

void Metrics::scan_finished(double seconds) {
  impl_->scan_histogram.Observe(seconds);
}

void Metrics::memory_read(std::uint64_t reads, std::uint64_t skipped, double seconds) {
  impl_->smaps_reads.Increment(static_cast<double>(reads));
  impl_->smaps_reads_skipped.Increment(static_cast<double>(skipped));
  impl_->smaps_read_seconds.Increment(seconds);
}

void Metrics::scan_error(const std::string& reason, double count) {
  impl_->scan_errors.Add({{"reason", to_valid_utf8(reason)}}).Increment(count);
}

void Metrics::config_reloaded(bool success, double unix_time) {
  impl_->reload_ok.Set(success ? 1 : 0);
  if (success) impl_->reload_time.Set(unix_time);
}

void Metrics::add_collectable(std::shared_ptr<const prometheus::Collectable> collectable) {
  std::lock_guard lock(impl_->extra_mu);
  impl_->extra.push_back(std::move(collectable));
}

std::string Metrics::render() const {
  // The few dozen series of the registry and the process's own figures go
  // through prometheus-cpp's serializer; the per-process ones are written
  // directly (SnapshotText).
  std::vector<prometheus::MetricFamily> families = impl_->registry->Collect();
  auto append = [&families](std::vector<prometheus::MetricFamily> more) {
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  };
  append(impl_->self.Collect());
  {
    std::lock_guard lock(impl_->extra_mu);
    for (const auto& c : impl_->extra) append(c->Collect());
  }
  std::ostringstream serialized;
  prometheus::TextSerializer().Serialize(serialized, families);
  std::string out = std::move(serialized).str();
  out.reserve(impl_->last_size.load(std::memory_order_relaxed) + 4096);
  impl_->snapshot.render(out);
  impl_->last_size.store(out.size(), std::memory_order_relaxed);
  return out;
}

}  // namespace mg
