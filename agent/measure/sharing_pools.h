#pragma once
// measure: who a process may share pages with, as far as /proc tells without
// a page walk. A page's PSS share is its size over the number of processes
// that map it, so a process's PSS moves without any change of its own when
// the others that map its pages come, go, or change their mappings. Those are
// almost always its own pool:
//   - its parent, its siblings and its children, which share its
//     copy-on-write pages after a fork (a prefork server's workers);
//   - the processes of the same program (comm), which share its binary, its
//     data files and, when they are busy, break copy-on-write sharing with it.
// Each pool has a generation, moved by a birth, an exit or an exec in it and
// by any change in the statm of one of its programs' processes. A process's
// mark holds the generations of its pools; while the mark is unchanged its
// pages' split with its pool is unchanged.
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
  std::uint64_t siblings = 0;    // generation of the children of its parent
  std::uint64_t children = 0;    // generation of its own children
  std::uint64_t program = 0;     // generation of its comm
  std::uint64_t host_churn = 0;  // births and exits on the host so far
  std::size_t population = 0;    // processes on the host
  bool operator==(const PoolMark&) const = default;
  // Everything but the host's figures, which are bounded, not compared.
  bool same_pool(const PoolMark& o) const {
    return ppid == o.ppid && siblings == o.siblings && children == o.children &&
           program == o.program;
  }
};

class SharingPools {
 public:
  // Takes in the births, exits and execs of the table's latest scan.
  void observe(const ProcessTable& table, TimePoint now);
  // `p`'s statm changed: its mappings moved, so its program's pool did.
  void mappings_moved(const Process& p, TimePoint now);
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
  std::unordered_map<std::string, Generation> programs_;
  std::uint64_t events_ = 0;
  std::uint64_t host_churn_ = 0;
  std::size_t population_ = 0;
  Duration memory_ = std::chrono::minutes(10);
  TimePoint forgot_at_{};
};

}  // namespace mg
