#pragma once
// The OpenSSL side of tls_server_config: the certificate, key and client CAs
// read and checked, and the SSL_CTX that the server's handshakes use. A
// TlsContext never changes once built: a rotation builds a new one, and each
// connection keeps the one it started with (its verify callback reads the
// TlsContext, so a connection must hold it until it closes).
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "export/tls_config.h"

struct ssl_ctx_st;
struct ssl_st;
struct x509_st;
struct x509_store_ctx_st;

namespace mg {

struct TlsLoadError {
  std::string key;  // "tls_server_config.cert_file"
  YamlSpot at;
  std::string reason;
};

// Why a TLS handshake did not complete: the reason label of
// memoryguard_tls_handshake_failures_total.
enum class TlsFailure {
  kPlainHttp,     // an HTTP request on the TLS port
  kTimeout,       // not done by the request head's deadline
  kEof,           // the client went away (a TCP probe, a scanner)
  kVersion,       // no TLS version in common (min_version, max_version)
  kCipher,        // no cipher suite or curve in common
  kNoClientCert,  // a client certificate was required and none was sent
  kClientCert,    // the client certificate did not verify (CA, expiry)
  kClientSan,     // it verified, but none of its SANs is in client_allowed_sans
  kClientAlert,   // the client gave up with an alert (mostly: it does not trust ours)
  kOther,
};
inline constexpr std::size_t kTlsFailureCount = 10;
std::string_view to_string(TlsFailure failure);

class TlsContext {
 public:
  // Reads and checks every file (or inline PEM) of `config`, which must be
  // enabled. Errors name the key they come from.
  static std::variant<std::shared_ptr<const TlsContext>, std::vector<TlsLoadError>> build(
      const TlsServerConfig& config);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  ssl_ctx_st* native() const { return ctx_; }
  const TlsServerConfig& config() const { return config_; }
  // The serving certificate's notAfter and notBefore, in Unix seconds.
  double not_after() const { return not_after_; }
  double not_before() const { return not_before_; }
  // Its subject and serial (hex), for logs.
  const std::string& subject() const { return subject_; }
  const std::string& serial() const { return serial_; }
  // Every file read, with the bytes read: what the watcher compares.
  struct File {
    std::string path;
    std::string content;
  };
  const std::vector<File>& files_read() const { return files_; }
  // What loads but deserves a log line (an expired certificate, say).
  const std::vector<std::string>& warnings() const { return warnings_; }

  // The reason for a handshake that failed inside OpenSSL, from its error
  // code (ERR_get_error) and the connection's verify result.
  static TlsFailure classify(unsigned long openssl_error, const ssl_st* ssl);

 private:
  TlsContext() = default;
  static int verify(int preverified, x509_store_ctx_st* store);

  ssl_ctx_st* ctx_ = nullptr;
  TlsServerConfig config_;
  double not_after_ = 0;
  double not_before_ = 0;
  std::string subject_;
  std::string serial_;
  std::vector<File> files_;
  std::vector<std::string> warnings_;
};

// The subject alternative names of a certificate as Go's crypto/x509 spells
// them (DNS names, email addresses, IPs, URIs), for client_allowed_sans.
std::vector<std::string> certificate_sans(const x509_st* cert);

}  // namespace mg
