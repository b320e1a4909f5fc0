#include "act/pidfd_signal_sender.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "act/pidfd.h"
#include "util/log.h"

namespace mg {
namespace {

// A pidfd is kept from a send to the wait that follows it. One that is never
// waited for (the action was abandoned) is closed after this long, and no
// more than this many are kept, so a storm of actions cannot exhaust fds.
constexpr Duration kMaxPinAge = std::chrono::minutes(2);
constexpr std::size_t kMaxPinned = 256;

int poll_timeout_ms(Duration d) {
  if (d <= Duration::zero()) return 0;
  // Rounded up: a wait must never end before the time it was given.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
  return static_cast<int>(std::min<decltype(ms)>(ms, 24L * 3600 * 1000));
}

void warn_unsupported_once(int err) {
  static std::atomic<bool> warned{false};
  if (!warned.exchange(true)) {
    mg::log::error("pidfd unavailable, no signal can be sent safely",
                   {{"err", std::strerror(err)}, {"need", "Linux >= 5.3"}});
  }
}

}  // namespace

PidfdSignalSender::Fd::~Fd() {
  if (fd >= 0) ::close(fd);
}

PidfdSignalSender::PidfdSignalSender(std::string procfs_root) : procfs_(std::move(procfs_root)) {}

PidfdSignalSender::~PidfdSignalSender() = default;

std::size_t PidfdSignalSender::open_pidfds() const {
  std::lock_guard lock(mu_);
  return pinned_.size();
}

PidfdSignalSender::Open PidfdSignalSender::open_checked(const ProcessIdentity& id,
                                                        std::shared_ptr<Fd>& out) {
  if (id.pid <= 1 || id.pid == ::getpid()) return Open::kRefused;
  int fd = pidfd::open(id.pid);
  if (fd < 0) {
    int err = errno;
    if (err == ESRCH || err == ENOENT) return Open::kGone;
    if (err == ENOSYS) warn_unsupported_once(err);
    return Open::kError;
  }
  auto holder = std::make_shared<Fd>(fd);
  // The pidfd now pins whatever process holds the pid. Only if /proc still
  // shows the measured start time is that the process that was judged: a
  // reused pid started later.
  Expected<ProcStat> stat = [&] {
    std::lock_guard lock(mu_);
    return procfs_.read_stat(id.pid);
  }();
  if (!stat) {
    return stat.error() == ReadError::kVanished ? Open::kGone : Open::kError;
  }
  if (stat->start_time != id.start_time) return Open::kReused;
  if (stat->is_kernel_thread()) return Open::kRefused;
  out = std::move(holder);
  return Open::kOk;
}

PidfdSignalSender::Open PidfdSignalSender::acquire(const ProcessIdentity& id,
                                                   std::shared_ptr<Fd>& out) {
  {
    std::lock_guard lock(mu_);
    prune_locked(std::chrono::steady_clock::now());
    if (auto it = pinned_.find(id); it != pinned_.end()) {
      out = it->second.fd;
      return Open::kOk;
    }
  }
  Open r = open_checked(id, out);
  if (r != Open::kOk) return r;
  std::lock_guard lock(mu_);
  auto [it, inserted] = pinned_.try_emplace(id, Pinned{out, std::chrono::steady_clock::now()});
  if (!inserted) out = it->second.fd;  // another thread got there first: share its pidfd
  return Open::kOk;
}

void PidfdSignalSender::forget(const ProcessIdentity& id, const std::shared_ptr<Fd>& fd) {
  std::lock_guard lock(mu_);
  if (auto it = pinned_.find(id); it != pinned_.end() && it->second.fd == fd) pinned_.erase(it);
}

void PidfdSignalSender::prune_locked(TimePoint now) {
  std::erase_if(pinned_, [&](const auto& kv) { return now - kv.second.opened > kMaxPinAge; });
  while (pinned_.size() >= kMaxPinned) {
    auto oldest = std::min_element(
        pinned_.begin(), pinned_.end(),
        [](const auto& a, const auto& b) { return a.second.opened < b.second.opened; });
    pinned_.erase(oldest);
  }
}

SendOutcome PidfdSignalSender::send(const ProcessIdentity& id, int signal) {
  std::shared_ptr<Fd> fd;
  switch (acquire(id, fd)) {
    case Open::kOk:
      break;
    case Open::kGone:
      return SendOutcome::kGone;
    case Open::kReused:
      return SendOutcome::kReused;
    case Open::kRefused:
      return SendOutcome::kRefused;
    case Open::kError:
      return SendOutcome::kError;
  }
  // The kernel accepts a signal for a zombie and does nothing with it; that
  // is no kill to count.
  pollfd exited{fd->fd, POLLIN, 0};
  if (::poll(&exited, 1, 0) > 0) {
    forget(id, fd);
    return SendOutcome::kGone;
  }
  if (pidfd::send_signal(fd->fd, signal) == 0) return SendOutcome::kSent;
  int err = errno;
  forget(id, fd);
  switch (err) {
    case ESRCH:
      return SendOutcome::kGone;
    case EPERM:
      return SendOutcome::kPermission;
    default:
      return SendOutcome::kError;
  }
}

std::optional<Duration> PidfdSignalSender::wait_exit(const ProcessIdentity& id, Duration timeout) {
  const TimePoint start = std::chrono::steady_clock::now();
  std::shared_ptr<Fd> fd;
  switch (acquire(id, fd)) {
    case Open::kOk:
      break;
    case Open::kGone:
    case Open::kReused:
      return Duration::zero();
    case Open::kRefused:
    case Open::kError:
      return std::nullopt;
  }
  const TimePoint deadline = start + timeout;
  for (;;) {
    pollfd p{fd->fd, POLLIN, 0};
    int n = ::poll(&p, 1, poll_timeout_ms(deadline - std::chrono::steady_clock::now()));
    if (n > 0) {
      // Readable means the whole thread group has exited (POLLHUP comes with
      // it once reaped); either way the process is done with.
      forget(id, fd);
      return std::chrono::steady_clock::now() - start;
    }
    if (n < 0 && errno != EINTR) {
      forget(id, fd);
      return std::nullopt;
    }
    if (n == 0 && std::chrono::steady_clock::now() >= deadline) return std::nullopt;
  }
}

}  // namespace mg
