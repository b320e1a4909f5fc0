#pragma once
// Structured logging in the Prometheus style: logfmt by default, JSON on
// request, one event per line with a message and key=value fields.
//   log::info("action", {{"rule", r}, {"pid", pid}, {"outcome", "exited after 120ms"}});
// -> ts=2026-11-28T11:19:39.123Z level=info msg=action rule=web pid=12 outcome="exited after 120ms"
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace mg::log {

enum class Level { kDebug, kInfo, kWarn, kError };
enum class Format { kLogfmt, kJson };

bool parse_level(std::string_view text, Level& out);
bool parse_format(std::string_view text, Format& out);

// Writes to stderr. Safe to call again (the flags win over defaults).
void setup(Level level, Format format);
bool enabled(Level level);

struct Field {
  std::string_view key;
  std::string value;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
  template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
  Field(std::string_view k, T v) : key(k), value(std::to_string(v)) {}
};

void write(Level level, std::string_view msg, std::initializer_list<Field> fields);
// For events whose fields depend on the case (built up in a vector).
void write(Level level, std::string_view msg, const std::vector<Field>& fields);
inline void debug(std::string_view m, std::initializer_list<Field> f = {}) {
  if (enabled(Level::kDebug)) write(Level::kDebug, m, f);
}
inline void info(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::kInfo, m, f);
}
inline void warn(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::kWarn, m, f);
}
inline void error(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::kError, m, f);
}

// Exposed for tests: how one event renders.
std::string render(Format format, Level level, std::string_view msg, std::span<const Field> fields);

}  // namespace mg::log
