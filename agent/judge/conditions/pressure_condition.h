#pragma once
// `pressure:`: memory PSI at or above every threshold given (some, full),
// over the rule's window. systemd-oomd's ManagedOOMMemoryPressureLimit, with
// victims chosen by the rule rather than by the cgroup's size.
#include <optional>

#include "config/config.h"
#include "judge/conditions/condition.h"
#include "procfs/pressure.h"

namespace mg {

// `where` names the source in the text: "host" or "cgroup".
ConditionState pressure_condition(const PressureSpec& spec, const std::optional<Pressure>& reading,
                                  const char* where);

}  // namespace mg
