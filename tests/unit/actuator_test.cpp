// The Actuator against a recording SignalSender: what is sent, in which
// order, what is counted and logged, without anything dying.
#include "act/actuator.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "fixture_tree.h"

namespace mg {
namespace {

using namespace std::chrono_literals;

// Records every send; answers from a script. A process "exits" once it has
// received a signal listed in exit_after, taking that long.
class RecordingSender final : public SignalSender {
 public:
  struct Sent {
    ProcessIdentity id;
    int signal;
  };

  SendOutcome send(const ProcessIdentity& id, int signal) override {
    std::lock_guard lock(mu_);
    sent_.push_back({id, signal});
    auto it = outcomes_.find({id.pid, signal});
    return it == outcomes_.end() ? SendOutcome::kSent : it->second;
  }

  std::optional<Duration> wait_exit(const ProcessIdentity& id, Duration timeout) override {
    {
      std::lock_guard lock(mu_);
      ++waits_;
      if (exited_.contains(id.pid)) return Duration::zero();
      for (const auto& s : sent_) {
        if (!(s.id == id)) continue;
        auto pit = exit_after_.find(id.pid);
        if (pit == exit_after_.end()) continue;
        if (auto sit = pit->second.find(s.signal); sit != pit->second.end()) return sit->second;
      }
    }
    // Like a real process that does not die: the time passes.
    if (block_while_alive_) std::this_thread::sleep_for(timeout);
    return std::nullopt;
  }

  void script(pid_t pid, int signal, SendOutcome o) {
    std::lock_guard lock(mu_);
    outcomes_[{pid, signal}] = o;
  }
  void exits_after(pid_t pid, int signal, Duration d) {
    std::lock_guard lock(mu_);
    exit_after_[pid][signal] = d;
  }
  void already_exited(pid_t pid) {
    std::lock_guard lock(mu_);
    exited_.insert(pid);
  }
  void block_while_alive() { block_while_alive_ = true; }
  std::vector<Sent> sent() const {
    std::lock_guard lock(mu_);
    return sent_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Sent> sent_;
  std::map<std::pair<pid_t, int>, SendOutcome> outcomes_;
  std::map<pid_t, std::map<int, Duration>> exit_after_;
  std::set<pid_t> exited_;
  int waits_ = 0;
  std::atomic<bool> block_while_alive_{false};
};

// What the hooks saw.
struct Counts {
  std::mutex mu;
  std::vector<std::pair<std::string, int>> signals;
  std::vector<std::pair<std::string, std::string>> failures;
  std::vector<std::pair<std::string, std::string>> skipped;

  ActuatorHooks hooks() {
    ActuatorHooks h;
    h.on_signal = [this](const ActionRequest& r, int sig) {
      std::lock_guard lock(mu);
      signals.emplace_back(r.rule, sig);
    };
    h.on_failure = [this](const std::string& rule, const std::string& reason) {
      std::lock_guard lock(mu);
      failures.emplace_back(rule, reason);
    };
    h.on_skip = [this](const ActionRequest& r, const std::string& reason) {
      std::lock_guard lock(mu);
      skipped.emplace_back(r.rule, reason);
    };
    return h;
  }
  std::vector<std::pair<std::string, std::string>> skips() {
    std::lock_guard lock(mu);
    return skipped;
  }
  std::vector<std::pair<std::string, int>> sigs() {
    std::lock_guard lock(mu);
    return signals;
  }
  std::vector<std::pair<std::string, std::string>> fails() {
    std::lock_guard lock(mu);
    return failures;
  }
};

// The log goes to stdout until log::setup, to stderr after: take both.
class LogCapture {
 public:
  LogCapture() {
    testing::internal::CaptureStdout();
    testing::internal::CaptureStderr();
  }
  std::string take() {
    std::fflush(nullptr);
    std::string out = testing::internal::GetCapturedStdout();
    return out + testing::internal::GetCapturedStderr();
  }
};

int count_of(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (auto p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) {
    ++n;
  }
  return n;
}

// pids far from the test's own; nothing here is ever really signalled.
constexpr pid_t kVictim = 424242;

ActionRequest request(int signal, const char* signal_name, Duration kill_after = 10s) {
  ActionRequest r;
  r.rule = "web";
  r.victim = {kVictim, 777};
  r.name = "gunicorn";
  r.bytes = 600 << 20;
  r.limit = 512 << 20;
  r.spec.signal = signal;
  r.spec.signal_name = signal_name;
  r.spec.kill_after = kill_after;
  return r;
}

bool wait_idle(const Actuator& a, const ProcessIdentity& id, Duration within = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (a.in_flight(id)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

std::string stat_line(pid_t pid, pid_t pgrp, std::uint64_t start) {
  std::ostringstream s;
  s << pid << " (w" << pid << ") S 1 " << pgrp << " " << pgrp
    << " 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 " << start
    << " 1000 10 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
  return s.str();
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ActuatorTest : public testing::Test {
 protected:
  RecordingSender sender;
  Counts counts;
  CgroupFs cgroups{"/nonexistent-cgroupfs"};
  std::set<pid_t> protected_pids;
  ProtectedCheck is_protected = [this](pid_t p) { return protected_pids.contains(p); };
};

TEST_F(ActuatorTest, EscalatesToSigkillWhenStillAliveAfterKillAfter) {
  sender.exits_after(kVictim, SIGKILL, 30ms);
  LogCapture log;
  {
    Actuator a(sender, cgroups, "/proc", is_protected, counts.hooks());
    auto r = request(SIGTERM, "SIGTERM");
    a.submit(r);
    ASSERT_TRUE(wait_idle(a, r.victim));
  }
  std::string out = log.take();
  auto sent = sender.sent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].signal, SIGTERM);
  EXPECT_EQ(sent[1].signal, SIGKILL);
  EXPECT_EQ(sent[1].id, (ProcessIdentity{kVictim, 777}));
  EXPECT_EQ(counts.sigs(),
            (std::vector<std::pair<std::string, int>>{{"web", SIGTERM}, {"web", SIGKILL}}));
  EXPECT_TRUE(counts.fails().empty());
  EXPECT_EQ(count_of(out, "msg=action"), 1) << out;
  EXPECT_NE(out.find("outcome=\"escalated to SIGKILL, exited after 30ms\""), std::string::npos)
      << out;
  EXPECT_NE(out.find("signal=SIGTERM"), std::string::npos) << out;
  EXPECT_NE(out.find("rule=web pid=424242 name=gunicorn"), std::string::npos) << out;
}

TEST_F(ActuatorTest, NoEscalationWhenTheProcessExits) {
  sender.exits_after(kVictim, SIGTERM, 120ms);
  LogCapture log;
  {
    Actuator a(sender, cgroups, "/proc", is_protected, counts.hooks());
    auto r = request(SIGTERM, "SIGTERM");
    a.submit(r);
    ASSERT_TRUE(wait_idle(a, r.victim));
  }
  std::string out = log.take();
  auto sent = sender.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].signal, SIGTERM);
  EXPECT_EQ(counts.sigs().size(), 1u);
  EXPECT_NE(out.find("outcome=\"exited after 120ms\""), std::string::npos) << out;
}

TEST_F(ActuatorTest, SigkillIsNotEscalatedAndReportsTheExit) {
  sender.exits_after(kVictim, SIGKILL, 7ms);
  LogCapture log;
  {
    Actuator a(sender, cgroups, "/proc", is_protected, counts.hooks());
    auto r = request(SIGKILL, "SIGKILL");
    a.submit(r);
    ASSERT_TRUE(wait_idle(a, r.victim));
  }
  std::string out = log.take();
  EXPECT_EQ(sender.sent().size(), 1u);
  EXPECT_NE(out.find("outcome=\"exited after 7ms\""), std::string::npos) << out;
}

TEST_F(ActuatorTest, ProtectedProcessIsNeverSignalled) {
  protected_pids.insert(kVictim);
  LogCapture log;
  {
    Actuator a(sender, cgroups, "/proc", is_protected, counts.hooks());
    auto r = request(SIGKILL, "SIGKILL");
    a.submit(r);
    ASSERT_TRUE(wait_idle(a, r.victim));
  }
  std::string out = log.take();
  EXPECT_TRUE(sender.sent().empty());
  EXPECT_TRUE(counts.sigs().empty());
  EXPECT_EQ(counts.fails(),
            (std::vector<std::pair<std::string, std::string>>{{"web", "protected"}}));
  EXPECT_NE(out.find("level=warn msg=action"), std::string::npos) << out;
}

TEST_F(ActuatorTest, AgentItselfAndPidOneAreNeverSignalledWhateverTheCheckSays) {
  {
    Actuator a(
        sender, cgroups, "/proc", [](pid_t) { return false; }, counts.hooks());
    auto self = request(SIGKILL, "SIGKILL");
    self.victim = {::getpid(), 1};
    auto init = request(SIGKILL, "SIGKILL");
    init.victim = {1, 1};
    LogCapture log;
    a.submit(self);
    a.submit(init);
    ASSERT_TRUE(wait_idle(a, self.victim));
    ASSERT_TRUE(wait_idle(a, init.victim));
    log.take();
  }
  EXPECT_TRUE(sender.sent().empty());
  EXPECT_EQ(counts.fails().size(), 2u);
}

TEST_F(ActuatorTest, PermissionDeniedIsCountedOnceAndNotRetried) {
  sender.script(kVictim, SIGTERM, SendOutcome::kPermission);
  LogCapture log;
  {
    Actuator a(sender, cgroups, "/proc", is_protected, counts.hooks());
    auto r = request(SIGTERM, "SIGTERM");
    a.submit(r);
    ASSERT_TRUE(wait_idle(a, r.victim));
  }
  std::string out = log.take();
  EXPECT_EQ(sender.sent().size(), 1u);
  EXPECT_TRUE(counts.sigs().empty());
  EXPECT_EQ(counts.fails(),
            (std::vector<std::pair<std::string, std::string>>{{"web", "permission"}}));
  EXPECT_NE(out.find("level=warn msg=action"), std::string::npos) << out;
  EXPECT_NE(out.find("outcome=\"failed: EPERM\""), std::string::npos) << out;
}

TEST_F(ActuatorTest, GoneBeforeSignalIsASkipLoggedAtInfo) {
  sender.script(kVictim, SIGTERM, SendOutcome::kGone);
  LogCapture log;
  {
    Actuator a(sender, cgroups, "/proc", is_protected, counts.hooks());
    auto r = request(SIGTERM, "SIGTERM");
    a.submit(r);
    ASSERT_TRUE(wait_idle(a, r.victim));
  }
  std::string out = log.take();
  EXPECT_TRUE(counts.fails().empty());  // its exit was the point, not a failure
  EXPECT_EQ(counts.skips(), (std::vector<std::pair<std::string, std::string>>{{"web", "exited"}}));
  EXPECT_NE(out.find("level=info msg=action"), std::string::npos) << out;
  EXPECT_NE(out.find("outcome=\"skipped: exited before signal\""), std::string::npos) << out;
}

TEST_F(ActuatorTest, DryRunSendsNothingAndCountsNothing) {
  LogCapture log;
  {
    Actuator a(sender, cgroups, "/proc", is_protected, counts.hooks());
    auto r = request(SIGTERM, "SIGTERM");
    r.dry_run = true;
    r.spec.exec = {"/bin/false"};
    a.submit(r);
    ASSERT_TRUE(wait_idle(a, r.victim));
  }
  std::string out = log.take();
  EXPECT_TRUE(sender.sent().empty());
  EXPECT_TRUE(counts.sigs().empty());
  EXPECT_TRUE(counts.fails().empty());
  EXPECT_NE(out.find("dry_run=true outcome=\"dry-run: would send SIGTERM\""), std::string::npos)
      << out;
  EXPECT_EQ(out.find("msg=hook"), std::string::npos) << out;
}

TEST_F(ActuatorTest, ShutdownAbandonsAnEscalationUnderWayWithALogLine) {
  sender.block_while_alive();
  LogCapture log;
  Actuator a(sender, cgroups, "/proc", is_protected, counts.hooks());
  auto r = request(SIGTERM, "SIGTERM", 10s);
  a.submit(r);
  EXPECT_TRUE(a.in_flight(r.victim));
  EXPECT_EQ(a.in_flight_for_rule("web"), 1u);
  EXPECT_EQ(a.in_flight_for_rule("other"), 0u);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (sender.sent().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(2ms);
  }
  const auto start = std::chrono::steady_clock::now();
  a.shutdown(50ms);
  const auto took = std::chrono::steady_clock::now() - start;
  std::string out = log.take();
  EXPECT_LT(took, 2s);
  ASSERT_EQ(sender.sent().size(), 1u);
  EXPECT_EQ(sender.sent()[0].signal, SIGTERM);
  EXPECT_FALSE(a.in_flight(r.victim));
  EXPECT_EQ(a.in_flight_for_rule("web"), 0u);
  EXPECT_EQ(count_of(out, "msg=action"), 1) << out;
  EXPECT_NE(out.find("outcome=\"abandoned at shutdown: SIGKILL not sent\""), std::string::npos)
      << out;
  EXPECT_TRUE(counts.fails().empty());
}

TEST_F(ActuatorTest, ShutdownWaitsForWhatFinishesWithinTheGrace) {
  sender.exits_after(kVictim, SIGTERM, 5ms);
  LogCapture log;
  Actuator a(sender, cgroups, "/proc", is_protected, counts.hooks());
  auto r = request(SIGTERM, "SIGTERM");
  a.submit(r);
  a.shutdown(5s);
  std::string out = log.take();
  EXPECT_NE(out.find("outcome=\"exited after 5ms\""), std::string::npos) << out;
  // After shutdown nothing more is taken on.
  LogCapture later;
  a.submit(request(SIGKILL, "SIGKILL"));
  out = later.take();
  EXPECT_EQ(sender.sent().size(), 1u);
  EXPECT_NE(out.find("abandoned at shutdown: nothing sent"), std::string::npos) << out;
}

TEST_F(ActuatorTest, SeveralActionsRunAtOnce) {
  sender.block_while_alive();
  Actuator a(sender, cgroups, "/proc", is_protected, counts.hooks());
  LogCapture log;
  const auto start = std::chrono::steady_clock::now();
  for (pid_t p = 0; p < 4; ++p) {
    auto r = request(SIGTERM, "SIGTERM", 500ms);
    r.victim = {kVictim + p, 1};
    sender.exits_after(kVictim + p, SIGKILL, 1ms);
    a.submit(r);
  }
  EXPECT_EQ(a.in_flight_for_rule("web"), 4u);
  for (pid_t p = 0; p < 4; ++p) ASSERT_TRUE(wait_idle(a, {kVictim + p, 1}));
  const auto took = std::chrono::steady_clock::now() - start;
  std::string out = log.take();
  // Four 500ms escalations one after the other would take 2s.
  EXPECT_LT(took, 1500ms);
  EXPECT_EQ(count_of(out, "escalated to SIGKILL"), 4) << out;
}

// A process group is signalled member by member, never with kill(-pgrp), and
// a protected member is spared.
TEST_F(ActuatorTest, ProcessGroupSignalsEachUnprotectedMember) {
  testutil::FixtureTree proc({
      {"5000/stat", stat_line(5000, 5000, 11)},
      {"5001/stat", stat_line(5001, 5000, 12)},
      {"5002/stat", stat_line(5002, 5000, 13)},
      {"5003/stat", stat_line(5003, 6000, 14)},
  });
  protected_pids.insert(5002);
  for (pid_t p : {5000, 5001}) sender.exits_after(p, SIGTERM, 1ms);
  LogCapture log;
  {
    Actuator a(sender, cgroups, proc.root(), is_protected, counts.hooks());
    auto r = request(SIGTERM, "SIGTERM");
    r.victim = {5000, 11};
    r.pgrp = 5000;
    r.spec.target = Target::kProcessGroup;
    a.submit(r);
    ASSERT_TRUE(wait_idle(a, r.victim));
  }
  std::string out = log.take();
  std::set<std::pair<pid_t, std::uint64_t>> got;
  for (const auto& s : sender.sent()) {
    EXPECT_EQ(s.signal, SIGTERM);
    got.insert({s.id.pid, s.id.start_time});
  }
  EXPECT_EQ(got, (std::set<std::pair<pid_t, std::uint64_t>>{{5000, 11}, {5001, 12}}));
  EXPECT_NE(out.find("target=process_group pgrp=5000"), std::string::npos) << out;
  EXPECT_NE(out.find("2 processes: exited after"), std::string::npos) << out;
  EXPECT_NE(out.find("1 protected spared"), std::string::npos) << out;
}

class ActuatorCgroupTest : public ActuatorTest {
 protected:
  // The agent (this test) sits in a cgroup of its own, outside /app.
  testutil::FixtureTree proc{{
      {"7001/stat", stat_line(7001, 7001, 21)},
      {"7002/stat", stat_line(7002, 7002, 22)},
      {std::to_string(::getpid()) + "/cgroup", "0::/agent\n"},
      {"1/cgroup", "0::/init.scope\n"},
  }};
  testutil::FixtureTree cgroupfs{{
      {"cgroup.controllers", "memory pids\n"},
      {"app/cgroup.procs", "7001\n7002\n"},
      {"app/cgroup.kill", ""},
  }};
  CgroupFs fs{cgroupfs.root()};

  ActionRequest cgroup_request(int signal, const char* name) {
    auto r = request(signal, name, 50ms);
    r.victim = {7001, 21};
    r.cgroup = CgroupRef{true, "/app"};
    r.spec.target = Target::kCgroup;
    return r;
  }
};

TEST_F(ActuatorCgroupTest, SigkillUsesCgroupKillWhenNobodyIsProtected) {
  ASSERT_TRUE(fs.can_kill({true, "/app"}));
  sender.already_exited(7001);
  sender.already_exited(7002);
  LogCapture log;
  {
    Actuator a(sender, fs, proc.root(), is_protected, counts.hooks());
    auto r = cgroup_request(SIGKILL, "SIGKILL");
    a.submit(r);
    ASSERT_TRUE(wait_idle(a, r.victim));
  }
  std::string out = log.take();
  EXPECT_TRUE(sender.sent().empty());
  EXPECT_EQ(read_all(cgroupfs.path("app/cgroup.kill")), "1");
  EXPECT_EQ(counts.sigs(), (std::vector<std::pair<std::string, int>>{{"web", SIGKILL}}));
  EXPECT_NE(out.find("killed by cgroup.kill, exited after"), std::string::npos) << out;
}

TEST_F(ActuatorCgroupTest, AProtectedMemberMeansNoCgroupKill) {
  protected_pids.insert(7002);
  sender.exits_after(7001, SIGKILL, 1ms);
  LogCapture log;
  {
    Actuator a(sender, fs, proc.root(), is_protected, counts.hooks());
    auto r = cgroup_request(SIGKILL, "SIGKILL");
    a.submit(r);
    ASSERT_TRUE(wait_idle(a, r.victim));
  }
  log.take();
  EXPECT_EQ(read_all(cgroupfs.path("app/cgroup.kill")), "");
  auto sent = sender.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].id, (ProcessIdentity{7001, 21}));
  EXPECT_EQ(sent[0].signal, SIGKILL);
}

TEST_F(ActuatorCgroupTest, SigtermGoesToEachMemberThenCgroupKillEscalates) {
  LogCapture log;
  {
    Actuator a(sender, fs, proc.root(), is_protected, counts.hooks());
    auto r = cgroup_request(SIGTERM, "SIGTERM");
    a.submit(r);
    ASSERT_TRUE(wait_idle(a, r.victim));
  }
  std::string out = log.take();
  auto sent = sender.sent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].signal, SIGTERM);
  EXPECT_EQ(sent[1].signal, SIGTERM);
  EXPECT_EQ(read_all(cgroupfs.path("app/cgroup.kill")), "1");
  EXPECT_EQ(counts.sigs().back(), (std::pair<std::string, int>{"web", SIGKILL}));
  EXPECT_NE(out.find("escalated to SIGKILL"), std::string::npos) << out;
}

TEST_F(ActuatorTest, HookGetsTheActionInItsEnvironment) {
  char dir_tmpl[] = "/tmp/mg-hook-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_tmpl), nullptr);
  const std::string file = std::string(dir_tmpl) + "/env";
  sender.exits_after(kVictim, SIGTERM, 1ms);
  LogCapture log;
  {
    Actuator a(sender, cgroups, "/proc", is_protected, counts.hooks());
    auto r = request(SIGTERM, "SIGTERM");
    r.spec.exec = {"/bin/sh", "-c", "env > \"$0\"", file};
    a.submit(r);
    a.shutdown(10s);  // waits for the hook too
  }
  std::string out = log.take();
  std::string env = read_all(file);
  EXPECT_NE(env.find("MEMORYGUARD_RULE=web\n"), std::string::npos) << env;
  EXPECT_NE(env.find("MEMORYGUARD_PID=424242\n"), std::string::npos) << env;
  EXPECT_NE(env.find("MEMORYGUARD_NAME=gunicorn\n"), std::string::npos) << env;
  EXPECT_NE(env.find("MEMORYGUARD_BYTES=" + std::to_string(600 << 20) + "\n"), std::string::npos);
  EXPECT_NE(env.find("MEMORYGUARD_LIMIT=" + std::to_string(512 << 20) + "\n"), std::string::npos);
  EXPECT_NE(env.find("MEMORYGUARD_SIGNAL=SIGTERM\n"), std::string::npos) << env;
  EXPECT_NE(out.find("msg=hook"), std::string::npos) << out;
  EXPECT_TRUE(counts.fails().empty());
  std::filesystem::remove_all(dir_tmpl);
}

TEST_F(ActuatorTest, FailingHookIsCountedButDoesNotUndoTheAction) {
  sender.exits_after(kVictim, SIGKILL, 1ms);
  LogCapture log;
  {
    Actuator a(sender, cgroups, "/proc", is_protected, counts.hooks());
    auto r = request(SIGKILL, "SIGKILL");
    r.spec.exec = {"/bin/sh", "-c", "exit 3"};
    a.submit(r);
    a.shutdown(10s);
  }
  std::string out = log.take();
  EXPECT_EQ(counts.sigs().size(), 1u);
  EXPECT_EQ(counts.fails(), (std::vector<std::pair<std::string, std::string>>{{"web", "hook"}}));
  EXPECT_NE(out.find("outcome=\"exited with status 3\""), std::string::npos) << out;
  EXPECT_NE(out.find("outcome=\"exited after 1ms\""), std::string::npos) << out;
}

TEST_F(ActuatorTest, NoHookWhenNothingWasSent) {
  sender.script(kVictim, SIGKILL, SendOutcome::kGone);
  LogCapture log;
  {
    Actuator a(sender, cgroups, "/proc", is_protected, counts.hooks());
    auto r = request(SIGKILL, "SIGKILL");
    r.spec.exec = {"/bin/true"};
    a.submit(r);
    a.shutdown(10s);
  }
  std::string out = log.take();
  EXPECT_EQ(out.find("msg=hook"), std::string::npos) << out;
}

}  // namespace
}  // namespace mg
