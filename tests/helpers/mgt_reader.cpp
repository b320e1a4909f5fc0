// Reads a file through the page cache, for the tests of the conditions that
// page cache must not fool (a working set) or must drive (memory pressure).
// It prints "ready" at once, then waits until /proc/self/cgroup names
// --await-cgroup (the test moves it there after "ready"), so that the cache
// it fills is charged to the test's cgroup. Then it reads --file once and
// sleeps, or with --loop reads it again and again: in a memory cgroup whose
// limit is smaller than the file, every pass evicts what the next one needs,
// and the cgroup stalls on memory (PSI).
//
//   mgt_reader --marker=TOKEN --file=PATH --await-cgroup=NAME [--loop]
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

bool in_cgroup(const std::string& name) {
  std::ifstream in("/proc/self/cgroup");
  std::stringstream text;
  text << in.rdbuf();
  return text.str().find(name) != std::string::npos;
}

void read_once(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "mgt_reader: %s: %s\n", path.c_str(), std::strerror(errno));
    _exit(3);
  }
  std::vector<char> buf(1 << 20);
  while (read(fd, buf.data(), buf.size()) > 0) {
  }
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  std::string file, cgroup;
  bool loop = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--file=")) {
      file = argv[i] + 7;
    } else if (arg.starts_with("--await-cgroup=")) {
      cgroup = argv[i] + 15;
    } else if (arg == "--loop") {
      loop = true;
    } else if (!arg.starts_with("--marker=")) {
      std::fprintf(stderr, "mgt_reader: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (file.empty() || cgroup.empty()) {
    std::fputs("mgt_reader: needs --file and --await-cgroup\n", stderr);
    return 2;
  }
  std::fputs("ready\n", stdout);
  std::fflush(stdout);
  while (!in_cgroup(cgroup)) {
    timespec ts{0, 10 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  do {
    read_once(file);
  } while (loop);
  for (;;) pause();
}
