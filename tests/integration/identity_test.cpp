// Whose process it is, from real cgroups named as the kubelet, the container
// runtimes and systemd name them (under a directory of the test's own, so
// nothing real is touched), with real processes moved in: the labels on
// /metrics, the action's log line and hook, and the kernel's own OOM kills
// in a watched cgroup.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "integration/harness.h"
#include "integration/memory_cgroup.h"

namespace mgt {
namespace {

std::string underscores(std::string uid) {
  for (char& c : uid)
    if (c == '-') c = '_';
  return uid;
}

struct Layout {
  std::string what;
  std::string path;  // below the test's own directory
  std::map<std::string, std::string> labels;
  bool v1_only = false;
};

class IdentityTest : public IntegrationTest {
 protected:
  std::string top() const { return "mgt_" + token(); }
};

TEST_F(IdentityTest, EveryLayoutLabelsItsProcesses) {
  const std::string id_a = container_hex(token(), 'a'), id_b = container_hex(token(), 'b'),
                    id_c = container_hex(token(), 'c'), id_d = container_hex(token(), 'd'),
                    id_e = container_hex(token(), 'e'), id_f = container_hex(token(), 'f');
  const std::string uid_1 = pod_uid_of(token(), '1'), uid_2 = pod_uid_of(token(), '2'),
                    uid_3 = pod_uid_of(token(), '3'), uid_4 = pod_uid_of(token(), '4'),
                    uid_5 = pod_uid_of(token(), '5');
  const std::vector<Layout> layouts = {
      {"kubelet, systemd driver, containerd",
       "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + underscores(uid_1) +
           ".slice/cri-containerd-" + id_a + ".scope",
       {{"pod_uid", uid_1}, {"container_id", "containerd://" + id_a}}},
      {"kubelet, systemd driver, CRI-O, guaranteed",
       "kubepods.slice/kubepods-pod" + underscores(uid_2) + ".slice/crio-" + id_b + ".scope",
       {{"pod_uid", uid_2}, {"container_id", "cri-o://" + id_b}}},
      {"kubelet, cgroupfs driver, v1 memory only (the v2 path is the root)",
       "kubepods/burstable/pod" + uid_3 + "/" + id_c,
       {{"pod_uid", uid_3}, {"container_id", "containerd://" + id_c}},
       true},
      {"kubelet, systemd driver, Docker (cri-dockerd), besteffort",
       "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + underscores(uid_4) +
           ".slice/docker-" + id_f + ".scope",
       {{"pod_uid", uid_4}, {"container_id", "docker://" + id_f}}},
      {"kubelet, cgroupfs driver, guaranteed (directly under kubepods), v1 memory only",
       "kubepods/pod" + uid_5 + "/" + id_e,
       {{"pod_uid", uid_5}, {"container_id", "containerd://" + id_e}},
       true},
      {"Docker under systemd",
       "system.slice/docker-" + id_d + ".scope",
       {{"container_id", "docker://" + id_d}}},
      {"Docker, cgroupfs driver", "docker/" + id_e, {{"container_id", "docker://" + id_e}}},
      {"Podman", "machine.slice/libpod-" + id_a + ".scope", {{"container_id", "podman://" + id_a}}},
      {"a systemd service",
       "system.slice/mgt-" + token() + ".service",
       {{"systemd_unit", "mgt-" + token() + ".service"}}},
      {"a user's session",
       "user.slice/user-1000.slice/session-77.scope",
       {{"systemd_unit", "session-77.scope"}}},
      {"a user service",
       "user.slice/user-1000.slice/user@1000.service/app.slice/mgt.service",
       {{"systemd_unit", "mgt.service"}}},
  };
  std::vector<Helper*> hogs;
  for (const Layout& l : layouts) {
    MemoryCgroup& cgroup = memory_cgroup(top() + "/" + l.path, l.v1_only);
    ASSERT_TRUE(cgroup.ok()) << l.what << ": " << cgroup.error();
    Helper& h = hog(2);
    ASSERT_TRUE(cgroup.add(h.pid())) << l.what;
    hogs.push_back(&h);
  }
  Helper& outside = hog(2);  // in the test's own cgroup: no labels
  const std::string config = write_config(
      "interval: 100ms\n"
      "rules:\n"
      "  - name: all\n"
      "    match: " +
      match_yaml() +
      "\n"
      "    limit: 1Gi\n");
  Agent& agent = start_agent(config);
  const Scrape s = agent.wait_for_metrics(
      [&](const Scrape& s) {
        return s.find("memoryguard_process_rss_bytes", {{"rule", "all"}}).size() ==
               layouts.size() + 1;
      },
      10s);
  for (std::size_t i = 0; i < layouts.size(); ++i) {
    const auto series = s.find("memoryguard_process_rss_bytes",
                               {{"rule", "all"}, {"pid", std::to_string(hogs[i]->pid())}});
    ASSERT_EQ(series.size(), 1u) << layouts[i].what << "\n" << s.text();
    std::map<std::string, std::string> got;
    for (const char* label : {"pod_uid", "container_id", "systemd_unit"}) {
      auto it = series[0].labels.find(label);
      if (it != series[0].labels.end()) got[label] = it->second;
    }
    EXPECT_EQ(got, layouts[i].labels) << layouts[i].what << " at " << layouts[i].path;
  }
  const auto plain = s.find("memoryguard_process_rss_bytes",
                            {{"rule", "all"}, {"pid", std::to_string(outside.pid())}});
  ASSERT_EQ(plain.size(), 1u);
  for (const char* label : {"pod_uid", "container_id"})
    EXPECT_EQ(plain[0].labels.count(label), 0u) << "a process in no pod has no " << label;
  expect_promtool_accepts(s);

  // --once names them in its POD/CONTAINER/UNIT column: the pod and the
  // container's runtime and first 12 digits, as `docker ps` shows an ID, or
  // the unit.
  const RunResult once =
      run({binary_path(), "--once", "--dry-run", "--config.file=" + config}, dir(), 60s);
  EXPECT_EQ(once.exit_code(), 0) << once.err;
  auto row_of = [&](pid_t pid) {
    std::istringstream lines(once.out);
    for (std::string line; std::getline(lines, line);) {
      std::istringstream words(line);
      std::string rule, cell;
      words >> rule >> cell;
      if (rule == "all" && cell == std::to_string(pid)) return line;
    }
    return std::string();
  };
  EXPECT_NE(row_of(hogs[0]->pid()).find("pod " + uid_1 + " containerd://" + id_a.substr(0, 12)),
            std::string::npos)
      << once.out;
  const auto service = std::find_if(layouts.begin(), layouts.end(),
                                    [](const Layout& l) { return l.what == "a systemd service"; });
  ASSERT_NE(service, layouts.end());
  EXPECT_NE(row_of(hogs[static_cast<std::size_t>(service - layouts.begin())]->pid())
                .find("mgt-" + token() + ".service"),
            std::string::npos)
      << once.out;
}

std::map<std::string, std::string> parse_env(const std::string& text) {
  std::map<std::string, std::string> env;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

TEST_F(IdentityTest, TheActionLineHookAndLastKillNameThePod) {
  const std::string id = container_hex(token(), 'f');
  const std::string uid = pod_uid_of(token(), '4');
  MemoryCgroup& cgroup = memory_cgroup(top() + "/kubepods/pod" + uid + "/" + id);
  ASSERT_TRUE(cgroup.ok()) << cgroup.error();
  Helper& h = hog(30, {"--wait-usr1"});
  ASSERT_TRUE(cgroup.add(h.pid()));
  const std::string out = path("hook.env");
  Agent& agent =
      start_agent(write_config("interval: 100ms\n"
                               "rules:\n"
                               "  - name: hooked\n"
                               "    match: " +
                               match_yaml() +
                               "\n"
                               "    limit: 10Mi\n"
                               "    action:\n"
                               "      exec: ['/bin/sh', '-c', 'env > " +
                               out + ".tmp && mv " + out + ".tmp " + out + "']\n"));
  const auto info = h.proc.wait_reaped(10s);
  ASSERT_TRUE(info) << "the hog was not killed";
  ASSERT_TRUE(wait_until([&] { return access(out.c_str(), F_OK) == 0; }, 10s))
      << "the hook did not run";
  auto env = parse_env(read_file(out));
  EXPECT_EQ(env["MEMORYGUARD_POD_UID"], uid);
  EXPECT_EQ(env["MEMORYGUARD_CONTAINER_ID"], "containerd://" + id);
  EXPECT_EQ(env.count("MEMORYGUARD_SYSTEMD_UNIT"), 0u) << "unknown, so absent";
  ASSERT_TRUE(wait_until([&] { return agent.log().find("msg=action") != std::string::npos; }, 10s));
  EXPECT_NE(agent.log().find("pod_uid=" + uid + " container_id=containerd://" + id),
            std::string::npos)
      << agent.log();
  const Scrape s = agent.scrape();
  const auto last = s.find("memoryguard_last_kill_info", {{"rule", "hooked"}});
  ASSERT_EQ(last.size(), 1u) << s.text();
  EXPECT_EQ(last[0].labels.at("pod_uid"), uid);
  EXPECT_EQ(last[0].labels.at("pid"), std::to_string(h.pid()));
  EXPECT_EQ(last[0].value, 1.0);
}

// A process in a memory cgroup whose limit is below what it touches is
// killed by the kernel's OOM killer, not by memoryguard (whose limit is far
// above): the watched cgroup's counter goes from 0 to 1, and stays shown
// after its only process is gone.
TEST_F(IdentityTest, TheKernelsOomKillIsCountedInTheWatchedCgroup) {
  const std::string id = container_hex(token(), '9');
  const std::string uid = pod_uid_of(token(), '5');
  MemoryCgroup& cgroup = memory_cgroup(top() + "/kubepods/burstable/pod" + uid + "/" + id);
  ASSERT_TRUE(cgroup.ok()) << cgroup.error();
  ASSERT_TRUE(cgroup.set_limit(64 * kMiB));
  Helper& h = hog(4, {"--wait-usr1", "--grow-mib=16", "--every-ms=20", "--max-mib=512"});
  ASSERT_TRUE(cgroup.add(h.pid()));
  Agent& agent =
      start_agent(write_config("interval: 100ms\n"
                               "rules:\n"
                               "  - name: roomy\n"
                               "    match: " +
                               match_yaml() +
                               "\n"
                               "    limit: 4Gi\n"));
  const std::map<std::string, std::string> series{{"rule", "roomy"}, {"pod_uid", uid}};
  const Scrape before = agent.wait_for_metrics(
      [&](const Scrape& s) { return s.value("memoryguard_cgroup_oom_kills_total", series) == 0.0; },
      10s);
  ASSERT_EQ(before.value("memoryguard_cgroup_oom_kills_total", series), 0.0) << before.text();
  EXPECT_EQ(before.type("memoryguard_cgroup_oom_kills_total"), "counter");

  ASSERT_TRUE(h.proc.signal(SIGUSR1));
  const auto info = h.proc.wait_reaped(30s);
  ASSERT_TRUE(info) << "the hog outgrew its cgroup's 64 MiB and was not OOM-killed";
  EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);
  const Scrape after = agent.wait_for_metrics(
      [&](const Scrape& s) { return s.value("memoryguard_cgroup_oom_kills_total", series) == 1.0; },
      10s);
  EXPECT_EQ(after.value("memoryguard_cgroup_oom_kills_total", series), 1.0) << after.text();
  EXPECT_EQ(after.value("memoryguard_kills_total", {{"rule", "roomy"}, {"signal", "SIGKILL"}}), 0.0)
      << "the kernel killed it, not memoryguard";
  expect_promtool_accepts(after);
}

}  // namespace
}  // namespace mgt
