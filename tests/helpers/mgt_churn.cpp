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
// (default 1: all) is a new image: mgt_blip, from the same directory, run as
// `mgt_blip --child TOKEN --child-ms=N`. The others are clone()s of this
// program that share its memory, as vfork children do, yet run beside it: no
// page tables are copied, so each costs a fraction of a fork. Both kinds are
// cheap (mgt_blip is static), for rates of thousands a second on a small
// machine. Every 200 ms it writes the number of children
// started so far to --stats (replaced atomically), so a test can tell the
// rate it achieved. The children carry the marker, so a rule can match them
// (names mgt_churn and mgt_blip) and no other process.
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
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

// The body of a child that shares our memory: raw syscalls only, because it
// also shares our thread pointer, so errno and libc's locks are not its own.
int blip_in_place(void* arg) {
  const long ms = *static_cast<const long*>(arg);
  timespec ts{ms / 1000, (ms % 1000) * 1000000};
  if (ms > 0) syscall(SYS_nanosleep, &ts, nullptr);
  syscall(SYS_exit, 0);
  return 0;
}

// One stack per child in flight, reused once that child is reaped.
class Stacks {
 public:
  static constexpr size_t kSize = 64 * 1024;
  explicit Stacks(long count) : owner_(static_cast<size_t>(count), 0) {
    base_ = static_cast<char*>(mmap(nullptr, kSize * owner_.size(), PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (base_ == MAP_FAILED) die("mmap");
  }
  // The top of a free stack (they grow down), or nullptr when all are taken.
  char* take(size_t* slot) {
    for (size_t i = 0; i < owner_.size(); ++i) {
      if (owner_[i] == 0) {
        *slot = i;
        return base_ + (i + 1) * kSize;
      }
    }
    return nullptr;
  }
  void own(size_t slot, pid_t pid) { owner_[slot] = pid; }
  void release(pid_t pid) {
    for (auto& o : owner_) {
      if (o == pid) o = 0;
    }
  }

 private:
  char* base_ = nullptr;
  std::vector<pid_t> owner_;
};

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

  std::string blip = "/proc/self/exe";
  {
    char self[4096];
    const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) die("readlink /proc/self/exe");
    std::string dir(self, static_cast<size_t>(n));
    blip = dir.substr(0, dir.rfind('/')) + "/mgt_blip";
  }
  std::string name = "mgt_blip";
  std::string child_flag = "--child";
  std::string child_ms_flag = "--child-ms=" + std::to_string(child_ms);
  char* child_argv[] = {name.data(), child_flag.data(), marker.data(), child_ms_flag.data(),
                        nullptr};
  std::fputs("ready\n", stdout);
  std::fflush(stdout);

  Stacks stacks(inflight);
  unsigned long long started = 0;
  long running = 0;
  timespec last{};
  clock_gettime(CLOCK_MONOTONIC, &last);
  for (;;) {
    while (running < inflight) {
      pid_t pid;
      if (started % static_cast<unsigned long long>(exec_every) == 0) {
        // posix_spawn clones with CLONE_VM|CLONE_VFORK: no page tables copied.
        int err = posix_spawn(&pid, blip.c_str(), nullptr, nullptr, child_argv, environ);
        if (err == EAGAIN) break;  // a pid or task limit: wait for some to end
        if (err != 0) {
          errno = err;
          die("posix_spawn");
        }
      } else {
        size_t slot = 0;
        char* stack = stacks.take(&slot);
        if (stack == nullptr) break;
        pid = clone(blip_in_place, stack, CLONE_VM | SIGCHLD, &child_ms);
        if (pid < 0 && errno == EAGAIN) break;
        if (pid < 0) die("clone");
        stacks.own(slot, pid);
      }
      ++running;
      ++started;
    }
    int status = 0;
    pid_t done = waitpid(-1, &status, 0);
    if (done > 0) {
      --running;
      stacks.release(done);
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
