#include "match/matcher.h"

#include <re2/re2.h>

namespace mg {

void PidFiles::refresh(ProcFs& proc, const Config& config) {
  pids_.clear();
  auto add = [&](const MatchSpec& m) {
    for (const MatchSpec* s = &m; s; s = s->exclude.get()) {
      if (s->pid_file && !pids_.contains(*s->pid_file)) {
        auto pid = proc.read_pid_file(*s->pid_file);
        pids_[*s->pid_file] = pid ? *pid : 0;
      }
    }
  };
  for (const auto& r : config.rules) add(r.match);
  for (const auto& p : config.protect) add(p);
}

pid_t PidFiles::pid_of(const std::string& path) const {
  auto it = pids_.find(path);
  return it == pids_.end() ? 0 : it->second;
}

namespace {

// kUnknown: the attribute could not be read, so the key can be neither
// confirmed nor ruled out.
enum class Verdict { kNo, kYes, kUnknown };

Verdict check_keys(const MatchSpec& s, const Process& p, const PidFiles& pid_files) {
  bool unknown = false;
  if (s.name && !RE2::PartialMatch(p.stat.comm, *s.name->re)) return Verdict::kNo;
  if (s.pid_file) {
    pid_t pid = pid_files.pid_of(*s.pid_file);
    if (pid == 0 || pid != p.id.pid) return Verdict::kNo;
  }
  if (s.user) {
    if (!p.attrs.uid)
      unknown = true;
    else if (*p.attrs.uid != *s.user)
      return Verdict::kNo;
  }
  if (s.cmdline) {
    if (!p.attrs.cmdline)
      unknown = true;
    else if (!RE2::PartialMatch(*p.attrs.cmdline, *s.cmdline->re))
      return Verdict::kNo;
  }
  if (s.exe) {
    if (!p.attrs.exe)
      unknown = true;
    else if (!RE2::PartialMatch(*p.attrs.exe, *s.exe->re))
      return Verdict::kNo;
  }
  if (s.cgroup) {
    if (!p.attrs.cgroups) {
      unknown = true;
    } else {
      bool any = false;
      for (const auto& m : p.attrs.cgroups->memberships) {
        if (RE2::PartialMatch(m.path, *s.cgroup->re)) {
          any = true;
          break;
        }
      }
      if (!any) return Verdict::kNo;
    }
  }
  // Whose process it is: read with the cgroups. A process that has no pod,
  // container or unit is known not to match; one whose cgroups could not be
  // read is unknown.
  auto identity_key = [&](const std::optional<Pattern>& pattern,
                          std::string CgroupIdentity::*field) {
    if (!pattern) return Verdict::kYes;
    if (!p.attrs.cgroups) return Verdict::kUnknown;
    const CgroupIdentity* id = p.attrs.identity().get();
    const std::string* value = id ? &(id->*field) : nullptr;
    if (value == nullptr || value->empty() || !RE2::PartialMatch(*value, *pattern->re))
      return Verdict::kNo;
    return Verdict::kYes;
  };
  for (auto [pattern, field] : {std::pair{&s.pod_uid, &CgroupIdentity::pod_uid},
                                std::pair{&s.container_id, &CgroupIdentity::container_id},
                                std::pair{&s.systemd_unit, &CgroupIdentity::systemd_unit}}) {
    const Verdict v = identity_key(*pattern, field);
    if (v == Verdict::kNo) return v;
    if (v == Verdict::kUnknown) unknown = true;
  }
  return unknown ? Verdict::kUnknown : Verdict::kYes;
}

}  // namespace

bool matches_keys(const MatchSpec& spec, const Process& p, const PidFiles& pid_files) {
  return check_keys(spec, p, pid_files) == Verdict::kYes;
}

bool excluded(const MatchSpec& spec, const Process& p, const PidFiles& pid_files) {
  return spec.exclude && check_keys(*spec.exclude, p, pid_files) != Verdict::kNo;
}

bool matches(const MatchSpec& spec, const Process& p, const PidFiles& pid_files) {
  return matches_keys(spec, p, pid_files) && !excluded(spec, p, pid_files);
}

AttributeNeeds needs_of(const MatchSpec& spec) {
  return {spec.needs_cmdline(), spec.needs_exe(), spec.needs_user(), spec.needs_cgroup()};
}

AttributeNeeds needs_of(const Config& config) {
  AttributeNeeds n;
  for (const auto& r : config.rules) {
    n |= needs_of(r.match);
    // Grouping and acting by cgroup, and % limits, need the cgroup too.
    if (r.scope == Scope::kCgroup || r.action.target == Target::kCgroup || r.limit.is_percent())
      n.cgroups = true;
  }
  for (const auto& p : config.protect) n |= needs_of(p);
  return n;
}

void RuleMatcher::rebind(const RuleSpec& rule) {
  rule_ = &rule;
  memoized_ = false;
  auto uses_pid_file = [](const MatchSpec& m) {
    return m.pid_file || (m.exclude && m.exclude->pid_file);
  };
  cacheable_ = !uses_pid_file(rule.match);
}

void RuleMatcher::memoize(std::size_t slot, std::uint64_t generation) {
  memoized_ = true;
  slot_ = slot;
  generation_ = generation;
}

namespace {

// One byte of MatchMemo::verdicts.
constexpr std::uint8_t kKnown = 1, kDirect = 2, kExcluded = 4;

}  // namespace

RuleMatcher::Verdict RuleMatcher::evaluate(const Process& p, const PidFiles& pid_files) {
  const auto fresh = [&] {
    return Verdict{!p.stat.is_kernel_thread() && matches_keys(rule_->match, p, pid_files),
                   excluded(rule_->match, p, pid_files)};
  };
  // A pid file's content changes with no change of the process: not kept.
  if (!memoized_ || !cacheable_) return fresh();
  MatchMemo& memo = p.match_memo;
  if (memo.generation != generation_ || memo.attrs_read_at != p.attrs.read_at) {
    memo.generation = generation_;
    memo.attrs_read_at = p.attrs.read_at;
    std::fill(memo.verdicts.begin(), memo.verdicts.end(), std::uint8_t{0});
  }
  if (memo.verdicts.size() <= slot_) memo.verdicts.resize(slot_ + 1, 0);
  std::uint8_t& kept = memo.verdicts[slot_];
  if (!(kept & kKnown)) {
    const Verdict v = fresh();
    kept =
        static_cast<std::uint8_t>(kKnown | (v.direct ? kDirect : 0) | (v.excluded ? kExcluded : 0));
  }
  return {(kept & kDirect) != 0, (kept & kExcluded) != 0};
}

bool RuleMatcher::descends_from_match(const ProcessTable& table, const Process& p,
                                      const PidFiles& pid_files) {
  // Walks up the parent chain once per process per scan, remembering answers
  // so a deep tree of workers costs one step each.
  std::vector<pid_t> path;
  const Process* cur = table.find(p.stat.ppid);
  bool found = false;
  for (int depth = 0; cur && depth < 4096; ++depth) {
    if (auto it = ancestry_.find(cur->id.pid); it != ancestry_.end()) {
      found = it->second;
      break;
    }
    if (evaluate(*cur, pid_files).direct) {
      found = true;
      break;
    }
    path.push_back(cur->id.pid);
    if (cur->stat.ppid <= 0 || cur->stat.ppid == cur->id.pid) break;
    cur = table.find(cur->stat.ppid);
  }
  for (pid_t pid : path) ancestry_[pid] = found;
  return found;
}

void RuleMatcher::select(const ProcessTable& table, const PidFiles& pid_files,
                         std::vector<pid_t>& out) {
  out.clear();
  ancestry_.clear();
  for (const auto& [pid, p] : table.processes()) {
    if (p.stat.is_kernel_thread()) continue;
    const Verdict v = evaluate(p, pid_files);
    bool picked = v.direct;
    if (!picked && rule_->children) picked = descends_from_match(table, p, pid_files);
    if (picked && !v.excluded) out.push_back(pid);
  }
}

}  // namespace mg
