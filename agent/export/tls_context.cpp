#include "export/tls_context.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>

namespace mg {
namespace {

// A certificate chain or a CA bundle is a few KiB; a path that names
// something else (/dev/zero, a FIFO) must fail, not hang the reload.
constexpr std::size_t kMaxPemFile = 1024 * 1024;

// Go's default TLS 1.0-1.2 suites, in its order (crypto/tls,
// cipherSuitesPreferenceOrder, without the RSA key exchanges Go dropped
// from its defaults).
constexpr const char* kGoDefaultCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA";

constexpr std::array<std::string_view, kTlsFailureCount> kFailureNames = {
    "plain_http",     "timeout",     "eof",        "version",      "cipher",
    "no_client_cert", "client_cert", "client_san", "client_alert", "other"};

// The TlsContext of an SSL_CTX, for the verify callback.
int context_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// The most specific thing OpenSSL said, for an error message.
std::string openssl_reason() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "unknown error";
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : "error " + std::to_string(code);
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

Bio memory_bio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every CERTIFICATE block of a PEM text, in order.
std::vector<Cert> read_certificates(const std::string& pem) {
  std::vector<Cert> out;
  const Bio bio = memory_bio(pem);
  if (!bio) return out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  ERR_clear_error();  // the end of the text reads as "no start line"
  return out;
}

// A regular file of at most kMaxPemFile bytes; an error message otherwise.
std::variant<std::string, std::string> read_pem_file(const std::string& path) {
  using Result = std::variant<std::string, std::string>;
  auto failed = [&](const std::string& why) {
    return Result(std::in_place_index<1>, "cannot read " + path + ": " + why);
  };
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return failed(std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return failed("not a regular file");
  }
  std::string content;
  char buf[16384];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return failed(std::strerror(err));
    }
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
    if (content.size() > kMaxPemFile) {
      close(fd);
      return failed("larger than 1 MiB");
    }
  }
  close(fd);
  return Result(std::in_place_index<0>, std::move(content));
}

double unix_seconds(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<double>(timegm(&tm));
}

std::string name_of(const X509* cert) {
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  return buf;
}

std::string serial_of(const X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (bn == nullptr) return {};
  char* hex = BN_bn2hex(bn);
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

// Offers HTTP/1.1, the only protocol spoken here, to a client that asks by
// ALPN (Go's client offers h2 first); a client that does not ask gets none.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof kHttp11, in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

std::string_view to_string(TlsFailure failure) {
  return kFailureNames[static_cast<std::size_t>(failure)];
}

std::vector<std::string> certificate_sans(const X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    auto text = [](const ASN1_STRING* s) {
      return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<std::size_t>(ASN1_STRING_length(s)));
    };
    switch (name->type) {
      case GEN_DNS:
        out.push_back(text(name->d.dNSName));
        break;
      case GEN_EMAIL:
        out.push_back(text(name->d.rfc822Name));
        break;
      case GEN_URI:
        out.push_back(text(name->d.uniformResourceIdentifier));
        break;
      case GEN_IPADD: {
        const std::string raw = text(name->d.iPAddress);
        char buf[INET6_ADDRSTRLEN] = {};
        // Go prints an IPv4-mapped IPv6 address as the IPv4 one.
        static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (raw.size() == 4 ||
            (raw.size() == 16 && std::memcmp(raw.data(), kMapped, sizeof kMapped) == 0)) {
          inet_ntop(AF_INET, raw.data() + raw.size() - 4, buf, sizeof buf);
        } else if (raw.size() == 16) {
          inet_ntop(AF_INET6, raw.data(), buf, sizeof buf);
        }
        if (buf[0] != '\0') out.emplace_back(buf);
        break;
      }
      default:
        break;
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

int TlsContext::verify(int preverified, X509_STORE_CTX* store) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const auto* self = ssl != nullptr ? static_cast<const TlsContext*>(SSL_CTX_get_ex_data(
                                          SSL_get_SSL_CTX(ssl), context_index()))
                                    : nullptr;
  if (self == nullptr) return 0;
  const TlsServerConfig& c = self->config_;
  // RequestClientCert and RequireAnyClientCert take any certificate, as Go
  // does; the SAN check below still applies to it.
  int ok = verifies_client_cert(c.client_auth) ? preverified : 1;
  if (ok == 1 && X509_STORE_CTX_get_error_depth(store) == 0 && !c.client_allowed_sans.empty()) {
    const auto sans = certificate_sans(X509_STORE_CTX_get_current_cert(store));
    const bool allowed = std::any_of(sans.begin(), sans.end(), [&](const std::string& san) {
      return std::find(c.client_allowed_sans.begin(), c.client_allowed_sans.end(), san) !=
             c.client_allowed_sans.end();
    });
    if (!allowed) {
      // Tells classify() that the chain was fine and the SAN was not.
      X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
      ok = 0;
    }
  }
  return ok;
}

TlsFailure TlsContext::classify(unsigned long code, const ssl_st* ssl) {
  if (ERR_GET_LIB(code) != ERR_LIB_SSL) return TlsFailure::kOther;
  const int reason = ERR_GET_REASON(code);
  // OpenSSL reports an alert received from the peer as 1000 + its number.
  if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
    return TlsFailure::kClientAlert;
  }
  switch (reason) {
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
      return TlsFailure::kPlainHttp;
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_VERSION_TOO_HIGH:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
      return TlsFailure::kVersion;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_NO_SUITABLE_KEY_SHARE:
    case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
    case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
      return TlsFailure::kCipher;
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      return TlsFailure::kNoClientCert;
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
      if (ssl != nullptr && SSL_get_verify_result(ssl) == X509_V_ERR_APPLICATION_VERIFICATION) {
        return TlsFailure::kClientSan;
      }
      return TlsFailure::kClientCert;
    default:
      return TlsFailure::kOther;
  }
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

std::variant<std::shared_ptr<const TlsContext>, std::vector<TlsLoadError>> TlsContext::build(
    const TlsServerConfig& config) {
  std::vector<TlsLoadError> errors;
  auto self = std::shared_ptr<TlsContext>(new TlsContext());
  self->config_ = config;
  const std::string prefix = "tls_server_config.";

  // The PEM text of one of the three pairs, read from its file or inline.
  auto pem = [&](const std::string& file, const std::string& text, const char* file_key,
                 const YamlSpot& at) -> std::optional<std::string> {
    if (file.empty()) return text;
    auto read = read_pem_file(file);
    if (read.index() == 1) {
      errors.push_back({prefix + file_key, at, std::get<1>(read)});
      return std::nullopt;
    }
    self->files_.push_back({file, std::get<0>(read)});
    return std::get<0>(std::move(read));
  };
  auto where = [](const std::string& file, const char* key) {
    return file.empty() ? std::string(key) + " (inline)" : file;
  };

  const auto cert_pem = pem(config.cert_file, config.cert, "cert_file", config.cert_at);
  const auto key_pem = pem(config.key_file, config.key, "key_file", config.key_at);
  std::optional<std::string> ca_pem;
  if (!config.client_ca_file.empty() || !config.client_ca.empty()) {
    ca_pem = pem(config.client_ca_file, config.client_ca, "client_ca_file", config.client_ca_at);
  }
  const std::string cert_key = prefix + (config.cert_file.empty() ? "cert" : "cert_file");
  const std::string key_key = prefix + (config.key_file.empty() ? "key" : "key_file");
  const std::string ca_key =
      prefix + (config.client_ca_file.empty() ? "client_ca" : "client_ca_file");

  std::vector<Cert> chain;
  if (cert_pem) {
    chain = read_certificates(*cert_pem);
    if (chain.empty()) {
      errors.push_back(
          {cert_key, config.cert_at, "no PEM certificate in " + where(config.cert_file, "cert")});
    }
  }
  Key key;
  if (key_pem) {
    const Bio bio = memory_bio(*key_pem);
    // A callback that gives no password: an encrypted key fails here instead
    // of OpenSSL asking for its passphrase on the terminal.
    key.reset(bio ? PEM_read_bio_PrivateKey(
                        bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr)
                  : nullptr);
    if (!key) {
      errors.push_back({key_key, config.key_at,
                        "no usable PEM private key in " + where(config.key_file, "key") + ": " +
                            openssl_reason() + " (an encrypted key is not supported)"});
    }
  }
  std::vector<Cert> client_cas;
  if (ca_pem) {
    client_cas = read_certificates(*ca_pem);
    if (client_cas.empty()) {
      errors.push_back({ca_key, config.client_ca_at,
                        "no PEM certificate in " + where(config.client_ca_file, "client_ca")});
    }
  }
  if (!errors.empty()) return errors;

  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    errors.push_back({"tls_server_config", {}, "cannot create a TLS context: " + openssl_reason()});
    return errors;
  }
  self->ctx_ = ctx;
  SSL_CTX_set_ex_data(ctx, context_index(), self.get());

  const X509* leaf = chain.front().get();
  if (SSL_CTX_use_certificate(ctx, chain.front().get()) != 1) {
    errors.push_back(
        {cert_key, config.cert_at, "the certificate is not usable: " + openssl_reason()});
    return errors;
  }
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1) {
      errors.push_back(
          {cert_key, config.cert_at, "the certificate chain is not usable: " + openssl_reason()});
      return errors;
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    errors.push_back(
        {key_key, config.key_at,
         "the private key does not match the certificate of " + where(config.cert_file, "cert")});
    return errors;
  }

  SSL_CTX_set_min_proto_version(ctx, static_cast<int>(config.min_version));
  SSL_CTX_set_max_proto_version(ctx, static_cast<int>(config.max_version));
  // OpenSSL 3 speaks TLS 1.0 and 1.1 only at security level 0; Go speaks
  // them when min_version allows.
  if (config.min_version < TlsVersion::kTls12) SSL_CTX_set_security_level(ctx, 0);
  std::string ciphers;
  for (const auto& c : config.cipher_suites) ciphers += (ciphers.empty() ? "" : ":") + c;
  if (ciphers.empty()) ciphers = kGoDefaultCiphers;
  if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
    errors.push_back({prefix + "cipher_suites", {}, "not usable here: " + openssl_reason()});
    return errors;
  }
  if (!config.curve_preferences.empty()) {
    std::string groups;
    for (const auto& g : config.curve_preferences) groups += (groups.empty() ? "" : ":") + g;
    if (SSL_CTX_set1_groups_list(ctx, groups.c_str()) != 1) {
      errors.push_back({prefix + "curve_preferences", {}, "not usable here: " + openssl_reason()});
      return errors;
    }
  }
  long options = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET;
  if (config.prefer_server_cipher_suites) options |= SSL_OP_CIPHER_SERVER_PREFERENCE;
  SSL_CTX_set_options(ctx, options);
  // No session resumption: every connection does a full handshake, so a new
  // client CA or SAN list applies to every connection made after it.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  // An idle connection holds no read or write buffer.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);

  if (config.client_auth != ClientAuth::kNoClientCert) {
    int mode = SSL_VERIFY_PEER;
    if (requires_client_cert(config)) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, &TlsContext::verify);
    static const unsigned char kSessionContext[] = "memoryguard";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
    if (!client_cas.empty()) {
      X509_STORE* store = SSL_CTX_get_cert_store(ctx);
      for (const auto& ca : client_cas) {
        if (X509_STORE_add_cert(store, ca.get()) != 1 ||
            SSL_CTX_add_client_CA(ctx, ca.get()) != 1) {
          errors.push_back({ca_key, config.client_ca_at,
                            "a client CA certificate is not usable: " + openssl_reason()});
          return errors;
        }
      }
    } else if (verifies_client_cert(config.client_auth)) {
      // As Go does with no ClientCAs: the system's roots.
      SSL_CTX_set_default_verify_paths(ctx);
      self->warnings_.push_back(
          "client certificates are verified against the system's CA certificates, so any "
          "certificate a public CA issued is accepted; set client_ca_file");
    }
  }

  self->not_after_ = unix_seconds(X509_get0_notAfter(leaf));
  self->not_before_ = unix_seconds(X509_get0_notBefore(leaf));
  self->subject_ = name_of(leaf);
  self->serial_ = serial_of(leaf);
  const double now = static_cast<double>(std::time(nullptr));
  if (self->not_after_ < now) {
    self->warnings_.push_back("the serving certificate has expired: clients will refuse it");
  } else if (self->not_before_ > now) {
    self->warnings_.push_back("the serving certificate is not valid yet: clients will refuse it");
  }
  ERR_clear_error();
  return std::shared_ptr<const TlsContext>(std::move(self));
}

}  // namespace mg
