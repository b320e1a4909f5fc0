#pragma once
// One rule's part of a check, once its processes are measured: its
// candidates (each matched process with a known figure), the states of its
// other conditions (a cgroup's working set and pressure, the host's pressure
// and MemAvailable, each file read once per check), the judge's verdict, the
// actions handed to the actuator, the processes worth a look before the next
// check, and what the rule shows on /metrics.
#include <cstddef>
#include <vector>

#include "act/actuator.h"
#include "act/safety_guard.h"
#include "engine/check_report.h"
#include "engine/fast_check_schedule.h"
#include "engine/limit_resolver.h"
#include "engine/measure_plan.h"
#include "engine/rule_state.h"
#include "export/metrics.h"
#include "export/snapshot.h"
#include "match/matcher.h"
#include "measure/cgroup_signals.h"
#include "measure/host_signals.h"

namespace mg {

struct RulePassContext {
  const Config& config;
  const ProcessTable& table;
  const MemorySampler& sampler;
  const MeasurePlan& plan;
  LimitResolver& limits;
  const SafetyGuard& guard;
  const PidFiles& pid_files;
  Actuator& actuator;
  Metrics& metrics;
  FastCheckSchedule& fast;
  const FastCheckPolicy& fast_policy;
  const CgroupFs& cgroupfs;
  CgroupSignals& cgroup_signals;
  HostSignals& host_signals;
  ScanErrors& errors;
  TimePoint now;
  bool once = false;              // --once: judge, but act on nothing
  CheckReport* report = nullptr;  // rows are collected when set
};

// The rule's conditions beside a limit on processes, as they are now, one
// row per unit ("host", "cgroup /path") of its matched processes: what
// --check-config shows without measuring any process.
void add_condition_rows(const RuleState& rs, const RulePassContext& ctx,
                        std::vector<ConditionRow>& rows);

// `candidates` is scratch space, reused across rules and checks.
RuleSample run_rule_pass(RuleState& rs, std::size_t rule_index, std::vector<Candidate>& candidates,
                         const RulePassContext& ctx);

}  // namespace mg
