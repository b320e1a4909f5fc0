#include "judge/rule_judge.h"

#include <algorithm>
#include <numeric>

#include "config/units.h"
#include "judge/conditions/limit_condition.h"

namespace mg {

Duration retry_backoff(const RuleSpec& rule) {
  return std::max<Duration>({rule.action.cooldown, rule.action.kill_after + std::chrono::seconds(5),
                             std::chrono::seconds(30)});
}

std::string describe(const Verdict& v, const RuleSpec& rule) {
  const std::string verb = rule.dry_run ? "would send " : "send ";
  switch (v.kind) {
    case VerdictKind::kUnder:
      return "ok";
    case VerdictKind::kNoLimit:
      return "no limit: cgroup has no memory limit";
    case VerdictKind::kPending:
      return "over, waiting for: " + format_duration(rule.for_duration);
    case VerdictKind::kProtected:
      return "over, protected";
    case VerdictKind::kInFlight:
      return "over, action under way";
    case VerdictKind::kCooldown:
      return "over, cooldown";
    case VerdictKind::kBackoff:
      return "over, acted on recently";
    case VerdictKind::kAct:
      return verb + rule.action.signal_name +
             (rule.action.target == Target::kProcess
                  ? ""
                  : std::string(" to ") + to_string(rule.action.target));
    case VerdictKind::kOverGroup:
      return "group over, not chosen";
    case VerdictKind::kUnmet:
      return "over, but not every condition holds";
  }
  return "?";
}

bool RuleJudge::cooling_down(const RuleSpec& rule, TimePoint now) const {
  return last_action_ && rule.action.cooldown.count() > 0 &&
         now - *last_action_ < rule.action.cooldown;
}

std::string group_key(Scope scope, const std::optional<CgroupRef>& cgroup) {
  if (scope == Scope::kGroup) return "g";
  if (!cgroup) return {};
  return (cgroup->v2 ? "c2:" : "c1:") + cgroup->path;
}

std::string unit_key(const RuleSpec& rule, const std::optional<CgroupRef>& cgroup) {
  if (rule.scope == Scope::kProcess) return "r";
  return group_key(rule.scope, cgroup);
}

std::string target_key(const RuleSpec& rule, const Candidate& c) {
  switch (rule.action.target) {
    case Target::kProcessGroup:
      return "pgrp:" + std::to_string(c.pgrp);
    case Target::kCgroup:
      if (c.cgroup) return std::string(c.cgroup->v2 ? "cg2:" : "cg1:") + c.cgroup->path;
      break;
    case Target::kProcess:
      break;
  }
  return "pid:" + std::to_string(c.id.pid) + ":" + std::to_string(c.id.start_time);
}

void RuleJudge::forget_action(const std::string& backoff_key) {
  acted_on_.erase(backoff_key);
}

bool RuleJudge::backing_off(const std::string& target, TimePoint now, Duration backoff) const {
  auto it = acted_on_.find(target);
  return it != acted_on_.end() && now - it->second < backoff;
}

bool RuleJudge::mark_over(const std::string& key, TimePoint now) {
  auto [it, inserted] = over_.try_emplace(key);
  if (inserted) it->second.since = now;
  it->second.seen = check_;
  return inserted;
}

void RuleJudge::note(const std::string& unit, const ConditionState& state, JudgeResult& out) {
  if (!state.holds) return;
  std::string key = unit;
  key.append("/").append(to_string(state.kind));
  // Entries not held at the last check are gone (see judge()): one found
  // here is the same episode going on.
  auto [it, inserted] = held_.try_emplace(std::move(key), check_);
  it->second = check_;
  if (inserted) out.fired.push_back(state.kind);
}

namespace {

bool all_hold(const std::vector<ConditionState>& states) {
  return std::all_of(states.begin(), states.end(), [](const auto& s) { return s.holds; });
}

// What made an action, for its log line: each condition that held.
std::string trigger_text(const std::vector<const ConditionState*>& states) {
  std::string text;
  for (const ConditionState* s : states) {
    if (!text.empty()) text += "; ";
    text += s->text;
  }
  return text;
}

}  // namespace

ActionRequest RuleJudge::request(const RuleSpec& rule, const Candidate& c, std::uint64_t bytes,
                                 std::uint64_t limit, std::string trigger) const {
  ActionRequest r;
  r.rule = rule.name;
  r.victim = c.id;
  r.name = c.name;
  r.pgrp = c.pgrp;
  r.cgroup = c.cgroup;
  r.identity = c.identity;
  r.bytes = bytes;
  r.limit = limit;
  r.measure = rule.measure;
  r.scope = rule.scope;
  r.victim_bytes = c.bytes;
  r.spec = rule.action;
  r.dry_run = rule.dry_run;
  r.trigger = std::move(trigger);
  r.backoff_key = target_key(rule, c);
  // Re-measuring the victim right before the signal tells something only
  // where the limit compares the processes' own figures.
  r.recheck_figure = rule.limits_processes();
  return r;
}

JudgeResult RuleJudge::judge(const RuleSpec& rule, std::vector<Candidate>& candidates,
                             const ConditionInputs& conditions) {
  ++check_;
  JudgeResult out;
  for (const ConditionState& s : conditions.host) note("host", s, out);
  if (rule.scope == Scope::kProcess && rule.limits_processes())
    judge_processes(rule, candidates, conditions, out);
  else
    judge_units(rule, candidates, conditions, out);
  // A key not over in this check ends its episode: the next crossing starts
  // the for: timer afresh and counts again.
  std::erase_if(over_, [this](const auto& kv) { return kv.second.seen != check_; });
  std::erase_if(held_, [this](const auto& kv) { return kv.second != check_; });
  const TimePoint now = clock_.now();
  const Duration backoff = retry_backoff(rule);
  std::erase_if(acted_on_, [&](const auto& kv) { return now - kv.second >= backoff; });
  return out;
}

void RuleJudge::judge_processes(const RuleSpec& rule, std::vector<Candidate>& cands,
                                const ConditionInputs& conditions, JudgeResult& out) {
  const TimePoint now = clock_.now();
  const Duration backoff = retry_backoff(rule);
  const bool host_holds = all_hold(conditions.host);
  // The largest offender first, so a cooldown spends its one action well.
  std::sort(cands.begin(), cands.end(),
            [](const Candidate& a, const Candidate& b) { return a.bytes > b.bytes; });
  for (const Candidate& c : cands) {
    Verdict v{c.id, VerdictKind::kUnder, c.bytes, c.limit};
    if (c.limit == 0) {
      v.kind = VerdictKind::kNoLimit;
    } else if (c.bytes > c.limit) {
      // Only a process over its limit costs a key and a text: a steady
      // check of thousands under theirs allocates nothing here.
      // Not `"p" + std::to_string(...)`: GCC 12 at -O3 reports a bogus
      // -Wrestrict (GCC PR 105329) on a literal prepended to a temporary.
      std::string key = "p";
      key += std::to_string(c.id.pid);
      key += ':';
      key += std::to_string(c.id.start_time);
      const ConditionState limit = limit_condition(rule.measure, c.bytes, c.limit, false);
      note(key, limit, out);
      if (!host_holds) {
        v.kind = VerdictKind::kUnmet;
      } else {
        if (mark_over(key, now)) ++out.exceeded;
        if (now - over_[key].since < rule.for_duration)
          v.kind = VerdictKind::kPending;
        else if (c.is_protected)
          v.kind = VerdictKind::kProtected;
        else if (c.in_flight)
          v.kind = VerdictKind::kInFlight;
        else if (backing_off(target_key(rule, c), now, backoff))
          v.kind = VerdictKind::kBackoff;
        else if (cooling_down(rule, now))
          v.kind = VerdictKind::kCooldown;
        else {
          v.kind = VerdictKind::kAct;
          std::vector<const ConditionState*> fired{&limit};
          for (const ConditionState& s : conditions.host) fired.push_back(&s);
          out.actions.push_back(request(rule, c, c.bytes, c.limit, trigger_text(fired)));
          last_action_ = now;
          acted_on_[target_key(rule, c)] = now;
        }
      }
    }
    out.verdicts.push_back(v);
  }
}

void RuleJudge::judge_units(const RuleSpec& rule, std::vector<Candidate>& cands,
                            const ConditionInputs& conditions, JudgeResult& out) {
  const TimePoint now = clock_.now();
  const Duration backoff = retry_backoff(rule);
  const bool sums = rule.limits_processes();
  // Partition: one unit for scope: group (and for scope: process judged on
  // host-wide conditions only), one per distinct cgroup otherwise.
  std::map<std::string, std::vector<Candidate*>> units;
  for (Candidate& c : cands) {
    const std::string key = unit_key(rule, c.cgroup);
    if (!key.empty())
      units[key].push_back(&c);
    else
      out.verdicts.push_back({c.id, VerdictKind::kNoLimit, c.bytes, c.limit});
  }
  static const UnitConditions kNone;
  for (auto& [key, members] : units) {
    std::uint64_t sum = 0;
    std::uint64_t limit = 0;
    for (const Candidate* c : members) {
      sum += c->bytes;
      if (c->limit && (limit == 0 || c->limit < limit)) limit = c->limit;
    }
    auto found = conditions.cgroups.find(key);
    const UnitConditions& own = found == conditions.cgroups.end() ? kNone : found->second;
    // The limit a verdict shows: the sums' or the working set's.
    const std::uint64_t shown = sums ? limit : own.limit;
    // An init-capture: clang 14 cannot capture a structured binding itself
    // (C++20's P1091, in clang from 16 on).
    auto verdict_all = [&, &members = members](VerdictKind k) {
      for (const Candidate* c : members) out.verdicts.push_back({c->id, k, c->bytes, shown});
    };
    // Every condition the rule gives, for this unit.
    std::vector<const ConditionState*> states;
    ConditionState sum_limit;
    if (sums) {
      if (limit == 0) {
        verdict_all(VerdictKind::kNoLimit);
        continue;
      }
      sum_limit = limit_condition(rule.measure, sum, limit, true);
      note(key, sum_limit, out);
      states.push_back(&sum_limit);
    }
    for (const ConditionState& s : own.states) {
      note(key, s, out);
      states.push_back(&s);
    }
    for (const ConditionState& s : conditions.host) states.push_back(&s);
    if (states.empty() || !std::all_of(states.begin(), states.end(),
                                       [](const ConditionState* s) { return s->holds; })) {
      verdict_all(sums && sum_limit.holds ? VerdictKind::kUnmet : VerdictKind::kUnder);
      continue;
    }
    if (mark_over(key, now)) ++out.exceeded;
    OverState& st = over_[key];
    if (now - st.since < rule.for_duration) {
      verdict_all(VerdictKind::kPending);
      continue;
    }
    // One round at a time: wait for the last victims to be gone and the unit
    // re-measured before choosing more.
    if (std::any_of(members.begin(), members.end(), [](auto* c) { return c->in_flight; })) {
      verdict_all(VerdictKind::kInFlight);
      continue;
    }
    if (cooling_down(rule, now)) {
      verdict_all(VerdictKind::kCooldown);
      continue;
    }
    // Under dry-run nothing shrinks, so report the episode once per backoff
    // instead of naming a new would-be victim every check.
    if (rule.dry_run && st.acted_at && now - *st.acted_at < backoff) {
      verdict_all(VerdictKind::kBackoff);
      continue;
    }
    std::vector<Candidate*> eligible;
    for (Candidate* c : members) {
      if (c->is_protected)
        out.verdicts.push_back({c->id, VerdictKind::kProtected, c->bytes, shown});
      else if (backing_off(target_key(rule, *c), now, backoff))
        out.verdicts.push_back({c->id, VerdictKind::kBackoff, c->bytes, shown});
      else
        eligible.push_back(c);
    }
    switch (rule.victim) {
      case Victim::kLargest:
      case Victim::kAll:
        std::sort(eligible.begin(), eligible.end(),
                  [](auto* a, auto* b) { return a->bytes > b->bytes; });
        break;
      case Victim::kOldest:
        std::sort(eligible.begin(), eligible.end(),
                  [](auto* a, auto* b) { return a->id.start_time < b->id.start_time; });
        break;
      case Victim::kNewest:
        std::sort(eligible.begin(), eligible.end(),
                  [](auto* a, auto* b) { return a->id.start_time > b->id.start_time; });
        break;
    }
    // With a limit on the processes' sum, take victims until the unit would
    // be under it even in the best case (a victim frees at most its own
    // figure). Any other condition (a working set, pressure, MemAvailable)
    // does not say how much must go: take one. Either way the next check
    // re-measures and takes more only if still needed.
    std::size_t take = 0;
    if (rule.victim == Victim::kAll) {
      take = eligible.size();
    } else if (!sums) {
      take = eligible.empty() ? 0 : 1;
    } else {
      std::uint64_t remaining = sum;
      while (take < eligible.size() && remaining > limit) {
        remaining -= std::min(remaining, eligible[take]->bytes);
        ++take;
      }
    }
    const bool whole_cgroup = rule.scope == Scope::kCgroup && rule.action.target == Target::kCgroup;
    if (whole_cgroup && take > 1) take = 1;  // cgroup.kill takes them all at once
    const std::string trigger = trigger_text(states);
    for (std::size_t i = 0; i < eligible.size(); ++i) {
      Candidate* c = eligible[i];
      const std::string target = target_key(rule, *c);
      if (i < take && !acted_on_.contains(target)) {
        // What the action reports: the sum or working set and its limit, or
        // with host-wide conditions alone, the victim's own figure.
        const std::uint64_t bytes = sums ? sum : own.limit ? own.bytes : c->bytes;
        const std::uint64_t reported_limit = sums ? limit : own.limit;
        out.actions.push_back(request(rule, *c, bytes, reported_limit, trigger));
        acted_on_[target] = now;
        out.verdicts.push_back({c->id, VerdictKind::kAct, c->bytes, shown});
      } else if (i < take) {
        // Already reached by this round's action on its group or cgroup.
        out.verdicts.push_back({c->id, VerdictKind::kAct, c->bytes, shown});
      } else {
        out.verdicts.push_back({c->id, VerdictKind::kOverGroup, c->bytes, shown});
      }
    }
    if (take > 0) {
      last_action_ = now;
      st.acted_at = now;
    }
  }
}

}  // namespace mg
