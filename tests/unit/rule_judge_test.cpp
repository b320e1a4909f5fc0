#include "judge/rule_judge.h"

#include <gtest/gtest.h>

namespace mg {
namespace {

using namespace std::chrono_literals;
constexpr std::uint64_t kMi = 1024 * 1024;

RuleSpec process_rule(std::uint64_t limit) {
  RuleSpec r;
  r.name = "r";
  r.limit.bytes = limit;
  return r;
}

Candidate cand(pid_t pid, std::uint64_t bytes, std::uint64_t limit, std::uint64_t start = 0) {
  Candidate c;
  c.id = {pid, start ? start : static_cast<std::uint64_t>(pid) * 10};
  c.name = "p" + std::to_string(pid);
  c.bytes = bytes;
  c.limit = limit;
  return c;
}

std::vector<pid_t> victims(const JudgeResult& r) {
  std::vector<pid_t> out;
  for (const auto& a : r.actions) out.push_back(a.victim.pid);
  return out;
}

class RuleJudgeTest : public ::testing::Test {
 protected:
  ManualClock clock;
  RuleJudge judge{clock};
  JudgeResult run(const RuleSpec& rule, std::vector<Candidate> c) { return judge.judge(rule, c); }
};

TEST_F(RuleJudgeTest, UnderTheLimitNothingHappens) {
  auto rule = process_rule(100 * kMi);
  auto r = run(rule, {cand(10, 100 * kMi, 100 * kMi)});  // equal is not past it
  EXPECT_TRUE(r.actions.empty());
  EXPECT_EQ(r.exceeded, 0u);
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_EQ(r.verdicts[0].kind, VerdictKind::kUnder);
}

TEST_F(RuleJudgeTest, OverTheLimitActsAtOnceWithoutFor) {
  auto rule = process_rule(100 * kMi);
  rule.action.signal_name = "SIGTERM";
  rule.action.signal = 15;
  auto r = run(rule, {cand(10, 101 * kMi, 100 * kMi), cand(11, 50 * kMi, 100 * kMi)});
  EXPECT_EQ(victims(r), std::vector<pid_t>{10});
  EXPECT_EQ(r.exceeded, 1u);
  EXPECT_EQ(r.actions[0].bytes, 101 * kMi);
  EXPECT_EQ(r.actions[0].limit, 100 * kMi);
  EXPECT_EQ(r.actions[0].spec.signal, 15);
  EXPECT_EQ(r.actions[0].rule, "r");
}

TEST_F(RuleJudgeTest, ForWaitsAndAStepUnderRestartsTheTimer) {
  auto rule = process_rule(100 * kMi);
  rule.for_duration = 2s;
  EXPECT_TRUE(run(rule, {cand(10, 200 * kMi, 100 * kMi)}).actions.empty());
  clock.advance(1s);
  auto pending = run(rule, {cand(10, 200 * kMi, 100 * kMi)});
  EXPECT_TRUE(pending.actions.empty());
  EXPECT_EQ(pending.verdicts[0].kind, VerdictKind::kPending);
  clock.advance(500ms);
  EXPECT_TRUE(run(rule, {cand(10, 50 * kMi, 100 * kMi)}).actions.empty());  // dipped under
  clock.advance(1500ms);
  auto again = run(rule, {cand(10, 200 * kMi, 100 * kMi)});
  EXPECT_TRUE(again.actions.empty());
  EXPECT_EQ(again.exceeded, 1u);  // a new episode counts again
  clock.advance(1999ms);
  EXPECT_TRUE(run(rule, {cand(10, 200 * kMi, 100 * kMi)}).actions.empty());
  clock.advance(1ms);
  EXPECT_EQ(victims(run(rule, {cand(10, 200 * kMi, 100 * kMi)})), std::vector<pid_t>{10});
}

TEST_F(RuleJudgeTest, ExceededCountsOncePerEpisode) {
  auto rule = process_rule(100 * kMi);
  rule.for_duration = 10s;
  std::uint64_t total = 0;
  for (int i = 0; i < 5; ++i) {
    total += run(rule, {cand(10, 200 * kMi, 100 * kMi)}).exceeded;
    clock.advance(1s);
  }
  EXPECT_EQ(total, 1u);
}

TEST_F(RuleJudgeTest, CooldownAllowsOneActionPerPeriod) {
  auto rule = process_rule(100 * kMi);
  rule.action.cooldown = 10s;
  auto both = [&] {
    return std::vector{cand(10, 300 * kMi, 100 * kMi), cand(11, 200 * kMi, 100 * kMi)};
  };
  EXPECT_EQ(victims(run(rule, both())), std::vector<pid_t>{10});  // the largest first
  clock.advance(1s);
  auto held = run(rule, {cand(11, 200 * kMi, 100 * kMi)});
  EXPECT_TRUE(held.actions.empty());
  EXPECT_EQ(held.verdicts[0].kind, VerdictKind::kCooldown);
  clock.advance(9s);
  EXPECT_EQ(victims(run(rule, {cand(11, 200 * kMi, 100 * kMi)})), std::vector<pid_t>{11});
}

TEST_F(RuleJudgeTest, ProtectedAndInFlightAreNeverChosen) {
  auto rule = process_rule(100 * kMi);
  auto prot = cand(10, 300 * kMi, 100 * kMi);
  prot.is_protected = true;
  auto busy = cand(11, 300 * kMi, 100 * kMi);
  busy.in_flight = true;
  auto r = run(rule, {prot, busy});
  EXPECT_TRUE(r.actions.empty());
  EXPECT_EQ(r.exceeded, 2u);
}

TEST_F(RuleJudgeTest, AFailedActionIsNotRetriedInATightLoop) {
  auto rule = process_rule(100 * kMi);
  EXPECT_EQ(victims(run(rule, {cand(10, 300 * kMi, 100 * kMi)})).size(), 1u);
  // Still alive (EPERM, say): not again at the next checks.
  for (int i = 0; i < 20; ++i) {
    clock.advance(1s);
    auto r = run(rule, {cand(10, 300 * kMi, 100 * kMi)});
    EXPECT_TRUE(r.actions.empty());
  }
  clock.advance(retry_backoff(rule));
  EXPECT_EQ(victims(run(rule, {cand(10, 300 * kMi, 100 * kMi)})).size(), 1u);
}

TEST_F(RuleJudgeTest, ANewProcessOnAReusedPidIsJudgedAfresh) {
  auto rule = process_rule(100 * kMi);
  rule.for_duration = 5s;
  run(rule, {cand(10, 300 * kMi, 100 * kMi, 111)});
  clock.advance(5s);
  // Same pid, other start time: its own for: timer, nothing inherited.
  auto r = run(rule, {cand(10, 300 * kMi, 100 * kMi, 222)});
  EXPECT_TRUE(r.actions.empty());
  EXPECT_EQ(r.verdicts[0].kind, VerdictKind::kPending);
}

TEST_F(RuleJudgeTest, NoLimitIsReportedNotJudged) {
  auto rule = process_rule(0);
  rule.limit.percent = 80;
  auto r = run(rule, {cand(10, 300 * kMi, 0)});
  EXPECT_TRUE(r.actions.empty());
  EXPECT_EQ(r.verdicts[0].kind, VerdictKind::kNoLimit);
}

RuleSpec group_rule(std::uint64_t limit, Victim v) {
  RuleSpec r = process_rule(limit);
  r.scope = Scope::kGroup;
  r.victim = v;
  return r;
}

TEST_F(RuleJudgeTest, GroupTakesTheLargestAndOnlyAsManyAsNeeded) {
  auto rule = group_rule(100 * kMi, Victim::kLargest);
  // 60 + 40 + 20 = 120 > 100: taking the 60 leaves 60.
  auto r = run(rule, {cand(1, 20 * kMi, 100 * kMi), cand(2, 60 * kMi, 100 * kMi),
                      cand(3, 40 * kMi, 100 * kMi)});
  EXPECT_EQ(victims(r), std::vector<pid_t>{2});
  EXPECT_EQ(r.actions[0].bytes, 120 * kMi);  // the group's figure
  // 60 + 40 + 20 + 90 = 210: the 90 alone leaves 120, so the 60 goes too.
  clock.advance(1min);
  RuleJudge fresh(clock);
  std::vector<Candidate> c{cand(1, 20 * kMi, 100 * kMi), cand(2, 60 * kMi, 100 * kMi),
                           cand(3, 40 * kMi, 100 * kMi), cand(4, 90 * kMi, 100 * kMi)};
  EXPECT_EQ(victims(fresh.judge(rule, c)), (std::vector<pid_t>{4, 2}));
}

TEST_F(RuleJudgeTest, GroupWaitsForItsVictimsBeforeChoosingMore) {
  auto rule = group_rule(100 * kMi, Victim::kLargest);
  auto dying = cand(2, 60 * kMi, 100 * kMi);
  dying.in_flight = true;
  auto r = run(rule, {cand(1, 50 * kMi, 100 * kMi), dying});
  EXPECT_TRUE(r.actions.empty());
}

TEST_F(RuleJudgeTest, GroupVictimOrders) {
  std::vector<Candidate> c{cand(1, 50 * kMi, 100 * kMi, 300), cand(2, 60 * kMi, 100 * kMi, 100),
                           cand(3, 40 * kMi, 100 * kMi, 200)};
  {
    RuleJudge j(clock);
    auto copy = c;
    EXPECT_EQ(victims(j.judge(group_rule(100 * kMi, Victim::kOldest), copy)),
              std::vector<pid_t>{2});
  }
  {
    RuleJudge j(clock);
    auto copy = c;
    EXPECT_EQ(victims(j.judge(group_rule(100 * kMi, Victim::kNewest), copy)),
              std::vector<pid_t>{1});
  }
  {
    RuleJudge j(clock);
    auto copy = c;
    EXPECT_EQ(victims(j.judge(group_rule(100 * kMi, Victim::kAll), copy)).size(), 3u);
  }
}

TEST_F(RuleJudgeTest, GroupSkipsProtectedVictims) {
  auto rule = group_rule(100 * kMi, Victim::kLargest);
  auto big = cand(2, 90 * kMi, 100 * kMi);
  big.is_protected = true;
  auto r = run(rule, {cand(1, 30 * kMi, 100 * kMi), big});
  EXPECT_EQ(victims(r), std::vector<pid_t>{1});
}

TEST_F(RuleJudgeTest, CgroupScopeJudgesEachCgroupAlone) {
  RuleSpec rule = group_rule(100 * kMi, Victim::kLargest);
  rule.scope = Scope::kCgroup;
  rule.action.target = Target::kCgroup;
  auto in = [&](pid_t pid, std::uint64_t mb, const char* path) {
    Candidate c = cand(pid, mb * kMi, 100 * kMi);
    c.cgroup = CgroupRef{true, path};
    return c;
  };
  // /a: 70 + 60 = 130 > 100; /b: 90 alone is fine.
  auto r = run(rule, {in(1, 70, "/a"), in(2, 60, "/a"), in(3, 90, "/b")});
  ASSERT_EQ(r.actions.size(), 1u);  // one cgroup.kill for the whole of /a
  EXPECT_EQ(r.actions[0].victim.pid, 1);
  ASSERT_TRUE(r.actions[0].cgroup.has_value());
  EXPECT_EQ(r.actions[0].cgroup->path, "/a");
  EXPECT_EQ(r.actions[0].bytes, 130 * kMi);
  EXPECT_EQ(r.exceeded, 1u);
}

TEST_F(RuleJudgeTest, DryRunGroupReportsAnEpisodeOncePerBackoff) {
  auto rule = group_rule(100 * kMi, Victim::kLargest);
  rule.dry_run = true;
  auto group = [&] {
    return std::vector{cand(1, 70 * kMi, 100 * kMi), cand(2, 60 * kMi, 100 * kMi)};
  };
  auto first = run(rule, group());
  ASSERT_EQ(first.actions.size(), 1u);
  EXPECT_TRUE(first.actions[0].dry_run);
  for (int i = 0; i < 10; ++i) {
    clock.advance(1s);
    EXPECT_TRUE(run(rule, group()).actions.empty());
  }
}

TEST_F(RuleJudgeTest, DescribeNamesTheAction) {
  auto rule = process_rule(100 * kMi);
  rule.action.signal_name = "SIGTERM";
  Verdict v{{1, 1}, VerdictKind::kAct, 0, 0};
  EXPECT_EQ(describe(v, rule), "send SIGTERM");
  rule.dry_run = true;
  EXPECT_EQ(describe(v, rule), "would send SIGTERM");
}

}  // namespace
}  // namespace mg

namespace mg {
namespace {

TEST(RuleJudgeTargets, OneActionPerProcessGroupAndPerCgroup) {
  ManualClock clock;
  RuleJudge judge(clock);
  RuleSpec rule;
  rule.name = "r";
  rule.limit.bytes = 10 * kMi;
  rule.action.target = Target::kProcessGroup;
  auto a = cand(1, 50 * kMi, 10 * kMi);
  auto b = cand(2, 40 * kMi, 10 * kMi);
  auto c = cand(3, 30 * kMi, 10 * kMi);
  a.pgrp = b.pgrp = 7;
  c.pgrp = 8;
  std::vector<Candidate> all{a, b, c};
  // 1 and 2 share group 7: one action reaches both.
  EXPECT_EQ(victims(judge.judge(rule, all)), (std::vector<pid_t>{1, 3}));
  // Group 7 is not hit again through its other member while backing off.
  clock.advance(std::chrono::seconds(1));
  std::vector<Candidate> again{b};
  EXPECT_TRUE(judge.judge(rule, again).actions.empty());
}

}  // namespace
}  // namespace mg

namespace mg {
namespace {

TEST(RuleJudgeSpared, ASkippedActionDoesNotHoldItsTargetBack) {
  ManualClock clock;
  RuleJudge judge(clock);
  RuleSpec rule;
  rule.name = "r";
  rule.limit.bytes = 100;
  Candidate c;
  c.id = {10, 100};
  c.bytes = 150;
  c.limit = 100;
  std::vector<Candidate> cands{c};
  auto first = judge.judge(rule, cands);
  ASSERT_EQ(first.actions.size(), 1u);
  clock.advance(std::chrono::seconds(1));
  cands = {c};
  EXPECT_TRUE(judge.judge(rule, cands).actions.empty()) << "backing off after an action";
  // The actuator found it back under its limit and sent nothing.
  judge.forget_action(first.actions[0].backoff_key);
  clock.advance(std::chrono::seconds(1));
  cands = {c};
  EXPECT_EQ(judge.judge(rule, cands).actions.size(), 1u) << "over again: acted on at once";
}

}  // namespace
}  // namespace mg
