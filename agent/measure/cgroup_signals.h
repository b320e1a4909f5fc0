#pragma once
// The figures of a cgroup that a rule's conditions compare (its working set
// and memory limit, its memory pressure), read at most once per check for
// each cgroup however many rules and processes ask for them.
#include <cstdint>
#include <map>
#include <optional>

#include "discover/process_table.h"
#include "procfs/cgroup_fs.h"
#include "procfs/cgroup_memory.h"
#include "procfs/pressure.h"

namespace mg {

struct CgroupMemoryReading {
  CgroupMemory usage;
  // The least memory limit over the cgroup and its ancestors; nullopt when
  // none of them has one.
  std::optional<std::uint64_t> limit;
};

class CgroupSignals {
 public:
  explicit CgroupSignals(const CgroupFs& cgroups) : cgroups_(cgroups) {}
  // Forgets what the last check read.
  void new_check();
  // nullopt when it could not be read (the read error is counted).
  const std::optional<CgroupMemoryReading>& memory(const CgroupRef& memory_cgroup,
                                                   ScanErrors& errors);
  const std::optional<Pressure>& pressure(const CgroupRef& v2_cgroup, ScanErrors& errors);
  // Files read since the start, for tests that a check reads each once.
  std::uint64_t reads() const { return reads_; }

 private:
  const CgroupFs& cgroups_;
  std::map<CgroupRef, std::optional<CgroupMemoryReading>> memory_;
  std::map<CgroupRef, std::optional<Pressure>> pressure_;
  std::uint64_t reads_ = 0;
};

}  // namespace mg
