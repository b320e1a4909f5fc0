#include "match/tree_filter.h"

#include <algorithm>

namespace mg {

bool TreeFilter::linked(const ProcessTable& table, const Process& start) {
  // One walk up per process per scan, remembering every answer on the way,
  // so a deep tree (or a whole host's table) costs one step a process.
  std::vector<pid_t> path;
  const Process* cur = &start;
  bool found = false;
  for (int depth = 0; cur && depth < 4096; ++depth) {
    if (auto it = linked_.find(cur->id.pid); it != linked_.end()) {
      found = it->second;
      break;
    }
    if (cur->id == root_.id) {
      found = true;
      break;
    }
    if (auto it = previous_.find(cur->id.pid);
        it != previous_.end() && it->second == cur->id.start_time) {
      found = true;
      break;
    }
    path.push_back(cur->id.pid);
    const Process* parent = table.find(cur->stat.ppid);
    if (!parent || parent == cur || parent->id.start_time > cur->id.start_time) break;
    cur = parent;
  }
  for (pid_t pid : path) linked_[pid] = found;
  return found;
}

void TreeFilter::refresh(const ProcessTable& table) {
  linked_.clear();
  previous_.swap(members_);
  members_.clear();
  for (const auto& [pid, p] : table.processes()) {
    if (p.stat.is_kernel_thread()) continue;
    if (p.id == root_.id) {
      if (root_.include_root) members_.emplace(pid, p.id.start_time);
      continue;
    }
    if (root_.descendants && linked(table, p)) members_.emplace(pid, p.id.start_time);
  }
  previous_.clear();
}

bool TreeFilter::contains(pid_t pid) const {
  return members_.contains(pid);
}

void TreeFilter::apply(std::vector<pid_t>& members) const {
  std::erase_if(members, [this](pid_t pid) { return !contains(pid); });
}

}  // namespace mg
