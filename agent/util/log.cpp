#include "util/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

#include "util/utf8.h"

namespace mg::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};

// spdlog builds its registry on first use. Make that happen while the program
// is still single-threaded, not in a race between two actuator threads that
// log their first lines at once.
[[maybe_unused]] const bool g_registry_ready = (spdlog::default_logger_raw() != nullptr);
std::atomic<Format> g_format{Format::kLogfmt};

const char* level_name(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

// The escapes logfmt and JSON share; control bytes differ in spelling.
void append_escaped(std::string& out, std::string_view v, const char* control_format) {
  for (unsigned char c : v) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (c < ' ' || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, control_format, c);
          out.append(buf);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
}

void append_logfmt_value(std::string& out, std::string_view v) {
  bool quote = v.empty();
  for (unsigned char c : v) {
    if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c == 0x7f) {
      quote = true;
      break;
    }
  }
  if (!quote) {
    out.append(v);
    return;
  }
  out.push_back('"');
  append_escaped(out, v, "\\x%02x");
  out.push_back('"');
}

void append_json_string(std::string& out, std::string_view v) {
  out.push_back('"');
  append_escaped(out, v, "\\u%04x");
  out.push_back('"');
}

}  // namespace

bool parse_level(std::string_view text, Level& out) {
  if (text == "debug")
    out = Level::kDebug;
  else if (text == "info")
    out = Level::kInfo;
  else if (text == "warn")
    out = Level::kWarn;
  else if (text == "error")
    out = Level::kError;
  else
    return false;
  return true;
}

bool parse_format(std::string_view text, Format& out) {
  if (text == "logfmt")
    out = Format::kLogfmt;
  else if (text == "json")
    out = Format::kJson;
  else
    return false;
  return true;
}

void setup(Level level, Format format) {
  g_level = level;
  g_format = format;
  auto logger = spdlog::stderr_logger_mt("memoryguard");
  spdlog::set_default_logger(logger);
  // The timestamp comes from spdlog; everything else is rendered by us so both
  // formats carry the same fields.
  if (format == Format::kJson) {
    spdlog::set_pattern("{\"ts\":\"%Y-%m-%dT%H:%M:%S.%eZ\",%v}", spdlog::pattern_time_type::utc);
  } else {
    spdlog::set_pattern("ts=%Y-%m-%dT%H:%M:%S.%eZ %v", spdlog::pattern_time_type::utc);
  }
  spdlog::set_level(spdlog::level::trace);
  spdlog::flush_on(spdlog::level::trace);
}

bool enabled(Level level) {
  return level >= g_level.load();
}

std::string render(Format format, Level level, std::string_view msg,
                   std::span<const Field> fields) {
  std::string out;
  out.reserve(128);
  if (format == Format::kJson) {
    out.append("\"level\":\"").append(level_name(level)).append("\",\"msg\":");
    append_json_string(out, to_valid_utf8(msg));
    for (const auto& f : fields) {
      out.push_back(',');
      append_json_string(out, f.key);
      out.push_back(':');
      append_json_string(out, to_valid_utf8(f.value));
    }
  } else {
    out.append("level=").append(level_name(level)).append(" msg=");
    append_logfmt_value(out, to_valid_utf8(msg));
    for (const auto& f : fields) {
      out.push_back(' ');
      out.append(f.key);
      out.push_back('=');
      append_logfmt_value(out, to_valid_utf8(f.value));
    }
  }
  return out;
}

void write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  spdlog::info("{}", render(g_format.load(), level, msg, {fields.begin(), fields.size()}));
}

void write(Level level, std::string_view msg, const std::vector<Field>& fields) {
  if (!enabled(level)) return;
  spdlog::info("{}", render(g_format.load(), level, msg, fields));
}

}  // namespace mg::log
