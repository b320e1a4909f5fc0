#include "cli/signal_events.h"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace mg {

SignalEvents::SignalEvents(const std::vector<int>& signals) {
  sigemptyset(&set_);
  for (int s : signals) sigaddset(&set_, s);
  pthread_sigmask(SIG_BLOCK, &set_, &original_);
  fd_ = ::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "signalfd");
}

SignalEvents::~SignalEvents() {
  if (fd_ >= 0) ::close(fd_);
}

SignalEvent SignalEvents::next(int timeout_ms) {
  for (;;) {
    signalfd_siginfo info{};
    const ssize_t n = ::read(fd_, &info, sizeof info);
    if (n == static_cast<ssize_t>(sizeof info))
      return {static_cast<int>(info.ssi_signo), info.ssi_code};
    if (n < 0 && errno == EINTR) continue;
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return {};
  }
}

}  // namespace mg
