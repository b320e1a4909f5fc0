// A quiet process with its own name, for the `protect` test: it touches
// --mib MiB (default 1), prints "ready" and sleeps. It differs from mgt_hog
// only in its comm, which is what a protect entry matches. --marker only puts
// the test's token in argv.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

int main(int argc, char** argv) {
  long mib = 1;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--mib=")) {
      mib = std::atol(argv[i] + 6);
    } else if (!arg.starts_with("--marker=")) {
      std::fprintf(stderr, "mgt_sleeper: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  const std::size_t size = static_cast<std::size_t>(mib) * 1024 * 1024;
  if (size > 0) {
    void* area = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) {
      std::perror("mgt_sleeper: mmap");
      return 3;
    }
    std::memset(area, 0x5a, size);
  }
  std::fputs("ready\n", stdout);
  std::fflush(stdout);
  for (;;) pause();
}
