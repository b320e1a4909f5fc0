#include "cli/signal_forwarder.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "act/pidfd.h"
#include "config/units.h"
#include "util/log.h"

namespace mg {

const std::vector<int>& forwarded_signals() {
  static const std::vector<int> signals{SIGINT,  SIGTERM, SIGHUP,  SIGQUIT,
                                        SIGUSR1, SIGUSR2, SIGWINCH};
  return signals;
}

bool SignalForwarder::forward(const SignalEvent& event) const {
  const std::string name = signal_name(event.signal);
  if (event.code == SI_KERNEL && ::getpgid(pid_) == ::getpgrp()) {
    log::debug("signal not forwarded: CMD got it from the terminal too",
               {{"signal", name}, {"pid", pid_}});
    return false;
  }
  if (pidfd_ >= 0 && pidfd::send_signal(pidfd_, event.signal) == 0) {
    log::debug("signal forwarded", {{"signal", name}, {"pid", pid_}});
    return true;
  }
  if (pidfd_ < 0 || errno != ESRCH) {
    log::warn(
        "cannot forward a signal",
        {{"signal", name}, {"pid", pid_}, {"err", pidfd_ < 0 ? "no pidfd" : std::strerror(errno)}});
  }
  return false;
}

}  // namespace mg
