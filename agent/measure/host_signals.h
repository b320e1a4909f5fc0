#pragma once
// The host's memory figures that a rule's conditions compare: MemAvailable
// and MemTotal (/proc/meminfo) and the host's memory pressure
// (/proc/pressure/memory), each read at most once per check, and only when
// a rule asks.
#include <cstdint>
#include <optional>

#include "discover/process_table.h"
#include "procfs/meminfo.h"
#include "procfs/pressure.h"
#include "procfs/proc_fs.h"

namespace mg {

class HostSignals {
 public:
  explicit HostSignals(ProcFs& proc) : proc_(proc) {}
  void new_check();
  // nullopt when it could not be read (the read error is counted).
  const std::optional<MemInfo>& meminfo(ScanErrors& errors);
  const std::optional<Pressure>& pressure(ScanErrors& errors);
  // What the latest check read, for the gauges: nullopt when no rule asked.
  const std::optional<MemInfo>& last_meminfo() const { return meminfo_; }
  const std::optional<Pressure>& last_pressure() const { return pressure_; }
  std::uint64_t reads() const { return reads_; }

 private:
  ProcFs& proc_;
  bool meminfo_read_ = false;
  bool pressure_read_ = false;
  std::optional<MemInfo> meminfo_;
  std::optional<Pressure> pressure_;
  std::uint64_t reads_ = 0;
};

}  // namespace mg
