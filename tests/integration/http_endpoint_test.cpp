// The HTTP endpoint of the real binary under abuse: connections held open
// (idle and slowloris), hostile requests, a web config that changes under it,
// and load from wrk (Debian's wrk package). TLS has its own (tls_test.cpp).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <optional>
#include <regex>
#include <thread>
#include <utility>

#include "integration/harness.h"

namespace mgt {
namespace {

// bcrypt hashes (libxcrypt, $2b$) of the passwords the tests use. Cost 4 where
// only correctness matters; cost 10, the common production cost, for load.
constexpr const char* kHashOne = "$2b$04$JuPkaurNdCbs4vB7yQez.ur1Xs39OQNGV2FkEbXvDPAzmC4D7GVba";
constexpr const char* kHashTwo = "$2b$04$Rys4hmqGI/xoTzYYjHp8C.0/6zCi9jRRHqYxhpqTKcibhlNm0dYOG";
constexpr const char* kHashS3cretCost10 =
    "$2b$10$xLJWKObddxE6jF1GrumvF.dpVNoqDTYBT1PvX4l0.r2sNZmjGkyH.";

// A raw TCP connection to the agent, for what the harness's client would
// never send: partial requests, garbage, nothing at all.
class Conn {
 public:
  explicit Conn(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~Conn() {
    if (fd_ >= 0) close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool ok() const { return fd_ >= 0; }
  bool send_all(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }
  // Everything the server sends until it closes, or until `timeout`.
  std::string read_all(Clock::duration timeout) {
    std::string out;
    read_until_closed(timeout, &out);
    return out;
  }
  // True when the server closed (EOF or reset) within `timeout`.
  bool closed_by_server(Clock::duration timeout) { return read_until_closed(timeout, nullptr); }

 private:
  bool read_until_closed(Clock::duration timeout, std::string* out) {
    const auto deadline = Clock::now() + timeout;
    char buf[65536];
    for (;;) {
      const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      const int ready = poll(&p, 1, static_cast<int>(left));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return false;
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return true;
      if (out != nullptr) out->append(buf, static_cast<std::size_t>(n));
    }
  }

  int fd_ = -1;
};

int status_of(const std::string& reply) {
  static const std::regex kStatusLine(R"(^HTTP/\d\.\d (\d{3}) )");
  std::smatch m;
  return std::regex_search(reply, m, kStatusLine) ? std::stoi(m[1]) : 0;
}

std::string rules_yaml(const std::string& match) {
  return "interval: 200ms\nrules:\n  - name: watched\n    match: " + match +
         "\n    limit: 1Gi\n    dry_run: true\n";
}

class HttpEndpointTest : public IntegrationTest {
 protected:
  // An agent watching three real processes, so scrapes carry real series.
  Agent& watching_agent(std::vector<std::string> flags = {},
                        const std::string& authorization = "") {
    for (int i = 0; i < 3; ++i) hog(4);
    Agent& agent = start_agent(write_config(rules_yaml(match_yaml())), std::move(flags));
    agent.set_authorization(authorization);
    agent.wait_for_metrics(
        [](const Scrape& s) { return s.value("memoryguard_rule_processes") == 3.0; }, 10s);
    return agent;
  }
};

// ---- held-open connections -------------------------------------------------

using HttpHeldConnections = HttpEndpointTest;

TEST_F(HttpHeldConnections, ScrapeIsAnsweredWhile200ConnectionsAreHeldOpen) {
  Agent& agent = watching_agent();
  // 150 connections that never send a byte, and 50 slowloris ones that send
  // a request line and then one header byte a second, never finishing.
  std::vector<std::unique_ptr<Conn>> idle;
  std::vector<std::unique_ptr<Conn>> slow;
  for (int i = 0; i < 150; ++i) {
    idle.push_back(std::make_unique<Conn>(agent.port()));
    ASSERT_TRUE(idle.back()->ok()) << "connection " << i;
  }
  for (int i = 0; i < 50; ++i) {
    slow.push_back(std::make_unique<Conn>(agent.port()));
    ASSERT_TRUE(slow.back()->ok());
    ASSERT_TRUE(slow.back()->send_all("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  }
  std::atomic<bool> dripping{true};
  std::thread drip([&] {
    while (dripping) {
      for (auto& c : slow) c->send_all("a");  // fails once the server hung up: fine
      sleep_for(1s);
    }
  });

  const auto t0 = Clock::now();
  Conn scrape(agent.port());
  ASSERT_TRUE(scrape.ok());
  ASSERT_TRUE(scrape.send_all("GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n"));
  const std::string reply = scrape.read_all(60s);
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("scrape while 200 connections were held: %.1f ms\n", seconds * 1000);
  EXPECT_EQ(status_of(reply), 200) << reply.substr(0, 200);
  EXPECT_NE(reply.find("memoryguard_rule_processes{rule=\"watched\"} 3"), std::string::npos);
  // One I/O thread holds every connection, so held ones do not stand between
  // a scrape and the server: a few milliseconds. (civetweb's thread per
  // connection took one 3s request timeout with 128 workers, more than 60s
  // with 4.) The bound leaves room for a loaded CI machine and sanitizers and
  // stays under the 3s head deadline: a scrape that waited for held
  // connections to time out fails.
  EXPECT_LT(seconds, 2.0);

  // The server cuts every held connection 3s after accept, however slowly it
  // drips.
  int idle_closed = 0;
  int slow_closed = 0;
  const auto deadline = Clock::now() + 20s;
  for (auto& c : idle) idle_closed += c->closed_by_server(deadline - Clock::now()) ? 1 : 0;
  for (auto& c : slow) slow_closed += c->closed_by_server(deadline - Clock::now()) ? 1 : 0;
  dripping = false;
  drip.join();
  EXPECT_EQ(idle_closed, 150);
  EXPECT_EQ(slow_closed, 50);
  EXPECT_TRUE(agent.alive());
  EXPECT_EQ(agent.get("/healthz").status, 200);
}

// ---- memory under scrapes -----------------------------------------------------

using HttpMemory = HttpEndpointTest;

// RSS and threads from /proc/PID/status.
std::optional<std::pair<double, int>> rss_and_threads(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::optional<double> rss;
  std::optional<int> threads;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("VmRSS:")) rss = std::stod(line.substr(6)) * 1024;
    if (line.starts_with("Threads:")) threads = std::stoi(line.substr(8));
  }
  if (!rss || !threads) return std::nullopt;
  return std::make_pair(*rss, *threads);
}

// With a worker thread per connection (civetweb's model, 128 of them), each
// scrape woke a worker never used before, which then kept ~30 KiB of stack
// and heap for good: RSS climbed by 4 MiB over the first 150 scrapes.
TEST_F(HttpMemory, RssStaysFlatOverThreeHundredScrapes) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a sanitizer's allocator keeps freed memory on purpose";
#endif
  Agent& agent = watching_agent();
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(agent.scrape().ok());
  const auto before = rss_and_threads(agent.pid());
  ASSERT_TRUE(before);
  for (int i = 0; i < 275; ++i) ASSERT_TRUE(agent.scrape().ok());
  const auto after = rss_and_threads(agent.pid());
  ASSERT_TRUE(after);
  std::printf("agent over 275 scrapes: rss %.2f -> %.2f MiB, %d threads\n", before->first / kMiB,
              after->first / kMiB, after->second);
  EXPECT_LT(after->first, before->first + 0.75 * kMiB) << "memory grows with scrapes";
  EXPECT_LE(after->second, 8) << "threads per connection are back";
}

// ---- hostile requests ----------------------------------------------------------

using HttpHostile = HttpEndpointTest;

TEST_F(HttpHostile, EachGetsItsErrorNothingComesFromDiskAndTheAgentGoesOn) {
  Agent& agent = watching_agent();
  const std::string passwd_line = read_file("/etc/passwd").substr(0, 16);  // "root:x:0:0:root:"
  ASSERT_FALSE(passwd_line.empty());

  struct Case {
    const char* what;
    std::string request;
    int status;
  };
  const std::vector<Case> cases = {
      {"path traversal", "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 404},
      {"encoded traversal", "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 404},
      {"encoded slashes", "GET /..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\n\r\n", 404},
      {"traversal to a file", "GET /metrics/../../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
       404},
      // A request head (line and headers) over 16 KiB is 400.
      {"huge header",
       "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(70000, 'a') + "\r\n\r\n", 400},
      {"very long URL", "GET /" + std::string(100000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"unknown method", "BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"wrong method", "DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405},
      {"body on GET", "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 400},
      {"chunked body on GET",
       "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
       "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
       400},
      {"HTTP/0.9", "GET /metrics\r\n\r\n", 400},
      {"TLS hello on the plain port",
       std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), 400},
      {"binary garbage", std::string("\x01\x02\xff\xfe garbage\r\n\r\n", 16), 400},
      {"NUL in the path", std::string("GET /metrics\0 HTTP/1.1\r\nHost: x\r\n\r\n", 35), 400},
      {"negative Content-Length", "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
       400},
      // Not a 4xx, and rightly so: the version is what is unsupported.
      {"unknown HTTP version", "GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n", 505},
      // Only origin-form targets ("/path"): the endpoint is no proxy.
      {"absolute-form target", "GET http://evil/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"asterisk-form target", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 400},
  };
  for (const Case& c : cases) {
    Conn conn(agent.port());
    ASSERT_TRUE(conn.ok()) << c.what;
    conn.send_all(c.request);  // the server may hang up before it has read it all
    const std::string reply = conn.read_all(10s);
    EXPECT_EQ(status_of(reply), c.status) << c.what << ": " << reply.substr(0, 200);
    EXPECT_EQ(reply.find(passwd_line), std::string::npos) << c.what << " served /etc/passwd";
    EXPECT_EQ(agent.get("/healthz").status, 200) << "after " << c.what;
  }
  EXPECT_TRUE(agent.alive());
  const Scrape after = agent.scrape();
  EXPECT_TRUE(after.ok());
  EXPECT_EQ(after.value("memoryguard_rule_processes", {{"rule", "watched"}}), 3.0);
}

// ---- the web config ------------------------------------------------------------

using HttpWebConfig = HttpEndpointTest;

TEST_F(HttpWebConfig, AChangedFileTakesEffectWithoutRestartAndABadOneKeepsTheOld) {
  const std::string web = path("web.yml");
  write_file(web, std::string("basic_auth_users:\n  alice: ") + kHashOne + "\n");
  Agent& agent = start_agent(write_config(rules_yaml(match_yaml())), {"--web.config.file=" + web});
  const std::string one = basic_auth("alice", "one");
  const std::string two = basic_auth("alice", "two");
  EXPECT_EQ(http_request(agent.port(), "GET", "/metrics", one).status, 200);
  EXPECT_EQ(http_request(agent.port(), "GET", "/metrics").status, 401) << "no credentials";
  EXPECT_EQ(http_request(agent.port(), "GET", "/metrics", two).status, 401) << "wrong password";

  // As kubectl and editors write: a new file renamed over the old one.
  write_file(web + ".new", std::string("basic_auth_users:\n  alice: ") + kHashTwo + "\n");
  ASSERT_EQ(std::rename((web + ".new").c_str(), web.c_str()), 0);
  EXPECT_TRUE(wait_until(
      [&] { return http_request(agent.port(), "GET", "/metrics", two).status == 200; }, 10s))
      << agent.log();
  EXPECT_EQ(http_request(agent.port(), "GET", "/metrics", one).status, 401) << "old password";

  // A broken file is logged and ignored: alice keeps her access.
  write_file(web + ".new", "basic_auth_users:\n  alice: plaintext\n");
  ASSERT_EQ(std::rename((web + ".new").c_str(), web.c_str()), 0);
  EXPECT_TRUE(wait_until(
      [&] { return agent.log().find("web config not reloaded") != std::string::npos; }, 10s));
  EXPECT_NE(agent.log().find("basic_auth_users.alice: must be a bcrypt hash"), std::string::npos);
  EXPECT_EQ(http_request(agent.port(), "GET", "/metrics", two).status, 200);
  EXPECT_EQ(http_request(agent.port(), "GET", "/metrics").status, 401);
  EXPECT_TRUE(agent.alive());
}

// ---- load ------------------------------------------------------------------------

struct WrkResult {
  bool ran = false;
  std::string output;
  long requests = 0;
  long non_2xx = 0;
  long socket_errors = 0;
  double requests_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

double to_ms(double value, const std::string& unit) {
  if (unit == "us") return value / 1000;
  if (unit == "s") return value * 1000;
  if (unit == "m") return value * 60000;
  return value;  // ms
}

WrkResult parse_wrk(const std::string& out) {
  WrkResult r;
  r.output = out;
  std::smatch m;
  if (std::regex_search(out, m, std::regex(R"((\d+) requests in)"))) {
    r.ran = true;
    r.requests = std::stol(m[1]);
  }
  if (std::regex_search(out, m, std::regex(R"(Non-2xx or 3xx responses: (\d+))"))) {
    r.non_2xx = std::stol(m[1]);
  }
  if (std::regex_search(
          out, m,
          std::regex(R"(Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+))"))) {
    for (int i = 1; i <= 4; ++i) r.socket_errors += std::stol(m[i]);
  }
  if (std::regex_search(out, m, std::regex(R"(Requests/sec:\s+([\d.]+))"))) {
    r.requests_per_second = std::stod(m[1]);
  }
  if (std::regex_search(out, m, std::regex(R"(\s50%\s+([\d.]+)(us|ms|s|m)\b)"))) {
    r.p50_ms = to_ms(std::stod(m[1]), m[2]);
  }
  if (std::regex_search(out, m, std::regex(R"(\s99%\s+([\d.]+)(us|ms|s|m)\b)"))) {
    r.p99_ms = to_ms(std::stod(m[1]), m[2]);
  }
  return r;
}

constexpr const char* kWrk = "/usr/bin/wrk";

// 50 connections from 2 threads, as in the acceptance criterion. wrk's own
// timeout is raised from 2s so that a slow sanitizer build is not an "error".
WrkResult wrk(const Agent& agent, const std::string& dir, std::chrono::seconds duration,
              const std::string& authorization = "") {
  std::vector<std::string> argv = {
      kWrk,        "-t2",       "-c50", "-d" + std::to_string(duration.count()) + "s",
      "--latency", "--timeout", "10s"};
  if (!authorization.empty()) {
    argv.push_back("-H");
    argv.push_back("Authorization: " + authorization);
  }
  argv.push_back("http://127.0.0.1:" + std::to_string(agent.port()) + "/metrics");
  const RunResult run_result = run(argv, dir, duration + 30s);
  return parse_wrk(run_result.out + run_result.err);
}

void report(const char* label, const WrkResult& r) {
  std::printf(
      "%s: %ld requests, %.0f req/s, p50 %.2fms, p99 %.2fms, non-2xx %ld, socket errors %ld\n",
      label, r.requests, r.requests_per_second, r.p50_ms, r.p99_ms, r.non_2xx, r.socket_errors);
  ::testing::Test::RecordProperty(std::string(label) + "_p99_ms", std::to_string(r.p99_ms));
  ::testing::Test::RecordProperty(std::string(label) + "_rps",
                                  std::to_string(r.requests_per_second));
}

void expect_clean(const WrkResult& r) {
  ASSERT_TRUE(r.ran) << r.output;
  EXPECT_GT(r.requests, 0) << r.output;
  EXPECT_EQ(r.non_2xx, 0) << r.output;
  EXPECT_EQ(r.socket_errors, 0) << r.output;
}

class HttpLoad : public HttpEndpointTest {
 protected:
  void SetUp() override {
    HttpEndpointTest::SetUp();
    if (access(kWrk, X_OK) != 0) GTEST_SKIP() << "wrk is not installed (apt-get install wrk)";
  }
};

TEST_F(HttpLoad, FiftyClientsForThreeSecondsGetNoErrors) {
  Agent& agent = watching_agent();
  const WrkResult r = wrk(agent, dir(), 3s);
  report("wrk 3s", r);
  expect_clean(r);
  EXPECT_TRUE(agent.alive());
}

TEST_F(HttpLoad, FiftyClientsWithBasicAuthGetNoErrors) {
  const std::string web = path("web.yml");
  write_file(web, std::string("basic_auth_users:\n  admin: ") + kHashS3cretCost10 + "\n");
  Agent& agent = watching_agent({"--web.config.file=" + web}, basic_auth("admin", "s3cret"));
  const WrkResult r = wrk(agent, dir(), 3s, basic_auth("admin", "s3cret"));
  report("wrk 3s basic auth", r);
  expect_clean(r);
  // The wrong password is refused the whole time, and never from the cache.
  EXPECT_EQ(http_request(agent.port(), "GET", "/metrics", basic_auth("admin", "s3cre")).status,
            401);
}

// The acceptance run: 30s each, without and with basic auth.
using SoakHttp = HttpLoad;

TEST_F(SoakHttp, FiftyClientsForThirtySeconds) {
  Agent& agent = watching_agent();
  const WrkResult r = wrk(agent, dir(), 30s);
  report("wrk 30s", r);
  expect_clean(r);
  EXPECT_EQ(agent.get("/healthz").status, 200);
}

TEST_F(SoakHttp, FiftyClientsForThirtySecondsWithBasicAuth) {
  const std::string web = path("web.yml");
  write_file(web, std::string("basic_auth_users:\n  admin: ") + kHashS3cretCost10 + "\n");
  Agent& agent = watching_agent({"--web.config.file=" + web}, basic_auth("admin", "s3cret"));
  const WrkResult r = wrk(agent, dir(), 30s, basic_auth("admin", "s3cret"));
  report("wrk 30s basic auth", r);
  expect_clean(r);
  EXPECT_EQ(agent.get("/healthz").status, 200);
}

}  // namespace
}  // namespace mgt
