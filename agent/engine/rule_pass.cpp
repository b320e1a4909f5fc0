#include "engine/rule_pass.h"

#include <algorithm>
#include <map>

#include "judge/conditions/available_condition.h"
#include "judge/conditions/pressure_condition.h"
#include "judge/conditions/working_set_condition.h"

namespace mg {
namespace {

// The conditions of the whole host: MemAvailable, and the host's pressure for
// a rule that is not judged per cgroup.
std::vector<ConditionState> host_conditions(const RuleSpec& rule, const RulePassContext& ctx) {
  std::vector<ConditionState> states;
  if (rule.pressure && rule.scope != Scope::kCgroup) {
    states.push_back(
        pressure_condition(*rule.pressure, ctx.host_signals.pressure(ctx.errors), "host"));
  }
  if (rule.available) {
    states.push_back(available_condition(*rule.available, ctx.host_signals.meminfo(ctx.errors)));
  }
  return states;
}

// A cgroup's own conditions, from the first process of the rule seen in it:
// its working set (in the memory controller's cgroup, the v1 one on a hybrid
// host) and its v2 memory.pressure.
UnitConditions cgroup_conditions(const RuleSpec& rule, const Process& p, const RulePassContext& ctx,
                                 CgroupSample& sample) {
  UnitConditions unit;
  if (!p.attrs.cgroups) return unit;
  if (rule.measure == Measure::kWorkingSet) {
    static const std::optional<CgroupMemoryReading> kUnread;
    const auto& ref = p.attrs.memory_cgroup();
    const auto& reading = ref ? ctx.cgroup_signals.memory(*ref, ctx.errors) : kUnread;
    WorkingSetState ws = working_set_condition(rule.limit, reading);
    unit.bytes = ws.bytes;
    unit.limit = ws.limit;
    if (reading) {
      sample.working_set = ws.bytes;
      sample.memory_limit = reading->limit;
    }
    unit.states.push_back(std::move(ws.state));
  }
  if (rule.pressure) {
    static const std::optional<Pressure> kUnread;
    const auto ref = ctx.cgroupfs.pressure_cgroup(p.attrs.cgroups->memberships);
    const auto& reading = ref ? ctx.cgroup_signals.pressure(*ref, ctx.errors) : kUnread;
    sample.pressure = reading;
    // On a hybrid host a process may be grouped by its v1 memory cgroup
    // while its pressure comes from its v2 one: say which was read.
    const bool same = ref && p.attrs.primary_cgroup() && *ref == *p.attrs.primary_cgroup();
    const std::string where = same || !ref ? "cgroup" : "cgroup (v2 " + ref->path + ")";
    unit.states.push_back(pressure_condition(*rule.pressure, reading, where.c_str()));
  }
  return unit;
}

}  // namespace

void add_condition_rows(const RuleState& rs, const RulePassContext& ctx,
                        std::vector<ConditionRow>& rows) {
  const RuleSpec& rule = rs.spec;
  if (auto host = host_conditions(rule, ctx); !host.empty())
    rows.push_back({rule.name, "host", std::move(host)});
  if (rule.scope != Scope::kCgroup || !(rule.measure == Measure::kWorkingSet || rule.pressure))
    return;
  std::map<CgroupRef, const Process*> units;
  for (pid_t pid : rs.members) {
    const Process* p = ctx.table.find(pid);
    if (p && p->attrs.primary_cgroup()) units.try_emplace(*p->attrs.primary_cgroup(), p);
  }
  for (const auto& [ref, p] : units) {
    CgroupSample unused;
    rows.push_back(
        {rule.name, "cgroup " + ref.path, cgroup_conditions(rule, *p, ctx, unused).states});
  }
}

RuleSample run_rule_pass(RuleState& rs, std::size_t rule_index, std::vector<Candidate>& candidates,
                         const RulePassContext& ctx) {
  const RuleSpec& rule = rs.spec;
  candidates.clear();
  RuleSample sample;
  sample.rule = rule.name;
  std::vector<ProcessSample>& all = rs.samples;
  all.clear();
  // The cgroups of a scope: cgroup rule, and what it read of each.
  std::map<CgroupRef, CgroupSample> cgroups;
  ConditionInputs conditions;
  const bool cgroup_conditions_read =
      rule.scope == Scope::kCgroup && (rule.measure == Measure::kWorkingSet || rule.pressure);
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
    // Only where the judge groups or acts by it: a copy of its path costs an
    // allocation per process and check.
    if (rule.scope == Scope::kCgroup || rule.action.target == Target::kCgroup)
      c.cgroup = p.attrs.primary_cgroup();
    if (ctx.config.identity_labels) c.identity = p.attrs.identity();
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
    all.push_back({pid, p.stat.comm, f.pss, f.uss, f.rss, f.have_detail,
                   ctx.config.identity_labels ? p.attrs.identity() : nullptr});
    if (rule.scope == Scope::kCgroup && p.attrs.primary_cgroup()) {
      auto [it, first] = cgroups.try_emplace(*p.attrs.primary_cgroup());
      CgroupSample& cs = it->second;
      if (first) {
        cs.path = p.attrs.primary_cgroup()->path;
        cs.has_bytes = false;
        if (ctx.config.identity_labels) cs.identity = p.attrs.identity();
        if (cgroup_conditions_read) {
          conditions.cgroups[group_key(rule.scope, p.attrs.primary_cgroup())] =
              cgroup_conditions(rule, p, ctx, cs);
        }
      }
      if (f.have_detail) {
        cs.bytes += f.pss;
        cs.has_bytes = true;
      }
    }
  }
  conditions.host = host_conditions(rule, ctx);
  std::uint64_t least_limit = 0;
  for (const auto& c : candidates) {
    if (c.limit && (least_limit == 0 || c.limit < least_limit)) least_limit = c.limit;
  }
  if (rule.measure == Measure::kWorkingSet) {
    // The least of the limits the rule resolved for its cgroups.
    least_limit = 0;
    for (const auto& [key, unit] : conditions.cgroups) {
      if (unit.limit && (least_limit == 0 || unit.limit < least_limit)) least_limit = unit.limit;
    }
  }
  if (rule.limit.is_set())
    sample.limit_bytes = rule.limit.is_percent() ? least_limit : rule.limit.bytes;
  if (rule.pressure && rule.scope == Scope::kCgroup)
    sample.pressure_window = rule.pressure->window_seconds;
  sample.processes = candidates.size();

  JudgeResult result = rs.judge.judge(rule, candidates, conditions);
  for (std::uint64_t i = 0; i < result.exceeded; ++i) ctx.metrics.limit_exceeded(rule.name);
  for (ConditionKind kind : result.fired) ctx.metrics.condition_fired(rule.name, to_string(kind));
  if (!ctx.once) {
    for (auto& action : result.actions) ctx.actuator.submit(std::move(action));
  }
  if (ctx.report) {
    if (!conditions.host.empty())
      ctx.report->conditions.push_back({rule.name, "host", conditions.host});
    for (const auto& [ref, cs] : cgroups) {
      auto it = conditions.cgroups.find(group_key(rule.scope, ref));
      if (it != conditions.cgroups.end() && !it->second.states.empty())
        ctx.report->conditions.push_back({rule.name, "cgroup " + ref.path, it->second.states});
    }
    add_verdict_rows(rule, result, ctx.table, ctx.sampler, ctx.once, ctx.config.identity_labels,
                     *ctx.report);
    if (rule.scope != Scope::kProcess) add_group_rows(rule, candidates, ctx.sampler, *ctx.report);
  }

  const std::size_t top_n = std::min<std::size_t>(ctx.config.top_processes, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(top_n), all.end(),
                    [](const auto& a, const auto& b) { return a.pss > b.pss; });
  sample.top.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(top_n));
  for (auto& [ref, cs] : cgroups) {
    if (cs.has_bytes || cs.working_set || cs.pressure) sample.cgroups.push_back(std::move(cs));
  }
  return sample;
}

}  // namespace mg
