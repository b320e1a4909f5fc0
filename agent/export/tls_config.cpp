#include "export/tls_config.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <filesystem>
#include <set>
#include <utility>

namespace mg {
namespace {

constexpr const char* kKey = "tls_server_config";

// crypto/tls's CipherSuites(), the list exporter-toolkit accepts by name, and
// their OpenSSL names. Go refuses the InsecureCipherSuites() names (RSA key
// exchange, 3DES, RC4, CBC-SHA256) and so does this list.
struct CipherName {
  std::string_view go;
  std::string_view openssl;  // empty: a TLS 1.3 suite, which Go does not let one configure
};
constexpr std::array<CipherName, 13> kCiphers = {{
    {"TLS_AES_128_GCM_SHA256", ""},
    {"TLS_AES_256_GCM_SHA384", ""},
    {"TLS_CHACHA20_POLY1305_SHA256", ""},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
}};

constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kCurves = {{
    {"CurveP256", "P-256"},
    {"CurveP384", "P-384"},
    {"CurveP521", "P-521"},
    {"X25519", "X25519"},
}};

constexpr std::array<std::pair<std::string_view, TlsVersion>, 4> kVersions = {{
    {"TLS10", TlsVersion::kTls10},
    {"TLS11", TlsVersion::kTls11},
    {"TLS12", TlsVersion::kTls12},
    {"TLS13", TlsVersion::kTls13},
}};

constexpr std::array<std::pair<std::string_view, ClientAuth>, 6> kClientAuth = {{
    {"NoClientCert", ClientAuth::kNoClientCert},
    {"RequestClientCert", ClientAuth::kRequestClientCert},
    {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
    // exporter-toolkit keeps this older name working.
    {"RequireClientCert", ClientAuth::kRequireAnyClientCert},
    {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
    {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
}};

// Go's config_util.JoinDir.
std::string join_dir(const std::string& dir, const std::string& file) {
  if (file.empty() || file.front() == '/') return file;
  return (std::filesystem::path(dir) / file).lexically_normal().string();
}

class Parser {
 public:
  Parser(const std::string& dir, const TlsConfigErrorFn& error) : dir_(dir), error_(error) {}

  TlsServerConfig parse(const YAML::Node& key, const YAML::Node& node) {
    TlsServerConfig c;
    if (node.IsNull()) return c;
    if (!node.IsMap()) {
      error_(node.Mark(), kKey, "must be a mapping");
      return c;
    }
    bool versions_given = false;
    bool ciphers_given = false;
    bool only_tls13_ciphers = true;
    bool client_auth_given = false;
    YAML::Node max_version_node;
    std::set<std::string> seen;
    for (const auto& kv : node) {
      const std::string name = kv.first.Scalar();
      const std::string full = std::string(kKey) + "." + name;
      const YAML::Node& v = kv.second;
      if (!seen.insert(name).second) {
        error_(kv.first.Mark(), full, "duplicate key");
        continue;
      }
      const YamlSpot spot{static_cast<int>(v.Mark().line) + 1,
                          static_cast<int>(v.Mark().column) + 1};
      // The three pairs: a file (joined with the web config's directory) or
      // inline PEM. The file's position wins for errors about the pair.
      struct Pair {
        const char* file_key;
        const char* text_key;
        std::string* file;
        std::string* text;
        YamlSpot* at;
      };
      const Pair pairs[] = {
          {"cert_file", "cert", &c.cert_file, &c.cert, &c.cert_at},
          {"key_file", "key", &c.key_file, &c.key, &c.key_at},
          {"client_ca_file", "client_ca", &c.client_ca_file, &c.client_ca, &c.client_ca_at}};
      const Pair* pair = nullptr;
      for (const Pair& candidate : pairs) {
        if (name == candidate.file_key || name == candidate.text_key) pair = &candidate;
      }
      if (pair != nullptr && name == pair->file_key) {
        *pair->file = join_dir(dir_, text(v, full));
        *pair->at = spot;
      } else if (pair != nullptr) {
        *pair->text = text(v, full);
        if (pair->file->empty()) *pair->at = spot;
      } else if (name == "client_auth_type") {
        const std::string mode = text(v, full);
        if (!mode.empty()) {
          client_auth_given = true;
          if (!lookup(kClientAuth, mode, c.client_auth)) {
            error_(v.Mark(), full,
                   "must be one of NoClientCert, RequestClientCert, RequireAnyClientCert, "
                   "VerifyClientCertIfGiven, RequireAndVerifyClientCert; not \"" +
                       quote(mode) + "\"");
          }
        }
      } else if (name == "client_allowed_sans") {
        c.client_allowed_sans = list(v, full);
      } else if (name == "min_version" || name == "max_version") {
        versions_given = true;
        TlsVersion& version = name == "min_version" ? c.min_version : c.max_version;
        const std::string value = text(v, full);
        if (!value.empty() && !lookup(kVersions, value, version)) {
          error_(v.Mark(), full,
                 "must be one of TLS10, TLS11, TLS12, TLS13; not \"" + quote(value) + "\"");
        }
        if (name == "max_version") max_version_node = v;
      } else if (name == "cipher_suites") {
        // exporter-toolkit applies the list only when it has entries: an
        // empty one (a template's, say) means Go's defaults, not TLS 1.3 only.
        ciphers_given = !v.IsNull() && !(v.IsSequence() && v.size() == 0);
        std::size_t i = 0;
        for (const std::string& suite : list(v, full)) {
          const auto* found = find_cipher(suite);
          if (found == nullptr) {
            error_(v[i].Mark(), full + "[" + std::to_string(i) + "]",
                   "unknown cipher suite \"" + quote(suite) +
                       "\" (Go's names, from crypto/tls CipherSuites(), e.g. "
                       "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256; Go's insecure suites are refused)");
          } else if (!found->openssl.empty()) {
            c.cipher_suites.emplace_back(found->openssl);
            only_tls13_ciphers = false;
          }
          ++i;
        }
      } else if (name == "curve_preferences") {
        std::size_t i = 0;
        for (const std::string& curve : list(v, full)) {
          std::string_view openssl;
          if (!lookup(kCurves, curve, openssl)) {
            error_(v[i].Mark(), full + "[" + std::to_string(i) + "]",
                   "unknown curve \"" + quote(curve) +
                       "\" (CurveP256, CurveP384, CurveP521 or X25519)");
          } else {
            c.curve_preferences.emplace_back(openssl);
          }
          ++i;
        }
      } else if (name == "prefer_server_cipher_suites") {
        if (!v.IsScalar() || !YAML::convert<bool>::decode(v, c.prefer_server_cipher_suites)) {
          error_(v.Mark(), full, "must be true or false");
        }
      } else {
        error_(kv.first.Mark(), full, "unknown key");
      }
    }

    c.enabled = !c.cert_file.empty() || !c.cert.empty() || !c.key_file.empty() || !c.key.empty() ||
                !c.client_ca_file.empty() || !c.client_ca.empty() || client_auth_given;
    if (!c.enabled) {
      // exporter-toolkit would quietly serve plain HTTP here; a file that
      // asks for TLS settings surely did not mean that.
      if (node.size() > 0) {
        error_(key.Mark(), kKey,
               "sets TLS options but no certificate: add cert_file and key_file (or cert and "
               "key), or remove tls_server_config to serve plain HTTP");
      }
      return c;
    }
    both(node, "cert_file", "cert");
    both(node, "key_file", "key");
    both(node, "client_ca_file", "client_ca");
    if (c.cert_file.empty() && c.cert.empty()) {
      error_(key.Mark(), kKey, "missing one of cert or cert_file");
    }
    if (c.key_file.empty() && c.key.empty()) {
      error_(key.Mark(), kKey, "missing one of key or key_file");
    }
    const bool asks_for_certs = c.client_auth != ClientAuth::kNoClientCert;
    if (!asks_for_certs && (!c.client_ca_file.empty() || !c.client_ca.empty())) {
      error_(node[c.client_ca_file.empty() ? "client_ca" : "client_ca_file"].Mark(),
             std::string(kKey) + (c.client_ca_file.empty() ? ".client_ca" : ".client_ca_file"),
             "client CAs are configured without a client_auth_type that asks for client "
             "certificates (e.g. RequireAndVerifyClientCert)");
    }
    if (!asks_for_certs && !c.client_allowed_sans.empty()) {
      error_(node["client_allowed_sans"].Mark(), std::string(kKey) + ".client_allowed_sans",
             "needs a client_auth_type that asks for client certificates (e.g. "
             "RequireAndVerifyClientCert): without one no certificate is sent to check");
    }
    if (versions_given && c.min_version > c.max_version) {
      error_(max_version_node.IsDefined() ? max_version_node.Mark() : key.Mark(),
             std::string(kKey) + ".max_version",
             std::string(to_string(c.max_version)) + " is below min_version " +
                 std::string(to_string(c.min_version)) + ": no version is left to speak");
    }
    if (ciphers_given && only_tls13_ciphers && c.max_version < TlsVersion::kTls13) {
      error_(node["cipher_suites"].Mark(), std::string(kKey) + ".cipher_suites",
             "holds no suite for TLS 1.0-1.2 (TLS 1.3 suites are not configurable) and "
             "max_version is below TLS13: no handshake could succeed");
    }
    if (ciphers_given && only_tls13_ciphers) c.min_version = TlsVersion::kTls13;
    return c;
  }

 private:
  template <std::size_t N, class T>
  static bool lookup(const std::array<std::pair<std::string_view, T>, N>& table,
                     const std::string& name, T& out) {
    for (const auto& [n, value] : table) {
      if (n == name) {
        out = value;
        return true;
      }
    }
    return false;
  }

  static const CipherName* find_cipher(const std::string& name) {
    for (const auto& c : kCiphers) {
      if (c.go == name) return &c;
    }
    return nullptr;
  }

  // At most 120 bytes of a value in a message.
  static std::string quote(const std::string& value) {
    return value.size() <= 120 ? value : value.substr(0, 120) + "...";
  }

  std::string text(const YAML::Node& v, const std::string& key) {
    if (v.IsNull()) return {};
    if (!v.IsScalar()) {
      error_(v.Mark(), key, "must be a string");
      return {};
    }
    return v.Scalar();
  }

  std::vector<std::string> list(const YAML::Node& v, const std::string& key) {
    std::vector<std::string> out;
    if (v.IsNull()) return out;
    if (!v.IsSequence()) {
      error_(v.Mark(), key, "must be a list of strings");
      return out;
    }
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!v[i].IsScalar()) {
        error_(v[i].Mark(), key + "[" + std::to_string(i) + "]", "must be a string");
        out.emplace_back();
        continue;
      }
      out.push_back(v[i].Scalar());
    }
    return out;
  }

  void both(const YAML::Node& node, const char* file_key, const char* inline_key) {
    const YAML::Node file = node[file_key];
    const YAML::Node text = node[inline_key];
    if (file.IsDefined() && !file.IsNull() && text.IsDefined() && !text.IsNull()) {
      error_(text.Mark(), std::string(kKey) + "." + inline_key,
             std::string("give ") + file_key + " or " + inline_key + ", not both");
    }
  }

  const std::string& dir_;
  const TlsConfigErrorFn& error_;
};

}  // namespace

std::vector<std::string> TlsServerConfig::files() const {
  std::vector<std::string> out;
  for (const std::string* f : {&cert_file, &key_file, &client_ca_file}) {
    if (!f->empty()) out.push_back(*f);
  }
  return out;
}

TlsServerConfig parse_tls_server_config(const YAML::Node& key, const YAML::Node& node,
                                        const std::string& dir, const TlsConfigErrorFn& error) {
  return Parser(dir, error).parse(key, node);
}

std::string_view to_string(ClientAuth mode) {
  for (const auto& [name, value] : kClientAuth) {
    if (value == mode && name != "RequireClientCert") return name;
  }
  return "?";
}

std::string_view to_string(TlsVersion version) {
  for (const auto& [name, value] : kVersions) {
    if (value == version) return name;
  }
  return "?";
}

bool requires_client_cert(const TlsServerConfig& config) {
  // Go looks up the allowed SANs in the client's certificate even when the
  // mode lets a client send none, and drops such a connection: a list of
  // allowed SANs makes a certificate necessary.
  return config.client_auth == ClientAuth::kRequireAnyClientCert ||
         config.client_auth == ClientAuth::kRequireAndVerifyClientCert ||
         (config.client_auth != ClientAuth::kNoClientCert && !config.client_allowed_sans.empty());
}

bool verifies_client_cert(ClientAuth mode) {
  return mode == ClientAuth::kVerifyClientCertIfGiven ||
         mode == ClientAuth::kRequireAndVerifyClientCert;
}

}  // namespace mg
