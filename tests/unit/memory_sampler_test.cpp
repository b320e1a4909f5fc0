// When the sampler reads smaps_rollup (costly: the target's mmap lock) and
// when the cheap statm figure is enough.
#include "measure/memory_sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

#include "fake_proc.h"

namespace mg {
namespace {

using testutil::FakeProcess;
using testutil::FixtureTree;
using namespace std::chrono_literals;
constexpr std::uint64_t kMi = 1024 * 1024;

class MemorySamplerTest : public ::testing::Test {
 protected:
  // A process the table has just found: young, so walked on schedule
  // whatever moved (see WalkSkip below for a settled one).
  void SetUp() override {
    set(100 * 1024, 30 * 1024);
    process.first_seen_at = clock.now();
  }
  // Rewrites the fake process's statm and smaps_rollup.
  void set(std::uint64_t rss_kib, std::uint64_t pss_kib, std::uint64_t private_kib = 4096) {
    FakeProcess f;
    f.rss_kib = rss_kib;
    f.pss_kib = pss_kib;
    f.private_kib = private_kib;
    for (const auto& e : f.entries()) tree.add(e);
    process.id = {f.pid, f.start_time};
    process.stat.pid = f.pid;
  }
  const MemoryFigures& sample(DetailDemand d) {
    EXPECT_TRUE(sampler.refresh_rss(process, errors));
    sampler.refresh_detail(process, d, errors);
    return *sampler.figures(process.id.pid);
  }
  DetailDemand judged_at(std::uint64_t threshold) {
    DetailDemand d;
    d.wanted = true;
    d.threshold = threshold;
    return d;
  }

  FixtureTree tree;
  ProcFs proc{tree.root()};
  ManualClock clock;
  MemorySampler sampler{proc, clock, 15s};
  Process process;
  ScanErrors errors;
};

TEST_F(MemorySamplerTest, FirstSightReadsTheRollupOnce) {
  const auto& f = sample(judged_at(500 * kMi));
  EXPECT_EQ(f.pss, 30 * kMi);
  EXPECT_EQ(f.rss, 100 * kMi);
  EXPECT_TRUE(f.fresh);
  EXPECT_EQ(sampler.stats().rollup_reads, 1u);
}

TEST_F(MemorySamplerTest, RssUnderTheLimitNeedsNoRollupUntilStale) {
  sample(judged_at(500 * kMi));
  // The first refresh falls in the second half of stats_frequency (where,
  // from the pid), so that processes first read together spread out...
  int first_refresh_at = 0;
  for (int t = 1; t <= 15 && first_refresh_at == 0; ++t) {
    clock.advance(1s);
    if (sample(judged_at(500 * kMi)).fresh) first_refresh_at = t;
  }
  ASSERT_NE(first_refresh_at, 0) << "the gauges may not get older than stats_frequency";
  EXPECT_GE(first_refresh_at, 7);
  EXPECT_EQ(sampler.stats().rollup_reads, 2u);
  // ...and from then on every stats_frequency exactly.
  for (int i = 0; i < 14; ++i) {
    clock.advance(1s);
    EXPECT_FALSE(sample(judged_at(500 * kMi)).fresh);
  }
  clock.advance(1s);
  EXPECT_TRUE(sample(judged_at(500 * kMi)).fresh);
  EXPECT_EQ(sampler.stats().rollup_reads, 3u);
}

TEST_F(MemorySamplerTest, ProcessesFirstReadTogetherAreRefreshedAtDifferentChecks) {
  std::vector<Process> many;
  for (int pid = 200; pid < 260; ++pid) {
    FakeProcess f;
    f.pid = pid;
    for (const auto& e : f.entries()) tree.add(e);
    Process p;
    p.id = {f.pid, f.start_time};
    p.stat.pid = f.pid;
    p.first_seen_at = clock.now();
    many.push_back(p);
  }
  std::map<int, int> refreshed_at;  // second -> processes refreshed then
  for (int t = 0; t <= 15; ++t) {
    for (const Process& p : many) {
      ASSERT_TRUE(sampler.refresh_rss(p, errors));
      sampler.refresh_detail(p, judged_at(500 * kMi), errors);
      if (t > 0 && sampler.figures(p.id.pid)->fresh) ++refreshed_at[t];
    }
    clock.advance(1s);
  }
  int total = 0;
  int most = 0;
  for (const auto& [t, n] : refreshed_at) {
    total += n;
    most = std::max(most, n);
  }
  EXPECT_EQ(total, 60) << "each refreshed once within stats_frequency";
  EXPECT_LE(most, 20) << "a third of them or more were refreshed by one check";
}

TEST_F(MemorySamplerTest, GrowthThatCouldCrossTheLimitForcesARead) {
  sample(judged_at(60 * kMi));  // PSS 30 of RSS 100: RSS over, PSS well under
  clock.advance(1s);
  // RSS grew by 40 MiB; PSS may have grown as much: 70 > 60, read it now.
  set(140 * 1024, 65 * 1024);
  const auto& f = sample(judged_at(60 * kMi));
  EXPECT_TRUE(f.fresh);
  EXPECT_EQ(f.pss, 65 * kMi);
}

TEST_F(MemorySamplerTest, BetweenReadsTheEstimateIsLastPssPlusRssGrowth) {
  sample(judged_at(500 * kMi));
  set(110 * 1024, 99 * 1024);  // the rollup would say 99, but is not read
  clock.advance(1s);
  const auto& f = sample(judged_at(500 * kMi));
  EXPECT_FALSE(f.fresh);
  EXPECT_EQ(f.pss, 40 * kMi);  // 30 + (110 - 100)
}

TEST_F(MemorySamplerTest, RssOnlyRulesNeverReadTheRollup) {
  DetailDemand rss_only;  // wanted = false
  sample(rss_only);
  clock.advance(1min);
  sample(rss_only);
  EXPECT_EQ(sampler.stats().rollup_reads, 0u);
}

TEST_F(MemorySamplerTest, AVanishedProcessIsCountedNotFatal) {
  Process gone;
  gone.id = {4242, 1};
  EXPECT_FALSE(sampler.refresh_rss(gone, errors));
  EXPECT_EQ(errors.vanished, 1u);
  EXPECT_EQ(sampler.figures(4242), nullptr);
}

// Every reading of the clock is 100 ms later than the one before: each
// rollup read "takes" 100 ms, as one of a 4 GiB process's does under load.
class SlowReadClock final : public Clock {
 public:
  TimePoint now() const override { return now_ += std::chrono::milliseconds(100); }
  double unix_seconds() const override { return 1.7e9; }
  void advance(Duration d) { now_ += d; }

 private:
  mutable TimePoint now_{std::chrono::seconds(1000)};
};

TEST(MemorySamplerDuty, RefreshingAStaleFigureStaysWithinTheOnePercentBudget) {
  FixtureTree tree;
  FakeProcess f;
  f.rss_kib = 4 * 1024 * 1024;
  f.pss_kib = 4 * 1024 * 1024;
  for (const auto& e : f.entries()) tree.add(e);
  Process process;
  process.id = {f.pid, f.start_time};
  process.stat.pid = f.pid;
  ProcFs proc{tree.root()};
  SlowReadClock clock;
  MemorySampler sampler{proc, clock, 1s};  // stats_frequency 1s: stale after every check
  ScanErrors errors;
  DetailDemand gauges_only;
  gauges_only.wanted = true;
  // Ten minutes of checks at 1 s, of a process whose RSS moves by a page at
  // each: its walks are never skipped, so only the duty budget spaces them.
  const std::string statm = std::to_string(f.pid) + "/statm";
  for (int i = 0; i < 600; ++i) {
    tree.write(statm, "2000000 " + std::to_string(1024 * 1024 + i % 2) + " 100 10 0 500 0\n");
    ASSERT_TRUE(sampler.refresh_rss(process, errors));
    sampler.refresh_detail(process, gauges_only, errors);
    clock.advance(std::chrono::milliseconds(700));  // with the 3 readings above, 1 s a check
  }
  const auto& stats = sampler.stats();
  const double duty = std::chrono::duration<double>(stats.rollup_time).count() / 600.0;
  EXPECT_LE(duty, 0.011) << stats.rollup_reads << " reads";
  EXPECT_GE(stats.rollup_reads, 30u) << "the gauge is still refreshed, only less often";
}

// A settled process (found long ago) whose figure is stale: walked again only
// when something that moves PSS moved.
class WalkSkip : public MemorySamplerTest {
 protected:
  // Its PSS is nearly all its own: what it shares (50 KiB of PSS for 70 MiB
  // resident) is mapped by most of the host, and no one more can move it.
  void SetUp() override {
    set(100 * 1024, 30 * 1024, 30 * 1024 - 50);
    process.first_seen_at = clock.now() - 1h;
    sample(gauges());  // the first walk
  }
  static DetailDemand gauges() {
    DetailDemand d;
    d.wanted = true;
    return d;
  }
  // One check a second for `seconds`; how many of them walked.
  int walks_over(int seconds, DetailDemand d = gauges()) {
    int walks = 0;
    for (int t = 0; t < seconds; ++t) {
      clock.advance(1s);
      walks += sample(d).fresh ? 1 : 0;
    }
    return walks;
  }
};

TEST_F(WalkSkip, AnUnchangedProcessIsWalkedOnlyAtTheCeilingAndTheSkipsAreCounted) {
  // 150 s = kMaxSkippedFor stats_frequency periods: the first stale check
  // (within 15 s) and every later one until the ceiling skip.
  EXPECT_EQ(walks_over(149), 0);
  EXPECT_EQ(sampler.stats().rollup_reads, 1u);
  EXPECT_GE(sampler.stats().rollup_reads_skipped, 9u);
  EXPECT_LE(sampler.stats().rollup_reads_skipped, 10u) << "one skip per stale period";
  EXPECT_EQ(walks_over(2), 1) << "the ceiling: at least every 10 stats_frequency periods";
}

TEST_F(WalkSkip, ItsOwnStatmMovingMeansAWalkAtTheNextStalePeriod) {
  EXPECT_EQ(walks_over(16), 0);
  set(100 * 1024 + 4, 31 * 1024, 31 * 1024 - 50);  // one page more
  const int walks = walks_over(16);
  EXPECT_EQ(walks, 1);
  EXPECT_EQ(sampler.figures(process.id.pid)->pss, 31 * kMi) << "the walk's figure, not an estimate";
}

TEST_F(WalkSkip, ASharerMovingMeansAWalk) {
  EXPECT_EQ(walks_over(16), 0);
  // Another process of its program (comm "worker", not under the table's
  // watch here) changed its mappings.
  Process sibling = process;
  sibling.id = {process.id.pid + 1, process.id.start_time};
  sibling.stat.pid = sibling.id.pid;
  FakeProcess f;
  f.pid = sibling.id.pid;
  for (const auto& e : f.entries()) tree.add(e);
  ASSERT_TRUE(sampler.refresh_rss(sibling, errors));
  f.rss_kib += 4;
  for (const auto& e : f.entries()) tree.add(e);
  ASSERT_TRUE(sampler.refresh_rss(sibling, errors));
  EXPECT_EQ(walks_over(16), 1);
}

TEST_F(WalkSkip, JudgingIsNeverSkipped) {
  // RSS 100 MiB is at the 90 MiB limit it is judged against: walked as the
  // duty budget allows, whatever the pools say.
  DetailDemand judged = gauges();
  judged.threshold = 90 * kMi;
  EXPECT_GE(walks_over(16, judged), 1);
  EXPECT_EQ(sampler.stats().rollup_reads_skipped, 0u);
}

}  // namespace
}  // namespace mg
