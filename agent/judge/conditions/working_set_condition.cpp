#include "judge/conditions/working_set_condition.h"

#include <sstream>

#include "config/units.h"

namespace mg {

WorkingSetState working_set_condition(const LimitSpec& limit,
                                      const std::optional<CgroupMemoryReading>& reading) {
  WorkingSetState out;
  out.state.kind = ConditionKind::kWorkingSet;
  if (!reading) {
    out.state.text = "working_set unknown (the cgroup's memory files could not be read)";
    return out;
  }
  out.bytes = reading->usage.working_set();
  std::string of;
  if (limit.is_percent()) {
    std::ostringstream percent;
    percent << limit.percent << "%";
    if (!reading->limit) {
      out.state.text = "working_set " + format_bytes(out.bytes) +
                       ", but the cgroup has no memory limit to take " + percent.str() + " of";
      return out;
    }
    out.limit =
        static_cast<std::uint64_t>(static_cast<double>(*reading->limit) * limit.percent / 100.0);
    of = " (" + percent.str() + " of " + format_bytes(*reading->limit) + ")";
  } else {
    out.limit = limit.bytes;
  }
  out.state.holds = out.limit > 0 && out.bytes > out.limit;
  out.state.text = "working_set " + format_bytes(out.bytes) + (out.state.holds ? " > " : " <= ") +
                   format_bytes(out.limit) + of;
  return out;
}

}  // namespace mg
