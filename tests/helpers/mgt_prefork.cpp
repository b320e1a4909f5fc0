// A pre-forking server, as gunicorn or PHP-FPM are: a parent that forks
// --workers workers and then only watches them. Each worker touches
// --worker-mib MiB of its own; worker number --leak-worker (0-based; none
// when absent) then grows by --grow-mib every --every-ms up to --max-mib, as
// one leaking request handler would, and so do the --leakers - 1 after it
// (default 1 leaker). Dead workers are not replaced.
//
// --events=PATH gets one line per fact: "parent PID", "worker I PID", then
// "died PID HOW" as each worker is reaped (HOW: "SIGKILL", "exit 0"). The
// parent prints "ready" once every worker has touched its memory. SIGTERM to
// the parent ends the workers with SIGTERM, waits for them and exits 0.
// --marker only puts the test's token in argv.
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::size_t kMiB = 1024 * 1024;
volatile sig_atomic_t g_term = 0;

void on_term(int) {
  g_term = 1;
}

void touch_mib(long mib) {
  if (mib <= 0) return;
  const std::size_t size = static_cast<std::size_t>(mib) * kMiB;
  void* area = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) _exit(3);
  madvise(area, size, MADV_NOHUGEPAGE);
  std::memset(area, 0x5a, size);
}

void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

void event(int fd, const std::string& line) {
  const std::string text = line + "\n";
  (void)!write(fd, text.data(), text.size());
}

}  // namespace

int main(int argc, char** argv) {
  long workers = 4, worker_mib = 10, leak_worker = -1, leakers = 1, grow_mib = 5, every_ms = 100,
       max_mib = 400;
  std::string events_path = "/dev/null";
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view key) -> const char* {
      return arg.starts_with(key) ? argv[i] + key.size() : nullptr;
    };
    if (auto v = value("--workers=")) {
      workers = std::atol(v);
    } else if (auto v = value("--worker-mib=")) {
      worker_mib = std::atol(v);
    } else if (auto v = value("--leak-worker=")) {
      leak_worker = std::atol(v);
    } else if (auto v = value("--leakers=")) {
      leakers = std::atol(v);
    } else if (auto v = value("--grow-mib=")) {
      grow_mib = std::atol(v);
    } else if (auto v = value("--every-ms=")) {
      every_ms = std::atol(v);
    } else if (auto v = value("--max-mib=")) {
      max_mib = std::atol(v);
    } else if (auto v = value("--events=")) {
      events_path = v;
    } else if (!value("--marker=")) {
      std::fprintf(stderr, "mgt_prefork: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  const int events = open(events_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (events < 0) {
    std::perror("mgt_prefork: open --events");
    return 3;
  }
  struct sigaction sa {};
  sa.sa_handler = on_term;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  event(events, "parent " + std::to_string(getpid()));

  // Each worker says it has touched its memory on this pipe.
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return 3;
  std::vector<pid_t> pids;
  for (long i = 0; i < workers; ++i) {
    const pid_t pid = fork();
    if (pid < 0) return 3;
    if (pid == 0) {
      signal(SIGTERM, SIG_DFL);
      close(ready[0]);
      touch_mib(worker_mib);
      (void)!write(ready[1], "r", 1);
      close(ready[1]);
      const bool leaks = leak_worker >= 0 && i >= leak_worker && i < leak_worker + leakers;
      for (long total = worker_mib; leaks && total < max_mib; total += grow_mib) {
        sleep_ms(every_ms);
        touch_mib(grow_mib);
      }
      for (;;) pause();
    }
    pids.push_back(pid);
    event(events, "worker " + std::to_string(i) + " " + std::to_string(pid));
  }
  close(ready[1]);
  char c;
  for (long i = 0; i < workers; ++i) {
    if (read(ready[0], &c, 1) != 1) break;
  }
  close(ready[0]);
  std::fputs("ready\n", stdout);
  std::fflush(stdout);

  bool stopping = false;
  for (std::size_t alive = pids.size(); alive > 0;) {
    if (g_term && !stopping) {
      stopping = true;
      for (pid_t pid : pids) kill(pid, SIGTERM);
    }
    // Polled: a SIGTERM landing just before a blocking wait would be missed.
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid == 0 || (pid < 0 && errno == EINTR)) {
      sleep_ms(10);
      continue;
    }
    if (pid < 0) break;
    --alive;
    const std::string how = WIFSIGNALED(status)
                                ? std::string("SIG") + sigabbrev_np(WTERMSIG(status))
                                : "exit " + std::to_string(WEXITSTATUS(status));
    event(events, "died " + std::to_string(pid) + " " + how);
  }
  // Every worker gone (the leaker killed, the rest still to be stopped):
  // wait for SIGTERM like a master with no workers left.
  while (!g_term) sleep_ms(10);
  return 0;
}
