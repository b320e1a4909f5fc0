// The exec'd child of mgt_churn: a new image that lives --child-ms=N ms and
// exits. It is linked statically and uses nothing from libstdc++, so an exec
// costs no dynamic loading: a third of what re-executing mgt_churn did, which
// is what lets one loop start thousands of exec'd processes a second.
//
//   mgt_blip [--child-ms=N] [anything else, e.g. the test's marker]
#include <time.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  long ms = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--child-ms=", 11) == 0) ms = std::atol(argv[i] + 11);
  }
  timespec left{ms / 1000, (ms % 1000) * 1000000};
  while (ms > 0 && nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
  return 0;
}
