#pragma once
// The command line, in the conventions of Prometheus exporters (SPEC §2),
// and its two other ways in (SPEC §2a): `run -- CMD` and `--pid`.
#include <optional>
#include <string>
#include <vector>

#include "cli/guard_flags.h"
#include "util/log.h"

namespace mg {

enum class Mode {
  kAgent,  // the long-running agent on a config file
  kRun,    // memoryguard run [flags] -- CMD [ARGS...]
  kPid,    // memoryguard --pid=PID | --pid-file=PATH [flags]
};

struct Flags {
  std::string config_file = "/etc/memoryguard/memoryguard.yaml";
  std::vector<std::string> listen_addresses = {":9756"};  // repeatable
  bool systemd_socket = false;
  std::string telemetry_path = "/metrics";
  std::string web_config_file;
  bool enable_lifecycle = false;
  log::Level log_level = log::Level::kInfo;
  log::Format log_format = log::Format::kLogfmt;
  bool dry_run = false;
  bool check_config = false;
  bool once = false;
  std::string procfs = "/proc";
  std::string cgroupfs = "/sys/fs/cgroup";

  Mode mode = Mode::kAgent;
  GuardFlags guard;                  // run and --pid
  std::vector<std::string> command;  // run: CMD and its arguments, never parsed here
  // run and --pid have no config file and no HTTP server unless asked.
  bool config_file_given = false;
  bool listen_address_given = false;
};

// Parses argv. Returns the flags, or an exit code when the process should end
// now: 0 after --help/--version, 2 on bad flags (the message already printed).
struct ParsedFlags {
  Flags flags;
  std::optional<int> exit_code;
};
ParsedFlags parse_flags(int argc, char** argv);

std::string version_string();

}  // namespace mg
