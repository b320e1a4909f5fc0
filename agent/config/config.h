#pragma once
// The validated configuration. The loader turns YAML into these plain structs
// once; nothing else in the agent ever sees a YAML node. Regexes are compiled
// here so that a bad one is an error with a line and column, not a surprise
// at the first scan.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/clock.h"

namespace re2 {
class RE2;
}

namespace mg {

// working_set is a cgroup's figure, not a process's (scope: cgroup only):
// what the cgroup is charged minus the file cache the kernel drops before it
// OOM-kills. A rule that measures it ranks its victims by PSS.
enum class Measure { kPss, kUss, kRss, kWorkingSet };
enum class Scope { kProcess, kGroup, kCgroup };
enum class Victim { kLargest, kOldest, kNewest, kAll };
enum class Target { kProcess, kProcessGroup, kCgroup };

// Where a value came from in the YAML, 1-based, for error messages.
struct Mark {
  int line = 0;
  int column = 0;
};

struct Pattern {
  std::string text;
  std::shared_ptr<const re2::RE2> re;  // never null in a loaded Config
};

// Every key given must hold (AND). `exclude` holds the keys of `not:`; a
// process that matches all of them is excluded.
struct MatchSpec {
  std::optional<Pattern> name;     // against comm, unanchored, like pgrep
  std::optional<Pattern> cmdline;  // against argv joined by spaces, like pgrep -f
  std::optional<Pattern> exe;      // against the /proc/PID/exe link target
  std::optional<Pattern> cgroup;   // against any of the process's cgroup paths
  // Against whose process it is, from its cgroup path (discover/cgroup_identity.h);
  // a process without one (not in a pod, say) does not match the key.
  std::optional<Pattern> pod_uid;
  std::optional<Pattern> container_id;  // as kube-state-metrics writes it: containerd://<id>
  std::optional<Pattern> systemd_unit;
  std::optional<uid_t> user;  // a user name is resolved to its uid at load
  std::string user_text;      // as written, for messages
  std::optional<std::string> pid_file;
  std::shared_ptr<const MatchSpec> exclude;

  // Which attributes a matcher needs, so discovery reads nothing it need not.
  bool needs_cmdline() const;
  bool needs_exe() const;
  bool needs_cgroup() const;
  bool needs_user() const;
  bool empty() const;
};

struct LimitSpec {
  std::uint64_t bytes = 0;  // set when !percent
  double percent = 0;       // 0 < percent <= 100: share of the cgroup's memory limit
  bool is_percent() const { return percent > 0; }
  bool is_set() const { return bytes > 0 || percent > 0; }
};

// `pressure:`: memory pressure stall information (PSI) at or above each
// threshold given, over the kernel's 10 s, 60 s or 300 s average. A
// scope: cgroup rule reads each cgroup's memory.pressure (cgroup v2), any
// other rule the host's /proc/pressure/memory.
struct PressureSpec {
  std::optional<double> some;  // percent of the window in which some task stalled
  std::optional<double> full;  // ... in which every non-idle task stalled at once
  int window_seconds = 10;     // 10, 60 or 300
};

// `available:`: the host's MemAvailable below `below` (bytes, or a percent of
// MemTotal), as earlyoom's trigger.
struct AvailableSpec {
  LimitSpec below;  // percent: of MemTotal
};

struct ActionSpec {
  int signal = 9;  // SIGKILL, the seed's only action
  std::string signal_name = "SIGKILL";
  Duration kill_after = std::chrono::seconds(10);
  Target target = Target::kProcess;
  Duration cooldown{0};
  std::vector<std::string> exec;  // argv, empty when no hook
  Duration exec_timeout = std::chrono::seconds(10);
};

// A rule acts when every condition it gives holds: `limit` (optional once
// `pressure` or `available` is given), `pressure`, `available`.
struct RuleSpec {
  std::string name;
  Mark mark;
  MatchSpec match;
  bool children = false;
  LimitSpec limit;  // !is_set(): no limit condition
  Mark limit_mark;  // a % limit is checked against real cgroups after loading
  std::optional<PressureSpec> pressure;
  Mark pressure_mark;  // checked against the kernel after loading
  std::optional<AvailableSpec> available;
  Mark available_mark;
  Measure measure = Measure::kPss;  // the global one when the rule does not say
  Scope scope = Scope::kProcess;
  Duration for_duration{0};
  Victim victim = Victim::kLargest;
  ActionSpec action;
  bool dry_run = false;  // already OR-ed with the global dry_run

  // A limit compared with each process's figure, or with a sum of them (not
  // with a cgroup's working set).
  bool limits_processes() const { return limit.is_set() && measure != Measure::kWorkingSet; }
};

struct Config {
  std::string path;  // the file it was loaded from
  Duration interval = std::chrono::seconds(1);
  Duration stats_frequency = std::chrono::seconds(15);
  bool dry_run = false;
  Measure measure = Measure::kPss;
  std::size_t top_processes = 20;  // per-process series per rule on /metrics
  // pod_uid, container_id and systemd_unit on per-process and per-cgroup
  // series, action lines, hooks and --once.
  bool identity_labels = true;
  // How a bare container ID (the kubelet's cgroupfs driver) is written.
  std::string container_runtime = "containerd";
  std::vector<MatchSpec> protect;
  std::vector<RuleSpec> rules;
};

const char* to_string(Measure m);
const char* to_string(Scope s);
const char* to_string(Victim v);
const char* to_string(Target t);

}  // namespace mg
