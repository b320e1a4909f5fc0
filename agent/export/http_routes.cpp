#include "export/http_routes.h"

#include <cctype>
#include <exception>
#include <memory>
#include <string_view>

#include "export/rate_limiter.h"
#include "util/log.h"

namespace mg {
namespace {

constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kTextContentType = "text/plain; charset=utf-8";

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

// Credentials from the Authorization header, checked against the web config
// in force for this request.
AuthResult authorize(std::string_view header, const WebConfig& config, Bcrypt bcrypt) {
  if (!config.auth_required()) return AuthResult::kGranted;
  if (!iequals_prefix(header, "basic ")) return AuthResult::kDenied;
  header.remove_prefix(6);
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  const std::string decoded = base64_decode(header);
  const auto colon = decoded.find(':');
  if (colon == std::string::npos) return AuthResult::kDenied;
  return config.authenticate(decoded.substr(0, colon), decoded.substr(colon + 1), bcrypt);
}

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

HttpRoutes::HttpRoutes(const HttpOptions& options, HttpHandlers handlers, const LiveWebConfig* web)
    : telemetry_path_(options.telemetry_path),
      enable_lifecycle_(options.enable_lifecycle),
      handlers_(std::move(handlers)),
      web_(web) {
  const std::string metrics = html_escape(telemetry_path_);
  index_page_ =
      "<!DOCTYPE html>\n<html><head><title>memoryguard</title></head><body>\n"
      "<h1>memoryguard</h1>\n<ul>\n<li><a href=\"" +
      metrics + "\">" + metrics +
      "</a></li>\n<li><a href=\"/healthz\">/healthz</a></li>\n</ul>\n</body></html>\n";
}

std::optional<HttpResponse> HttpRoutes::answer(const HttpRequest& request, Bcrypt bcrypt) const {
  // One snapshot per request, so a web config reload mid-request cannot mix
  // the credentials of one file with the headers of another.
  const std::shared_ptr<const WebConfig> config = web_ != nullptr ? web_->current() : nullptr;
  std::optional<HttpResponse> response;
  try {
    response = route(request, config.get(), bcrypt);
    if (!response) return std::nullopt;
  } catch (const std::exception& e) {
    log::error("http handler failed", {{"path", request.path}, {"error", e.what()}});
    response = HttpResponse{500, kTextContentType, "internal error\n", {}};
  }
  return finish(std::move(*response), config.get());
}

HttpResponse HttpRoutes::refuse(int status, std::string text) const {
  const std::shared_ptr<const WebConfig> config = web_ != nullptr ? web_->current() : nullptr;
  return finish({status, kTextContentType, std::move(text), {}}, config.get());
}

HttpResponse HttpRoutes::finish(HttpResponse response, const WebConfig* config) const {
  response.headers.emplace_back("Cache-Control", "no-store");
  if (config != nullptr) {
    for (const auto& header : config->headers()) response.headers.push_back(header);
  }
  return response;
}

std::optional<HttpResponse> HttpRoutes::route(const HttpRequest& request, const WebConfig* config,
                                              Bcrypt bcrypt) const {
  const std::string_view path = request.path;
  const std::string_view method = request.method;
  const bool get = method == "GET" || method == "HEAD";
  // No route reads a GET body; one that comes anyway is a confused or hostile
  // client (request smuggling through a proxy), so refuse it before any
  // bcrypt is spent. The body is never read: the connection closes.
  if (get && request.has_body) {
    return HttpResponse{400, kTextContentType, "a GET or HEAD request carries no body\n", {}};
  }
  // Kubelet probes carry no credentials, and "the loop is alive" tells an
  // attacker nothing: /healthz is the one route open without auth. Nor does
  // it count against rate_limit: a scrape storm must not fail the probes and
  // get the agent restarted.
  if (path != "/healthz" && config != nullptr && !request.rate_checked &&
      config->rate_limiter() != nullptr && !config->rate_limiter()->allow()) {
    return HttpResponse{429, kTextContentType, "Too Many Requests\n", {}};
  }
  if (path != "/healthz" && config != nullptr) {
    switch (authorize(request.authorization, *config, bcrypt)) {
      case AuthResult::kGranted:
        break;
      case AuthResult::kNeedsBcrypt:
        return std::nullopt;
      case AuthResult::kDenied:
        return HttpResponse{401,
                            kTextContentType,
                            "Unauthorized\n",
                            {{"WWW-Authenticate", "Basic realm=\"memoryguard\""}}};
      case AuthResult::kBusy:
        return HttpResponse{503,
                            kTextContentType,
                            "too many password checks at once; try again\n",
                            {{"Retry-After", "1"}}};
    }
  }
  auto not_allowed = [](const char* allow) {
    return HttpResponse{405, kTextContentType, "Method Not Allowed\n", {{"Allow", allow}}};
  };
  if (path == telemetry_path_) {
    if (!get) return not_allowed("GET, HEAD");
    return HttpResponse{200, kMetricsContentType, handlers_.metrics(), {}};
  }
  if (path == "/healthz") {
    if (!get) return not_allowed("GET, HEAD");
    if (handlers_.healthy()) return HttpResponse{200, kTextContentType, "ok\n", {}};
    return HttpResponse{503, kTextContentType, "check loop is not running\n", {}};
  }
  if (path == "/") {
    if (!get) return not_allowed("GET, HEAD");
    return HttpResponse{200, "text/html; charset=utf-8", index_page_, {}};
  }
  if (path == "/-/reload") {
    // Prometheus takes PUT as well as POST here.
    if (method != "POST" && method != "PUT") return not_allowed("POST, PUT");
    if (!enable_lifecycle_) {
      return HttpResponse{403, kTextContentType, "Lifecycle API is not enabled.\n", {}};
    }
    const ReloadOutcome outcome = handlers_.reload();
    if (outcome.ok) return HttpResponse{200, kTextContentType, "ok\n", {}};
    return HttpResponse{
        500, kTextContentType, "failed to reload config: " + outcome.message + "\n", {}};
  }
  return HttpResponse{404, kTextContentType, "Not Found\n", {}};
}

}  // namespace mg
