// The exec hook runs after an action, with the action in its environment.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "integration/harness.h"

namespace mgt {
namespace {

class ExecHookTest : public IntegrationTest {};

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

TEST_F(ExecHookTest, HookSeesTheActionInItsEnvironment) {
  const std::string out = path("hook.env");
  Helper& h = hog(30);
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
                               out + ".tmp && mv " + out + ".tmp " + out +
                               "']\n"
                               "      exec_timeout: 5s\n"));

  const auto info = h.proc.wait_reaped(5s);
  ASSERT_TRUE(info) << "the hog was not killed";
  EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);
  ASSERT_TRUE(wait_until([&] { return access(out.c_str(), F_OK) == 0; }, 5s))
      << "the hook did not run";

  auto env = parse_env(read_file(out));
  EXPECT_EQ(env["MEMORYGUARD_RULE"], "hooked");
  EXPECT_EQ(env["MEMORYGUARD_PID"], std::to_string(h.pid()));
  EXPECT_EQ(env["MEMORYGUARD_NAME"], "mgt_hog");
  EXPECT_EQ(env["MEMORYGUARD_LIMIT"], std::to_string(10 * kMiB));
  EXPECT_EQ(env["MEMORYGUARD_SIGNAL"], "SIGKILL");
  const double bytes = std::strtod(env["MEMORYGUARD_BYTES"].c_str(), nullptr);
  EXPECT_GT(bytes, 10.0 * kMiB) << env["MEMORYGUARD_BYTES"];
  EXPECT_LT(bytes, 40.0 * kMiB) << env["MEMORYGUARD_BYTES"];
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

}  // namespace
}  // namespace mgt
