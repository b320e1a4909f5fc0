// A leak, for the detection-latency trials. It touches --start-mib MiB, waits
// --delay-ms (so that trials start at random phases of the agent's checks),
// then grows by --step-mib every --every-ms, like a leak does, up to
// --max-mib (a hard cap: it cannot grow without bound). After each step it
// reads its own PSS from smaps_rollup; the first time PSS reaches
// --limit-bytes it prints "crossed NS" (CLOCK_MONOTONIC), so that whoever
// waits for its death on a pidfd can tell how long detection took. It then
// keeps growing to the cap and sleeps until killed. --marker only puts the
// benchmark's token in argv; it dies with its parent (PR_SET_PDEATHSIG).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string_view>

namespace {

constexpr std::size_t kMiB = 1024 * 1024;
constexpr long kCapMiB = 2048;

void touch_mib(long mib) {
  if (mib <= 0) return;
  const std::size_t size = static_cast<std::size_t>(mib) * kMiB;
  void* area = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) {
    std::perror("mgb_leaker: mmap");
    std::exit(3);
  }
  madvise(area, size, MADV_NOHUGEPAGE);
  std::memset(area, 0x5a, size);
}

void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

std::uint64_t own_pss() {
  static char buf[8192];
  const int fd = open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* pss = std::strstr(buf, "\nPss:");
  return pss ? std::strtoull(pss + 5, nullptr, 10) * 1024 : 0;
}

std::int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

int main(int argc, char** argv) {
  long start_mib = 16, step_mib = 1, every_ms = 5, max_mib = 512, delay_ms = 0;
  std::uint64_t limit = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view key) -> const char* {
      return arg.starts_with(key) ? argv[i] + key.size() : nullptr;
    };
    if (auto v = value("--start-mib=")) {
      start_mib = std::atol(v);
    } else if (auto v = value("--step-mib=")) {
      step_mib = std::atol(v);
    } else if (auto v = value("--every-ms=")) {
      every_ms = std::atol(v);
    } else if (auto v = value("--max-mib=")) {
      max_mib = std::atol(v);
    } else if (auto v = value("--delay-ms=")) {
      delay_ms = std::atol(v);
    } else if (auto v = value("--limit-bytes=")) {
      limit = std::strtoull(v, nullptr, 10);
    } else if (!value("--marker=")) {
      std::fprintf(stderr, "mgb_leaker: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (limit == 0 || max_mib > kCapMiB || step_mib <= 0) {
    std::fprintf(stderr, "mgb_leaker: need --limit-bytes, --step-mib > 0, --max-mib <= %ld\n",
                 kCapMiB);
    return 2;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);

  touch_mib(start_mib);
  std::puts("ready");
  std::fflush(stdout);
  sleep_ms(delay_ms);
  bool crossed = false;
  for (long total = start_mib; total < max_mib; total += step_mib) {
    touch_mib(step_mib);
    if (!crossed && own_pss() >= limit) {
      crossed = true;
      std::printf("crossed %lld\n", static_cast<long long>(monotonic_ns()));
      std::fflush(stdout);
    }
    sleep_ms(every_ms);
  }
  if (!crossed) {
    std::puts("capped");
    std::fflush(stdout);
  }
  for (;;) pause();
}
