#pragma once
// measure: how big a process is. RSS from statm is cheap and, since
// USS <= PSS <= RSS, bounds the other two from above. smaps_rollup walks the
// target's page tables under its mmap lock, so it is read only when the answer
// can matter:
//   - the figure is older than the staleness budget (stats_frequency) and the
//     lock duty budget allows another read (a process's first refresh comes
//     up to half that budget sooner, so that refreshes spread over checks), or
//   - the process's RSS has reached a limit it is judged against, and either
//     its estimated PSS (last PSS + RSS growth since) has too, or the lock
//     duty budget allows another read.
// A stale figure is walked again only if its PSS can have moved by more than
// 1% since the last walk (measure/pss_drift.h), and at least every
// kMaxSkippedFor stale periods; the walks left out are counted.
// The duty budget caps the share of a target's wall time the agent may hold
// its lock: after a read that took t, the next optional read waits t/duty
// (1%), and even a read judging needs waits t/10% (the hard cap).
#include <sys/types.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <unordered_map>

#include "config/config.h"
#include "discover/process_table.h"
#include "measure/pss_drift.h"
#include "measure/sharing_pools.h"
#include "procfs/proc_fs.h"
#include "util/clock.h"

namespace mg {

struct MemoryFigures {
  std::uint64_t rss = 0;
  // Exact when read this scan, else last PSS + RSS growth since; 0 and
  // meaningless until have_detail.
  std::uint64_t pss = 0;
  std::uint64_t uss = 0;
  bool have_detail = false;  // pss/uss were read at least once
  bool fresh = false;        // pss/uss were read in the latest scan
  // How fast RSS grows, in bytes per second, smoothed over about a second
  // (negative while it shrinks); 0 until it was read twice. It tells how soon
  // a process may reach its limit (see engine/fast_check_schedule.h).
  double growth_per_second = 0;
  std::uint64_t value(Measure m) const {
    return m == Measure::kRss ? rss : m == Measure::kUss ? uss : pss;
  }
};

// What the rules need of one process in this scan.
struct DetailDemand {
  bool wanted = false;  // some rule measures it by pss or uss
  // Judging can only flip at or above this figure; max() when no rule judges
  // this process on its own (group sums raise `force` instead).
  std::uint64_t threshold = std::numeric_limits<std::uint64_t>::max();
  bool force = false;  // read now whatever the duty budget says
};

struct SamplerStats {
  std::uint64_t rollup_reads = 0;
  // Stale figures not walked again: their PSS cannot have moved by 1%.
  std::uint64_t rollup_reads_skipped = 0;
  Duration rollup_time{0};
};

class MemorySampler {
 public:
  MemorySampler(ProcFs& proc, const Clock& clock, Duration staleness, double lock_duty = 0.01);
  void set_staleness(Duration d) {
    staleness_ = d;
    pools_.set_memory(d * kMaxSkippedFor);
  }

  // Reads statm (through a handle kept open per process, see CachedFile).
  // Returns false when the process could not be measured; its entry is
  // dropped then.
  bool refresh_rss(const Process& p, ScanErrors& errors);
  // Applies the policy above; call after refresh_rss.
  void refresh_detail(const Process& p, const DetailDemand& demand, ScanErrors& errors);
  const MemoryFigures* figures(pid_t pid) const;
  // Whether `p`'s RSS has been read (and it is the same process).
  bool knows(const Process& p) const;
  // Takes in the table's latest scan: drops the processes it no longer has
  // and notes who came and went for the sharing pools.
  void follow(const ProcessTable& table);
  const SamplerStats& stats() const { return stats_; }

 private:
  struct Entry {
    std::uint64_t start_time = 0;
    CachedFile statm_file;
    Statm statm;
    TimePoint rss_at{};
    MemoryFigures fig;
    std::uint64_t exact_pss = 0;
    std::uint64_t exact_uss = 0;
    std::uint64_t rss_at_detail = 0;
    // When the figure was last walked, or found not to need a walk.
    TimePoint detail_at{};
    WalkBasis walk;
    TimePoint next_optional_read{};
    TimePoint next_forced_read{};
  };
  // The hard cap, for reads that judging needs: at most this share of a
  // process's wall time under its mmap lock.
  static constexpr double kForcedDuty = 0.10;
  // Time constant of the smoothing of growth_per_second.
  static constexpr double kGrowthSmoothingSeconds = 1.0;
  void read_detail(const Process& p, Entry& e, ScanErrors& errors);
  // Whether `p` is older than stats_frequency at `now`.
  bool settled(const Process& p, TimePoint now) const;

  ProcFs& proc_;
  const Clock& clock_;
  Duration staleness_;
  double duty_;
  std::unordered_map<pid_t, Entry> entries_;
  SharingPools pools_;
  // The table's uptime and when it was read, for processes' real ages.
  std::optional<double> uptime_;
  TimePoint uptime_at_{};
  SamplerStats stats_;
};

}  // namespace mg
