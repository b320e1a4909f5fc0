#pragma once
// Typed reads of YAML values for the config loader (private to agent/config).
// Every read either returns a value or records a ConfigError at the value's
// position and returns nullopt, so the loader carries on and reports every
// problem of a file in one go. Nothing outside agent/config includes this.
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/config_loader.h"

namespace mg::config_internal {

// A node with the dotted key it sits at and the position to blame for it.
// An empty value (`limit:`) has no position of its own, so it borrows its key's.
struct Value {
  YAML::Node node;
  std::string key;
  Mark mark;
};

Mark mark_of(const YAML::Mark& mark);
// `text` in double quotes for an error message, cut short when long.
std::string quoted(std::string_view text);

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  void error(Mark mark, std::string key, std::string reason);
  void error(const Value& at, std::string reason) { error(at.mark, at.key, std::move(reason)); }
  std::size_t error_count() const { return errors_.size(); }
  // Appends `note` to the reasons of the errors recorded since `first`.
  void annotate_since(std::size_t first, std::string_view note);
  // All errors so far, in file order.
  std::vector<ConfigError> take_errors();

  struct Field {
    std::string_view name;
    std::function<void(const Value&)> read;
  };
  // Reads a map whose keys must each be one of `fields`, at most once. An
  // empty value counts as an empty map. False when `at` is not a map at all.
  bool map(const Value& at, std::initializer_list<Field> fields);
  // The items of a list; an empty value counts as an empty list.
  std::optional<std::vector<Value>> list(const Value& at);

  std::optional<std::string> string(const Value& at);
  std::optional<bool> boolean(const Value& at);
  std::optional<long long> integer(const Value& at);
  std::optional<Duration> duration(const Value& at);
  std::optional<Pattern> pattern(const Value& at);

  template <typename E>
  std::optional<E> choice(const Value& at,
                          std::initializer_list<std::pair<std::string_view, E>> options) {
    auto text = string(at);
    if (!text) return std::nullopt;
    std::string names;
    for (const auto& [name, value] : options) {
      if (*text == name) return value;
      names += names.empty() ? "" : ", ";
      names += name;
    }
    error(at, "must be one of " + names + ", got \"" + *text + "\"");
    return std::nullopt;
  }

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
};

}  // namespace mg::config_internal
