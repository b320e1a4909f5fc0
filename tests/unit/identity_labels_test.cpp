// Whose process it is, through the whole check on fixture trees: matching by
// pod_uid, container_id and systemd_unit, the labels on per-process and
// per-cgroup series (and none where unknown, or with identity_labels off),
// --once, and the kernel's OOM kills of the cgroups the rules watch.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <thread>

#include "config/config_loader.h"
#include "engine/check_loop.h"
#include "fake_proc.h"

namespace mg {
namespace {

using testutil::FakeProcess;
using testutil::FixtureTree;

const std::string kId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kUid = "8f1e3c7a-1b2c-4d5e-9f00-aabbccddeeff";
const std::string kPodPath = "/kubepods/burstable/pod" + kUid + "/" + kId;

class NoSignals : public SignalSender {
 public:
  SendOutcome send(const ProcessIdentity&, int) override { return SendOutcome::kSent; }
  std::optional<Duration> wait_exit(const ProcessIdentity&, Duration) override {
    return std::chrono::milliseconds(1);
  }
};

class IdentityLabelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    add(100, "gunicorn", "0::" + kPodPath + "\n");
    add(101, "nginx", "0::/system.slice/nginx.service\n");
    add(102, "bash", "0::/\n");
  }
  void add(int pid, const std::string& comm, const std::string& cgroup) {
    FakeProcess p;
    p.pid = pid;
    p.comm = comm;
    p.start_time = 5000 + static_cast<std::uint64_t>(pid);
    p.cgroup = cgroup;
    for (const auto& e : p.entries()) proc.add(e);
  }
  std::unique_ptr<CheckLoop> loop_for(const std::string& yaml) {
    auto loaded = load_config_string(yaml, "test.yaml");
    EXPECT_TRUE(loaded.config) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
    auto loop = std::make_unique<CheckLoop>(
        CheckLoopOptions{"test.yaml", proc.root(), cgroups.root(), false, true}, metrics, sender,
        clock);
    EXPECT_TRUE(loop->start_with(std::move(*loaded.config), loaded.content_hash).empty());
    return loop;
  }
  static std::vector<pid_t> pids(const CheckReport& r) {
    std::vector<pid_t> out;
    for (const auto& row : r.rows) out.push_back(row.pid);
    std::sort(out.begin(), out.end());
    return out;
  }

  FixtureTree proc{{"uptime", "1000.00 1500.00\n"}};
  FixtureTree cgroups{{"cgroup.controllers", "memory\n"},
                      {kPodPath.substr(1) + "/memory.current", "1000\n"},
                      {kPodPath.substr(1) + "/memory.events", "low 0\nhigh 0\nmax 3\noom 2\n"
                                                              "oom_kill 2\noom_group_kill 0\n"},
                      {"system.slice/nginx.service/memory.current", "1000\n"},
                      {"system.slice/nginx.service/memory.events", "oom 0\noom_kill 0\n"}};
  Metrics metrics;
  NoSignals sender;
  SteadyClock clock;
};

TEST_F(IdentityLabelsTest, MatchByPodContainerAndUnit) {
  auto loop = loop_for(
      "rules:\n"
      "  - {name: pod, match: {pod_uid: '^" + kUid + "$'}, limit: 1Gi}\n"
      "  - {name: ctr, match: {container_id: '^containerd://0123'}, limit: 1Gi}\n"
      "  - {name: unit, match: {systemd_unit: '^nginx\\.service$'}, limit: 1Gi}\n"
      "  - {name: anypod, match: {pod_uid: '.*'}, limit: 1Gi}\n"
      "  - {name: notnginx, match: {name: '.', not: {systemd_unit: nginx}}, limit: 1Gi}\n");
  auto report = loop->check_once();
  std::map<std::string, std::vector<pid_t>> by_rule;
  for (const auto& row : report.rows) by_rule[row.rule].push_back(row.pid);
  for (auto& [rule, p] : by_rule) std::sort(p.begin(), p.end());
  EXPECT_EQ(by_rule["pod"], std::vector<pid_t>{100});
  EXPECT_EQ(by_rule["ctr"], std::vector<pid_t>{100});
  EXPECT_EQ(by_rule["unit"], std::vector<pid_t>{101});
  EXPECT_EQ(by_rule["anypod"], std::vector<pid_t>{100}) << "no pod is no match, even for '.*'";
  EXPECT_EQ(by_rule["notnginx"], (std::vector<pid_t>{100, 102}));
}

TEST_F(IdentityLabelsTest, LabelsWhereKnownAndNowhereElse) {
  auto loop = loop_for("rules:\n  - {name: all, match: {name: '.'}, limit: 1Gi}\n");
  auto report = loop->check_once();
  const std::string text = metrics.render();
  EXPECT_NE(text.find("memoryguard_process_pss_bytes{name=\"gunicorn\",pid=\"100\",rule=\"all\","
                      "container_id=\"containerd://" +
                      kId + "\",pod_uid=\"" + kUid + "\"} "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("memoryguard_process_rss_bytes{name=\"nginx\",pid=\"101\",rule=\"all\","
                      "systemd_unit=\"nginx.service\"} "),
            std::string::npos);
  EXPECT_NE(text.find("memoryguard_process_pss_bytes{name=\"bash\",pid=\"102\",rule=\"all\"} "),
            std::string::npos)
      << "no empty labels for what is not known";
  EXPECT_EQ(text.find("pod_uid=\"\""), std::string::npos);
  // --once carries them too.
  bool shown = false;
  for (const auto& row : report.rows)
    shown = shown || (row.pid == 100 && row.identity && row.identity->pod_uid == kUid);
  EXPECT_TRUE(shown);
}

TEST_F(IdentityLabelsTest, TheSwitchTurnsThemOff) {
  auto loop = loop_for(
      "identity_labels: false\n"
      "rules:\n  - {name: all, match: {name: '.'}, limit: 1Gi, scope: cgroup}\n");
  loop->check_once();
  const std::string text = metrics.render();
  EXPECT_EQ(text.find("pod_uid="), std::string::npos) << text;
  EXPECT_EQ(text.find("container_id="), std::string::npos);
  EXPECT_EQ(text.find("systemd_unit="), std::string::npos);
  EXPECT_NE(text.find("memoryguard_cgroup_pss_bytes{cgroup=\"" + kPodPath + "\",rule=\"all\"} "),
            std::string::npos);
}

TEST_F(IdentityLabelsTest, PerCgroupSeriesAndTheRuntimeOfBareIds) {
  auto loop = loop_for(
      "container_runtime: cri-o\n"
      "rules:\n  - {name: cg, match: {name: gunicorn}, limit: 1Gi, scope: cgroup}\n");
  loop->check_once();
  const std::string text = metrics.render();
  EXPECT_NE(text.find("memoryguard_cgroup_pss_bytes{cgroup=\"" + kPodPath +
                      "\",rule=\"cg\",container_id=\"cri-o://" + kId + "\",pod_uid=\"" + kUid +
                      "\"} "),
            std::string::npos)
      << text;
}

TEST_F(IdentityLabelsTest, OomKillsOfTheWatchedCgroupsStayAfterTheirLastProcess) {
  auto loop = loop_for("rules:\n  - {name: all, match: {name: '^(gunicorn|nginx)$'}, limit: 1Gi}\n");
  loop->check_once();
  std::string text = metrics.render();
  EXPECT_NE(text.find("# TYPE memoryguard_cgroup_oom_kills_total counter"), std::string::npos);
  EXPECT_NE(text.find("memoryguard_cgroup_oom_kills_total{cgroup=\"" + kPodPath +
                      "\",rule=\"all\",container_id=\"containerd://" + kId + "\",pod_uid=\"" +
                      kUid + "\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("memoryguard_cgroup_oom_kills_total{cgroup=\"/system.slice/nginx.service\","
                      "rule=\"all\",systemd_unit=\"nginx.service\"} 0"),
            std::string::npos);

  // The kernel kills the pod's process: it is gone, its cgroup is not, and
  // the count it left behind is still shown.
  proc.remove("100");
  cgroups.write(kPodPath.substr(1) + "/memory.events", "oom 3\noom_kill 3\n");
  loop->check_once();
  text = metrics.render();
  EXPECT_NE(text.find("cgroup=\"" + kPodPath + "\",rule=\"all\",container_id=\"containerd://" +
                      kId + "\",pod_uid=\"" + kUid + "\"} 3"),
            std::string::npos)
      << text;
  // Its cgroup removed: nothing more to tell.
  cgroups.remove(kPodPath.substr(1));
  loop->check_once();
  text = metrics.render();
  EXPECT_EQ(text.find("cgroup=\"" + kPodPath + "\""), std::string::npos) << text;
  EXPECT_NE(text.find("cgroup=\"/system.slice/nginx.service\""), std::string::npos);
}

TEST_F(IdentityLabelsTest, V1OomControl) {
  FixtureTree v1({{"memory/tasks", ""},
                  {"memory/app/memory.usage_in_bytes", "1\n"},
                  {"memory/app/memory.oom_control",
                   "oom_kill_disable 0\nunder_oom 0\noom_kill 7\n"}});
  CgroupFs fs(v1.root());
  auto n = fs.oom_kills(CgroupRef{false, "/app"});
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 7u);
  FixtureTree old({{"memory/tasks", ""}, {"memory/app/memory.oom_control", "under_oom 0\n"}});
  EXPECT_FALSE(CgroupFs(old.root()).oom_kills(CgroupRef{false, "/app"}))
      << "a kernel before 4.13 does not count them";
}

}  // namespace
}  // namespace mg
