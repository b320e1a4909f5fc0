#include "config/condition_keys.h"

#include <string>
#include <string_view>

#include "config/units.h"

namespace mg::config_internal {
namespace {

// The bare K/M/G/T (and docker's lower-case forms) are refused by
// parse_size; say why, since `512M` is the first thing people type.
std::string size_hint(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  std::string_view unit = text.substr(i);
  for (std::string_view ambiguous : {"K", "M", "G", "T", "k", "m", "g", "t"}) {
    if (unit == ambiguous) {
      char upper = static_cast<char>(ambiguous[0] & ~0x20);
      return std::string("ambiguous unit ") + quoted(unit) + ": write " + upper +
             "i (powers of 1024) or " + upper + "B (powers of 1000)";
    }
  }
  return "want bytes, or a number with a unit: Ki, Mi, Gi, Ti or KiB, MiB, GiB, TiB "
         "(powers of 1024), KB, MB, GB, TB (powers of 1000)";
}

// A threshold of PSI: a percentage of the window's time. 0% would hold on
// any host at any moment, which no rule means.
std::optional<double> pressure_percent(Reader& r, const Value& v) {
  auto text = r.string(v);
  if (!text) return std::nullopt;
  if (text->empty() || text->back() != '%') {
    r.error(v, "want a percentage of the window's time, like 20%, got " + quoted(*text));
    return std::nullopt;
  }
  auto percent = parse_percent(*text);
  if (!percent) {
    r.error(v, "bad percentage " + quoted(*text) + ": want more than 0% and at most 100%");
    return std::nullopt;
  }
  return percent;
}

}  // namespace

std::optional<LimitSpec> read_size_or_percent(Reader& r, const Value& v, const char* percent_of) {
  auto text = r.string(v);
  if (!text) return std::nullopt;
  LimitSpec limit;
  if (!text->empty() && text->front() == '-') {
    r.error(v, "must be greater than 0, got " + quoted(*text));
    return std::nullopt;
  }
  if (!text->empty() && text->back() == '%') {
    auto percent = parse_percent(*text);
    if (!percent) {
      r.error(v, "bad percentage " + quoted(*text) + ": want more than 0% and at most 100% of " +
                     percent_of);
      return std::nullopt;
    }
    limit.percent = *percent;
    return limit;
  }
  auto bytes = parse_size(*text);
  if (!bytes) {
    r.error(v, "bad size " + quoted(*text) + ": " + size_hint(*text));
    return std::nullopt;
  }
  if (*bytes == 0) {
    r.error(v, "must be greater than 0, got " + quoted(*text));
    return std::nullopt;
  }
  limit.bytes = *bytes;
  return limit;
}

std::optional<PressureSpec> read_pressure(Reader& r, const Value& at) {
  PressureSpec spec;
  const std::size_t first_error = r.error_count();
  const bool is_map = r.map(
      at, {
              {"some", [&](const Value& v) { spec.some = pressure_percent(r, v); }},
              {"full", [&](const Value& v) { spec.full = pressure_percent(r, v); }},
              {"window",
               [&](const Value& v) {
                 auto d = r.duration(v);
                 if (!d) return;
                 const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(*d);
                 if (seconds != *d ||
                     (seconds.count() != 10 && seconds.count() != 60 && seconds.count() != 300)) {
                   r.error(v,
                           "must be 10s, 60s or 300s (the kernel averages pressure over "
                           "those windows only: avg10, avg60, avg300), got " +
                               format_duration(*d));
                   return;
                 }
                 spec.window_seconds = static_cast<int>(seconds.count());
               }},
          });
  if (!is_map) return std::nullopt;
  if (r.error_count() != first_error) return std::nullopt;
  if (!spec.some && !spec.full) {
    r.error(at, "needs some:, full: or both (a percentage each, like some: 20%)");
    return std::nullopt;
  }
  return spec;
}

std::optional<AvailableSpec> read_available(Reader& r, const Value& at) {
  AvailableSpec spec;
  bool has_below = false;
  const std::size_t first_error = r.error_count();
  const bool is_map = r.map(at, {
                                    {"below",
                                     [&](const Value& v) {
                                       has_below = true;
                                       if (auto below = read_size_or_percent(r, v, "MemTotal"))
                                         spec.below = *below;
                                     }},
                                });
  if (!is_map) return std::nullopt;
  // A map whose only key was wrong already has its error.
  if (!has_below && r.error_count() == first_error)
    r.error(at.mark, at.key + ".below", "missing: say below what, like below: 5%");
  if (r.error_count() != first_error) return std::nullopt;
  return spec;
}

}  // namespace mg::config_internal
