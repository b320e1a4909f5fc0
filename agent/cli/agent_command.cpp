#include "cli/agent_command.h"

#include <signal.h>

#include <iostream>
#include <thread>

#include "act/pidfd_signal_sender.h"
#include "cli/exit_codes.h"
#include "cli/http_wiring.h"
#include "cli/reports.h"
#include "cli/startup_checks.h"
#include "config/config_loader.h"
#include "engine/check_loop.h"
#include "engine/privileges.h"
#include "export/metrics.h"
#include "export/web_config.h"
#include "reload/config_watcher.h"
#include "util/log.h"

namespace mg {

int run_agent(const Flags& flags) {
  ConfigLoadResult loaded = load_config_file(flags.config_file);
  if (!loaded.config) return print_config_errors(loaded.errors);

  // Signals are taken by one thread with sigwait; block them before any other
  // thread exists so none of those threads receives them.
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGHUP);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGINT);
  pthread_sigmask(SIG_BLOCK, &handled, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Metrics metrics;
  SteadyClock clock;
  PidfdSignalSender sender(flags.procfs);
  CheckLoopOptions options{flags.config_file, flags.procfs, flags.cgroupfs, flags.dry_run,
                           flags.once};
  CheckLoop loop(options, metrics, sender, clock);
  if (auto errors = loop.start_with(std::move(*loaded.config), loaded.content_hash);
      !errors.empty()) {
    return print_config_errors(errors);
  }
  if (auto refused = refuse_foreign_pid_namespace(flags, loop.config())) return *refused;

  if (flags.once) {
    print_check_table(std::cout, loop.check_once());
    return kExitOk;
  }
  // Its certificates too: --check-config vets what the endpoint would serve.
  std::optional<WebConfig> web;
  if (auto failed = load_web_config(flags, web)) return *failed;
  if (flags.check_config) {
    print_config_summary(std::cout, loop.config(), loop.conditions_now());
    if (web) LiveWebConfig::log_loaded(*web, "web config is valid");
    return kExitOk;
  }

  HttpStart http = start_http_server(flags, metrics, loop, std::move(web));
  if (http.exit_code) return *http.exit_code;

  report_privileges_once(effective_privileges());
  metrics.config_reloaded(true, clock.unix_seconds());
  log::info("memoryguard started", {{"version", version_string()},
                                    {"config", flags.config_file},
                                    {"rules", loop.config().rules.size()},
                                    {"listen", listen_summary(flags)},
                                    {"cgroups", to_string(loop.cgroups().layout())},
                                    {"dry_run", flags.dry_run || loop.config().dry_run}});

  ConfigWatcher watcher(
      flags.config_file, [&loop] { loop.request_reload("file changed"); }, loaded.content_hash);
  watcher.start();

  std::thread signals([&loop, handled] {
    for (;;) {
      int sig = 0;
      if (sigwait(&handled, &sig) != 0) continue;
      if (sig == SIGHUP) {
        loop.request_reload("SIGHUP");
      } else {
        log::info("stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
        loop.stop();
        return;
      }
    }
  });

  loop.run();
  signals.join();
  watcher.stop();
  http.server->stop();
  log::info("stopped");
  return kExitOk;
}

}  // namespace mg
