#include "procfs/pressure.h"

#include <charconv>
#include <cmath>

namespace mg {
namespace {

std::string_view next_word(std::string_view& s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  std::size_t end = 0;
  while (end < s.size() && s[end] != ' ' && s[end] != '\t') ++end;
  std::string_view word = s.substr(0, end);
  s.remove_prefix(end);
  return word;
}

template <typename T>
bool number(std::string_view text, T& out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size();
}

// One line after its `some`/`full` word. Every average must be present: a
// line without them is not one this parser understands.
std::optional<PressureLine> parse_line(std::string_view rest) {
  PressureLine line;
  bool have10 = false, have60 = false, have300 = false;
  for (std::string_view field = next_word(rest); !field.empty(); field = next_word(rest)) {
    const std::size_t eq = field.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view key = field.substr(0, eq);
    const std::string_view value = field.substr(eq + 1);
    double avg = 0;
    if (key == "avg10") {
      have10 = number(value, avg) && std::isfinite(avg) && avg >= 0;
      line.avg10 = avg;
      if (!have10) return std::nullopt;
    } else if (key == "avg60") {
      have60 = number(value, avg) && std::isfinite(avg) && avg >= 0;
      line.avg60 = avg;
      if (!have60) return std::nullopt;
    } else if (key == "avg300") {
      have300 = number(value, avg) && std::isfinite(avg) && avg >= 0;
      line.avg300 = avg;
      if (!have300) return std::nullopt;
    } else if (key == "total") {
      if (!number(value, line.total_us)) return std::nullopt;
    }
  }
  if (!have10 || !have60 || !have300) return std::nullopt;
  return line;
}

}  // namespace

double PressureLine::average(int window_seconds) const {
  return window_seconds >= 300 ? avg300 : window_seconds >= 60 ? avg60 : avg10;
}

std::optional<Pressure> parse_pressure(std::string_view text) {
  std::optional<PressureLine> some, full;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    const std::string_view kind = next_word(line);
    if (kind == "some") {
      some = parse_line(line);
      if (!some) return std::nullopt;
    } else if (kind == "full") {
      full = parse_line(line);
      if (!full) return std::nullopt;
    }
  }
  if (!some) return std::nullopt;
  return Pressure{*some, full};
}

}  // namespace mg
