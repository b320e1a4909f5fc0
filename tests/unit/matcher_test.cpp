#include "match/matcher.h"

#include <gtest/gtest.h>

#include "config/config_loader.h"
#include "fake_proc.h"
#include "util/clock.h"

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

// Verdicts kept in the process table, one byte a rule: new attributes (an
// exec, a refresh) and a new config (a reload, where a slot may now hold
// another rule) each give a new answer; so does a rule using a pid file.
TEST(Matcher, KeptVerdictsFollowTheAttributesAndTheConfig) {
  testutil::FixtureTree proc_tree{{"uptime", "1000.00 1500.00\n"}};
  testutil::FixtureTree cgroups{{"cgroup.controllers", "memory\n"}};
  ProcFs fs{proc_tree.root()};
  CgroupFs cg{cgroups.root(), "/nonexistent"};
  ProcessTable table{fs, cg};
  ManualClock clock;
  testutil::FakeProcess w;
  w.pid = 40;
  w.comm = "w";
  w.cmdline = "w stage=idle";
  for (const auto& e : w.entries()) proc_tree.add(e);
  AttributeNeeds needs;
  needs.cmdline = true;
  ScanErrors errors;
  table.scan(clock.now(), needs, std::chrono::seconds(10), errors);

  Config c = config_of(
      "  - name: leak\n    match: { cmdline: 'stage=leak' }\n    limit: 1Gi\n"
      "  - name: idle\n    match: { cmdline: 'stage=idle' }\n    limit: 1Gi\n");
  RuleMatcher leak(c.rules[0]), idle(c.rules[1]);
  leak.memoize(0, 1);
  idle.memoize(1, 1);
  PidFiles none;
  std::vector<pid_t> out;
  leak.select(table, none, out);
  EXPECT_TRUE(out.empty());
  idle.select(table, none, out);
  EXPECT_EQ(out, std::vector<pid_t>{40});
  ASSERT_EQ(table.find(40)->match_memo.verdicts.size(), 2u);

  // The process rewrites its command line; its attributes' refresh reads it.
  proc_tree.write("40/cmdline", std::string("w\0stage=leak\0", 13));
  clock.advance(std::chrono::seconds(11));
  table.scan(clock.now(), needs, std::chrono::seconds(10), errors);
  leak.select(table, none, out);
  EXPECT_EQ(out, std::vector<pid_t>{40});
  idle.select(table, none, out);
  EXPECT_TRUE(out.empty());

  // A reload puts another rule in slot 0, with no change of the process.
  Config reloaded =
      config_of("  - name: idle\n    match: { cmdline: 'stage=idle' }\n    limit: 1Gi\n");
  RuleMatcher moved(reloaded.rules[0]);
  moved.memoize(0, 2);
  moved.select(table, none, out);
  EXPECT_TRUE(out.empty()) << "slot 0 said 'matches' for the old rule";
}

}  // namespace
}  // namespace mg
