#pragma once
// The condition keys of a rule: `limit` (a size, or a % of the cgroup's
// memory limit), `pressure` (PSI thresholds over a window) and `available`
// (host MemAvailable below a size or a % of MemTotal). Private to
// agent/config.
#include <optional>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace mg::config_internal {

// A size, or a percentage ("80%") of what `percent_of` names in the error.
std::optional<LimitSpec> read_size_or_percent(Reader& r, const Value& v, const char* percent_of);
std::optional<PressureSpec> read_pressure(Reader& r, const Value& at);
std::optional<AvailableSpec> read_available(Reader& r, const Value& at);

}  // namespace mg::config_internal
