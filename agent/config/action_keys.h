#pragma once
// The keys of a rule's action: (signal, kill_after, target, cooldown, exec,
// exec_timeout). Private to agent/config.
#include "config/config.h"
#include "config/yaml_reader.h"

namespace mg::config_internal {

void read_action(Reader& r, const Value& at, ActionSpec& action);

}  // namespace mg::config_internal
