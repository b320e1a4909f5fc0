// One of the population's small sleepers (the bulk of N above 1000): touch
// --kib KiB, report ready on --ready-fd, sleep until killed.
//
//   mgb_sleeper --kib=K --slot=S --ready-fd=FD --parent=PID --marker=TOKEN
//
// It is linked statically (where the toolchain can) and keeps to C, so that
// an exec costs no dynamic loading and the sleeper weighs what it touches
// plus a few pages of its own: ten thousand execs of it take seconds, where
// as many mgb_population members (libstdc++, ld.so) would take minutes. Each
// sleeper is a real exec with its own argv, so a rule's cmdline matcher sees
// the marker and the slot just as it does on any other member (a fork
// without exec would share its parent's argv, and with it its role).
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  long kib = 0, ready_fd = -1, parent = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--kib=", 6) == 0)
      kib = std::atol(argv[i] + 6);
    else if (std::strncmp(argv[i], "--ready-fd=", 11) == 0)
      ready_fd = std::atol(argv[i] + 11);
    else if (std::strncmp(argv[i], "--parent=", 9) == 0)
      parent = std::atol(argv[i] + 9);
  }
  // Dies with the population: its parent cannot set this for it across
  // posix_spawn, and may already have died before the prctl took effect.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (parent != 0 && getppid() != parent) return 0;
  if (kib < 0 || kib > 64 * 1024) return 2;
  if (kib > 0) {
    const std::size_t size = static_cast<std::size_t>(kib) * 1024;
    void* area = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) return 3;
    std::memset(area, 0x5a, size);
  }
  const char ok = 1;
  if (ready_fd < 0 || write(static_cast<int>(ready_fd), &ok, 1) != 1) return 3;
  close(static_cast<int>(ready_fd));
  for (;;) pause();
}
