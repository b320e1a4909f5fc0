#pragma once
// What the endpoint answers, apart from how the bytes travel (http_server.cpp):
// the telemetry path, /healthz, / and POST /-/reload. Everything else is 404
// (unknown path) or 405 (wrong method), a GET with a body 400; no file is ever
// served. Basic auth and rate_limit from the web config guard every route but
// /healthz.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "export/http_server.h"

namespace mg {

struct HttpRequest {
  std::string method;  // as sent: "GET", "POST", ...
  std::string path;    // the target without its query
  std::string authorization;
  bool has_body = false;  // a Content-Length above 0, or any Transfer-Encoding
  // It took its rate_limit token already: a request asked again on the slow
  // lane (for bcrypt) must not pay twice.
  bool rate_checked = false;
};

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  // Everything but Content-Length and Connection, which the transport owns.
  std::vector<std::pair<std::string, std::string>> headers;
};

class HttpRoutes {
 public:
  // `web` may be null (no --web.config.file); it must outlive the routes.
  HttpRoutes(const HttpOptions& options, HttpHandlers handlers, const LiveWebConfig* web);

  // Runs the handlers and bcrypt, so it may block for a while: never on the
  // thread that serves the connections. Never throws. With Bcrypt::kNotHere,
  // nullopt when the answer needs a bcrypt verification: the caller asks
  // again where a slow call cannot hold up anyone else.
  std::optional<HttpResponse> answer(const HttpRequest& request,
                                     Bcrypt bcrypt = Bcrypt::kAllowed) const;
  // For a request refused before it could be routed (malformed, too large).
  HttpResponse refuse(int status, std::string text) const;

 private:
  std::optional<HttpResponse> route(const HttpRequest& request, const WebConfig* config,
                                    Bcrypt bcrypt) const;
  HttpResponse finish(HttpResponse response, const WebConfig* config) const;

  std::string telemetry_path_;
  bool enable_lifecycle_;
  HttpHandlers handlers_;
  const LiveWebConfig* web_;
  std::string index_page_;
};

}  // namespace mg
