#include "measure/oom_kills.h"

#include <algorithm>

namespace mg {

void OomKillWatch::note(const std::string& rule, const CgroupRef& memory_cgroup,
                        const std::shared_ptr<const CgroupIdentity>& identity, TimePoint now) {
  auto rule_it = by_rule_.find(rule);
  if (rule_it == by_rule_.end())
    rule_it = by_rule_.emplace(rule, std::map<CgroupRef, Watched>{}).first;
  auto& cgroups = rule_it->second;
  auto it = cgroups.find(memory_cgroup);
  if (it == cgroups.end()) it = cgroups.emplace(memory_cgroup, Watched{}).first;
  if (it->second.identity != identity) it->second.identity = identity;
  it->second.last_seen = now;
}

void OomKillWatch::keep_rules(const std::vector<std::string>& rules) {
  std::erase_if(by_rule_, [&](const auto& kv) {
    return std::find(rules.begin(), rules.end(), kv.first) == rules.end();
  });
}

std::vector<OomKillSample> OomKillWatch::read(TimePoint now, ScanErrors& errors) {
  std::vector<OomKillSample> out;
  std::map<CgroupRef, std::optional<std::uint64_t>> counts;  // each cgroup once
  for (auto& [rule, cgroups] : by_rule_) {
    for (auto it = cgroups.begin(); it != cgroups.end();) {
      auto [c, first] = counts.try_emplace(it->first);
      if (first) {
        auto n = cgroups_.oom_kills(it->first);
        if (n) {
          c->second = *n;
        } else if (n.error() == ReadError::kPermission || n.error() == ReadError::kIo) {
          // Gone, or a kernel before 4.13 that does not count them: nothing
          // to tell, and nothing wrong with the agent.
          errors.count(n.error());
        }
      }
      // A cgroup that is gone has no more kills to tell; one unwatched for
      // long is no longer the rule's.
      if (!c->second || now - it->second.last_seen > retention_) {
        it = cgroups.erase(it);
        continue;
      }
      out.push_back({rule, it->first.path, it->second.identity, *c->second});
      ++it;
    }
  }
  return out;
}

}  // namespace mg
