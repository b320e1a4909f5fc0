// A CMD for `memoryguard run`: it touches --mib MiB, then exits with
// --exit-code after --exit-after-ms (never, without it). It traps every
// signal run forwards and appends each one's name to --signal-log, one a
// line (after a first line "ready"); SIGTERM then ends it with
// --term-exit-code (default 0), as a server that shuts down cleanly does.
// --marker only puts the test's token in argv.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string_view>

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
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view key) -> const char* {
      return arg.starts_with(key) ? argv[i] + key.size() : nullptr;
    };
    if (auto v = value("--mib=")) {
      mib = std::atol(v);
    } else if (auto v = value("--exit-after-ms=")) {
      exit_after_ms = std::atol(v);
    } else if (auto v = value("--exit-code=")) {
      exit_code = std::atoi(v);
    } else if (auto v = value("--term-exit-code=")) {
      term_exit_code = std::atoi(v);
    } else if (auto v = value("--signal-log=")) {
      g_log = open(v, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (g_log < 0) {
        std::perror("mgt_trap: open --signal-log");
        return 3;
      }
    } else if (!value("--marker=")) {
      std::fprintf(stderr, "mgt_trap: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH})
    sigaction(sig, &sa, nullptr);

  const std::size_t size = static_cast<std::size_t>(mib) * 1024 * 1024;
  if (size > 0) {
    void* area = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) {
      std::perror("mgt_trap: mmap");
      return 3;
    }
    madvise(area, size, MADV_NOHUGEPAGE);
    std::memset(area, 0x5a, size);
  }
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
    timespec nap{0, 10 * 1000000L};
    nanosleep(&nap, nullptr);
  }
}
