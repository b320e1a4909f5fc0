#include "engine/between_checks.h"

namespace mg {

bool BetweenChecks::look(TimePoint now, ProcessTable& table, MemorySampler& sampler,
                         Duration interval, ScanErrors& errors) {
  bool crossed = false;
  schedule_.run_due(now, [&](const FastCheckSchedule::Item& item) -> std::optional<TimePoint> {
    if (crossed) return item.due;  // the full check about to run rebuilds the schedule
    const Process* p = table.find(item.id.pid);
    if (!p || p->id != item.id) return std::nullopt;
    ++done_;
    if (!sampler.refresh_rss(*p, errors)) {
      table.suspect(item.id.pid);
      return std::nullopt;
    }
    if (item.measure != Measure::kRss) {
      // Exactly as a full check asks (see MemorySampler): the rollup is read
      // only once RSS has reached the limit, within the lock duty caps.
      DetailDemand demand;
      demand.wanted = true;
      demand.threshold = item.limit;
      sampler.refresh_detail(*p, demand, errors);
    }
    const MemoryFigures& f = *sampler.figures(item.id.pid);
    if (item.measure != Measure::kRss && !f.have_detail) return std::nullopt;
    const std::uint64_t bytes = f.value(item.measure);
    if (bytes > item.limit) {
      crossed = true;
      return std::nullopt;
    }
    auto period = fast_check_period(bytes, item.limit, f.growth_per_second, interval, policy_);
    if (!period) return std::nullopt;
    return now + *period;
  });
  return crossed;
}

}  // namespace mg
