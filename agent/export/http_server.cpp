#include "export/http_server.h"

#include <civetweb.h>

#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "util/log.h"

namespace mg {
namespace {

constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kTextContentType = "text/plain; charset=utf-8";
// civetweb (1.15, Debian 12) gives each connection a worker thread from a
// fixed pool for as long as the connection lasts, so held-open connections
// (idle, or slowloris: a header byte a second) starve scrapes. Measured with
// the former 4 threads and 10s timeout: 200 idle connections kept a scrape
// waiting more than 60s, 20 slowloris ones 49s. The defence is two numbers:
//  - request_timeout_ms bounds the whole wait for the request head (civetweb
//    counts it from accept, not per read, so dripping bytes does not reset it)
//    and each write. Prometheus sends its request at once and metrics fit in
//    the socket buffers, so 3s is generous for a real client.
//  - num_threads: the connections beyond it queue, and each round of held
//    ones ahead of a scrape costs it one timeout. With 128 workers, 200 held
//    connections delay a scrape by about one round (~3s, within Prometheus'
//    10s scrape timeout). An idle worker costs ~20 KiB of RSS (measured: 4
//    threads 6.8 MiB RSS, 128 about 10.5 MiB, 256 11.8 MiB).
// Keep-alive stays off: an idle keep-alive connection would hold a worker
// between scrapes, and a new TCP connection per 15s scrape costs nothing.
// The queue and the backlog hold a burst of connections instead of having
// the kernel drop SYNs, which would add seconds of retransmit to a scrape.
// No linger setting: on Linux civetweb closes without draining the client.
constexpr const char* kNumThreads = "128";
constexpr const char* kRequestTimeoutMs = "3000";
constexpr const char* kConnectionQueue = "512";
constexpr const char* kListenBacklog = "512";
// The whole request head (line and headers). Anything larger is civetweb's
// 400 before a handler runs; a scrape's head is a few hundred bytes.
constexpr const char* kMaxRequestSize = "16384";
constexpr unsigned kFeatureIpv6 = 8;

// civetweb reports why a bind failed only through its log callback, and only
// on the thread that calls mg_start2; this collects it for the exception.
thread_local std::string* t_start_log = nullptr;

int on_log_message(const mg_connection*, const char* message) {
  if (t_start_log != nullptr) {
    if (!t_start_log->empty()) t_start_log->append("; ");
    t_start_log->append(message);
  } else {
    log::warn("http server error", {{"error", message}});
  }
  return 1;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool valid_host(std::string_view s) {
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') return false;
  }
  return !s.empty();
}

// A malformed address is a bad flag (exit 2), unlike a port that is taken.
[[noreturn]] void bad_address(const std::string& address, const std::string& why) {
  throw std::invalid_argument("--web.listen-address: \"" + address + "\": " + why);
}

// Go's address forms (":9756", "host:9756", "[::1]:9756") to civetweb's
// listening_ports syntax, where a comma would start a second port and a
// trailing 's' or 'r' would mean TLS or redirect: so validate, not pass through.
std::string to_civetweb_ports(const std::string& address) {
  std::string host;
  std::string port;
  bool ipv6 = false;
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find("]:");
    if (close == std::string::npos) bad_address(address, "expected [ipv6]:port");
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
    ipv6 = true;
    for (char c : host) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        bad_address(address, "not an IPv6 address in brackets");
      }
    }
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) bad_address(address, "expected host:port or :port");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (!host.empty() && !valid_host(host)) bad_address(address, "not a host name or IPv4 address");
  }
  if (!all_digits(port) || port.size() > 5 || std::stoul(port) > 65535) {
    bad_address(address, "the port must be a number from 0 to 65535");
  }
  const bool have_ipv6 = mg_check_feature(kFeatureIpv6) != 0;
  if (ipv6) {
    if (!have_ipv6) {
      bad_address(address,
                  "this build's civetweb has no IPv6 support; listen on an IPv4 address, or on "
                  ":" +
                      port + " for every IPv4 address");
    }
    // civetweb spells "every address, IPv4 and IPv6" as +port.
    if (host == "::") return "+" + port;
    return "[" + host + "]:" + port;
  }
  if (host.empty()) return have_ipv6 ? "+" + port : port;
  return host + ":" + port;
}

std::string base64_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = value(c);
    if (v < 0) return {};
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

struct HttpServer::Impl {
  HttpOptions options;
  HttpHandlers handlers;
  mg_context* ctx = nullptr;
  std::string root_page;
  std::unique_ptr<LiveWebConfig> web;  // null without --web.config.file

  struct Response {
    int status = 200;
    std::string content_type = kTextContentType;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
  };

  static int on_request(mg_connection* conn) {
    auto* self = static_cast<Impl*>(mg_get_user_data(mg_get_context(conn)));
    const mg_request_info* ri = mg_get_request_info(conn);
    Response r;
    // One snapshot per request, so a reload mid-request cannot mix configs.
    const std::shared_ptr<const WebConfig> config = self->web ? self->web->current() : nullptr;
    try {
      r = self->route(conn, ri, config);
    } catch (const std::exception& e) {
      // Nothing may unwind into civetweb's C frames.
      log::error("http handler failed", {{"path", ri->local_uri}, {"error", e.what()}});
      r = Response{500, kTextContentType, "internal error\n", {}};
    }
    self->send(conn, ri, r, config.get());
    return r.status;
  }

  // Credentials from the Authorization header, checked against the web
  // config in force now.
  AuthResult authorize(mg_connection* conn, const WebConfig& config) const {
    if (!config.auth_required()) return AuthResult::kGranted;
    const char* header = mg_get_header(conn, "Authorization");
    if (header == nullptr) return AuthResult::kDenied;
    std::string_view value(header);
    if (!iequals_prefix(value, "basic ")) return AuthResult::kDenied;
    value.remove_prefix(6);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    const std::string decoded = base64_decode(value);
    const auto colon = decoded.find(':');
    if (colon == std::string::npos) return AuthResult::kDenied;
    return config.authenticate(decoded.substr(0, colon), decoded.substr(colon + 1));
  }

  Response route(mg_connection* conn, const mg_request_info* ri,
                 const std::shared_ptr<const WebConfig>& config) const {
    const std::string_view path = ri->local_uri != nullptr ? ri->local_uri : "";
    const std::string_view method = ri->request_method != nullptr ? ri->request_method : "";
    const bool get = method == "GET" || method == "HEAD";
    // No route reads a GET body; one that comes anyway is a confused or
    // hostile client (request smuggling through a proxy), so refuse it before
    // any bcrypt is spent. The body is never read: the connection closes.
    if (get && (ri->content_length > 0 || mg_get_header(conn, "Transfer-Encoding") != nullptr)) {
      return {400, kTextContentType, "a GET or HEAD request carries no body\n", {}};
    }
    // Kubelet probes carry no credentials, and "the loop is alive" tells an
    // attacker nothing: /healthz is the one route open without auth.
    if (path != "/healthz" && config) {
      switch (authorize(conn, *config)) {
        case AuthResult::kGranted:
          break;
        case AuthResult::kDenied:
          return {401,
                  kTextContentType,
                  "Unauthorized\n",
                  {{"WWW-Authenticate", "Basic realm=\"memoryguard\""}}};
        case AuthResult::kBusy:
          return {503,
                  kTextContentType,
                  "too many password checks at once; try again\n",
                  {{"Retry-After", "1"}}};
      }
    }
    auto not_allowed = [](const char* allow) {
      return Response{405, kTextContentType, "Method Not Allowed\n", {{"Allow", allow}}};
    };
    if (path == options.telemetry_path) {
      if (!get) return not_allowed("GET, HEAD");
      return {200, kMetricsContentType, handlers.metrics(), {}};
    }
    if (path == "/healthz") {
      if (!get) return not_allowed("GET, HEAD");
      if (handlers.healthy()) return {200, kTextContentType, "ok\n", {}};
      return {503, kTextContentType, "check loop is not running\n", {}};
    }
    if (path == "/") {
      if (!get) return not_allowed("GET, HEAD");
      return {200, "text/html; charset=utf-8", root_page, {}};
    }
    if (path == "/-/reload") {
      // Prometheus takes PUT as well as POST here.
      if (method != "POST" && method != "PUT") return not_allowed("POST, PUT");
      if (!options.enable_lifecycle) {
        return {403, kTextContentType, "Lifecycle API is not enabled.\n", {}};
      }
      const ReloadOutcome outcome = handlers.reload();
      if (outcome.ok) return {200, kTextContentType, "ok\n", {}};
      return {500, kTextContentType, "failed to reload config: " + outcome.message + "\n", {}};
    }
    return {404, kTextContentType, "Not Found\n", {}};
  }

  void send(mg_connection* conn, const mg_request_info* ri, const Response& r,
            const WebConfig* config) const {
    mg_response_header_start(conn, r.status);
    mg_response_header_add(conn, "Content-Type", r.content_type.c_str(), -1);
    const std::string length = std::to_string(r.body.size());
    mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    for (const auto& [name, value] : r.headers) {
      mg_response_header_add(conn, name.c_str(), value.c_str(), -1);
    }
    if (config != nullptr) {
      for (const auto& [name, value] : config->headers()) {
        mg_response_header_add(conn, name.c_str(), value.c_str(), -1);
      }
    }
    mg_response_header_send(conn);
    if (std::strcmp(ri->request_method, "HEAD") != 0 && !r.body.empty()) {
      mg_write(conn, r.body.data(), r.body.size());
    }
  }
};

namespace {

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

HttpServer::HttpServer(HttpOptions options, HttpHandlers handlers)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handlers = std::move(handlers);
  if (impl_->options.web_config) {
    impl_->web = std::make_unique<LiveWebConfig>(std::move(*impl_->options.web_config));
    impl_->options.web_config.reset();
  }
  const std::string metrics = html_escape(impl_->options.telemetry_path);
  impl_->root_page =
      "<!DOCTYPE html>\n<html><head><title>memoryguard</title></head><body>\n"
      "<h1>memoryguard</h1>\n<ul>\n<li><a href=\"" +
      metrics + "\">" + metrics +
      "</a></li>\n<li><a href=\"/healthz\">/healthz</a></li>\n</ul>\n</body></html>\n";
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  if (impl_->ctx != nullptr) return;
  const std::string& address = impl_->options.listen_address;
  const std::string& path = impl_->options.telemetry_path;
  if (path.empty() || path.front() != '/') {
    throw std::invalid_argument("telemetry path \"" + path + "\" must start with '/'");
  }
  const std::string ports = to_civetweb_ports(address);

  static std::once_flag init_once;
  std::call_once(init_once, [] { mg_init_library(0); });

  mg_callbacks callbacks{};
  callbacks.begin_request = &Impl::on_request;
  callbacks.log_message = &on_log_message;
  // No document_root: civetweb has nothing to serve files from, and every
  // request is answered by begin_request anyway.
  const char* config[] = {"listening_ports",
                          ports.c_str(),
                          "num_threads",
                          kNumThreads,
                          "request_timeout_ms",
                          kRequestTimeoutMs,
                          "enable_keep_alive",
                          "no",
                          "connection_queue",
                          kConnectionQueue,
                          "listen_backlog",
                          kListenBacklog,
                          "max_request_size",
                          kMaxRequestSize,
                          nullptr};
  mg_init_data init{&callbacks, impl_.get(), config};
  char text[256] = "";
  unsigned code = 0;
  mg_error_data error{&code, text, sizeof text};

  std::string start_log;
  t_start_log = &start_log;
  impl_->ctx = mg_start2(&init, &error);
  t_start_log = nullptr;
  if (impl_->ctx == nullptr) {
    std::string why = start_log.empty() ? text : start_log;
    if (why.empty()) why = "civetweb could not start";
    throw std::runtime_error("cannot listen on \"" + address + "\": " + why);
  }
  if (impl_->web) impl_->web->start();
  log::info("listening", {{"address", address}, {"port", port()}, {"telemetry_path", path}});
}

void HttpServer::stop() {
  if (impl_ && impl_->web) impl_->web->stop();
  if (impl_ && impl_->ctx != nullptr) {
    mg_stop(impl_->ctx);
    impl_->ctx = nullptr;
  }
}

int HttpServer::port() const {
  if (impl_->ctx == nullptr) return 0;
  mg_server_port ports[4]{};
  const int n = mg_get_server_ports(impl_->ctx, 4, ports);
  return n > 0 ? ports[0].port : 0;
}

}  // namespace mg
