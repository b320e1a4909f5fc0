#pragma once
// What one check measures of each matched process, and how exactly. Every
// matched process gets its cheap RSS (statm) read; its PSS/USS page walk is
// asked for only where judging can need it (see MemorySampler): a process
// judged on its own at or above its limit's threshold, a group or cgroup
// whose RSS sum has reached its limit. A process matched by several rules is
// measured once, with the strictest of their demands.
#include <sys/types.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "discover/process_table.h"
#include "engine/limit_resolver.h"
#include "engine/rule_state.h"
#include "measure/memory_sampler.h"

namespace mg {

class MeasurePlan {
 public:
  // Starts check number `check`: every member of every rule is wanted (the
  // gauges want each PSS at least every stats_frequency), and processes no
  // rule matches any more are forgotten.
  void begin(std::uint64_t check, const RuleStates& rules);
  // Reads the RSS of every wanted process, or with `only`, of those in it
  // (sorted) and of those never read; the others keep their last figures. A
  // process that could not be read is marked suspect in the table, so the
  // next scan re-reads its identity.
  void measure_rss(ProcessTable& table, MemorySampler& sampler, ScanErrors& errors,
                   const std::vector<pid_t>* only = nullptr);
  // Decides the page walks judging needs, rule by rule, then does them.
  void measure_detail(RuleStates& rules, const ProcessTable& table, MemorySampler& sampler,
                      LimitResolver& limits, ScanErrors& errors);
  // Whether `pid`'s RSS was read in this check.
  bool measured(pid_t pid) const;

 private:
  struct Demand {
    DetailDemand detail;
    std::uint64_t check = 0;
    bool measured = false;
  };
  void plan_rule(RuleState& rs, const ProcessTable& table, const MemorySampler& sampler,
                 LimitResolver& limits);

  std::unordered_map<pid_t, Demand> demand_;
  std::uint64_t check_ = 0;
};

}  // namespace mg
