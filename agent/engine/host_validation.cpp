#include "engine/host_validation.h"

#include <algorithm>

#include "match/matcher.h"

namespace mg {
namespace {

std::string why(ReadError e) {
  switch (e) {
    case ReadError::kVanished:
      return "no such file";
    case ReadError::kPermission:
      return "permission denied";
    case ReadError::kParse:
      return "not in the kernel's format";
    case ReadError::kIo:
      break;
  }
  return "cannot be read";
}

}  // namespace

std::vector<ConfigError> validate_against_host(const Config& config, ProcFs& proc,
                                               const CgroupFs& cgroups) {
  std::vector<ConfigError> errors;
  const bool no_cgroups = cgroups.layout() == CgroupLayout::kNone;
  std::optional<Expected<Pressure>> host_pressure;
  std::optional<Expected<MemInfo>> meminfo;
  for (std::size_t i = 0; i < config.rules.size(); ++i) {
    const RuleSpec& r = config.rules[i];
    const std::string at = "rules[" + std::to_string(i) + "]";
    if (r.limit.is_percent() && no_cgroups) {
      errors.push_back({config.path, r.limit_mark, at + ".limit",
                        "a limit in % needs the memory limit of a cgroup, but no cgroup "
                        "filesystem was found at " +
                            cgroups.root()});
    }
    if (r.measure == Measure::kWorkingSet && no_cgroups) {
      errors.push_back({config.path, r.limit_mark, at + ".measure",
                        "working_set is a cgroup's figure, but no cgroup filesystem was found at " +
                            cgroups.root()});
    }
    if (r.pressure) {
      if (!host_pressure) host_pressure = proc.read_memory_pressure();
      if (!*host_pressure) {
        errors.push_back({config.path, r.pressure_mark, at + ".pressure",
                          "this kernel gives no memory pressure (PSI): " + proc.root() +
                              "/pressure/memory: " + why(host_pressure->error()) +
                              "; PSI needs CONFIG_PSI=y and no psi=0 on the kernel command line"});
      } else if (r.scope == Scope::kCgroup && !cgroups.has_v2()) {
        errors.push_back({config.path, r.pressure_mark, at + ".pressure",
                          "a scope: cgroup rule reads each cgroup's memory.pressure, which only "
                          "cgroup v2 has, but no v2 hierarchy was found at " +
                              cgroups.root() + " (a rule of another scope reads the host's)"});
      }
    }
    if (r.available) {
      if (!meminfo) meminfo = proc.read_meminfo();
      if (!*meminfo || !(*meminfo)->available) {
        errors.push_back({config.path, r.available_mark, at + ".available",
                          "needs MemAvailable from " + proc.root() +
                              "/meminfo, which this kernel does not give (Linux 3.14 or later "
                              "does)"});
      }
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
      if (p.attrs.cgroups && cgroups.memory_limit(p.attrs.cgroups->memberships)) continue;
      const std::string where =
          p.attrs.primary_cgroup() ? "cgroup " + p.attrs.primary_cgroup()->path : "its cgroup";
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
