#include "cli/reaper.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <cerrno>

namespace mg {

bool become_subreaper() {
  return ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
}

void Reaper::reap() {
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG | __WALL | __WNOTHREAD);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) return;  // none exited (0), or no child left (ECHILD)
    if (pid == watched_) {
      status_ = status;
    } else {
      ++orphans_;
    }
  }
}

}  // namespace mg
