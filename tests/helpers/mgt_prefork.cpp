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
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "helper_util.h"

namespace {

using mgt::helper::sleep_ms;
using mgt::helper::touch_mib;

volatile sig_atomic_t g_term = 0;

void on_term(int) {
  g_term = 1;
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
  using mgt::helper::number;
  mgt::helper::read_args(argc, argv, "mgt_prefork",
                         {{"--workers=", number(workers)},
                          {"--worker-mib=", number(worker_mib)},
                          {"--leak-worker=", number(leak_worker)},
                          {"--leakers=", number(leakers)},
                          {"--grow-mib=", number(grow_mib)},
                          {"--every-ms=", number(every_ms)},
                          {"--max-mib=", number(max_mib)},
                          {"--events=", mgt::helper::text(events_path)}});
  const int events = mgt::helper::open_log(events_path, "mgt_prefork");
  mgt::helper::on_signals(on_term, {SIGTERM});
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
