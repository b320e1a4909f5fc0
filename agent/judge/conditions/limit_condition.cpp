#include "judge/conditions/limit_condition.h"

#include "config/units.h"

namespace mg {

ConditionState limit_condition(Measure measure, std::uint64_t bytes, std::uint64_t limit,
                               bool sum) {
  ConditionState s{ConditionKind::kLimit, limit > 0 && bytes > limit, {}};
  s.text = std::string(to_string(measure)) + (sum ? " sum " : " ") + format_bytes(bytes) +
           (s.holds ? " > " : " <= ") + format_bytes(limit);
  return s;
}

}  // namespace mg
