// Pid reuse made on purpose, between measuring and acting: inside a private
// PID namespace, /proc/sys/kernel/ns_last_pid is set so that an innocent
// process takes the pid of an over-limit victim that has just died. The real
// Actuator with the real pidfd sender must leave the innocent alone and count
// the race as memoryguard_actions_skipped_total{reason="pid_reused"}.
//
// The test binary re-runs itself as pid 1 of a fresh pid namespace
// (unshare --pid --fork --mount-proc), where it is the only process and can
// steer pid allocation without touching anything else on the machine.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "act/pidfd_signal_sender.h"
#include "act/victim_probe.h"
#include "act_test_util.h"
#include "export/metrics.h"

extern char** environ;

namespace mg {
namespace {

using namespace acttest;

constexpr int kTrials = 100;

// Makes the next fork in this pid namespace take `pid`, as far as nothing
// else forks in between (nothing does: this process is the namespace).
bool set_last_pid(pid_t pid) {
  const int fd = ::open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const std::string text = std::to_string(pid);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

pid_t fork_pauser() {
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (;;) ::pause();
  }
  return pid;
}

// One trial: measure a victim, kill and reap it, give its pid to an innocent,
// then act on the victim's identity. Returns a failure message, or "".
std::string trial(Actuator& actuator, Recorded& rec, Target target, int n) {
  Child victim(0);
  if (victim.pid() <= 0) return "cannot fork the victim";
  const ProcessIdentity id = identity_of(victim.pid());
  if (id.start_time == 0) return "cannot read the victim's stat";
  // start_time counts clock ticks (10ms): the innocent must start in a later
  // tick, as any real reuse does (a pid space of 32768 does not wrap in 10ms).
  std::this_thread::sleep_for(15ms);
  ::kill(victim.pid(), SIGKILL);
  victim.reap_now();

  pid_t innocent = -1;
  for (int attempt = 0; attempt < 5 && innocent != id.pid; ++attempt) {
    if (innocent > 0) {
      ::kill(innocent, SIGKILL);
      reap(innocent);
    }
    if (!set_last_pid(id.pid - 1)) return "cannot write /proc/sys/kernel/ns_last_pid";
    innocent = fork_pauser();
  }
  if (innocent != id.pid) {
    return "the innocent got pid " + std::to_string(innocent) + ", not " + std::to_string(id.pid);
  }
  const ProcessIdentity now = identity_of(innocent);
  std::string failure;
  if (now.start_time == id.start_time) failure = "the innocent started in the victim's tick";

  ActionRequest r = judged(id, Measure::kRss, 64u << 20, 1024);
  r.rule = "reuse";
  r.spec.target = target;
  r.pgrp = ::getpgrp();
  const std::size_t skips_before = rec.skipped().size();
  actuator.submit(r);
  if (!wait_idle(actuator, id)) failure = "the action did not finish";
  std::this_thread::sleep_for(1ms);
  if (!alive_unreaped(innocent))
    failure = "the innocent was killed (trial " + std::to_string(n) + ")";
  const auto skips = rec.skipped();
  if (skips.size() != skips_before + 1 || skips.back() != "pid_reused") {
    failure = "the race was not counted as pid_reused (trial " + std::to_string(n) + ")";
  }
  ::kill(innocent, SIGKILL);
  reap(innocent);
  return failure;
}

// Runs only as pid 1 of its own namespace; see the outer test below.
void run_inside() {
  PidfdSignalSender sender;
  CgroupFs cgroups("/nonexistent-cgroupfs");
  VictimProbe probe("/proc");
  Metrics metrics;
  Recorded with_probe, sender_only;
  // A match-everything config protects nobody here: only identity saves the
  // innocent.
  ProtectedCheck nobody = [](pid_t) { return false; };
  auto count = [&metrics](ActuatorHooks h) {
    auto inner = h.on_skip;
    h.on_skip = [inner, &metrics](const ActionRequest& r, const std::string& reason) {
      inner(r, reason);
      metrics.action_skipped(r.rule, reason);
    };
    return h;
  };
  metrics.set_rules({{"reuse", {"SIGKILL"}}});
  Actuator rechecking(sender, cgroups, "/proc", nobody, count(with_probe.hooks(probe_of(probe))));
  // The pidfd sender alone, as if the race fell after the re-check.
  Actuator bare(sender, cgroups, "/proc", nobody, count(sender_only.hooks()));

  const auto start = std::chrono::steady_clock::now();
  int survived = 0;
  for (int n = 0; n < kTrials; ++n) {
    const bool use_probe = n % 2 == 0;
    const Target target = n % 4 < 2 ? Target::kProcess : Target::kProcessGroup;
    const std::string failure =
        trial(use_probe ? rechecking : bare, use_probe ? with_probe : sender_only, target, n);
    ASSERT_EQ(failure, "");
    ++survived;
  }
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(survived, kTrials);
  EXPECT_TRUE(with_probe.sigs().empty());
  EXPECT_TRUE(sender_only.sigs().empty());
  EXPECT_TRUE(with_probe.failed().empty());
  EXPECT_TRUE(sender_only.failed().empty());
  const std::string text = metrics.render();
  std::istringstream lines(text);
  std::string line, counted;
  while (std::getline(lines, line)) {
    if (line.starts_with("memoryguard_actions_skipped_total{") &&
        line.find("reason=\"pid_reused\"") != std::string::npos)
      counted = line;
  }
  EXPECT_TRUE(counted.ends_with(" " + std::to_string(kTrials))) << counted;
  std::printf("pid reuse: %d/%d innocents survived, %d counted as pid_reused, %.2fs\n", survived,
              kTrials, kTrials, took);
}

TEST(ActRacePidReuse, AnInnocentGivenTheVictimsPidIsNeverSignalled) {
  if (::getpid() == 1) {
    run_inside();
    return;
  }
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create a pid namespace";
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(n, 0);
  self[n] = '\0';
  char out_path[] = "/tmp/mg-pid-reuse-XXXXXX";
  const int out = ::mkstemp(out_path);
  ASSERT_GE(out, 0);
  std::vector<std::string> args = {"unshare",        "--pid", "--fork",
                                   "--mount-proc",   self,    "--gtest_filter=ActRacePidReuse.*",
                                   "--gtest_brief=0"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, out, STDERR_FILENO);
  pid_t pid = -1;
  const int err = posix_spawnp(&pid, "unshare", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out);
  if (err != 0) {
    ::unlink(out_path);
    GTEST_SKIP() << "unshare not found";
  }
  const int status = reap(pid);
  std::ifstream in(out_path);
  std::stringstream text;
  text << in.rdbuf();
  ::unlink(out_path);
  if (text.str().find("unshare failed") != std::string::npos ||
      text.str().find("unshare: ") != std::string::npos) {
    GTEST_SKIP() << "cannot create a pid namespace here: " << text.str();
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << text.str();
  EXPECT_NE(text.str().find("[  PASSED  ] 1 test"), std::string::npos) << text.str();
  const auto at = text.str().find("pid reuse: ");
  ASSERT_NE(at, std::string::npos) << text.str();
  std::printf("%s", text.str().substr(at, text.str().find('\n', at) - at + 1).c_str());
}

}  // namespace
}  // namespace mg
