#pragma once
// Pressure stall information (PSI), as the kernel writes it in
// /proc/pressure/memory and in each v2 cgroup's memory.pressure:
//   some avg10=0.12 avg60=0.05 avg300=0.01 total=123456
//   full avg10=0.00 avg60=0.00 avg300=0.00 total=1234
// avgN is the share of the last N seconds in which some (or all) runnable
// tasks were stalled on memory, in percent. Kernels before 5.13 may omit the
// `full` line of some resources; an unknown field or line is ignored, as new
// kernels may add them.
#include <cstdint>
#include <optional>
#include <string_view>

namespace mg {

struct PressureLine {
  double avg10 = 0;
  double avg60 = 0;
  double avg300 = 0;
  std::uint64_t total_us = 0;
  // The average over `window_seconds` (10, 60 or 300), in percent.
  double average(int window_seconds) const;
};

struct Pressure {
  PressureLine some;
  std::optional<PressureLine> full;
};

// nullopt when the text has no valid `some` line.
std::optional<Pressure> parse_pressure(std::string_view text);

}  // namespace mg
