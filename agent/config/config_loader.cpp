#include "config/config_loader.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>

#include "config/action_keys.h"
#include "config/condition_keys.h"
#include "config/match_keys.h"
#include "config/units.h"
#include "config/yaml_reader.h"
#include "config/yaml_text.h"

namespace mg {
namespace {

using config_internal::first_bad_byte;
using config_internal::mark_of;
using config_internal::quoted;
using config_internal::read_action;
using config_internal::read_available;
using config_internal::read_matcher;
using config_internal::read_pressure;
using config_internal::read_size_or_percent;
using config_internal::Reader;
using config_internal::second_document_start;
using config_internal::Value;

constexpr Duration kDefaultStatsFrequency = std::chrono::seconds(15);

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
                    {"measure", [&](const Value& v) { set(config.measure, global_measure(v)); }},
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
                    {"identity_labels",
                     [&](const Value& v) { set(config.identity_labels, r_.boolean(v)); }},
                    {"container_runtime",
                     [&](const Value& v) {
                       set(config.container_runtime,
                           r_.choice<std::string>(v, {{"containerd", "containerd"},
                                                      {"cri-o", "cri-o"},
                                                      {"docker", "docker"}}));
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
        if (auto spec = read_matcher(r_, item, true)) config.protect.push_back(std::move(*spec));
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

  // working_set is a cgroup's figure, which only some rules compare with.
  std::optional<Measure> global_measure(const Value& v) {
    if (v.node.IsScalar() && v.node.Scalar() == "working_set") {
      r_.error(v,
               "working_set is a cgroup's figure: set it on the rules with scope: cgroup that "
               "compare their limit with it");
      return std::nullopt;
    }
    return r_.choice<Measure>(
        v, {{"pss", Measure::kPss}, {"uss", Measure::kUss}, {"rss", Measure::kRss}});
  }

  std::optional<Measure> measure(const Value& v) {
    return r_.choice<Measure>(v, {{"pss", Measure::kPss},
                                  {"uss", Measure::kUss},
                                  {"rss", Measure::kRss},
                                  {"working_set", Measure::kWorkingSet}});
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
    std::optional<Value> measure_value;
    bool dry_run = false;
    bool is_map = r_.map(
        at, {
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
                   set(rule.limit, read_size_or_percent(r_, v, "the cgroup's memory limit"));
                 }},
                {"pressure",
                 [&](const Value& v) {
                   rule.pressure_mark = v.mark;
                   rule.pressure = read_pressure(r_, v);
                 }},
                {"available", [&](const Value& v) { rule.available = read_available(r_, v); }},
                {"measure",
                 [&](const Value& v) {
                   measure_value = v;
                   set(rule.measure, measure(v));
                 }},
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
                {"action", [&](const Value& v) { read_action(r_, v, rule.action); }},
                {"dry_run", [&](const Value& v) { set(dry_run, r_.boolean(v)); }},
            });
    if (!is_map) return std::nullopt;
    if (!has_name) r_.error(at.mark, at.key + ".name", "missing: every rule needs a name");
    // The conditions a rule acts on. One that failed to read has its error.
    const bool has_condition =
        has_limit || rule.pressure || rule.available || r_.error_count() != first_error;
    if (!has_condition) {
      r_.error(at.mark, at.key + ".limit",
               "missing: every rule needs a limit, a pressure: or an available: condition");
    }
    if (rule.measure == Measure::kWorkingSet && rule.scope != Scope::kCgroup) {
      r_.error(measure_value ? measure_value->mark : at.mark, at.key + ".measure",
               "working_set is a cgroup's figure: it needs scope: cgroup, got scope: " +
                   std::string(to_string(rule.scope)));
    } else if (rule.measure == Measure::kWorkingSet && !has_limit) {
      r_.error(measure_value->mark, at.key + ".measure",
               "working_set is what a limit is compared with: give the rule a limit");
    }
    if (match) {
      if (auto spec = read_matcher(r_, *match, true)) rule.match = std::move(*spec);
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

  Reader& r_;
};

}  // namespace

std::string ConfigError::to_string() const {
  // A file that cannot be read has no position in it.
  if (mark.line <= 0) return file + ": " + key + ": " + reason;
  return file + ":" + std::to_string(mark.line) + ":" + std::to_string(mark.column) + ": " + key +
         ": " + reason;
}

namespace {

// A real config is a few KiB. The cap keeps a runaway generator, a log file
// given by mistake or a deliberate bomb from stalling the check loop (which
// parses on reloads) for seconds: yaml-cpp needs about 1 s per MiB.
constexpr std::size_t kMaxConfigBytes = 1024 * 1024;

}  // namespace

ConfigLoadResult load_config_string(const std::string& yaml, const std::string& source_name) {
  ConfigLoadResult result;
  result.content_hash = config_content_hash(yaml);
  Reader reader(source_name);
  if (yaml.size() > kMaxConfigBytes) {
    reader.error(Mark{}, "config.file",
                 "too large: more than " + std::to_string(kMaxConfigBytes) +
                     " bytes (1 MiB); a real config is a few KiB");
    result.errors = reader.take_errors();
    return result;
  }
  if (auto bad = first_bad_byte(yaml)) {
    reader.error(bad->mark, "yaml", bad->reason);
    result.errors = reader.take_errors();
    return result;
  }
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
    if (auto second = second_document_start(yaml)) {
      reader.error(*second, "yaml", "a config file holds one YAML document, found more");
    }
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp stops at a fixed depth rather than overflow its stack, but
    // calls it "bad file"; a memoryguard config is never more than a few
    // levels deep, so this is a bomb or a generator gone wrong.
    reader.error(mark_of(e.mark), "yaml",
                 "nested too deeply (over " + std::to_string(e.depth()) +
                     " levels of lists or maps; a config needs fewer than 10)");
    result.errors = reader.take_errors();
    return result;
  } catch (const YAML::Exception& e) {
    reader.error(mark_of(e.mark), "yaml", e.msg);
    result.errors = reader.take_errors();
    return result;
  }
  // An empty file is a config with every default and no rules: it watches nothing.
  Config config = Loader(reader).top_level(root, source_name);
  result.errors = reader.take_errors();
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

ConfigLoadResult load_config_file(const std::string& path) {
  auto fail = [&](std::string reason) {
    ConfigLoadResult result;
    result.errors.push_back({path, Mark{}, "config.file", std::move(reason)});
    return result;
  };
  auto fail_errno = [&](int err) {
    return fail(std::string("cannot read: ") + std::strerror(err));
  };
  // O_NONBLOCK: a FIFO put where the config was must not hang the reload
  // (and with it the check loop) until someone writes to it.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return fail_errno(errno);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return fail_errno(err);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return S_ISDIR(st.st_mode) ? fail_errno(EISDIR) : fail("cannot read: not a regular file");
  }
  std::string bytes;
  char buffer[65536];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return fail_errno(err);
    }
    if (n == 0) break;
    bytes.append(buffer, static_cast<std::size_t>(n));
    // A file still growing while read is refused at the cap without reading on.
    if (bytes.size() > kMaxConfigBytes) break;
  }
  close(fd);
  return load_config_string(bytes, path);
}

}  // namespace mg
