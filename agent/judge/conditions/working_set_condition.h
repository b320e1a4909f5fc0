#pragma once
// `measure: working_set` with `limit`: a cgroup's charge minus its inactive
// file cache (what the kernel OOM-kills on, as the kubelet counts it) over
// the rule's limit, in bytes or a % of the cgroup's effective memory limit
// (the least over it and its ancestors).
#include <cstdint>
#include <optional>

#include "config/config.h"
#include "judge/conditions/condition.h"
#include "measure/cgroup_signals.h"

namespace mg {

struct WorkingSetState {
  ConditionState state;
  std::uint64_t bytes = 0;  // the working set, when read
  std::uint64_t limit = 0;  // the rule's limit resolved for this cgroup; 0 = none
};

WorkingSetState working_set_condition(const LimitSpec& limit,
                                      const std::optional<CgroupMemoryReading>& reading);

}  // namespace mg
