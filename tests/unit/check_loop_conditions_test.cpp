// The conditions through the whole check, on fixture /proc and cgroupfs
// trees of each layout: who is taken, what /metrics and --once show, that
// each cgroup and host file is read once per check however many rules use
// it, and what the host must have for a rule to load at all.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "config/config_loader.h"
#include "engine/check_loop.h"
#include "fake_proc.h"

namespace mg {
namespace {

using testutil::FakeProcess;
using testutil::FixtureTree;

constexpr const char* kCalm =
    "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
constexpr const char* kStalled =
    "some avg10=42.00 avg60=20.00 avg300=5.00 total=99999\n"
    "full avg10=30.00 avg60=10.00 avg300=2.00 total=9999\n";

class Sender : public SignalSender {
 public:
  SendOutcome send(const ProcessIdentity& id, int) override {
    std::lock_guard lock(mu_);
    sent_.push_back(id.pid);
    return SendOutcome::kSent;
  }
  std::optional<Duration> wait_exit(const ProcessIdentity&, Duration) override {
    return std::chrono::milliseconds(1);
  }
  std::vector<pid_t> sent(std::size_t want) {
    for (int i = 0; i < 200; ++i) {
      {
        std::lock_guard lock(mu_);
        if (sent_.size() >= want) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::lock_guard lock(mu_);
    return sent_;
  }

 private:
  std::mutex mu_;
  std::vector<pid_t> sent_;
};

class CheckLoopConditionsTest : public ::testing::Test {
 protected:
  FakeProcess worker(int pid, std::uint64_t pss_mib, const std::string& cgroup_lines) {
    FakeProcess p;
    p.pid = pid;
    p.start_time = 5000 + static_cast<std::uint64_t>(pid);
    p.pss_kib = pss_mib * 1024;
    p.rss_kib = pss_mib * 1024 + 1024;
    p.private_kib = p.pss_kib;
    p.cgroup = cgroup_lines;
    for (const auto& e : p.entries()) proc.add(e);
    return p;
  }
  std::unique_ptr<CheckLoop> loop_for(const FixtureTree& cgroups, const std::string& yaml,
                                      std::vector<ConfigError>* errors = nullptr) {
    auto loaded = load_config_string(yaml, "test.yaml");
    EXPECT_TRUE(loaded.config) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
    if (!loaded.config) return nullptr;
    CheckLoopOptions o{"test.yaml", proc.root(), cgroups.root(), false, false};
    auto loop = std::make_unique<CheckLoop>(o, metrics, sender, clock);
    auto e = loop->start_with(std::move(*loaded.config), loaded.content_hash);
    if (errors) {
      *errors = e;
    } else {
      EXPECT_TRUE(e.empty()) << e[0].to_string();
    }
    return loop;
  }

  FixtureTree proc{{"uptime", "1000.00 1500.00\n"},
                   {"meminfo", "MemTotal: 1048576 kB\nMemAvailable: 40960 kB\n"},
                   {"pressure/memory", kCalm}};
  Metrics metrics;
  Sender sender;
  SteadyClock clock;
};

constexpr const char* kWorkingSetRule = R"(
rules:
  - name: ws
    match: { name: '^worker$' }
    scope: cgroup
    measure: working_set
    limit: 90%
)";

TEST_F(CheckLoopConditionsTest, WorkingSetOnPureV2TakesTheLargestOfTheCgroupOver) {
  FixtureTree cgroups({
      {"cgroup.controllers", "memory pids\n"},
      {"full/memory.max", "104857600\n"},  // 100 MiB: 90% is 90 MiB
      {"full/memory.current", "99614720\n"},
      {"full/memory.stat", "anon 1\ninactive_file 4194304\n"},  // working set 91 MiB
      {"calm/memory.max", "104857600\n"},
      {"calm/memory.current", "99614720\n"},
      {"calm/memory.stat", "inactive_file 52428800\n"},  // working set 45 MiB
  });
  worker(100, 20, "0::/full\n");
  worker(101, 30, "0::/full\n");
  worker(102, 60, "0::/calm\n");
  auto loop = loop_for(cgroups, kWorkingSetRule);
  auto report = loop->check_once();
  EXPECT_EQ(sender.sent(1), std::vector<pid_t>{101});
  const std::string text = metrics.render();
  EXPECT_NE(
      text.find("memoryguard_cgroup_working_set_bytes{cgroup=\"/full\",rule=\"ws\"} 95420416"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("memoryguard_cgroup_memory_limit_bytes{cgroup=\"/calm\",rule=\"ws\"} "
                      "104857600"),
            std::string::npos);
  EXPECT_NE(text.find("memoryguard_rule_limit_bytes{rule=\"ws\"} 94371840"), std::string::npos)
      << "90% of 100 MiB";
  EXPECT_NE(text.find("memoryguard_condition_fired_total{condition=\"working_set\",rule=\"ws\"} 1"),
            std::string::npos);
  ASSERT_EQ(report.conditions.size(), 2u);
  EXPECT_EQ(report.conditions[0].unit, "cgroup /calm");
  EXPECT_FALSE(report.conditions[0].states[0].holds);
  EXPECT_EQ(report.conditions[1].states[0].text, "working_set 91MiB > 90MiB (90% of 100MiB)");
}

TEST_F(CheckLoopConditionsTest, WorkingSetOnPureV1) {
  FixtureTree cgroups({
      {"memory/tasks", ""},
      {"memory/app/memory.limit_in_bytes", "104857600\n"},
      {"memory/app/memory.usage_in_bytes", "104857600\n"},
      {"memory/app/memory.stat", "inactive_file 0\ntotal_inactive_file 1048576\n"},
  });
  worker(100, 20, "4:memory:/app\n");
  auto loop = loop_for(cgroups, kWorkingSetRule);
  loop->check_once();
  EXPECT_EQ(sender.sent(1), std::vector<pid_t>{100});
}

TEST_F(CheckLoopConditionsTest, HybridReadsTheChargeOnV1AndThePressureOnV2) {
  FixtureTree cgroups({
      {"unified/cgroup.controllers", ""},
      {"unified/app/memory.pressure", kStalled},
      {"memory/tasks", ""},
      {"memory/app/memory.limit_in_bytes", "104857600\n"},
      {"memory/app/memory.usage_in_bytes", "10485760\n"},  // working set 10 MiB: calm
      {"memory/app/memory.stat", "total_inactive_file 0\n"},
  });
  worker(100, 20, "4:memory:/app\n0::/app\n");
  auto loop = loop_for(cgroups, R"(
rules:
  - name: ws
    match: { name: '^worker$' }
    scope: cgroup
    measure: working_set
    limit: 50%
  - name: stall
    match: { name: '^worker$' }
    scope: cgroup
    pressure: { some: 40%, full: 25% }
)");
  auto report = loop->check_once();
  EXPECT_EQ(sender.sent(1), std::vector<pid_t>{100}) << "the pressure rule, not the calm ws one";
  const std::string text = metrics.render();
  EXPECT_NE(text.find("memoryguard_cgroup_memory_pressure_ratio{cgroup=\"/app\",rule=\"stall\","
                      "kind=\"some\",window=\"10s\"} 0.42"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("memoryguard_cgroup_working_set_bytes{cgroup=\"/app\",rule=\"ws\"} 10485760"),
            std::string::npos);
  EXPECT_EQ(text.find("memoryguard_host_memory"), std::string::npos)
      << "no rule reads the host: nothing of it is shown";
}

TEST_F(CheckLoopConditionsTest, HostPressureAndAvailable) {
  FixtureTree cgroups({{"cgroup.controllers", "memory\n"}});
  worker(100, 5, "0::/\n");
  worker(101, 50, "0::/\n");
  proc.write("pressure/memory", kStalled);
  auto loop = loop_for(cgroups, R"(
rules:
  - name: stall
    match: { name: '^worker$' }
    pressure: { full: 25%, window: 10s }
  - name: short
    match: { name: '^worker$' }
    available: { below: 5% }
    dry_run: true
)");
  auto report = loop->check_once();
  EXPECT_EQ(sender.sent(1), std::vector<pid_t>{101}) << "one victim, the largest";
  const std::string text = metrics.render();
  EXPECT_NE(text.find("memoryguard_host_memory_pressure_ratio{kind=\"full\",window=\"10s\"} 0.3"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("memoryguard_host_memory_available_bytes 41943040"), std::string::npos);
  EXPECT_NE(text.find("memoryguard_host_memory_total_bytes 1073741824"), std::string::npos);
  EXPECT_NE(
      text.find("memoryguard_condition_fired_total{condition=\"available\",rule=\"short\"} 1"),
      std::string::npos);
  EXPECT_EQ(text.find("memoryguard_rule_limit_bytes{rule=\"short\"}"), std::string::npos)
      << "no limit, no limit series";
  ASSERT_EQ(report.conditions.size(), 2u);
  EXPECT_EQ(report.conditions[1].states[0].text, "MemAvailable 40MiB (3.9%) < 5% of MemTotal 1GiB");
}

TEST_F(CheckLoopConditionsTest, EachFileIsReadOncePerCheck) {
  FixtureTree cgroups({
      {"cgroup.controllers", "memory\n"},
      {"app/memory.max", "max\n"},
      {"app/memory.current", "1048576\n"},
      {"app/memory.stat", "inactive_file 0\n"},
      {"app/memory.pressure", kCalm},
  });
  for (int pid = 100; pid < 110; ++pid) worker(pid, 1, "0::/app\n");
  std::string yaml = "rules:\n";
  for (int i = 0; i < 4; ++i) {
    const std::string n = std::to_string(i);
    yaml += "  - {name: ws" + n +
            ", match: {name: worker}, scope: cgroup, measure: working_set, limit: 1Gi}\n"
            "  - {name: cp" +
            n +
            ", match: {name: worker}, scope: cgroup, pressure: {some: 50%}}\n"
            "  - {name: hp" +
            n +
            ", match: {name: worker}, pressure: {some: 50%}}\n"
            "  - {name: av" +
            n + ", match: {name: worker}, available: {below: 1Ki}}\n";
  }
  auto loop = loop_for(cgroups, yaml);
  const std::uint64_t before = loop->condition_reads();
  loop->check_now();
  EXPECT_EQ(loop->condition_reads() - before, 4u)
      << "memory.current+stat, memory.pressure, /proc/pressure/memory, /proc/meminfo: once each "
         "for 16 rules and 10 processes";
  loop->check_now();
  EXPECT_EQ(loop->condition_reads() - before, 8u);
}

TEST_F(CheckLoopConditionsTest, WhatTheHostMustHave) {
  FixtureTree legacy({{"memory/tasks", ""}});
  FixtureTree none({{"nothing/file", ""}});
  FixtureTree no_psi_proc({{"uptime", "1.0 1.0\n"}, {"meminfo", "MemTotal: 1000 kB\n"}});
  std::vector<ConfigError> errors;
  loop_for(legacy, "rules:\n  - {name: p, match: {name: x}, scope: cgroup, pressure: {some: 5%}}\n",
           &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].key, "rules[0].pressure");
  EXPECT_NE(errors[0].reason.find("only cgroup v2 has"), std::string::npos) << errors[0].reason;

  loop_for(none,
           "rules:\n  - {name: w, match: {name: x}, scope: cgroup, measure: working_set, "
           "limit: 1Gi}\n",
           &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].key, "rules[0].measure");

  proc.remove("pressure");
  proc.write("meminfo", "MemTotal: 1000 kB\n");
  loop_for(none,
           "rules:\n  - {name: h, match: {name: x}, pressure: {some: 5%}}\n"
           "  - {name: a, match: {name: x}, available: {below: 5%}}\n",
           &errors);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].to_string().rfind("test.yaml:2:43: rules[0].pressure: this kernel gives no "
                                        "memory pressure (PSI)",
                                        0),
            0u)
      << errors[0].to_string();
  EXPECT_EQ(errors[1].key, "rules[1].available");
  EXPECT_NE(errors[1].reason.find("MemAvailable"), std::string::npos);
}

}  // namespace
}  // namespace mg
