// Each condition on its own, from a reading to whether it holds and what it
// says, as the action's log line, --once and --check-config show it.
#include <gtest/gtest.h>

#include "judge/conditions/available_condition.h"
#include "judge/conditions/limit_condition.h"
#include "judge/conditions/pressure_condition.h"
#include "judge/conditions/working_set_condition.h"

namespace mg {
namespace {

constexpr std::uint64_t kMi = 1024 * 1024;

Pressure psi(double some10, std::optional<double> full10, double some60 = 0) {
  Pressure p;
  p.some = {some10, some60, 0, 0};
  if (full10) p.full = PressureLine{*full10, 0, 0, 0};
  return p;
}

TEST(LimitCondition, OverOnlyPastTheLimit) {
  auto over = limit_condition(Measure::kPss, 101 * kMi, 100 * kMi, false);
  EXPECT_TRUE(over.holds);
  EXPECT_EQ(over.kind, ConditionKind::kLimit);
  EXPECT_EQ(over.text, "pss 101MiB > 100MiB");
  EXPECT_FALSE(limit_condition(Measure::kRss, 100 * kMi, 100 * kMi, false).holds);
  EXPECT_EQ(limit_condition(Measure::kUss, 10 * kMi, 100 * kMi, true).text,
            "uss sum 10MiB <= 100MiB");
  EXPECT_FALSE(limit_condition(Measure::kPss, 10 * kMi, 0, false).holds) << "0 is no limit";
}

TEST(WorkingSetCondition, BytesAndPercentOfTheEffectiveLimit) {
  CgroupMemoryReading r{{300 * kMi, 100 * kMi}, 250 * kMi};  // working set 200 MiB
  LimitSpec bytes;
  bytes.bytes = 150 * kMi;
  auto b = working_set_condition(bytes, r);
  EXPECT_TRUE(b.state.holds);
  EXPECT_EQ(b.bytes, 200 * kMi);
  EXPECT_EQ(b.limit, 150 * kMi);
  EXPECT_EQ(b.state.text, "working_set 200MiB > 150MiB");

  LimitSpec pct;
  pct.percent = 90;  // of 250 MiB: 225 MiB
  auto p = working_set_condition(pct, r);
  EXPECT_FALSE(p.state.holds);
  EXPECT_EQ(p.limit, 225 * kMi);
  EXPECT_EQ(p.state.text, "working_set 200MiB <= 225MiB (90% of 250MiB)");
  pct.percent = 75;  // 187.5 MiB
  EXPECT_TRUE(working_set_condition(pct, r).state.holds);
}

TEST(WorkingSetCondition, UnknownOrUnlimitedNeverHolds) {
  LimitSpec pct;
  pct.percent = 50;
  auto unknown = working_set_condition(pct, std::nullopt);
  EXPECT_FALSE(unknown.state.holds);
  EXPECT_NE(unknown.state.text.find("unknown"), std::string::npos);
  CgroupMemoryReading unlimited{{300 * kMi, 0}, std::nullopt};
  auto none = working_set_condition(pct, unlimited);
  EXPECT_FALSE(none.state.holds) << "a % of no limit is nothing to compare";
  EXPECT_EQ(none.limit, 0u);
  EXPECT_NE(none.state.text.find("no memory limit"), std::string::npos) << none.state.text;
}

TEST(PressureCondition, SomeFullAndBoth) {
  PressureSpec some;
  some.some = 20;
  EXPECT_TRUE(pressure_condition(some, psi(20.0, 0.0), "host").holds) << "at the threshold holds";
  EXPECT_FALSE(pressure_condition(some, psi(19.99, 50.0), "host").holds);
  EXPECT_EQ(pressure_condition(some, psi(31.2, 0.0), "cgroup").text,
            "cgroup pressure some avg10 31.20% >= 20.00%");

  PressureSpec both;
  both.some = 20;
  both.full = 5;
  EXPECT_FALSE(pressure_condition(both, psi(50, 4.0), "host").holds) << "every threshold given";
  auto held = pressure_condition(both, psi(50, 6.0), "host");
  EXPECT_TRUE(held.holds);
  EXPECT_EQ(held.text, "host pressure some avg10 50.00% >= 20.00%, full avg10 6.00% >= 5.00%");
}

TEST(PressureCondition, TheRulesWindow) {
  PressureSpec spec;
  spec.some = 10;
  spec.window_seconds = 60;
  EXPECT_FALSE(pressure_condition(spec, psi(90, std::nullopt, 5), "host").holds)
      << "avg10 is high, avg60 is what the rule reads";
  EXPECT_TRUE(pressure_condition(spec, psi(0, std::nullopt, 12), "host").holds);
}

TEST(PressureCondition, MissingFullLineOrReadingNeverHolds) {
  PressureSpec full;
  full.full = 1;
  auto no_full = pressure_condition(full, psi(99, std::nullopt), "host");
  EXPECT_FALSE(no_full.holds);
  EXPECT_NE(no_full.text.find("full unknown"), std::string::npos) << no_full.text;
  EXPECT_FALSE(pressure_condition(full, std::nullopt, "cgroup").holds);
}

TEST(AvailableCondition, BytesAndPercentOfMemTotal) {
  MemInfo info{1000 * kMi, 40 * kMi};  // 4%
  AvailableSpec pct;
  pct.below.percent = 5;
  auto p = available_condition(pct, info);
  EXPECT_TRUE(p.holds);
  EXPECT_EQ(p.text, "MemAvailable 40MiB (4.0%) < 5% of MemTotal 1000MiB");
  AvailableSpec bytes;
  bytes.below.bytes = 40 * kMi;
  EXPECT_FALSE(available_condition(bytes, info).holds) << "below is strict";
  bytes.below.bytes = 40 * kMi + 1;
  EXPECT_TRUE(available_condition(bytes, info).holds);
}

TEST(AvailableCondition, UnknownNeverHolds) {
  AvailableSpec spec;
  spec.below.percent = 100;
  EXPECT_FALSE(available_condition(spec, std::nullopt).holds);
  EXPECT_FALSE(available_condition(spec, MemInfo{1000, std::nullopt}).holds);
}

}  // namespace
}  // namespace mg
