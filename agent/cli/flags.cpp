#include "cli/flags.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "util/version.h"

namespace mg {

std::string version_string() {
  return std::string("memoryguard, version ") + kVersion + " (revision: " + kRevision + ")";
}

ParsedFlags parse_flags(int argc, char** argv) {
  ParsedFlags out;
  Flags& f = out.flags;
  CLI::App app{
      "memoryguard: kills processes that grow past their memory limit, and exports "
      "what it sees to Prometheus."};
  app.set_version_flag("--version", version_string());
  std::string level = "info", format = "logfmt";
  app.add_option("--config.file", f.config_file, "Rules file (YAML)")->capture_default_str();
  app.add_option("--web.listen-address", f.listen_address, "Address for /metrics")
      ->capture_default_str();
  app.add_option("--web.telemetry-path", f.telemetry_path, "Path of the metrics")
      ->capture_default_str();
  app.add_option("--web.config.file", f.web_config_file,
                 "Basic auth users with bcrypt hashes (exporter-toolkit format)");
  app.add_flag("--web.enable-lifecycle", f.enable_lifecycle, "Allow POST /-/reload");
  app.add_option("--log.level", level, "debug|info|warn|error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--log.format", format, "logfmt|json")
      ->check(CLI::IsMember({"logfmt", "json"}))
      ->capture_default_str();
  app.add_flag("--dry-run", f.dry_run, "Act on nothing; log and count what would be done");
  app.add_flag("--check-config", f.check_config, "Validate the config, print a summary, exit");
  app.add_flag("--once", f.once,
               "One check: print each watched process with its verdict, act on nothing, exit");
  // A mistyped path must stop the start, not give an agent that quietly
  // watches nothing (a dry-run one would not even notice it is blind).
  app.add_option("--procfs", f.procfs, "Where /proc is (e.g. /host/proc)")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  app.add_option("--cgroupfs", f.cgroupfs, "Where the cgroup filesystem is")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    out.exit_code = app.exit(e);
    return out;
  } catch (const CLI::CallForVersion& e) {
    out.exit_code = app.exit(e);
    return out;
  } catch (const CLI::ParseError& e) {
    std::cerr << "memoryguard: " << e.what() << "\n(see --help)\n";
    out.exit_code = 2;
    return out;
  }
  if (f.telemetry_path.empty() || f.telemetry_path[0] != '/') {
    std::cerr << "memoryguard: --web.telemetry-path: must start with /\n";
    out.exit_code = 2;
    return out;
  }
  log::parse_level(level, f.log_level);
  log::parse_format(format, f.log_format);
  return out;
}

}  // namespace mg
