#pragma once
// The HTTP endpoint wired to the check loop, for every way in: one place, so
// that what the server grows (TLS, more listen addresses) reaches the agent
// and `run` alike.
#include <memory>
#include <optional>
#include <string>

#include "cli/flags.h"
#include "engine/check_loop.h"
#include "export/http_server.h"
#include "export/metrics.h"

namespace mg {

struct HttpStart {
  std::unique_ptr<HttpServer> server;  // serving when set
  std::optional<int> exit_code;        // when it could not start (the reason printed or logged)
};

// --web.config.file, loaded (its certificates and keys read and checked)
// into `out`; the exit code when it does not load, the errors printed.
std::optional<int> load_web_config(const Flags& flags, std::optional<WebConfig>& out);

// Starts serving `flags`' listen addresses (or systemd's sockets): /metrics
// from `metrics`, /healthz and POST /-/reload from `loop`, with the web
// config `web` (loaded from the flags when not given).
HttpStart start_http_server(const Flags& flags, Metrics& metrics, CheckLoop& loop,
                            std::optional<WebConfig> web = std::nullopt);

// Where it listens, for the start-up log line.
std::string listen_summary(const Flags& flags);

}  // namespace mg
