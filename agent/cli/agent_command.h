#pragma once
// The long-running agent (SPEC §2): rules from --config.file over every
// process --procfs shows, /metrics, reloads, and a clean stop on SIGTERM.
// Also --check-config and --once.
#include "cli/flags.h"

namespace mg {

int run_agent(const Flags& flags);

}  // namespace mg
