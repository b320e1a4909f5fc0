#include "engine/host_validation.h"

#include <algorithm>

#include "match/matcher.h"

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

std::vector<ConfigError> percent_limit_errors(const Config& config, ProcFs& proc,
                                              ProcessTable& table, const CgroupFs& cgroups,
                                              TimePoint now, TreeFilter* tree) {
  std::vector<ConfigError> errors;
  if (std::none_of(config.rules.begin(), config.rules.end(),
                   [](const RuleSpec& r) { return r.limit.is_percent(); }))
    return errors;
  ScanErrors ignored;
  table.scan(now, needs_of(config), Duration{0}, ignored);
  PidFiles pid_files;
  pid_files.refresh(proc, config);
  if (tree) tree->refresh(table);
  std::vector<pid_t> members;
  for (std::size_t i = 0; i < config.rules.size(); ++i) {
    const RuleSpec& rule = config.rules[i];
    if (!rule.limit.is_percent()) continue;
    RuleMatcher matcher(rule);
    matcher.rebind(rule);
    matcher.select(table, pid_files, members);
    if (tree) tree->apply(members);
    for (pid_t pid : members) {
      const Process& p = *table.find(pid);
      if (p.attrs.cgroups && cgroups.memory_limit(*p.attrs.cgroups)) continue;
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

}  // namespace mg
