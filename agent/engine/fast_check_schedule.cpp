#include "engine/fast_check_schedule.h"

#include <algorithm>

namespace mg {

std::optional<Duration> fast_check_period(std::uint64_t bytes, std::uint64_t limit,
                                          double growth_per_second, Duration interval,
                                          const FastCheckPolicy& policy) {
  if (limit == 0 || bytes > limit) return std::nullopt;
  Duration period = interval;
  if (static_cast<double>(bytes) >= policy.near_fraction * static_cast<double>(limit))
    period = std::min(period, interval / std::max(policy.near_looks, 1));
  if (growth_per_second > 0) {
    const double seconds =
        static_cast<double>(limit - bytes) * policy.headroom_share / growth_per_second;
    // Compared in seconds first: a tiny growth rate must not overflow Duration.
    if (seconds < std::chrono::duration<double>(period).count())
      period = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
  }
  period = std::max(period, policy.min_period);
  if (period >= interval) return std::nullopt;
  return period;
}

std::optional<TimePoint> FastCheckSchedule::next_due() const {
  std::optional<TimePoint> next;
  for (const Item& item : items_) {
    if (!next || item.due < *next) next = item.due;
  }
  return next;
}

std::vector<pid_t> FastCheckSchedule::pids() const {
  std::vector<pid_t> out;
  out.reserve(items_.size());
  for (const Item& item : items_) out.push_back(item.id.pid);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace mg
