// Races at the moment of acting, with real children and the real pidfd
// sender: the victim exits on its own, turns into a zombie, changes its name,
// or drops under its limit just before the signal. Only the children forked
// here can be reached (every other pid counts as protected).
#include <gtest/gtest.h>

#include "act/pidfd_signal_sender.h"
#include "act/victim_probe.h"
#include "act_test_util.h"

namespace mg {
namespace {

using namespace acttest;

constexpr std::uint64_t kMiB = 1 << 20;

struct Rig {
  PidfdSignalSender sender;
  CgroupFs cgroups{"/nonexistent-cgroupfs"};
  VictimProbe probe{"/proc"};
  Recorded rec;
};

// Runs one action to its end and returns its outcome as recorded.
void act(Rig& rig, SignalSender& sender, const ActionRequest& r, bool recheck = true) {
  Actuator a(sender, rig.cgroups, "/proc", only({r.victim.pid}),
             rig.rec.hooks(recheck ? probe_of(rig.probe) : VictimRecheck{}));
  a.submit(r);
  ASSERT_TRUE(wait_idle(a, r.victim));
}

TEST(ActRaceMoment, AVictimThatExitedAndWasReapedIsSkippedAsExited) {
  Rig rig;
  Child c(0);
  const auto id = identity_of(c.pid());
  c.command('x');
  c.reap_now();
  act(rig, rig.sender, judged(id, Measure::kRss, 64 * kMiB, kMiB));
  EXPECT_TRUE(rig.rec.sigs().empty());
  EXPECT_EQ(rig.rec.skipped(), std::vector<std::string>{"exited"});
  EXPECT_TRUE(rig.rec.failed().empty());
}

TEST(ActRaceMoment, AZombieIsNeitherSignalledNorCountedAsAKill) {
  for (bool recheck : {true, false}) {
    Rig rig;
    Child c(8);
    const auto id = identity_of(c.pid());
    c.command('x');
    ASSERT_TRUE(wait_zombie(c.pid()));
    act(rig, rig.sender, judged(id, Measure::kRss, 64 * kMiB, kMiB), recheck);
    EXPECT_TRUE(rig.rec.sigs().empty()) << "recheck " << recheck;
    // The re-check names it; the sender alone sees an exit.
    EXPECT_EQ(rig.rec.skipped(), std::vector<std::string>{recheck ? "zombie" : "exited"});
    const int status = c.reap_now();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
}

TEST(ActRaceMoment, AVictimBackUnderItsLimitGetsNoSignal) {
  for (Measure m : {Measure::kRss, Measure::kPss, Measure::kUss}) {
    Rig rig;
    Child c(64);
    const auto id = identity_of(c.pid());
    // The limit sits 32 MiB under what it holds now: a forked child of a
    // sanitized test maps the parent's resident pages too, so its RSS alone
    // can be over any fixed limit.
    ProcFs proc("/proc");
    const auto holding = proc.read_memory(c.pid());
    ASSERT_TRUE(holding);
    const std::uint64_t now = m == Measure::kRss   ? holding->rss
                              : m == Measure::kPss ? holding->pss
                                                   : holding->uss;
    ASSERT_GT(now, 48 * kMiB);
    ASSERT_TRUE(c.command('f'));  // frees its 64 MiB after being judged
    act(rig, rig.sender, judged(id, m, now, now - 32 * kMiB));
    EXPECT_TRUE(rig.rec.sigs().empty()) << to_string(m);
    EXPECT_EQ(rig.rec.skipped(), std::vector<std::string>{"below_limit"}) << to_string(m);
    EXPECT_TRUE(alive_unreaped(c.pid()));
  }
}

TEST(ActRaceMoment, AVictimStillOverItsLimitIsSignalled) {
  for (Measure m : {Measure::kRss, Measure::kPss}) {
    Rig rig;
    Child c(64);
    const auto id = identity_of(c.pid());
    act(rig, rig.sender, judged(id, m, 70 * kMiB, 32 * kMiB));
    EXPECT_EQ(rig.rec.sigs(), std::vector<int>{SIGKILL}) << to_string(m);
    EXPECT_TRUE(rig.rec.skipped().empty());
    const int status = c.reap_now();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  }
}

// A group is judged by its sum: the victim's fresh figure replaces its judged
// share, the rest of the sum stands.
TEST(ActRaceMoment, AGroupSumIsReTakenWithTheVictimsFreshFigure) {
  struct Case {
    std::uint64_t others;
    bool skipped;
  };
  for (Case k : {Case{10 * kMiB, true}, Case{100 * kMiB, false}}) {
    Rig rig;
    Child c(64);
    const auto id = identity_of(c.pid());
    ASSERT_TRUE(c.command('f'));
    // Every figure is set from what the freed child still holds: a forked
    // child of a sanitized test keeps the parent's resident pages too, tens
    // of MiB that no fixed limit can allow for.
    const auto freed = ProcFs("/proc").read_memory(c.pid());
    ASSERT_TRUE(freed);
    const std::uint64_t base = freed->rss;
    ActionRequest r = judged(id, Measure::kRss, base + 64 * kMiB + k.others, base + 40 * kMiB);
    r.scope = Scope::kGroup;
    r.victim_bytes = base + 64 * kMiB;
    act(rig, rig.sender, r);
    if (k.skipped) {
      EXPECT_EQ(rig.rec.skipped(), std::vector<std::string>{"below_limit"});
      EXPECT_TRUE(rig.rec.sigs().empty());
    } else {
      EXPECT_TRUE(rig.rec.skipped().empty());
      EXPECT_EQ(rig.rec.sigs(), std::vector<int>{SIGKILL});
    }
  }
}

// The identity is (pid, start time): a process that renamed itself is still
// the one judged, and still over its limit, so it is signalled.
TEST(ActRaceMoment, AVictimThatRenamedItselfIsStillTheSameProcess) {
  Rig rig;
  Child c(64);
  const auto id = identity_of(c.pid());
  ASSERT_TRUE(c.command('n'));
  ProcFs proc("/proc");
  ASSERT_EQ(proc.read_stat(c.pid())->comm, "mgt_renamed");
  act(rig, rig.sender, judged(id, Measure::kRss, 70 * kMiB, 32 * kMiB));
  EXPECT_EQ(rig.rec.sigs(), std::vector<int>{SIGKILL});
  const int status = c.reap_now();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

// The last window: the victim dies after the re-check and before the sender
// opens its pidfd. The sender alone must then see the exit.
class DyingSender final : public SignalSender {
 public:
  DyingSender(SignalSender& real, Child& victim, bool reap)
      : real_(real), victim_(victim), reap_(reap) {}
  SendOutcome send(const ProcessIdentity& id, int signal) override {
    if (!done_) {
      done_ = true;
      ::kill(victim_.pid(), SIGKILL);
      if (reap_)
        victim_.reap_now();
      else
        wait_zombie(victim_.pid());
    }
    return real_.send(id, signal);
  }
  std::optional<Duration> wait_exit(const ProcessIdentity& id, Duration timeout) override {
    return real_.wait_exit(id, timeout);
  }

 private:
  SignalSender& real_;
  Child& victim_;
  bool reap_;
  bool done_ = false;
};

TEST(ActRaceMoment, AVictimDyingBetweenTheReCheckAndTheSignalIsSkippedAsExited) {
  for (bool reap : {true, false}) {
    Rig rig;
    Child c(64);
    const auto id = identity_of(c.pid());
    DyingSender dying(rig.sender, c, reap);
    act(rig, dying, judged(id, Measure::kRss, 70 * kMiB, 32 * kMiB));
    EXPECT_TRUE(rig.rec.sigs().empty()) << "reaped " << reap;
    EXPECT_EQ(rig.rec.skipped(), std::vector<std::string>{"exited"}) << "reaped " << reap;
    EXPECT_TRUE(rig.rec.failed().empty());
  }
}

}  // namespace
}  // namespace mg
