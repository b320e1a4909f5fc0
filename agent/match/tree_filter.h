#pragma once
// match, narrowed to one process tree: what `memoryguard run` and `--pid`
// guard. Applied to every rule's members right after matching, so the rest
// of the engine (measuring, judging, acting, metrics) is the agent's own and
// knows nothing of it.
//
// The tree is the root and every process whose chain of parents reaches it.
// A link counts only when the parent started no later than its child, so a
// stale ppid that now names a reused pid never pulls an outsider in. A
// process once in the tree stays in while it lives (by identity): an orphan
// reparented out of the tree is still the work the root started, and the
// stat the table keeps may name a parent that is gone for a few seconds
// before the table re-reads it.
#include <sys/types.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "discover/process_identity.h"
#include "discover/process_table.h"

namespace mg {

struct TreeRoot {
  ProcessIdentity id;
  // false: the root's descendants only. `run` roots the tree at the agent
  // itself (CMD and every orphan it adopts as subreaper or pid 1 are its
  // children), and the agent is never a member.
  bool include_root = true;
  // false: the root alone (`--pid` without --tree).
  bool descendants = true;
};

class TreeFilter {
 public:
  explicit TreeFilter(TreeRoot root) : root_(root) {}
  const TreeRoot& root() const { return root_; }

  // Once per scan of `table`, before apply().
  void refresh(const ProcessTable& table);
  bool contains(pid_t pid) const;
  // Drops from `members` every pid outside the tree.
  void apply(std::vector<pid_t>& members) const;
  std::size_t size() const { return members_.size(); }

 private:
  bool linked(const ProcessTable& table, const Process& p);

  TreeRoot root_;
  std::unordered_map<pid_t, std::uint64_t> members_;  // pid -> start time
  std::unordered_map<pid_t, std::uint64_t> previous_;
  std::unordered_map<pid_t, bool> linked_;  // per refresh: reaches the root
};

}  // namespace mg
