// The command line: --version, --check-config, --once, and the exit codes of
// SPEC §2 (0 ok, 1 runtime failure, 2 bad flags or config).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <regex>
#include <sstream>

#include "integration/harness.h"

namespace mgt {
namespace {

class CliTest : public IntegrationTest {
 protected:
  RunResult mg(std::vector<std::string> args, Clock::duration timeout = 20s) {
    args.insert(args.begin(), binary_path());
    return run(args, dir(), timeout);
  }

  // `yaml` must be refused with exit 2 and an error naming file:line:col,
  // the key and a reason; `key_pattern` is a regex for the key part.
  void expect_config_error(const std::string& yaml, int line, const std::string& key_pattern) {
    SCOPED_TRACE(yaml);
    const std::string file = write_config(yaml, "bad-" + std::to_string(line) + ".yaml");
    const RunResult r = mg({"--check-config", "--config.file=" + file});
    EXPECT_EQ(r.exit_code(), 2) << r.out << r.err;
    const std::string where = regex_escape(file) + ":" + std::to_string(line) + R"(:\d+: )";
    const std::regex shape(where + R"(\S[^\n]*: \S)");
    const std::regex names_key(where + "[^\n]*" + key_pattern);
    EXPECT_TRUE(std::regex_search(r.out + r.err, shape) &&
                std::regex_search(r.out + r.err, names_key))
        << "expected " << file << ":" << line << ":COL: <" << key_pattern << ">: <reason>, got:\n"
        << r.out << r.err;
  }
};

TEST_F(CliTest, VersionExitsZero) {
  const RunResult r = mg({"--version"});
  EXPECT_EQ(r.exit_code(), 0) << r.err;
  EXPECT_NE((r.out + r.err).find("memoryguard"), std::string::npos) << r.out << r.err;
}

TEST_F(CliTest, UnknownFlagExitsTwo) {
  const RunResult r = mg({"--no-such-flag"});
  EXPECT_EQ(r.exit_code(), 2) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("no-such-flag"), std::string::npos) << r.out << r.err;
}

TEST_F(CliTest, CheckConfigSummarisesAGoodConfig) {
  const std::string file = write_config(
      "interval: 250ms\n"
      "protect:\n"
      "  - name: '^sshd$'\n"
      "rules:\n"
      "  - name: alpha_rule\n"
      "    match: " +
      match_yaml() +
      "\n"
      "    limit: 512Mi\n"
      "  - name: beta_rule\n"
      "    match: { name: '^mgt_sleeper$', not: { cmdline: 'master' } }\n"
      "    limit: 1GB\n"
      "    scope: group\n"
      "    victim: oldest\n"
      "    for: 1m30s\n"
      "    action: { signal: SIGTERM, kill_after: 5s, cooldown: 30s }\n");
  const RunResult r = mg({"--check-config", "--config.file=" + file});
  EXPECT_EQ(r.exit_code(), 0) << r.out << r.err;
  const std::string all = r.out + r.err;
  EXPECT_NE(all.find("alpha_rule"), std::string::npos) << all;
  EXPECT_NE(all.find("beta_rule"), std::string::npos) << all;
}

TEST_F(CliTest, CheckConfigNamesFileLineAndColumnOfAnError) {
  expect_config_error(
      "interval: 1s\n"
      "rules:\n"
      "  - name: zero\n"
      "    match: { name: '^x$' }\n"
      "    limit: 0\n",
      5, "limit");
  expect_config_error(
      "interval: 1s\n"
      "rules:\n"
      "  - name: regex\n"
      "    match: { name: '(' }\n"
      "    limit: 1Mi\n",
      4, "name");
  expect_config_error(
      "intervall: 1s\n"
      "rules:\n"
      "  - name: typo\n"
      "    match: { name: '^x$' }\n"
      "    limit: 1Mi\n",
      1, "intervall");
  expect_config_error(
      "interval: 1 fortnight\n"
      "rules:\n"
      "  - name: when\n"
      "    match: { name: '^x$' }\n"
      "    limit: 1Mi\n",
      1, "interval");
  expect_config_error(
      "rules:\n"
      "  - name: twice\n"
      "    match: { name: '^x$' }\n"
      "    limit: 1Mi\n"
      "  - name: twice\n"
      "    match: { name: '^y$' }\n"
      "    limit: 1Mi\n",
      5, "name");
  expect_config_error(
      "rules:\n"
      "  - name: nothing\n"
      "    limit: 1Mi\n",
      2, "match");
}

TEST_F(CliTest, MissingConfigFileExitsTwo) {
  const RunResult r = mg({"--check-config", "--config.file=" + path("absent.yaml")});
  EXPECT_EQ(r.exit_code(), 2) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find(path("absent.yaml")), std::string::npos) << r.out << r.err;
}

TEST_F(CliTest, OncePrintsATableWithAVerdict) {
  Helper& under = hog(10);
  Helper& over = hog(40);
  const std::string file = write_config(
      "rules:\n"
      "  - name: once_rule\n"
      "    match: " +
      match_yaml() +
      "\n"
      "    limit: 25Mi\n");
  const RunResult r = mg({"--once", "--dry-run", "--config.file=" + file});
  EXPECT_EQ(r.exit_code(), 0) << r.out << r.err;

  std::string header, under_row, over_row;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::string upper = line;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (header.empty() && upper.find("VERDICT") != std::string::npos) header = upper;
    // A row names the rule and has the pid as a column of its own.
    std::istringstream words(line);
    std::vector<std::string> cells{std::istream_iterator<std::string>(words), {}};
    auto has = [&](const std::string& cell) {
      return std::find(cells.begin(), cells.end(), cell) != cells.end();
    };
    if (!has("once_rule")) continue;
    if (has(std::to_string(under.pid()))) under_row = line;
    if (has(std::to_string(over.pid()))) over_row = line;
  }
  EXPECT_FALSE(header.empty()) << "no header with a VERDICT column:\n" << r.out;
  for (const char* column : {"RULE", "PID", "NAME", "LIMIT"}) {
    EXPECT_NE(header.find(column), std::string::npos) << column << " column missing: " << header;
  }
  ASSERT_FALSE(under_row.empty()) << "pid " << under.pid() << " missing:\n" << r.out;
  ASSERT_FALSE(over_row.empty()) << "pid " << over.pid() << " missing:\n" << r.out;
  EXPECT_NE(under_row.find("once_rule"), std::string::npos) << under_row;
  EXPECT_NE(under_row.find("mgt_hog"), std::string::npos) << under_row;
  const std::regex over_verdict("over|exceed|kill", std::regex::icase);
  EXPECT_TRUE(std::regex_search(over_row, over_verdict)) << over_row;
  EXPECT_FALSE(std::regex_search(under_row, over_verdict)) << under_row;
  EXPECT_TRUE(over.proc.alive()) << "--once --dry-run must not act";
}

// --check-config and --once show each condition a rule gives, what it reads
// now and whether it holds; the host's figures are the real ones.
TEST_F(CliTest, CheckConfigAndOnceShowEachConditionWithItsValueNow) {
  if (access("/proc/pressure/memory", R_OK) != 0) GTEST_SKIP() << "this kernel has no PSI";
  hog(10);
  const std::string file = write_config(
      "rules:\n"
      "  - name: short\n"
      "    match: " +
      match_yaml() +
      "\n"
      "    available: {below: 100%}\n"
      "  - name: stalled\n"
      "    match: " +
      match_yaml() +
      "\n"
      "    limit: 1Gi\n"
      "    pressure: {some: 20%, full: 10%, window: 60s}\n");
  const std::regex available_now(
      R"(available: MemAvailable [0-9.]+[KMGT]?i?B \([0-9.]+%\) < 100% of MemTotal [0-9.]+GiB  \[holds\])");
  const std::regex pressure_now(R"(pressure: host pressure some avg60 [0-9.]+% (<|>=) 20\.00%)");

  const RunResult check = mg({"--check-config", "--config.file=" + file});
  EXPECT_EQ(check.exit_code(), 0) << check.out << check.err;
  for (const char* line :
       {"available: host MemAvailable below 100% of MemTotal", "limit: 1GiB of pss per process",
        "pressure: the host's memory pressure at or above some 20% and full 10% "
        "over 60s",
        "(every condition must hold)", "now, host:"}) {
    EXPECT_NE(check.out.find(line), std::string::npos) << line << " missing:\n" << check.out;
  }
  EXPECT_TRUE(std::regex_search(check.out, available_now)) << check.out;
  EXPECT_TRUE(std::regex_search(check.out, pressure_now)) << check.out;

  const RunResult once = mg({"--once", "--dry-run", "--config.file=" + file});
  EXPECT_EQ(once.exit_code(), 0) << once.out << once.err;
  EXPECT_NE(once.out.find("CONDITIONS"), std::string::npos) << once.out;
  EXPECT_NE(once.out.find("short, host:"), std::string::npos) << once.out;
  EXPECT_NE(once.out.find("stalled, host:"), std::string::npos) << once.out;
  EXPECT_TRUE(std::regex_search(once.out, available_now)) << once.out;
  EXPECT_TRUE(std::regex_search(once.out, pressure_now)) << once.out;
}

TEST_F(CliTest, TakenPortExitsOne) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));

  const std::string file = write_config(
      "rules:\n"
      "  - name: port\n"
      "    match: " +
      match_yaml() +
      "\n"
      "    limit: 1Gi\n");
  const RunResult r = mg({"--config.file=" + file, "--web.listen-address=127.0.0.1:" + port}, 10s);
  close(fd);
  ASSERT_TRUE(r.exit) << "memoryguard kept running on a taken port";
  EXPECT_EQ(r.exit_code(), 1) << describe(*r.exit) << "\n" << r.err;
  EXPECT_NE(r.err.find(port), std::string::npos) << "the error does not name the address:\n"
                                                 << r.err;
}

}  // namespace
}  // namespace mgt
