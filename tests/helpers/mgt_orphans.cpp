// For the reaping tests of `memoryguard run`: it makes --count orphans and
// checks that its own parent adopted and reaped every one. Each orphan is a
// grandchild whose parent exits at once; it waits until it has been
// reparented, reports "PID NEWPPID" on a pipe, and exits, a zombie until its
// new parent reaps it. Once every report is in (the pipe's EOF: all have
// exited), it waits up to --deadline-ms for them to be reaped, then prints
//   orphans N adopted A zombies Z
// and exits 0 when every orphan went to its parent and none is left a zombie,
// 1 otherwise. --marker only puts the test's token in argv.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "helper_util.h"

namespace {

using mgt::helper::sleep_ms;

long now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// A pid reused since is some other process, not our zombie.
bool is_zombie(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z';
}

}  // namespace

int main(int argc, char** argv) {
  long count = 100, deadline_ms = 20000;
  using mgt::helper::number;
  mgt::helper::read_args(argc, argv, "mgt_orphans",
                         {{"--count=", number(count)}, {"--deadline-ms=", number(deadline_ms)}});
  const pid_t adopter = getppid();
  int reports[2];
  if (pipe(reports) != 0) return 3;
  for (long i = 0; i < count; ++i) {
    const pid_t child = fork();
    if (child < 0) return 3;
    if (child == 0) {
      const pid_t parent = getpid();
      const pid_t grandchild = fork();
      if (grandchild == 0) {
        close(reports[0]);
        for (long waited = 0; getppid() == parent && waited < 10000; ++waited) sleep_ms(1);
        char line[32];
        const int n = std::snprintf(line, sizeof line, "%d %d\n", getpid(), getppid());
        (void)!write(reports[1], line, static_cast<std::size_t>(n));  // < PIPE_BUF: atomic
        _exit(0);
      }
      _exit(grandchild > 0 ? 0 : 3);
    }
    int status = 0;
    waitpid(child, &status, 0);
  }
  close(reports[1]);
  std::string all;
  char buf[4096];
  for (ssize_t n; (n = read(reports[0], buf, sizeof buf)) > 0;) all.append(buf, n);

  std::vector<pid_t> orphans;
  long adopted = 0;
  std::istringstream lines(all);
  for (pid_t pid, ppid; lines >> pid >> ppid;) {
    orphans.push_back(pid);
    if (ppid == adopter) ++adopted;
  }
  long zombies = 0;
  for (const long until = now_ms() + deadline_ms;; sleep_ms(20)) {
    zombies = 0;
    for (pid_t pid : orphans) zombies += is_zombie(pid) ? 1 : 0;
    if (zombies == 0 || now_ms() > until) break;
  }
  std::printf("orphans %zu adopted %ld zombies %ld\n", orphans.size(), adopted, zombies);
  return static_cast<long>(orphans.size()) == count && adopted == count && zombies == 0 ? 0 : 1;
}
