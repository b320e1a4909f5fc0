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

// Bytes ("536870912", "512B"), Ki/Mi/Gi/Ti and KiB/MiB/GiB/TiB (1024s),
// KB (or kB)/MB/GB/TB (1000s); a fraction only with a unit ("1.5Gi"), rounded
// down to whole bytes. Bare K/M/G/T are refused: Kubernetes reads them as
// 1000s, docker as 1024s. > 0 is not checked here.
std::optional<std::uint64_t> parse_size(std::string_view text);
// "80%" -> 80; 0 < p <= 100.
std::optional<double> parse_percent(std::string_view text);
// Go and Prometheus forms, units ns us µs ms s m h d w y, combinable ("1h30m",
// "1.5s"). "0" alone needs no unit. Never negative.
std::optional<Duration> parse_duration(std::string_view text);
// SIGTERM, TERM, sigterm, 15, SIGRTMIN+2, RTMAX-1. Signal 0 is refused.
std::optional<int> parse_signal(std::string_view text);
// 15 -> SIGTERM, 36 -> SIGRTMIN+2 (as `kill -l`); parse_signal reads it back.
std::string signal_name(int signal);
std::string format_bytes(std::uint64_t bytes);  // 512MiB, 1.5GiB: for humans, 2 decimals at most
std::string format_duration(Duration d);        // 1m30s, 500ms, 1d: Prometheus' spelling

}  // namespace mg
