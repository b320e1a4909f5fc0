#pragma once
// Between two full checks, a process that may reach its limit before the next
// one is looked at again on its own, sooner the closer it is, like earlyoom
// sleeps less when memory runs low. Only the cheap figure (statm) is read;
// when a process has crossed its limit, the loop runs a full check at once,
// so judging (for:, cooldown, dry-run, metrics) is the same code as always.
//
// A process is looked at again after half the time its observed growth rate
// needs to use up its headroom, so the looks close in geometrically on the
// crossing and the last one lands within `min_period` after it. One above
// `near_fraction` of its limit is looked at `near_looks` times per interval
// even when it does not grow, to catch a sudden start. Anything else waits
// for the next full check, so a host where nothing is near its limit pays
// nothing for this.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "config/config.h"
#include "discover/process_identity.h"
#include "util/clock.h"

namespace mg {

struct FastCheckPolicy {
  Duration min_period = std::chrono::milliseconds(10);
  double near_fraction = 0.9;
  int near_looks = 4;
  // Look again when this share of the headroom may be gone.
  double headroom_share = 0.5;
};

// How long until `bytes`, growing by `growth_per_second`, is worth another
// look against `limit`; nullopt when the next full check (after `interval`)
// is soon enough, or when it is over already (the judge has seen that).
std::optional<Duration> fast_check_period(std::uint64_t bytes, std::uint64_t limit,
                                          double growth_per_second, Duration interval,
                                          const FastCheckPolicy& policy = {});

// The processes to look at between full checks, each for one rule. A flat
// vector: it holds the few processes near a limit, and keeps its capacity
// across checks.
class FastCheckSchedule {
 public:
  struct Item {
    ProcessIdentity id;
    std::size_t rule = 0;  // index into the rules of the check that built it
    std::uint64_t limit = 0;
    Measure measure = Measure::kPss;
    TimePoint due{};
  };

  void clear() { items_.clear(); }
  void add(const Item& item) { items_.push_back(item); }
  std::size_t size() const { return items_.size(); }
  // The processes watched, sorted.
  std::vector<pid_t> pids() const;
  std::optional<TimePoint> next_due() const;

  // Calls `look(item)` for every item due at `now`; it returns the next due
  // time, or nullopt to drop the item.
  template <typename F>
  void run_due(TimePoint now, F&& look) {
    for (std::size_t i = 0; i < items_.size();) {
      if (items_[i].due > now) {
        ++i;
        continue;
      }
      if (std::optional<TimePoint> next = look(items_[i])) {
        items_[i].due = *next;
        ++i;
      } else {
        items_[i] = items_.back();
        items_.pop_back();
      }
    }
  }

 private:
  std::vector<Item> items_;
};

}  // namespace mg
