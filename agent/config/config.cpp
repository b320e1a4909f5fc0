#include "config/config.h"

namespace mg {

// `exclude` counts: a process has to be read for its `not:` keys as much as
// for its positive ones.
bool MatchSpec::needs_cmdline() const {
  return cmdline.has_value() || (exclude && exclude->needs_cmdline());
}

bool MatchSpec::needs_exe() const {
  return exe.has_value() || (exclude && exclude->needs_exe());
}

bool MatchSpec::needs_cgroup() const {
  return cgroup || pod_uid || container_id || systemd_unit || (exclude && exclude->needs_cgroup());
}

bool MatchSpec::needs_user() const {
  return user.has_value() || (exclude && exclude->needs_user());
}

// Only the positive keys count: a matcher that is nothing but `not:` would
// select every process on the host, which is never what a rule means.
bool MatchSpec::empty() const {
  return !name && !cmdline && !exe && !cgroup && !user && !pid_file && !pod_uid && !container_id &&
         !systemd_unit;
}

const char* to_string(Measure m) {
  switch (m) {
    case Measure::kPss:
      return "pss";
    case Measure::kUss:
      return "uss";
    case Measure::kRss:
      return "rss";
    case Measure::kWorkingSet:
      return "working_set";
  }
  return "pss";
}

const char* to_string(Scope s) {
  switch (s) {
    case Scope::kProcess:
      return "process";
    case Scope::kGroup:
      return "group";
    case Scope::kCgroup:
      return "cgroup";
  }
  return "process";
}

const char* to_string(Victim v) {
  switch (v) {
    case Victim::kLargest:
      return "largest";
    case Victim::kOldest:
      return "oldest";
    case Victim::kNewest:
      return "newest";
    case Victim::kAll:
      return "all";
  }
  return "largest";
}

const char* to_string(Target t) {
  switch (t) {
    case Target::kProcess:
      return "process";
    case Target::kProcessGroup:
      return "process_group";
    case Target::kCgroup:
      return "cgroup";
  }
  return "process";
}

}  // namespace mg
