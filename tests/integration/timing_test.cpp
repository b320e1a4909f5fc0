// for: and cooldown, in real time.
#include <signal.h>

#include <thread>

#include "integration/harness.h"

namespace mgt {
namespace {

class TimingTest : public IntegrationTest {};

TEST_F(TimingTest, ForWaitsBeforeActing) {
  Helper& h = hog(30);
  Agent& agent =
      start_agent(write_config("interval: 100ms\n"
                               "rules:\n"
                               "  - name: patient\n"
                               "    match: " +
                               match_yaml() +
                               "\n"
                               "    limit: 10Mi\n"
                               "    for: 1500ms\n"));
  const auto t0 = agent.started_at();

  // Over the limit from the agent's first scan, but not yet for 1.5s.
  std::this_thread::sleep_until(t0 + 1s);
  EXPECT_TRUE(h.proc.alive()) << "killed before for: had passed";

  const auto info = h.proc.wait_reaped(t0 + 3500ms - Clock::now());
  ASSERT_TRUE(info) << "still alive 3.5s after the agent started, with for: 1500ms";
  EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);
  EXPECT_GE(info->when - t0, 1500ms);
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

TEST_F(TimingTest, CooldownSpacesTheActionsOfARule) {
  Helper& a = hog(30);
  Helper& b = hog(30);
  Agent& agent =
      start_agent(write_config("interval: 100ms\n"
                               "rules:\n"
                               "  - name: cool\n"
                               "    match: " +
                               match_yaml() +
                               "\n"
                               "    limit: 10Mi\n"
                               "    action: { cooldown: 2s }\n"));

  ASSERT_TRUE(wait_until([&] { return !a.proc.alive() || !b.proc.alive(); }, 5s))
      << "neither hog was killed";
  Helper& first = a.proc.alive() ? b : a;
  Helper& second = a.proc.alive() ? a : b;
  const auto first_info = first.proc.wait_reaped(2s);
  ASSERT_TRUE(first_info);
  EXPECT_EQ(first_info->term_signal(), SIGKILL) << describe(*first_info);

  // Over its limit all along, but the rule may act again only 2s later.
  std::this_thread::sleep_until(first_info->when + 1500ms);
  EXPECT_TRUE(second.proc.alive()) << "killed within the cooldown";
  const auto second_info = second.proc.wait_reaped(first_info->when + 5s - Clock::now());
  ASSERT_TRUE(second_info) << "never killed after the cooldown";
  EXPECT_EQ(second_info->term_signal(), SIGKILL) << describe(*second_info);
  EXPECT_GE(second_info->when - first_info->when, 1950ms);

  EXPECT_EQ(agent
                .wait_for_metrics(
                    [](const Scrape& s) {
                      return s.value("memoryguard_kills_total",
                                     {{"rule", "cool"}, {"signal", "SIGKILL"}}) == 2.0;
                    },
                    3s)
                .value("memoryguard_kills_total", {{"rule", "cool"}, {"signal", "SIGKILL"}}),
            2.0);
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

}  // namespace
}  // namespace mgt
