// The config's value forms: sizes, percents, durations and signals, and the
// round trips the agent relies on when it prints them back (logs, metrics
// labels, --print-config).
#include <cmath>

#include "config/units.h"
#include "fuzz_tree.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = mg_fuzz::as_view(data, size);
  if (auto bytes = mg::parse_size(text)) MG_FUZZ_CHECK(!mg::format_bytes(*bytes).empty());
  if (auto percent = mg::parse_percent(text)) {
    MG_FUZZ_CHECK(*percent > 0 && *percent <= 100 && std::isfinite(*percent));
  }
  if (auto d = mg::parse_duration(text)) {
    MG_FUZZ_CHECK(d->count() >= 0);
    MG_FUZZ_CHECK(mg::parse_duration(mg::format_duration(*d)) == *d);
  }
  if (auto signal = mg::parse_signal(text)) {
    MG_FUZZ_CHECK(*signal > 0);
    MG_FUZZ_CHECK(mg::parse_signal(mg::signal_name(*signal)) == *signal);
  }
  return 0;
}
