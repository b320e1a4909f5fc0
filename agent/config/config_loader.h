#pragma once
// YAML file -> validated Config. Every problem is reported as
// `file:line:col: key: reason`, and all problems of a file are collected so an
// operator fixes them in one round.
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.h"

namespace mg {

struct ConfigError {
  std::string file;
  Mark mark;
  std::string key;  // dotted path, e.g. rules[0].action.signal
  std::string reason;
  std::string to_string() const;  // file:line:col: key: reason (file: key: reason at line 0)
};

struct ConfigLoadResult {
  std::optional<Config> config;     // set only when errors is empty
  std::vector<ConfigError> errors;  // never empty when config is not set
  std::string content_hash;         // of the bytes read, to notice real changes
};

// A missing or unreadable file is one error with no position (line 0), which
// to_string() renders as `file: config.file: cannot read: <strerror>`.
ConfigLoadResult load_config_file(const std::string& path);
// `source_name` is what error messages call the file.
ConfigLoadResult load_config_string(const std::string& yaml, const std::string& source_name);
// The hash put in ConfigLoadResult::content_hash (FNV-1a, 16 hex digits), for
// anyone who wants to compare file bytes the same way without loading them.
std::string config_content_hash(std::string_view bytes);

}  // namespace mg
