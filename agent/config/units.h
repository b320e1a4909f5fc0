#pragma once
// The value forms of the config: sizes (512Mi, 1GB, 80%), durations (500ms,
// 1m30s) and signal names. Each returns nullopt on a bad value; the loader
// adds the position and a reason.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/clock.h"

namespace mg {

std::optional<std::uint64_t> parse_size(std::string_view text);  // > 0 not checked here
std::optional<double> parse_percent(std::string_view text);       // "80%" -> 80
std::optional<Duration> parse_duration(std::string_view text);    // Go/Prometheus forms
std::optional<int> parse_signal(std::string_view text);           // SIGTERM, TERM, 15
std::string signal_name(int signal);                              // 15 -> SIGTERM
std::string format_bytes(std::uint64_t bytes);                    // 1.5GiB, for humans
std::string format_duration(Duration d);                          // 1m30s

}  // namespace mg
