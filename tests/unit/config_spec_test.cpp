#include <gtest/gtest.h>
#include <re2/re2.h>

#include "config/config.h"

namespace mg {
namespace {

Pattern pattern(const std::string& text) {
  return Pattern{text, std::make_shared<const re2::RE2>(text)};
}

TEST(ConfigSpecMatch, EmptyCountsOnlyPositiveKeys) {
  MatchSpec m;
  EXPECT_TRUE(m.empty());
  auto exclude = std::make_shared<MatchSpec>();
  exclude->pid_file = "/run/x.pid";
  m.exclude = exclude;
  EXPECT_TRUE(m.empty());  // `not:` alone would select everything
  for (int key = 0; key < 6; ++key) {
    MatchSpec one;
    switch (key) {
      case 0:
        one.name = pattern("a");
        break;
      case 1:
        one.cmdline = pattern("a");
        break;
      case 2:
        one.exe = pattern("a");
        break;
      case 3:
        one.cgroup = pattern("a");
        break;
      case 4:
        one.user = 0;
        break;
      case 5:
        one.pid_file = "/run/a.pid";
        break;
    }
    EXPECT_FALSE(one.empty()) << key;
  }
}

TEST(ConfigSpecMatch, NeedsOnlyWhatIsMatched) {
  MatchSpec m;
  m.name = pattern("^web");
  m.pid_file = "/run/web.pid";
  EXPECT_FALSE(m.needs_cmdline());
  EXPECT_FALSE(m.needs_exe());
  EXPECT_FALSE(m.needs_cgroup());
  EXPECT_FALSE(m.needs_user());
  m.cmdline = pattern("x");
  m.exe = pattern("x");
  m.cgroup = pattern("x");
  m.user = 33;
  EXPECT_TRUE(m.needs_cmdline());
  EXPECT_TRUE(m.needs_exe());
  EXPECT_TRUE(m.needs_cgroup());
  EXPECT_TRUE(m.needs_user());
}

TEST(ConfigSpecMatch, NeedsAccountForExclude) {
  auto exclude = std::make_shared<MatchSpec>();
  MatchSpec m;
  m.name = pattern("^web");
  m.exclude = exclude;
  EXPECT_FALSE(m.needs_cmdline() || m.needs_exe() || m.needs_cgroup() || m.needs_user());
  exclude->cmdline = pattern("master");
  EXPECT_TRUE(m.needs_cmdline());
  EXPECT_FALSE(m.needs_exe());
  exclude->exe = pattern("x");
  EXPECT_TRUE(m.needs_exe());
  exclude->cgroup = pattern("x");
  EXPECT_TRUE(m.needs_cgroup());
  exclude->user = 0;
  EXPECT_TRUE(m.needs_user());
}

TEST(ConfigSpecNames, Enums) {
  EXPECT_STREQ(to_string(Measure::kPss), "pss");
  EXPECT_STREQ(to_string(Measure::kUss), "uss");
  EXPECT_STREQ(to_string(Measure::kRss), "rss");
  EXPECT_STREQ(to_string(Scope::kProcess), "process");
  EXPECT_STREQ(to_string(Scope::kGroup), "group");
  EXPECT_STREQ(to_string(Scope::kCgroup), "cgroup");
  EXPECT_STREQ(to_string(Victim::kLargest), "largest");
  EXPECT_STREQ(to_string(Victim::kOldest), "oldest");
  EXPECT_STREQ(to_string(Victim::kNewest), "newest");
  EXPECT_STREQ(to_string(Victim::kAll), "all");
  EXPECT_STREQ(to_string(Target::kProcess), "process");
  EXPECT_STREQ(to_string(Target::kProcessGroup), "process_group");
  EXPECT_STREQ(to_string(Target::kCgroup), "cgroup");
}

TEST(ConfigSpecDefaults, MatchTheSeed) {
  RuleSpec rule;
  EXPECT_EQ(rule.action.signal, SIGKILL);
  EXPECT_EQ(rule.action.signal_name, "SIGKILL");
  Config config;
  EXPECT_EQ(config.interval, std::chrono::seconds(1));
  EXPECT_EQ(config.top_processes, 20u);
}

}  // namespace
}  // namespace mg
