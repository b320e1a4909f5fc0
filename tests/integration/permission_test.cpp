// An agent without the privileges to read or signal a process (here: run as
// nobody, watching root's processes) reports it without flooding the log,
// counts it, and does not retry in a tight loop.
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <regex>

#include "integration/harness.h"

namespace mgt {
namespace {

class PermissionTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    if (geteuid() != 0) GTEST_SKIP() << "needs root to start the agent as another user";
    const passwd* nobody = getpwnam("nobody");
    if (nobody == nullptr) GTEST_SKIP() << "no user 'nobody'";
    nobody_ = nobody->pw_uid;
  }

  static std::size_t count_lines(const std::string& text, const std::regex& re) {
    return static_cast<std::size_t>(
        std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
  }

  uid_t nobody_ = 65534;
};

TEST_F(PermissionTest, UnreadableProcessIsCountedNotLoggedEveryScan) {
  Helper& h = hog(30);  // root's; nobody cannot read its smaps_rollup
  Agent& agent = start_agent(write_config("interval: 100ms\n"
                                          "rules:\n"
                                          "  - name: unreadable\n"
                                          "    match: " +
                                          match_yaml() +
                                          "\n"
                                          "    limit: 10Mi\n"
                                          "    measure: pss\n"),
                             {}, nobody_);
  const auto permission_errors = [](const Scrape& s) {
    return s.sum("memoryguard_scan_errors_total", {{"reason", "permission"}});
  };
  const Scrape s =
      agent.wait_for_metrics([&](const Scrape& s) { return permission_errors(s) >= 3; }, 5s);
  EXPECT_GE(permission_errors(s), 3.0) << "a process it may not read is not counted per scan";
  const std::regex warned(R"((^|\n)[^\n]*level=(warn|error)[^\n]*)");
  const std::size_t warnings = count_lines(agent.log(), warned);

  sleep_for(1s);  // ten more intervals
  EXPECT_GT(permission_errors(agent.scrape()), permission_errors(s)) << "counted per scan";
  EXPECT_EQ(count_lines(agent.log(), warned), warnings) << "permission problems logged every scan";
  EXPECT_TRUE(h.proc.alive());
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

// The agent may signal these processes (same user) but not read their PSS
// (not dumpable, no CAP_SYS_PTRACE). Their RSS (120 MiB each) is over the
// limit, their PSS (30 MiB) is not: a pss rule must not act on RSS instead.
TEST_F(PermissionTest, ProcessWhosePssCannotBeReadIsNotJudgedByItsRss) {
  Helper& shared =
      spawn_helper("mgt_shared", {"--mib=120", "--children=3", "--undumpable"}, nobody_);
  ASSERT_EQ(shared.children.size(), 3u);
  Agent& agent = start_agent(write_config("interval: 100ms\n"
                                          "rules:\n"
                                          "  - name: unmeasured\n"
                                          "    match: " +
                                          match_yaml("mgt_shared") +
                                          "\n"
                                          "    limit: 60Mi\n"
                                          "    measure: pss\n"),
                             {}, nobody_);
  const Scrape s = agent.wait_for_metrics(
      [](const Scrape& s) {
        return s.sum("memoryguard_scan_errors_total", {{"reason", "permission"}}) >= 3;
      },
      5s);
  EXPECT_GE(s.sum("memoryguard_scan_errors_total", {{"reason", "permission"}}), 3.0);
  sleep_for(1s);
  EXPECT_TRUE(shared.proc.alive()) << "killed on RSS under a pss rule";
  for (const auto& c : shared.children) EXPECT_TRUE(c.alive()) << "killed on RSS under a pss rule";
  const Scrape later = agent.scrape();
  EXPECT_EQ(later.sum("memoryguard_kills_total", {{"rule", "unmeasured"}}), 0.0);
  EXPECT_EQ(later.sum("memoryguard_limit_exceeded_total", {{"rule", "unmeasured"}}), 0.0);
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

TEST_F(PermissionTest, SignalThatIsRefusedIsCountedAndNotRetriedInATightLoop) {
  Helper& h = hog(30);  // root's; nobody may read its statm but not signal it
  Agent& agent = start_agent(write_config("interval: 100ms\n"
                                          "rules:\n"
                                          "  - name: refused\n"
                                          "    match: " +
                                          match_yaml() +
                                          "\n"
                                          "    limit: 10Mi\n"
                                          "    measure: rss\n"),
                             {}, nobody_);
  const Scrape s = agent.wait_for_metrics(
      [](const Scrape& s) {
        return s.sum("memoryguard_kill_failures_total", {{"rule", "refused"}}) >= 1;
      },
      5s);
  EXPECT_GE(s.sum("memoryguard_kill_failures_total", {{"rule", "refused"}}), 1.0);
  sleep_for(1s);  // ten more intervals
  EXPECT_TRUE(h.proc.alive());
  const Scrape later = agent.scrape();
  // At most one attempt per scan, never a tight loop.
  EXPECT_LE(later.sum("memoryguard_kill_failures_total", {{"rule", "refused"}}), 15.0);
  EXPECT_EQ(later.sum("memoryguard_kills_total", {{"rule", "refused"}}), 0.0)
      << "a refused signal is not a signal sent";
  EXPECT_TRUE(std::regex_search(
      agent.log(), std::regex("pid=" + std::to_string(h.pid()) + R"( [^\n]*failed: EPERM)")))
      << "the refused action is not logged with its outcome";
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

// Without CAP_SYS_PTRACE and CAP_KILL (nobody has neither), the agent still
// guards what it may: its own user's hog is killed on time, while root's
// hogs beside it, matched by the same rule, are reported once and counted
// per scan.
TEST_F(PermissionTest, OwnUsersHogIsStillKilledBesideProcessesItMayNotTouch) {
  Helper& theirs = hog(30);
  Helper& theirs_too = hog(30);
  Agent& agent = start_agent(write_config("interval: 100ms\n"
                                          "rules:\n"
                                          "  - name: mixed\n"
                                          "    match: " +
                                          match_yaml() +
                                          "\n"
                                          "    limit: 20Mi\n"),
                             {}, nobody_);
  const auto permission_errors = [](const Scrape& s) {
    return s.sum("memoryguard_scan_errors_total", {{"reason", "permission"}});
  };
  agent.wait_for_metrics([&](const Scrape& s) { return permission_errors(s) >= 4; }, 5s);

  for (int round = 0; round < 2; ++round) {
    Helper& mine = spawn_helper(
        "mgt_hog", {"--mib=10", "--grow-mib=10", "--every-ms=100", "--max-mib=40"}, nobody_);
    const auto info = mine.proc.wait_reaped(5s);
    ASSERT_TRUE(info) << "the agent's own user's hog was not killed:\n" << agent.log();
    EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);
  }
  const Scrape s = agent.scrape();
  EXPECT_EQ(s.value("memoryguard_kills_total", {{"rule", "mixed"}, {"signal", "SIGKILL"}}), 2.0);
  EXPECT_TRUE(theirs.proc.alive());
  EXPECT_TRUE(theirs_too.proc.alive());
  EXPECT_EQ(s.sum("memoryguard_kill_failures_total", {{"rule", "mixed"}}), 0.0)
      << "a process whose PSS is unknown was acted on";

  // Reported once: the lines that name a permission problem do not grow with
  // the scans (about 20 more while the hogs were killed), nor with the
  // number of processes.
  const std::regex permission_line(
      R"((^|\n)[^\n]*level=(warn|error)[^\n]*(permission|PTRACE|EPERM|EACCES)[^\n]*)",
      std::regex::icase);
  const std::size_t lines = count_lines(agent.log(), permission_line);
  EXPECT_LE(lines, 2u) << agent.log();
  const double counted = permission_errors(s);
  sleep_for(1s);
  EXPECT_GT(permission_errors(agent.scrape()), counted) << "not counted per scan";
  EXPECT_EQ(count_lines(agent.log(), permission_line), lines) << agent.log();
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

}  // namespace
}  // namespace mgt
