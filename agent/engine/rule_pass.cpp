#include "engine/rule_pass.h"

#include <algorithm>
#include <map>

namespace mg {

RuleSample run_rule_pass(RuleState& rs, std::size_t rule_index, std::vector<Candidate>& candidates,
                         const RulePassContext& ctx) {
  const RuleSpec& rule = rs.spec;
  candidates.clear();
  RuleSample sample;
  sample.rule = rule.name;
  std::vector<ProcessSample>& all = rs.samples;
  all.clear();
  std::map<std::string, std::uint64_t> cgroup_sums;
  for (pid_t pid : rs.members) {
    if (!ctx.plan.measured(pid)) continue;
    const Process& p = *ctx.table.find(pid);
    const MemoryFigures& f = *ctx.sampler.figures(pid);
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
    c.limit = ctx.limits.limit_for(rule, p);
    c.is_protected = ctx.guard.is_protected(p, ctx.pid_files);
    c.in_flight = ctx.actuator.in_flight(p.id);
    if (!ctx.once && rule.scope == Scope::kProcess && c.limit && !c.is_protected && !c.in_flight) {
      if (auto period = fast_check_period(c.bytes, c.limit, f.growth_per_second,
                                          ctx.config.interval, ctx.fast_policy)) {
        ctx.fast.add({p.id, rule_index, c.limit, rule.measure, ctx.now + *period});
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

  JudgeResult result = rs.judge.judge(rule, candidates);
  for (std::uint64_t i = 0; i < result.exceeded; ++i) ctx.metrics.limit_exceeded(rule.name);
  if (!ctx.once) {
    for (auto& action : result.actions) ctx.actuator.submit(std::move(action));
  }
  if (ctx.report) {
    add_verdict_rows(rule, result, ctx.table, ctx.sampler, ctx.once, *ctx.report);
    if (rule.scope != Scope::kProcess) add_group_rows(rule, candidates, ctx.sampler, *ctx.report);
  }

  const std::size_t top_n = std::min<std::size_t>(ctx.config.top_processes, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(top_n), all.end(),
                    [](const auto& a, const auto& b) { return a.pss > b.pss; });
  sample.top.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(top_n));
  for (auto& [path, bytes] : cgroup_sums) sample.cgroups.push_back({path, bytes});
  return sample;
}

}  // namespace mg
