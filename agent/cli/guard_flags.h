#pragma once
// The flags of `memoryguard run` and `memoryguard --pid` (SPEC §2a): the one
// rule they guard with, given on the command line as go-memoryguard's
// Limit(), Interval and StatsFrequency were, instead of a config file.
#include <sys/types.h>

#include <optional>
#include <string>

#include "config/config.h"
#include "util/clock.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace mg {

struct GuardFlags {
  std::optional<LimitSpec> limit;  // nullopt: the rules come from --config.file
  std::string limit_text;          // as given, for messages
  Measure measure = Measure::kPss;
  int signal = 9;
  std::string signal_name = "SIGKILL";
  Duration kill_after = std::chrono::seconds(10);
  Duration for_duration{0};
  Duration interval = std::chrono::seconds(1);
  Duration stats_frequency = std::chrono::seconds(15);
  bool tree = false;
  std::optional<int> kill_exit_code;
  pid_t pid = 0;         // --pid
  std::string pid_file;  // --pid-file
};

// Registers the flags on the top-level app (a `run` subcommand that falls
// through reaches them too) and turns their text into GuardFlags.
class GuardFlagParser {
 public:
  void add_to(CLI::App& app);
  // Any flag of a guard given: they mean nothing to the long-running agent.
  std::string first_given() const;
  bool pid_given() const;
  // Checks and converts what was given. Returns "" or the message for exit 2.
  // With a config file the rule comes from it, so the flags that shape the
  // one rule are refused; `--tree` still widens `--pid` to the descendants.
  std::string finish(bool run, bool config_file, GuardFlags& out) const;

 private:
  std::string limit_, measure_ = "pss", signal_ = "SIGKILL", kill_after_ = "10s", for_ = "0s",
                      interval_ = "1s", stats_frequency_ = "15s", pid_, pid_file_;
  bool tree_ = false;
  int kill_exit_code_ = 0;
  CLI::Option* limit_opt_ = nullptr;
  CLI::Option* measure_opt_ = nullptr;
  CLI::Option* signal_opt_ = nullptr;
  CLI::Option* kill_after_opt_ = nullptr;
  CLI::Option* for_opt_ = nullptr;
  CLI::Option* interval_opt_ = nullptr;
  CLI::Option* stats_opt_ = nullptr;
  CLI::Option* tree_opt_ = nullptr;
  CLI::Option* kill_exit_opt_ = nullptr;
  CLI::Option* pid_opt_ = nullptr;
  CLI::Option* pid_file_opt_ = nullptr;
};

}  // namespace mg
