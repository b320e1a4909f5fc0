#pragma once
#include <sys/types.h>

#include <cstdint>
#include <functional>

namespace mg {

// A process is (pid, start time): a reused pid is a different process, so
// nothing cached or decided about the old one can touch the new one.
struct ProcessIdentity {
  pid_t pid = 0;
  std::uint64_t start_time = 0;  // clock ticks after boot, field 22 of stat
  bool operator==(const ProcessIdentity&) const = default;
};

struct ProcessIdentityHash {
  std::size_t operator()(const ProcessIdentity& id) const {
    return std::hash<std::uint64_t>()((static_cast<std::uint64_t>(id.pid) << 40) ^ id.start_time);
  }
};

}  // namespace mg
