#include "pki/tls_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "pki/test_pki.h"

namespace mgt_pki {
namespace {

std::string ssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out;
}

int connect_to(const TlsClientOptions& o) {
  const bool v6 = o.host.find(':') != std::string::npos;
  const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{o.timeout_ms / 1000, (o.timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int rc = -1;
  if (v6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<std::uint16_t>(o.port));
    inet_pton(AF_INET6, o.host.c_str(), &a.sin6_addr);
    rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(o.port));
    inet_pton(AF_INET, o.host.c_str(), &a.sin_addr);
    rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  if (rc != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

TlsClient::TlsClient(TlsClientOptions options) : options_(std::move(options)) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (options_.min_version != 0) SSL_CTX_set_min_proto_version(ctx_, options_.min_version);
  if (options_.max_version != 0) SSL_CTX_set_max_proto_version(ctx_, options_.max_version);
  // The server decides what it refuses; a client at Debian's security
  // level 2 would not even offer TLS 1.0 or 1.1.
  if (options_.min_version != 0 && options_.min_version < TLS1_2_VERSION) {
    SSL_CTX_set_security_level(ctx_, 0);
  }
  if (!options_.ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx_, options_.ca.c_str(), nullptr) != 1) {
      setup_error_ = "cannot load CA " + options_.ca + ": " + ssl_errors();
    }
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  }
  if (!options_.ciphers.empty()) SSL_CTX_set_cipher_list(ctx_, options_.ciphers.c_str());
  if (!options_.groups.empty()) SSL_CTX_set1_groups_list(ctx_, options_.groups.c_str());
  if (!options_.cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx_, options_.cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_, options_.key.c_str(), SSL_FILETYPE_PEM) != 1) {
      setup_error_ = "cannot load client certificate " + options_.cert + ": " + ssl_errors();
    }
  }
}

TlsClient::~TlsClient() {
  SSL_CTX_free(ctx_);
}

std::unique_ptr<TlsSession> TlsClient::open() const {
  std::unique_ptr<TlsSession> session(new TlsSession());
  TlsReply& r = session->reply_;
  session->host_ = options_.host;
  if (!setup_error_.empty()) {
    r.error = setup_error_;
    return session;
  }
  session->fd_ = connect_to(options_);
  if (session->fd_ < 0) {
    r.error = std::string("connect: ") + std::strerror(errno);
    return session;
  }
  r.connected = true;
  SSL* ssl = SSL_new(ctx_);
  session->ssl_ = ssl;
  SSL_set_fd(ssl, session->fd_);
  if (!options_.ca.empty()) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), options_.host.c_str());
  }
  ERR_clear_error();
  if (SSL_connect(ssl) != 1) {
    r.error = "handshake: " + ssl_errors();
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      r.error += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
    }
    return session;
  }
  r.handshake = true;
  if (X509* peer = SSL_get1_peer_certificate(ssl)) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, peer);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    r.server_serial = pem_serial(std::string(data, static_cast<std::size_t>(n)));
    BIO_free(bio);
    X509_free(peer);
  }
  return session;
}

TlsSession::~TlsSession() {
  if (ssl_ != nullptr) {
    if (reply_.handshake) SSL_shutdown(ssl_);
    SSL_free(ssl_);
  }
  if (fd_ >= 0) close(fd_);
}

TlsReply TlsSession::request(const std::string& method, const std::string& path,
                             const std::string& headers) {
  if (!reply_.handshake) return reply_;
  const std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + host_ +
                          "\r\nConnection: close\r\n" + headers + "\r\n";
  ERR_clear_error();
  if (SSL_write(ssl_, req.data(), static_cast<int>(req.size())) <= 0) {
    reply_.error = "write: " + ssl_errors();
  }
  std::string all;
  char buf[16384];
  for (;;) {
    const int n = SSL_read(ssl_, buf, sizeof buf);
    if (n <= 0) {
      const int err = SSL_get_error(ssl_, n);
      if (err != SSL_ERROR_ZERO_RETURN && all.empty()) reply_.error = "read: " + ssl_errors();
      break;
    }
    all.append(buf, static_cast<std::size_t>(n));
  }
  const auto split = all.find("\r\n\r\n");
  if (split != std::string::npos && all.rfind("HTTP/1.", 0) == 0) {
    reply_.head = all.substr(0, split);
    reply_.body = all.substr(split + 4);
    reply_.status = std::stoi(all.substr(9, 3));
  }
  return reply_;
}

TlsReply TlsClient::request(const std::string& method, const std::string& path,
                            const std::string& headers) const {
  return open()->request(method, path, headers);
}

bool TlsClient::handshake() const {
  return open()->reply().handshake;
}

}  // namespace mgt_pki
