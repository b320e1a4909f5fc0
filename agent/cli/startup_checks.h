#pragma once
// What every way in checks before it starts the check loop.
#include <optional>
#include <vector>

#include "cli/flags.h"
#include "config/config.h"
#include "config/config_loader.h"

namespace mg {

// One line per error and a count, on stderr. Returns kExitUsage.
int print_config_errors(const std::vector<ConfigError>& errors);

// The engine's safety rule: an agent that may act must see its own pid
// namespace in --procfs, or it could not tell itself and its ancestors from
// other processes. The exit code when it does not (the reason printed).
std::optional<int> refuse_foreign_pid_namespace(const Flags& flags, const Config& config);

}  // namespace mg
