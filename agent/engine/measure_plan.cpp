#include "engine/measure_plan.h"

#include <algorithm>

namespace mg {

GroupSum& RuleState::group_sum(const std::optional<CgroupRef>& cgroup, std::uint64_t check) {
  // The same keys as group_key(), built in a reused buffer.
  std::string& key = group_key_buffer;
  key.clear();
  if (spec.scope == Scope::kGroup) {
    // Not `key = "g"`: GCC 12 inlines that assignment into a memcpy it then
    // wrongly reports as overlapping (-Wrestrict, GCC bug 105329).
    key.push_back('g');
  } else if (cgroup) {
    key.append(cgroup->v2 ? "c2:" : "c1:").append(cgroup->path);
  }
  auto it = groups.find(std::string_view(key));
  if (it == groups.end()) it = groups.emplace(key, GroupSum{}).first;
  if (it->second.check != check) it->second = GroupSum{0, 0, 0, check};
  return it->second;
}

void MeasurePlan::begin(std::uint64_t check, const RuleStates& rules) {
  check_ = check;
  for (const auto& rs : rules) {
    for (pid_t pid : rs->members) {
      Demand& d = demand_[pid];
      if (d.check != check) d = Demand{{}, check, false};
      d.detail.wanted = true;
    }
  }
  std::erase_if(demand_, [&](const auto& kv) { return kv.second.check != check; });
}

void MeasurePlan::measure_rss(ProcessTable& table, MemorySampler& sampler, ScanErrors& errors,
                              const std::vector<pid_t>* only) {
  for (auto& [pid, d] : demand_) {
    const Process* p = table.find(pid);
    if (p && only && !std::binary_search(only->begin(), only->end(), pid) && sampler.knows(*p)) {
      d.measured = true;
      continue;
    }
    d.measured = p && sampler.refresh_rss(*p, errors);
    if (p && !d.measured) table.suspect(pid);
  }
}

bool MeasurePlan::measured(pid_t pid) const {
  auto it = demand_.find(pid);
  return it != demand_.end() && it->second.check == check_ && it->second.measured;
}

void MeasurePlan::plan_rule(RuleState& rs, const ProcessTable& table, const MemorySampler& sampler,
                            LimitResolver& limits) {
  if (rs.spec.measure == Measure::kRss) return;
  const bool by_process = rs.spec.scope == Scope::kProcess;
  for (pid_t pid : rs.members) {
    Demand& d = demand_[pid];
    if (!d.measured) continue;
    const Process& p = *table.find(pid);
    const std::uint64_t limit = limits.limit_for(rs.spec, p);
    if (limit == 0) continue;
    const MemoryFigures& f = *sampler.figures(pid);
    if (by_process) {
      d.detail.threshold = std::min(d.detail.threshold, limit);
      continue;
    }
    GroupSum& g = rs.group_sum(p.attrs.primary_cgroup(), check_);
    g.rss += f.rss;
    g.estimate += f.value(rs.spec.measure);
    g.limit = g.limit == 0 ? limit : std::min(g.limit, limit);
  }
  if (by_process) return;
  for (pid_t pid : rs.members) {
    Demand& d = demand_[pid];
    if (!d.measured) continue;
    const Process& p = *table.find(pid);
    const GroupSum& g = rs.group_sum(p.attrs.primary_cgroup(), check_);
    if (g.limit == 0) continue;
    if (g.rss < g.limit) continue;  // cannot be over: PSS <= RSS
    if (g.estimate >= g.limit)
      d.detail.force = true;  // may be over: know exactly
    else
      d.detail.threshold = 0;  // near: read as the duty budget allows
  }
  std::erase_if(rs.groups, [&](const auto& kv) { return kv.second.check != check_; });
}

void MeasurePlan::measure_detail(RuleStates& rules, const ProcessTable& table,
                                 MemorySampler& sampler, LimitResolver& limits,
                                 ScanErrors& errors) {
  for (auto& rs : rules) plan_rule(*rs, table, sampler, limits);
  for (auto& [pid, d] : demand_) {
    if (d.measured) sampler.refresh_detail(*table.find(pid), d.detail, errors);
  }
}

}  // namespace mg
