#pragma once
// A small blocking HTTPS client over OpenSSL for the TLS tests: one request
// per connection, as Prometheus scrapes, with the knobs the tests turn (the
// CA it trusts, a client certificate, the versions and suites it offers) and
// what they look at (the certificate presented, how a handshake failed).
#include <memory>
#include <string>

struct ssl_ctx_st;
struct ssl_st;

namespace mgt_pki {

struct TlsClientOptions {
  std::string host = "127.0.0.1";  // IPv4 or IPv6 literal; checked against the server's SANs
  int port = 0;
  std::string ca;    // the CA file to trust; empty: accept any server certificate
  std::string cert;  // a client certificate (chain) and its key; empty: none
  std::string key;
  int min_version = 0;  // TLS1_2_VERSION etc.; 0: OpenSSL's default
  int max_version = 0;
  std::string ciphers;  // TLS 1.2 suites offered (OpenSSL names); empty: the default
  std::string groups;   // curves offered; empty: the default
  int timeout_ms = 10000;
};

struct TlsReply {
  bool connected = false;     // TCP connected
  bool handshake = false;     // the handshake completed on the client's side
  std::string error;          // what failed, in OpenSSL's words
  std::string server_serial;  // of the certificate the server presented
  int status = 0;             // 0: no HTTP answer
  std::string head;
  std::string body;
};

// One connection, handshake done (or failed), a request still to send: for
// a test that holds a connection open across a rotation.
class TlsSession {
 public:
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;
  const TlsReply& reply() const { return reply_; }
  // Sends one request and reads the answer until the server closes.
  TlsReply request(const std::string& method, const std::string& path,
                   const std::string& headers = "");

 private:
  friend class TlsClient;
  TlsSession() = default;
  TlsReply reply_;
  ssl_st* ssl_ = nullptr;
  int fd_ = -1;
  std::string host_;
};

class TlsClient {
 public:
  explicit TlsClient(TlsClientOptions options);
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  // Connects and does the handshake.
  std::unique_ptr<TlsSession> open() const;
  // One request on a new connection; `headers` are extra lines, each
  // ending in \r\n.
  TlsReply request(const std::string& method, const std::string& path,
                   const std::string& headers = "") const;
  // A handshake on a new connection, then a clean close: true when done.
  bool handshake() const;
  const TlsClientOptions& options() const { return options_; }

 private:
  TlsClientOptions options_;
  ssl_ctx_st* ctx_ = nullptr;
  std::string setup_error_;
};

}  // namespace mgt_pki
