#pragma once
// What the check loop last saw, handed to the exporter as one immutable value
// so a scrape never touches /proc and never waits on a scan.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "discover/cgroup_identity.h"
#include "procfs/meminfo.h"
#include "procfs/pressure.h"

namespace mg {

struct ProcessSample {
  pid_t pid = 0;
  std::string name;  // comm as read; the exporter makes it valid UTF-8
  std::uint64_t pss = 0;
  std::uint64_t uss = 0;
  std::uint64_t rss = 0;
  bool has_detail = true;  // pss/uss were read; when false only rss is known
  // Labels pod_uid, container_id, systemd_unit, each when known; null with
  // identity_labels off or when its cgroup says nothing.
  std::shared_ptr<const CgroupIdentity> identity = nullptr;
};

struct CgroupSample {
  std::string path;
  std::uint64_t bytes = 0;  // sum of PSS over the rule's processes in that cgroup
  bool has_bytes = true;    // false when none of them had a PSS read yet
  // What the rule's conditions read of the cgroup itself, when they do.
  std::optional<std::uint64_t> working_set = {};             // measure: working_set
  std::optional<std::uint64_t> memory_limit = {};            // its effective memory limit, with it
  std::optional<Pressure> pressure = {};                     // pressure: (window: the rule's)
  std::shared_ptr<const CgroupIdentity> identity = nullptr;  // as ProcessSample's
};

struct RuleSample {
  std::string rule;
  std::uint64_t pss_bytes = 0;  // sum of PSS over the rule's processes
  // The limit now (a % limit resolves per cgroup; the least); nullopt for a
  // rule that has none (pressure or available only).
  std::optional<std::uint64_t> limit_bytes;
  int pressure_window = 0;  // seconds, when the rule reads cgroup pressure
  std::uint64_t processes = 0;
  std::vector<ProcessSample> top;     // largest first, at most top-N
  std::vector<CgroupSample> cgroups;  // only for scope: cgroup
};

// The kernel's OOM kills so far in one cgroup a rule watches.
struct OomKillSample {
  std::string rule;
  std::string cgroup;  // the memory controller's path of it (v1 on a hybrid host)
  std::shared_ptr<const CgroupIdentity> identity;
  std::uint64_t kills = 0;
};

// What the rules read of the host in the latest check; nothing when none did.
struct HostSample {
  std::optional<MemInfo> meminfo;
  std::optional<Pressure> pressure;
  std::set<int> pressure_windows;  // seconds: the windows the rules compare
};

struct Snapshot {
  std::vector<RuleSample> rules;
  HostSample host;
  std::vector<OomKillSample> oom_kills;
};

}  // namespace mg
