#pragma once
// What a check tells a person rather than Prometheus: the rows of --once (a
// process as one rule sees it, and one line per group or cgroup with its
// sum), and the per-rule summary logged at debug every stats_frequency.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "engine/rule_state.h"
#include "judge/rule_judge.h"
#include "measure/memory_sampler.h"

namespace mg {

// One row of --once: a process as one rule sees it.
struct CheckRow {
  std::string rule;
  pid_t pid = 0;
  std::string name;
  MemoryFigures figures;
  Measure measure = Measure::kPss;
  std::uint64_t limit = 0;
  std::string verdict;
  std::shared_ptr<const CgroupIdentity> identity = nullptr;  // when identity_labels is on
};

// The conditions beside a limit on processes (a cgroup's working set and
// pressure, the host's pressure and MemAvailable) as one rule read them for
// one unit: "host" or "cgroup /path".
struct ConditionRow {
  std::string rule;
  std::string unit;
  std::vector<ConditionState> states;
};

struct CheckReport {
  std::vector<CheckRow> rows;
  std::vector<ConditionRow> conditions;
  std::size_t processes_seen = 0;
};

// Rows for every verdict of one rule in this check.
void add_verdict_rows(const RuleSpec& rule, const JudgeResult& result, const ProcessTable& table,
                      const MemorySampler& sampler, bool once, bool identity, CheckReport& report);
// One row per group (scope: group) or cgroup (scope: cgroup) with its sum, so
// a table of small processes under a group verdict explains itself.
void add_group_rows(const RuleSpec& rule, const std::vector<Candidate>& candidates,
                    const MemorySampler& sampler, CheckReport& report);

// The debug summary: per rule, its processes, total, largest and limit.
void log_rule_summaries(const RuleStates& rules, const MemorySampler& sampler);

}  // namespace mg
