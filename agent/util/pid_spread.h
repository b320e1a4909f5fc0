#pragma once
// Work that would fall on the same check for every process found together
// (all of them, at start) is spread over a span instead, by pid: the same
// pid always lands at the same point, and neighbouring pids far apart.
#include <sys/types.h>

#include <cstdint>

#include "util/clock.h"

namespace mg {

// A point in [0, span), from `pid` (Knuth's multiplicative hash).
inline Duration spread_by_pid(pid_t pid, Duration span) {
  const std::uint64_t slot = (static_cast<std::uint64_t>(pid) * 2654435761u) % 1024u;
  return span * static_cast<std::int64_t>(slot) / 1024;
}

}  // namespace mg
