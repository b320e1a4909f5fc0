#include "measure/sharing_pools.h"

namespace mg {

void SharingPools::change(const ProcessChange& c, TimePoint now) {
  move(families_[c.ppid], now);  // its parent and siblings
  move(families_[c.pid], now);   // its children: their parent came or went
  move(programs_[c.comm], now);
}

void SharingPools::observe(const ProcessTable& table, TimePoint now) {
  const ScanChanges& changes = table.changes();
  for (const auto& c : changes.born) {
    change(c, now);
    move(forks_[c.ppid], now);
  }
  for (const auto& c : changes.gone) change(c, now);
  for (const auto& c : changes.renamed) {
    change(c, now);
    // The program it became gains a member.
    if (const Process* p = table.find(c.pid)) move(programs_[p->stat.comm], now);
  }
  host_churn_ += changes.born.size() + changes.gone.size();
  population_ = table.processes().size();
  forget_old(now);
}

void SharingPools::mappings_moved(const Process& p, bool file_pages, TimePoint now) {
  move(families_[p.stat.ppid], now);
  move(families_[p.id.pid], now);
  if (file_pages) move(programs_[p.stat.comm], now);
}

PoolMark SharingPools::mark(const Process& p) const {
  return {p.stat.ppid,
          value_of(families_, p.stat.ppid),
          value_of(families_, p.id.pid),
          value_of(forks_, p.id.pid),
          value_of(programs_, p.stat.comm),
          host_churn_,
          population_};
}

void SharingPools::forget_old(TimePoint now) {
  // A generation is forgotten only once no mark can still hold it unwalked:
  // a mark that held 0 before it moved must not see 0 again while it counts.
  if (now - forgot_at_ < memory_) return;
  forgot_at_ = now;
  const auto old = [&](const auto& kv) { return now - kv.second.moved_at > memory_; };
  std::erase_if(families_, old);
  std::erase_if(forks_, old);
  std::erase_if(programs_, old);
}

}  // namespace mg
