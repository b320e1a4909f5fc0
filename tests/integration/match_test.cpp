// Matchers against real processes: exe, not:, pid_file, children and user.
// The limits are high: this is about which processes a rule sees.
#include <signal.h>

#include <set>

#include "integration/harness.h"

namespace mgt {
namespace {

class MatchTest : public IntegrationTest {
 protected:
  std::set<std::string> pids_of(const Scrape& s, const std::string& rule) const {
    std::set<std::string> pids;
    for (const auto& sample : s.find("memoryguard_process_pss_bytes", {{"rule", rule}})) {
      pids.insert(sample.labels.at("pid"));
    }
    return pids;
  }
};

TEST_F(MatchTest, EachRuleSeesExactlyItsProcesses) {
  Helper& hog_proc = hog(5);
  Helper& sleeper = spawn_helper("mgt_sleeper", {"--mib=5"});
  Helper& family = spawn_helper("mgt_shared", {"--mib=8", "--children=2"});
  ASSERT_EQ(family.children.size(), 2u);
  const std::string pid_file = path("family.pid");
  write_file(pid_file, std::to_string(family.pid()) + "\n");

  Agent& agent =
      start_agent(write_config("interval: 100ms\n"
                               "rules:\n"
                               "  - name: by_exe\n"
                               "    match: { exe: '/mgt_sleeper$', cmdline: '" +
                               token() +
                               "' }\n"
                               "    limit: 1Gi\n"
                               "  - name: by_not\n"
                               "    match: { name: '^mgt_', cmdline: '" +
                               token() +
                               "', not: { name: 'sleeper|shared' } }\n"
                               "    limit: 1Gi\n"
                               "  - name: by_user\n"
                               "    match: { user: root, name: '^mgt_(hog|sleeper)$', cmdline: '" +
                               token() +
                               "' }\n"
                               "    limit: 1Gi\n"
                               "  - name: by_pid_file\n"
                               "    match: { pid_file: " +
                               pid_file +
                               " }\n"
                               "    limit: 1Gi\n"
                               "  - name: with_children\n"
                               "    match: { pid_file: " +
                               pid_file +
                               " }\n"
                               "    children: true\n"
                               "    limit: 1Gi\n"));

  const auto p = [](const Helper& h) { return std::to_string(h.pid()); };
  const std::map<std::string, std::set<std::string>> expected{
      {"by_exe", {p(sleeper)}},
      {"by_not", {p(hog_proc)}},
      {"by_user", {p(hog_proc), p(sleeper)}},
      {"by_pid_file", {p(family)}},
      {"with_children",
       {p(family), std::to_string(family.children[0].pid()),
        std::to_string(family.children[1].pid())}},
  };
  const Scrape s = agent.wait_for_metrics(
      [&](const Scrape& s) {
        for (const auto& [rule, pids] : expected) {
          if (pids_of(s, rule) != pids) return false;
        }
        return true;
      },
      5s);
  for (const auto& [rule, pids] : expected) {
    EXPECT_EQ(pids_of(s, rule), pids) << rule;
    EXPECT_EQ(s.value("memoryguard_rule_processes", {{"rule", rule}}),
              static_cast<double>(pids.size()))
        << rule;
  }
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

}  // namespace
}  // namespace mgt
