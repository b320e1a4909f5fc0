// A process that will not go quietly: it touches --mib MiB, then survives
// SIGTERM (and SIGINT, SIGHUP), so only an escalation to SIGKILL ends it. With
// --term-log=PATH it appends, for each SIGTERM, the CLOCK_MONOTONIC time of
// its arrival in nanoseconds, so a test can measure the grace period from the
// first signal to the kill. --marker only puts the test's token in argv.
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

int g_term_log = -1;

// Only async-signal-safe calls: clock_gettime and write.
void on_term(int) {
  if (g_term_log < 0) return;
  const int saved = errno;
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  unsigned long long ns = static_cast<unsigned long long>(now.tv_sec) * 1000000000ULL +
                          static_cast<unsigned long long>(now.tv_nsec);
  char buf[32];
  int pos = sizeof buf;
  buf[--pos] = '\n';
  do {
    buf[--pos] = static_cast<char>('0' + ns % 10);
    ns /= 10;
  } while (ns > 0);
  (void)!write(g_term_log, buf + pos, sizeof buf - pos);
  errno = saved;
}

}  // namespace

int main(int argc, char** argv) {
  long mib = 10;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--mib=")) {
      mib = std::atol(argv[i] + 6);
    } else if (arg.starts_with("--term-log=")) {
      g_term_log = open(argv[i] + 11, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (g_term_log < 0) {
        std::perror("mgt_noterm: open --term-log");
        return 3;
      }
    } else if (!arg.starts_with("--marker=")) {
      std::fprintf(stderr, "mgt_noterm: unknown argument %s\n", argv[i]);
      return 2;
    }
  }

  struct sigaction sa {};
  sa.sa_handler = on_term;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &sa, nullptr);

  const std::size_t size = static_cast<std::size_t>(mib) * 1024 * 1024;
  if (size > 0) {
    void* area = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) {
      std::perror("mgt_noterm: mmap");
      return 3;
    }
    madvise(area, size, MADV_NOHUGEPAGE);
    std::memset(area, 0x5a, size);
  }
  std::fputs("ready\n", stdout);
  std::fflush(stdout);
  for (;;) pause();
}
