// Process churn for the agent's discovery: a stream of short-lived processes,
// a crowd of zombies and a pile of threads.
//
//   mgt_churn --marker=TOKEN [--inflight=N] [--child-ms=N] [--exec-every=N]
//             [--zombies=N] [--threads=N] [--stats=PATH]
//
// It starts --threads idle threads (their tids are not pids: /proc lists only
// thread-group leaders, yet /proc/TID/ answers too), and forks a keeper that
// forks --zombies children which exit at once and are never reaped. Then it
// prints "ready" and, until killed, keeps --inflight children running, each
// living --child-ms ms (0: exits at once). One child in --exec-every
// (default 1: all) is this program exec'd again as `mgt_churn --child
// --marker=TOKEN`, a new image; the others are plain forks, several times
// cheaper, for rates of thousands a second on a small machine. Every 200 ms it writes the number of
// children started so far to --stats (replaced atomically), so a test can
// tell the rate it achieved. The children carry the marker, so a rule can
// match them and no other process.
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "mgt_churn: %s: %s\n", what, std::strerror(errno));
  std::exit(3);
}

void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void write_stats(const std::string& path, unsigned long long started) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return;
  std::fprintf(f, "%llu\n", started);
  std::fclose(f);
  std::rename(tmp.c_str(), path.c_str());
}

// Forks `count` children that exit at once and are never waited for. The
// keeper dies with its parent, and its zombies then go to pid 1 to be reaped.
void start_zombie_keeper(long count) {
  if (count <= 0) return;
  pid_t keeper = fork();
  if (keeper < 0) die("fork");
  if (keeper > 0) return;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) _exit(0);
  for (long i = 0; i < count; ++i) {
    pid_t z = fork();
    if (z == 0) _exit(0);
  }
  for (;;) pause();
}

}  // namespace

int main(int argc, char** argv) {
  long inflight = 8;
  long child_ms = 0;
  long zombies = 0;
  long threads = 0;
  long exec_every = 1;
  std::string stats;
  std::string marker;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--child") {
      // Stay a moment, long enough to be listed now and then.
      for (int k = i + 1; k < argc; ++k) {
        if (std::string_view(argv[k]).starts_with("--child-ms="))
          child_ms = std::atol(argv[k] + 11);
      }
      if (child_ms > 0) sleep_ms(child_ms);
      return 0;
    }
    if (arg.starts_with("--marker=")) {
      marker = std::string(arg);
    } else if (arg.starts_with("--inflight=")) {
      inflight = std::atol(argv[i] + 11);
    } else if (arg.starts_with("--child-ms=")) {
      child_ms = std::atol(argv[i] + 11);
    } else if (arg.starts_with("--exec-every=")) {
      exec_every = std::atol(argv[i] + 13);
    } else if (arg.starts_with("--zombies=")) {
      zombies = std::atol(argv[i] + 10);
    } else if (arg.starts_with("--threads=")) {
      threads = std::atol(argv[i] + 10);
    } else if (arg.starts_with("--stats=")) {
      stats = std::string(arg.substr(8));
    } else {
      std::fprintf(stderr, "mgt_churn: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (inflight < 1) inflight = 1;
  if (exec_every < 1) exec_every = 1;

  start_zombie_keeper(zombies);
  for (long i = 0; i < threads; ++i)
    std::thread([] {
      for (;;) pause();
    }).detach();

  std::string child_flag = "--child";
  std::string child_ms_flag = "--child-ms=" + std::to_string(child_ms);
  std::string name = "mgt_churn";
  char* child_argv[] = {name.data(), child_flag.data(), marker.data(), child_ms_flag.data(),
                        nullptr};
  std::fputs("ready\n", stdout);
  std::fflush(stdout);

  unsigned long long started = 0;
  long running = 0;
  timespec last{};
  clock_gettime(CLOCK_MONOTONIC, &last);
  for (;;) {
    while (running < inflight) {
      pid_t pid;
      if (started % static_cast<unsigned long long>(exec_every) == 0) {
        // posix_spawn clones with CLONE_VM|CLONE_VFORK: no page tables copied.
        int err = posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, child_argv, environ);
        if (err == EAGAIN) break;  // a pid or task limit: wait for some to end
        if (err != 0) {
          errno = err;
          die("posix_spawn");
        }
      } else {
        pid = fork();
        if (pid < 0 && errno == EAGAIN) break;
        if (pid < 0) die("fork");
        if (pid == 0) {
          if (child_ms > 0) sleep_ms(child_ms);
          _exit(0);
        }
      }
      ++running;
      ++started;
    }
    int status = 0;
    pid_t done = waitpid(-1, &status, 0);
    if (done > 0) {
      --running;
    } else if (errno == ECHILD) {
      running = 0;
    }
    if (!stats.empty()) {
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC, &now);
      if ((now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000 >= 200) {
        last = now;
        write_stats(stats, started);
      }
    }
  }
}
