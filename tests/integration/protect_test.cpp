// A rule that matches everything (name: '.') with a 1Ki limit must still
// spare `protect`ed processes, the agent itself, and pid 1 (this test binary).
// SAFETY: such a rule is only ever given to an agent inside the private PID
// namespace that ctest creates, where every process is one this test made.
#include <signal.h>
#include <unistd.h>

#include "integration/harness.h"

namespace mgt {
namespace {

class ProtectTest : public IntegrationTest {
 protected:
  void SetUp() override {
    if (getpid() != 1) {
      GTEST_SKIP() << "needs to be pid 1 of a private PID namespace "
                      "(unshare --pid --fork --mount-proc); a rule matching every process "
                      "is not safe anywhere else";
    }
    IntegrationTest::SetUp();
  }
};

TEST_F(ProtectTest, RuleMatchingEverythingSparesProtectedSelfAndPid1) {
  Helper& victim = hog(5);
  Helper& guarded = spawn_helper("mgt_sleeper", {"--mib=5"});
  Agent& agent =
      start_agent(write_config("interval: 100ms\n"
                               "protect:\n"
                               "  - name: '^mgt_sleeper$'\n"
                               "rules:\n"
                               "  - name: everything\n"
                               "    match: { name: '.' }\n"
                               "    limit: 1Ki\n"));

  const auto info = victim.proc.wait_reaped(5s);
  ASSERT_TRUE(info) << "the unprotected helper survived a 1Ki limit";
  EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);

  sleep_for(1s);  // ten more intervals
  EXPECT_TRUE(guarded.proc.alive()) << "a protected process was killed";
  ASSERT_TRUE(agent.alive()) << "the agent killed itself";
  EXPECT_EQ(agent.get("/healthz").status, 200);
  EXPECT_EQ(getpid(), 1);  // still here to say so

  const Scrape s = agent.scrape();
  EXPECT_EQ(s.value("memoryguard_kills_total", {{"rule", "everything"}, {"signal", "SIGKILL"}}),
            1.0)
      << "only the unprotected helper may have been signalled";
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

}  // namespace
}  // namespace mgt
