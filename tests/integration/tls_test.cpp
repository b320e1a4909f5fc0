// The real binary serving TLS from a node_exporter-style web config, with
// certificates made by openssl for each test, and curl (Debian's, over its
// own OpenSSL) as the client: the right and the wrong CA, TLS 1.1 against
// min_version, client certificates and allowed SANs, plain HTTP on the TLS
// port, /healthz under each kind of auth, start-up errors, several listeners,
// systemd socket activation, and 200 clients handshaking beside a scrape.
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <thread>

#include "integration/harness.h"
#include "pki/test_pki.h"

namespace mgt {
namespace {

constexpr const char* kCurl = "/usr/bin/curl";
// bcrypt (cost 4) of "s3cret".
constexpr const char* kHashS3cret = "$2b$04$HHaEkI8alshCyZe1eYpZn.IextEPnVuQvhqRP/bdDoBZxfEZm/nxu";

struct CurlResult {
  int exit = -1;  // curl's exit code: 0 ok, 35 handshake, 56 receive, 60 untrusted certificate
  int status = 0;
  std::string body;
  std::string err;
};

class TlsTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    if (access(kCurl, X_OK) != 0) GTEST_SKIP() << "curl is not installed";
    pki_ = std::make_unique<mgt_pki::TestPki>(dir(), pki_runner(dir()));
    ca_ = pki_->ca("ca");
    other_ca_ = pki_->ca("other-ca");
    server_ = pki_->leaf("server", ca_, "IP:127.0.0.1,IP:::1,DNS:localhost");
    prometheus_ = pki_->leaf("prometheus", ca_, "DNS:prometheus");
    grafana_ = pki_->leaf("grafana", ca_, "DNS:grafana");
    stranger_ = pki_->leaf("stranger", other_ca_, "DNS:prometheus");
    ASSERT_TRUE(pki_->failed().empty()) << pki_->failed();
  }

  // A web config as node_exporter takes it: TLS with the test's server
  // certificate, and `extra` lines under tls_server_config, then `rest`.
  std::string web_config(const std::string& extra = "", const std::string& rest = "") {
    const std::string file = path("web.yml");
    write_file(file, "tls_server_config:\n  cert_file: " + server_.cert +
                         "\n  key_file: " + server_.key + "\n" + extra + rest);
    return file;
  }

  std::string mtls(const std::string& more = "") const {
    return "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: " + ca_.cert + "\n" +
           more;
  }

  // An agent serving TLS, watching the test's hogs, healthy. The harness's
  // client trusts the CA and, if the config asks, presents `client`.
  Agent& tls_agent(const std::string& web, const mgt_pki::Issued* client = nullptr,
                   std::vector<std::string> flags = {}) {
    hog(4);
    flags.push_back("--web.config.file=" + web);
    Agent& agent = launch_agent(
        write_config("interval: 200ms\nrules:\n  - name: watched\n    match: " + match_yaml() +
                     "\n    limit: 1Gi\n    dry_run: true\n"),
        std::move(flags));
    mgt_pki::TlsClientOptions o;
    o.ca = ca_.cert;
    if (client != nullptr) {
      o.cert = client->cert;
      o.key = client->key;
    }
    agent.set_tls(o);
    agent.wait_healthy();
    return agent;
  }

  CurlResult curl(const std::string& url, std::vector<std::string> args = {}) {
    const std::string body = path("curl-body-" + std::to_string(++curls_));
    std::vector<std::string> argv = {kCurl, "-sS", "--max-time", "15",
                                     "-o",  body,  "-w",         "%{http_code}"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(url);
    const RunResult r = run(argv, dir(), 30s);
    CurlResult out;
    out.exit = r.exit_code();
    out.status = std::atoi(r.out.c_str());
    out.body = read_file(body);
    out.err = r.err;
    return out;
  }

  std::vector<std::string> trust(const mgt_pki::Issued& ca) const { return {"--cacert", ca.cert}; }
  std::vector<std::string> trust_and_present(const mgt_pki::Issued& cert) const {
    return {"--cacert", ca_.cert, "--cert", cert.cert, "--key", cert.key};
  }
  static std::string https(const Agent& agent, const std::string& path = "/metrics") {
    return "https://127.0.0.1:" + std::to_string(agent.port()) + path;
  }
  static double failures(const Agent& agent, const std::string& reason) {
    return agent.scrape()
        .value("memoryguard_tls_handshake_failures_total", {{"reason", reason}})
        .value_or(-1);
  }

  std::unique_ptr<mgt_pki::TestPki> pki_;
  mgt_pki::Issued ca_, other_ca_, server_, prometheus_, grafana_, stranger_;
  int curls_ = 0;
};

TEST_F(TlsTest, CurlWithTheRightCaGetsMetricsAndWithTheWrongOneFails) {
  Agent& agent = tls_agent(web_config());
  const CurlResult ok = curl(https(agent), trust(ca_));
  EXPECT_EQ(ok.exit, 0) << ok.err;
  EXPECT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find("memoryguard_rule_processes{rule=\"watched\"}"), std::string::npos);
  EXPECT_NE(ok.body.find("memoryguard_tls_certificate_expiry_timestamp_seconds"),
            std::string::npos);

  const CurlResult wrong = curl(https(agent), trust(other_ca_));
  EXPECT_EQ(wrong.exit, 60) << "curl: " << wrong.err;  // the peer's certificate is not trusted
  EXPECT_EQ(wrong.body.find("memoryguard_"), std::string::npos);
  // curl said so with an alert, which the agent counts.
  EXPECT_TRUE(wait_until([&] { return failures(agent, "client_alert") >= 1; }, 10s));
}

TEST_F(TlsTest, Tls11IsRefusedUnderMinVersionTls12AndSpokenUnderTls11) {
  // Debian's curl offers TLS 1.1 only at OpenSSL's security level 0.
  const std::vector<std::string> tls11 = {"--tlsv1.1",           "--tls-max", "1.1",   "--ciphers",
                                          "DEFAULT:@SECLEVEL=0", "--cacert",  ca_.cert};
  {
    Agent& agent = tls_agent(web_config("  min_version: TLS12\n"));
    const CurlResult refused = curl(https(agent), tls11);
    EXPECT_EQ(refused.exit, 35) << refused.err;  // the handshake failed
    EXPECT_NE(refused.err.find("protocol version"), std::string::npos) << refused.err;
    EXPECT_TRUE(wait_until([&] { return failures(agent, "version") >= 1; }, 10s));
    EXPECT_EQ(curl(https(agent), trust(ca_)).status, 200) << "TLS 1.2 and 1.3 still work";
    agent.stop();
  }
  // The same client succeeds where the server allows it: the refusal above
  // was the server's.
  Agent& agent = tls_agent(web_config("  min_version: TLS11\n"));
  const CurlResult spoken = curl(https(agent), tls11);
  EXPECT_EQ(spoken.exit, 0) << spoken.err;
  EXPECT_EQ(spoken.status, 200);
}

TEST_F(TlsTest, RequireAndVerifyClientCertFailsTheHandshakeWithoutOne) {
  Agent& agent = tls_agent(web_config(mtls()), &prometheus_);
  const CurlResult none = curl(https(agent), trust(ca_));
  EXPECT_NE(none.exit, 0);
  EXPECT_EQ(none.status, 0) << "no HTTP answer without a certificate";
  EXPECT_NE(none.err.find("certificate required"), std::string::npos) << none.err;
  EXPECT_EQ(none.body.find("memoryguard_"), std::string::npos);
  // /healthz is behind the handshake too: it cannot be open at the HTTP
  // layer when the TLS layer refuses the connection.
  EXPECT_EQ(curl(https(agent, "/healthz"), trust(ca_)).status, 0);

  const CurlResult stranger = curl(https(agent), trust_and_present(stranger_));
  EXPECT_EQ(stranger.status, 0) << "a certificate from a CA that client_ca_file does not hold";
  const CurlResult good = curl(https(agent), trust_and_present(prometheus_));
  EXPECT_EQ(good.exit, 0) << good.err;
  EXPECT_EQ(good.status, 200);
  EXPECT_NE(good.body.find("memoryguard_rule_processes"), std::string::npos);
  EXPECT_TRUE(wait_until(
      [&] { return failures(agent, "no_client_cert") >= 2 && failures(agent, "client_cert") >= 1; },
      10s));
}

TEST_F(TlsTest, AClientCertificateWhoseSanIsNotAllowedIsRefused) {
  Agent& agent = tls_agent(web_config(mtls("  client_allowed_sans: [prometheus]\n")), &prometheus_);
  const CurlResult grafana = curl(https(agent), trust_and_present(grafana_));
  EXPECT_NE(grafana.exit, 0);
  EXPECT_EQ(grafana.status, 0) << "its certificate is from the right CA, with the wrong SAN";
  EXPECT_EQ(curl(https(agent), trust_and_present(prometheus_)).status, 200);
  EXPECT_TRUE(wait_until([&] { return failures(agent, "client_san") >= 1; }, 10s));
}

TEST_F(TlsTest, PlainHttpToTheTlsPortGetsNoMetrics) {
  Agent& agent = tls_agent(web_config());
  const CurlResult plain = curl("http://127.0.0.1:" + std::to_string(agent.port()) + "/metrics");
  EXPECT_EQ(plain.status, 400);
  EXPECT_EQ(plain.body, "Client sent an HTTP request to an HTTPS server.\n");
  EXPECT_EQ(http_request(agent.port(), "GET", "/metrics").body.find("memoryguard_"),
            std::string::npos);
  EXPECT_TRUE(wait_until([&] { return failures(agent, "plain_http") >= 2; }, 10s));
}

// Probes send neither credentials nor a certificate: /healthz answers them
// wherever the handshake lets them in.
TEST_F(TlsTest, HealthzStaysOpenToProbesUnderBasicAuthAndOptionalClientCerts) {
  Agent& agent = tls_agent(
      web_config(
          "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: " + ca_.cert + "\n",
          std::string("basic_auth_users:\n  prometheus: ") + kHashS3cret + "\n"),
      &prometheus_);
  EXPECT_EQ(curl(https(agent, "/healthz"), trust(ca_)).status, 200);
  EXPECT_EQ(curl(https(agent), trust(ca_)).status, 401);
  EXPECT_EQ(curl(https(agent), trust_and_present(prometheus_)).status, 401)
      << "a certificate is no password";
  std::vector<std::string> both = trust_and_present(prometheus_);
  both.insert(both.end(), {"-u", "prometheus:s3cret"});
  EXPECT_EQ(curl(https(agent), both).status, 200);
  EXPECT_EQ(curl(https(agent), {"--cacert", ca_.cert, "-u", "prometheus:s3cret"}).status, 200);
  // A certificate that is sent must verify, even where none is required.
  EXPECT_EQ(curl(https(agent, "/healthz"), trust_and_present(stranger_)).status, 0);
}

// The promise: a web config written for node_exporter, with TLS,
// mTLS, an allowed SAN, Go's cipher names, headers and basic auth all at
// once, works unchanged.
TEST_F(TlsTest, ANodeExporterWebConfigWithMtlsAndBasicAuthWorksUnchanged) {
  Agent& agent =
      tls_agent(web_config(mtls("  client_allowed_sans: [prometheus]\n"
                                "  min_version: TLS12\n"
                                "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,\n"
                                "                  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n"
                                "  curve_preferences: [X25519, CurveP256]\n"
                                "  prefer_server_cipher_suites: true\n"),
                           std::string("http_server_config:\n  headers:\n"
                                       "    X-Content-Type-Options: nosniff\n"
                                       "basic_auth_users:\n  prometheus: ") +
                               kHashS3cret + "\n"),
                &prometheus_);
  std::vector<std::string> scrape = trust_and_present(prometheus_);
  scrape.insert(scrape.end(), {"-u", "prometheus:s3cret", "-D", path("head")});
  const CurlResult ok = curl(https(agent), scrape);
  EXPECT_EQ(ok.exit, 0) << ok.err;
  EXPECT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find("memoryguard_rule_processes{rule=\"watched\"}"), std::string::npos);
  EXPECT_NE(read_file(path("head")).find("X-Content-Type-Options: nosniff"), std::string::npos);

  // Each layer still holds on its own: the password, the SAN, the certificate.
  EXPECT_EQ(curl(https(agent), trust_and_present(prometheus_)).status, 401);
  std::vector<std::string> grafana = trust_and_present(grafana_);
  grafana.insert(grafana.end(), {"-u", "prometheus:s3cret"});
  EXPECT_EQ(curl(https(agent), grafana).status, 0);
  EXPECT_EQ(curl(https(agent), {"--cacert", ca_.cert, "-u", "prometheus:s3cret"}).status, 0);
}

TEST_F(TlsTest, ResponseHeadersGoOutOverTls) {
  Agent& agent = tls_agent(web_config(
      "",
      "http_server_config:\n  headers:\n    Strict-Transport-Security: max-age=31536000\n"
      "    X-Content-Type-Options: nosniff\n"));
  const CurlResult r = curl(https(agent, "/healthz"), {"--cacert", ca_.cert, "-D", path("head")});
  EXPECT_EQ(r.status, 200);
  const std::string headers = read_file(path("head"));
  EXPECT_NE(headers.find("Strict-Transport-Security: max-age=31536000"), std::string::npos)
      << headers;
}

TEST_F(TlsTest, AnUnreadableOrMismatchedCertificateIsAStartUpError) {
  const std::string config =
      write_config("rules:\n  - name: r\n    match: " + match_yaml() + "\n    limit: 1Gi\n");
  const std::string web = path("web.yml");
  auto start = [&](const std::string& web_yaml, const std::vector<std::string>& more = {}) {
    write_file(web, web_yaml);
    std::vector<std::string> argv = {binary_path(), "--config.file=" + config,
                                     "--web.config.file=" + web, "--web.listen-address=127.0.0.1:0",
                                     "--dry-run"};
    argv.insert(argv.end(), more.begin(), more.end());
    return run(argv, dir());
  };
  const RunResult missing =
      start("tls_server_config:\n  cert_file: nowhere.crt\n  key_file: " + server_.key + "\n");
  EXPECT_EQ(missing.exit_code(), 2) << missing.err;
  EXPECT_NE(missing.err.find(web + ":2:14: tls_server_config.cert_file: cannot read " + dir() +
                             "/nowhere.crt: No such file or directory"),
            std::string::npos)
      << missing.err;
  const RunResult mismatched = start("tls_server_config:\n  cert_file: " + server_.cert +
                                     "\n  key_file: " + prometheus_.key + "\n");
  EXPECT_EQ(mismatched.exit_code(), 2) << mismatched.err;
  EXPECT_NE(mismatched.err.find(web + ":3:13: tls_server_config.key_file: the private key does "
                                      "not match the certificate"),
            std::string::npos)
      << mismatched.err;
  // --check-config vets the web config and its certificates alike.
  EXPECT_EQ(
      start("tls_server_config:\n  cert_file: nowhere.crt\n  key_file: x\n", {"--check-config"})
          .exit_code(),
      2);
  const RunResult good = start(
      "tls_server_config:\n  cert_file: " + server_.cert + "\n  key_file: " + server_.key + "\n",
      {"--check-config"});
  EXPECT_EQ(good.exit_code(), 0) << good.err;
  EXPECT_NE(good.err.find("web config is valid"), std::string::npos) << good.err;
}

bool have_ipv6_loopback() {
  const int fd = socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

TEST_F(TlsTest, EveryListenAddressServesTls) {
  if (!have_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback";
  const int second = free_port();
  Agent& agent =
      tls_agent(web_config(), nullptr, {"--web.listen-address=[::1]:" + std::to_string(second)});
  EXPECT_EQ(curl(https(agent), trust(ca_)).status, 200);
  EXPECT_EQ(curl("https://[::1]:" + std::to_string(second) + "/metrics", trust(ca_)).status, 200);
  EXPECT_NE(agent.log().find("listen=127.0.0.1:" + std::to_string(agent.port()) +
                             ",[::1]:" + std::to_string(second)),
            std::string::npos);
}

// systemd-socket-activate (from the systemd package) binds the port, then
// execs the agent with the socket as fd 3, LISTEN_FDS=1 and LISTEN_PID.
TEST_F(TlsTest, SystemdSocketActivation) {
  constexpr const char* kActivate = "/usr/bin/systemd-socket-activate";
  if (access(kActivate, X_OK) != 0) GTEST_SKIP() << kActivate << " is not installed";
  hog(4);
  const int port = free_port();
  const std::string config =
      write_config("interval: 200ms\nrules:\n  - name: watched\n    match: " + match_yaml() +
                   "\n    limit: 1Gi\n    dry_run: true\n");
  SpawnOptions o;
  o.argv = {kActivate,
            "--listen=127.0.0.1:" + std::to_string(port),
            binary_path(),
            "--config.file=" + config,
            "--web.config.file=" + web_config(),
            "--web.systemd-socket",
            "--web.listen-address=127.0.0.1:1"};
  o.stderr_path = path("activated.stderr");
  o.stdout_path = path("activated.stdout");
  Proc agent = spawn(o).proc;
  const std::string url = "https://127.0.0.1:" + std::to_string(port) + "/metrics";
  CurlResult r;
  // systemd-socket-activate starts the agent on the first connection; curl
  // waits in the backlog meanwhile.
  wait_until(
      [&] {
        r = curl(url, trust(ca_));
        return r.status == 200 &&
               r.body.find("memoryguard_rule_processes{rule=\"watched\"} 1") != std::string::npos;
      },
      20s);
  EXPECT_EQ(r.status, 200) << r.err << read_file(path("activated.stderr"));
  EXPECT_NE(r.body.find("memoryguard_rule_processes{rule=\"watched\"} 1"), std::string::npos);
  EXPECT_NE(read_file(path("activated.stderr")).find("listen=\"systemd socket\""),
            std::string::npos);
  agent.signal(SIGTERM);
  const auto exit = agent.wait_reaped(10s);
  ASSERT_TRUE(exit) << "the agent did not stop";
  EXPECT_EQ(exit->exit_code(), 0);

  // A fake LISTEN_FDS naming a descriptor that is no socket is a start-up
  // error naming it (exit 1, a runtime failure, like a port that is taken).
  const RunResult fake =
      run({"/bin/sh", "-c", "LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" \"$@\" 3</dev/null",
           binary_path(), "--config.file=" + config, "--web.systemd-socket"},
          dir());
  EXPECT_EQ(fake.exit_code(), 1) << fake.err;
  EXPECT_NE(fake.err.find("--web.systemd-socket: file descriptor 3 is not a socket"),
            std::string::npos)
      << fake.err;
  const RunResult none =
      run({binary_path(), "--config.file=" + config, "--web.systemd-socket"}, dir());
  EXPECT_EQ(none.exit_code(), 1);
  EXPECT_NE(none.err.find("no socket activation file descriptors found"), std::string::npos)
      << none.err;
}

// User and system CPU of a process, from /proc/PID/stat.
double cpu_seconds(pid_t pid) {
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; fields >> f && i <= 15; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(f);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// 200 clients do mTLS handshakes in a loop for 5 s, on the loopback only,
// while a scraper scrapes every 100 ms. Every handshake is CPU work on the
// one I/O thread; what must hold is that each scrape is answered. Its
// latencies are a figure (README, Reliability), not an assertion: this
// machine's speed is not the agent's to promise.
TEST_F(TlsTest, TwoHundredHandshakingClientsDoNotStarveAScrape) {
  Agent& agent = tls_agent(web_config(mtls()), &prometheus_);
  // This machine is shared: builds beside the test must not starve the agent
  // or the scraper either, or the figure would be theirs. Both run at the
  // highest priority (every thread: nice is per thread on Linux), the load at
  // the lowest, so that what is measured is the load against the scrape in
  // the agent's one I/O thread.
  const auto tasks =
      std::filesystem::directory_iterator("/proc/" + std::to_string(agent.pid()) + "/task");
  for (const auto& task : tasks) {
    setpriority(PRIO_PROCESS, static_cast<id_t>(std::stoi(task.path().filename())), -20);
  }
  const int own_nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), -20);
  mgt_pki::TlsClientOptions o;
  o.port = agent.port();
  o.ca = ca_.cert;
  o.cert = prometheus_.cert;
  o.key = prometheus_.key;
  o.timeout_ms = 30000;
  std::atomic<bool> loading{true};
  std::atomic<long> handshakes{0};
  std::atomic<long> failed_handshakes{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 200; ++i) {
    clients.emplace_back([&] {
      // The load's own CPU (a handshake costs the client as much as the
      // server) must not come out of the scraper's share: the load threads
      // run at the lowest priority.
      setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
      const mgt_pki::TlsClient c(o);
      while (loading) (c.handshake() ? handshakes : failed_handshakes).fetch_add(1);
    });
  }
  std::vector<double> scrape_ms;
  int scrape_failures = 0;
  int retried_scrapes = 0;
  const mgt_pki::TlsClient scraper(o);
  sleep_for(500ms);  // the clients are all at it
  const double cpu0 = cpu_seconds(agent.pid());
  const auto t0 = Clock::now();
  // A scrape that the load made miss the 3 s head deadline is tried again,
  // as the next scrape interval would; each must get its page within 20 s
  // (a scrape interval and more). The time to the page, retries included,
  // is the figure; how many first tries failed is reported beside it.
  while (Clock::now() - t0 < 5s) {
    const auto s0 = Clock::now();
    bool got = false;
    while (!got && Clock::now() - s0 < 20s) {
      const auto reply = scraper.request("GET", "/metrics");
      got =
          reply.status == 200 && reply.body.find("memoryguard_rule_processes") != std::string::npos;
      if (!got) ++retried_scrapes;
    }
    scrape_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s0).count());
    if (!got) {
      ++scrape_failures;
      ADD_FAILURE() << "scrape " << scrape_ms.size() << " got no page in 20 s";
    }
    sleep_for(100ms);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const double agent_cpu = (cpu_seconds(agent.pid()) - cpu0) / seconds;
  loading = false;
  for (auto& t : clients) t.join();
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), own_nice);
  std::printf(
      "200 handshaking clients for %.1f s: %ld handshakes (%.0f/s, %ld failed), agent at %.0f%% "
      "of a core; %zu scrapes (%d tries again): p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
      seconds, handshakes.load(), static_cast<double>(handshakes.load()) / seconds,
      failed_handshakes.load(), agent_cpu * 100, scrape_ms.size(), retried_scrapes,
      percentile(scrape_ms, 0.5), percentile(scrape_ms, 0.99), percentile(scrape_ms, 1.0));
  RecordProperty("handshakes_per_second",
                 std::to_string(static_cast<double>(handshakes.load()) / seconds));
  RecordProperty("scrape_p50_ms", std::to_string(percentile(scrape_ms, 0.5)));
  RecordProperty("scrape_p99_ms", std::to_string(percentile(scrape_ms, 0.99)));
  EXPECT_EQ(scrape_failures, 0);
  EXPECT_GE(scrape_ms.size(), 3u);
  EXPECT_GT(handshakes.load(), 0);
  EXPECT_TRUE(agent.alive());
  EXPECT_EQ(agent.get("/healthz").status, 200);
}

}  // namespace
}  // namespace mgt
