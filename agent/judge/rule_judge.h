#pragma once
// judge: whether a rule's conditions hold, for long enough, and whom to act
// on. Pure logic over measured candidates, the states of the conditions the
// engine read (judge/conditions/), and a Clock: no /proc, no signals, so
// every timing rule (for:, cooldown, victim order) is unit-tested without
// time passing or anything dying.
//
// What a rule judges is a unit: each process (scope: process with a limit),
// the whole group (scope: group), each cgroup (scope: cgroup), or the rule
// as a whole (scope: process with only host-wide conditions). A unit acts
// when every condition the rule gives holds for it: its limit, the cgroup's
// own conditions (working set, pressure) and the host's (pressure,
// available).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "act/action.h"
#include "config/config.h"
#include "discover/cgroup_identity.h"
#include "discover/process_identity.h"
#include "judge/conditions/condition.h"
#include "procfs/cgroup_fs.h"
#include "util/clock.h"

namespace mg {

struct Candidate {
  ProcessIdentity id;
  std::string name;
  pid_t pgrp = 0;
  std::optional<CgroupRef> cgroup;
  std::shared_ptr<const CgroupIdentity> identity;  // for the action's line and hook
  std::uint64_t bytes = 0;                         // by the rule's measure
  std::uint64_t limit = 0;  // resolved for this process (a % limit per cgroup); 0 = none
  bool is_protected = false;
  bool in_flight = false;  // an earlier action on it is still under way
};

// What became of one candidate in this check, for --once and debug logs.
enum class VerdictKind {
  kUnder,
  kNoLimit,  // a % limit, and its cgroup has no memory limit
  kPending,  // over, but not yet for `for:`
  kProtected,
  kInFlight,
  kCooldown,
  kBackoff,    // acted on recently; not again so soon
  kAct,        // an action was requested (or would be, under dry-run)
  kOverGroup,  // over as part of a group, not chosen as victim
  kUnmet,      // over its limit, but another condition of the rule does not hold
};

struct Verdict {
  ProcessIdentity id;
  VerdictKind kind = VerdictKind::kUnder;
  std::uint64_t bytes = 0;  // the process's own figure
  std::uint64_t limit = 0;
};

struct JudgeResult {
  std::vector<ActionRequest> actions;
  std::vector<Verdict> verdicts;
  std::uint64_t exceeded = 0;  // units whose conditions newly all hold in this check
  // Conditions that newly hold in this check, once per unit (or once for the
  // host), whether or not the rule's other conditions do.
  std::vector<ConditionKind> fired;
};

// The conditions beside a limit on the processes' own figures, as the engine
// read them for one rule in one check.
struct UnitConditions {
  std::vector<ConditionState> states;
  // When a cgroup's working set is what the limit compares: that figure and
  // the limit, for the action's bytes= and limit=.
  std::uint64_t bytes = 0;
  std::uint64_t limit = 0;
};
struct ConditionInputs {
  std::vector<ConditionState> host;  // apply to every unit of the rule
  // scope: cgroup: each cgroup's own, by group_key().
  std::map<std::string, UnitConditions> cgroups;
};

std::string describe(const Verdict& v, const RuleSpec& rule);

class RuleJudge {
 public:
  explicit RuleJudge(const Clock& clock) : clock_(clock) {}
  // Same rule name across a reload keeps this object and so its timers.
  JudgeResult judge(const RuleSpec& rule, std::vector<Candidate>& candidates,
                    const ConditionInputs& conditions = {});
  // An action that was not carried out (the victim was back under its limit
  // right before the signal) does not hold its target back: a process that
  // dips under and comes back over is acted on at its next crossing, not 30 s
  // later (by when the kernel's OOM killer may have come first).
  void forget_action(const std::string& backoff_key);

 private:
  struct OverState {
    TimePoint since{};
    std::uint64_t seen = 0;
    std::optional<TimePoint> acted_at;  // last action of this episode
  };
  void judge_processes(const RuleSpec& rule, std::vector<Candidate>& c,
                       const ConditionInputs& conditions, JudgeResult& out);
  void judge_units(const RuleSpec& rule, std::vector<Candidate>& c,
                   const ConditionInputs& conditions, JudgeResult& out);
  // Counts `state` in out.fired when it holds for `unit` now and did not at
  // the last check.
  void note(const std::string& unit, const ConditionState& state, JudgeResult& out);
  bool cooling_down(const RuleSpec& rule, TimePoint now) const;
  bool backing_off(const std::string& target, TimePoint now, Duration backoff) const;
  // Marks `key` over in this check; returns true when it was not before.
  bool mark_over(const std::string& key, TimePoint now);
  ActionRequest request(const RuleSpec& rule, const Candidate& c, std::uint64_t bytes,
                        std::uint64_t limit, std::string trigger) const;

  const Clock& clock_;
  std::uint64_t check_ = 0;
  std::map<std::string, OverState> over_;
  // Which conditions held for which unit at the last check (unit + kind).
  std::map<std::string, std::uint64_t> held_;
  std::optional<TimePoint> last_action_;
  // Keyed by what an action reaches (see target_key): one process, a whole
  // process group or a whole cgroup, so one group is not hit once per member.
  std::map<std::string, TimePoint> acted_on_;
};

// Which group a process is summed in: one for scope: group, one per cgroup
// for scope: cgroup; empty when it has no cgroup to be grouped by.
std::string group_key(Scope scope, const std::optional<CgroupRef>& cgroup);
// Which unit a candidate of `rule` is judged in, beside process scope with a
// limit (where each process is its own unit): its group or cgroup, or the
// rule as a whole when it judges host-wide conditions only.
std::string unit_key(const RuleSpec& rule, const std::optional<CgroupRef>& cgroup);

// What an action on `c` reaches under `rule`'s target.
std::string target_key(const RuleSpec& rule, const Candidate& c);

// Least time before the same process is acted on again when the first action
// did not end it (EPERM, dry-run): never a tight loop.
Duration retry_backoff(const RuleSpec& rule);

}  // namespace mg
