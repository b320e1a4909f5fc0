#include "measure/memory_sampler.h"

#include <algorithm>
#include <cmath>

#include "util/pid_spread.h"

namespace mg {

MemorySampler::MemorySampler(ProcFs& proc, const Clock& clock, Duration staleness, double lock_duty)
    : proc_(proc), clock_(clock), staleness_(staleness), duty_(lock_duty) {
  set_staleness(staleness);
}

bool MemorySampler::refresh_rss(const Process& p, ScanErrors& errors) {
  auto [it, inserted] = entries_.try_emplace(p.id.pid);
  Entry& e = it->second;
  const bool new_process = inserted || e.start_time != p.id.start_time;
  if (!inserted && new_process) {
    e = Entry{};  // a reused pid: nothing of the old process carries over
  }
  e.start_time = p.id.start_time;
  auto statm = proc_.read_statm(p.id.pid, e.statm_file);
  if (!statm) {
    errors.count(statm.error());
    entries_.erase(it);
    return false;
  }
  const TimePoint now = clock_.now();
  if (!new_process && *statm != e.statm) {
    pools_.mappings_moved(p, statm->shared != e.statm.shared || statm->text != e.statm.text, now);
  }
  e.statm = *statm;
  const std::uint64_t rss = statm->resident;
  if (e.rss_at != TimePoint{} && now > e.rss_at) {
    const double dt = std::chrono::duration<double>(now - e.rss_at).count();
    const double step = (static_cast<double>(rss) - static_cast<double>(e.fig.rss)) / dt;
    // Exponential smoothing with a time constant, so a check every 10ms and
    // one every second weigh the same span of history; a leak that grows in
    // bursts shows as its average rate.
    const double weight = 1.0 - std::exp(-dt / kGrowthSmoothingSeconds);
    e.fig.growth_per_second += (step - e.fig.growth_per_second) * weight;
  }
  e.rss_at = now;
  e.fig.rss = rss;
  e.fig.fresh = false;
  // Between rollup reads, growth of RSS is the best cheap bound on growth of
  // PSS: a leak shows up in both.
  if (e.fig.have_detail) {
    const std::uint64_t growth = e.fig.rss > e.rss_at_detail ? e.fig.rss - e.rss_at_detail : 0;
    e.fig.pss = std::min(e.exact_pss + growth, e.fig.rss);
    e.fig.uss = std::min(e.exact_uss + growth, e.fig.pss);
  }
  return true;
}

void MemorySampler::refresh_detail(const Process& p, const DetailDemand& demand,
                                   ScanErrors& errors) {
  auto it = entries_.find(p.id.pid);
  if (it == entries_.end() || !demand.wanted) return;
  Entry& e = it->second;
  const TimePoint now = clock_.now();
  // A stale figure is refreshed within the same 1% budget as an optional
  // read: for the gauges alone, a 4 GiB process whose read takes 0.2 s must
  // not pay more than that (its gauge is then up to 20 s old, not 15).
  const bool stale =
      now - e.detail_at >= staleness_ ||
      (staleness_ > Duration::zero() && now - e.walk.at >= staleness_ * kMaxSkippedFor);
  bool read = !e.fig.have_detail || (stale && now >= e.next_optional_read);
  const bool judging = demand.force || e.fig.rss >= demand.threshold;
  if (read && e.fig.have_detail && !judging &&
      pss_within_one_percent(e.walk, e.statm, pools_.mark(p), now, staleness_)) {
    ++stats_.rollup_reads_skipped;
    e.detail_at = now;
    return;
  }
  if (!read && judging &&
      (demand.force || e.fig.pss >= demand.threshold || now >= e.next_optional_read)) {
    // Even a read that judging needs waits out the hard cap: a huge process
    // hovering at its limit must not spend a tenth of its time stalled on us.
    read = now >= e.next_forced_read;
  }
  if (read) read_detail(p, e, errors);
}

void MemorySampler::read_detail(const Process& p, Entry& e, ScanErrors& errors) {
  const bool first = !e.fig.have_detail;
  const TimePoint start = clock_.now();
  auto mem = proc_.read_memory(p.id.pid);
  const TimePoint end = clock_.now();
  if (!mem) {
    errors.count(mem.error());
    return;
  }
  const Duration cost = end - start;
  ++stats_.rollup_reads;
  stats_.rollup_time += cost;
  e.exact_pss = mem->pss;
  e.exact_uss = mem->uss;
  e.rss_at_detail = e.fig.rss;
  // The statm read just before the walk: a change between the two shows at
  // the next read, as a change since this walk.
  e.walk = {e.statm, *mem, pools_.mark(p), end, settled(p, end)};
  // A process's first refresh comes up to half of `staleness` sooner: the
  // processes one check reads for the first time (all of them, at start) are
  // then not all stale again at one later check, which would read every
  // rollup at once (half a second at N=1000, the looks between checks
  // waiting behind it).
  e.detail_at = first ? end - spread_by_pid(p.id.pid, staleness_ / 2) : end;
  e.next_optional_read = end + std::chrono::duration_cast<Duration>(cost * ((1.0 - duty_) / duty_));
  e.next_forced_read =
      end + std::chrono::duration_cast<Duration>(cost * ((1.0 - kForcedDuty) / kForcedDuty));
  e.fig.pss = mem->pss;
  e.fig.uss = mem->uss;
  e.fig.have_detail = true;
  e.fig.fresh = true;
}

bool MemorySampler::settled(const Process& p, TimePoint now) const {
  // By its real age where /proc tells it: when the agent starts on a host of
  // old processes, their walks can be skipped from the second one on.
  if (uptime_) {
    const double ticks = static_cast<double>(proc_.clock_ticks_per_second());
    const double age = *uptime_ + std::chrono::duration<double>(now - uptime_at_).count() -
                       static_cast<double>(p.id.start_time) / ticks;
    return age >= std::chrono::duration<double>(staleness_).count();
  }
  return now - p.first_seen_at >= staleness_;
}

bool MemorySampler::knows(const Process& p) const {
  auto it = entries_.find(p.id.pid);
  // An entry is kept only once its statm was read.
  return it != entries_.end() && it->second.start_time == p.id.start_time;
}

const MemoryFigures* MemorySampler::figures(pid_t pid) const {
  auto it = entries_.find(pid);
  return it == entries_.end() ? nullptr : &it->second.fig;
}

void MemorySampler::follow(const ProcessTable& table) {
  const TimePoint now = clock_.now();
  pools_.observe(table, now);
  uptime_ = table.uptime();
  uptime_at_ = now;
  std::erase_if(entries_, [&](const auto& kv) {
    const Process* p = table.find(kv.first);
    return !p || p->id.start_time != kv.second.start_time;
  });
}

}  // namespace mg
