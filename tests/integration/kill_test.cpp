// A process past its limit dies: SIGKILL by default, and escalation from a
// signal it ignores to SIGKILL after kill_after.
#include <signal.h>

#include <cstdlib>
#include <regex>
#include <sstream>

#include "integration/harness.h"

namespace mgt {
namespace {

class KillTest : public IntegrationTest {};

TEST_F(KillTest, HogThatGrowsPastItsLimitIsKilled) {
  const std::string config = write_config(
      "interval: 100ms\n"
      "rules:\n"
      "  - name: grow\n"
      "    match: " +
      match_yaml() +
      "\n"
      "    limit: 40Mi\n");
  Agent& agent = start_agent(config);
  EXPECT_EQ(
      agent.scrape().value("memoryguard_kills_total", {{"rule", "grow"}, {"signal", "SIGKILL"}}),
      0.0)
      << "counters of a rule exist at 0 from the start";

  // 10 MiB, then +5 MiB every 100ms: over 40 MiB after about 600ms.
  Helper& h = hog(10, {"--grow-mib=5", "--every-ms=100", "--max-mib=100"});
  const auto ready = Clock::now();
  const auto info = h.proc.wait_reaped(10s);
  ASSERT_TRUE(info) << "the hog outgrew its limit and was not killed";
  EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);
  EXPECT_GE(info->when - ready, 400ms) << "killed before it could have been over 40Mi";

  const Scrape after = agent.wait_for_metrics(
      [](const Scrape& s) {
        return s.value("memoryguard_kills_total", {{"rule", "grow"}, {"signal", "SIGKILL"}}) == 1.0;
      },
      3s);
  EXPECT_EQ(after.value("memoryguard_kills_total", {{"rule", "grow"}, {"signal", "SIGKILL"}}), 1.0);
  EXPECT_GE(after.value("memoryguard_limit_exceeded_total", {{"rule", "grow"}}).value_or(0), 1.0);
  EXPECT_GT(after.value("memoryguard_last_kill_timestamp_seconds", {{"rule", "grow"}}).value_or(0),
            0.0);

  // The action's line is written once its outcome is known, a moment after
  // the death this test saw.
  EXPECT_TRUE(wait_until([&] { return agent.log().find("msg=action") != std::string::npos; }, 10s))
      << "no action line in the log";
  const std::string log = agent.log();
  EXPECT_NE(log.find("pid=" + std::to_string(h.pid())), std::string::npos)
      << "the action line does not name the pid";
  EXPECT_EQ(log.find("--marker=" + token()), std::string::npos)
      << "the command line leaked into the log";

  const auto exit = agent.stop();
  ASSERT_TRUE(exit) << "memoryguard did not stop on SIGTERM";
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

TEST_F(KillTest, SignalThatIsIgnoredEscalatesToSigkillAfterKillAfter) {
  const std::string term_log = path("term.log");
  const std::string config = write_config(
      "interval: 100ms\n"
      "rules:\n"
      "  - name: stubborn\n"
      "    match: " +
      match_yaml("mgt_noterm") +
      "\n"
      "    limit: 10Mi\n"
      "    action: { signal: SIGTERM, kill_after: 500ms }\n");
  Helper& h = spawn_helper("mgt_noterm", {"--mib=30", "--term-log=" + term_log});
  Agent& agent = start_agent(config);

  const auto info = h.proc.wait_reaped(10s);
  ASSERT_TRUE(info) << "the process that ignores SIGTERM was not killed";
  EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);

  std::istringstream lines(read_file(term_log));
  std::string first;
  ASSERT_TRUE(std::getline(lines, first)) << "it never received SIGTERM";
  const Clock::time_point term_at{
      std::chrono::nanoseconds(std::strtoll(first.c_str(), nullptr, 10))};
  // The agent starts its clock just before the signal is delivered, and the
  // handler runs just after, so allow a little slack below 500ms.
  EXPECT_GE(info->when - term_at, 480ms) << "SIGKILL came before kill_after";
  EXPECT_LE(info->when - term_at, 3s) << "SIGKILL came long after kill_after";

  const Scrape s = agent.wait_for_metrics(
      [](const Scrape& s) {
        return s.value("memoryguard_kills_total", {{"rule", "stubborn"}, {"signal", "SIGKILL"}}) ==
               1.0;
      },
      3s);
  EXPECT_EQ(s.value("memoryguard_kills_total", {{"rule", "stubborn"}, {"signal", "SIGTERM"}}), 1.0);
  EXPECT_EQ(s.value("memoryguard_kills_total", {{"rule", "stubborn"}, {"signal", "SIGKILL"}}), 1.0);
  // The line is written once the exit is seen, a moment after the counter.
  EXPECT_TRUE(
      wait_until([&] { return agent.log().find("escalated to SIGKILL") != std::string::npos; }, 3s))
      << "the escalation was not logged";

  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

// The identity cache must not hide a process that takes a new name after it
// was first seen.
TEST_F(KillTest, ProcessThatRenamesItselfIntoARuleIsKilled) {
  const std::string config = write_config(
      "interval: 100ms\n"
      "rules:\n"
      "  - name: renamed\n"
      "    match: { name: '^mgt_renamed$', cmdline: '" +
      token() +
      "' }\n"
      "    limit: 10Mi\n");
  // "mgt_renamed" in hex; the rename comes 1.5s after "ready".
  Helper& h = hog(30, {"--comm=6d67745f72656e616d6564", "--rename-after-ms=1500"});
  const auto ready = Clock::now();
  Agent& agent = start_agent(config);

  const auto info = h.proc.wait_reaped(10s);
  ASSERT_TRUE(info) << "the process that renamed itself into the rule was not killed";
  EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);
  EXPECT_GE(info->when - ready, 1500ms) << "killed before it took the rule's name";
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0);
}

// SIGTERM to the agent while it waits out a kill_after: it must still stop
// promptly and cleanly, and say what became of the escalation.
TEST_F(KillTest, StoppingDuringAnEscalationIsCleanAndLogged) {
  const std::string term_log = path("term.log");
  Helper& h = spawn_helper("mgt_noterm", {"--mib=30", "--term-log=" + term_log});
  Agent& agent =
      start_agent(write_config("interval: 100ms\n"
                               "rules:\n"
                               "  - name: interrupted\n"
                               "    match: " +
                               match_yaml("mgt_noterm") +
                               "\n"
                               "    limit: 10Mi\n"
                               "    action: { signal: SIGTERM, kill_after: 30s }\n"));
  ASSERT_TRUE(wait_until([&] { return !read_file(term_log).empty(); }, 5s))
      << "no SIGTERM was sent";

  const auto stop_at = Clock::now();
  const auto exit = agent.stop(15s);
  ASSERT_TRUE(exit) << "memoryguard did not stop while an escalation was under way";
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
  EXPECT_LT(exit->when - stop_at, 10s) << "it waited out kill_after instead of stopping";

  // Finished (SIGKILL sent) or abandoned (still alive): either way, logged.
  const std::regex said(
      R"((^|\n)[^\n]*pid=)" + std::to_string(h.pid()) + R"( [^\n]*(abandon|escalat|finish)[^\n]*)",
      std::regex::icase);
  EXPECT_TRUE(std::regex_search(agent.log(), said))
      << "what became of the escalation is not logged";
  if (!h.proc.alive()) {
    const auto info = h.proc.wait_reaped(2s);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);
  }
}

}  // namespace
}  // namespace mgt
