#pragma once
// YAML file -> validated Config. Every problem is reported as
// `file:line:col: key: reason`, and all problems of a file are collected so an
// operator fixes them in one round.
#include <string>
#include <variant>
#include <vector>

#include "config/config.h"

namespace mg {

struct ConfigError {
  std::string file;
  Mark mark;
  std::string key;  // dotted path, e.g. rules[0].action.signal
  std::string reason;
  std::string to_string() const;  // file:line:col: key: reason
};

struct ConfigLoadResult {
  std::optional<Config> config;     // set only when errors is empty
  std::vector<ConfigError> errors;  // never empty when config is not set
  std::string content_hash;         // of the bytes read, to notice real changes
};

ConfigLoadResult load_config_file(const std::string& path);
// `source_name` is what error messages call the file.
ConfigLoadResult load_config_string(const std::string& yaml, const std::string& source_name);

}  // namespace mg
