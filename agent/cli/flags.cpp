#include "cli/flags.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <string_view>

#include "util/version.h"

namespace mg {

std::string version_string() {
  return std::string("memoryguard, version ") + kVersion + " (revision: " + kRevision + ")";
}

ParsedFlags parse_flags(int argc, char** argv) {
  ParsedFlags out;
  Flags& f = out.flags;
  // What follows `--` is CMD's, and must never be read as ours (its own
  // --help, --config.file...): the parser sees only what comes before.
  int ours = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") {
      ours = i;
      break;
    }
  }
  CLI::App app{
      "memoryguard: kills processes that grow past their memory limit, and exports "
      "what it sees to Prometheus."};
  app.set_version_flag("--version", version_string());
  std::string level = "info", format = "logfmt";
  CLI::Option* config_file =
      app.add_option("--config.file", f.config_file, "Rules file (YAML)")->capture_default_str();
  // Repeatable, as in exporter-toolkit; one value per occurrence, so that a
  // value never swallows the next argument.
  CLI::Option* listen_address =
      app.add_option("--web.listen-address", f.listen_addresses,
                     "Address for /metrics; repeat it for more than one (:9756, [::1]:9756); "
                     "run and --pid: off unless given")
          ->capture_default_str()
          ->allow_extra_args(false);
  CLI::Option* systemd_socket =
      app.add_flag("--web.systemd-socket", f.systemd_socket,
                   "Listen on the sockets systemd passes (socket activation) instead of "
                   "--web.listen-address");
  app.add_option("--web.telemetry-path", f.telemetry_path, "Path of the metrics")
      ->capture_default_str();
  app.add_option("--web.config.file", f.web_config_file,
                 "TLS, client certificates, headers and basic auth (exporter-toolkit format)");
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
  CLI::Option* procfs = app.add_option("--procfs", f.procfs, "Where /proc is (e.g. /host/proc)")
                            ->check(CLI::ExistingDirectory)
                            ->capture_default_str();
  app.add_option("--cgroupfs", f.cgroupfs, "Where the cgroup filesystem is")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  GuardFlagParser guard;
  guard.add_to(app);
  // The other flags fall through to the top level, so `run --limit=1Gi
  // --log.level=debug -- CMD` and `--log.level=debug run ...` mean the same.
  CLI::App* run = app.add_subcommand(
      "run", "Start CMD as a child and guard it: memoryguard run [flags] -- CMD [ARGS...]");
  run->fallthrough();
  run->footer(
      "Every flag of memoryguard --help that applies is taken here too: --limit, "
      "--tree, --config.file, --web.listen-address, --log.level, --dry-run, ...");
  auto usage_error = [&out](const std::string& message) {
    std::cerr << "memoryguard: " << message << "\n(see --help)\n";
    out.exit_code = 2;
    return out;
  };
  constexpr const char* kRunUsage = "memoryguard run [flags] -- CMD [ARGS...]";
  try {
    app.parse(ours, argv);
  } catch (const CLI::ExtrasError& e) {
    if (run->parsed())
      return usage_error(std::string("run: the command goes after --: ") + kRunUsage);
    return usage_error(e.what());
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
  const bool dashdash = ours < argc;
  if (run->parsed()) {
    if (!dashdash) return usage_error(std::string("run: the command goes after --: ") + kRunUsage);
    f.command.assign(argv + ours + 1, argv + argc);
    if (f.command.empty())
      return usage_error(std::string("run: no command after --: ") + kRunUsage);
    f.mode = Mode::kRun;
  } else if (dashdash) {
    return usage_error(std::string("--: only run takes a command: ") + kRunUsage);
  } else if (guard.pid_given()) {
    f.mode = Mode::kPid;
  } else if (const std::string flag = guard.first_given(); !flag.empty()) {
    return usage_error(flag + ": only with run or --pid/--pid-file");
  }
  f.config_file_given = config_file->count() > 0;
  f.listen_address_given = listen_address->count() > 0 || systemd_socket->count() > 0;
  if (f.mode != Mode::kAgent) {
    if (f.check_config || f.once)
      return usage_error("--check-config, --once: not with run or --pid");
    // CMD is the agent's own child: its /proc is the agent's.
    if (f.mode == Mode::kRun && procfs->count() > 0)
      return usage_error("--procfs: run watches its own child through /proc");
    if (f.enable_lifecycle && !f.config_file_given)
      return usage_error("--web.enable-lifecycle: POST /-/reload reloads --config.file; give one");
    if (auto error = guard.finish(f.mode == Mode::kRun, f.config_file_given, f.guard);
        !error.empty())
      return usage_error(error);
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
