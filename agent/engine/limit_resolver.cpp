#include "engine/limit_resolver.h"

#include "util/log.h"

namespace mg {

std::optional<std::uint64_t> LimitResolver::percent_of_cgroup_limit(double percent,
                                                                    const Process& p) {
  if (!p.attrs.primary_cgroup()) return std::nullopt;
  auto [it, inserted] = limits_.try_emplace(*p.attrs.primary_cgroup());
  if (inserted) it->second = cgroups_.memory_limit(p.attrs.cgroups->memberships);
  if (!it->second) return std::nullopt;
  return static_cast<std::uint64_t>(static_cast<double>(*it->second) * percent / 100.0);
}

std::uint64_t LimitResolver::limit_for(const RuleSpec& rule, const Process& p) {
  // A working set limit is the cgroup's (see working_set_condition.h).
  if (!rule.limits_processes()) return 0;
  if (!rule.limit.is_percent()) return rule.limit.bytes;
  if (auto bytes = percent_of_cgroup_limit(rule.limit.percent, p)) return *bytes;
  if (!p.attrs.primary_cgroup()) return 0;
  const std::string& cgroup = p.attrs.primary_cgroup()->path;
  if (warned_no_limit_.emplace(rule.name, cgroup).second) {
    log::warn("limit in % but the cgroup has no memory limit; rule skips its processes",
              {{"rule", rule.name}, {"cgroup", cgroup}});
  }
  return 0;
}

}  // namespace mg
