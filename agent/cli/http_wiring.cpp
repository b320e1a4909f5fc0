#include "cli/http_wiring.h"

#include <iostream>

#include "cli/exit_codes.h"
#include "export/web_config.h"
#include "util/log.h"

namespace mg {

std::optional<int> load_web_config(const Flags& flags, std::optional<WebConfig>& out) {
  if (flags.web_config_file.empty()) return std::nullopt;
  auto web = WebConfig::load(flags.web_config_file);
  if (auto* errors = std::get_if<std::vector<std::string>>(&web)) {
    for (const auto& e : *errors) std::cerr << e << "\n";
    return kExitUsage;
  }
  out = std::get<WebConfig>(std::move(web));
  return std::nullopt;
}

std::string listen_summary(const Flags& flags) {
  if (flags.systemd_socket) return "systemd socket";
  std::string out;
  for (const auto& a : flags.listen_addresses) out += (out.empty() ? "" : ",") + a;
  return out;
}

HttpStart start_http_server(const Flags& flags, Metrics& metrics, CheckLoop& loop,
                            std::optional<WebConfig> web) {
  HttpStart out;
  HttpOptions http;
  http.listen_addresses = flags.listen_addresses;
  http.systemd_socket = flags.systemd_socket;
  http.telemetry_path = flags.telemetry_path;
  http.enable_lifecycle = flags.enable_lifecycle;
  if (!web) {
    if (auto failed = load_web_config(flags, web)) {
      out.exit_code = failed;
      return out;
    }
  }
  http.web_config = std::move(web);
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
  metrics.add_collectable(server->self_metrics());
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
