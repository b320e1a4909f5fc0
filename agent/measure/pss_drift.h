#pragma once
// measure: whether a process's PSS can have moved by more than 1% since its
// last page walk, from what is known without another one. The gauges need a
// walk only then; judging does not ask (a process near its limit is walked as
// the duty budget allows, whatever this says).
//
// PSS is the sum over a process's pages of the page's size over its number of
// mappers. It moves when
//   1. the process's own mappings change: its statm changes with them;
//   2. a process sharing its pages comes, goes or breaks copy-on-write: its
//      pool's mark moves (sharing_pools.h);
//   3. a process far from its pool maps or drops a page it maps (a library):
//      with host-wide sharing that moves each share by about one part in the
//      population per birth or exit.
// The last walk's split bounds how far the sharers can move it: with its own
// pages unchanged, its PSS can rise no higher than its RSS (every sharer
// gone) and fall no lower than its USS (each shared page mapped by ever more
// others). A process with Rss - Pss and Pss - Uss both under 1% of its PSS is
// within 1% whatever the others do, as long as it has no new child (a fork
// shares its private pages too).
//
// A file page that only this process has touched is private to it (clean)
// until any other process touches it: a process with more than 1% of its
// PSS in clean private pages is walked on schedule.
//
// Not seen: a process outside the pool that maps a file this one shares
// with others without coming or going (two unrelated programs mmapping one
// data file); a pool member that breaks copy-on-write sharing without any
// change in its resident pages for a whole stats_frequency; and births and
// exits the agent cannot see (in another PID namespace: a sidecar does not
// see the other pods of its image, which share its libraries' page cache).
// The hard ceiling between walks (kMaxSkippedFor) bounds how long any of
// them can go unseen.
#include <cstdint>

#include "measure/sharing_pools.h"
#include "procfs/proc_fs.h"
#include "util/clock.h"

namespace mg {

// What a walk saw, and what could move its figure since.
struct WalkBasis {
  Statm statm;
  MemoryUsage usage;
  PoolMark pool;
  TimePoint at{};
  bool settled = false;  // the process was older than stats_frequency then
};

// At most this many stats_frequency periods between two walks of a process.
inline constexpr int kMaxSkippedFor = 10;

bool pss_within_one_percent(const WalkBasis& walk, const Statm& statm_now, const PoolMark& pool_now,
                            TimePoint now, Duration stats_frequency);

}  // namespace mg
