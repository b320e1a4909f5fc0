// A CMD for `memoryguard run`: it touches --mib MiB, then exits with
// --exit-code after --exit-after-ms (never, without it). It traps every
// signal run forwards and appends each one's name to --signal-log, one a
// line (after a first line "ready"); SIGTERM then ends it with
// --term-exit-code (default 0), as a server that shuts down cleanly does.
// --marker only puts the test's token in argv.
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <string>

#include "helper_util.h"

namespace {

int g_log = -1;
volatile sig_atomic_t g_term = 0;

// Only async-signal-safe calls: sigabbrev_np reads a static table, write.
void on_signal(int sig) {
  const int saved = errno;
  if (g_log >= 0) {
    char line[24] = "SIG";
    const char* abbrev = sigabbrev_np(sig);
    std::size_t n = 3;
    for (std::size_t i = 0; abbrev && abbrev[i] && n < sizeof line - 2; ++i) line[n++] = abbrev[i];
    line[n++] = '\n';
    (void)!write(g_log, line, n);
  }
  if (sig == SIGTERM) g_term = 1;
  errno = saved;
}

}  // namespace

int main(int argc, char** argv) {
  long mib = 1, exit_after_ms = -1;
  int exit_code = 0, term_exit_code = 0;
  std::string signal_log;
  using mgt::helper::number;
  mgt::helper::read_args(argc, argv, "mgt_trap",
                         {{"--mib=", number(mib)},
                          {"--exit-after-ms=", number(exit_after_ms)},
                          {"--exit-code=", number(exit_code)},
                          {"--term-exit-code=", number(term_exit_code)},
                          {"--signal-log=", mgt::helper::text(signal_log)}});
  if (!signal_log.empty()) g_log = mgt::helper::open_log(signal_log, "mgt_trap");
  mgt::helper::on_signals(on_signal,
                          {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH});

  mgt::helper::touch_mib(mib);
  if (g_log >= 0) (void)!write(g_log, "ready\n", 6);
  std::fputs("ready\n", stdout);
  std::fflush(stdout);

  // Short sleeps rather than pause(): a SIGTERM that lands between the check
  // and the sleep must not be slept through.
  timespec start{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    if (g_term) return term_exit_code;
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const long elapsed_ms =
        (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (exit_after_ms >= 0 && elapsed_ms >= exit_after_ms) return exit_code;
    mgt::helper::sleep_ms(10);
  }
}
