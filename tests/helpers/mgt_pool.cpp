// A worker pool driven from outside, for the accuracy of PSS gauges whose
// page walks may be skipped. The parent touches --mib MiB of private memory
// that its --workers workers then share copy-on-write (a preforked server's
// code and heap) and --parent-own-mib MiB that they do not get
// (MADV_DONTFORK), and each worker touches --worker-mib MiB of its own. Own
// memory keeps the libraries a small part of each PSS: their pages are
// shared with processes the agent may not see (another PID namespace), whose
// births and exits move them.
// Commands, one per line on the FIFO --control=PATH:
//   fork         the parent forks one more worker
//   reap         the parent kills its oldest worker and reaps it
//   map I        worker I (0-based, in fork order) maps --file MAP_SHARED and
//                reads every page of it
//   unmap I      worker I unmaps it
//   orphan       the parent exits and leaves its workers to the reaper
// Each command is acknowledged on --events=PATH with "done N" (N counts the
// commands) once it has taken effect, after "worker PID" for a fork. The
// first workers are printed as "child PID", then "ready", once they have
// touched their memory. Workers die with
// SIGTERM/SIGKILL from the test; they do not die with the parent, so that
// `orphan` leaves them alive. --marker only puts the test's token in argv.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <deque>
#include <string>

#include "helper_util.h"

namespace {

using mgt::helper::sleep_ms;
using mgt::helper::touch_mib;

std::string g_file;
char* g_mapped = nullptr;
std::size_t g_mapped_len = 0;
int g_ack = -1;  // the worker's end of the pipe on which it says a command is done

void event(int fd, const std::string& line) {
  const std::string text = line + "\n";
  (void)!write(fd, text.data(), text.size());
}

// In a worker. Async-signal-unsafe calls in a handler are fine here: the
// worker does nothing but pause() between signals.
void on_map(int) {
  const int fd = open(g_file.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
    g_mapped_len = static_cast<std::size_t>(st.st_size);
    void* p = mmap(nullptr, g_mapped_len, PROT_READ, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED) {
      g_mapped = static_cast<char*>(p);
      const volatile char* page = g_mapped;
      for (std::size_t i = 0; i < g_mapped_len; i += 4096) (void)page[i];
    }
  }
  if (fd >= 0) close(fd);
  (void)!write(g_ack, "m", 1);
}

void on_unmap(int) {
  if (g_mapped) munmap(g_mapped, g_mapped_len);
  g_mapped = nullptr;
  (void)!write(g_ack, "u", 1);
}

}  // namespace

int main(int argc, char** argv) {
  long workers = 3, mib = 24, parent_own_mib = 0, worker_mib = 2;
  std::string control, events_path = "/dev/null";
  using mgt::helper::number;
  using mgt::helper::text;
  mgt::helper::read_args(argc, argv, "mgt_pool",
                         {{"--workers=", number(workers)},
                          {"--mib=", number(mib)},
                          {"--parent-own-mib=", number(parent_own_mib)},
                          {"--worker-mib=", number(worker_mib)},
                          {"--file=", text(g_file)},
                          {"--control=", text(control)},
                          {"--events=", text(events_path)}});
  const int events = mgt::helper::open_log(events_path, "mgt_pool");
  touch_mib(mib);
  if (parent_own_mib > 0) {
    const std::size_t size = static_cast<std::size_t>(parent_own_mib) << 20;
    void* own = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (own == MAP_FAILED || madvise(own, size, MADV_DONTFORK) != 0) return 3;
    madvise(own, size, MADV_NOHUGEPAGE);
    std::memset(own, 0x6b, size);
  }
  int acks[2];
  if (pipe2(acks, O_CLOEXEC) != 0) return 3;
  g_ack = acks[1];
  std::deque<pid_t> pool;
  std::deque<pid_t> by_index;  // every worker forked, in order
  char c;
  const auto fork_worker = [&]() -> bool {
    const pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
      signal(SIGUSR1, on_map);
      signal(SIGUSR2, on_unmap);
      touch_mib(worker_mib);
      (void)!write(g_ack, "r", 1);
      for (;;) pause();
    }
    pool.push_back(pid);
    by_index.push_back(pid);
    return read(acks[0], &c, 1) == 1;
  };
  // Signals to a worker are blocked until it has installed its handlers: it
  // says so on the pipe before the first command can reach it.
  for (long i = 0; i < workers; ++i) {
    if (!fork_worker()) return 3;
    std::printf("child %d\n", by_index.back());
  }
  std::puts("ready");
  std::fflush(stdout);

  FILE* in = std::fopen(control.c_str(), "r");
  if (!in) return 3;
  char line[128];
  for (int done = 1; std::fgets(line, sizeof line, in); ++done) {
    const std::string command(line);
    unsigned index = 0;
    if (command.starts_with("fork")) {
      if (!fork_worker()) return 3;
      event(events, "worker " + std::to_string(by_index.back()));
    } else if (command.starts_with("reap") && !pool.empty()) {
      const pid_t pid = pool.front();
      pool.pop_front();
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    } else if (std::sscanf(line, "map %u", &index) == 1 && index < by_index.size()) {
      if (kill(by_index[index], SIGUSR1) == 0 && read(acks[0], &c, 1) != 1) return 3;
    } else if (std::sscanf(line, "unmap %u", &index) == 1 && index < by_index.size()) {
      if (kill(by_index[index], SIGUSR2) == 0 && read(acks[0], &c, 1) != 1) return 3;
    } else if (command.starts_with("orphan")) {
      event(events, "done " + std::to_string(done));
      return 0;
    }
    event(events, "done " + std::to_string(done));
  }
  // The control FIFO closed: the test is over.
  for (pid_t pid : pool) kill(pid, SIGKILL);
  while (wait(nullptr) > 0) {
  }
  return 0;
}
