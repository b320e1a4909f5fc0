#include "judge/conditions/pressure_condition.h"

#include <cstdio>

namespace mg {
namespace {

std::string percent(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", p);
  return buf;
}

}  // namespace

ConditionState pressure_condition(const PressureSpec& spec, const std::optional<Pressure>& reading,
                                  const char* where) {
  ConditionState s{ConditionKind::kPressure, false, {}};
  const std::string avg = " avg" + std::to_string(spec.window_seconds) + " ";
  s.text = std::string(where) + " pressure";
  if (!reading) {
    s.text += " unknown (could not be read)";
    return s;
  }
  bool holds = true;
  const char* separator = " ";
  auto compare = [&](const char* kind, const std::optional<double>& threshold,
                     const std::optional<PressureLine>& line) {
    if (!threshold) return;
    s.text += separator;
    separator = ", ";
    if (!line) {
      // Kernels before 5.13 may not write a `full` line: unknown, so not held.
      holds = false;
      s.text += std::string(kind) + " unknown (the kernel gives no " + kind + " line)";
      return;
    }
    const double value = line->average(spec.window_seconds);
    const bool reached = value >= *threshold;
    holds = holds && reached;
    s.text += kind + avg + percent(value) + (reached ? " >= " : " < ") + percent(*threshold);
  };
  compare("some", spec.some, reading->some);
  compare("full", spec.full, reading->full);
  s.holds = holds;
  return s;
}

}  // namespace mg
