#pragma once
// The looks between full checks (see fast_check_schedule.h): each due item
// reads its process's statm, and its smaps_rollup only once RSS has reached
// the limit, exactly as a full check would ask. A look that finds a process
// over its limit says so, and the loop runs a full check at once, so judging
// stays one code path.
#include <cstdint>

#include "discover/process_table.h"
#include "engine/fast_check_schedule.h"
#include "measure/memory_sampler.h"

namespace mg {

class BetweenChecks {
 public:
  FastCheckSchedule& schedule() { return schedule_; }
  const FastCheckSchedule& schedule() const { return schedule_; }
  const FastCheckPolicy& policy() const { return policy_; }
  // Runs the looks due at `now`. Returns true when one found a process over
  // its limit: the rest wait for the full check that follows.
  bool look(TimePoint now, ProcessTable& table, MemorySampler& sampler, Duration interval,
            ScanErrors& errors);
  std::uint64_t done() const { return done_; }

 private:
  FastCheckSchedule schedule_;
  FastCheckPolicy policy_;
  std::uint64_t done_ = 0;
};

}  // namespace mg
