#include "config/config_loader.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <re2/re2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/units.h"

namespace mg {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr std::uint64_t kMi = 1024 * 1024;

ConfigLoadResult load(const std::string& yaml) {
  return load_config_string(yaml, "test.yaml");
}

std::string all_errors(const ConfigLoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += "\n  " + e.to_string();
  return out;
}

// The file must fail with exactly one error, at line:col under `key`, whose
// reason contains `reason`.
testing::AssertionResult OneError(const std::string& yaml, int line, int col,
                                  const std::string& key, const std::string& reason) {
  auto r = load(yaml);
  if (r.config) return testing::AssertionFailure() << "loaded, but should have failed";
  if (r.errors.size() != 1) {
    return testing::AssertionFailure() << r.errors.size() << " errors:" << all_errors(r);
  }
  const ConfigError& e = r.errors[0];
  if (e.file != "test.yaml" || e.mark.line != line || e.mark.column != col || e.key != key ||
      e.reason.find(reason) == std::string::npos) {
    return testing::AssertionFailure() << "got " << e.to_string() << "\nwant test.yaml:" << line
                                       << ":" << col << ": " << key << ": ...'" << reason << "'...";
  }
  return testing::AssertionSuccess();
}

// A valid rule for tests to break one key of. Line 1 is `rules:`.
std::string rule_with(const std::string& extra) {
  return "rules:\n"
         "  - name: web\n"
         "    match: {name: gunicorn}\n"
         "    limit: 1Gi\n" +
         extra;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/mg-config-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, const std::string& content, mode_t mode) {
    std::string path = path_ + "/" + name;
    std::ofstream(path) << content;
    chmod(path.c_str(), mode);
    return path;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---------------------------------------------------------------------------
// Loading valid files.

TEST(ConfigLoaderFull, SpecExampleLoadsEveryField) {
  auto r = load_config_file(std::string(MG_FIXTURES_DIR) + "/config/full.yaml");
  ASSERT_TRUE(r.config) << all_errors(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.path, std::string(MG_FIXTURES_DIR) + "/config/full.yaml");
  EXPECT_EQ(c.interval, seconds(1));
  EXPECT_EQ(c.stats_frequency, seconds(15));
  EXPECT_FALSE(c.dry_run);
  EXPECT_EQ(c.measure, Measure::kPss);
  EXPECT_EQ(c.top_processes, 20u);
  ASSERT_EQ(c.protect.size(), 1u);
  ASSERT_TRUE(c.protect[0].name);
  EXPECT_EQ(c.protect[0].name->text, "^sshd$");
  EXPECT_TRUE(RE2::PartialMatch("sshd", *c.protect[0].name->re));
  EXPECT_FALSE(RE2::PartialMatch("sshd-session", *c.protect[0].name->re));

  ASSERT_EQ(c.rules.size(), 1u);
  const RuleSpec& rule = c.rules[0];
  EXPECT_EQ(rule.name, "web-workers");
  EXPECT_EQ(rule.mark.line, 11);
  EXPECT_EQ(rule.mark.column, 5);
  const MatchSpec& m = rule.match;
  ASSERT_TRUE(m.name && m.cmdline && m.exe && m.cgroup && m.user && m.pid_file);
  EXPECT_EQ(m.name->text, "^gunicorn");
  EXPECT_TRUE(RE2::PartialMatch("gunicorn: worker", *m.name->re));
  EXPECT_EQ(m.cmdline->text, "app:wsgi");
  EXPECT_TRUE(RE2::PartialMatch("python3 -m gunicorn app:wsgi", *m.cmdline->re));
  EXPECT_EQ(m.exe->text, "/python3");
  EXPECT_EQ(m.cgroup->text, "kubepods.*/app");
  EXPECT_EQ(*m.user, 33u);  // www-data on Debian
  EXPECT_EQ(m.user_text, "www-data");
  EXPECT_EQ(*m.pid_file, "/run/app.pid");
  ASSERT_TRUE(m.exclude);
  ASSERT_TRUE(m.exclude->cmdline);
  EXPECT_EQ(m.exclude->cmdline->text, "master");
  EXPECT_FALSE(m.exclude->name || m.exclude->exe || m.exclude->user || m.exclude->exclude);
  EXPECT_FALSE(rule.children);
  EXPECT_EQ(rule.limit.bytes, 512 * kMi);
  EXPECT_FALSE(rule.limit.is_percent());
  EXPECT_EQ(rule.limit_mark.line, 21);
  EXPECT_EQ(rule.limit_mark.column, 12);
  EXPECT_EQ(rule.measure, Measure::kPss);
  EXPECT_EQ(rule.scope, Scope::kGroup);
  EXPECT_EQ(rule.for_duration, seconds(0));
  EXPECT_EQ(rule.victim, Victim::kLargest);
  EXPECT_EQ(rule.action.signal, SIGKILL);
  EXPECT_EQ(rule.action.signal_name, "SIGKILL");
  EXPECT_EQ(rule.action.kill_after, seconds(10));
  EXPECT_EQ(rule.action.target, Target::kProcess);
  EXPECT_EQ(rule.action.cooldown, seconds(0));
  EXPECT_EQ(rule.action.exec, (std::vector<std::string>{"/bin/true", "--rule"}));
  EXPECT_EQ(rule.action.exec_timeout, seconds(10));
  EXPECT_FALSE(rule.dry_run);
}

TEST(ConfigLoaderFull, NonDefaultValuesOfEveryKey) {
  auto r = load(R"(interval: 500ms
stats_frequency: 1m
dry_run: true
measure: rss
top_processes: 5
protect:
  - {user: 0, not: {name: bash}}
  - cgroup: system.slice
rules:
  - name: a
    match: {exe: '/java$', pid_file: /run/a.pid}
    children: true
    limit: 80%
    measure: uss
    scope: cgroup
    for: 1m30s
    victim: newest
    action:
      signal: term
      kill_after: 2s
      target: cgroup
      cooldown: 5m
      exec_timeout: 3s
  - name: b
    match: {cmdline: 'x y'}
    limit: 1.5GB
    scope: group
    victim: all
    action: {signal: 10, target: process_group}
    dry_run: false
)");
  ASSERT_TRUE(r.config) << all_errors(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.interval, milliseconds(500));
  EXPECT_EQ(c.stats_frequency, minutes(1));
  EXPECT_TRUE(c.dry_run);
  EXPECT_EQ(c.measure, Measure::kRss);
  EXPECT_EQ(c.top_processes, 5u);
  ASSERT_EQ(c.protect.size(), 2u);
  EXPECT_EQ(c.protect[0].user, 0u);
  ASSERT_TRUE(c.protect[0].exclude && c.protect[0].exclude->name);
  EXPECT_EQ(c.protect[0].exclude->name->text, "bash");
  EXPECT_EQ(c.protect[1].cgroup->text, "system.slice");

  ASSERT_EQ(c.rules.size(), 2u);
  const RuleSpec& a = c.rules[0];
  EXPECT_EQ(a.match.exe->text, "/java$");
  EXPECT_EQ(*a.match.pid_file, "/run/a.pid");
  EXPECT_TRUE(a.children);
  EXPECT_TRUE(a.limit.is_percent());
  EXPECT_DOUBLE_EQ(a.limit.percent, 80.0);
  EXPECT_EQ(a.limit.bytes, 0u);
  EXPECT_EQ(a.measure, Measure::kUss);
  EXPECT_EQ(a.scope, Scope::kCgroup);
  EXPECT_EQ(a.for_duration, seconds(90));
  EXPECT_EQ(a.victim, Victim::kNewest);
  EXPECT_EQ(a.action.signal, SIGTERM);
  EXPECT_EQ(a.action.signal_name, "SIGTERM");
  EXPECT_EQ(a.action.kill_after, seconds(2));
  EXPECT_EQ(a.action.target, Target::kCgroup);
  EXPECT_EQ(a.action.cooldown, minutes(5));
  EXPECT_TRUE(a.action.exec.empty());
  EXPECT_EQ(a.action.exec_timeout, seconds(3));
  EXPECT_TRUE(a.dry_run);  // the global dry_run wins

  const RuleSpec& b = c.rules[1];
  EXPECT_EQ(b.limit.bytes, 1'500'000'000u);
  EXPECT_EQ(b.measure, Measure::kRss);  // inherited
  EXPECT_EQ(b.scope, Scope::kGroup);
  EXPECT_EQ(b.victim, Victim::kAll);
  EXPECT_EQ(b.action.signal, SIGUSR1);
  EXPECT_EQ(b.action.signal_name, "SIGUSR1");
  EXPECT_EQ(b.action.target, Target::kProcessGroup);
  EXPECT_TRUE(b.dry_run);
}

TEST(ConfigLoaderFull, DefaultsOfAMinimalRule) {
  auto r = load(rule_with(""));
  ASSERT_TRUE(r.config) << all_errors(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.path, "test.yaml");
  EXPECT_EQ(c.interval, seconds(1));
  EXPECT_EQ(c.stats_frequency, seconds(15));
  EXPECT_EQ(c.top_processes, 20u);
  EXPECT_TRUE(c.protect.empty());
  const RuleSpec& rule = c.rules.at(0);
  EXPECT_EQ(rule.mark.line, 2);
  EXPECT_EQ(rule.mark.column, 5);
  EXPECT_EQ(rule.limit_mark.line, 4);
  EXPECT_EQ(rule.limit_mark.column, 12);
  EXPECT_EQ(rule.measure, Measure::kPss);
  EXPECT_EQ(rule.scope, Scope::kProcess);
  EXPECT_EQ(rule.victim, Victim::kLargest);
  EXPECT_EQ(rule.action.signal, SIGKILL);
  EXPECT_EQ(rule.action.signal_name, "SIGKILL");
  EXPECT_EQ(rule.action.kill_after, seconds(10));
  EXPECT_EQ(rule.action.exec_timeout, seconds(10));
  EXPECT_FALSE(rule.dry_run);
  EXPECT_FALSE(rule.children);
}

TEST(ConfigLoaderFull, RuleInheritsGlobalsWrittenAfterIt) {
  auto r = load(rule_with("measure: uss\ndry_run: true\n"));
  ASSERT_TRUE(r.config) << all_errors(r);
  EXPECT_EQ(r.config->rules[0].measure, Measure::kUss);
  EXPECT_TRUE(r.config->rules[0].dry_run);
}

TEST(ConfigLoaderFull, RuleDryRunAloneCounts) {
  auto r = load(rule_with("    dry_run: true\n"));
  ASSERT_TRUE(r.config) << all_errors(r);
  EXPECT_FALSE(r.config->dry_run);
  EXPECT_TRUE(r.config->rules[0].dry_run);
}

TEST(ConfigLoaderFull, EmptyFileAndEmptyListsAreValid) {
  for (const char* yaml : {"", "# nothing yet\n", "rules: []\n", "rules:\nprotect:\n"}) {
    auto r = load(yaml);
    ASSERT_TRUE(r.config) << yaml << all_errors(r);
    EXPECT_TRUE(r.config->rules.empty());
    EXPECT_EQ(r.config->interval, seconds(1));
  }
}

TEST(ConfigLoaderFull, UserAsUid) {
  auto r = load("rules:\n  - {name: a, match: {user: 1000}, limit: 1Mi}\n");
  ASSERT_TRUE(r.config) << all_errors(r);
  EXPECT_EQ(r.config->rules[0].match.user, 1000u);
  EXPECT_EQ(r.config->rules[0].match.user_text, "1000");
  EXPECT_TRUE(r.config->rules[0].match.needs_user());
}

TEST(ConfigLoaderFull, StatsFrequencyDefaultFollowsALongInterval) {
  auto r = load("interval: 1m\n");
  ASSERT_TRUE(r.config) << all_errors(r);
  EXPECT_EQ(r.config->stats_frequency, minutes(1));
}

TEST(ConfigLoaderFull, ContentHashTracksBytes) {
  auto a = load("interval: 1s\n");
  auto b = load("interval: 1s\n");
  auto c = load("interval: 2s\n");
  EXPECT_FALSE(a.content_hash.empty());
  EXPECT_EQ(a.content_hash, b.content_hash);
  EXPECT_NE(a.content_hash, c.content_hash);
  auto broken = load("interval: [\n");
  EXPECT_FALSE(broken.content_hash.empty());  // a bad file still has bytes to compare

  TempDir dir;
  auto path = dir.write("c.yaml", "interval: 1s\n", 0644);
  EXPECT_EQ(load_config_file(path).content_hash, a.content_hash);
  EXPECT_EQ(config_content_hash("interval: 1s\n"), a.content_hash);
  EXPECT_EQ(config_content_hash(""), "cbf29ce484222325");  // the FNV-1a 64 offset basis
}

// ---------------------------------------------------------------------------
// Errors, one kind per test, each at its exact place.

TEST(ConfigLoaderErrors, ToStringFormat) {
  ConfigError e{"/etc/mg.yaml", {12, 7}, "rules[0].limit", "must be greater than 0"};
  EXPECT_EQ(e.to_string(), "/etc/mg.yaml:12:7: rules[0].limit: must be greater than 0");
  ConfigError f{"/etc/mg.yaml", {}, "config.file", "cannot read: No such file or directory"};
  EXPECT_EQ(f.to_string(), "/etc/mg.yaml: config.file: cannot read: No such file or directory");
}

TEST(ConfigLoaderErrors, MissingFile) {
  auto r = load_config_file("/nonexistent/memoryguard.yaml");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(),
            "/nonexistent/memoryguard.yaml: config.file: cannot read: No such file or directory");
}

TEST(ConfigLoaderErrors, DirectoryInsteadOfFile) {
  TempDir dir;
  auto r = load_config_file(dir.path());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(), dir.path() + ": config.file: cannot read: Is a directory");
}

TEST(ConfigLoaderErrors, FileErrorsNameTheFile) {
  TempDir dir;
  auto path = dir.write("bad.yaml", "interval: 0s\n", 0644);
  auto r = load_config_file(path);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(), path + ":1:11: interval: must be greater than 0");
}

TEST(ConfigLoaderErrors, YamlSyntaxError) {
  EXPECT_TRUE(OneError("rules:\n  - name: [web\n    limit: 1Gi\n", 3, 10, "yaml",
                       "end of sequence flow not found"));
  EXPECT_TRUE(OneError("interval: \"1s", 1, 14, "yaml", "illegal EOF in scalar"));
}

TEST(ConfigLoaderErrors, MoreThanOneDocument) {
  EXPECT_TRUE(OneError("interval: 1s\n---\ninterval: 2s\n", 2, 1, "yaml", "one YAML document"));
}

TEST(ConfigLoaderErrors, UnknownTopLevelKey) {
  EXPECT_TRUE(OneError("interval: 1s\nintervall: 2s\n", 2, 1, "intervall",
                       "unknown key \"intervall\" (did you mean \"interval\"?); allowed: interval, "
                       "stats_frequency, dry_run, measure, top_processes, identity_labels, "
                       "container_runtime, protect, rules"));
}

TEST(ConfigLoaderErrors, UnknownRuleKey) {
  EXPECT_TRUE(OneError(rule_with("    limt: 1Gi\n"), 5, 5, "rules[0].limt",
                       "unknown key \"limt\" (did you mean \"limit\"?)"));
  EXPECT_TRUE(OneError(rule_with("    colour: red\n"), 5, 5, "rules[0].colour",
                       "unknown key \"colour\"; allowed: name, match, children, limit, pressure, "
                       "available, measure, scope, for, victim, action, dry_run (rule \"web\")"));
}

TEST(ConfigLoaderErrors, UnknownActionKey) {
  EXPECT_TRUE(OneError(rule_with("    action:\n      signal: TERM\n      grace: 5s\n"), 7, 7,
                       "rules[0].action.grace", "unknown key \"grace\"; allowed: signal"));
}

TEST(ConfigLoaderErrors, UnknownMatchKey) {
  EXPECT_TRUE(OneError("rules:\n  - name: web\n    match: {name: x, comm: y}\n    limit: 1Gi\n", 3,
                       22, "rules[0].match.comm",
                       "unknown key \"comm\"; allowed: name, cmdline, exe, user, cgroup, pid_file, "
                       "pod_uid, container_id, systemd_unit, not"));
}

TEST(ConfigLoaderErrors, UnknownKeyInNotAndProtect) {
  EXPECT_TRUE(OneError("protect:\n  - name: sshd\n    not: {pid: 1}\n", 3, 11, "protect[0].not.pid",
                       "unknown key \"pid\""));
}

TEST(ConfigLoaderErrors, DuplicateYamlKey) {
  EXPECT_TRUE(OneError("interval: 1s\ninterval: 2s\n", 2, 1, "interval",
                       "duplicate key (first at line 1)"));
  EXPECT_TRUE(OneError(rule_with("    limit: 2Gi\n"), 5, 5, "rules[0].limit",
                       "duplicate key (first at line 4)"));
}

TEST(ConfigLoaderErrors, BadRegex) {
  EXPECT_TRUE(
      OneError("rules:\n  - name: web\n    match:\n      cmdline: 'app(:wsgi'\n"
               "    limit: 1Gi\n",
               4, 16, "rules[0].match.cmdline",
               "bad regular expression \"app(:wsgi\": missing ): app(:wsgi (rule \"web\")"));
  EXPECT_TRUE(OneError("protect:\n  - cgroup: '[a'\n", 2, 13, "protect[0].cgroup",
                       "bad regular expression \"[a\": missing ]: [a"));
}

TEST(ConfigLoaderErrors, EmptyPattern) {
  EXPECT_TRUE(OneError("protect:\n  - name: ''\n", 2, 11, "protect[0].name", "empty pattern"));
}

TEST(ConfigLoaderErrors, ZeroLimit) {
  EXPECT_TRUE(OneError("rules:\n  - {name: web, match: {name: x}, limit: 0}\n", 2, 42,
                       "rules[0].limit", "must be greater than 0, got \"0\" (rule \"web\")"));
  EXPECT_TRUE(OneError("rules:\n  - {name: web, match: {name: x}, limit: 0Mi}\n", 2, 42,
                       "rules[0].limit", "must be greater than 0"));
}

TEST(ConfigLoaderErrors, NegativeLimit) {
  EXPECT_TRUE(OneError("rules:\n  - {name: web, match: {name: x}, limit: -512Mi}\n", 2, 42,
                       "rules[0].limit", "must be greater than 0, got \"-512Mi\""));
}

TEST(ConfigLoaderErrors, MissingLimit) {
  EXPECT_TRUE(
      OneError("rules:\n  - name: web\n    match: {name: x}\n", 2, 5, "rules[0].limit",
               "missing: every rule needs a limit, a pressure: or an available: condition (rule "
               "\"web\")"));
}

TEST(ConfigLoaderErrors, BadSize) {
  EXPECT_TRUE(OneError("rules:\n  - name: web\n    match: {name: x}\n    limit: 12XB\n", 4, 12,
                       "rules[0].limit", "bad size \"12XB\": want bytes, or a number with a unit"));
}

TEST(ConfigLoaderErrors, AmbiguousSizeUnit) {
  EXPECT_TRUE(OneError("rules:\n  - name: web\n    match: {name: x}\n    limit: 512M\n", 4, 12,
                       "rules[0].limit",
                       "ambiguous unit \"M\": write Mi (powers of 1024) or MB (powers of 1000)"));
}

TEST(ConfigLoaderErrors, BadPercent) {
  for (const char* bad : {"0%", "150%", "x%", "-5%"}) {
    SCOPED_TRACE(bad);
    EXPECT_TRUE(OneError(
        std::string("rules:\n  - name: web\n    match: {name: x}\n    limit: '") + bad + "'\n", 4,
        12, "rules[0].limit", bad[0] == '-' ? "must be greater than 0" : "bad percentage"));
  }
}

TEST(ConfigLoaderErrors, BadDuration) {
  EXPECT_TRUE(OneError("interval: 5 seconds\n", 1, 11, "interval",
                       "bad duration \"5 seconds\": want a number and a unit"));
  EXPECT_TRUE(OneError("interval: 10\n", 1, 11, "interval", "bad duration \"10\""));
  EXPECT_TRUE(OneError(rule_with("    for: 1x\n"), 5, 10, "rules[0].for", "bad duration \"1x\""));
  EXPECT_TRUE(OneError(rule_with("    action: {cooldown: soon}\n"), 5, 24,
                       "rules[0].action.cooldown", "bad duration \"soon\""));
}

TEST(ConfigLoaderErrors, NegativeDuration) {
  EXPECT_TRUE(OneError(rule_with("    for: -5s\n"), 5, 10, "rules[0].for",
                       "must not be negative, got \"-5s\""));
}

TEST(ConfigLoaderErrors, ZeroWhereADurationMustBePositive) {
  EXPECT_TRUE(OneError("interval: 0s\n", 1, 11, "interval", "must be greater than 0"));
  EXPECT_TRUE(OneError(rule_with("    action:\n      kill_after: 0s\n"), 6, 19,
                       "rules[0].action.kill_after", "must be greater than 0"));
  EXPECT_TRUE(OneError(rule_with("    action:\n      exec_timeout: 0\n"), 6, 21,
                       "rules[0].action.exec_timeout", "must be greater than 0"));
}

TEST(ConfigLoaderErrors, StatsFrequencyShorterThanInterval) {
  EXPECT_TRUE(OneError("interval: 10s\nstats_frequency: 5s\n", 2, 18, "stats_frequency",
                       "must not be shorter than interval (10s), got 5s"));
}

TEST(ConfigLoaderErrors, UnknownSignal) {
  EXPECT_TRUE(OneError(rule_with("    action:\n      signal: SIGFOO\n"), 6, 15,
                       "rules[0].action.signal", "unknown signal \"SIGFOO\""));
  EXPECT_TRUE(OneError(rule_with("    action:\n      signal: 0\n"), 6, 15, "rules[0].action.signal",
                       "unknown signal \"0\""));
}

TEST(ConfigLoaderErrors, DuplicateRuleNames) {
  EXPECT_TRUE(OneError(rule_with("  - name: web\n    match: {name: other}\n    limit: 2Gi\n"), 5,
                       11, "rules[1].name", "duplicate rule name \"web\" (first at line 2)"));
}

TEST(ConfigLoaderErrors, RuleWithoutName) {
  EXPECT_TRUE(OneError("rules:\n  - match: {name: x}\n    limit: 1Gi\n", 2, 5, "rules[0].name",
                       "missing: every rule needs a name"));
}

TEST(ConfigLoaderErrors, RuleWithEmptyName) {
  EXPECT_TRUE(OneError("rules:\n  - name: ''\n    match: {name: x}\n    limit: 1Gi\n", 2, 11,
                       "rules[0].name", "must not be empty"));
}

TEST(ConfigLoaderErrors, RuleWithoutMatch) {
  EXPECT_TRUE(OneError("rules:\n  - name: web\n    limit: 1Gi\n", 2, 5, "rules[0].match",
                       "missing: every rule needs a match"));
}

TEST(ConfigLoaderErrors, EmptyMatch) {
  EXPECT_TRUE(OneError("rules:\n  - name: web\n    match: {}\n    limit: 1Gi\n", 3, 12,
                       "rules[0].match",
                       "needs at least one of name, cmdline, exe, user, cgroup, pid_file, "
                       "pod_uid, container_id, systemd_unit (rule"));
  EXPECT_TRUE(OneError("rules:\n  - name: web\n    match:\n    limit: 1Gi\n", 3, 5,
                       "rules[0].match", "needs at least one of"));
}

TEST(ConfigLoaderErrors, MatchWithOnlyNot) {
  EXPECT_TRUE(OneError("rules:\n  - name: web\n    match: {not: {name: x}}\n    limit: 1Gi\n", 3,
                       12, "rules[0].match", "(not: only excludes)"));
}

TEST(ConfigLoaderErrors, EmptyOrNestedNot) {
  EXPECT_TRUE(OneError("protect:\n  - {name: a, not: {}}\n", 2, 20, "protect[0].not",
                       "needs at least one of"));
  EXPECT_TRUE(OneError("protect:\n  - {name: a, not: {name: b, not: {name: c}}}\n", 2, 35,
                       "protect[0].not.not", "cannot be nested"));
}

TEST(ConfigLoaderErrors, BadEnumValues) {
  EXPECT_TRUE(
      OneError("measure: vss\n", 1, 10, "measure", "must be one of pss, uss, rss, got \"vss\""));
  EXPECT_TRUE(OneError(rule_with("    measure: PSS\n"), 5, 14, "rules[0].measure", "got \"PSS\""));
  EXPECT_TRUE(OneError(rule_with("    scope: pod\n"), 5, 12, "rules[0].scope",
                       "must be one of process, group, cgroup, got \"pod\""));
  EXPECT_TRUE(OneError(rule_with("    scope: group\n    victim: biggest\n"), 6, 13,
                       "rules[0].victim",
                       "must be one of largest, oldest, newest, all, got \"biggest\""));
  EXPECT_TRUE(OneError(rule_with("    action: {target: pod}\n"), 5, 22, "rules[0].action.target",
                       "must be one of process, process_group, cgroup, got \"pod\""));
}

TEST(ConfigLoader, VictimWithScopeProcessIsAcceptedAsSpecWritesIt) {
  auto r = load_config_string(
      "rules:\n  - name: web\n    match: {name: x}\n    limit: 1Gi\n    scope: process\n"
      "    victim: oldest\n",
      "v.yaml");
  ASSERT_TRUE(r.config) << r.errors.front().to_string();
  EXPECT_EQ(r.config->rules[0].scope, Scope::kProcess);
}

TEST(ConfigLoaderErrors, ExecNotAbsolute) {
  EXPECT_TRUE(OneError(rule_with("    action:\n      exec: [notify, --rule]\n"), 6, 14,
                       "rules[0].action.exec[0]", "must be an absolute path"));
}

TEST(ConfigLoaderErrors, ExecMissing) {
  EXPECT_TRUE(OneError(rule_with("    action:\n      exec: [/nonexistent/notify]\n"), 6, 14,
                       "rules[0].action.exec[0]",
                       "cannot use \"/nonexistent/notify\": No such file or directory"));
}

TEST(ConfigLoaderErrors, ExecNotExecutable) {
  TempDir dir;
  std::string script = dir.write("notify", "#!/bin/sh\n", 0644);
  EXPECT_TRUE(OneError(rule_with("    action:\n      exec: ['" + script + "']\n"), 6, 14,
                       "rules[0].action.exec[0]", "\"" + script + "\" is not executable"));
  EXPECT_TRUE(OneError(rule_with("    action:\n      exec: ['" + dir.path() + "']\n"), 6, 14,
                       "rules[0].action.exec[0]", "is not a regular file"));
  chmod(script.c_str(), 0755);
  auto ok = load(rule_with("    action:\n      exec: ['" + script + "', a b]\n"));
  ASSERT_TRUE(ok.config) << all_errors(ok);
  EXPECT_EQ(ok.config->rules[0].action.exec, (std::vector<std::string>{script, "a b"}));
}

TEST(ConfigLoaderErrors, ExecEmptyOrNotAList) {
  EXPECT_TRUE(OneError(rule_with("    action:\n      exec: []\n"), 6, 13, "rules[0].action.exec",
                       "must not be empty"));
  EXPECT_TRUE(OneError(rule_with("    action:\n      exec: /bin/true --rule\n"), 6, 13,
                       "rules[0].action.exec", "must be a list, got \"/bin/true --rule\""));
  EXPECT_TRUE(OneError(rule_with("    action:\n      exec: [/bin/true, [x]]\n"), 6, 25,
                       "rules[0].action.exec[1]", "must be a single value, got a list"));
}

TEST(ConfigLoaderErrors, UnknownUser) {
  EXPECT_TRUE(OneError("protect:\n  - user: no-such-user-mg\n", 2, 11, "protect[0].user",
                       "unknown user \"no-such-user-mg\""));
  EXPECT_TRUE(
      OneError("protect:\n  - user: 4294967295\n", 2, 11, "protect[0].user", "uid out of range"));
}

TEST(ConfigLoaderErrors, RelativePidFile) {
  EXPECT_TRUE(OneError("protect:\n  - pid_file: run/app.pid\n", 2, 15, "protect[0].pid_file",
                       "must be an absolute path"));
}

TEST(ConfigLoaderErrors, TopProcesses) {
  EXPECT_TRUE(OneError("top_processes: 0\n", 1, 16, "top_processes", "must be at least 1"));
  EXPECT_TRUE(OneError("top_processes: many\n", 1, 16, "top_processes", "must be a whole number"));
  EXPECT_TRUE(OneError("top_processes: 2.5\n", 1, 16, "top_processes", "must be a whole number"));
}

TEST(ConfigLoaderErrors, WrongTypes) {
  EXPECT_TRUE(OneError("- interval: 1s\n", 1, 1, "(top level)", "must be a map, got a list"));
  EXPECT_TRUE(OneError("rules:\n  web: {}\n", 2, 3, "rules", "must be a list, got a map"));
  EXPECT_TRUE(OneError("protect: sshd\n", 1, 10, "protect", "must be a list, got \"sshd\""));
  EXPECT_TRUE(OneError("rules:\n  - web\n", 2, 5, "rules[0]", "must be a map, got \"web\""));
  EXPECT_TRUE(OneError("rules:\n  - name: web\n    match: [x]\n    limit: 1Gi\n", 3, 12,
                       "rules[0].match", "must be a map, got a list"));
  EXPECT_TRUE(OneError(rule_with("    action: kill\n"), 5, 13, "rules[0].action",
                       "must be a map, got \"kill\""));
  EXPECT_TRUE(OneError("rules:\n  - name: web\n    match: {name: x}\n    limit: {bytes: 1}\n", 4,
                       12, "rules[0].limit", "must be a single value, got a map"));
  EXPECT_TRUE(OneError(rule_with("    children: [true]\n"), 5, 15, "rules[0].children",
                       "must be a single value, got a list"));
  EXPECT_TRUE(OneError("interval:\n", 1, 1, "interval", "must be a single value, got nothing"));
}

TEST(ConfigLoaderErrors, StringWhereABoolIsExpected) {
  EXPECT_TRUE(OneError("dry_run: \"true\"\n", 1, 10, "dry_run",
                       "must be true or false (unquoted), got \"true\""));
  EXPECT_TRUE(OneError("dry_run: yes\n", 1, 10, "dry_run", "must be true or false"));
  EXPECT_TRUE(OneError(rule_with("    children: 1\n"), 5, 15, "rules[0].children",
                       "must be true or false"));
}

TEST(ConfigLoaderErrors, CollectsEveryErrorInFileOrder) {
  auto r = load(R"(rules:
  - name: web
    match: {name: '('}
    limit: 0
    victim: everyone
  - name: web
    match: {}
    limit: 1Gi
interval: -1s
measure: vss
)");
  EXPECT_FALSE(r.config);
  std::vector<std::string> got;
  for (const auto& e : r.errors) got.push_back(e.to_string());
  EXPECT_EQ(got,
            (std::vector<std::string>{
                "test.yaml:3:19: rules[0].match.name: bad regular expression \"(\": missing ): "
                "( (rule \"web\")",
                "test.yaml:4:12: rules[0].limit: must be greater than 0, got \"0\" (rule \"web\")",
                "test.yaml:5:13: rules[0].victim: must be one of largest, oldest, newest, all, "
                "got \"everyone\" (rule \"web\")",
                "test.yaml:6:11: rules[1].name: duplicate rule name \"web\" (first at line 2)",
                "test.yaml:7:12: rules[1].match: needs at least one of name, cmdline, exe, "
                "user, cgroup, pid_file, pod_uid, container_id, systemd_unit (rule \"web\")",
                "test.yaml:9:11: interval: must not be negative, got \"-1s\"",
                "test.yaml:10:10: measure: must be one of pss, uss, rss, got \"vss\"",
            }));
}

// Found by tests/fuzz: yaml-cpp 0.7's LoadAll() never returned on these, and
// 128 decimals made 10^n wrap to zero and divide by it.
TEST(ConfigLoaderErrors, InputThatStallsTheYamlParserIsAnError) {
  EXPECT_TRUE(OneError(",", 1, 1, "yaml", "makes no progress"));
  EXPECT_TRUE(OneError("interval: 1s\n,\n", 2, 1, "yaml", ""));
}

TEST(ConfigLoaderErrors, DurationWithTooManyDecimalsIsAnErrorNotACrash) {
  EXPECT_TRUE(
      OneError("interval: 0." + std::string(130, '0') + "1s\n", 1, 11, "interval", "bad duration"));
  EXPECT_TRUE(OneError("rules:\n  - name: web\n    match: {name: gunicorn}\n    limit: 1." +
                           std::string(130, '0') + "1Gi\n",
                       4, 12, "rules[0].limit", "bad"));
}

}  // namespace
}  // namespace mg
