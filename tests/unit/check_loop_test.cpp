// The whole check on fixture trees: a fake /proc and cgroupfs in, the signals
// a recording sender was asked to send out. No process is harmed.
#include "engine/check_loop.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "config/config_loader.h"
#include "fake_proc.h"

namespace mg {
namespace {

using testutil::FakeProcess;
using testutil::FixtureTree;

class RecordingSender : public SignalSender {
 public:
  SendOutcome send(const ProcessIdentity& id, int signal) override {
    std::lock_guard lock(mu_);
    sent_.push_back({id, signal});
    return SendOutcome::kSent;
  }
  std::optional<Duration> wait_exit(const ProcessIdentity&, Duration) override {
    return std::chrono::milliseconds(1);
  }
  std::vector<std::pair<ProcessIdentity, int>> sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<ProcessIdentity, int>> sent_;
};

class CheckLoopTest : public ::testing::Test {
 protected:
  void add(const FakeProcess& p) {
    for (const auto& e : p.entries()) proc.add(e);
  }
  std::unique_ptr<CheckLoop> loop_for(const std::string& yaml, bool once = false) {
    auto loaded = load_config_string(yaml, "test.yaml");
    EXPECT_TRUE(loaded.config) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
    CheckLoopOptions o{"test.yaml", proc.root(), cgroups.root(), false, once};
    auto loop = std::make_unique<CheckLoop>(o, metrics, sender, clock);
    EXPECT_TRUE(loop->start_with(std::move(*loaded.config), loaded.content_hash).empty());
    return loop;
  }
  // Actions run on the actuator's thread; wait for their outcome.
  std::vector<std::pair<ProcessIdentity, int>> sent_after(CheckLoop&, std::size_t want) {
    for (int i = 0; i < 200 && sender.sent().size() < want; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return sender.sent();
  }

  FixtureTree proc{{"uptime", "1000.00 1500.00\n"}};
  FixtureTree cgroups{{"cgroup.controllers", "memory pids\n"},
                      {"app/memory.max", "104857600\n"},
                      {"app/cgroup.procs", "100\n"}};
  Metrics metrics;
  RecordingSender sender;
  SteadyClock clock;
};

constexpr const char* kRule = R"(
interval: 100ms
rules:
  - name: workers
    match: { name: '^worker$' }
    limit: 40Mi
)";

TEST_F(CheckLoopTest, AProcessOverItsLimitIsSignalledByIdentity) {
  FakeProcess big;  // PSS 50 MiB
  big.pss_kib = 50 * 1024;
  big.rss_kib = 100 * 1024;
  FakeProcess small;
  small.pid = 101;
  small.start_time = 6000;
  small.pss_kib = 10 * 1024;
  FakeProcess other;
  other.pid = 102;
  other.comm = "other";
  other.pss_kib = 500 * 1024;
  other.rss_kib = 600 * 1024;
  add(big);
  add(small);
  add(other);
  auto loop = loop_for(kRule);
  loop->check_once();
  auto sent = sent_after(*loop, 1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, (ProcessIdentity{100, 5000}));
  EXPECT_EQ(sent[0].second, 9);
  const std::string text = metrics.render();
  EXPECT_NE(text.find("memoryguard_kills_total{rule=\"workers\",signal=\"SIGKILL\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("memoryguard_limit_exceeded_total{rule=\"workers\"} 1"), std::string::npos);
  EXPECT_NE(text.find("memoryguard_rule_processes{rule=\"workers\"} 2"), std::string::npos);
}

TEST_F(CheckLoopTest, RssOverButPssUnderIsLeftAlone) {
  FakeProcess shared;  // maps a lot, owns little
  shared.rss_kib = 120 * 1024;
  shared.pss_kib = 30 * 1024;
  add(shared);
  auto loop = loop_for(kRule);
  auto report = loop->check_once();
  ASSERT_EQ(report.rows.size(), 1u);
  EXPECT_EQ(report.rows[0].figures.pss, 30ull * 1024 * 1024);
  EXPECT_EQ(report.rows[0].figures.rss, 120ull * 1024 * 1024);
  EXPECT_EQ(report.rows[0].verdict, "ok");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(sender.sent().empty());
}

TEST_F(CheckLoopTest, ProtectedProcessesAreNeverSignalled) {
  FakeProcess p;
  p.pss_kib = 50 * 1024;
  p.rss_kib = 60 * 1024;
  add(p);
  auto loop = loop_for(std::string(kRule) + "protect:\n  - cmdline: '--serve'\n");
  auto report = loop->check_once();
  ASSERT_EQ(report.rows.size(), 1u);
  EXPECT_EQ(report.rows[0].verdict, "over, protected");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(sender.sent().empty());
}

// `run` and `--pid`: a rule that matches every worker acts only on those
// below the tree's root.
TEST_F(CheckLoopTest, ATreeRootKeepsEveryRuleWithinItsTree) {
  FakeProcess root;
  root.rss_kib = 60 * 1024;
  root.pss_kib = 50 * 1024;
  FakeProcess child = root;
  child.pid = 101;
  child.ppid = 100;
  child.start_time = 6000;
  FakeProcess stranger = root;
  stranger.pid = 102;
  add(root);
  add(child);
  add(stranger);
  auto loaded = load_config_string(kRule, "test.yaml");
  ASSERT_TRUE(loaded.config);
  CheckLoopOptions o{"test.yaml", proc.root(), cgroups.root(), false, false};
  o.tree = TreeRoot{{100, 5000}, /*include_root=*/false, /*descendants=*/true};
  CheckLoop loop(o, metrics, sender, clock);
  ASSERT_TRUE(loop.start_with(std::move(*loaded.config), loaded.content_hash).empty());
  const auto report = loop.check_once();
  ASSERT_EQ(report.rows.size(), 1u);
  EXPECT_EQ(report.rows[0].pid, 101);
  const auto sent = sent_after(loop, 1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, (ProcessIdentity{101, 6000}));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(sender.sent().size(), 1u);
}

TEST_F(CheckLoopTest, OnceSignalsNothingAndSaysWhatItWouldDo) {
  FakeProcess p;
  p.pss_kib = 50 * 1024;
  p.rss_kib = 60 * 1024;
  add(p);
  auto loop = loop_for(kRule, /*once=*/true);
  auto report = loop->check_once();
  ASSERT_EQ(report.rows.size(), 1u);
  EXPECT_EQ(report.rows[0].verdict, "over: would SIGKILL");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(sender.sent().empty());
}

TEST_F(CheckLoopTest, PercentLimitResolvesAgainstTheProcessCgroup) {
  FakeProcess p;  // in /app, whose memory.max is 100 MiB: 50% is 50 MiB
  p.pss_kib = 60 * 1024;
  p.rss_kib = 70 * 1024;
  add(p);
  auto loop = loop_for(R"(
rules:
  - name: half
    match: { cgroup: '^/app$' }
    limit: '50%'
)");
  auto report = loop->check_once();
  ASSERT_EQ(report.rows.size(), 1u);
  EXPECT_EQ(report.rows[0].limit, 50ull * 1024 * 1024);
  EXPECT_EQ(sent_after(*loop, 1).size(), 1u);
}

TEST_F(CheckLoopTest, ChildrenOfAMatchedProcessAreTakenButNotExcludedOnes) {
  FakeProcess master;
  master.pid = 200;
  master.comm = "gunicorn";
  master.cmdline = "gunicorn: master";
  FakeProcess worker;
  worker.pid = 201;
  worker.ppid = 200;
  worker.comm = "python3";
  worker.cmdline = "gunicorn: worker";
  FakeProcess grandchild;
  grandchild.pid = 202;
  grandchild.ppid = 201;
  grandchild.comm = "convert";
  grandchild.cmdline = "convert img";
  FakeProcess stranger;
  stranger.pid = 203;
  stranger.comm = "python3";
  add(master);
  add(worker);
  add(grandchild);
  add(stranger);
  auto loop = loop_for(R"(
rules:
  - name: pool
    match: { name: '^gunicorn$', not: { cmdline: 'master' } }
    children: true
    limit: 1Gi
)");
  auto report = loop->check_once();
  std::vector<pid_t> pids;
  for (const auto& r : report.rows) pids.push_back(r.pid);
  std::sort(pids.begin(), pids.end());
  EXPECT_EQ(pids, (std::vector<pid_t>{201, 202}));
}

}  // namespace
}  // namespace mg

namespace mg {
namespace {

TEST_F(CheckLoopTest, PercentLimitOnACgroupWithoutALimitIsAConfigError) {
  testutil::FakeProcess p;
  p.cgroup = "0::/unlimited\n";
  add(p);
  cgroups.add({"unlimited/memory.max", "max\n"});
  auto loaded = load_config_string(R"(
rules:
  - name: half
    match: { name: '^worker$' }
    limit: '50%'
)",
                                   "test.yaml");
  ASSERT_TRUE(loaded.config);
  CheckLoop loop({"test.yaml", proc.root(), cgroups.root(), false, false}, metrics, sender, clock);
  auto errors = loop.start_with(std::move(*loaded.config), loaded.content_hash);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].to_string().rfind("test.yaml:5:12: rules[0].limit: a limit in %", 0), 0u)
      << errors[0].to_string();
  EXPECT_NE(errors[0].reason.find("/unlimited"), std::string::npos);
}

}  // namespace
}  // namespace mg
