#include "export/http_server.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace mg {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

struct Reply {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
};

// A tiny HTTP/1.0 client, so the test depends on nothing but a socket.
Reply request(int port, const std::string& method, const std::string& path,
              const std::string& extra_headers = "") {
  Reply r;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return r;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return r;
  }
  const std::string req = method + " " + path + " HTTP/1.0\r\nHost: localhost\r\n" + extra_headers +
                          "Content-Length: 0\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return r;
  }
  std::string all;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) all.append(buf, static_cast<size_t>(n));
  close(fd);
  const auto split = all.find("\r\n\r\n");
  if (split == std::string::npos) return r;
  r.head = all.substr(0, split);
  r.body = all.substr(split + 4);
  if (r.head.rfind("HTTP/1.", 0) == 0 && r.head.size() > 12)
    r.status = std::stoi(r.head.substr(9, 3));
  return r;
}

// Sends `bytes` exactly as given and returns everything the server answered.
std::string exchange(int port, const std::string& bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string all;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size())) {
    char buf[4096];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) all.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return all;
}

struct Fixture {
  std::atomic<bool> healthy{true};
  std::atomic<int> reloads{0};
  ReloadOutcome outcome{true, ""};
  std::unique_ptr<HttpServer> server;

  void start(HttpOptions options = {}) {
    if (options.listen_addresses == std::vector<std::string>{":9756"}) {
      options.listen_addresses = {"127.0.0.1:0"};
    }
    HttpHandlers h;
    h.metrics = [] { return std::string("# HELP up x\n# TYPE up gauge\nup 1\n"); };
    h.healthy = [this] { return healthy.load(); };
    h.reload = [this] {
      ++reloads;
      return outcome;
    };
    server = std::make_unique<HttpServer>(std::move(options), std::move(h));
    server->start();
  }
  void start_with(WebConfig web) {
    HttpOptions o;
    o.web_config = std::move(web);
    start(std::move(o));
  }
  int port() const { return server->port(); }
};

// A server with the default options for each test: stop() is prompt.
class HttpServerExport : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.start();
    ASSERT_GT(server_.port(), 0);
  }
  Fixture server_;
};

TEST_F(HttpServerExport, ServesMetricsHealthAndIndex) {
  Fixture& f = server_;

  Reply m = request(f.port(), "GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_THAT(m.head, HasSubstr("Content-Type: text/plain; version=0.0.4; charset=utf-8"));
  EXPECT_EQ(m.body, "# HELP up x\n# TYPE up gauge\nup 1\n");

  Reply head = request(f.port(), "HEAD", "/metrics");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");

  Reply h = request(f.port(), "GET", "/healthz");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, "ok\n");
  f.healthy = false;
  EXPECT_EQ(request(f.port(), "GET", "/healthz").status, 503);

  Reply index = request(f.port(), "GET", "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_THAT(index.head, HasSubstr("text/html"));
  EXPECT_THAT(index.body, HasSubstr("href=\"/metrics\""));
  EXPECT_THAT(index.body, HasSubstr("href=\"/healthz\""));
}

TEST_F(HttpServerExport, UnknownPathIs404WrongMethodIs405) {
  Fixture& f = server_;
  EXPECT_EQ(request(f.port(), "GET", "/nope").status, 404);
  EXPECT_EQ(request(f.port(), "GET", "/metrics/extra").status, 404);
  // No file is ever served, whatever the path.
  EXPECT_EQ(request(f.port(), "GET", "/etc/passwd").status, 404);
  EXPECT_EQ(request(f.port(), "GET", "/../../etc/passwd").status, 404);
  EXPECT_EQ(request(f.port(), "GET", "/index.html").status, 404);

  Reply post = request(f.port(), "POST", "/metrics");
  EXPECT_EQ(post.status, 405);
  EXPECT_THAT(post.head, HasSubstr("Allow: GET, HEAD"));
  EXPECT_EQ(request(f.port(), "DELETE", "/healthz").status, 405);
  Reply get_reload = request(f.port(), "GET", "/-/reload");
  EXPECT_EQ(get_reload.status, 405);
  EXPECT_THAT(get_reload.head, HasSubstr("Allow: POST"));
}

TEST_F(HttpServerExport, GetWithABodyIs400) {
  Fixture& f = server_;
  for (const char* req : {
           "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
           "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5\r\nhello\r\n0\r\n\r\n",
           "HEAD /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
       }) {
    const std::string reply = exchange(f.port(), req);
    EXPECT_THAT(reply, StartsWith("HTTP/1.1 400 ")) << req;
    EXPECT_THAT(reply, Not(HasSubstr("up 1"))) << req;
  }
  // An explicit empty body is no body.
  EXPECT_THAT(exchange(f.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
              StartsWith("HTTP/1.1 200 "));
}

TEST_F(HttpServerExport, MalformedHeadsAreRefusedBeforeAnyHandler) {
  Fixture& f = server_;
  struct Case {
    const char* what;
    std::string request;
    const char* status_line;
  };
  const std::vector<Case> cases = {
      {"unknown method", "BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 "},
      {"unknown version", "GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n", "HTTP/1.1 505 "},
      {"absolute-form", "GET http://evil/metrics HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 "},
      {"asterisk-form", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 "},
      {"head over 16 KiB",
       "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(17 * 1024, 'a') + "\r\n\r\n",
       "HTTP/1.1 400 "},
  };
  for (const Case& c : cases) {
    const std::string reply = exchange(f.port(), c.request);
    EXPECT_THAT(reply, StartsWith(c.status_line)) << c.what;
    EXPECT_THAT(reply, HasSubstr("Connection: close")) << c.what;
    EXPECT_THAT(reply, Not(HasSubstr("up 1"))) << c.what;
  }
  // A head just under the limit, and a query string, are fine.
  EXPECT_THAT(exchange(f.port(), "GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\nX-Big: " +
                                     std::string(15 * 1024, 'a') + "\r\n\r\n"),
              StartsWith("HTTP/1.1 200 "));
}

TEST_F(HttpServerExport, ReloadNeedsLifecycle) {
  Fixture& f = server_;
  Reply r = request(f.port(), "POST", "/-/reload");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "Lifecycle API is not enabled.\n");
  EXPECT_EQ(f.reloads, 0);
}

TEST(HttpServerLifecycle, CustomPathAndReloadCallsTheHandler) {
  Fixture f;
  HttpOptions o;
  o.enable_lifecycle = true;
  o.telemetry_path = "/custom/metrics";
  f.start(o);
  EXPECT_EQ(request(f.port(), "GET", "/custom/metrics").status, 200);
  EXPECT_EQ(request(f.port(), "GET", "/metrics").status, 404);
  EXPECT_THAT(request(f.port(), "GET", "/").body, HasSubstr("href=\"/custom/metrics\""));

  EXPECT_EQ(request(f.port(), "POST", "/-/reload").status, 200);
  EXPECT_EQ(f.reloads, 1);
  f.outcome = {false, "memoryguard.yaml:3:5: rules[0].limit: must be > 0"};
  Reply bad = request(f.port(), "POST", "/-/reload");
  EXPECT_EQ(bad.status, 500);
  EXPECT_THAT(bad.body, HasSubstr("memoryguard.yaml:3:5: rules[0].limit: must be > 0"));
  EXPECT_EQ(f.reloads, 2);
}

// A reload blocks until the check loop has reloaded; scrapes go on meanwhile.
TEST(HttpServerLifecycle, ABlockedReloadDoesNotHoldUpScrapes) {
  Fixture f;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> reloading{false};
  HttpOptions o;
  o.enable_lifecycle = true;
  o.listen_addresses = {"127.0.0.1:0"};
  HttpHandlers h;
  h.metrics = [] { return std::string("up 1\n"); };
  h.healthy = [] { return true; };
  h.reload = [&] {
    reloading = true;
    released.wait();
    return ReloadOutcome{true, ""};
  };
  f.server = std::make_unique<HttpServer>(std::move(o), std::move(h));
  f.server->start();
  std::thread reload([&] { EXPECT_EQ(request(f.port(), "POST", "/-/reload").status, 200); });
  while (!reloading) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(request(f.port(), "GET", "/metrics").status, 200);
    EXPECT_EQ(request(f.port(), "GET", "/healthz").status, 200);
  }
  release.set_value();
  reload.join();
}

// Held connections cost no thread and do not delay stop(), which closes them.
TEST(HttpServerLifecycle, StopClosesHeldConnectionsAndIsSafeTwice) {
  Fixture f;
  f.start();
  const int port = f.port();
  std::vector<int> held;
  for (int i = 0; i < 20; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    if (i % 2 == 0) {
      ASSERT_EQ(write(fd, "GET /met", 8), 8);  // a head never finished
    }
    held.push_back(fd);
  }
  EXPECT_EQ(request(port, "GET", "/healthz").status, 200);
  const auto t0 = std::chrono::steady_clock::now();
  f.server->stop();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(seconds, 1.0) << "stop() should not wait for anything";  // about a millisecond
  EXPECT_EQ(f.server->port(), 0);
  for (int fd : held) {
    timeval tv{1, 0};  // well under the 3s head deadline: it was stop() that closed them
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c;
    EXPECT_EQ(read(fd, &c, 1), 0) << "a held connection was left open";
    close(fd);
  }
  f.server->stop();
  EXPECT_EQ(request(port, "GET", "/healthz").status, 0) << "still listening";
}

// Cost 4 keeps the tests quick; a real web config has 10 or more.
std::string bcrypt(const std::string& password, int cost = 4) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", cost, nullptr, 0, salt, sizeof salt) == nullptr) return {};
  crypt_data data{};
  const char* out = crypt_r(password.c_str(), salt, &data);
  return out ? out : "";
}

// A web config as loaded from a file holding `yaml`; nullopt if it did not load.
std::optional<WebConfig> web_config_from(const std::string& yaml) {
  char tmpl[] = "/tmp/mg_http_test_XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return std::nullopt;
  const std::string path = std::string(tmpl) + "/web.yml";
  std::ofstream(path) << yaml;
  auto loaded = WebConfig::load(path);
  std::filesystem::remove_all(tmpl);
  if (!std::holds_alternative<WebConfig>(loaded)) return std::nullopt;
  return std::get<WebConfig>(std::move(loaded));
}

TEST(HttpServerAuth, BasicAuthGuardsEveryRoute) {
  auto web = web_config_from("basic_auth_users:\n  alice: " + bcrypt("pw") +
                             "\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n");
  ASSERT_TRUE(web);
  Fixture f;
  HttpOptions o;
  o.web_config = std::move(*web);
  o.enable_lifecycle = true;
  f.start(o);
  for (const char* p : {"/metrics", "/", "/nope"}) {
    Reply r = request(f.port(), "GET", p);
    EXPECT_EQ(r.status, 401) << p;
    EXPECT_THAT(r.head, HasSubstr("WWW-Authenticate: Basic realm=\"memoryguard\"")) << p;
  }
  // Probes carry no credentials: /healthz answers without them.
  EXPECT_EQ(request(f.port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(request(f.port(), "POST", "/-/reload").status, 401);
  EXPECT_EQ(f.reloads, 0);

  // alice:pw and alice:wrong in base64.
  const std::string good = "Authorization: Basic YWxpY2U6cHc=\r\n";
  const std::string bad = "Authorization: Basic YWxpY2U6d3Jvbmc=\r\n";
  Reply ok = request(f.port(), "GET", "/metrics", good);
  EXPECT_EQ(ok.status, 200);
  EXPECT_THAT(ok.head, HasSubstr("X-Frame-Options: deny"));
  EXPECT_EQ(request(f.port(), "GET", "/metrics", bad).status, 401);
  EXPECT_EQ(request(f.port(), "GET", "/metrics", "Authorization: Basic !!!\r\n").status, 401);
  EXPECT_EQ(request(f.port(), "GET", "/metrics", "Authorization: Bearer YWxpY2U6cHc=\r\n").status,
            401);
  EXPECT_EQ(request(f.port(), "GET", "/nope", good).status, 404);
  EXPECT_EQ(request(f.port(), "POST", "/-/reload", good).status, 200);
  EXPECT_EQ(f.reloads, 1);
}

// exporter-toolkit's rate_limit: 429 once the bucket is empty, counted once
// per request even when the answer needs bcrypt on the slow lane. /healthz
// is not limited: a scrape storm must not fail the probes.
TEST(HttpServerAuth, RateLimitRefusesPastItsBurstButNeverTheProbes) {
  auto web = web_config_from(
      "rate_limit:\n  interval: 1h\n  burst: 3\nbasic_auth_users:\n  alice: " + bcrypt("pw") +
      "\n");
  ASSERT_TRUE(web);
  Fixture f;
  f.start_with(std::move(*web));
  const std::string good = "Authorization: Basic YWxpY2U6cHc=\r\n";  // alice:pw
  // The first needs bcrypt (quick lane, then slow lane): one token only.
  EXPECT_EQ(request(f.port(), "GET", "/metrics", good).status, 200);
  EXPECT_EQ(request(f.port(), "GET", "/metrics", good).status, 200);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(request(f.port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(request(f.port(), "GET", "/nope", good).status, 404);
  Reply limited = request(f.port(), "GET", "/metrics", good);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.body, "Too Many Requests\n");
  EXPECT_EQ(request(f.port(), "GET", "/healthz").status, 200);
}

TEST(HttpServerAuth, AFloodOfWrongPasswordsDoesNotHoldUpARememberedLogin) {
  // At cost 10, as a real web config has it: a wrong password costs the
  // server ~100 ms of a core.
  auto web = web_config_from("basic_auth_users:\n  alice: " + bcrypt("pw", 10) + "\n");
  ASSERT_TRUE(web);
  Fixture f;
  f.start_with(std::move(*web));
  const std::string good = "Authorization: Basic YWxpY2U6cHc=\r\n";     // alice:pw
  const std::string bad = "Authorization: Basic YWxpY2U6d3Jvbmc=\r\n";  // alice:wrong
  ASSERT_EQ(request(f.port(), "GET", "/metrics", good).status, 200);    // now remembered

  // Twelve clients send wrong passwords back to back: each costs a bcrypt,
  // and they run one at a time, so the slow lane stays a second behind.
  std::atomic<bool> flooding{true};
  std::atomic<int> refused{0};
  std::vector<std::thread> flood;
  for (int i = 0; i < 12; ++i) {
    flood.emplace_back([&] {
      while (flooding) {
        const int status = request(f.port(), "GET", "/metrics", bad).status;
        if (status == 401 || status == 503) ++refused;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  double worst_ms = 0;
  for (int i = 0; i < 10; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(request(f.port(), "GET", "/metrics", good).status, 200);
    worst_ms = std::max(
        worst_ms,
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  flooding = false;
  for (auto& t : flood) t.join();
  std::printf("remembered login during a wrong-password flood: worst %.1f ms (%d refused)\n",
              worst_ms, refused.load());
  EXPECT_GT(refused.load(), 0) << "the flood never got an answer";
  // Queued behind the flood's bcrypts it would wait for up to twelve of them
  // (~60-100 ms each here, one at a time); the quick lane answers in a few
  // ms. Loose for a sanitizer build on a busy machine.
  EXPECT_LT(worst_ms, 250.0);
}

TEST(HttpServerAuth, ChangedWebConfigFileTakesEffectWithoutRestart) {
  char tmpl[] = "/tmp/mg_http_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string path = dir + "/web.yml";
  std::ofstream(path) << "basic_auth_users:\n  alice: " << bcrypt("pw") << "\n";
  auto loaded = WebConfig::load(path);
  ASSERT_TRUE(std::holds_alternative<WebConfig>(loaded));
  Fixture f;
  HttpOptions o;
  o.web_config = std::get<WebConfig>(loaded);
  f.start(o);
  const std::string old_pw = "Authorization: Basic YWxpY2U6cHc=\r\n";  // alice:pw
  const std::string new_pw = "Authorization: Basic YWxpY2U6bmV3\r\n";  // alice:new
  EXPECT_EQ(request(f.port(), "GET", "/metrics", old_pw).status, 200);
  EXPECT_EQ(request(f.port(), "GET", "/metrics", new_pw).status, 401);

  std::ofstream(path + ".tmp") << "basic_auth_users:\n  alice: " << bcrypt("new") << "\n";
  ASSERT_EQ(std::rename((path + ".tmp").c_str(), path.c_str()), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (request(f.port(), "GET", "/metrics", new_pw).status != 200 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(request(f.port(), "GET", "/metrics", new_pw).status, 200);
  EXPECT_EQ(request(f.port(), "GET", "/metrics", old_pw).status, 401);
  f.server.reset();
  std::filesystem::remove_all(dir);
}

TEST_F(HttpServerExport, PortTakenThrowsNamingTheAddress) {
  Fixture& first = server_;
  const std::string address = "127.0.0.1:" + std::to_string(first.port());
  HttpOptions o;
  o.listen_addresses = {address};
  HttpServer second(o, {});
  try {
    second.start();
    FAIL() << "start() on a taken port did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(address));
  }
  // The first server is unharmed.
  EXPECT_EQ(request(first.port(), "GET", "/healthz").status, 200);
}

TEST_F(HttpServerExport, BadListenAddressesThrow) {
  for (const char* address : {"9756", "127.0.0.1:http", "127.0.0.1:99999", "a,b:1", ":1,2",
                              "127.0.0.1:80s", "[::1", "host name:1"}) {
    HttpOptions o;
    o.listen_addresses = {address};
    HttpServer s(o, {});
    try {
      s.start();
      ADD_FAILURE() << address << " was accepted";
    } catch (const std::invalid_argument& e) {  // a bad flag, not a runtime failure
      EXPECT_THAT(e.what(), HasSubstr(address));
    }
  }
}

TEST(HttpServerAddress, AcceptsGoStyleAddresses) {
  for (const char* address : {":0", "localhost:0", "[::]:0"}) {
    Fixture f;
    HttpOptions o;
    o.listen_addresses = {address};
    f.start(o);
    EXPECT_EQ(request(f.port(), "GET", "/healthz").status, 200) << address;
  }
}

// Sends a /healthz request to [::1]:port; true when it is answered 200.
bool healthy_over_ipv6(int port) {
  const int fd = socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_port = htons(static_cast<uint16_t>(port));
  addr.sin6_addr = in6addr_loopback;
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string all;
  const std::string req = "GET /healthz HTTP/1.0\r\n\r\n";
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
    char buf[1024];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) all.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return all.rfind("HTTP/1.1 200 ", 0) == 0;
}

bool have_ipv6_loopback() {
  const int fd = socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

TEST(HttpServerAddress, EveryAddressMeansIPv4AndIPv6) {
  if (!have_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback here";
  for (const char* address : {":0", "[::]:0"}) {
    Fixture f;
    HttpOptions o;
    o.listen_addresses = {address};
    f.start(o);
    EXPECT_EQ(request(f.port(), "GET", "/healthz").status, 200) << address << " over IPv4";
    EXPECT_TRUE(healthy_over_ipv6(f.port())) << address << " over IPv6";
  }
  Fixture only6;
  HttpOptions o;
  o.listen_addresses = {"[::1]:0"};
  only6.start(o);
  EXPECT_TRUE(healthy_over_ipv6(only6.port()));
  EXPECT_EQ(request(only6.port(), "GET", "/healthz").status, 0) << "[::1] is not 127.0.0.1";
}

}  // namespace
}  // namespace mg
