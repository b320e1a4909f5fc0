// Reload by SIGHUP, by POST /-/reload, by a change of the file alone, and by
// a Kubernetes ConfigMap symlink swap; a bad config keeps the old one running.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <sstream>

#include "integration/harness.h"

namespace mgt {
namespace {

class ReloadTest : public IntegrationTest {
 protected:
  std::string config(const std::string& limit, const std::string& extra_rules = "") const {
    return "interval: 100ms\n"
           "rules:\n"
           "  - name: reloaded\n"
           "    match: " +
           match_yaml() +
           "\n"
           "    limit: " +
           limit + "\n" + extra_rules;
  }

  // Waits until memoryguard_rule_limit_bytes{rule="reloaded"} is `bytes`.
  bool limit_becomes(Agent& agent, double bytes, Clock::duration timeout = 5s) {
    const Scrape s = agent.wait_for_metrics(
        [&](const Scrape& s) {
          return s.value("memoryguard_rule_limit_bytes", {{"rule", "reloaded"}}) == bytes;
        },
        timeout);
    const auto now = s.value("memoryguard_rule_limit_bytes", {{"rule", "reloaded"}});
    EXPECT_EQ(now, bytes);
    return now == bytes;
  }

  void expect_clean_stop(Agent& agent) {
    const auto exit = agent.stop();
    ASSERT_TRUE(exit) << "memoryguard did not stop on SIGTERM";
    EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
  }
};

TEST_F(ReloadTest, SighupLoadsTheNewLimit) {
  const std::string file = write_config(config("100Mi"));
  Agent& agent = start_agent(file);
  ASSERT_TRUE(limit_becomes(agent, 100.0 * kMiB));
  write_config(config("200Mi"));
  ASSERT_TRUE(agent.proc().signal(SIGHUP));
  EXPECT_TRUE(limit_becomes(agent, 200.0 * kMiB, 3s));
  const Scrape s = agent.scrape();
  EXPECT_EQ(s.value("memoryguard_config_last_reload_successful"), 1.0);
  EXPECT_GT(s.value("memoryguard_config_last_reload_success_timestamp_seconds").value_or(0), 0.0);
  expect_clean_stop(agent);
}

TEST_F(ReloadTest, PostReloadLoadsTheNewLimitWithLifecycleEnabled) {
  const std::string file = write_config(config("100Mi"));
  Agent& agent = start_agent(file, {"--web.enable-lifecycle"});
  ASSERT_TRUE(limit_becomes(agent, 100.0 * kMiB));
  write_config(config("300Mi"));
  const HttpResponse r = agent.post("/-/reload");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(limit_becomes(agent, 300.0 * kMiB, 3s));
  EXPECT_EQ(agent.get("/-/reload").status, 405) << "a reload is a POST";

  // A bad config is refused, and says so.
  write_config(config("300Mi", "  - name: broken\n    match: { name: '(' }\n    limit: 1Mi\n"));
  const HttpResponse bad = agent.post("/-/reload");
  EXPECT_GE(bad.status, 400) << bad.body;
  EXPECT_LT(bad.status, 600) << bad.body;
  EXPECT_EQ(agent
                .wait_for_metrics(
                    [](const Scrape& s) {
                      return s.value("memoryguard_config_last_reload_successful") == 0.0;
                    },
                    3s)
                .value("memoryguard_config_last_reload_successful"),
            0.0);
  expect_clean_stop(agent);
}

TEST_F(ReloadTest, PostReloadIsForbiddenWithoutLifecycle) {
  const std::string file = write_config(config("100Mi"));
  Agent& agent = start_agent(file);
  EXPECT_EQ(agent.post("/-/reload").status, 403);
  expect_clean_stop(agent);
}

TEST_F(ReloadTest, ChangedFileIsReloadedWithoutASignal) {
  const std::string file = write_config(config("100Mi"));
  Agent& agent = start_agent(file);
  ASSERT_TRUE(limit_becomes(agent, 100.0 * kMiB));
  // Rewritten in place, as `echo > file` does...
  overwrite_file(file, config("150Mi"));
  EXPECT_TRUE(limit_becomes(agent, 150.0 * kMiB, 5s));
  // ...and replaced by a new file renamed over it, as editors do.
  write_config(config("250Mi"));
  EXPECT_TRUE(limit_becomes(agent, 250.0 * kMiB, 5s));
  expect_clean_stop(agent);
}

// Kubernetes mounts a ConfigMap as <dir>/memoryguard.yaml ->
// ..data/memoryguard.yaml, with ..data -> ..<timestamp>, and updates it by
// renaming a new ..data symlink over the old one and removing the old dir.
TEST_F(ReloadTest, ConfigMapSymlinkSwapIsReloaded) {
  namespace fs = std::filesystem;
  const fs::path cm = path("configmap");
  fs::create_directory(cm);
  auto publish = [&](const std::string& version, const std::string& yaml) {
    const std::string data = "..2024_01_01_00_00_0" + version + ".000000001";
    fs::create_directory(cm / data);
    write_file((cm / data / "memoryguard.yaml").string(), yaml);
    fs::create_directory_symlink(data, cm / "..data_tmp");
    fs::rename(cm / "..data_tmp", cm / "..data");
    return data;
  };
  std::string old = publish("1", config("100Mi"));
  fs::create_symlink("..data/memoryguard.yaml", cm / "memoryguard.yaml");

  Agent& agent = start_agent((cm / "memoryguard.yaml").string());
  ASSERT_TRUE(limit_becomes(agent, 100.0 * kMiB));
  for (const auto& [version, limit] : {std::pair{"2", 120}, std::pair{"3", 140}}) {
    const std::string fresh = publish(version, config(std::to_string(limit) + "Mi"));
    fs::remove_all(cm / old);
    old = fresh;
    EXPECT_TRUE(limit_becomes(agent, limit * static_cast<double>(kMiB), 5s))
        << "swap to version " << version << " was not seen";
  }
  expect_clean_stop(agent);
}

TEST_F(ReloadTest, BadConfigIsRejectedAndTheOldOneKeepsKilling) {
  const std::string file = write_config(config("20Mi"));
  Agent& agent = start_agent(file);
  ASSERT_TRUE(limit_becomes(agent, 20.0 * kMiB));

  // A new limit that would spare a 40 MiB hog, in a config with a bad regex.
  write_config(config("100Mi", "  - name: broken\n    match: { name: '(' }\n    limit: 1Mi\n"));
  agent.proc().signal(SIGHUP);
  const Scrape s = agent.wait_for_metrics(
      [](const Scrape& s) { return s.value("memoryguard_config_last_reload_successful") == 0.0; },
      5s);
  EXPECT_EQ(s.value("memoryguard_config_last_reload_successful"), 0.0);
  EXPECT_EQ(s.value("memoryguard_rule_limit_bytes", {{"rule", "reloaded"}}), 20.0 * kMiB);
  EXPECT_TRUE(s.find("memoryguard_rule_limit_bytes", {{"rule", "broken"}}).empty());
  EXPECT_TRUE(std::regex_search(agent.log(), std::regex(regex_escape(file) + R"(:\d+:\d+:)")))
      << "the error does not name file:line:col";

  // Starts under the old limit and grows past it, so it is surely ready
  // (and matched) before the agent can act on it.
  Helper& h = hog(10, {"--grow-mib=10", "--every-ms=100", "--max-mib=40"});
  const auto info = h.proc.wait_reaped(5s);
  if (!info) {
    std::string seen;
    const Scrape now = agent.scrape();
    std::istringstream lines(now.text());
    for (std::string line; std::getline(lines, line);) {
      if (line.find("rule=\"reloaded\"") != std::string::npos ||
          line.rfind("memoryguard_scan_errors_total", 0) == 0) {
        seen += line + "\n";
      }
    }
    FAIL() << "the old limit (20Mi) is no longer enforced on hog " << h.proc.pid()
           << "; the agent's series:\n"
           << seen << "/proc/" << h.proc.pid() << "/status:\n"
           << read_file("/proc/" + std::to_string(h.proc.pid()) + "/status");
  }
  EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);

  // A good config again; the rule keeps its name, so it keeps its counters.
  write_config(config("30Mi"));
  agent.proc().signal(SIGHUP);
  EXPECT_TRUE(limit_becomes(agent, 30.0 * kMiB));
  const Scrape after = agent.wait_for_metrics(
      [](const Scrape& s) { return s.value("memoryguard_config_last_reload_successful") == 1.0; },
      5s);
  EXPECT_EQ(after.value("memoryguard_config_last_reload_successful"), 1.0);
  EXPECT_EQ(after.value("memoryguard_kills_total", {{"rule", "reloaded"}, {"signal", "SIGKILL"}}),
            1.0);
  expect_clean_stop(agent);
}

}  // namespace
}  // namespace mgt
