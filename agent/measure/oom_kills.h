#pragma once
// The kernel's own OOM kills in the cgroups the rules watch: whether
// memoryguard was in time. A cgroup stays watched for `retention` after the
// last watched process left it (the OOM killer's victim was often its last),
// and as long as it exists; its count is read once per check.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "discover/cgroup_identity.h"
#include "discover/process_table.h"
#include "export/snapshot.h"
#include "procfs/cgroup_fs.h"
#include "util/clock.h"

namespace mg {

class OomKillWatch {
 public:
  explicit OomKillWatch(const CgroupFs& cgroups, Duration retention = std::chrono::minutes(5))
      : cgroups_(cgroups), retention_(retention) {}
  // `rule` watches a process in `memory_cgroup` now.
  void note(const std::string& rule, const CgroupRef& memory_cgroup,
            const std::shared_ptr<const CgroupIdentity>& identity, TimePoint now);
  // Forgets the rules no longer in the config.
  void keep_rules(const std::vector<std::string>& rules);
  // The count of every watched cgroup; forgets those gone or unwatched for
  // longer than the retention.
  std::vector<OomKillSample> read(TimePoint now, ScanErrors& errors);

 private:
  struct Watched {
    std::shared_ptr<const CgroupIdentity> identity;
    TimePoint last_seen{};
  };
  const CgroupFs& cgroups_;
  Duration retention_;
  std::map<std::string, std::map<CgroupRef, Watched>> by_rule_;
};

}  // namespace mg
