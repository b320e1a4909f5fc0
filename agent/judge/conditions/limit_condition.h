#pragma once
// `limit` against a process's figure, or against the sum over a group or a
// cgroup's processes: over when the figure exceeds the limit.
#include <cstdint>

#include "config/config.h"
#include "judge/conditions/condition.h"

namespace mg {

ConditionState limit_condition(Measure measure, std::uint64_t bytes, std::uint64_t limit, bool sum);

}  // namespace mg
