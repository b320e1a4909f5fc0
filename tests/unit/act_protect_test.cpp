// What no config can make the actuator signal: itself, its ancestors, pid 1,
// a kernel thread; and a cgroup.kill that would reach any of them, or a
// member this pid namespace cannot see. The real sender is asked with signal
// 0, which does nothing even if a check failed, so the host's own processes
// (pid 1, kernel threads) can be used as they are.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "act/cgroup_kill_guard.h"
#include "act/pidfd_signal_sender.h"
#include "act/safety_guard.h"
#include "act_test_util.h"
#include "fixture_tree.h"

namespace mg {
namespace {

using namespace acttest;

// A kernel thread of the host as /proc shows it, if this namespace sees any.
std::optional<ProcessIdentity> some_kernel_thread() {
  ProcFs proc("/proc");
  std::vector<pid_t> pids;
  if (!proc.list_pids(pids)) return std::nullopt;
  for (pid_t pid : pids) {
    auto stat = proc.read_stat(pid);
    if (stat && stat->is_kernel_thread()) return ProcessIdentity{pid, stat->start_time};
  }
  return std::nullopt;
}

std::vector<ProcessIdentity> never_signalled() {
  std::vector<ProcessIdentity> out{identity_of(::getpid()), identity_of(1)};
  if (::getppid() > 1) out.push_back(identity_of(::getppid()));
  if (auto k = some_kernel_thread()) out.push_back(*k);
  return out;
}

TEST(ActProtect, TheSenderRefusesItselfPidOneAndKernelThreads) {
  PidfdSignalSender sender;
  std::vector<ProcessIdentity> refused{identity_of(::getpid()), identity_of(1)};
  if (auto k = some_kernel_thread()) refused.push_back(*k);
  for (const auto& id : refused) {
    EXPECT_EQ(sender.send(id, 0), SendOutcome::kRefused) << "pid " << id.pid;
  }
  EXPECT_EQ(sender.open_pidfds(), 0u);
}

// The injected check says "nobody is protected", as a config could never say
// of these: they are still refused, for every target.
TEST(ActProtect, NoCheckCanOpenTheAgentItsAncestorsPidOneOrAKernelThread) {
  PidfdSignalSender sender;
  CgroupFs cgroups("/nonexistent-cgroupfs");
  Recorded rec;
  ProtectedCheck nobody = [](pid_t) { return false; };
  {
    Actuator a(sender, cgroups, "/proc", nobody, rec.hooks());
    for (const auto& id : never_signalled()) {
      ActionRequest r = judged(id, Measure::kRss, 2, 1, 0, "0");
      a.submit(r);
      ASSERT_TRUE(wait_idle(a, r.victim));
    }
  }
  EXPECT_TRUE(rec.sigs().empty());
  for (const auto& f : rec.failed()) EXPECT_EQ(f, "protected");
  EXPECT_EQ(rec.failed().size(), never_signalled().size());
}

// The real SafetyGuard, as the check loop wires it, with a config that
// protects nothing.
TEST(ActProtect, TheSafetyGuardProtectsKernelThreadsAndAncestorsFromAFreshRead) {
  CgroupFs cgroups("/nonexistent-cgroupfs");
  SafetyGuard guard("/proc", cgroups);
  guard.set_config(std::make_shared<Config>());
  for (const auto& id : never_signalled()) EXPECT_TRUE(guard.is_protected_now(id.pid)) << id.pid;
  Child c(0);
  EXPECT_FALSE(guard.is_protected_now(c.pid()));
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string stat_line(pid_t pid, std::uint64_t start) {
  std::ostringstream s;
  s << pid << " (w" << pid << ") S 1 " << pid << " " << pid
    << " 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 " << start
    << " 1000 10 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
  return s.str();
}

// Records sends; every process "exits" at once.
class Recording final : public SignalSender {
 public:
  SendOutcome send(const ProcessIdentity& id, int) override {
    std::lock_guard lock(mu_);
    sent_.push_back(id.pid);
    return SendOutcome::kSent;
  }
  std::optional<Duration> wait_exit(const ProcessIdentity&, Duration) override {
    return Duration::zero();
  }
  std::vector<pid_t> sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }

 private:
  std::mutex mu_;
  std::vector<pid_t> sent_;
};

// A fake /proc and cgroupfs: /app holds 7001 and 7002, /app/sub holds
// whatever the case says; the agent (this test) and pid 1 sit where it says.
struct CgroupCase {
  std::string sub_procs = "7002\n";
  std::string self_cgroup = "0::/agent\n";
  std::string init_cgroup = "0::/init.scope\n";
};

struct CgroupRig {
  explicit CgroupRig(const CgroupCase& k)
      : proc({{"7001/stat", stat_line(7001, 21)},
              {"7002/stat", stat_line(7002, 22)},
              {std::to_string(::getpid()) + "/cgroup", k.self_cgroup},
              {"1/cgroup", k.init_cgroup}}),
        tree({{"cgroup.controllers", "memory pids\n"},
              {"app/cgroup.procs", "7001\n"},
              {"app/cgroup.kill", ""},
              {"app/sub/cgroup.procs", k.sub_procs},
              {"app/sub/cgroup.kill", ""}}),
        fs(tree.root()) {}
  testutil::FixtureTree proc;
  testutil::FixtureTree tree;
  CgroupFs fs;
};

// Returns whether cgroup.kill was written, and what was signalled one by one.
std::pair<bool, std::vector<pid_t>> kill_app(CgroupRig& rig) {
  Recording sender;
  Recorded rec;
  {
    Actuator a(
        sender, rig.fs, rig.proc.root(), [](pid_t) { return false; }, rec.hooks());
    ActionRequest r = judged({7001, 21}, Measure::kRss, 2, 1);
    r.cgroup = CgroupRef{true, "/app"};
    r.spec.target = Target::kCgroup;
    a.submit(r);
    EXPECT_TRUE(wait_idle(a, r.victim));
  }
  return {read_all(rig.tree.path("app/cgroup.kill")) == "1", sender.sent()};
}

TEST(ActProtect, CgroupKillIsUsedWhenTheWholeSubtreeIsKnownAndUnprotected) {
  CgroupRig rig(CgroupCase{});
  ProcFs proc(rig.proc.root());
  EXPECT_TRUE(check_cgroup_kill(rig.fs, proc, {true, "/app"}, {}).safe);
  auto [killed, sent] = kill_app(rig);
  EXPECT_TRUE(killed);
  EXPECT_TRUE(sent.empty());
}

// v2 cgroup.procs shows 0 for a process outside the reader's pid namespace:
// it could be an ancestor of the agent, so cgroup.kill is not written and the
// members that can be seen are signalled one by one.
TEST(ActProtect, AMemberThisNamespaceCannotSeeForbidsCgroupKill) {
  CgroupCase k;
  k.sub_procs = "7002\n0\n";
  CgroupRig rig(k);
  ProcFs proc(rig.proc.root());
  auto check = check_cgroup_kill(rig.fs, proc, {true, "/app"}, {});
  EXPECT_FALSE(check.safe);
  EXPECT_NE(check.why.find("/app/sub"), std::string::npos) << check.why;
  auto [killed, sent] = kill_app(rig);
  EXPECT_FALSE(killed);
  EXPECT_EQ(sent, std::vector<pid_t>{7001});
}

// Seen in /proc/PID/cgroup even when the cgroup's own lists do not show it.
TEST(ActProtect, ACgroupHoldingTheAgentPidOneOrAnAncestorIsNeverCgroupKilled) {
  for (int who = 0; who < 3; ++who) {
    CgroupCase k;
    if (who == 0) k.self_cgroup = "0::/app/sub\n";
    if (who == 1) k.init_cgroup = "0::/app\n";
    CgroupRig rig(k);
    ProcFs proc(rig.proc.root());
    std::unordered_set<pid_t> ancestors;
    if (who == 2) {
      rig.proc.add({"4242/cgroup", "0::/app/sub/deeper\n"});
      ancestors.insert(4242);
    }
    auto check = check_cgroup_kill(rig.fs, proc, {true, "/app"}, ancestors);
    EXPECT_FALSE(check.safe) << who;
    EXPECT_NE(check.why.find(who == 0   ? "the agent"
                             : who == 1 ? "pid 1"
                                        : "an ancestor"),
              std::string::npos)
        << check.why;
    if (who < 2) {
      auto [killed, sent] = kill_app(rig);
      EXPECT_FALSE(killed) << who;
    }
  }
}

TEST(ActProtect, ASiblingWithACommonPrefixIsNotInside) {
  CgroupCase k;
  k.self_cgroup = "0::/apple\n";
  CgroupRig rig(k);
  ProcFs proc(rig.proc.root());
  EXPECT_TRUE(check_cgroup_kill(rig.fs, proc, {true, "/app"}, {}).safe);
}

}  // namespace
}  // namespace mg
