// The HTTP server over TLS, in-process, against certificates made by the
// openssl command line: each client_auth_type against each kind of client,
// allowed SANs, versions and suites, the handshake's deadline, plain HTTP on
// the TLS port, certificate rotation through a Kubernetes-style symlink swap,
// several listeners, and systemd's sockets.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <prometheus/collectable.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "export/http_server.h"
#include "export/socket_activation.h"
#include "export/web_metrics.h"
#include "pki/test_pki.h"
#include "pki/tls_client.h"

namespace mg {
namespace {

using mgt_pki::Issued;
using mgt_pki::TlsClient;
using mgt_pki::TlsClientOptions;
using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string serial_of(const std::string& cert_path) {
  return mgt_pki::pem_serial(mgt_pki::read_text(cert_path));
}

// A plain TCP connection to 127.0.0.1:port, for what no TLS client sends.
int connect_loopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool wait_until(const std::function<bool()>& done, Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

class TlsServer : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mg_tls_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    pki_ = std::make_unique<mgt_pki::TestPki>(dir_, mgt_pki::run_and_wait);
    ca_ = pki_->ca("ca");
    other_ca_ = pki_->ca("other-ca");
    server_ = pki_->leaf("server", ca_, "IP:127.0.0.1,IP:::1,DNS:localhost");
    client_ = pki_->leaf("client", ca_, "DNS:prometheus,URI:spiffe://cluster/prometheus");
    stranger_ = pki_->leaf("stranger", other_ca_, "DNS:prometheus");
    ASSERT_TRUE(pki_->failed().empty()) << pki_->failed();
  }
  void TearDown() override {
    server.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string write_web(const std::string& yaml, const std::string& name = "web.yml") {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << yaml;
    return path;
  }

  std::string tls_yaml(const std::string& extra = "") const {
    return "tls_server_config:\n  cert_file: " + server_.cert + "\n  key_file: " + server_.key +
           "\n" + extra;
  }

  // Starts a server on 127.0.0.1 with the web config in `path`.
  void start(const std::string& path, std::vector<std::string> addresses = {"127.0.0.1:0"}) {
    auto loaded = WebConfig::load(path);
    ASSERT_TRUE(std::holds_alternative<WebConfig>(loaded))
        << ::testing::PrintToString(std::get<1>(loaded));
    HttpOptions o;
    o.listen_addresses = std::move(addresses);
    o.web_config = std::get<WebConfig>(std::move(loaded));
    HttpHandlers h;
    h.metrics = [] { return std::string("up 1\n"); };
    h.healthy = [] { return true; };
    h.reload = [] { return ReloadOutcome{true, ""}; };
    server = std::make_unique<HttpServer>(std::move(o), std::move(h));
    server->start();
  }

  TlsClientOptions client(const Issued* cert = nullptr) const {
    TlsClientOptions o;
    o.port = server->port();
    o.ca = ca_.cert;
    if (cert != nullptr) {
      o.cert = cert->cert;
      o.key = cert->key;
    }
    return o;
  }

  std::uint64_t failures(TlsFailure reason) const {
    return std::static_pointer_cast<const WebMetrics>(server->self_metrics())
        ->handshake_failures(reason);
  }

  std::string dir_;
  std::unique_ptr<mgt_pki::TestPki> pki_;
  Issued ca_, other_ca_, server_, client_, stranger_;
  std::unique_ptr<HttpServer> server;
};

TEST_F(TlsServer, ServesOverTlsAndPresentsItsCertificate) {
  start(write_web(tls_yaml()));
  const auto r = TlsClient(client()).request("GET", "/metrics");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "up 1\n");
  EXPECT_EQ(r.server_serial, serial_of(server_.cert));
  EXPECT_EQ(TlsClient(client()).request("GET", "/healthz").status, 200);

  // A client that trusts another CA refuses the server: the server counts
  // the client's alert.
  TlsClientOptions wrong = client();
  wrong.ca = other_ca_.cert;
  const auto refused = TlsClient(wrong).request("GET", "/metrics");
  EXPECT_EQ(refused.status, 0);
  EXPECT_THAT(refused.error, HasSubstr("certificate verify failed"));
  EXPECT_TRUE(wait_until([&] { return failures(TlsFailure::kClientAlert) == 1; }, 5s));
}

TEST_F(TlsServer, PlainHttpOnTheTlsPortGetsGosAnswerAndNoMetrics) {
  start(write_web(tls_yaml()));
  const int fd = connect_loopback(server->port());
  ASSERT_GE(fd, 0);
  const std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string all;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) all.append(buf, static_cast<size_t>(n));
  close(fd);
  EXPECT_EQ(all,
            "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n");
  EXPECT_THAT(all, Not(HasSubstr("up 1")));
  EXPECT_EQ(failures(TlsFailure::kPlainHttp), 1u);
}

// Go's five policies against a client without a certificate, with one the
// client CA signed, and with one from a CA nobody trusts.
TEST_F(TlsServer, EachClientAuthTypeAgainstEachClient) {
  struct Row {
    std::string mode;
    bool none, trusted, stranger;  // whether each gets an answer
  };
  const std::vector<Row> rows = {
      {"NoClientCert", true, true, true},
      {"RequestClientCert", true, true, true},
      {"RequireAnyClientCert", false, true, true},
      {"VerifyClientCertIfGiven", true, true, false},
      {"RequireAndVerifyClientCert", false, true, false},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.mode);
    const std::string ca_line =
        row.mode == "NoClientCert" ? "" : "  client_ca_file: " + ca_.cert + "\n";
    start(write_web(tls_yaml("  client_auth_type: " + row.mode + "\n" + ca_line)));
    const std::uint64_t before_none = failures(TlsFailure::kNoClientCert);
    const std::uint64_t before_bad = failures(TlsFailure::kClientCert);
    const auto none = TlsClient(client()).request("GET", "/metrics");
    const auto trusted = TlsClient(client(&client_)).request("GET", "/metrics");
    const auto stranger = TlsClient(client(&stranger_)).request("GET", "/metrics");
    EXPECT_EQ(none.status == 200, row.none) << none.error;
    EXPECT_EQ(trusted.status == 200, row.trusted) << trusted.error;
    EXPECT_EQ(stranger.status == 200, row.stranger) << stranger.error;
    EXPECT_TRUE(wait_until(
        [&] {
          return failures(TlsFailure::kNoClientCert) - before_none == (row.none ? 0u : 1u) &&
                 failures(TlsFailure::kClientCert) - before_bad == (row.stranger ? 0u : 1u);
        },
        5s))
        << "no_client_cert " << failures(TlsFailure::kNoClientCert) - before_none
        << ", client_cert " << failures(TlsFailure::kClientCert) - before_bad;
    server.reset();
  }
}

TEST_F(TlsServer, AClientCertificateWithoutAnAllowedSanIsRefused) {
  const Issued other = pki_->leaf("other-client", ca_, "DNS:grafana,IP:10.1.2.3");
  start(write_web(
      tls_yaml("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: " + ca_.cert +
               "\n  client_allowed_sans: [spiffe://cluster/prometheus, 10.9.9.9]\n")));
  EXPECT_EQ(TlsClient(client(&client_)).request("GET", "/metrics").status, 200)
      << "its URI SAN is allowed";
  const auto refused = TlsClient(client(&other)).request("GET", "/metrics");
  EXPECT_EQ(refused.status, 0);
  EXPECT_TRUE(wait_until([&] { return failures(TlsFailure::kClientSan) == 1; }, 5s));
  EXPECT_EQ(failures(TlsFailure::kClientCert), 0u) << "its chain is fine; only the SAN is not";
}

TEST_F(TlsServer, VersionsAndSuitesOutsideTheConfigAreRefused) {
  start(write_web(tls_yaml("  min_version: TLS13\n")));
  TlsClientOptions tls12 = client();
  tls12.max_version = TLS1_2_VERSION;
  EXPECT_EQ(TlsClient(tls12).request("GET", "/metrics").status, 0);
  EXPECT_EQ(TlsClient(client()).request("GET", "/metrics").status, 200);
  EXPECT_TRUE(wait_until([&] { return failures(TlsFailure::kVersion) == 1; }, 5s));
  server.reset();

  // TLS 1.1 is refused by default (min_version TLS12) and spoken when
  // min_version allows it: the client could, and the server chose.
  TlsClientOptions tls11;
  tls11.min_version = TLS1_1_VERSION;
  tls11.max_version = TLS1_1_VERSION;
  start(write_web(tls_yaml()));
  tls11.port = server->port();
  tls11.ca = ca_.cert;
  EXPECT_EQ(TlsClient(tls11).request("GET", "/metrics").status, 0);
  server.reset();
  start(write_web(tls_yaml("  min_version: TLS11\n")));
  tls11.port = server->port();
  EXPECT_EQ(TlsClient(tls11).request("GET", "/metrics").status, 200);
  server.reset();

  start(
      write_web(tls_yaml("  max_version: TLS12\n  cipher_suites: "
                         "[TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n  curve_preferences: "
                         "[CurveP384]\n")));
  TlsClientOptions suite = client();
  suite.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
  EXPECT_EQ(TlsClient(suite).request("GET", "/metrics").status, 0);
  suite.ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384";
  EXPECT_EQ(TlsClient(suite).request("GET", "/metrics").status, 200);
  suite.groups = "P-256";
  EXPECT_EQ(TlsClient(suite).request("GET", "/metrics").status, 0) << "no curve in common";
  EXPECT_TRUE(wait_until([&] { return failures(TlsFailure::kCipher) == 2; }, 5s));
}

// A connection that never finishes its handshake is cut at the request
// head's deadline (3s after accept), however slowly it drips its hello.
TEST_F(TlsServer, AStalledHandshakeIsCutAtTheHeadDeadline) {
  start(write_web(tls_yaml()));
  const int silent = connect_loopback(server->port());
  const int dripping = connect_loopback(server->port());
  ASSERT_GE(silent, 0);
  ASSERT_GE(dripping, 0);
  // The start of a TLS 1.2 ClientHello record, a byte at a time.
  const unsigned char hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03};
  const auto t0 = Clock::now();
  bool closed = false;
  for (std::size_t i = 0; !closed && Clock::now() - t0 < 10s; ++i) {
    if (i < sizeof hello && write(dripping, &hello[i], 1) != 1) break;
    pollfd p{dripping, POLLIN, 0};
    if (poll(&p, 1, 500) > 0) {
      char c;
      closed = read(dripping, &c, 1) <= 0;
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_TRUE(closed) << "still open after " << seconds << " s";
  EXPECT_GE(seconds, 2.0) << "cut before its deadline";
  EXPECT_LT(seconds, 9.0);
  char c;
  timeval tv{5, 0};
  setsockopt(silent, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  EXPECT_LE(read(silent, &c, 1), 0) << "a silent connection was left open";
  close(silent);
  close(dripping);
  EXPECT_TRUE(wait_until([&] { return failures(TlsFailure::kTimeout) == 2; }, 5s));
  EXPECT_EQ(TlsClient(client()).request("GET", "/healthz").status, 200);
}

// Kubernetes mounts a Secret as a directory of symlinks into ..data, and
// updates it by swapping ..data to a new timestamped directory.
class SecretDir {
 public:
  explicit SecretDir(std::string dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
  }
  void publish(const Issued& pair) {
    namespace fs = std::filesystem;
    const std::string version = "..2026_01_01_00_00_0" + std::to_string(++n_);
    fs::create_directory(dir_ + "/" + version);
    fs::copy_file(pair.cert, dir_ + "/" + version + "/tls.crt");
    fs::copy_file(pair.key, dir_ + "/" + version + "/tls.key");
    fs::create_directory_symlink(version, dir_ + "/..data_tmp");
    fs::rename(dir_ + "/..data_tmp", dir_ + "/..data");
    if (!fs::exists(fs::symlink_status(dir_ + "/tls.crt"))) {
      fs::create_symlink("..data/tls.crt", dir_ + "/tls.crt");
      fs::create_symlink("..data/tls.key", dir_ + "/tls.key");
    }
  }
  std::string path(const std::string& f) const { return dir_ + "/" + f; }

 private:
  std::string dir_;
  int n_ = 0;
};

TEST_F(TlsServer, ARotatedSecretReachesNewHandshakesAndABadOneKeepsTheOld) {
  SecretDir secret(dir_ + "/secret");
  secret.publish(server_);
  start(write_web("tls_server_config:\n  cert_file: secret/tls.crt\n  key_file: secret/tls.key\n"));
  TlsClient c(client());
  ASSERT_EQ(c.request("GET", "/metrics").server_serial, serial_of(server_.cert));

  // Made first: openssl takes its time on a loaded machine, and the held
  // connection below has the request head's 3 s to send its request.
  const Issued next = pki_->leaf("server-next", ca_, "IP:127.0.0.1,DNS:localhost");
  const Issued third = pki_->leaf("server-third", ca_, "IP:127.0.0.1");

  // A connection whose handshake is done before the rotation finishes its
  // request after it, on the context it started with.
  auto held = c.open();
  ASSERT_TRUE(held->reply().handshake) << held->reply().error;
  secret.publish(next);
  EXPECT_TRUE(wait_until(
      [&] { return c.request("GET", "/metrics").server_serial == serial_of(next.cert); }, 10s));
  EXPECT_EQ(held->request("GET", "/metrics").status, 200);

  // A key that does not match its certificate: logged, and the current
  // certificate goes on serving.
  secret.publish({third.cert, next.key});
  const auto web = std::static_pointer_cast<const WebMetrics>(server->self_metrics());
  auto last_ok = [&] {
    for (const auto& f : web->Collect()) {
      if (f.name == "memoryguard_web_config_last_reload_successful") return f.metric[0].gauge.value;
    }
    return -1.0;
  };
  EXPECT_TRUE(wait_until([&] { return last_ok() == 0; }, 10s));
  const auto after = c.request("GET", "/metrics");
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.server_serial, serial_of(next.cert));

  // The matching key arrives: the third certificate serves.
  secret.publish(third);
  EXPECT_TRUE(wait_until(
      [&] { return c.request("GET", "/metrics").server_serial == serial_of(third.cert); }, 10s));
  EXPECT_EQ(last_ok(), 1);
}

// An edit that points the config at certificate files not written yet is
// refused; once they are there, they load, without another edit.
TEST_F(TlsServer, CertificateFilesNamedBeforeTheyExistLoadOnceTheyAre) {
  const std::string web = write_web(tls_yaml());
  start(web);
  TlsClient c(client());
  ASSERT_EQ(c.request("GET", "/metrics").server_serial, serial_of(server_.cert));
  const Issued next = pki_->leaf("server-next", ca_, "IP:127.0.0.1");
  const std::string cert = dir_ + "/later/tls.crt", key = dir_ + "/later/tls.key";
  write_web("tls_server_config:\n  cert_file: later/tls.crt\n  key_file: later/tls.key\n");
  const auto web_metrics = std::static_pointer_cast<const WebMetrics>(server->self_metrics());
  auto last_ok = [&] {
    for (const auto& f : web_metrics->Collect()) {
      if (f.name == "memoryguard_web_config_last_reload_successful") return f.metric[0].gauge.value;
    }
    return -1.0;
  };
  ASSERT_TRUE(wait_until([&] { return last_ok() == 0; }, 10s)) << "the edit was not refused";
  EXPECT_EQ(c.request("GET", "/metrics").server_serial, serial_of(server_.cert));

  std::filesystem::create_directories(dir_ + "/later");
  std::filesystem::copy_file(next.cert, cert);
  std::filesystem::copy_file(next.key, key);
  EXPECT_TRUE(wait_until(
      [&] { return c.request("GET", "/metrics").server_serial == serial_of(next.cert); }, 15s))
      << "the certificate the config names never loaded";
  EXPECT_EQ(last_ok(), 1);
}

TEST_F(TlsServer, TheExpiryGaugeIsTheServingCertificatesNotAfter) {
  const Issued short_lived = pki_->leaf("short", ca_, "IP:127.0.0.1", 2);
  start(write_web("tls_server_config:\n  cert_file: " + short_lived.cert +
                  "\n  key_file: " + short_lived.key + "\n"));
  double expiry = 0;
  for (const auto& f : server->self_metrics()->Collect()) {
    if (f.name == "memoryguard_tls_certificate_expiry_timestamp_seconds") {
      expiry = f.metric[0].gauge.value;
    }
  }
  const double now = static_cast<double>(std::time(nullptr));
  // openssl x509 -days 2 sets notAfter two days from the second it signed.
  EXPECT_NEAR(expiry - now, 2 * 86400, 120);
}

TEST_F(TlsServer, AReloadCannotTurnTlsOff) {
  const std::string path = write_web(tls_yaml());
  start(path);
  std::ofstream(path + ".new") << "basic_auth_users: {}\n";
  std::filesystem::rename(path + ".new", path);
  const auto web = std::static_pointer_cast<const WebMetrics>(server->self_metrics());
  EXPECT_TRUE(wait_until(
      [&] {
        for (const auto& f : web->Collect()) {
          if (f.name == "memoryguard_web_config_last_reload_successful") {
            return f.metric[0].gauge.value == 0;
          }
        }
        return false;
      },
      10s));
  EXPECT_EQ(TlsClient(client()).request("GET", "/metrics").status, 200) << "still TLS";
}

TEST_F(TlsServer, EveryListenerSpeaksTls) {
  const bool ipv6 = [] {
    const int fd = socket(AF_INET6, SOCK_STREAM, 0);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    const bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (fd >= 0) close(fd);
    return ok;
  }();
  std::vector<std::string> addresses = {"127.0.0.1:0", "localhost:0"};
  if (ipv6) addresses.push_back("[::1]:0");
  start(write_web(tls_yaml()), addresses);
  const auto ports = server->ports();
  ASSERT_EQ(ports.size(), addresses.size());
  for (std::size_t i = 0; i < ports.size(); ++i) {
    TlsClientOptions o = client();
    o.port = ports[i];
    if (addresses[i].front() == '[') o.host = "::1";
    EXPECT_EQ(TlsClient(o).request("GET", "/metrics").status, 200) << addresses[i];
  }
}

TEST(SocketActivation, ListenFdsFollowsSdListenFds) {
  EXPECT_TRUE(listen_fds(nullptr, "2", 42).empty());
  EXPECT_TRUE(listen_fds("41", "2", 42).empty()) << "meant for another process";
  EXPECT_EQ(listen_fds("42", "2", 42), (std::vector<int>{3, 4}));
  EXPECT_EQ(listen_fds("42", "0", 42), std::vector<int>{});
  EXPECT_THROW(listen_fds("42", "two", 42), std::runtime_error);
  EXPECT_THROW(listen_fds("4x", "1", 42), std::runtime_error);
}

// fd 3 made a listening socket, as systemd leaves it; the test's own fd 3,
// if any, is put back afterwards.
class OnFd3 {
 public:
  explicit OnFd3(int fd) {
    if (fd == 3) return;  // 3 was free, and the socket took it
    saved_ = fcntl(3, F_DUPFD_CLOEXEC, 10);
    dup2(fd, 3);
    close(fd);
  }
  ~OnFd3() {
    if (saved_ >= 0) {
      dup2(saved_, 3);
      close(saved_);
    } else {
      close(3);
    }
  }

 private:
  int saved_ = -1;
};

TEST(SocketActivation, TheServerAcceptsOnTheSocketSystemdPassed) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  OnFd3 on3(fd);
  setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
  setenv("LISTEN_FDS", "1", 1);
  setenv("LISTEN_FDNAMES", "memoryguard.socket", 1);
  HttpOptions o;
  o.systemd_socket = true;
  o.listen_addresses = {"127.0.0.1:1"};  // ignored, as exporter-toolkit ignores it
  HttpHandlers h;
  h.metrics = [] { return std::string("up 1\n"); };
  h.healthy = [] { return true; };
  HttpServer server(std::move(o), std::move(h));
  server.start();
  EXPECT_EQ(server.port(), port);
  EXPECT_EQ(server.ports().size(), 1u);
  // Unset, so that an exec hook does not take the socket for its own.
  EXPECT_EQ(getenv("LISTEN_PID"), nullptr);
  EXPECT_EQ(getenv("LISTEN_FDS"), nullptr);
  EXPECT_EQ(getenv("LISTEN_FDNAMES"), nullptr);
  EXPECT_EQ(fcntl(3, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  const int c = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string req = "GET /metrics HTTP/1.0\r\n\r\n";
  ASSERT_EQ(write(c, req.data(), req.size()), static_cast<ssize_t>(req.size()));
  std::string all;
  char buf[1024];
  for (ssize_t n; (n = read(c, buf, sizeof buf)) > 0;) all.append(buf, static_cast<size_t>(n));
  close(c);
  EXPECT_THAT(all, HasSubstr("up 1"));
}

TEST(SocketActivation, NoSocketOrNotAListenerIsAStartUpError) {
  unsetenv("LISTEN_PID");
  HttpOptions o;
  o.systemd_socket = true;
  {
    HttpServer server(o, {});
    try {
      server.start();
      ADD_FAILURE() << "started without sockets";
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("no socket activation file descriptors found"));
    }
  }
  OnFd3 on3(open("/dev/null", O_RDONLY));
  setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
  setenv("LISTEN_FDS", "1", 1);
  HttpServer server(o, {});
  try {
    server.start();
    ADD_FAILURE() << "started on /dev/null";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("file descriptor 3 is not a socket"));
  }
}

}  // namespace
}  // namespace mg
