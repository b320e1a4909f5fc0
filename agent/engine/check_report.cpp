#include "engine/check_report.h"

#include <algorithm>
#include <map>

#include "config/units.h"
#include "util/log.h"

namespace mg {

void add_verdict_rows(const RuleSpec& rule, const JudgeResult& result, const ProcessTable& table,
                      const MemorySampler& sampler, bool once, bool identity, CheckReport& report) {
  for (const Verdict& v : result.verdicts) {
    const Process* p = table.find(v.id.pid);
    if (!p) continue;
    CheckRow row{rule.name,    v.id.pid, p->stat.comm,     *sampler.figures(v.id.pid),
                 rule.measure, v.limit,  describe(v, rule)};
    if (once && v.kind == VerdictKind::kAct) {
      row.verdict =
          "over: would " + rule.action.signal_name +
          (rule.for_duration.count() ? " after for: " + format_duration(rule.for_duration) : "");
    }
    if (identity) row.identity = p->attrs.identity();
    report.rows.push_back(std::move(row));
  }
}

void add_group_rows(const RuleSpec& rule, const std::vector<Candidate>& candidates,
                    const MemorySampler& sampler, CheckReport& report) {
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
    if (const MemoryFigures* f = sampler.figures(c.id.pid)) {
      s.fig.pss += f->pss;
      s.fig.uss += f->uss;
      s.fig.rss += f->rss;
    }
    if (c.limit && (s.limit == 0 || c.limit < s.limit)) s.limit = c.limit;
    ++s.n;
  }
  for (auto& [key, s] : sums) {
    std::string verdict;
    if (rule.limits_processes()) {
      const std::uint64_t judged = s.fig.value(rule.measure);
      verdict = std::to_string(s.n) + " processes, " + to_string(rule.measure) + " sum " +
                format_bytes(judged) + (s.limit && judged > s.limit ? ": over" : ": ok");
    } else {
      // Judged by conditions of the cgroup or the host, listed apart.
      verdict = std::to_string(s.n) + " processes, pss sum " + format_bytes(s.fig.pss) +
                " (conditions below)";
    }
    report.rows.push_back({rule.name, 0, key, s.fig, rule.measure, s.limit, verdict});
  }
}

void log_rule_summaries(const RuleStates& rules, const MemorySampler& sampler) {
  // Rebuilt from the rules, so the summary matches what /metrics shows.
  for (const auto& rs : rules) {
    std::uint64_t total = 0, largest = 0;
    for (pid_t pid : rs->members) {
      if (const MemoryFigures* f = sampler.figures(pid)) {
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
