// The looks between full checks: when a process is looked at again, and that
// a leak is caught soon after it crosses its limit, on a ManualClock.
#include "engine/fast_check_schedule.h"

#include <gtest/gtest.h>

#include <cmath>

namespace mg {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
constexpr std::uint64_t kMiB = 1024 * 1024;

TEST(FastCheckPeriod, NothingNearAndNothingGrowingWaitsForTheFullCheck) {
  EXPECT_FALSE(fast_check_period(100 * kMiB, 1000 * kMiB, 0, seconds(1)));
  // Growing, but its headroom lasts far beyond the next full check.
  EXPECT_FALSE(fast_check_period(100 * kMiB, 1000 * kMiB, 1.0 * kMiB, seconds(1)));
  // Shrinking.
  EXPECT_FALSE(fast_check_period(100 * kMiB, 1000 * kMiB, -50.0 * kMiB, seconds(1)));
}

TEST(FastCheckPeriod, OverOrWithoutALimitIsLeftToTheJudge) {
  EXPECT_FALSE(fast_check_period(1001 * kMiB, 1000 * kMiB, 100.0 * kMiB, seconds(1)));
  EXPECT_FALSE(fast_check_period(10 * kMiB, 0, 100.0 * kMiB, seconds(1)));
}

TEST(FastCheckPeriod, NearTheLimitIsLookedAtSeveralTimesAnInterval) {
  auto p = fast_check_period(950 * kMiB, 1000 * kMiB, 0, seconds(1));
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, milliseconds(250));
}

TEST(FastCheckPeriod, ShrinksWithHeadroomOverGrowth) {
  // 100 MiB of headroom at 100 MiB/s: look again when half may be gone.
  auto p = fast_check_period(400 * kMiB, 500 * kMiB, 100.0 * kMiB, seconds(1));
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, milliseconds(500));
  auto closer = fast_check_period(490 * kMiB, 500 * kMiB, 100.0 * kMiB, seconds(1));
  ASSERT_TRUE(closer);
  EXPECT_EQ(*closer, milliseconds(50));
}

TEST(FastCheckPeriod, NeverBelowTheFloor) {
  auto p = fast_check_period(500 * kMiB - 4096, 500 * kMiB, 1e12, seconds(1));
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, milliseconds(10));
}

TEST(FastCheckPeriod, ATinyGrowthRateDoesNotOverflow) {
  EXPECT_FALSE(fast_check_period(1, std::uint64_t{1} << 62, 1e-300, seconds(1)));
}

TEST(FastCheckScheduleTest, RunsOnlyDueItemsAndDropsThoseItIsToldTo) {
  ManualClock clock;
  FastCheckSchedule schedule;
  const TimePoint t0 = clock.now();
  schedule.add({{10, 1}, 0, 100, Measure::kRss, t0 + milliseconds(20)});
  schedule.add({{11, 1}, 0, 100, Measure::kRss, t0 + milliseconds(50)});
  schedule.add({{12, 1}, 0, 100, Measure::kRss, t0 + milliseconds(30)});
  EXPECT_EQ(*schedule.next_due(), t0 + milliseconds(20));

  clock.advance(milliseconds(35));
  std::vector<pid_t> looked;
  schedule.run_due(clock.now(), [&](const FastCheckSchedule::Item& item) {
    looked.push_back(item.id.pid);
    return item.id.pid == 10 ? std::optional<TimePoint>(clock.now() + milliseconds(100))
                             : std::nullopt;
  });
  std::sort(looked.begin(), looked.end());
  EXPECT_EQ(looked, (std::vector<pid_t>{10, 12}));
  EXPECT_EQ(schedule.size(), 2u);
  EXPECT_EQ(*schedule.next_due(), t0 + milliseconds(50));
  schedule.clear();
  EXPECT_FALSE(schedule.next_due());
}

// A leak at a steady rate, looked at only as the schedule says: the look that
// sees it over its limit comes within the floor period of the crossing, and
// it takes a handful of looks, not one every 10ms for the whole interval.
TEST(FastCheckScheduleTest, ALeakIsSeenSoonAfterItCrossesWithFewLooks) {
  for (double rate_mib : {5.0, 50.0, 400.0, 3000.0}) {
    SCOPED_TRACE(rate_mib);
    ManualClock clock;
    const Duration interval = seconds(1);
    const std::uint64_t limit = 512 * kMiB;
    const double rate = rate_mib * kMiB;
    // Where it stood at the last full check: one interval of growth short of
    // the limit, or less.
    const double start = std::max(0.0, static_cast<double>(limit) - rate * 0.9);
    const TimePoint t0 = clock.now();
    auto bytes_at = [&](TimePoint t) {
      return static_cast<std::uint64_t>(start +
                                        rate * std::chrono::duration<double>(t - t0).count());
    };
    const double crossing_s = (static_cast<double>(limit) - start) / rate;
    int looks = 0;
    std::optional<TimePoint> seen;
    auto period = fast_check_period(bytes_at(t0), limit, rate, interval);
    ASSERT_TRUE(period);
    TimePoint due = t0 + *period;
    while (!seen && due < t0 + interval) {
      clock.advance(due - clock.now());
      ++looks;
      const std::uint64_t b = bytes_at(clock.now());
      if (b > limit) {
        seen = clock.now();
        break;
      }
      period = fast_check_period(b, limit, rate, interval);
      ASSERT_TRUE(period);
      due = clock.now() + *period;
    }
    ASSERT_TRUE(seen) << "the crossing at " << crossing_s
                      << "s was not seen before the next full check";
    const double late = std::chrono::duration<double>(*seen - t0).count() - crossing_s;
    EXPECT_GE(late, 0.0);
    EXPECT_LE(late, 0.0105);
    EXPECT_LE(looks, 20);
  }
}

}  // namespace
}  // namespace mg
