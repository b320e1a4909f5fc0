#include "judge/conditions/available_condition.h"

#include <cstdio>

#include "config/units.h"

namespace mg {

ConditionState available_condition(const AvailableSpec& spec, const std::optional<MemInfo>& info) {
  ConditionState s{ConditionKind::kAvailable, false, {}};
  if (!info || !info->available) {
    s.text = "MemAvailable unknown (/proc/meminfo could not be read, or has none)";
    return s;
  }
  const std::uint64_t available = *info->available;
  const double share = 100.0 * static_cast<double>(available) / static_cast<double>(info->total);
  char pct[32];
  std::snprintf(pct, sizeof pct, "%.1f%%", share);
  std::uint64_t below = spec.below.bytes;
  std::string threshold = format_bytes(below);
  if (spec.below.is_percent()) {
    below =
        static_cast<std::uint64_t>(static_cast<double>(info->total) * spec.below.percent / 100.0);
    char t[48];
    std::snprintf(t, sizeof t, "%g%% of MemTotal ", spec.below.percent);
    threshold = t + format_bytes(info->total);
  }
  s.holds = available < below;
  s.text = "MemAvailable " + format_bytes(available) + " (" + pct + ")" +
           (s.holds ? " < " : " >= ") + threshold;
  return s;
}

}  // namespace mg
