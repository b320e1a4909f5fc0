#pragma once
// What the engine keeps for one rule in force: its spec, its matcher and
// judge (whose timers survive a reload that keeps the rule's name), and the
// containers a check fills, kept from one check to the next so that a steady
// check allocates nothing per process.
#include <sys/types.h>

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "export/snapshot.h"
#include "judge/rule_judge.h"
#include "match/matcher.h"
#include "util/clock.h"

namespace mg {

// A group's (scope: group) or cgroup's (scope: cgroup) sums in one check,
// for deciding which exact figures judging needs.
struct GroupSum {
  std::uint64_t rss = 0;
  std::uint64_t estimate = 0;  // by the rule's measure
  std::uint64_t limit = 0;     // the least over its members; 0 = none
  std::uint64_t check = 0;     // the check these sums belong to
};

// Lets a map keyed by std::string be searched with a string_view.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct RuleState {
  RuleSpec spec;
  RuleMatcher matcher{spec};
  RuleJudge judge;
  std::vector<pid_t> members;
  std::unordered_map<std::string, GroupSum, StringHash, std::equal_to<>> groups;
  std::string group_key_buffer;
  std::vector<ProcessSample> samples;

  RuleState(const RuleSpec& s, const Clock& c) : spec(s), judge(c) { matcher.rebind(spec); }
  // Takes a reloaded spec of the same name: its state stays.
  void respec(const RuleSpec& s) {
    spec = s;
    matcher.rebind(spec);
  }
  // The sums of the group `cgroup` belongs to, zeroed on first use in a check.
  GroupSum& group_sum(const std::optional<CgroupRef>& cgroup, std::uint64_t check);
};

using RuleStates = std::vector<std::unique_ptr<RuleState>>;

}  // namespace mg
