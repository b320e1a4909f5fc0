#pragma once
// The re-check right before the first signal, as earlyoom makes between
// choosing a victim and killing it: is the process still the one judged
// (same pid and start time), still running (not exited, not a zombie), and
// how big is it now. One smaps_rollup read for pss/uss, one statm read for rss.
#include <mutex>
#include <string>

#include "act/action.h"
#include "procfs/proc_fs.h"

namespace mg {

class VictimProbe {
 public:
  explicit VictimProbe(std::string procfs_root = "/proc");
  // Thread-safe: actions run on several actuator threads.
  VictimNow look(const ProcessIdentity& id, Measure measure);

 private:
  std::mutex mu_;  // ProcFs reuses one buffer
  ProcFs proc_;
};

}  // namespace mg
