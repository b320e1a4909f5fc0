// /metrics: every metric of SPEC §5, a valid exposition (promtool agrees),
// series that follow the processes, and valid UTF-8 whatever a process calls
// itself. Also the other HTTP endpoints.
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include "integration/harness.h"

namespace mgt {
namespace {

bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xe  ? 3
                      : (c >> 3) == 0x1e ? 4
                                         : 0;
    if (len == 0 || i + len > s.size()) return false;
    if ((len == 2 && c < 0xc2) || c > 0xf4) return false;  // overlong, or past U+10FFFF
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

double unix_now() {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6;
}

class MetricsTest : public IntegrationTest {
 protected:
  // A process watched by a process-scope and a cgroup-scope rule, and another
  // killed by a third rule, so that every family has series.
  Scrape busy_scrape() {
    watched_ = &hog(20);
    Helper& victim = hog(31);
    agent_ =
        &start_agent(write_config("interval: 100ms\n"
                                  "rules:\n"
                                  "  - name: watched\n"
                                  "    match: { name: '^mgt_hog$', cmdline: '" +
                                  token() +
                                  " --mib=20$' }\n"
                                  "    limit: 1Gi\n"
                                  "  - name: per_cgroup\n"
                                  "    match: { name: '^mgt_hog$', cmdline: '" +
                                  token() +
                                  " --mib=20$' }\n"
                                  "    limit: 1Gi\n"
                                  "    scope: cgroup\n"
                                  "  - name: killer\n"
                                  "    match: { name: '^mgt_hog$', cmdline: '" +
                                  token() +
                                  " --mib=31$' }\n"
                                  "    limit: 10Mi\n"));
    const auto info = victim.proc.wait_reaped(5s);
    EXPECT_TRUE(info) << "the hog over its limit was not killed";
    return agent_->wait_for_metrics(
        [](const Scrape& s) {
          return s.value("memoryguard_kills_total", {{"rule", "killer"}, {"signal", "SIGKILL"}}) ==
                     1.0 &&
                 !s.find("memoryguard_process_pss_bytes", {{"rule", "watched"}}).empty() &&
                 !s.find("memoryguard_cgroup_pss_bytes", {{"rule", "per_cgroup"}}).empty();
        },
        5s);
  }

  Helper* watched_ = nullptr;
  Agent* agent_ = nullptr;
};

TEST_F(MetricsTest, PromtoolAcceptsTheExposition) {
  if (access(kPromtool, X_OK) != 0) GTEST_SKIP() << kPromtool << " is not installed";
  const Scrape s = busy_scrape();
  ASSERT_TRUE(s.ok());
  expect_promtool_accepts(s);
  EXPECT_TRUE(valid_utf8(s.text()));
}

TEST_F(MetricsTest, EveryMetricOfTheSpecIsExported) {
  const Scrape s = busy_scrape();
  ASSERT_TRUE(s.ok());
  const std::map<std::string, std::string> families{
      {"memoryguard_process_pss_bytes", "gauge"},
      {"memoryguard_process_uss_bytes", "gauge"},
      {"memoryguard_process_rss_bytes", "gauge"},
      {"memoryguard_rule_pss_bytes", "gauge"},
      {"memoryguard_rule_limit_bytes", "gauge"},
      {"memoryguard_rule_processes", "gauge"},
      {"memoryguard_cgroup_pss_bytes", "gauge"},
      {"memoryguard_limit_exceeded_total", "counter"},
      {"memoryguard_kills_total", "counter"},
      {"memoryguard_kill_failures_total", "counter"},
      {"memoryguard_last_kill_timestamp_seconds", "gauge"},
      {"memoryguard_scan_duration_seconds", "histogram"},
      {"memoryguard_scan_errors_total", "counter"},
      {"memoryguard_config_last_reload_successful", "gauge"},
      {"memoryguard_config_last_reload_success_timestamp_seconds", "gauge"},
      {"memoryguard_build_info", "gauge"},
      {"process_cpu_seconds_total", "counter"},
      {"process_resident_memory_bytes", "gauge"},
      {"process_open_fds", "gauge"},
      {"process_start_time_seconds", "gauge"},
      {"process_threads", "gauge"},
  };
  for (const auto& [name, type] : families) {
    EXPECT_TRUE(s.has_family(name)) << name << " is missing";
    // A counter's TYPE line may name it with or without _total.
    const std::string declared = s.type(name).empty() && type == "counter"
                                     ? s.type(name.substr(0, name.size() - 6))
                                     : s.type(name);
    EXPECT_EQ(declared, type) << name;
  }

  const pid_t pid = watched_->pid();
  const std::map<std::string, std::string> proc{{"rule", "watched"}, {"pid", std::to_string(pid)}};
  const auto pss = s.find("memoryguard_process_pss_bytes", proc);
  ASSERT_EQ(pss.size(), 1u);
  EXPECT_EQ(pss[0].labels.at("name"), "mgt_hog");
  EXPECT_NEAR(pss[0].value, 20.0 * kMiB, 4.0 * kMiB);
  EXPECT_GE(s.value("memoryguard_process_rss_bytes", proc).value_or(-1), pss[0].value);
  EXPECT_LE(s.value("memoryguard_process_uss_bytes", proc).value_or(1e18), pss[0].value);
  EXPECT_EQ(s.value("memoryguard_rule_processes", {{"rule", "watched"}}), 1.0);
  EXPECT_EQ(s.value("memoryguard_rule_limit_bytes", {{"rule", "watched"}}), 1024.0 * kMiB);
  EXPECT_EQ(s.value("memoryguard_rule_limit_bytes", {{"rule", "killer"}}), 10.0 * kMiB);
  EXPECT_NEAR(s.value("memoryguard_rule_pss_bytes", {{"rule", "watched"}}).value_or(-1),
              pss[0].value, 2.0 * kMiB);
  EXPECT_FALSE(s.find("memoryguard_cgroup_pss_bytes", {{"rule", "per_cgroup"}}).empty());
  EXPECT_TRUE(s.find("memoryguard_cgroup_pss_bytes", {{"rule", "watched"}}).empty())
      << "cgroup series belong to scope: cgroup rules only";

  // Counters of each rule exist at 0 from the start.
  EXPECT_EQ(s.value("memoryguard_kills_total", {{"rule", "watched"}, {"signal", "SIGKILL"}}), 0.0);
  EXPECT_EQ(s.value("memoryguard_limit_exceeded_total", {{"rule", "watched"}}), 0.0);
  EXPECT_GE(s.value("memoryguard_limit_exceeded_total", {{"rule", "killer"}}).value_or(0), 1.0);
  EXPECT_NEAR(s.value("memoryguard_last_kill_timestamp_seconds", {{"rule", "killer"}}).value_or(0),
              unix_now(), 30.0);

  EXPECT_GT(s.value("memoryguard_scan_duration_seconds_count").value_or(0), 0.0);
  EXPECT_EQ(s.value("memoryguard_config_last_reload_successful"), 1.0);
  EXPECT_NEAR(s.value("memoryguard_config_last_reload_success_timestamp_seconds").value_or(0),
              unix_now(), 60.0);
  const auto build = s.find("memoryguard_build_info");
  ASSERT_EQ(build.size(), 1u);
  EXPECT_EQ(build[0].value, 1.0);
  ASSERT_TRUE(build[0].labels.count("version"));
  EXPECT_FALSE(build[0].labels.at("version").empty());
  EXPECT_TRUE(build[0].labels.count("revision"));

  EXPECT_NEAR(s.value("process_start_time_seconds").value_or(0), unix_now(), 60.0);
  EXPECT_GT(s.value("process_resident_memory_bytes").value_or(0), 0.0);
  EXPECT_GT(s.value("process_open_fds").value_or(0), 0.0);
  EXPECT_GE(s.value("process_threads").value_or(0), 1.0);
  EXPECT_GE(s.value("process_cpu_seconds_total").value_or(-1), 0.0);

  // A command line is never exported.
  EXPECT_EQ(s.text().find(token()), std::string::npos) << "a command line leaked into /metrics";
}

TEST_F(MetricsTest, SeriesOfAProcessThatHasGoneDisappear) {
  Helper& h = hog(10);
  Agent& agent =
      start_agent(write_config("interval: 100ms\n"
                               "rules:\n"
                               "  - name: transient\n"
                               "    match: " +
                               match_yaml() +
                               "\n"
                               "    limit: 1Gi\n"));
  const std::map<std::string, std::string> labels{{"rule", "transient"},
                                                  {"pid", std::to_string(h.pid())}};
  ASSERT_EQ(agent
                .wait_for_metrics(
                    [&](const Scrape& s) {
                      return !s.find("memoryguard_process_pss_bytes", labels).empty();
                    },
                    5s)
                .find("memoryguard_process_pss_bytes", labels)
                .size(),
            1u);
  h.proc.kill_and_wait();  // ours to kill
  const Scrape s = agent.wait_for_metrics(
      [&](const Scrape& s) { return s.find("memoryguard_process_pss_bytes", labels).empty(); }, 5s);
  EXPECT_TRUE(s.find("memoryguard_process_pss_bytes", labels).empty());
  EXPECT_TRUE(s.find("memoryguard_process_rss_bytes", labels).empty());
  EXPECT_TRUE(s.find("memoryguard_process_uss_bytes", labels).empty());
  EXPECT_EQ(s.value("memoryguard_rule_processes", {{"rule", "transient"}}), 0.0);
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

TEST_F(MetricsTest, NameThatIsNotUtf8StillScrapes) {
  // comm = "mgt_" ff fe '"' '\' '\n' c3 '(': invalid UTF-8, and every
  // character that the text format must escape.
  Helper& h = hog(10, {"--comm=6d67745ffffe225c0ac328"});
  Agent& agent =
      start_agent(write_config("interval: 100ms\n"
                               "rules:\n"
                               "  - name: odd\n"
                               "    match: { name: '^mgt_', cmdline: '" +
                               token() +
                               "' }\n"
                               "    limit: 1Gi\n"));
  const std::map<std::string, std::string> labels{{"rule", "odd"},
                                                  {"pid", std::to_string(h.pid())}};
  const Scrape s = agent.wait_for_metrics(
      [&](const Scrape& s) { return !s.find("memoryguard_process_pss_bytes", labels).empty(); },
      5s);
  ASSERT_TRUE(s.ok());
  const auto series = s.find("memoryguard_process_pss_bytes", labels);
  ASSERT_EQ(series.size(), 1u) << "the oddly named process is not on /metrics";
  const std::string& name = series[0].labels.at("name");
  EXPECT_TRUE(valid_utf8(name)) << name;
  EXPECT_EQ(name.rfind("mgt_", 0), 0u) << name;
  EXPECT_TRUE(valid_utf8(s.text())) << "the exposition is not valid UTF-8";
  expect_promtool_accepts(s);
  EXPECT_TRUE(h.proc.alive());
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

TEST_F(MetricsTest, HttpEndpoints) {
  Agent& agent =
      start_agent(write_config("rules:\n"
                               "  - name: http\n"
                               "    match: " +
                               match_yaml() +
                               "\n"
                               "    limit: 1Gi\n"));
  EXPECT_EQ(agent.get("/healthz").status, 200);
  const HttpResponse index = agent.get("/");
  EXPECT_EQ(index.status, 200);
  EXPECT_NE(index.body.find("/metrics"), std::string::npos) << "the index page links /metrics";
  EXPECT_NE(index.body.find("/healthz"), std::string::npos) << "the index page links /healthz";
  EXPECT_EQ(agent.get("/no/such/page").status, 404);
  EXPECT_EQ(agent.get("/etc/passwd").status, 404);
  EXPECT_EQ(agent.post("/metrics").status, 405);
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

TEST_F(MetricsTest, TelemetryPathMovesTheMetrics) {
  Agent& agent = start_agent(write_config("rules:\n"
                                          "  - name: moved\n"
                                          "    match: " +
                                          match_yaml() +
                                          "\n"
                                          "    limit: 1Gi\n"),
                             {"--web.telemetry-path=/custom/metrics"});
  const HttpResponse moved = agent.get("/custom/metrics");
  EXPECT_EQ(moved.status, 200);
  EXPECT_NE(moved.body.find("memoryguard_build_info"), std::string::npos);
  EXPECT_EQ(agent.get("/metrics").status, 404);
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

TEST_F(MetricsTest, BasicAuthFromWebConfigFile) {
  // bcrypt of "s3cret", cost 4 to keep the test fast.
  const std::string web = path("web.yml");
  write_file(web,
             "basic_auth_users:\n"
             "  admin: $2b$04$X2qtMApf8Qrk/uNWfyymP.M2twb5CSM1VcdnPoHbMXUsXScQHmexK\n");
  Agent& agent = launch_agent(write_config("rules:\n"
                                           "  - name: auth\n"
                                           "    match: " +
                                           match_yaml() +
                                           "\n"
                                           "    limit: 1Gi\n"),
                              {"--web.config.file=" + web});
  agent.set_authorization(basic_auth("admin", "s3cret"));
  ASSERT_TRUE(agent.wait_healthy());
  EXPECT_EQ(agent.get("/metrics").status, 200);

  agent.set_authorization("");
  EXPECT_EQ(agent.get("/metrics").status, 401) << "no credentials";
  agent.set_authorization(basic_auth("admin", "wrong"));
  EXPECT_EQ(agent.get("/metrics").status, 401) << "a wrong password";
  agent.set_authorization(basic_auth("nobody", "s3cret"));
  EXPECT_EQ(agent.get("/metrics").status, 401) << "an unknown user";
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

}  // namespace
}  // namespace mgt
