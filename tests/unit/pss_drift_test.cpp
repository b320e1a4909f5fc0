// When a stale PSS figure can do without a page walk: never when the
// process's own mappings moved, never past the ceiling, and, for a process
// that shares pages, only while the processes it shares them with are the
// same ones.
#include "measure/pss_drift.h"

#include <gtest/gtest.h>

namespace mg {
namespace {

using namespace std::chrono_literals;
constexpr std::uint64_t kKi = 1024;
constexpr Duration kStats = 15s;

class PssDriftTest : public ::testing::Test {
 protected:
  void SetUp() override {
    walk.statm = {10'000 * kKi, 800 * kKi, 600 * kKi, 40 * kKi, 300 * kKi};
    walk.pool = {7, 3, 0, 0, 5, 1000, 10'000};
    walk.at = TimePoint{} + 100s;
    walk.settled = true;
  }
  // A small forked worker: 300 KiB of its own, 500 KiB of libraries and
  // copy-on-write pages shared with others; of the 600 KiB of file pages
  // resident, 30 KiB of PSS (mapped by 20 processes on average).
  void sharing() { walk.usage = {800 * kKi, 350 * kKi, 300 * kKi, 0, 200 * kKi, 30 * kKi}; }
  // The same, exec'd: it shares files, and no anonymous page.
  void execd() { walk.usage = {800 * kKi, 350 * kKi, 300 * kKi, 0, 0, 30 * kKi}; }
  // A big process whose pages are nearly all its own.
  void private_mostly() {
    walk.statm.resident = 100'000 * kKi;
    walk.usage = {100'000 * kKi, 99'900 * kKi, 99'850 * kKi, 0, 0, 50 * kKi};
  }
  bool within(Duration after, const Statm& statm, const PoolMark& pool) const {
    return pss_within_one_percent(walk, statm, pool, walk.at + after, kStats);
  }
  bool within(Duration after) const { return within(after, walk.statm, walk.pool); }

  WalkBasis walk;
};

TEST_F(PssDriftTest, NothingMovedMeansNoWalkUntilTheCeiling) {
  sharing();
  EXPECT_TRUE(within(kStats));
  EXPECT_TRUE(within(kStats * kMaxSkippedFor - 1s));
  EXPECT_FALSE(within(kStats * kMaxSkippedFor)) << "every process is walked at least this often";
}

TEST_F(PssDriftTest, AnyChangeOfItsOwnStatmNeedsAWalk) {
  sharing();
  for (std::uint64_t Statm::*field :
       {&Statm::size, &Statm::resident, &Statm::shared, &Statm::text, &Statm::data}) {
    Statm now = walk.statm;
    now.*field += 4 * kKi;
    EXPECT_FALSE(within(kStats, now, walk.pool));
  }
}

TEST_F(PssDriftTest, AYoungProcessIsWalkedOnSchedule) {
  sharing();
  walk.settled = false;
  EXPECT_FALSE(within(kStats));
}

TEST_F(PssDriftTest, ASharerComingOrGoingNeedsAWalk) {
  sharing();
  PoolMark now = walk.pool;
  now.siblings += 1;  // a sibling forked or exited
  EXPECT_FALSE(within(kStats, walk.statm, now));
  now = walk.pool;
  now.program += 1;  // a process of its program came, went or mapped something
  EXPECT_FALSE(within(kStats, walk.statm, now));
  now = walk.pool;
  now.children += 1;
  EXPECT_FALSE(within(kStats, walk.statm, now));
  now = walk.pool;
  now.forks += 1;
  EXPECT_FALSE(within(kStats, walk.statm, now));
  now = walk.pool;
  now.ppid = 1;  // its parent exited: the pages it shared with it are its own now
  EXPECT_FALSE(within(kStats, walk.statm, now));
}

TEST_F(PssDriftTest, HostChurnCountsByTheShareOfItThatIsShared) {
  sharing();  // 50 KiB of its 350 KiB PSS is shared: 1% of it is 3.5 KiB
  PoolMark now = walk.pool;
  now.host_churn += 300;  // 3% of 10,000: moves the shared 50 KiB by ~1.5 KiB
  EXPECT_TRUE(within(kStats, walk.statm, now));
  now.host_churn = walk.pool.host_churn + 2000;  // 20%: ~10 KiB, 3% of its PSS
  EXPECT_FALSE(within(kStats, walk.statm, now));
  now = walk.pool;
  now.host_churn += 300;
  now.population = 100;  // the same births on a small host weigh a hundred times more
  EXPECT_FALSE(within(kStats, walk.statm, now));
}

TEST_F(PssDriftTest, AProcessOfItsOwnPagesIgnoresItsSharers) {
  private_mostly();
  PoolMark now = walk.pool;
  now.siblings += 5;
  now.program += 5;
  now.host_churn += 5000;
  EXPECT_TRUE(within(kStats, walk.statm, now))
      << "Rss - Pss and Pss - Uss under 1%: no sharer can move it by 1%";
  now.forks += 1;
  EXPECT_FALSE(within(kStats, walk.statm, now)) << "a fork shares its private pages";
}

TEST_F(PssDriftTest, AnExecdProcessIgnoresItsFamilyButNotItsProgram) {
  execd();
  PoolMark now = walk.pool;
  now.siblings += 3;  // a busy sibling, or a new one
  now.children += 3;  // an exec'd child came and went
  EXPECT_TRUE(within(kStats, walk.statm, now)) << "no copy-on-write page to share with them";
  now.forks += 1;
  EXPECT_FALSE(within(kStats, walk.statm, now)) << "its own fork shares its pages";
  now = walk.pool;
  now.program += 1;
  EXPECT_FALSE(within(kStats, walk.statm, now)) << "another of its program mapped its files";
  walk.usage.shared_anon.reset();  // a kernel without Pss_Anon: it may share
  now = walk.pool;
  now.siblings += 1;
  EXPECT_FALSE(within(kStats, walk.statm, now));
}

TEST_F(PssDriftTest, CleanPrivatePagesAnyoneCanShareMeanAWalk) {
  sharing();
  walk.usage.private_clean = 3 * kKi;  // under 1% of 350 KiB: at most 0.5% if shared
  EXPECT_TRUE(within(kStats));
  walk.usage.private_clean = 40 * kKi;  // a file only it has read: 6% if someone reads it too
  EXPECT_FALSE(within(kStats));
}

TEST_F(PssDriftTest, FilePagesSharedWithFewMeanAWalk) {
  sharing();
  // 250 KiB of PSS for its 600 KiB of file pages: 2.4 mappers on average,
  // and one more (a code path another process runs for the first time)
  // moves it by 73 KiB, a fifth of its PSS, unseen.
  walk.usage.pss_file = 250 * kKi;
  walk.usage.pss = 550 * kKi;
  EXPECT_FALSE(within(kStats));
  // Without Pss_File (before Linux 5.9) all its shared pages count as file
  // pages: 50 KiB of PSS for 500 KiB, one more mapper moves 4.5 KiB, 1.3%.
  sharing();
  walk.usage.pss_file.reset();
  EXPECT_FALSE(within(kStats));
}

TEST_F(PssDriftTest, NoWalkYetOrNoStatsFrequencyMeansWalk) {
  sharing();
  EXPECT_FALSE(pss_within_one_percent(walk, walk.statm, walk.pool, walk.at + kStats, 0s))
      << "--once: every figure is walked";
  WalkBasis none;
  EXPECT_FALSE(pss_within_one_percent(none, walk.statm, walk.pool, walk.at, kStats));
}

}  // namespace
}  // namespace mg
