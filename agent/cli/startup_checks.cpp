#include "cli/startup_checks.h"

#include <algorithm>
#include <iostream>

#include "cli/exit_codes.h"
#include "engine/privileges.h"

namespace mg {

int print_config_errors(const std::vector<ConfigError>& errors) {
  for (const auto& e : errors) std::cerr << e.to_string() << "\n";
  std::cerr << errors.size() << (errors.size() == 1 ? " error" : " errors") << " in the config\n";
  return kExitUsage;
}

std::optional<int> refuse_foreign_pid_namespace(const Flags& flags, const Config& config) {
  const bool acting = !flags.dry_run && !flags.once && !flags.check_config &&
                      std::any_of(config.rules.begin(), config.rules.end(),
                                  [](const RuleSpec& r) { return !r.dry_run; });
  if (!acting || procfs_is_own_pid_namespace(flags.procfs)) return std::nullopt;
  std::cerr << "memoryguard: --procfs=" << flags.procfs
            << ": does not show the agent's own pid namespace, so it could not tell itself and "
               "its ancestors from other processes, nor signal the right ones. Share the pid "
               "namespace (hostPID, shareProcessNamespace) or run with --dry-run.\n";
  return kExitUsage;
}

}  // namespace mg
