#pragma once
// The HTTP endpoint: /metrics, /healthz, / and POST /-/reload (see
// HttpRoutes), served with Boost.Beast. One I/O thread holds every
// connection, so an idle or dripping one costs a socket and a small buffer,
// not a thread; the handlers (bcrypt, rendering, a blocking reload) run on a
// small pool beside it. With a web config, its file and the certificates it
// names are followed while serving (see LiveWebConfig).
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "export/web_config.h"

namespace prometheus {
class Collectable;
}

namespace mg {

struct ReloadOutcome {
  bool ok = false;
  std::string message;  // the config errors when !ok
};

struct HttpHandlers {
  std::function<std::string()> metrics;   // text exposition
  std::function<bool()> healthy;          // the check loop is alive
  std::function<ReloadOutcome()> reload;  // blocks until the loop has reloaded
};

struct HttpOptions {
  // One listener each: host:port, :port, [::1]:port, [::]:port. All of them
  // speak TLS when the web config has a tls_server_config, as in
  // exporter-toolkit.
  std::vector<std::string> listen_addresses = {":9756"};
  // The sockets systemd passed (socket activation) instead of the addresses.
  bool systemd_socket = false;
  std::string telemetry_path = "/metrics";
  bool enable_lifecycle = false;
  std::optional<WebConfig> web_config;
};

class HttpServer {
 public:
  HttpServer(HttpOptions options, HttpHandlers handlers);
  ~HttpServer();  // stops
  // Throws std::invalid_argument for a malformed address or path (a bad flag),
  // std::runtime_error naming the address when it cannot listen there (or
  // when systemd passed no usable socket).
  void start();
  // Closes every connection and waits for the handlers that are running (a
  // reload in progress finishes). Safe to call twice.
  void stop();
  // The port of the first listener once started (useful with ":0"); 0 before.
  int port() const;
  // Every listener's port, in the order of the addresses.
  std::vector<int> ports() const;
  // The endpoint's own metrics (TLS handshake failures, the certificate's
  // expiry, the web config's last re-read), for Metrics::add_collectable.
  std::shared_ptr<const prometheus::Collectable> self_metrics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mg
