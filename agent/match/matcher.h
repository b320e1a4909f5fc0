#pragma once
// match: which processes a rule (or `protect`) picks. Every key given must
// hold; `not` excludes. Results are cached per process identity and the time
// its attributes were read, so a steady scan runs no regex at all.
#include <sys/types.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "discover/process_table.h"

namespace mg {

// The pid each pid_file names, read once per scan.
class PidFiles {
 public:
  void refresh(ProcFs& proc, const Config& config);
  // 0 when the file is missing or does not hold a pid.
  pid_t pid_of(const std::string& path) const;

 private:
  std::unordered_map<std::string, pid_t> pids_;
};

// Whether the keys of `spec` hold for `p`, `exclude` aside. An attribute that
// could not be read (permission) fails its key.
bool matches_keys(const MatchSpec& spec, const Process& p, const PidFiles& pid_files);
// Whether `p` is excluded by `spec.exclude`. An unreadable attribute counts as
// excluded: doubt must not lead to a kill.
bool excluded(const MatchSpec& spec, const Process& p, const PidFiles& pid_files);
bool matches(const MatchSpec& spec, const Process& p, const PidFiles& pid_files);

AttributeNeeds needs_of(const MatchSpec& spec);
AttributeNeeds needs_of(const Config& config);

// Selects the processes of one rule in one scan, with `children` expansion.
class RuleMatcher {
 public:
  explicit RuleMatcher(const RuleSpec& rule) : rule_(&rule) {}
  void rebind(const RuleSpec& rule);  // after a reload keeps nothing stale
  // Keeps this rule's verdicts in each process's MatchMemo, at `slot`: the
  // rules of one config share `generation` (a new one per config) and have
  // distinct slots. Until then, every select matches every process afresh.
  void memoize(std::size_t slot, std::uint64_t generation);
  // Appends the matched pids to `out` (cleared first).
  void select(const ProcessTable& table, const PidFiles& pid_files, std::vector<pid_t>& out);

 private:
  struct Verdict {
    bool direct = false;    // its own keys match
    bool excluded = false;  // its `not:` matches
  };
  Verdict evaluate(const Process& p, const PidFiles& pid_files);
  bool descends_from_match(const ProcessTable& table, const Process& p, const PidFiles& pid_files);

  const RuleSpec* rule_;
  bool cacheable_ = true;
  bool memoized_ = false;
  std::size_t slot_ = 0;
  std::uint64_t generation_ = 0;
  std::unordered_map<pid_t, bool> ancestry_;  // per scan, for children
};

}  // namespace mg
