#include "judge/rule_judge.h"

#include <algorithm>
#include <numeric>

#include "config/units.h"

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

ActionRequest RuleJudge::request(const RuleSpec& rule, const Candidate& c, std::uint64_t bytes,
                                 std::uint64_t limit) const {
  ActionRequest r;
  r.rule = rule.name;
  r.victim = c.id;
  r.name = c.name;
  r.pgrp = c.pgrp;
  r.cgroup = c.cgroup;
  r.bytes = bytes;
  r.limit = limit;
  r.measure = rule.measure;
  r.scope = rule.scope;
  r.victim_bytes = c.bytes;
  r.spec = rule.action;
  r.dry_run = rule.dry_run;
  return r;
}

JudgeResult RuleJudge::judge(const RuleSpec& rule, std::vector<Candidate>& candidates) {
  ++check_;
  JudgeResult out;
  if (rule.scope == Scope::kProcess)
    judge_processes(rule, candidates, out);
  else
    judge_groups(rule, candidates, out);
  // A key not over in this check ends its episode: the next crossing starts
  // the for: timer afresh and counts again.
  std::erase_if(over_, [this](const auto& kv) { return kv.second.seen != check_; });
  const TimePoint now = clock_.now();
  const Duration backoff = retry_backoff(rule);
  std::erase_if(acted_on_, [&](const auto& kv) { return now - kv.second >= backoff; });
  return out;
}

void RuleJudge::judge_processes(const RuleSpec& rule, std::vector<Candidate>& cands,
                                JudgeResult& out) {
  const TimePoint now = clock_.now();
  const Duration backoff = retry_backoff(rule);
  // The largest offender first, so a cooldown spends its one action well.
  std::sort(cands.begin(), cands.end(),
            [](const Candidate& a, const Candidate& b) { return a.bytes > b.bytes; });
  for (const Candidate& c : cands) {
    Verdict v{c.id, VerdictKind::kUnder, c.bytes, c.limit};
    if (c.limit == 0) {
      v.kind = VerdictKind::kNoLimit;
    } else if (c.bytes > c.limit) {
      // Not `"p" + std::to_string(...)`: GCC 12 at -O3 reports a bogus
      // -Wrestrict (GCC PR 105329) on a literal prepended to a temporary.
      std::string key = "p";
      key += std::to_string(c.id.pid);
      key += ':';
      key += std::to_string(c.id.start_time);
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
        out.actions.push_back(request(rule, c, c.bytes, c.limit));
        last_action_ = now;
        acted_on_[target_key(rule, c)] = now;
      }
    }
    out.verdicts.push_back(v);
  }
}

void RuleJudge::judge_groups(const RuleSpec& rule, std::vector<Candidate>& cands,
                             JudgeResult& out) {
  const TimePoint now = clock_.now();
  const Duration backoff = retry_backoff(rule);
  // Partition: one group for scope: group, one per distinct cgroup otherwise.
  std::map<std::string, std::vector<Candidate*>> groups;
  for (Candidate& c : cands) {
    const std::string key = group_key(rule.scope, c.cgroup);
    if (!key.empty())
      groups[key].push_back(&c);
    else
      out.verdicts.push_back({c.id, VerdictKind::kNoLimit, c.bytes, c.limit});
  }
  for (auto& [key, members] : groups) {
    std::uint64_t sum = 0;
    std::uint64_t limit = 0;
    for (const Candidate* c : members) {
      sum += c->bytes;
      if (c->limit && (limit == 0 || c->limit < limit)) limit = c->limit;
    }
    // An init-capture: clang 14 cannot capture a structured binding itself
    // (C++20's P1091, in clang from 16 on).
    auto verdict_all = [&, &members = members](VerdictKind k) {
      for (const Candidate* c : members) out.verdicts.push_back({c->id, k, c->bytes, limit});
    };
    if (limit == 0) {
      verdict_all(VerdictKind::kNoLimit);
      continue;
    }
    if (sum <= limit) {
      verdict_all(VerdictKind::kUnder);
      continue;
    }
    if (mark_over(key, now)) ++out.exceeded;
    OverState& st = over_[key];
    if (now - st.since < rule.for_duration) {
      verdict_all(VerdictKind::kPending);
      continue;
    }
    // One round at a time: wait for the last victims to be gone and the group
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
        out.verdicts.push_back({c->id, VerdictKind::kProtected, c->bytes, limit});
      else if (backing_off(target_key(rule, *c), now, backoff))
        out.verdicts.push_back({c->id, VerdictKind::kBackoff, c->bytes, limit});
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
    // Take victims until the group would be under its limit even in the best
    // case (a victim frees at most its own figure); the next check re-measures
    // and takes more only if still needed.
    std::size_t take = 0;
    if (rule.victim == Victim::kAll) {
      take = eligible.size();
    } else {
      std::uint64_t remaining = sum;
      while (take < eligible.size() && remaining > limit) {
        remaining -= std::min(remaining, eligible[take]->bytes);
        ++take;
      }
    }
    const bool whole_cgroup = rule.scope == Scope::kCgroup && rule.action.target == Target::kCgroup;
    if (whole_cgroup && take > 1) take = 1;  // cgroup.kill takes them all at once
    for (std::size_t i = 0; i < eligible.size(); ++i) {
      Candidate* c = eligible[i];
      const std::string target = target_key(rule, *c);
      if (i < take && !acted_on_.contains(target)) {
        out.actions.push_back(request(rule, *c, sum, limit));
        acted_on_[target] = now;
        out.verdicts.push_back({c->id, VerdictKind::kAct, c->bytes, limit});
      } else if (i < take) {
        // Already reached by this round's action on its group or cgroup.
        out.verdicts.push_back({c->id, VerdictKind::kAct, c->bytes, limit});
      } else {
        out.verdicts.push_back({c->id, VerdictKind::kOverGroup, c->bytes, limit});
      }
    }
    if (take > 0) {
      last_action_ = now;
      st.acted_at = now;
    }
  }
}

}  // namespace mg
