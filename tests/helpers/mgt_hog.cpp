// A memory hog for the integration tests. It touches --mib MiB of private
// anonymous memory, prints "ready", then optionally grows by --grow-mib every
// --every-ms up to --max-mib, and sleeps until it is killed. SIGTERM kills it
// as usual. --marker is never read: it only puts the test's token in the
// command line, so that a rule can match this process and no other.
//
// --comm=HEX renames the process (prctl PR_SET_NAME) to the given bytes, so a
// test can feed the agent a name that is not UTF-8; with --rename-after-ms the
// rename happens that long after "ready", to test that the agent sees a
// process change its name.
//
// --wait-usr1 holds the growth back until the process gets SIGUSR1, so a
// test can move it into a cgroup and have an agent see it there first.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "helper_util.h"

namespace {

using mgt::helper::sleep_ms;
using mgt::helper::touch_mib;

std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

void rename_to(const std::string& comm) {
  if (prctl(PR_SET_NAME, comm.c_str(), 0, 0, 0) != 0) {
    std::fprintf(stderr, "mgt_hog: prctl(PR_SET_NAME): %s\n", std::strerror(errno));
    std::exit(3);
  }
}

}  // namespace

int main(int argc, char** argv) {
  long mib = 10, grow_mib = 0, every_ms = 100, max_mib = 0, rename_after_ms = -1;
  std::string comm;
  bool wait_usr1 = false;
  using mgt::helper::number;
  mgt::helper::read_args(argc, argv, "mgt_hog",
                         {{"--mib=", number(mib)},
                          {"--grow-mib=", number(grow_mib)},
                          {"--every-ms=", number(every_ms)},
                          {"--max-mib=", number(max_mib)},
                          {"--comm=", [&comm](const char* v) { comm = unhex(v); }},
                          {"--rename-after-ms=", number(rename_after_ms)},
                          {"--wait-usr1", [&wait_usr1](const char*) { wait_usr1 = true; }}});

  // Blocked before "ready", so a SIGUSR1 sent right after it is not lost.
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  if (wait_usr1) sigprocmask(SIG_BLOCK, &usr1, nullptr);
  if (!comm.empty() && rename_after_ms < 0) rename_to(comm);
  touch_mib(mib);
  std::fputs("ready\n", stdout);
  std::fflush(stdout);
  if (wait_usr1) {
    int sig = 0;
    sigwait(&usr1, &sig);
  }

  if (!comm.empty() && rename_after_ms >= 0) {
    sleep_ms(rename_after_ms);
    rename_to(comm);
  }
  for (long total = mib; grow_mib > 0 && total < max_mib; total += grow_mib) {
    sleep_ms(every_ms);
    touch_mib(grow_mib);
  }
  for (;;) pause();
}
