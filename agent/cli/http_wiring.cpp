#include "cli/http_wiring.h"

#include <iostream>

#include "cli/exit_codes.h"
#include "export/web_config.h"
#include "util/log.h"

namespace mg {

HttpStart start_http_server(const Flags& flags, Metrics& metrics, CheckLoop& loop) {
  HttpStart out;
  HttpOptions http{flags.listen_address, flags.telemetry_path, flags.enable_lifecycle, {}};
  if (!flags.web_config_file.empty()) {
    auto web = WebConfig::load(flags.web_config_file);
    if (auto* errors = std::get_if<std::vector<std::string>>(&web)) {
      for (const auto& e : *errors) std::cerr << e << "\n";
      out.exit_code = kExitUsage;
      return out;
    }
    http.web_config = std::get<WebConfig>(std::move(web));
  }
  HttpHandlers handlers;
  handlers.metrics = [&metrics] { return metrics.render(); };
  handlers.healthy = [&loop] { return loop.healthy(); };
  handlers.reload = [&loop]() -> ReloadOutcome {
    auto outcome = loop.request_reload("http");
    // A check on a huge host can take a while, but an HTTP client must not
    // hang on a loop that is stuck.
    if (outcome.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
      return {false, "the check loop did not answer within 30s"};
    return outcome.get();
  };
  auto server = std::make_unique<HttpServer>(std::move(http), std::move(handlers));
  try {
    server->start();
  } catch (const std::invalid_argument& e) {
    std::cerr << "memoryguard: " << e.what() << "\n";
    out.exit_code = kExitUsage;
    return out;
  } catch (const std::exception& e) {
    log::error("cannot serve metrics", {{"err", e.what()}});
    out.exit_code = kExitRuntime;
    return out;
  }
  out.server = std::move(server);
  return out;
}

}  // namespace mg
