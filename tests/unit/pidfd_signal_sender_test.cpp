// The real PidfdSignalSender, and the Actuator with it, against real child
// processes forked here. Only processes this test created are ever signalled.
#include "act/pidfd_signal_sender.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <thread>

#include "act/actuator.h"
#include "procfs/proc_fs.h"

namespace mg {
namespace {

using namespace std::chrono_literals;

ProcessIdentity identity_of(pid_t pid) {
  ProcFs procfs("/proc");
  auto stat = procfs.read_stat(pid);
  return stat ? ProcessIdentity{pid, stat->start_time} : ProcessIdentity{pid, 0};
}

// A child that waits to be killed. It tells the parent over a pipe once it
// is ready (after ignoring SIGTERM if asked), so no signal arrives early.
// Between fork and _exit it makes only async-signal-safe calls.
pid_t fork_sleeper(bool ignore_sigterm) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    if (ignore_sigterm) ::signal(SIGTERM, SIG_IGN);
    char c = 'r';
    (void)!::write(fds[1], &c, 1);
    for (;;) ::pause();
  }
  ::close(fds[1]);
  char c;
  (void)!::read(fds[0], &c, 1);
  ::close(fds[0]);
  return pid;
}

// The wait status of our child, reaped.
int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

bool alive_unreaped(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == 0;
}

TEST(PidfdSignalSenderTest, SigtermKillsAPlainChild) {
  pid_t child = fork_sleeper(false);
  ASSERT_GT(child, 0);
  PidfdSignalSender sender;
  auto id = identity_of(child);
  ASSERT_NE(id.start_time, 0u);
  EXPECT_EQ(sender.send(id, SIGTERM), SendOutcome::kSent);
  auto took = sender.wait_exit(id, 5s);
  ASSERT_TRUE(took.has_value());
  EXPECT_LT(*took, 2s);
  int status = reap(child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_EQ(sender.open_pidfds(), 0u);  // closed once the exit was seen
}

TEST(PidfdSignalSenderTest, WrongStartTimeIsReusedAndNothingIsSent) {
  pid_t child = fork_sleeper(false);
  ASSERT_GT(child, 0);
  PidfdSignalSender sender;
  auto id = identity_of(child);
  ProcessIdentity reused{child, id.start_time + 1};
  EXPECT_EQ(sender.send(reused, SIGKILL), SendOutcome::kReused);
  // A wait on the wrong identity is over at once: that process is gone.
  auto took = sender.wait_exit(reused, 5s);
  ASSERT_TRUE(took.has_value());
  EXPECT_LT(*took, 1s);
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(alive_unreaped(child));
  ::kill(child, SIGKILL);
  int status = reap(child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST(PidfdSignalSenderTest, WaitTimesOutOnALiveProcessAndReturnsSoonAfterExit) {
  pid_t child = fork_sleeper(true);
  ASSERT_GT(child, 0);
  PidfdSignalSender sender;
  auto id = identity_of(child);
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(sender.wait_exit(id, 200ms).has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);

  std::thread killer([&] {
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(sender.send(id, SIGKILL), SendOutcome::kSent);
  });
  start = std::chrono::steady_clock::now();
  auto took = sender.wait_exit(id, 10s);
  auto waited = std::chrono::steady_clock::now() - start;
  killer.join();
  ASSERT_TRUE(took.has_value());
  EXPECT_GE(waited, 90ms);
  EXPECT_LT(waited, 2s);  // woken by the exit, not by the timeout
  reap(child);
  // Reaped and gone: at once.
  start = std::chrono::steady_clock::now();
  EXPECT_TRUE(sender.wait_exit(id, 10s).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST(PidfdSignalSenderTest, GoneProcessIsGone) {
  pid_t child = fork_sleeper(false);
  ASSERT_GT(child, 0);
  auto id = identity_of(child);
  ::kill(child, SIGKILL);
  reap(child);
  PidfdSignalSender sender;
  EXPECT_EQ(sender.send(id, SIGTERM), SendOutcome::kGone);
}

struct Recorded {
  std::mutex mu;
  std::vector<int> signals;
  std::vector<std::string> failures;
  ActuatorHooks hooks() {
    ActuatorHooks h;
    h.on_signal = [this](const ActionRequest&, int s) {
      std::lock_guard lock(mu);
      signals.push_back(s);
    };
    h.on_failure = [this](const std::string&, const std::string& r) {
      std::lock_guard lock(mu);
      failures.push_back(r);
    };
    return h;
  }
};

bool wait_idle(const Actuator& a, const ProcessIdentity& id, Duration within = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (a.in_flight(id)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

ActionRequest request_for(const ProcessIdentity& id, int signal, const char* name) {
  ActionRequest r;
  r.rule = "real";
  r.victim = id;
  r.name = "sleeper";
  r.spec.signal = signal;
  r.spec.signal_name = name;
  r.spec.kill_after = 300ms;
  return r;
}

// Nothing but our own children can be reached: the check refuses the rest.
ProtectedCheck only_children(std::vector<pid_t> allowed) {
  return
      [allowed](pid_t p) { return std::find(allowed.begin(), allowed.end(), p) == allowed.end(); };
}

TEST(ActuatorRealProcessTest, ChildIgnoringSigtermIsKilledAfterKillAfter) {
  pid_t child = fork_sleeper(true);
  ASSERT_GT(child, 0);
  PidfdSignalSender sender;
  CgroupFs cgroups("/nonexistent-cgroupfs");
  Recorded rec;
  auto id = identity_of(child);
  const auto start = std::chrono::steady_clock::now();
  {
    Actuator a(sender, cgroups, "/proc", only_children({child}), rec.hooks());
    a.submit(request_for(id, SIGTERM, "SIGTERM"));
    ASSERT_TRUE(wait_idle(a, id));
  }
  const auto took = std::chrono::steady_clock::now() - start;
  int status = reap(child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);
  EXPECT_EQ(rec.signals, (std::vector<int>{SIGTERM, SIGKILL}));
  EXPECT_TRUE(rec.failures.empty());
}

TEST(ActuatorRealProcessTest, SigtermAloneWhenTheChildComplies) {
  pid_t child = fork_sleeper(false);
  ASSERT_GT(child, 0);
  PidfdSignalSender sender;
  CgroupFs cgroups("/nonexistent-cgroupfs");
  Recorded rec;
  auto id = identity_of(child);
  {
    Actuator a(sender, cgroups, "/proc", only_children({child}), rec.hooks());
    a.submit(request_for(id, SIGTERM, "SIGTERM"));
    ASSERT_TRUE(wait_idle(a, id));
  }
  int status = reap(child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_EQ(rec.signals, (std::vector<int>{SIGTERM}));
}

// A leader in its own group with two grandchildren; all three die, the test
// process (another group) does not. The test is their subreaper so that it
// reaps the grandchildren too.
TEST(ActuatorRealProcessTest, ProcessGroupTargetKillsEveryMember) {
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t leader = ::fork();
  ASSERT_GE(leader, 0);
  if (leader == 0) {
    ::close(fds[0]);
    ::setpgid(0, 0);
    std::array<pid_t, 2> kids{};
    for (auto& k : kids) {
      k = ::fork();
      if (k == 0) {
        for (;;) ::pause();
      }
    }
    (void)!::write(fds[1], kids.data(), sizeof kids);
    for (;;) ::pause();
  }
  ::close(fds[1]);
  std::array<pid_t, 2> kids{};
  ASSERT_EQ(::read(fds[0], kids.data(), sizeof kids), static_cast<ssize_t>(sizeof kids));
  ::close(fds[0]);
  ASSERT_NE(::getpgrp(), leader);

  PidfdSignalSender sender;
  CgroupFs cgroups("/nonexistent-cgroupfs");
  Recorded rec;
  auto id = identity_of(leader);
  {
    Actuator a(sender, cgroups, "/proc", only_children({leader, kids[0], kids[1]}), rec.hooks());
    auto r = request_for(id, SIGTERM, "SIGTERM");
    r.pgrp = leader;
    r.spec.target = Target::kProcessGroup;
    a.submit(r);
    ASSERT_TRUE(wait_idle(a, id));
  }
  for (pid_t p : {leader, kids[0], kids[1]}) {
    int status = reap(p);
    ASSERT_TRUE(WIFSIGNALED(status)) << p;
    EXPECT_EQ(WTERMSIG(status), SIGTERM) << p;
  }
  EXPECT_EQ(rec.signals, (std::vector<int>{SIGTERM, SIGTERM, SIGTERM}));
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

}  // namespace
}  // namespace mg
