#pragma once
// A rule acts when every condition it gives holds, as an oomd ruleset fires
// when all its detectors do. Each condition is a small function in its own
// file beside this one, from a reading to a ConditionState: whether it holds,
// and what was compared, in words, for the action's log line, --once and
// --check-config. A reading that could not be taken never holds: doubt must
// not lead to a kill.
#include <string>

namespace mg {

enum class ConditionKind { kLimit, kWorkingSet, kPressure, kAvailable };
inline constexpr ConditionKind kConditionKinds[] = {
    ConditionKind::kLimit, ConditionKind::kWorkingSet, ConditionKind::kPressure,
    ConditionKind::kAvailable};
const char* to_string(ConditionKind kind);  // "limit", "working_set", "pressure", "available"

struct ConditionState {
  ConditionKind kind = ConditionKind::kLimit;
  bool holds = false;
  std::string text;  // "pss 120MiB > 100MiB", "pressure some avg10 31.20% >= 20%"
};

}  // namespace mg
