// scope: group sums the matched processes and picks a victim; scope: cgroup
// sums per cgroup, and target: cgroup kills the whole cgroup.
#include <signal.h>

#include "integration/harness.h"

namespace mgt {
namespace {

class ScopeTest : public IntegrationTest {};

TEST_F(ScopeTest, GroupOverItsLimitLosesItsLargestMember) {
  Helper& big = hog(60);
  Helper& mid = hog(40);
  Helper& small = hog(20);
  Agent& agent =
      start_agent(write_config("interval: 100ms\n"
                               "rules:\n"
                               "  - name: group\n"
                               "    match: " +
                               match_yaml() +
                               "\n"
                               "    limit: 100Mi\n"
                               "    scope: group\n"
                               "    victim: largest\n"));

  const auto info = big.proc.wait_reaped(5s);
  ASSERT_TRUE(info) << "the group was over its limit and nobody was killed";
  EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);
  EXPECT_TRUE(mid.proc.alive());
  EXPECT_TRUE(small.proc.alive());

  // 40 + 20 < 100: ten more intervals, and the rest live.
  sleep_for(1s);
  EXPECT_TRUE(mid.proc.alive()) << "the group was under its limit after the first kill";
  EXPECT_TRUE(small.proc.alive()) << "the group was under its limit after the first kill";
  const Scrape s = agent.scrape();
  EXPECT_EQ(s.value("memoryguard_kills_total", {{"rule", "group"}, {"signal", "SIGKILL"}}), 1.0);
  EXPECT_EQ(s.value("memoryguard_rule_processes", {{"rule", "group"}}), 2.0);
  EXPECT_LT(s.value("memoryguard_rule_pss_bytes", {{"rule", "group"}}).value_or(1e18),
            100.0 * kMiB);
  EXPECT_GT(s.value("memoryguard_rule_pss_bytes", {{"rule", "group"}}).value_or(0), 60.0 * kMiB);
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

class CgroupScopeTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    cgroup_ = std::make_unique<TestCgroup>("mgt_" + token());
    if (!cgroup_->ok()) GTEST_SKIP() << "cannot create a cgroup: " << cgroup_->error();
  }
  void TearDown() override {
    IntegrationTest::TearDown();  // kills the members first, so rmdir can work
    cgroup_.reset();
  }

  // Two 30 MiB hogs in the test's cgroup: 60 MiB together.
  std::pair<Helper*, Helper*> two_hogs_in_cgroup() {
    Helper& a = hog(30);
    Helper& b = hog(30);
    EXPECT_TRUE(cgroup_->add(a.pid())) << "cannot move " << a.pid() << " into " << cgroup_->dir();
    EXPECT_TRUE(cgroup_->add(b.pid())) << "cannot move " << b.pid() << " into " << cgroup_->dir();
    EXPECT_NE(read_file("/proc/" + std::to_string(a.pid()) + "/cgroup").find("mgt_" + token()),
              std::string::npos);
    return {&a, &b};
  }

  std::string cgroup_match() const { return "{ cgroup: '/mgt_" + token() + "$' }"; }

  std::unique_ptr<TestCgroup> cgroup_;
};

TEST_F(CgroupScopeTest, CgroupOverItsLimitIsKilledWhole) {
  auto [a, b] = two_hogs_in_cgroup();
  Agent& agent =
      start_agent(write_config("interval: 100ms\n"
                               "rules:\n"
                               "  - name: cg\n"
                               "    match: " +
                               cgroup_match() +
                               "\n"
                               "    limit: 40Mi\n"
                               "    scope: cgroup\n"
                               "    for: 1s\n"
                               "    action: { target: cgroup }\n"));

  // During for:, the cgroup's sum is on /metrics.
  const Scrape s = agent.wait_for_metrics(
      [](const Scrape& s) {
        return !s.find("memoryguard_cgroup_pss_bytes", {{"rule", "cg"}}).empty();
      },
      3s);
  const auto series = s.find("memoryguard_cgroup_pss_bytes", {{"rule", "cg"}});
  ASSERT_EQ(series.size(), 1u) << "one cgroup, one series";
  EXPECT_NE(series[0].labels.at("cgroup").find("mgt_" + token()), std::string::npos)
      << series[0].labels.at("cgroup");
  EXPECT_NEAR(series[0].value, 60.0 * kMiB, 6.0 * kMiB);

  for (Helper* h : {a, b}) {
    const auto info = h->proc.wait_reaped(6s);
    ASSERT_TRUE(info) << "pid " << h->pid() << " in the cgroup survived";
    EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);
  }
  EXPECT_GE(agent
                .wait_for_metrics(
                    [](const Scrape& s) {
                      return s.sum("memoryguard_kills_total", {{"rule", "cg"}}) >= 1;
                    },
                    3s)
                .sum("memoryguard_kills_total", {{"rule", "cg"}}),
            1.0);
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

TEST_F(CgroupScopeTest, CgroupOverItsLimitLosesEveryMemberWithVictimAll) {
  auto [a, b] = two_hogs_in_cgroup();
  Agent& agent =
      start_agent(write_config("interval: 100ms\n"
                               "rules:\n"
                               "  - name: cg_all\n"
                               "    match: " +
                               cgroup_match() +
                               "\n"
                               "    limit: 40Mi\n"
                               "    scope: cgroup\n"
                               "    victim: all\n"));
  for (Helper* h : {a, b}) {
    const auto info = h->proc.wait_reaped(6s);
    ASSERT_TRUE(info) << "pid " << h->pid() << " in the cgroup survived";
    EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);
  }
  const Scrape s = agent.wait_for_metrics(
      [](const Scrape& s) {
        return s.value("memoryguard_kills_total", {{"rule", "cg_all"}, {"signal", "SIGKILL"}}) ==
               2.0;
      },
      3s);
  EXPECT_EQ(s.value("memoryguard_kills_total", {{"rule", "cg_all"}, {"signal", "SIGKILL"}}), 2.0);
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

// A cgroup under its limit is left alone, however many processes it has.
TEST_F(CgroupScopeTest, CgroupUnderItsLimitIsLeftAlone) {
  auto [a, b] = two_hogs_in_cgroup();
  Agent& agent =
      start_agent(write_config("interval: 100ms\n"
                               "rules:\n"
                               "  - name: cg_ok\n"
                               "    match: " +
                               cgroup_match() +
                               "\n"
                               "    limit: 100Mi\n"
                               "    scope: cgroup\n"
                               "    action: { target: cgroup }\n"));
  agent.wait_for_metrics(
      [](const Scrape& s) {
        return !s.find("memoryguard_cgroup_pss_bytes", {{"rule", "cg_ok"}}).empty();
      },
      3s);
  sleep_for(1s);
  EXPECT_TRUE(a->proc.alive());
  EXPECT_TRUE(b->proc.alive());
  EXPECT_EQ(agent.scrape().sum("memoryguard_kills_total", {{"rule", "cg_ok"}}), 0.0);
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

}  // namespace
}  // namespace mgt
