#include "measure/cgroup_signals.h"

namespace mg {

void CgroupSignals::new_check() {
  memory_.clear();
  pressure_.clear();
}

const std::optional<CgroupMemoryReading>& CgroupSignals::memory(const CgroupRef& memory_cgroup,
                                                                ScanErrors& errors) {
  auto [it, inserted] = memory_.try_emplace(memory_cgroup);
  if (!inserted) return it->second;
  ++reads_;
  auto usage = cgroups_.memory_usage(memory_cgroup);
  if (!usage) {
    errors.count(usage.error());
    return it->second;
  }
  it->second = CgroupMemoryReading{*usage, cgroups_.memory_limit(memory_cgroup)};
  return it->second;
}

const std::optional<Pressure>& CgroupSignals::pressure(const CgroupRef& v2_cgroup,
                                                       ScanErrors& errors) {
  auto [it, inserted] = pressure_.try_emplace(v2_cgroup);
  if (!inserted) return it->second;
  ++reads_;
  auto pressure = cgroups_.memory_pressure(v2_cgroup);
  if (!pressure) {
    errors.count(pressure.error());
    return it->second;
  }
  it->second = *pressure;
  return it->second;
}

}  // namespace mg
