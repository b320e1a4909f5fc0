// Memory shared four ways, to tell PSS from RSS. The parent maps --mib MiB
// (default 120) MAP_SHARED|MAP_ANONYMOUS and writes every page; --children
// children (default 3) then read every page, so each of the four processes
// has an RSS of about 120 MiB and a PSS of about 30 MiB. It prints
// "child <pid>" for each child and then "ready", and everyone sleeps until
// killed. Children that die stay zombies until the parent dies: the test
// binary, pid 1 of its namespace, reaps them then. --marker only puts the
// test's token in argv (the children inherit it). --undumpable makes the
// processes unreadable to an agent without CAP_SYS_PTRACE.
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
  long mib = 120;
  long children = 3;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--mib=")) {
      mib = std::atol(argv[i] + 6);
    } else if (arg.starts_with("--children=")) {
      children = std::atol(argv[i] + 11);
    } else if (arg == "--undumpable") {
      // /proc/PID/smaps_rollup then needs CAP_SYS_PTRACE even for our own
      // user, who may still signal us: memory that can be acted on but not
      // measured. Inherited by the children.
      prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    } else if (!arg.starts_with("--marker=")) {
      std::fprintf(stderr, "mgt_shared: unknown argument %s\n", argv[i]);
      return 2;
    }
  }

  const std::size_t size = static_cast<std::size_t>(mib) * 1024 * 1024;
  const long page = sysconf(_SC_PAGESIZE);
  auto* area = static_cast<volatile char*>(
      mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  if (area == MAP_FAILED) {
    std::perror("mgt_shared: mmap");
    return 3;
  }
  madvise(const_cast<char*>(area), size, MADV_NOHUGEPAGE);
  std::memset(const_cast<char*>(area), 0x5a, size);

  int done[2];
  if (pipe(done) != 0) {
    std::perror("mgt_shared: pipe");
    return 3;
  }
  std::fflush(stdout);
  std::vector<pid_t> pids;
  for (long c = 0; c < children; ++c) {
    const pid_t pid = fork();
    if (pid < 0) {
      std::perror("mgt_shared: fork");
      return 3;
    }
    if (pid == 0) {
      // Reading maps the parent's shmem pages into this process as well.
      unsigned sum = 0;
      for (std::size_t off = 0; off < size; off += static_cast<std::size_t>(page)) sum += area[off];
      const char ok = static_cast<char>(sum | 1);
      (void)!write(done[1], &ok, 1);
      for (;;) pause();
    }
    pids.push_back(pid);
  }
  for (long c = 0; c < children; ++c) {
    char ok;
    if (read(done[0], &ok, 1) != 1) {
      std::perror("mgt_shared: read");
      return 3;
    }
  }
  for (pid_t pid : pids) std::printf("child %d\n", static_cast<int>(pid));
  std::fputs("ready\n", stdout);
  std::fflush(stdout);
  for (;;) pause();
}
