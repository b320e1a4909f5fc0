// The judge with conditions beside a limit on processes: every condition a
// rule gives must hold; host-wide conditions alone take one victim at a time
// in victim order; a working set acts per cgroup, one victim a round; and
// memoryguard_condition_fired_total counts each condition's onsets once.
#include <gtest/gtest.h>

#include <algorithm>

#include "judge/rule_judge.h"

namespace mg {
namespace {

using namespace std::chrono_literals;
constexpr std::uint64_t kMi = 1024 * 1024;

Candidate cand(pid_t pid, std::uint64_t bytes, std::uint64_t limit = 0,
               std::optional<CgroupRef> cgroup = std::nullopt) {
  Candidate c;
  c.id = {pid, static_cast<std::uint64_t>(pid) * 10};
  c.name = "p" + std::to_string(pid);
  c.bytes = bytes;
  c.limit = limit;
  c.cgroup = std::move(cgroup);
  return c;
}

ConditionState state(ConditionKind kind, bool holds, std::string text = "t") {
  return {kind, holds, std::move(text)};
}

std::vector<pid_t> victims(const JudgeResult& r) {
  std::vector<pid_t> out;
  for (const auto& a : r.actions) out.push_back(a.victim.pid);
  return out;
}

std::size_t fired(const JudgeResult& r, ConditionKind kind) {
  return static_cast<std::size_t>(std::count(r.fired.begin(), r.fired.end(), kind));
}

class JudgeConditionsTest : public ::testing::Test {
 protected:
  ManualClock clock;
  RuleJudge judge{clock};
  JudgeResult run(const RuleSpec& rule, std::vector<Candidate> c, const ConditionInputs& in) {
    return judge.judge(rule, c, in);
  }
};

RuleSpec available_rule() {
  RuleSpec r;
  r.name = "short";
  r.available = AvailableSpec{};
  r.available->below.percent = 5;
  return r;
}

TEST_F(JudgeConditionsTest, HostConditionAloneTakesTheLargestOneAtATime) {
  const RuleSpec rule = available_rule();
  ConditionInputs low;
  low.host = {state(ConditionKind::kAvailable, true, "MemAvailable 1GiB (4.0%) < 5%")};
  auto r = run(rule, {cand(1, 10 * kMi), cand(2, 300 * kMi), cand(3, 50 * kMi)}, low);
  EXPECT_EQ(victims(r), std::vector<pid_t>{2}) << "one victim, the largest";
  EXPECT_EQ(r.exceeded, 1u);
  EXPECT_EQ(fired(r, ConditionKind::kAvailable), 1u);
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].trigger, "MemAvailable 1GiB (4.0%) < 5%");
  EXPECT_EQ(r.actions[0].bytes, 300 * kMi) << "the victim's own figure";
  EXPECT_EQ(r.actions[0].limit, 0u);
  EXPECT_FALSE(r.actions[0].recheck_figure) << "its PSS says nothing of MemAvailable";

  // The victim is still dying: the unit waits for it before taking another.
  auto c = cand(2, 300 * kMi);
  c.in_flight = true;
  clock.advance(100ms);
  auto waiting = run(rule, {cand(1, 10 * kMi), c, cand(3, 50 * kMi)}, low);
  EXPECT_TRUE(waiting.actions.empty());
  EXPECT_EQ(fired(waiting, ConditionKind::kAvailable), 0u) << "the same episode";
  // Gone, and still short: the next largest.
  clock.advance(100ms);
  EXPECT_EQ(victims(run(rule, {cand(1, 10 * kMi), cand(3, 50 * kMi)}, low)), std::vector<pid_t>{3});
  // Back above the line: nothing, and a later drop is a new onset.
  ConditionInputs fine;
  fine.host = {state(ConditionKind::kAvailable, false)};
  clock.advance(100ms);
  EXPECT_TRUE(run(rule, {cand(1, 10 * kMi)}, fine).actions.empty());
  clock.advance(100ms);
  auto again = run(rule, {cand(1, 10 * kMi)}, low);
  EXPECT_EQ(fired(again, ConditionKind::kAvailable), 1u);
  EXPECT_EQ(victims(again), std::vector<pid_t>{1});
}

TEST_F(JudgeConditionsTest, VictimOrderAppliesToHostConditions) {
  RuleSpec rule = available_rule();
  rule.victim = Victim::kNewest;
  ConditionInputs low;
  low.host = {state(ConditionKind::kAvailable, true)};
  EXPECT_EQ(victims(run(rule, {cand(5, 300 * kMi), cand(9, 1 * kMi), cand(7, 2 * kMi)}, low)),
            std::vector<pid_t>{9});
}

TEST_F(JudgeConditionsTest, ForHoldsOverTheWholeSetOfConditions) {
  RuleSpec rule = available_rule();
  rule.for_duration = 2s;
  ConditionInputs low;
  low.host = {state(ConditionKind::kAvailable, true)};
  EXPECT_TRUE(run(rule, {cand(1, kMi)}, low).actions.empty());
  clock.advance(1999ms);
  EXPECT_TRUE(run(rule, {cand(1, kMi)}, low).actions.empty());
  clock.advance(1ms);
  EXPECT_EQ(victims(run(rule, {cand(1, kMi)}, low)), std::vector<pid_t>{1});
}

TEST_F(JudgeConditionsTest, ALimitWaitsForTheHostConditionsToHoldToo) {
  RuleSpec rule;
  rule.name = "both";
  rule.limit.bytes = 100 * kMi;
  rule.available = AvailableSpec{};
  ConditionInputs fine;
  fine.host = {state(ConditionKind::kAvailable, false)};
  auto r = run(rule, {cand(1, 200 * kMi, 100 * kMi), cand(2, 50 * kMi, 100 * kMi)}, fine);
  EXPECT_TRUE(r.actions.empty());
  ASSERT_EQ(r.verdicts.size(), 2u);
  EXPECT_EQ(r.verdicts[0].kind, VerdictKind::kUnmet);
  EXPECT_EQ(r.verdicts[1].kind, VerdictKind::kUnder);
  EXPECT_EQ(r.exceeded, 0u) << "not every condition held";
  EXPECT_EQ(fired(r, ConditionKind::kLimit), 1u) << "the limit's own onset still counts";

  ConditionInputs low;
  low.host = {state(ConditionKind::kAvailable, true, "MemAvailable low")};
  clock.advance(1s);
  auto acted = run(rule, {cand(1, 200 * kMi, 100 * kMi), cand(2, 50 * kMi, 100 * kMi)}, low);
  EXPECT_EQ(victims(acted), std::vector<pid_t>{1});
  EXPECT_EQ(acted.exceeded, 1u);
  EXPECT_EQ(fired(acted, ConditionKind::kLimit), 0u) << "still the same limit episode";
  EXPECT_EQ(fired(acted, ConditionKind::kAvailable), 1u);
  EXPECT_EQ(acted.actions[0].trigger, "pss 200MiB > 100MiB; MemAvailable low");
  EXPECT_TRUE(acted.actions[0].recheck_figure);
}

TEST_F(JudgeConditionsTest, WorkingSetActsPerCgroupOneVictimARound) {
  RuleSpec rule;
  rule.name = "ws";
  rule.scope = Scope::kCgroup;
  rule.measure = Measure::kWorkingSet;
  rule.limit.percent = 90;
  const CgroupRef a{true, "/a"}, b{true, "/b"};
  ConditionInputs in;
  in.cgroups[group_key(Scope::kCgroup, a)] = {
      {state(ConditionKind::kWorkingSet, true, "working_set 95MiB > 90MiB")}, 95 * kMi, 90 * kMi};
  in.cgroups[group_key(Scope::kCgroup, b)] = {
      {state(ConditionKind::kWorkingSet, false)}, 10 * kMi, 90 * kMi};
  auto r = run(rule,
               {cand(1, 30 * kMi, 0, a), cand(2, 40 * kMi, 0, a), cand(3, 20 * kMi, 0, a),
                cand(4, 80 * kMi, 0, b)},
               in);
  EXPECT_EQ(victims(r), std::vector<pid_t>{2}) << "the largest PSS of the cgroup over, only one";
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].bytes, 95 * kMi) << "the working set";
  EXPECT_EQ(r.actions[0].limit, 90 * kMi);
  EXPECT_EQ(r.actions[0].trigger, "working_set 95MiB > 90MiB");
  EXPECT_FALSE(r.actions[0].recheck_figure);
  EXPECT_EQ(fired(r, ConditionKind::kWorkingSet), 1u);
  for (const Verdict& v : r.verdicts) {
    if (v.id.pid == 4) {
      EXPECT_EQ(v.kind, VerdictKind::kUnder);
      EXPECT_EQ(v.limit, 90 * kMi) << "verdicts show the working set's limit";
    }
  }
}

TEST_F(JudgeConditionsTest, CgroupPressureAndHostAvailableMustBothHold) {
  RuleSpec rule;
  rule.name = "p";
  rule.scope = Scope::kCgroup;
  rule.pressure = PressureSpec{};
  rule.available = AvailableSpec{};
  const CgroupRef a{true, "/a"};
  ConditionInputs in;
  in.cgroups[group_key(Scope::kCgroup, a)] = {{state(ConditionKind::kPressure, true)}, 0, 0};
  in.host = {state(ConditionKind::kAvailable, false)};
  EXPECT_TRUE(run(rule, {cand(1, kMi, 0, a)}, in).actions.empty());
  in.host = {state(ConditionKind::kAvailable, true)};
  clock.advance(1s);
  EXPECT_EQ(victims(run(rule, {cand(1, kMi, 0, a)}, in)), std::vector<pid_t>{1});
}

TEST_F(JudgeConditionsTest, AGroupSumLimitStillTakesUntilUnder) {
  RuleSpec rule;
  rule.name = "g";
  rule.scope = Scope::kGroup;
  rule.limit.bytes = 60 * kMi;
  rule.pressure = PressureSpec{};
  ConditionInputs in;
  in.host = {state(ConditionKind::kPressure, true)};
  auto r = run(
      rule, {cand(1, 60 * kMi, 60 * kMi), cand(2, 50 * kMi, 60 * kMi), cand(3, 40 * kMi, 60 * kMi)},
      in);
  EXPECT_EQ(victims(r), (std::vector<pid_t>{1, 2})) << "150 - 60 = 90 is not enough: two go";
}

TEST_F(JudgeConditionsTest, ARuleAtDryRunReportsOncePerBackoff) {
  RuleSpec rule = available_rule();
  rule.dry_run = true;
  ConditionInputs low;
  low.host = {state(ConditionKind::kAvailable, true)};
  EXPECT_EQ(run(rule, {cand(1, kMi), cand(2, 2 * kMi)}, low).actions.size(), 1u);
  clock.advance(1s);
  EXPECT_TRUE(run(rule, {cand(1, kMi), cand(2, 2 * kMi)}, low).actions.empty())
      << "nothing dies under dry-run: not a new would-be victim every check";
}

}  // namespace
}  // namespace mg
