// Processes that choose hostile names and command lines (tests/helpers/
// mgt_oddname): every byte value but NUL, invalid UTF-8, newlines, quotes,
// backslashes, braces, ')' and spaces inside comm (which /proc/PID/stat
// wraps in parentheses), megabyte command lines. Each is matched as its
// bytes say, the agent carries on, and every scrape parses: for our parser,
// for promtool, and for a real Prometheus.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <set>

#include "integration/harness.h"

namespace mgt {
namespace {

constexpr const char* kPrometheus = "/usr/bin/prometheus";

std::string hex(const std::string& bytes) {
  std::string out;
  char two[3];
  for (unsigned char c : bytes) {
    std::snprintf(two, sizeof two, "%02x", c);
    out += two;
  }
  return out;
}

bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t len = c < 0x80           ? 1
                            : (c >> 5) == 0x6  ? 2
                            : (c >> 4) == 0xe  ? 3
                            : (c >> 3) == 0x1e ? 4
                                               : 0;
    if (len == 0 || i + len > s.size() || (len == 2 && c < 0xc2) || c > 0xf4) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

class HostileNamesTest : public IntegrationTest {
 protected:
  Helper& odd(const std::string& comm, const std::vector<std::string>& more = {}) {
    std::vector<std::string> args{"--comm=" + hex(comm)};
    args.insert(args.end(), more.begin(), more.end());
    return spawn_helper("mgt_oddname", args);
  }

  void expect_clean_stop(Agent& agent) {
    const auto exit = agent.stop();
    ASSERT_TRUE(exit) << "memoryguard did not stop on SIGTERM";
    EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
  }

  std::set<std::string> pids_of(const Scrape& s, const std::string& rule) {
    std::set<std::string> pids;
    for (const auto& sample : s.find("memoryguard_process_pss_bytes", {{"rule", rule}})) {
      pids.insert(sample.labels.at("pid"));
    }
    return pids;
  }
};

// Comms that together hold every byte from 1 to 255, each after a prefix the
// rule can anchor on, and one argument that holds them all.
TEST_F(HostileNamesTest, EveryByteInNamesAndArgumentsScrapesAndIsMatched) {
  std::string all_bytes;
  for (int b = 1; b < 256; ++b) all_bytes.push_back(static_cast<char>(b));
  std::set<std::string> expected;
  constexpr std::size_t kPerComm = 13;  // 15 bytes of comm, less the "o-" prefix
  for (std::size_t i = 0; i < all_bytes.size(); i += kPerComm) {
    Helper& h = odd("o-" + all_bytes.substr(i, kPerComm),
                    {"--argv0=" + hex(all_bytes), "--arg=" + hex(all_bytes)});
    expected.insert(std::to_string(h.pid()));
  }
  ASSERT_EQ(expected.size(), 20u);
  Agent& agent =
      start_agent(write_config("interval: 100ms\n"
                               "top_processes: 50\n"
                               "rules:\n"
                               "  - name: odd\n"
                               "    match: { name: '^o-', cmdline: '" +
                               token() +
                               "' }\n"
                               "    limit: 1Gi\n"));
  const Scrape s =
      agent.wait_for_metrics([&](const Scrape& s) { return pids_of(s, "odd") == expected; }, 10s);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(pids_of(s, "odd"), expected) << "not every oddly named process was matched";
  EXPECT_EQ(s.value("memoryguard_rule_processes", {{"rule", "odd"}}), 20.0);
  for (const auto& sample : s.find("memoryguard_process_pss_bytes", {{"rule", "odd"}})) {
    EXPECT_TRUE(valid_utf8(sample.labels.at("name"))) << sample.labels.at("name");
    EXPECT_EQ(sample.labels.at("name").rfind("o-", 0), 0u) << sample.labels.at("name");
    EXPECT_GT(sample.value, 0.5 * kMiB) << "measured wrong: " << sample.labels.at("name");
  }
  EXPECT_TRUE(valid_utf8(s.text())) << "the exposition is not valid UTF-8";
  EXPECT_EQ(s.text().find(token()), std::string::npos) << "a command line leaked into /metrics";
  expect_promtool_accepts(s);
  EXPECT_EQ(agent.log().find(token()), std::string::npos) << "a command line leaked into the log";
  expect_clean_stop(agent);
}

// /proc/PID/stat is "pid (comm) state ppid ...": a parser that stops at the
// first ')' reads this comm's fake fields (state Z, ppid 1), gets the start
// time wrong, and can neither judge nor signal the process by its identity.
TEST_F(HostileNamesTest, ParenthesesAndSpacesInCommDoNotFoolStatParsing) {
  Helper& big = odd("k) Z 1 (a) b)", {"--mib=40"});
  Helper& small = odd("k) R 1 1 1 1 (", {"--mib=4"});
  Helper& newline = odd("k\n) Z 0 0 (\n", {"--mib=4"});
  Agent& agent =
      start_agent(write_config("interval: 100ms\n"
                               "rules:\n"
                               "  - name: paren\n"
                               "    match: { name: '^k\\) Z 1 \\(a\\) b\\)$', cmdline: '" +
                               token() +
                               "' }\n"
                               "    limit: 20Mi\n"
                               "  - name: others\n"
                               "    match: { name: '^k(\\) R|\\n\\))', cmdline: '" +
                               token() +
                               "' }\n"
                               "    limit: 30Mi\n"));
  const auto info = big.proc.wait_reaped(10s);
  ASSERT_TRUE(info) << "the process with ')' in its comm was not killed:\n" << agent.log();
  EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);
  const Scrape s = agent.wait_for_metrics(
      [](const Scrape& s) {
        return s.value("memoryguard_rule_processes", {{"rule", "others"}}) == 2.0;
      },
      5s);
  EXPECT_EQ(s.value("memoryguard_rule_processes", {{"rule", "others"}}), 2.0);
  for (const Helper* h : {&small, &newline}) {
    const auto pss = s.value("memoryguard_process_pss_bytes",
                             {{"rule", "others"}, {"pid", std::to_string(h->pid())}});
    ASSERT_TRUE(pss) << "pid " << h->pid() << " is not on /metrics";
    EXPECT_GT(*pss, 3.0 * kMiB);
    EXPECT_LT(*pss, 20.0 * kMiB);
    EXPECT_TRUE(h->proc.alive());
  }
  EXPECT_EQ(s.value("memoryguard_kills_total", {{"rule", "paren"}, {"signal", "SIGKILL"}}), 1.0);
  EXPECT_EQ(s.sum("memoryguard_kills_total", {{"rule", "others"}}), 0.0);
  expect_promtool_accepts(s);
  expect_clean_stop(agent);
}

TEST_F(HostileNamesTest, CommandLineWithQuotesBackslashesBracesAndNewlinesIsMatchedExactly) {
  const std::string tricky = "q\"b\\c{d}\ne'f";
  Helper& hit = odd("mgt_oddname", {"--arg=" + hex(tricky), "--arg=" + hex("{x} [y] \\n")});
  Helper& miss = odd("mgt_oddname", {"--arg=" + hex("q\"b\\c{d}Xe'f")});
  // YAML double quotes: \" is ", \\ is \. RE2 then reads \\ \{ \} \n.
  Agent& agent = start_agent(
      write_config("interval: 100ms\n"
                   "rules:\n"
                   "  - name: tricky\n"
                   "    match: { name: '^mgt_oddname$', cmdline: \"" +
                   token() +
                   " q\\\"b\\\\\\\\c\\\\{d\\\\}\\\\ne'f \\\\{x\\\\} \\\\[y\\\\] \\\\\\\\n$\" }\n"
                   "    limit: 1Gi\n"));
  const std::string hit_pid = std::to_string(hit.pid());
  const Scrape s = agent.wait_for_metrics(
      [&](const Scrape& s) { return pids_of(s, "tricky").count(hit_pid) > 0; }, 5s);
  EXPECT_EQ(pids_of(s, "tricky"), std::set<std::string>{hit_pid})
      << "pid " << miss.pid() << " is the near miss";
  EXPECT_EQ(s.value("memoryguard_rule_processes", {{"rule", "tricky"}}), 1.0);
  expect_clean_stop(agent);
}

TEST_F(HostileNamesTest, MegabyteCommandLinesAreMatchedWithoutBloatingTheAgent) {
  std::set<std::string> expected;
  for (int i = 0; i < 6; ++i) {
    // The marker comes first, then 1 MiB of filler in ten strings.
    Helper& h = odd("mgt_oddname", {"--pad-kib=1024"});
    expected.insert(std::to_string(h.pid()));
  }
  Agent& agent = start_agent(
      write_config("interval: 100ms\n"
                   "top_processes: 50\n"
                   "rules:\n"
                   "  - name: long\n"
                   "    match: { name: '^mgt_oddname$', cmdline: '^mgt_oddname --marker=" +
                   token() +
                   " p' }\n"
                   "    limit: 1Gi\n"));
  const Scrape s =
      agent.wait_for_metrics([&](const Scrape& s) { return pids_of(s, "long") == expected; }, 5s);
  EXPECT_EQ(pids_of(s, "long"), expected);
  sleep_for(3s);  // past most re-reads of cached attributes (every 2.5 to 5 s)
  const Scrape later = agent.scrape();
  EXPECT_EQ(pids_of(later, "long"), expected);
  // Six megabytes of command lines must not be held, nor copied per scan.
  const auto rss = later.value("process_resident_memory_bytes");
  ASSERT_TRUE(rss);
  // A sanitizer's shadow memory and quarantine weigh more than the agent.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  constexpr double kMaxRss = 256.0 * kMiB;
#else
  constexpr double kMaxRss = 64.0 * kMiB;
#endif
  EXPECT_LT(*rss, kMaxRss);
  EXPECT_LT(later.text().size(), 64u * 1024) << "a command line leaked into /metrics";
  expect_clean_stop(agent);
}

// Prometheus itself is the judge of a scrape: its parser, not ours or
// promtool's, decides whether the target is up.
TEST_F(HostileNamesTest, RealPrometheusScrapesOddNamesWithoutError) {
  if (access(kPrometheus, X_OK) != 0) GTEST_SKIP() << kPrometheus << " is not installed";
  odd("p-\xff\xfe\"\\\n{}) x (", {"--arg=" + hex("\xc3(\n\"}")});
  odd("p-\xe2\x82", {"--mib=2"});  // a character cut at the end
  Agent& agent =
      start_agent(write_config("interval: 100ms\n"
                               "rules:\n"
                               "  - name: odd\n"
                               "    match: { name: '^p-', cmdline: '" +
                               token() +
                               "' }\n"
                               "    limit: 1Gi\n"));
  agent.wait_for_metrics(
      [](const Scrape& s) {
        return s.value("memoryguard_rule_processes", {{"rule", "odd"}}) == 2.0;
      },
      5s);
  const int port = free_port();
  const std::string config = write_config(
      "global: { scrape_interval: 1s, scrape_timeout: 1s }\n"
      "scrape_configs:\n"
      "  - job_name: memoryguard\n"
      "    static_configs: [ { targets: ['127.0.0.1:" +
          std::to_string(agent.port()) + "'] } ]\n",
      "prometheus.yml");
  mkdir(path("tsdb").c_str(), 0700);
  SpawnOptions options;
  options.argv = {kPrometheus, "--config.file=" + config, "--storage.tsdb.path=" + path("tsdb"),
                  "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=warn"};
  options.stderr_path = path("prometheus.stderr");
  options.stdout_path = path("prometheus.stdout");
  Spawned prometheus = spawn(options);
  std::string targets;
  const bool up = wait_until(
      [&] {
        targets = http_request(port, "GET", "/api/v1/targets").body;
        return targets.find("\"health\":\"up\"") != std::string::npos;
      },
      30s);
  EXPECT_TRUE(up) << targets << "\n" << read_file(path("prometheus.stderr"));
  EXPECT_NE(targets.find("\"lastError\":\"\""), std::string::npos) << targets;
  // The series made it into the TSDB with their odd names as valid labels.
  std::string query;
  wait_until(
      [&] {
        query =
            http_request(port, "GET",
                         "/api/v1/query?query=memoryguard_process_pss_bytes%7Brule%3D%22odd%22%7D")
                .body;
        return query.find("\"pid\"") != std::string::npos &&
               query.find("\"pid\"", query.find("\"pid\"") + 1) != std::string::npos;
      },
      10s);
  EXPECT_NE(query.find("\"name\":\"p-"), std::string::npos) << query;
  prometheus.proc.signal(SIGTERM);
  if (!prometheus.proc.wait_dead(10s)) prometheus.proc.kill_and_wait();
  expect_clean_stop(agent);
}

}  // namespace
}  // namespace mgt
