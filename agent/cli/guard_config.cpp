#include "cli/guard_config.h"

namespace mg {

Config guard_config(const GuardFlags& flags, const std::string& rule_name, bool dry_run) {
  Config config;
  config.path = "memoryguard";
  config.interval = flags.interval;
  config.stats_frequency = flags.stats_frequency;
  config.dry_run = dry_run;
  config.measure = flags.measure;
  RuleSpec rule;
  rule.name = rule_name;
  rule.limit = *flags.limit;
  rule.measure = flags.measure;
  // --tree is go-memoryguard's guard over a whole program: the sum of its
  // processes, the largest taken first until the sum is under the limit.
  rule.scope = flags.tree ? Scope::kGroup : Scope::kProcess;
  rule.victim = Victim::kLargest;
  rule.for_duration = flags.for_duration;
  rule.action.signal = flags.signal;
  rule.action.signal_name = flags.signal_name;
  rule.action.kill_after = flags.kill_after;
  rule.dry_run = dry_run;
  config.rules.push_back(std::move(rule));
  return config;
}

std::string guard_rule_name(const std::string& program) {
  const std::size_t slash = program.find_last_of('/');
  std::string name = slash == std::string::npos ? program : program.substr(slash + 1);
  return name.empty() ? "run" : name;
}

}  // namespace mg
