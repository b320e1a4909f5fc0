#include "export/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

namespace mg {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::shared_ptr<const Snapshot> sample_snapshot() {
  auto snap = std::make_shared<Snapshot>();
  RuleSample web;
  web.rule = "web";
  web.pss_bytes = 3000;
  web.limit_bytes = 10000;
  web.processes = 2;
  web.top = {{101, "gunicorn", 2000, 1500, 2500}, {102, "gunicorn", 1000, 800, 1200}};
  RuleSample pods;
  pods.rule = "pods";
  pods.pss_bytes = 500;
  pods.limit_bytes = 1000;
  pods.processes = 1;
  pods.top = {{201, "java", 500, 400, 600}};
  pods.cgroups = {{"/kubepods/pod1", 500}};
  snap->rules = {web, pods};
  return snap;
}

std::shared_ptr<const Snapshot> with_top(std::string rule, std::vector<ProcessSample> top) {
  auto snap = std::make_shared<Snapshot>();
  RuleSample r;
  r.rule = std::move(rule);
  r.top = std::move(top);
  r.processes = r.top.size();
  snap->rules = {r};
  return snap;
}

// Runs the real promtool on an exposition; the lint checks are part of it.
struct PromtoolResult {
  int exit_code = -1;
  std::string output;
};

PromtoolResult promtool_check(const std::string& exposition) {
  char dir[] = "/tmp/mg_metrics_test_XXXXXX";
  if (mkdtemp(dir) == nullptr) return {};
  const std::string in = std::string(dir) + "/metrics.txt";
  const std::string out = std::string(dir) + "/out.txt";
  std::ofstream(in, std::ios::binary) << exposition;
  const std::string cmd = "/usr/bin/promtool check metrics < " + in + " > " + out + " 2>&1";
  const int status = std::system(cmd.c_str());
  PromtoolResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream o(out);
  r.output.assign(std::istreambuf_iterator<char>(o), {});
  std::remove(in.c_str());
  std::remove(out.c_str());
  rmdir(dir);
  return r;
}

TEST(MetricsExport, RendersEveryMetricOfTheSpec) {
  Metrics m;
  m.set_rules({{"web", {"SIGTERM", "SIGKILL"}}, {"pods", {"SIGKILL"}}});
  m.publish(sample_snapshot());
  m.scan_finished(0.003);
  m.config_reloaded(true, 1700000000);
  const std::string text = m.render();
  for (const char* name : {"memoryguard_process_pss_bytes{",
                           "memoryguard_process_uss_bytes{",
                           "memoryguard_process_rss_bytes{",
                           "memoryguard_rule_pss_bytes{",
                           "memoryguard_rule_limit_bytes{",
                           "memoryguard_rule_processes{",
                           "memoryguard_cgroup_pss_bytes{",
                           "memoryguard_limit_exceeded_total{",
                           "memoryguard_kills_total{",
                           "memoryguard_kill_failures_total{",
                           "memoryguard_last_kill_timestamp_seconds{",
                           "memoryguard_scan_duration_seconds_bucket{",
                           "memoryguard_scan_duration_seconds_count",
                           "memoryguard_scan_errors_total{",
                           "memoryguard_config_last_reload_successful 1",
                           "memoryguard_config_last_reload_success_timestamp_seconds 1700000000",
                           "memoryguard_build_info{",
                           "process_cpu_seconds_total ",
                           "process_resident_memory_bytes ",
                           "process_virtual_memory_bytes ",
                           "process_open_fds ",
                           "process_max_fds ",
                           "process_start_time_seconds ",
                           "process_threads "}) {
    EXPECT_THAT(text, HasSubstr(name));
  }
  EXPECT_THAT(
      text,
      HasSubstr(R"(memoryguard_process_pss_bytes{name="gunicorn",pid="101",rule="web"} 2000)"));
  EXPECT_THAT(
      text,
      HasSubstr(R"(memoryguard_process_uss_bytes{name="gunicorn",pid="102",rule="web"} 800)"));
  EXPECT_THAT(text,
              HasSubstr(R"(memoryguard_process_rss_bytes{name="java",pid="201",rule="pods"} 600)"));
  EXPECT_THAT(text, HasSubstr(R"(memoryguard_rule_limit_bytes{rule="web"} 10000)"));
  EXPECT_THAT(text, HasSubstr(R"(memoryguard_rule_processes{rule="web"} 2)"));
  EXPECT_THAT(
      text, HasSubstr(R"(memoryguard_cgroup_pss_bytes{cgroup="/kubepods/pod1",rule="pods"} 500)"));
  EXPECT_THAT(text, HasSubstr("memoryguard_build_info{revision=\""));
  EXPECT_THAT(text, HasSubstr("# HELP memoryguard_rule_pss_bytes "));
  EXPECT_THAT(text, HasSubstr("# TYPE memoryguard_scan_duration_seconds histogram"));
  EXPECT_THAT(text, HasSubstr(R"(memoryguard_scan_duration_seconds_bucket{le="0.0001"} 0)"));
  EXPECT_THAT(text, HasSubstr(R"(memoryguard_scan_duration_seconds_bucket{le="0.005"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(memoryguard_scan_duration_seconds_bucket{le="10"} 1)"));
}

TEST(MetricsExport, CountersOfEachRuleStartAtZero) {
  Metrics m;
  m.set_rules({{"web", {"SIGTERM", "SIGKILL"}}});
  const std::string text = m.render();
  EXPECT_THAT(text, HasSubstr(R"(memoryguard_limit_exceeded_total{rule="web"} 0)"));
  EXPECT_THAT(text, HasSubstr(R"(memoryguard_kills_total{rule="web",signal="SIGTERM"} 0)"));
  EXPECT_THAT(text, HasSubstr(R"(memoryguard_kills_total{rule="web",signal="SIGKILL"} 0)"));
  for (const char* reason : {"permission", "protected", "error", "hook"}) {
    EXPECT_THAT(text, HasSubstr(std::string(R"(memoryguard_kill_failures_total{reason=")") +
                                reason + R"(",rule="web"} 0)"));
  }
  EXPECT_THAT(text, HasSubstr(R"(memoryguard_last_kill_timestamp_seconds{rule="web"} 0)"));
  for (const char* reason : {"vanished", "permission", "parse", "io"}) {
    EXPECT_THAT(text, HasSubstr(std::string(R"(memoryguard_scan_errors_total{reason=")") + reason +
                                R"("} 0)"));
  }
  EXPECT_THAT(text, HasSubstr("memoryguard_config_last_reload_successful 0"));
}

TEST(MetricsExport, EventsCount) {
  Metrics m;
  m.set_rules({{"web", {"SIGKILL"}}});
  m.limit_exceeded("web");
  m.limit_exceeded("web");
  m.signal_sent("web", "SIGKILL", 1700000123);
  m.action_failed("web", "permission");
  m.scan_error("vanished", 3);
  m.config_reloaded(false, 1700000999);
  const std::string text = m.render();
  EXPECT_THAT(text, HasSubstr(R"(memoryguard_limit_exceeded_total{rule="web"} 2)"));
  EXPECT_THAT(text, HasSubstr(R"(memoryguard_kills_total{rule="web",signal="SIGKILL"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(memoryguard_last_kill_timestamp_seconds{rule="web"} 1700000123)"));
  EXPECT_THAT(text,
              HasSubstr(R"(memoryguard_kill_failures_total{reason="permission",rule="web"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(memoryguard_scan_errors_total{reason="vanished"} 3)"));
  EXPECT_THAT(text, HasSubstr("memoryguard_config_last_reload_successful 0"));
  EXPECT_THAT(text, HasSubstr("memoryguard_config_last_reload_success_timestamp_seconds 0"));
}

TEST(MetricsExport, ProcessGoneFromSnapshotDisappears) {
  Metrics m;
  m.set_rules({{"web", {"SIGKILL"}}});
  m.publish(with_top("web", {{101, "a", 1, 1, 1}, {102, "b", 2, 2, 2}}));
  EXPECT_THAT(m.render(), HasSubstr(R"(pid="101")"));
  m.publish(with_top("web", {{102, "b", 2, 2, 2}}));
  const std::string text = m.render();
  EXPECT_THAT(text, Not(HasSubstr(R"(pid="101")")));
  EXPECT_THAT(text, HasSubstr(R"(memoryguard_process_pss_bytes{name="b",pid="102",rule="web"} 2)"));
}

TEST(MetricsExport, RemovedRuleDisappearsKeptRuleKeepsCounts) {
  Metrics m;
  m.set_rules({{"web", {"SIGKILL"}}, {"old", {"SIGTERM"}}});
  m.limit_exceeded("web");
  m.signal_sent("web", "SIGKILL", 5);
  m.signal_sent("old", "SIGUSR1", 6);  // a signal not announced still goes with its rule
  m.action_failed("old", "weird");
  m.set_rules({{"web", {"SIGKILL", "SIGTERM"}}});
  const std::string text = m.render();
  EXPECT_THAT(text, Not(HasSubstr(R"(rule="old")")));
  EXPECT_THAT(text, HasSubstr(R"(memoryguard_limit_exceeded_total{rule="web"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(memoryguard_kills_total{rule="web",signal="SIGKILL"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(memoryguard_kills_total{rule="web",signal="SIGTERM"} 0)"));
  EXPECT_THAT(text, HasSubstr(R"(memoryguard_last_kill_timestamp_seconds{rule="web"} 5)"));
}

TEST(MetricsExport, HostileNamesRenderAsValidEscapedUtf8) {
  Metrics m;
  m.set_rules({{"web", {"SIGKILL"}}});
  // Invalid bytes, a character cut in half (comm is cut at 15 bytes), quotes,
  // a backslash and a newline.
  m.publish(with_top("web", {{7, "\xff\xfe", 1, 1, 1}, {8, "ab\"c\\d\ne\xe2\x82", 2, 2, 2}}));
  const std::string text = m.render();
  EXPECT_THAT(text, HasSubstr("name=\"\xEF\xBF\xBD\xEF\xBF\xBD\",pid=\"7\""));
  EXPECT_THAT(text, HasSubstr(R"(name="ab\"c\\d\ne)"
                              "\xEF\xBF\xBD"));
  EXPECT_THAT(text, Not(HasSubstr("\xff")));
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool is not installed";
  const auto r = promtool_check(text);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n" << text;
}

TEST(MetricsExport, PromtoolAcceptsAndLintsClean) {
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool is not installed";
  Metrics m;
  m.set_rules({{"web", {"SIGTERM", "SIGKILL"}}, {"pods", {"SIGKILL"}}});
  m.publish(sample_snapshot());
  m.scan_finished(0.2);
  m.config_reloaded(true, 1700000000);
  const std::string text = m.render();
  const auto r = promtool_check(text);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n" << text;
  // promtool prints lint findings even when it exits 0 on some versions.
  EXPECT_EQ(r.output, "") << text;
}

TEST(MetricsExport, ScrapesWhileTheLoopUpdates) {
  Metrics m;
  std::atomic<bool> done{false};
  std::thread loop([&] {
    for (int i = 0; i < 300; ++i) {
      m.set_rules({{"web", {"SIGKILL"}}, {i % 2 ? "a" : "b", {"SIGTERM"}}});
      m.publish(with_top("web", {{i, "p", 1, 1, 1}}));
      m.limit_exceeded("web");
      m.signal_sent(i % 2 ? "a" : "b", "SIGTERM", i);
      m.scan_finished(0.001);
    }
    done = true;
  });
  int renders = 0;
  while (!done || renders == 0) {
    const std::string text = m.render();
    ASSERT_THAT(text, HasSubstr("memoryguard_build_info{"));
    ++renders;
  }
  loop.join();
  EXPECT_THAT(m.render(), HasSubstr(R"(memoryguard_limit_exceeded_total{rule="web"} 300)"));
}

TEST(MetricsExport, EmptyBeforeFirstSnapshotStillParses) {
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool is not installed";
  Metrics m;
  const auto r = promtool_check(m.render());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "");
}

}  // namespace
}  // namespace mg
