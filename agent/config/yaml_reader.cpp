#include "config/yaml_reader.h"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "config/units.h"

namespace mg::config_internal {
namespace {

std::string child_key(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return parent + "." + std::string(key);
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return quoted(node.Scalar());
    default:
      return "nothing";
  }
}

// Quoting a value makes it a string; `dry_run: "false"` holding true would be a nasty surprise.
bool is_quoted(const YAML::Node& node) {
  return node.Tag() == "!";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string unknown_key_reason(std::string_view key, std::initializer_list<Reader::Field> fields) {
  std::string allowed;
  std::string_view closest;
  std::size_t best = 3;  // a suggestion further off than two edits is noise
  for (const auto& f : fields) {
    allowed += allowed.empty() ? "" : ", ";
    allowed += f.name;
    std::size_t d = edit_distance(key, f.name);
    if (d < best && d < f.name.size()) {
      best = d;
      closest = f.name;
    }
  }
  std::string reason = "unknown key " + quoted(key);
  if (!closest.empty()) reason += " (did you mean " + quoted(closest) + "?)";
  return reason + "; allowed: " + allowed;
}

}  // namespace

std::string quoted(std::string_view text) {
  // An error quotes what it refuses; a megabyte scalar must not become a
  // megabyte log line. Cut on a character boundary, not inside one.
  constexpr std::size_t kMaxQuoted = 120;
  if (text.size() <= kMaxQuoted) return "\"" + std::string(text) + "\"";
  std::size_t cut = kMaxQuoted;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return "\"" + std::string(text.substr(0, cut)) + "\"... (" + std::to_string(text.size()) +
         " bytes)";
}

Mark mark_of(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

void Reader::error(Mark mark, std::string key, std::string reason) {
  if (key.empty()) key = "(top level)";
  errors_.push_back({file_, mark, std::move(key), std::move(reason)});
}

void Reader::annotate_since(std::size_t first, std::string_view note) {
  for (std::size_t i = first; i < errors_.size(); ++i) errors_[i].reason += note;
}

std::vector<ConfigError> Reader::take_errors() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const auto& a, const auto& b) {
    return std::pair(a.mark.line, a.mark.column) < std::pair(b.mark.line, b.mark.column);
  });
  return std::move(errors_);
}

bool Reader::map(const Value& at, std::initializer_list<Field> fields) {
  if (at.node.IsNull()) return true;
  if (!at.node.IsMap()) {
    error(at, "must be a map, got " + describe(at.node));
    return false;
  }
  std::map<std::string, Mark> seen;
  for (auto it = at.node.begin(); it != at.node.end(); ++it) {
    // The iterator yields a temporary pair; copies keep the nodes alive.
    const YAML::Node key_node = it->first;
    const YAML::Node value_node = it->second;
    Mark key_mark = mark_of(key_node.Mark());
    if (!key_node.IsScalar()) {
      error(key_mark, at.key, "a key must be a single word, got " + describe(key_node));
      continue;
    }
    const std::string& key = key_node.Scalar();
    std::string path = child_key(at.key, key);
    // yaml-cpp keeps both entries of a repeated key and lookups find the
    // first, so without this check the second one would be silently ignored.
    auto [previous, inserted] = seen.emplace(key, key_mark);
    if (!inserted) {
      error(key_mark, path,
            "duplicate key (first at line " + std::to_string(previous->second.line) + ")");
      continue;
    }
    auto field =
        std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.name == key; });
    if (field == fields.end()) {
      error(key_mark, path, unknown_key_reason(key, fields));
      continue;
    }
    Mark value_mark = value_node.IsNull() ? key_mark : mark_of(value_node.Mark());
    field->read(Value{value_node, path, value_mark});
  }
  return true;
}

std::optional<std::vector<Value>> Reader::list(const Value& at) {
  std::vector<Value> items;
  if (at.node.IsNull()) return items;
  if (!at.node.IsSequence()) {
    error(at, "must be a list, got " + describe(at.node));
    return std::nullopt;
  }
  std::size_t i = 0;
  for (const auto& item : at.node) {
    Mark mark = item.IsNull() ? at.mark : mark_of(item.Mark());
    items.push_back({item, at.key + "[" + std::to_string(i++) + "]", mark});
  }
  return items;
}

std::optional<std::string> Reader::string(const Value& at) {
  if (!at.node.IsScalar()) {
    error(at, "must be a single value, got " + describe(at.node));
    return std::nullopt;
  }
  return at.node.Scalar();
}

std::optional<bool> Reader::boolean(const Value& at) {
  auto text = string(at);
  if (!text) return std::nullopt;
  // YAML 1.2 booleans only: yes/no/on/off are how `country: NO` became false.
  if (!is_quoted(at.node)) {
    if (*text == "true" || *text == "True" || *text == "TRUE") return true;
    if (*text == "false" || *text == "False" || *text == "FALSE") return false;
  }
  error(at, "must be true or false (unquoted), got " + quoted(*text));
  return std::nullopt;
}

std::optional<long long> Reader::integer(const Value& at) {
  auto text = string(at);
  if (!text) return std::nullopt;
  long long value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (is_quoted(at.node) || text->empty() || ec != std::errc() ||
      end != text->data() + text->size()) {
    error(at, "must be a whole number (unquoted), got " + quoted(*text));
    return std::nullopt;
  }
  return value;
}

std::optional<Duration> Reader::duration(const Value& at) {
  auto text = string(at);
  if (!text) return std::nullopt;
  if (auto d = parse_duration(*text)) return d;
  if (!text->empty() && text->front() == '-') {
    error(at, "must not be negative, got " + quoted(*text));
  } else {
    error(at, "bad duration " + quoted(*text) +
                  ": want a number and a unit (ns, us, ms, s, m, h, d, w, y), e.g. 500ms, 1m30s");
  }
  return std::nullopt;
}

std::optional<Pattern> Reader::pattern(const Value& at) {
  auto text = string(at);
  if (!text) return std::nullopt;
  if (text->empty()) {
    error(at, "an empty pattern matches every process; leave the key out instead");
    return std::nullopt;
  }
  auto re = std::make_shared<const re2::RE2>(*text, re2::RE2::Quiet);
  if (!re->ok()) {
    error(at, "bad regular expression " + quoted(*text) + ": " + re->error());
    return std::nullopt;
  }
  return Pattern{*text, std::move(re)};
}

}  // namespace mg::config_internal
