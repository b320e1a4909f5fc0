#pragma once
// The HTTP endpoint wired to the check loop, for every way in: one place, so
// that what the server grows (TLS, more listen addresses) reaches the agent
// and `run` alike.
#include <memory>
#include <optional>

#include "cli/flags.h"
#include "engine/check_loop.h"
#include "export/http_server.h"
#include "export/metrics.h"

namespace mg {

struct HttpStart {
  std::unique_ptr<HttpServer> server;  // serving when set
  std::optional<int> exit_code;        // when it could not start (the reason printed or logged)
};

// Starts serving `flags`' listen address: /metrics from `metrics`, /healthz
// and POST /-/reload from `loop`.
HttpStart start_http_server(const Flags& flags, Metrics& metrics, CheckLoop& loop);

}  // namespace mg
