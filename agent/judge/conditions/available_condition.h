#pragma once
// `available:`: the host's MemAvailable below a size or a % of MemTotal,
// earlyoom's trigger; the victims are the rule's processes, in its order.
#include <optional>

#include "config/config.h"
#include "judge/conditions/condition.h"
#include "procfs/meminfo.h"

namespace mg {

ConditionState available_condition(const AvailableSpec& spec, const std::optional<MemInfo>& info);

}  // namespace mg
