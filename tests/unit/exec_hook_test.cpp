#include "act/exec_hook.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace mg {
namespace {

using namespace std::chrono_literals;

class ExecHookTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mg-exec-hook-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string file(const char* name) const { return dir_ + "/" + name; }
  static std::string read_all(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string dir_;
};

TEST_F(ExecHookTest, RunsArgvWithoutAShellAndWithTheExtraEnvironment) {
  const std::string out = file("env");
  ::setenv("MEMORYGUARD_RULE", "inherited", 1);
  HookRun run = run_hook({"/bin/sh", "-c", "env > \"$0\"", out},
                         {{"MEMORYGUARD_RULE", "web"}, {"MEMORYGUARD_PID", "42"}}, 5s);
  ::unsetenv("MEMORYGUARD_RULE");
  EXPECT_TRUE(run.ok()) << run.describe();
  std::string env = read_all(out);
  EXPECT_NE(env.find("MEMORYGUARD_RULE=web\n"), std::string::npos) << env;
  EXPECT_EQ(env.find("MEMORYGUARD_RULE=inherited"), std::string::npos) << env;
  EXPECT_NE(env.find("MEMORYGUARD_PID=42\n"), std::string::npos) << env;
  EXPECT_NE(env.find("PATH="), std::string::npos) << env;  // the agent's own environment
}

TEST_F(ExecHookTest, ArgumentsAreNotInterpretedByAShell) {
  const std::string out = file("args");
  HookRun run =
      run_hook({"/bin/sh", "-c", "printf '%s' \"$1\" > \"$0\"", out, "a b; $(x)"}, {}, 5s);
  EXPECT_TRUE(run.ok()) << run.describe();
  EXPECT_EQ(read_all(out), "a b; $(x)");
}

TEST_F(ExecHookTest, StdinIsDevNull) {
  const std::string out = file("stdin");
  HookRun run = run_hook({"/bin/sh", "-c", "cat > \"$0\"", out}, {}, 5s);
  EXPECT_TRUE(run.ok()) << run.describe();
  EXPECT_EQ(read_all(out), "");
}

TEST_F(ExecHookTest, ExitStatusIsReported) {
  HookRun run = run_hook({"/bin/sh", "-c", "exit 3"}, {}, 5s);
  EXPECT_FALSE(run.ok());
  EXPECT_EQ(run.status, HookRun::Status::kExited);
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_EQ(run.describe(), "exited with status 3");
}

TEST_F(ExecHookTest, MissingProgramFailsToStart) {
  HookRun run = run_hook({"/nonexistent/notify"}, {}, 5s);
  EXPECT_EQ(run.status, HookRun::Status::kSpawnFailed);
  EXPECT_EQ(run.describe(), "failed to start: ENOENT");
}

TEST_F(ExecHookTest, HookPastItsTimeoutIsKilledWithItsProcessGroup) {
  // Subreaper, so that the orphaned background sleep comes back to us to reap.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  const std::string out = file("bg");
  const auto start = std::chrono::steady_clock::now();
  HookRun run = run_hook({"/bin/sh", "-c", "sleep 30 & echo $! > \"$0\"; wait", out}, {}, 300ms);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(run.status, HookRun::Status::kTimedOut);
  EXPECT_EQ(run.describe(), "killed after timeout 300ms");
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 3s);
  pid_t bg = std::atoi(read_all(out).c_str());
  ASSERT_GT(bg, 0);
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(bg, &status, 0);
  } while (r < 0 && errno == EINTR);
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  ASSERT_EQ(r, bg);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST_F(ExecHookTest, AbandonedHookIsKilledAtOnce) {
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(100ms);
    stop = true;
  });
  const auto start = std::chrono::steady_clock::now();
  HookRun run = run_hook({"/bin/sleep", "30"}, {}, 30s, [&] { return stop.load(); });
  stopper.join();
  EXPECT_EQ(run.status, HookRun::Status::kAbandoned);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(ExecHookTest, SignalsBlockedInTheAgentAreNotBlockedInTheHook) {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &set, &old), 0);
  HookRun run = run_hook({"/bin/sh", "-c", "kill -TERM $$; sleep 5"}, {}, 10s);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  EXPECT_EQ(run.status, HookRun::Status::kSignaled) << run.describe();
  EXPECT_EQ(run.term_signal, SIGTERM);
  EXPECT_EQ(run.describe(), "killed by SIGTERM");
}

}  // namespace
}  // namespace mg
