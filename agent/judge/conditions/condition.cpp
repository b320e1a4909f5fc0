#include "judge/conditions/condition.h"

namespace mg {

const char* to_string(ConditionKind kind) {
  switch (kind) {
    case ConditionKind::kLimit:
      return "limit";
    case ConditionKind::kWorkingSet:
      return "working_set";
    case ConditionKind::kPressure:
      return "pressure";
    case ConditionKind::kAvailable:
      return "available";
  }
  return "limit";
}

}  // namespace mg
