// Fast checks through the whole loop, on fixture trees and a ManualClock: a
// process growing toward its limit is looked at between full checks, and its
// crossing asks for a full check at once; nothing else is looked at.
#include <gtest/gtest.h>

#include "config/config_loader.h"
#include "engine/check_loop.h"
#include "fake_proc.h"

namespace mg {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testutil::FakeProcess;
using testutil::FixtureTree;

class NoSignals : public SignalSender {
 public:
  SendOutcome send(const ProcessIdentity&, int) override {
    ADD_FAILURE() << "a dry-run rule sent a signal";
    return SendOutcome::kSent;
  }
  std::optional<Duration> wait_exit(const ProcessIdentity&, Duration) override {
    return milliseconds(1);
  }
};

class CheckLoopFastTest : public ::testing::Test {
 protected:
  void put(const FakeProcess& p) {
    for (const auto& e : p.entries()) proc.add(e);
  }
  std::unique_ptr<CheckLoop> loop_for(const std::string& yaml) {
    auto loaded = load_config_string(yaml, "test.yaml");
    EXPECT_TRUE(loaded.config) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
    CheckLoopOptions o{"test.yaml", proc.root(), cgroups.root(), false, false};
    auto loop = std::make_unique<CheckLoop>(o, metrics, sender, clock);
    EXPECT_TRUE(loop->start_with(std::move(*loaded.config), loaded.content_hash).empty());
    return loop;
  }
  double exceeded(const std::string& rule) {
    const std::string text = metrics.render();
    const std::string key = "memoryguard_limit_exceeded_total{rule=\"" + rule + "\"} ";
    const auto at = text.find(key);
    return at == std::string::npos ? -1 : std::stod(text.substr(at + key.size()));
  }

  FixtureTree proc{{"uptime", "1000.00 1500.00\n"}};
  FixtureTree cgroups{{"cgroup.controllers", "memory pids\n"}};
  Metrics metrics;
  NoSignals sender;
  ManualClock clock;
};

constexpr const char* kLeakRule = R"(
interval: 1s
dry_run: true
rules:
  - name: leak
    match: { name: '^worker$' }
    limit: 100Mi
    measure: rss
)";

TEST_F(CheckLoopFastTest, AGrowingProcessIsLookedAtSoonerAsItNearsItsLimit) {
  FakeProcess p;
  p.rss_kib = 40 * 1024;
  put(p);
  auto loop = loop_for(kLeakRule);
  loop->check_now();
  EXPECT_EQ(loop->fast_checks_scheduled(), 0u) << "no growth seen yet";

  clock.advance(seconds(1));
  p.rss_kib = 80 * 1024;  // 40 MiB/s: the limit is half a second away
  put(p);
  loop->check_now();
  ASSERT_EQ(loop->fast_checks_scheduled(), 1u);
  Duration previous_wait = *loop->next_fast_check() - clock.now();
  EXPECT_LT(previous_wait, milliseconds(500));

  // It keeps growing; each look comes sooner than the one before.
  for (int mib : {86, 92, 96}) {
    clock.advance(*loop->next_fast_check() - clock.now());
    p.rss_kib = static_cast<std::uint64_t>(mib) * 1024;
    put(p);
    EXPECT_FALSE(loop->run_fast_checks()) << mib << " MiB is under 100Mi";
    ASSERT_TRUE(loop->next_fast_check());
    const Duration wait = *loop->next_fast_check() - clock.now();
    EXPECT_LT(wait, previous_wait) << mib;
    EXPECT_GE(wait, milliseconds(10));
    previous_wait = wait;
  }
  EXPECT_EQ(exceeded("leak"), 0);

  clock.advance(*loop->next_fast_check() - clock.now());
  p.rss_kib = 101 * 1024;
  put(p);
  EXPECT_TRUE(loop->run_fast_checks()) << "the crossing must ask for a full check";
  EXPECT_EQ(loop->fast_checks_done(), 4u);
  loop->check_now();
  EXPECT_EQ(exceeded("leak"), 1) << "the full check judges the crossing";
  EXPECT_EQ(loop->fast_checks_scheduled(), 0u) << "over its limit: left to the judge";
}

// The check a crossing brings forward re-reads only what the looks watched:
// at N=10,000 re-reading everyone made each kill wait a whole check's
// statm reads. The others keep the last check's figures until the next
// regular check.
TEST_F(CheckLoopFastTest, AnEarlyCheckReReadsOnlyTheWatchedProcesses) {
  FakeProcess leak, idle;
  leak.rss_kib = 40 * 1024;
  idle.pid = 101;
  idle.start_time = 6000;
  idle.rss_kib = 10 * 1024;
  put(leak);
  put(idle);
  auto loop = loop_for(kLeakRule);
  loop->check_now();
  clock.advance(seconds(1));
  leak.rss_kib = 80 * 1024;
  put(leak);
  loop->check_now();
  ASSERT_EQ(loop->fast_checks_scheduled(), 1u);

  clock.advance(*loop->next_fast_check() - clock.now());
  leak.rss_kib = 101 * 1024;
  idle.rss_kib = 20 * 1024;  // grew, far from its limit: nobody looks
  put(leak);
  put(idle);
  ASSERT_TRUE(loop->run_fast_checks());
  loop->check_early();
  EXPECT_EQ(exceeded("leak"), 1) << "the early check judges the crossing";
  const auto idle_rss = [&] {
    const std::string text = metrics.render();
    const std::string key =
        "memoryguard_process_rss_bytes{name=\"worker\",pid=\"101\",rule=\"leak\"} ";
    const auto at = text.find(key);
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + key.size()));
  };
  EXPECT_EQ(idle_rss(), 10.0 * 1024 * 1024) << "kept from the last regular check";
  clock.advance(seconds(1));
  loop->check_now();
  EXPECT_EQ(idle_rss(), 20.0 * 1024 * 1024) << "a regular check reads everyone";
}

TEST_F(CheckLoopFastTest, SteadyProcessesFarFromTheirLimitAreNeverLookedAtBetweenChecks) {
  for (int pid = 100; pid < 140; ++pid) {
    FakeProcess p;
    p.pid = pid;
    p.start_time = 5000 + static_cast<std::uint64_t>(pid);
    p.rss_kib = 20 * 1024;
    put(p);
  }
  auto loop = loop_for(kLeakRule);
  for (int i = 0; i < 5; ++i) {
    loop->check_now();
    EXPECT_EQ(loop->fast_checks_scheduled(), 0u);
    EXPECT_FALSE(loop->next_fast_check());
    clock.advance(seconds(1));
  }
  EXPECT_FALSE(loop->run_fast_checks());
  EXPECT_EQ(loop->fast_checks_done(), 0u);
}

TEST_F(CheckLoopFastTest, GroupScopesWaitForTheFullCheck) {
  FakeProcess p;
  p.rss_kib = 95 * 1024;  // near: it would be looked at if it were judged alone
  put(p);
  auto loop = loop_for(R"(
interval: 1s
dry_run: true
rules:
  - name: pool
    match: { name: '^worker$' }
    limit: 100Mi
    measure: rss
    scope: group
)");
  loop->check_now();
  clock.advance(seconds(1));
  loop->check_now();
  EXPECT_EQ(loop->fast_checks_scheduled(), 0u);
}

// For a pss rule the look reads statm, and reads the rollup only once RSS has
// reached the limit; PSS decides.
TEST_F(CheckLoopFastTest, APssRuleCrossesOnPssNotOnRss) {
  FakeProcess p;
  p.rss_kib = 90 * 1024;
  p.pss_kib = 85 * 1024;
  put(p);
  auto loop = loop_for(R"(
interval: 1s
dry_run: true
rules:
  - name: pss
    match: { name: '^worker$' }
    limit: 100Mi
)");
  loop->check_now();
  clock.advance(seconds(1));
  p.rss_kib = 98 * 1024;
  p.pss_kib = 93 * 1024;
  put(p);
  loop->check_now();  // PSS is estimated at 93 MiB: near
  ASSERT_EQ(loop->fast_checks_scheduled(), 1u);

  // RSS over the limit, and so the PSS estimate; the rollup says PSS is
  // under it (the growth was in shared pages): not a crossing.
  clock.advance(*loop->next_fast_check() - clock.now());
  p.rss_kib = 130 * 1024;
  p.pss_kib = 95 * 1024;
  put(p);
  EXPECT_FALSE(loop->run_fast_checks());
  EXPECT_TRUE(loop->next_fast_check()) << "still near: looked at again";
  loop->check_now();
  EXPECT_EQ(exceeded("pss"), 0);

  // Both over: a crossing, once the lock duty cap allows the rollup read.
  p.rss_kib = 160 * 1024;
  p.pss_kib = 120 * 1024;
  put(p);
  bool crossed = false;
  for (int i = 0; i < 200 && !crossed && loop->next_fast_check(); ++i) {
    clock.advance(std::max<Duration>(*loop->next_fast_check() - clock.now(), Duration{0}));
    crossed = loop->run_fast_checks();
  }
  EXPECT_TRUE(crossed);
}

}  // namespace
}  // namespace mg
