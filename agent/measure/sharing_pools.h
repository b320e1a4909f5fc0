#pragma once
// measure: who a process may share pages with, as far as /proc tells without
// a page walk. A page's PSS share is its size over the number of processes
// that map it, so a process's PSS moves without any change of its own when
// the others that map its pages come, go, or change their mappings. Those are
// almost always its own pool:
//   - its parent, its siblings and its children, which share its anonymous
//     pages copy-on-write after a fork without exec (a prefork server's
//     workers), and break that sharing as they write: the only sign of it
//     without a walk is their statm moving, which they seldom avoid for long;
//   - the processes of the same program (comm), which share its binary and
//     its files: a birth, an exit, or a change of their file pages (statm's
//     shared or text) moves them.
// Each pool has a generation; a process's mark holds the generations of its
// pools, and while the mark is unchanged its pages' split with its pool is.
//
// Libraries are shared beyond the pool, by most of the host. A birth or exit
// anywhere moves their split by about one part in the host's population, so
// the host's churn is counted too, and pss_drift.h bounds its effect.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <unordered_map>

#include "discover/process_table.h"
#include "procfs/proc_fs.h"
#include "util/clock.h"

namespace mg {

struct PoolMark {
  pid_t ppid = 0;
  // Births, exits, execs and statm changes among its parent's children,
  // and among its own: the processes it may share copy-on-write pages with.
  std::uint64_t siblings = 0;
  std::uint64_t children = 0;
  std::uint64_t forks = 0;       // births among its own children alone
  std::uint64_t program = 0;     // births, exits, execs, file pages moved
  std::uint64_t host_churn = 0;  // births and exits on the host so far
  std::size_t population = 0;    // processes on the host
};

class SharingPools {
 public:
  // Takes in the births, exits and execs of the table's latest scan.
  void observe(const ProcessTable& table, TimePoint now);
  // `p`'s statm changed: its family's copy-on-write sharing may have moved,
  // and with `file_pages` (statm's shared or text moved) its program's.
  void mappings_moved(const Process& p, bool file_pages, TimePoint now);
  PoolMark mark(const Process& p) const;
  // Generations not moved for this long are forgotten; a process's mark that
  // held one then differs, which only costs it a walk. Set it to the longest
  // a mark may be kept (the sampler's ceiling between walks).
  void set_memory(Duration d) { memory_ = d; }

 private:
  struct Generation {
    std::uint64_t value = 0;
    TimePoint moved_at{};
  };
  void move(Generation& g, TimePoint now) { g = {++events_, now}; }
  void change(const ProcessChange& c, TimePoint now);
  void forget_old(TimePoint now);
  static std::uint64_t value_of(const auto& map, const auto& key) {
    auto it = map.find(key);
    return it == map.end() ? 0 : it->second.value;
  }

  std::unordered_map<pid_t, Generation> families_;  // by parent pid
  std::unordered_map<pid_t, Generation> forks_;     // by parent pid
  std::unordered_map<std::string, Generation> programs_;
  std::uint64_t events_ = 0;
  std::uint64_t host_churn_ = 0;
  std::size_t population_ = 0;
  Duration memory_ = std::chrono::minutes(10);
  TimePoint forgot_at_{};
};

}  // namespace mg
