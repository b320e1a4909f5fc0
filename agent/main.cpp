// memoryguard: wires the steps of agent/ together. Nothing here decides
// anything; see engine/check_loop.h for the data flow.
#include <malloc.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <thread>

#include "act/pidfd_signal_sender.h"
#include "cli/flags.h"
#include "cli/reports.h"
#include "config/config_loader.h"
#include "engine/check_loop.h"
#include "engine/privileges.h"
#include "export/http_server.h"
#include "export/metrics.h"
#include "export/web_config.h"
#include "reload/config_watcher.h"
#include "util/log.h"

namespace {

constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

int print_errors(const std::vector<mg::ConfigError>& errors) {
  for (const auto& e : errors) std::cerr << e.to_string() << "\n";
  std::cerr << errors.size() << (errors.size() == 1 ? " error" : " errors") << " in the config\n";
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  // glibc gives each thread that allocates an arena of its own, up to 8 per
  // core; with 128 HTTP workers that was a third of the agent's resident
  // memory (21 MiB against 15 with two arenas, in the benchmark).
  mallopt(M_ARENA_MAX, 2);
  mg::ParsedFlags parsed = mg::parse_flags(argc, argv);
  if (parsed.exit_code) return *parsed.exit_code;
  const mg::Flags& flags = parsed.flags;
  mg::log::setup(flags.log_level, flags.log_format);

  mg::ConfigLoadResult loaded = mg::load_config_file(flags.config_file);
  if (!loaded.config) return print_errors(loaded.errors);

  // Signals are taken by one thread with sigwait; block them before any other
  // thread exists so none of those threads receives them.
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGHUP);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGINT);
  pthread_sigmask(SIG_BLOCK, &handled, nullptr);
  signal(SIGPIPE, SIG_IGN);

  mg::Metrics metrics;
  mg::SteadyClock clock;
  mg::PidfdSignalSender sender(flags.procfs);
  mg::CheckLoopOptions options{flags.config_file, flags.procfs, flags.cgroupfs, flags.dry_run,
                               flags.once};
  mg::CheckLoop loop(options, metrics, sender, clock);
  if (auto errors = loop.start_with(std::move(*loaded.config), loaded.content_hash);
      !errors.empty()) {
    return print_errors(errors);
  }

  const bool acting = !flags.dry_run && !flags.once && !flags.check_config &&
                      std::any_of(loop.config().rules.begin(), loop.config().rules.end(),
                                  [](const mg::RuleSpec& r) { return !r.dry_run; });
  if (acting && !mg::procfs_is_own_pid_namespace(flags.procfs)) {
    std::cerr << "memoryguard: --procfs=" << flags.procfs
              << ": does not show the agent's own pid namespace, so it could not tell itself and "
                 "its ancestors from other processes, nor signal the right ones. Share the pid "
                 "namespace (hostPID, shareProcessNamespace) or run with --dry-run.\n";
    return kExitUsage;
  }

  if (flags.check_config) {
    mg::print_config_summary(std::cout, loop.config(), loop.conditions_now());
    return 0;
  }
  if (flags.once) {
    mg::print_check_table(std::cout, loop.check_once());
    return 0;
  }

  mg::HttpOptions http{flags.listen_address, flags.telemetry_path, flags.enable_lifecycle, {}};
  if (!flags.web_config_file.empty()) {
    auto web = mg::WebConfig::load(flags.web_config_file);
    if (auto* errors = std::get_if<std::vector<std::string>>(&web)) {
      for (const auto& e : *errors) std::cerr << e << "\n";
      return kExitUsage;
    }
    http.web_config = std::get<mg::WebConfig>(std::move(web));
  }
  mg::HttpHandlers handlers;
  handlers.metrics = [&metrics] { return metrics.render(); };
  handlers.healthy = [&loop] { return loop.healthy(); };
  handlers.reload = [&loop]() -> mg::ReloadOutcome {
    auto outcome = loop.request_reload("http");
    // A check on a huge host can take a while, but an HTTP client must not
    // hang on a loop that is stuck.
    if (outcome.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
      return {false, "the check loop did not answer within 30s"};
    return outcome.get();
  };
  mg::HttpServer server(std::move(http), std::move(handlers));
  try {
    server.start();
  } catch (const std::invalid_argument& e) {
    std::cerr << "memoryguard: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    mg::log::error("cannot serve metrics", {{"err", e.what()}});
    return kExitRuntime;
  }

  mg::report_privileges_once(mg::effective_privileges());
  metrics.config_reloaded(true, clock.unix_seconds());
  mg::log::info("memoryguard started", {{"version", mg::version_string()},
                                        {"config", flags.config_file},
                                        {"rules", loop.config().rules.size()},
                                        {"listen", flags.listen_address},
                                        {"cgroups", mg::to_string(loop.cgroups().layout())},
                                        {"dry_run", flags.dry_run || loop.config().dry_run}});

  mg::ConfigWatcher watcher(
      flags.config_file, [&loop] { loop.request_reload("file changed"); }, loaded.content_hash);
  watcher.start();

  std::thread signals([&loop, handled] {
    for (;;) {
      int sig = 0;
      if (sigwait(&handled, &sig) != 0) continue;
      if (sig == SIGHUP) {
        loop.request_reload("SIGHUP");
      } else {
        mg::log::info("stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
        loop.stop();
        return;
      }
    }
  });

  loop.run();
  signals.join();
  watcher.stop();
  server.stop();
  mg::log::info("stopped");
  return 0;
}
