// The condition keys: pressure, available and measure: working_set, what
// they load into, and one test per kind of mistake, each with its position.
#include <gtest/gtest.h>

#include "config/config_loader.h"

namespace mg {
namespace {

constexpr std::uint64_t kMi = 1024 * 1024;

ConfigLoadResult load(const std::string& yaml) {
  return load_config_string(yaml, "test.yaml");
}

testing::AssertionResult OneError(const std::string& yaml, int line, int col,
                                  const std::string& key, const std::string& reason) {
  auto r = load(yaml);
  if (r.config) return testing::AssertionFailure() << "loaded, but should have failed";
  if (r.errors.size() != 1) {
    std::string all;
    for (const auto& e : r.errors) all += "\n  " + e.to_string();
    return testing::AssertionFailure() << r.errors.size() << " errors:" << all;
  }
  const ConfigError& e = r.errors[0];
  if (e.mark.line != line || e.mark.column != col || e.key != key ||
      e.reason.find(reason) == std::string::npos) {
    return testing::AssertionFailure() << "got " << e.to_string() << "\nwant test.yaml:" << line
                                       << ":" << col << ": " << key << ": ...'" << reason << "'...";
  }
  return testing::AssertionSuccess();
}

// Line 1 is `rules:`; the rule's own keys start at line 4.
std::string rule(const std::string& keys) {
  return "rules:\n"
         "  - name: app\n"
         "    match: {cgroup: 'kubepods.*/app'}\n" +
         keys;
}

TEST(ConfigConditions, TheIssuesExamplesLoad) {
  auto r = load(
      "rules:\n"
      "  - name: app-container\n"
      "    match: {cgroup: 'kubepods.*/app'}\n"
      "    scope: cgroup\n"
      "    measure: working_set\n"
      "    limit: 90%\n"
      "  - name: app-under-pressure\n"
      "    match: {cgroup: 'kubepods.*/app'}\n"
      "    scope: cgroup\n"
      "    pressure: {some: 20%, window: 10s}\n"
      "    for: 30s\n"
      "  - name: host-short\n"
      "    match: {name: '^java$'}\n"
      "    available: {below: 5%}\n"
      "  - name: both\n"
      "    match: {name: '^java$'}\n"
      "    limit: 2Gi\n"
      "    pressure: {full: 12.5%, window: 5m}\n"
      "    available: {below: 512Mi}\n");
  ASSERT_TRUE(r.config) << r.errors[0].to_string();
  const auto& rules = r.config->rules;
  ASSERT_EQ(rules.size(), 4u);
  EXPECT_EQ(rules[0].measure, Measure::kWorkingSet);
  EXPECT_DOUBLE_EQ(rules[0].limit.percent, 90);
  EXPECT_FALSE(rules[0].limits_processes());
  ASSERT_TRUE(rules[1].pressure);
  EXPECT_DOUBLE_EQ(*rules[1].pressure->some, 20);
  EXPECT_FALSE(rules[1].pressure->full);
  EXPECT_EQ(rules[1].pressure->window_seconds, 10);
  EXPECT_FALSE(rules[1].limit.is_set()) << "limit is optional beside pressure";
  ASSERT_TRUE(rules[2].available);
  EXPECT_DOUBLE_EQ(rules[2].available->below.percent, 5);
  EXPECT_TRUE(rules[3].limits_processes());
  EXPECT_DOUBLE_EQ(*rules[3].pressure->full, 12.5);
  EXPECT_EQ(rules[3].pressure->window_seconds, 300);
  EXPECT_EQ(rules[3].available->below.bytes, 512 * kMi);
}

TEST(ConfigConditions, ARuleNeedsSomeCondition) {
  EXPECT_TRUE(OneError(rule(""), 2, 5, "rules[0].limit",
                       "every rule needs a limit, a pressure: or an available: condition"));
}

TEST(ConfigConditions, PressurePercentages) {
  EXPECT_TRUE(OneError(rule("    pressure: {some: 120%}\n"), 4, 22, "rules[0].pressure.some",
                       "bad percentage \"120%\": want more than 0% and at most 100%"));
  EXPECT_TRUE(OneError(rule("    pressure: {full: 0%}\n"), 4, 22, "rules[0].pressure.full",
                       "bad percentage \"0%\""));
  EXPECT_TRUE(OneError(rule("    pressure: {some: 20}\n"), 4, 22, "rules[0].pressure.some",
                       "want a percentage of the window's time, like 20%"));
  EXPECT_TRUE(OneError(rule("    pressure: {window: 60s}\n"), 4, 15, "rules[0].pressure",
                       "needs some:, full: or both"));
}

TEST(ConfigConditions, PressureWindowIsOneOfTheKernels) {
  EXPECT_TRUE(OneError(rule("    pressure: {some: 10%, window: 30s}\n"), 4, 35,
                       "rules[0].pressure.window",
                       "must be 10s, 60s or 300s (the kernel averages pressure over those "
                       "windows only: avg10, avg60, avg300), got 30s"));
  EXPECT_TRUE(OneError(rule("    pressure: {some: 10%, window: 10500ms}\n"), 4, 35,
                       "rules[0].pressure.window", "got 10s500ms"));
  auto r = load(rule("    pressure: {some: 10%, window: 1m}\n"));
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->rules[0].pressure->window_seconds, 60);
}

TEST(ConfigConditions, PressureKeysAreChecked) {
  EXPECT_TRUE(OneError(rule("    pressure: {some: 10%, avg: 10s}\n"), 4, 27,
                       "rules[0].pressure.avg",
                       "unknown key \"avg\"; allowed: some, full, window"));
}

TEST(ConfigConditions, Available) {
  EXPECT_TRUE(OneError(rule("    available: {below: 101%}\n"), 4, 24, "rules[0].available.below",
                       "at most 100% of MemTotal"));
  EXPECT_TRUE(OneError(rule("    available: {below: 0}\n"), 4, 24, "rules[0].available.below",
                       "must be greater than 0"));
  EXPECT_TRUE(OneError(rule("    available: {above: 5%}\n"), 4, 17, "rules[0].available.above",
                       "unknown key \"above\"; allowed: below"));
  EXPECT_TRUE(OneError(rule("    available: {}\n"), 4, 16, "rules[0].available.below",
                       "missing: say below what"));
}

TEST(ConfigConditions, WorkingSetIsACgroupsFigure) {
  EXPECT_TRUE(OneError(rule("    measure: working_set\n    limit: 1Gi\n"), 4, 14,
                       "rules[0].measure",
                       "working_set is a cgroup's figure: it needs scope: cgroup, got scope: "
                       "process"));
  EXPECT_TRUE(
      OneError(rule("    scope: cgroup\n    measure: working_set\n    pressure: {some: 1%}\n"), 5,
               14, "rules[0].measure", "give the rule a limit"));
  EXPECT_TRUE(OneError("measure: working_set\n", 1, 10, "measure",
                       "working_set is a cgroup's figure: set it on the rules with scope: cgroup"));
  // The scope may come after the measure.
  auto r = load(rule("    measure: working_set\n    limit: 1Gi\n    scope: cgroup\n"));
  EXPECT_TRUE(r.config) << r.errors[0].to_string();
}

}  // namespace
}  // namespace mg
