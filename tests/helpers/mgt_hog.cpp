// A memory hog for the integration tests. It touches --mib MiB of private
// anonymous memory, prints "ready", then optionally grows by --grow-mib every
// --every-ms up to --max-mib, and sleeps until it is killed. SIGTERM kills it
// as usual. --marker is never read: it only puts the test's token in the
// command line, so that a rule can match this process and no other.
//
// --comm=HEX renames the process (prctl PR_SET_NAME) to the given bytes, so a
// test can feed the agent a name that is not UTF-8; with --rename-after-ms the
// rename happens that long after "ready", to test that the agent sees a
// process change its name.
//
// --wait-usr1 holds the growth back until the process gets SIGUSR1, so a
// test can move it into a cgroup and have an agent see it there first.
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

namespace {

constexpr std::size_t kMiB = 1024 * 1024;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "mgt_hog: %s: %s\n", what, std::strerror(errno));
  std::exit(3);
}

// Private anonymous pages, written so that each one is really allocated. No
// huge pages: the tests reason in 4 KiB pages and exact MiB.
void touch_mib(long mib) {
  if (mib <= 0) return;
  const std::size_t size = static_cast<std::size_t>(mib) * kMiB;
  void* area = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) die("mmap");
  madvise(area, size, MADV_NOHUGEPAGE);
  std::memset(area, 0x5a, size);
}

void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

void rename_to(const std::string& comm) {
  if (prctl(PR_SET_NAME, comm.c_str(), 0, 0, 0) != 0) die("prctl(PR_SET_NAME)");
}

}  // namespace

int main(int argc, char** argv) {
  long mib = 10, grow_mib = 0, every_ms = 100, max_mib = 0, rename_after_ms = -1;
  std::string comm;
  bool wait_usr1 = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view key) -> const char* {
      return arg.starts_with(key) ? argv[i] + key.size() : nullptr;
    };
    if (auto v = value("--mib=")) {
      mib = std::atol(v);
    } else if (auto v = value("--grow-mib=")) {
      grow_mib = std::atol(v);
    } else if (auto v = value("--every-ms=")) {
      every_ms = std::atol(v);
    } else if (auto v = value("--max-mib=")) {
      max_mib = std::atol(v);
    } else if (auto v = value("--comm=")) {
      comm = unhex(v);
    } else if (auto v = value("--rename-after-ms=")) {
      rename_after_ms = std::atol(v);
    } else if (arg == "--wait-usr1") {
      wait_usr1 = true;
    } else if (!value("--marker=")) {
      std::fprintf(stderr, "mgt_hog: unknown argument %s\n", argv[i]);
      return 2;
    }
  }

  // Blocked before "ready", so a SIGUSR1 sent right after it is not lost.
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  if (wait_usr1) sigprocmask(SIG_BLOCK, &usr1, nullptr);
  if (!comm.empty() && rename_after_ms < 0) rename_to(comm);
  touch_mib(mib);
  std::fputs("ready\n", stdout);
  std::fflush(stdout);
  if (wait_usr1) {
    int sig = 0;
    sigwait(&usr1, &sig);
  }

  if (!comm.empty() && rename_after_ms >= 0) {
    sleep_ms(rename_after_ms);
    rename_to(comm);
  }
  for (long total = mib; grow_mib > 0 && total < max_mib; total += grow_mib) {
    sleep_ms(every_ms);
    touch_mib(grow_mib);
  }
  for (;;) pause();
}
