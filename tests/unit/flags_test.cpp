// The command line's ways in: the agent, `run -- CMD`, `--pid`.
#include "cli/flags.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mg {
namespace {

ParsedFlags parse(std::vector<std::string> args) {
  args.insert(args.begin(), "memoryguard");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return parse_flags(static_cast<int>(args.size()), argv.data());
}

TEST(Flags, RunTakesEverythingAfterTheDashesAsTheCommandUnread) {
  auto p = parse({"run", "--limit=1Gi", "--log.level=debug", "--tree", "--", "cmd", "--limit=2",
                  "--", "--help"});
  ASSERT_FALSE(p.exit_code);
  EXPECT_EQ(p.flags.mode, Mode::kRun);
  EXPECT_EQ(p.flags.command, (std::vector<std::string>{"cmd", "--limit=2", "--", "--help"}));
  ASSERT_TRUE(p.flags.guard.limit);
  EXPECT_EQ(p.flags.guard.limit->bytes, 1ull << 30);
  EXPECT_TRUE(p.flags.guard.tree);
  EXPECT_EQ(p.flags.log_level, log::Level::kDebug);
  EXPECT_FALSE(p.flags.listen_address_given) << "no HTTP server unless asked";
  EXPECT_FALSE(p.flags.config_file_given);
}

TEST(Flags, FlagsBeforeRunMeanTheSame) {
  auto p =
      parse({"--log.format=json", "--signal=TERM", "run", "--limit=80%", "--for=2s", "--", "cmd"});
  ASSERT_FALSE(p.exit_code);
  EXPECT_EQ(p.flags.mode, Mode::kRun);
  EXPECT_EQ(p.flags.log_format, log::Format::kJson);
  EXPECT_EQ(p.flags.guard.signal_name, "SIGTERM");
  EXPECT_DOUBLE_EQ(p.flags.guard.limit->percent, 80);
  EXPECT_EQ(p.flags.guard.for_duration, std::chrono::seconds(2));
}

TEST(Flags, PidModeAndItsDefaults) {
  auto p = parse({"--pid=42", "--limit=512Mi", "--web.listen-address=:0"});
  ASSERT_FALSE(p.exit_code);
  EXPECT_EQ(p.flags.mode, Mode::kPid);
  EXPECT_EQ(p.flags.guard.pid, 42);
  EXPECT_EQ(p.flags.guard.measure, Measure::kPss);
  EXPECT_EQ(p.flags.guard.signal, 9);
  EXPECT_EQ(p.flags.guard.interval, std::chrono::seconds(1));
  EXPECT_EQ(p.flags.guard.stats_frequency, std::chrono::seconds(15));
  EXPECT_TRUE(p.flags.listen_address_given);
}

TEST(Flags, TheAgentIsUnchanged) {
  auto p = parse({"--config.file=x.yaml", "--once"});
  ASSERT_FALSE(p.exit_code);
  EXPECT_EQ(p.flags.mode, Mode::kAgent);
  EXPECT_TRUE(p.flags.once);
  EXPECT_EQ(p.flags.listen_addresses, std::vector<std::string>{":9756"});
}

TEST(Flags, MisusesExitTwo) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"run", "--limit=1Gi", "cmd"},
           {"run", "--", "cmd"},
           {"--pid=0", "--limit=1Gi"},
           {"--pid=12x", "--limit=1Gi"},
           {"--pid=1", "--pid-file=/run/x.pid", "--limit=1Gi"},
           {"--tree"},
           {"run", "--pid=3", "--limit=1Gi", "--", "cmd"},
           {"run", "--once", "--limit=1Gi", "--", "cmd"},
           {"run", "--procfs=/proc", "--limit=1Gi", "--", "cmd"},
           {"run", "--config.file=x.yaml", "--measure=rss", "--", "cmd"},
           {"run", "--config.file=x.yaml", "--tree", "--", "cmd"},
           {"run", "--limit=1Gi", "--kill-after=0s", "--", "cmd"},
           {"run", "--limit=1Gi", "--kill-exit-code=300", "--", "cmd"},
       }) {
    std::string shown;
    for (const auto& a : args) shown += " " + a;
    SCOPED_TRACE(shown);
    EXPECT_EQ(parse(args).exit_code, 2);
  }
}

}  // namespace
}  // namespace mg
