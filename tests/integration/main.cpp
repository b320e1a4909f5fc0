// The integration tests' entry point. Under ctest this binary is pid 1 of a
// private PID namespace, so it must reap every orphan: the reaper starts
// before any test forks.
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>

#include "integration/harness.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // Outside a namespace the orphans of our helpers must still come to us.
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  mgt::start_reaper();
  if (getpid() != 1) {
    std::fprintf(stderr,
                 "note: not pid 1 of a private PID namespace; tests that need it are skipped. "
                 "Run as: unshare --pid --fork --mount-proc %s\n",
                 argv[0]);
  }
  return RUN_ALL_TESTS();
}
