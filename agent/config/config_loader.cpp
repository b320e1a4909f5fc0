#include "config/config_loader.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>

#include "config/units.h"
#include "config/yaml_reader.h"

namespace mg {
namespace {

using config_internal::mark_of;
using config_internal::Reader;
using config_internal::Value;

constexpr Duration kDefaultStatsFrequency = std::chrono::seconds(15);

std::string quoted(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

}  // namespace

// FNV-1a: the watcher only needs to tell whether the bytes changed, and a
// hash keeps it from holding on to a copy of the file.
std::string config_content_hash(std::string_view bytes) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

namespace {

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

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

class Loader {
 public:
  explicit Loader(Reader& r) : r_(r) {}

  Config top_level(const YAML::Node& root, const std::string& path) {
    Config config;
    config.path = path;
    Value doc{root, "", mark_of(root.Mark())};
    std::optional<Value> rules;
    std::optional<Value> protect;
    std::optional<Value> stats_frequency;
    r_.map(doc, {
                    {"interval",
                     [&](const Value& v) {
                       if (auto d = r_.duration(v)) {
                         if (d->count() == 0) {
                           r_.error(v, "must be greater than 0");
                         } else {
                           config.interval = *d;
                         }
                       }
                     }},
                    {"stats_frequency",
                     [&](const Value& v) {
                       if (auto d = r_.duration(v)) {
                         config.stats_frequency = *d;
                         stats_frequency = v;
                       }
                     }},
                    {"dry_run", [&](const Value& v) { set(config.dry_run, r_.boolean(v)); }},
                    {"measure", [&](const Value& v) { set(config.measure, measure(v)); }},
                    {"top_processes",
                     [&](const Value& v) {
                       if (auto n = r_.integer(v)) {
                         if (*n < 1) {
                           r_.error(v, "must be at least 1, got " + std::to_string(*n));
                         } else {
                           config.top_processes = static_cast<std::size_t>(*n);
                         }
                       }
                     }},
                    {"protect", [&](const Value& v) { protect = v; }},
                    {"rules", [&](const Value& v) { rules = v; }},
                });
    if (!stats_frequency) {
      // Gauges cannot be fresher than the checks that fill them.
      config.stats_frequency = std::max(kDefaultStatsFrequency, config.interval);
    } else if (config.stats_frequency < config.interval) {
      r_.error(*stats_frequency, "must not be shorter than interval (" +
                                     format_duration(config.interval) + "), got " +
                                     format_duration(config.stats_frequency));
    }
    // Rules are read last: the global measure and dry_run they inherit may
    // come after them in the file.
    if (protect) {
      for (const auto& item : r_.list(*protect).value_or(std::vector<Value>{})) {
        if (auto spec = matcher(item, true)) config.protect.push_back(std::move(*spec));
      }
    }
    if (rules) {
      std::map<std::string, Mark> names;
      for (const auto& item : r_.list(*rules).value_or(std::vector<Value>{})) {
        Mark name_mark;
        auto spec = rule(item, config, name_mark);
        if (!spec || spec->name.empty()) continue;
        auto [first, inserted] = names.emplace(spec->name, name_mark);
        if (!inserted) {
          r_.error(name_mark, item.key + ".name",
                   "duplicate rule name " + quoted(spec->name) + " (first at line " +
                       std::to_string(first->second.line) + ")");
        }
        config.rules.push_back(std::move(*spec));
      }
    }
    return config;
  }

 private:
  template <typename T>
  static void set(T& field, std::optional<T> value) {
    if (value) field = std::move(*value);
  }

  std::optional<Measure> measure(const Value& v) {
    return r_.choice<Measure>(
        v, {{"pss", Measure::kPss}, {"uss", Measure::kUss}, {"rss", Measure::kRss}});
  }

  std::optional<RuleSpec> rule(const Value& at, const Config& global, Mark& name_mark) {
    RuleSpec rule;
    rule.mark = at.mark;
    rule.measure = global.measure;
    std::size_t first_error = r_.error_count();
    bool has_name = false;
    std::optional<Value> match;
    std::optional<Value> victim;
    bool has_limit = false;
    bool dry_run = false;
    bool is_map =
        r_.map(at, {
                       {"name",
                        [&](const Value& v) {
                          has_name = true;
                          name_mark = v.mark;
                          if (auto s = r_.string(v)) {
                            if (s->empty()) {
                              r_.error(v, "must not be empty");
                            } else {
                              rule.name = *s;
                            }
                          }
                        }},
                       {"match", [&](const Value& v) { match = v; }},
                       {"children", [&](const Value& v) { set(rule.children, r_.boolean(v)); }},
                       {"limit",
                        [&](const Value& v) {
                          has_limit = true;
                          rule.limit_mark = v.mark;
                          set(rule.limit, limit(v));
                        }},
                       {"measure", [&](const Value& v) { set(rule.measure, measure(v)); }},
                       {"scope",
                        [&](const Value& v) {
                          set(rule.scope, r_.choice<Scope>(v, {{"process", Scope::kProcess},
                                                               {"group", Scope::kGroup},
                                                               {"cgroup", Scope::kCgroup}}));
                        }},
                       {"for", [&](const Value& v) { set(rule.for_duration, r_.duration(v)); }},
                       {"victim",
                        [&](const Value& v) {
                          victim = v;
                          set(rule.victim, r_.choice<Victim>(v, {{"largest", Victim::kLargest},
                                                                 {"oldest", Victim::kOldest},
                                                                 {"newest", Victim::kNewest},
                                                                 {"all", Victim::kAll}}));
                        }},
                       {"action", [&](const Value& v) { action(v, rule.action); }},
                       {"dry_run", [&](const Value& v) { set(dry_run, r_.boolean(v)); }},
                   });
    if (!is_map) return std::nullopt;
    if (!has_name) r_.error(at.mark, at.key + ".name", "missing: every rule needs a name");
    if (!has_limit) r_.error(at.mark, at.key + ".limit", "missing: every rule needs a limit");
    if (match) {
      if (auto spec = matcher(*match, true)) rule.match = std::move(*spec);
    } else {
      r_.error(at.mark, at.key + ".match", "missing: every rule needs a match");
    }
    // `victim` with scope: process is accepted and has no effect: SPEC §3's
    // own example writes it so, and an operator copies that example.
    (void)victim;
    rule.dry_run = dry_run || global.dry_run;
    if (!rule.name.empty()) r_.annotate_since(first_error, " (rule " + quoted(rule.name) + ")");
    return rule;
  }

  std::optional<LimitSpec> limit(const Value& v) {
    auto text = r_.string(v);
    if (!text) return std::nullopt;
    LimitSpec limit;
    if (!text->empty() && text->front() == '-') {
      r_.error(v, "must be greater than 0, got " + quoted(*text));
      return std::nullopt;
    }
    if (!text->empty() && text->back() == '%') {
      auto percent = parse_percent(*text);
      if (!percent) {
        r_.error(v, "bad percentage " + quoted(*text) +
                        ": want more than 0% and at most 100% of the cgroup's memory limit");
        return std::nullopt;
      }
      limit.percent = *percent;
      return limit;
    }
    auto bytes = parse_size(*text);
    if (!bytes) {
      r_.error(v, "bad size " + quoted(*text) + ": " + size_hint(*text));
      return std::nullopt;
    }
    if (*bytes == 0) {
      r_.error(v, "must be greater than 0, got " + quoted(*text));
      return std::nullopt;
    }
    limit.bytes = *bytes;
    return limit;
  }

  // Matcher keys, shared by match:, not: and the entries of protect:.
  std::optional<MatchSpec> matcher(const Value& at, bool allow_not) {
    MatchSpec spec;
    bool any_key = false;
    std::size_t first_error = r_.error_count();
    auto pattern = [this, &any_key](std::optional<Pattern>& field) {
      return [this, &any_key, &field](const Value& v) {
        any_key = true;
        field = r_.pattern(v);
      };
    };
    bool is_map = r_.map(at, {
                                 {"name", pattern(spec.name)},
                                 {"cmdline", pattern(spec.cmdline)},
                                 {"exe", pattern(spec.exe)},
                                 {"user",
                                  [&](const Value& v) {
                                    any_key = true;
                                    user(v, spec);
                                  }},
                                 {"cgroup", pattern(spec.cgroup)},
                                 {"pid_file",
                                  [&](const Value& v) {
                                    any_key = true;
                                    spec.pid_file = pid_file(v);
                                  }},
                                 {"not",
                                  [&](const Value& v) {
                                    if (!allow_not) {
                                      r_.error(v, "not: cannot be nested");
                                      return;
                                    }
                                    if (auto exclude = matcher(v, false)) {
                                      spec.exclude =
                                          std::make_shared<const MatchSpec>(std::move(*exclude));
                                    }
                                  }},
                             });
    if (!is_map) return std::nullopt;
    // A map whose only keys were wrong already has its error.
    if (!any_key && r_.error_count() == first_error) {
      r_.error(at, std::string("needs at least one of name, cmdline, exe, user, cgroup, pid_file") +
                       (spec.exclude ? " (not: only excludes)" : ""));
    }
    if (r_.error_count() != first_error) return std::nullopt;
    return spec;
  }

  void user(const Value& v, MatchSpec& spec) {
    auto text = r_.string(v);
    if (!text) return;
    spec.user_text = *text;
    if (all_digits(*text)) {
      // (uid_t)-1 means "no user" to the kernel, so it cannot be a real one.
      unsigned long long uid = 0;
      bool fits = text->size() <= 10;
      if (fits) uid = std::stoull(*text);
      if (!fits || uid >= std::numeric_limits<uid_t>::max()) {
        r_.error(v, "uid out of range: " + *text);
        return;
      }
      spec.user = static_cast<uid_t>(uid);
      return;
    }
    long size = sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buffer(size > 0 ? static_cast<std::size_t>(size) : 16384);
    passwd entry{};
    passwd* found = nullptr;
    int err;
    while ((err = getpwnam_r(text->c_str(), &entry, buffer.data(), buffer.size(), &found)) ==
           ERANGE) {
      buffer.resize(buffer.size() * 2);
    }
    if (found == nullptr) {
      std::string why = err != 0 ? std::string(": ") + std::strerror(err) : "";
      r_.error(v, "unknown user " + quoted(*text) + why +
                      " (names are looked up where the agent runs; a uid always works)");
      return;
    }
    spec.user = found->pw_uid;
  }

  std::optional<std::string> pid_file(const Value& v) {
    auto path = r_.string(v);
    if (!path) return std::nullopt;
    // Relative to the agent's working directory would mean something else
    // under systemd, in a container and by hand.
    if (path->empty() || path->front() != '/') {
      r_.error(v, "must be an absolute path, got " + quoted(*path));
      return std::nullopt;
    }
    return path;
  }

  void action(const Value& at, ActionSpec& action) {
    auto positive = [this](Duration& field) {
      return [this, &field](const Value& v) {
        if (auto d = r_.duration(v)) {
          if (d->count() == 0) {
            r_.error(v, "must be greater than 0");
          } else {
            field = *d;
          }
        }
      };
    };
    r_.map(at, {
                   {"signal",
                    [&](const Value& v) {
                      auto text = r_.string(v);
                      if (!text) return;
                      if (auto sig = parse_signal(*text)) {
                        action.signal = *sig;
                        action.signal_name = signal_name(*sig);
                      } else {
                        r_.error(v, "unknown signal " + quoted(*text) +
                                        " (a name like SIGTERM or TERM, or a number)");
                      }
                    }},
                   {"kill_after", positive(action.kill_after)},
                   {"target",
                    [&](const Value& v) {
                      set(action.target,
                          r_.choice<Target>(v, {{"process", Target::kProcess},
                                                {"process_group", Target::kProcessGroup},
                                                {"cgroup", Target::kCgroup}}));
                    }},
                   {"cooldown", [&](const Value& v) { set(action.cooldown, r_.duration(v)); }},
                   {"exec", [&](const Value& v) { exec(v, action.exec); }},
                   {"exec_timeout", positive(action.exec_timeout)},
               });
  }

  void exec(const Value& at, std::vector<std::string>& argv) {
    auto items = r_.list(at);
    if (!items) return;
    if (items->empty()) {
      r_.error(at, "must not be empty: give the program and its arguments, or leave exec out");
      return;
    }
    std::vector<std::string> out;
    for (const auto& item : *items) {
      auto arg = r_.string(item);
      if (!arg) return;
      out.push_back(*arg);
    }
    // The hook runs without a shell or a PATH search, so it must name the
    // file itself; checking now beats failing at the first kill.
    const std::string& program = out.front();
    const Value& first = items->front();
    struct stat st {};
    if (program.empty() || program.front() != '/') {
      r_.error(first,
               "must be an absolute path (no shell, no PATH search), got " + quoted(program));
    } else if (stat(program.c_str(), &st) != 0) {
      r_.error(first, "cannot use " + quoted(program) + ": " + std::strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
      r_.error(first, quoted(program) + " is not a regular file");
    } else if ((st.st_mode & 0111) == 0 || access(program.c_str(), X_OK) != 0) {
      r_.error(first, quoted(program) + " is not executable");
    } else {
      argv = std::move(out);
    }
  }

  Reader& r_;
};

}  // namespace

std::string ConfigError::to_string() const {
  // A file that cannot be read has no position in it.
  if (mark.line <= 0) return file + ": " + key + ": " + reason;
  return file + ":" + std::to_string(mark.line) + ":" + std::to_string(mark.column) + ": " + key +
         ": " + reason;
}

ConfigLoadResult load_config_string(const std::string& yaml, const std::string& source_name) {
  ConfigLoadResult result;
  result.content_hash = config_content_hash(yaml);
  Reader reader(source_name);
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(yaml);
  } catch (const YAML::Exception& e) {
    reader.error(mark_of(e.mark), "yaml", e.msg);
    result.errors = reader.take_errors();
    return result;
  }
  if (documents.size() > 1) {
    reader.error(
        mark_of(documents[1].Mark()), "yaml",
        "a config file holds one YAML document, found " + std::to_string(documents.size()));
  }
  // An empty file is a config with every default and no rules: it watches nothing.
  YAML::Node root = documents.empty() ? YAML::Node() : documents.front();
  Config config = Loader(reader).top_level(root, source_name);
  result.errors = reader.take_errors();
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

ConfigLoadResult load_config_file(const std::string& path) {
  auto fail = [&](int err) {
    ConfigLoadResult result;
    result.errors.push_back(
        {path, Mark{}, "config.file", std::string("cannot read: ") + std::strerror(err)});
    return result;
  };
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errno);
  std::string bytes;
  char buffer[65536];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return fail(err);
    }
    if (n == 0) break;
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
  close(fd);
  return load_config_string(bytes, path);
}

}  // namespace mg
