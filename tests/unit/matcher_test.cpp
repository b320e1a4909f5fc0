#include "match/matcher.h"

#include <gtest/gtest.h>

#include "config/config_loader.h"

namespace mg {
namespace {

Config config_of(const std::string& rules_yaml) {
  auto loaded = load_config_string("rules:\n" + rules_yaml, "m.yaml");
  EXPECT_TRUE(loaded.config) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
  return loaded.config ? *loaded.config : Config{};
}

Process proc(pid_t pid, std::string comm, std::optional<std::string> cmdline = std::nullopt) {
  Process p;
  p.id = {pid, 1000u + static_cast<unsigned>(pid)};
  p.stat.pid = pid;
  p.stat.comm = std::move(comm);
  p.attrs.valid = true;
  p.attrs.cmdline = std::move(cmdline);
  p.attrs.exe = "/usr/bin/python3.11";
  p.attrs.uid = 33;
  auto placement = std::make_shared<CgroupPlacement>();
  placement->memberships = {{4, "memory", "/kubepods/pod1/app"}, {0, "", "/kubepods.slice/app"}};
  p.attrs.cgroups = std::move(placement);
  return p;
}

TEST(Matcher, EveryKeyGivenMustHold) {
  Config c = config_of(R"(
  - name: r
    match: { name: '^gunicorn', cmdline: 'app:wsgi', exe: '/python3', user: 33, cgroup: 'kubepods.*/app' }
    limit: 1Gi
)");
  PidFiles none;
  const MatchSpec& m = c.rules.at(0).match;
  EXPECT_TRUE(matches(m, proc(1, "gunicorn", "gunicorn app:wsgi -w 4"), none));
  EXPECT_FALSE(matches(m, proc(1, "gunicorn", "gunicorn other:app"), none));
  EXPECT_FALSE(matches(m, proc(1, "uwsgi", "gunicorn app:wsgi"), none));
  auto other_user = proc(1, "gunicorn", "gunicorn app:wsgi");
  other_user.attrs.uid = 0;
  EXPECT_FALSE(matches(m, other_user, none));
}

TEST(Matcher, PatternsAreUnanchoredLikePgrep) {
  Config c = config_of("  - name: r\n    match: { name: 'unic' }\n    limit: 1Gi\n");
  PidFiles none;
  EXPECT_TRUE(matches(c.rules[0].match, proc(1, "gunicorn"), none));
}

TEST(Matcher, AnUnreadableAttributeFailsItsKeyButExcludes) {
  Config c = config_of(R"(
  - name: r
    match: { name: 'worker', not: { cmdline: 'master' } }
    limit: 1Gi
  - name: s
    match: { cmdline: 'serve' }
    limit: 1Gi
)");
  PidFiles none;
  auto unreadable = proc(1, "worker", std::nullopt);
  // A cmdline we could not read: not matched by cmdline, and excluded by a
  // not: on cmdline (doubt must never lead to a kill).
  EXPECT_FALSE(matches(c.rules[1].match, unreadable, none));
  EXPECT_FALSE(matches(c.rules[0].match, unreadable, none));
  EXPECT_TRUE(matches(c.rules[0].match, proc(1, "worker", "worker --serve"), none));
  EXPECT_FALSE(matches(c.rules[0].match, proc(1, "worker", "worker master"), none));
}

TEST(Matcher, CgroupMatchesAnyOfTheProcessPaths) {
  Config c = config_of("  - name: r\n    match: { cgroup: '^/kubepods/pod1/' }\n    limit: 1Gi\n");
  PidFiles none;
  EXPECT_TRUE(matches(c.rules[0].match, proc(1, "x"), none));
}

TEST(Matcher, NeedsOnlyWhatRulesUse) {
  Config c = config_of("  - name: r\n    match: { name: 'x' }\n    limit: 1Gi\n");
  AttributeNeeds n = needs_of(c);
  EXPECT_FALSE(n.cmdline || n.exe || n.user || n.cgroups);
  Config d =
      config_of("  - name: r\n    match: { name: 'x', not: { exe: 'y' } }\n    limit: 10%\n");
  n = needs_of(d);
  EXPECT_TRUE(n.exe);
  EXPECT_TRUE(n.cgroups);  // a % limit reads the cgroup's limit
  EXPECT_FALSE(n.cmdline);
}

TEST(Matcher, RuleMatcherSeesARenameAtTheNextScan) {
  Config c = config_of("  - name: r\n    match: { cmdline: 'stage=leak' }\n    limit: 1Gi\n");
  // The cache is keyed by identity and attribute read time: new attributes
  // (re-read after a TTL or an exec) give a new answer.
  Process p = proc(7, "w", "w stage=idle");
  RuleMatcher rm(c.rules[0]);
  rm.rebind(c.rules[0]);
  PidFiles none;
  EXPECT_FALSE(matches(c.rules[0].match, p, none));
  p.attrs.cmdline = "w stage=leak";
  p.attrs.read_at += std::chrono::seconds(5);
  EXPECT_TRUE(matches(c.rules[0].match, p, none));
}

}  // namespace
}  // namespace mg
