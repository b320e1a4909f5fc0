// Limits compare against PSS, not RSS: four processes that share 120 MiB each
// have an RSS of 120 MiB but a PSS of 30 MiB.
#include <signal.h>

#include "integration/harness.h"

namespace mgt {
namespace {

class MeasureTest : public IntegrationTest {};

std::string shared_config(const std::string& rule, const std::string& match,
                          const std::string& measure) {
  return "interval: 100ms\n"
         "rules:\n"
         "  - name: " +
         rule +
         "\n"
         "    match: " +
         match +
         "\n"
         "    limit: 60Mi\n"
         "    measure: " +
         measure + "\n";
}

TEST_F(MeasureTest, SharedMemoryCountsOnceInPssButFourTimesInRss) {
  Helper& shared = spawn_helper("mgt_shared", {"--mib=120", "--children=3"});
  ASSERT_EQ(shared.children.size(), 3u);
  std::vector<const Proc*> all{&shared.proc};
  for (const auto& c : shared.children) all.push_back(&c);

  Agent& pss_agent =
      start_agent(write_config(shared_config("shared_pss", match_yaml("mgt_shared"), "pss")));
  const Scrape s = pss_agent.wait_for_metrics(
      [](const Scrape& s) {
        return s.find("memoryguard_process_pss_bytes", {{"rule", "shared_pss"}}).size() == 4;
      },
      5s);
  ASSERT_EQ(s.find("memoryguard_process_pss_bytes", {{"rule", "shared_pss"}}).size(), 4u);
  for (const Proc* p : all) {
    const std::map<std::string, std::string> labels{{"rule", "shared_pss"},
                                                    {"pid", std::to_string(p->pid())}};
    const double pss = s.value("memoryguard_process_pss_bytes", labels).value_or(-1);
    const double rss = s.value("memoryguard_process_rss_bytes", labels).value_or(-1);
    const double uss = s.value("memoryguard_process_uss_bytes", labels).value_or(-1);
    EXPECT_NEAR(pss, 30.0 * kMiB, 6.0 * kMiB) << "pid " << p->pid();
    EXPECT_NEAR(rss, 122.0 * kMiB, 8.0 * kMiB) << "pid " << p->pid();
    EXPECT_GE(uss, 0) << "pid " << p->pid();
    EXPECT_LT(uss, 10.0 * kMiB) << "pid " << p->pid() << ": the shared pages are not unique";
  }
  EXPECT_NEAR(s.value("memoryguard_rule_pss_bytes", {{"rule", "shared_pss"}}).value_or(-1),
              120.0 * kMiB, 12.0 * kMiB);
  EXPECT_EQ(s.value("memoryguard_rule_processes", {{"rule", "shared_pss"}}), 4.0);

  // Ten more intervals: with PSS, nobody is over 60Mi.
  sleep_for(1s);
  for (const Proc* p : all) EXPECT_TRUE(p->alive()) << "pid " << p->pid() << " was killed";
  const Scrape later = pss_agent.scrape();
  EXPECT_EQ(later.sum("memoryguard_kills_total", {{"rule", "shared_pss"}}), 0.0);
  EXPECT_EQ(later.value("memoryguard_limit_exceeded_total", {{"rule", "shared_pss"}}), 0.0);
  const auto exit = pss_agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);

  // The same limit against RSS: all four are over it.
  Agent& rss_agent = start_agent(
      write_config(shared_config("shared_rss", match_yaml("mgt_shared"), "rss"), "rss.yaml"));
  for (const Proc* p : all) EXPECT_TRUE(p->wait_dead(10s)) << "pid " << p->pid() << " survived";
  // The children are reaped by us only once their parent has died.
  for (const Proc* p : all) {
    const auto info = p->wait_reaped(5s);
    ASSERT_TRUE(info) << "pid " << p->pid();
    EXPECT_EQ(info->term_signal(), SIGKILL) << "pid " << p->pid() << " " << describe(*info);
  }
  const Scrape killed = rss_agent.wait_for_metrics(
      [](const Scrape& s) {
        return s.value("memoryguard_kills_total",
                       {{"rule", "shared_rss"}, {"signal", "SIGKILL"}}) == 4.0;
      },
      3s);
  EXPECT_EQ(
      killed.value("memoryguard_kills_total", {{"rule", "shared_rss"}, {"signal", "SIGKILL"}}),
      4.0);
  const auto rss_exit = rss_agent.stop();
  ASSERT_TRUE(rss_exit);
  EXPECT_EQ(rss_exit->exit_code(), 0) << describe(*rss_exit);
}

// The page walks that PSS costs are counted, with the time they held the
// walked process's mmap lock. A process far from its limit is walked once for
// its first figures and then only when its gauges grow older than
// stats_frequency.
TEST_F(MeasureTest, PageWalksAreCountedAndSpentOnlyOnStaleGauges) {
  Helper& h = hog(20);
  const auto config = [&](const std::string& stats_frequency) {
    return "interval: 100ms\nstats_frequency: " + stats_frequency +
           "\nrules:\n  - name: far\n    match: { name: '^mgt_hog$', cmdline: '" + token() +
           " --mib=20$' }\n    limit: 1Gi\n    measure: pss\n";
  };
  const auto after_checks = [](int n) {
    return [n](const Scrape& s) {
      return s.value("memoryguard_scan_duration_seconds_count").value_or(0) >= n;
    };
  };
  Agent& rare = start_agent(write_config(config("1h")));
  const Scrape once = rare.wait_for_metrics(after_checks(10), 5s);
  EXPECT_EQ(once.value("memoryguard_smaps_reads_total"), 1.0) << once.text();
  EXPECT_GT(once.value("memoryguard_smaps_read_seconds_total").value_or(0), 0.0);
  ASSERT_TRUE(rare.stop());

  Agent& often = start_agent(write_config(config("100ms"), "often.yaml"));
  // Stale after every check, the hog's rollup is read at most once a check;
  // the 1% lock budget spaces the reads out further after a slow one (a
  // read preempted for 10ms waits a second), so wait for the second.
  const Scrape s = often.wait_for_metrics(
      [](const Scrape& s) { return s.value("memoryguard_smaps_reads_total").value_or(0) >= 2; },
      10s);
  const double reads = s.value("memoryguard_smaps_reads_total").value_or(-1);
  EXPECT_GE(reads, 2.0);
  EXPECT_LE(reads, s.value("memoryguard_scan_duration_seconds_count").value_or(0) + 1);
  const double held = s.value("memoryguard_smaps_read_seconds_total").value_or(-1);
  EXPECT_GT(held, 0.0);
  EXPECT_LT(held, 0.5) << "a 20 MiB rollup takes well under a millisecond";
  EXPECT_TRUE(h.proc.alive());
  const auto exit = often.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

}  // namespace
}  // namespace mgt
