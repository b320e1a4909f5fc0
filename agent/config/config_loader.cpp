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

#include "config/units.h"
#include "config/yaml_reader.h"

namespace mg {
namespace {

using config_internal::mark_of;
using config_internal::quoted;
using config_internal::Reader;
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

namespace {

// A real config is a few KiB. The cap keeps a runaway generator, a log file
// given by mistake or a deliberate bomb from stalling the check loop (which
// parses on reloads) for seconds: yaml-cpp needs about 1 s per MiB.
constexpr std::size_t kMaxConfigBytes = 1024 * 1024;

// Where the bytes stop being text YAML can hold: a NUL byte or an invalid
// UTF-8 sequence. yaml-cpp accepts both silently (or with a baffling
// message), and a rule name with invalid UTF-8 would break every scrape.
struct BadByte {
  Mark mark;
  std::string reason;
};

std::optional<BadByte> first_bad_byte(std::string_view text) {
  int line = 1;
  std::size_t line_start = 0;
  std::size_t i = 0;
  auto at = [&](std::size_t pos, std::string reason) {
    return BadByte{Mark{line, static_cast<int>(pos - line_start) + 1}, std::move(reason)};
  };
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++line;
      line_start = ++i;
      continue;
    }
    if (c == 0) return at(i, "a NUL byte: the file is not text");
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    std::uint32_t cp = len ? (c & (0x7F >> len)) : 0;
    bool valid = len != 0 && i + len <= text.size();
    for (std::size_t k = 1; valid && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      valid = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr std::uint32_t kLeast[] = {0, 0, 0x80, 0x800, 0x10000};
    if (!valid || cp < kLeast[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", c);
      return at(i, std::string("invalid UTF-8 (byte ") + hex + "): a config file must be UTF-8");
    }
    i += len;
  }
  return std::nullopt;
}

// Where a second YAML document starts, if there is one. yaml-cpp 0.7's
// LoadAll() never returns on some inputs (a lone ',': jbeder/yaml-cpp#1040,
// found by tests/fuzz): its parser hands out empty documents without moving
// on. So documents are counted here, and a parser that stops moving is an
// error, not a second document.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

std::optional<Mark> second_document_start(const std::string& yaml) {
  std::istringstream in(yaml);
  YAML::Parser parser(in);
  DocumentStarts documents;
  while (documents.starts.size() < 2 && parser.HandleNextDocument(documents)) {
  }
  if (documents.starts.size() < 2) return std::nullopt;
  const YAML::Mark& first = documents.starts[0];
  const YAML::Mark& second = documents.starts[1];
  if (second.pos == first.pos) {
    throw YAML::ParserException(first, "cannot be parsed: the YAML parser makes no progress here");
  }
  return mark_of(second);
}

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
