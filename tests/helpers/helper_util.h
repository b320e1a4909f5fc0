#pragma once
// What the helpers share: reading their --key=value arguments, touching
// memory so that it is really allocated, and sleeping. Header-only, since
// each helper is one executable of one .cpp (see tests/CMakeLists.txt).
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace mgt::helper {

using Setter = std::function<void(const char*)>;
inline Setter number(long& out) {
  return [&out](const char* v) { out = std::atol(v); };
}
inline Setter number(int& out) {
  return [&out](const char* v) { out = std::atoi(v); };
}
inline Setter text(std::string& out) {
  return [&out](const char* v) { out = v; };
}

// Hands the value of each --key=value in argv to its setter. --marker= is
// only ever there to put the test's token in argv. Anything else ends the
// helper with exit 2, so a test's typo cannot pass unseen.
inline void read_args(int argc, char** argv, const char* helper,
                      std::initializer_list<std::pair<std::string_view, Setter>> flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    bool known = arg.starts_with("--marker=");
    for (const auto& [key, set] : flags) {
      if (!known && arg.starts_with(key)) {
        set(argv[i] + key.size());
        known = true;
      }
    }
    if (!known) {
      std::fprintf(stderr, "%s: unknown argument %s\n", helper, argv[i]);
      std::exit(2);
    }
  }
}

// Private anonymous pages, written so that each one is really allocated. No
// huge pages: the tests reason in 4 KiB pages and exact MiB. Exits 3 when
// the memory cannot be had.
inline void touch_mib(long mib) {
  if (mib <= 0) return;
  const std::size_t size = static_cast<std::size_t>(mib) * 1024 * 1024;
  void* area = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) {
    std::fprintf(stderr, "helper: mmap: %s\n", std::strerror(errno));
    std::exit(3);
  }
  madvise(area, size, MADV_NOHUGEPAGE);
  std::memset(area, 0x5a, size);
}

// A file a helper appends its facts to, for the test to read. Exits 3 when
// it cannot be opened.
inline int open_log(const std::string& path, const char* helper) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "%s: open %s: %s\n", helper, path.c_str(), std::strerror(errno));
    std::exit(3);
  }
  return fd;
}

// Without SA_RESTART: a signal cuts a wait short, so the helper sees it.
inline void on_signals(void (*handler)(int), std::initializer_list<int> signals) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  for (int s : signals) sigaction(s, &sa, nullptr);
}

inline void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

}  // namespace mgt::helper
