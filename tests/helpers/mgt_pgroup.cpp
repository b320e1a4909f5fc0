// A process group leader for the protection tests: it makes its own process
// group, starts each command given (separated by "--") in it, prints
// "child <pid>" for each and "ready", then reaps them as they die and sleeps.
// Started agents are then its children: the group holds the agent and one of
// its ancestors, which no rule may ever signal.
//
//   mgt_pgroup --marker=TOKEN [--stderr=PATH] -- CMD ARGS... [-- CMD ARGS...]
//
// The commands' stdout goes to /dev/null so that only this process's lines
// reach the harness; their stderr goes to --stderr when given.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
  std::string stderr_path;
  std::vector<std::vector<char*>> commands;
  int i = 1;
  for (; i < argc && std::string_view(argv[i]) != "--"; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--stderr=")) {
      stderr_path = argv[i] + 9;
    } else if (!arg.starts_with("--marker=")) {
      std::fprintf(stderr, "mgt_pgroup: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  for (; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") {
      commands.emplace_back();
    } else {
      commands.back().push_back(argv[i]);
    }
  }
  if (setpgid(0, 0) != 0) {
    std::perror("mgt_pgroup: setpgid");
    return 3;
  }
  const int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  const int err_fd = stderr_path.empty() ? -1
                                         : open(stderr_path.c_str(),
                                                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  for (auto& cmd : commands) {
    if (cmd.empty()) continue;
    cmd.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) {
      std::perror("mgt_pgroup: fork");
      return 3;
    }
    if (pid == 0) {
      dup2(null_fd, STDOUT_FILENO);
      if (err_fd >= 0) dup2(err_fd, STDERR_FILENO);
      execv(cmd[0], cmd.data());
      _exit(127);
    }
    std::printf("child %d\n", pid);
  }
  std::fputs("ready\n", stdout);
  std::fflush(stdout);
  for (;;) {
    if (wait(nullptr) < 0 && errno == ECHILD) pause();
  }
}
