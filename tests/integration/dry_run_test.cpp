// Dry-run, from the flag, the global key or a rule: a process over its limit
// is counted and logged, and lives.
#include "integration/harness.h"

namespace mgt {
namespace {

class DryRunTest : public IntegrationTest {
 protected:
  void expect_survives(const std::string& rule, const std::string& yaml,
                       std::vector<std::string> flags = {}) {
    Helper& h = hog(30);
    Agent& agent = start_agent(write_config(yaml), std::move(flags));
    const Scrape s = agent.wait_for_metrics(
        [&](const Scrape& s) {
          return s.value("memoryguard_limit_exceeded_total", {{"rule", rule}}).value_or(0) > 0;
        },
        5s);
    EXPECT_GT(s.value("memoryguard_limit_exceeded_total", {{"rule", rule}}).value_or(0), 0.0)
        << "the limit was exceeded and not counted";

    sleep_for(1s);  // ten more intervals
    EXPECT_TRUE(h.proc.alive()) << "a dry run killed the hog";
    const Scrape later = agent.scrape();
    EXPECT_EQ(later.value("memoryguard_kills_total", {{"rule", rule}, {"signal", "SIGKILL"}}), 0.0);
    EXPECT_EQ(later.sum("memoryguard_kills_total", {{"rule", rule}}), 0.0);
    EXPECT_NE(agent.log().find("dry_run=true"), std::string::npos)
        << "what would have been done is not logged";
    const auto exit = agent.stop();
    ASSERT_TRUE(exit);
    EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
  }

  std::string rule_yaml(const std::string& rule, const std::string& extra = "") const {
    return "rules:\n"
           "  - name: " +
           rule +
           "\n"
           "    match: " +
           match_yaml() +
           "\n"
           "    limit: 10Mi\n" +
           extra;
  }
};

TEST_F(DryRunTest, FlagSparesAProcessOverItsLimit) {
  expect_survives("dry_flag", "interval: 100ms\n" + rule_yaml("dry_flag"), {"--dry-run"});
}

TEST_F(DryRunTest, GlobalKeySparesAProcessOverItsLimit) {
  expect_survives("dry_global", "interval: 100ms\ndry_run: true\n" + rule_yaml("dry_global"));
}

TEST_F(DryRunTest, RuleKeySparesAProcessOverItsLimit) {
  expect_survives("dry_rule", "interval: 100ms\n" + rule_yaml("dry_rule", "    dry_run: true\n"));
}

}  // namespace
}  // namespace mgt
