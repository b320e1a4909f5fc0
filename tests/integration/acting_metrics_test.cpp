// The skip counter of the actuator on a real agent's /metrics: every reason
// exists at 0 for each rule from the start, so alerts can use increase() on
// it, and a rule removed on reload takes its series with it.
#include "integration/harness.h"

namespace mgt {
namespace {

class ActingMetricsTest : public IntegrationTest {};

TEST_F(ActingMetricsTest, SkipReasonsExistAtZeroForEveryRule) {
  Agent& agent =
      start_agent(write_config("interval: 100ms\n"
                               "rules:\n"
                               "  - name: hogs\n"
                               "    match: " +
                               match_yaml() +
                               "\n"
                               "    limit: 1Gi\n"));
  const Scrape s = agent.scrape();
  ASSERT_TRUE(s.ok()) << s.text();
  EXPECT_EQ(s.type("memoryguard_actions_skipped_total"), "counter");
  for (const char* reason : {"exited", "zombie", "pid_reused", "below_limit"}) {
    EXPECT_EQ(s.value("memoryguard_actions_skipped_total", {{"rule", "hogs"}, {"reason", reason}}),
              0.0)
        << reason << "\n"
        << s.text();
  }
}

}  // namespace
}  // namespace mgt
