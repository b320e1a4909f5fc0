#include "act/victim_probe.h"

#include <poll.h>
#include <unistd.h>

#include "act/pidfd.h"
#include "util/scoped_fd.h"

namespace mg {
namespace {

// A pidfd turns readable once the whole thread group has exited, reaped or
// not; /proc/PID/stat says 'Z' already when only the leader thread has.
bool group_exited(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

}  // namespace

VictimProbe::VictimProbe(std::string procfs_root) : proc_(std::move(procfs_root)) {}

VictimNow VictimProbe::look(const ProcessIdentity& id, Measure measure) {
  using State = VictimNow::State;
  VictimNow now;
  // Opened first, checked after: once /proc shows the victim's start time
  // the pidfd is known to be the victim's, and it alone tells a zombie from
  // a leader thread that exited while the others run. /proc decides whether
  // the victim is still there at all (a pidfd that cannot be opened proves
  // nothing about a --procfs that is not ours).
  ScopedFd pidfd(pidfd::open(id.pid));
  std::lock_guard lock(mu_);
  // Whose process a /proc read was: the victim only while the start time is
  // its own (a later process at the same pid started later).
  auto identity = [&]() -> State {
    auto stat = proc_.read_stat(id.pid);
    if (!stat) return stat.error() == ReadError::kVanished ? State::kExited : State::kUnknown;
    if (stat->start_time != id.start_time) return State::kPidReused;
    if (pidfd.get() >= 0 ? group_exited(pidfd.get()) : stat->state == 'Z') return State::kZombie;
    // A leader that exited while its other threads run shows 'Z' and no
    // memory: alive, but not measurable through its pid.
    return stat->state == 'Z' ? State::kUnknown : State::kAlive;
  };
  now.state = identity();
  if (now.state != State::kAlive) return now;
  std::optional<std::uint64_t> bytes;
  if (measure == Measure::kRss) {
    if (auto rss = proc_.read_rss(id.pid)) bytes = *rss;
  } else if (auto mem = proc_.read_memory(id.pid)) {
    bytes = measure == Measure::kUss ? mem->uss : mem->pss;
  }
  // The figure counts only if the victim still held the pid after the read.
  now.state = identity();
  if (now.state == State::kAlive) now.bytes = bytes;
  return now;
}

}  // namespace mg
