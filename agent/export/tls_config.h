#pragma once
// tls_server_config of --web.config.file, with the keys, defaults and
// meanings of exporter-toolkit (docs/web-configuration.md, web/tls_config.go),
// parsed and checked into a plain struct. Reading the certificates and
// building the OpenSSL context is tls_context's job.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace YAML {
class Node;
struct Mark;
}  // namespace YAML

namespace mg {

// Go's tls.ClientAuthType, by exporter-toolkit's names.
enum class ClientAuth {
  kNoClientCert,
  kRequestClientCert,           // asked for, neither required nor verified
  kRequireAnyClientCert,        // required, not verified
  kVerifyClientCertIfGiven,     // verified when sent
  kRequireAndVerifyClientCert,  // required and verified
};

// The protocol numbers, so they compare as versions do.
enum class TlsVersion { kTls10 = 0x0301, kTls11 = 0x0302, kTls12 = 0x0303, kTls13 = 0x0304 };

// Where a key sat in the file, for errors found once the file is parsed (an
// unreadable cert_file, a key that does not match).
struct YamlSpot {
  int line = 1;
  int column = 1;
};

struct TlsServerConfig {
  // Each pair is a file or inline PEM, never both. Relative paths are
  // already joined with the web config's directory, as exporter-toolkit does.
  std::string cert_file, cert;
  YamlSpot cert_at;
  std::string key_file, key;
  YamlSpot key_at;
  std::string client_ca_file, client_ca;
  YamlSpot client_ca_at;

  ClientAuth client_auth = ClientAuth::kNoClientCert;
  std::vector<std::string> client_allowed_sans;  // exact matches: DNS, IP, email or URI SAN
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  // OpenSSL names of the TLS 1.0-1.2 suites, in the file's order; empty: Go's
  // defaults. TLS 1.3 suites are accepted in the file but, as in Go, not
  // configurable: every TLS 1.3 suite stays on.
  std::vector<std::string> cipher_suites;
  std::vector<std::string> curve_preferences;  // OpenSSL group names; empty: OpenSSL's
  bool prefer_server_cipher_suites = true;

  // exporter-toolkit's IsEnabled(): a certificate, key, client CA or
  // client_auth_type is given. Otherwise the endpoint speaks plain HTTP.
  bool enabled = false;

  // The files the context is built from, for the watcher: a change of any
  // of them is a rotation.
  std::vector<std::string> files() const;
};

using TlsConfigErrorFn =
    std::function<void(const YAML::Mark& at, const std::string& key, const std::string& reason)>;

// Parses `value`, the mapping under the key `key` (tls_server_config). `dir`
// is the directory of the web config file. Problems go to `error`, with the
// full dotted key.
TlsServerConfig parse_tls_server_config(const YAML::Node& key, const YAML::Node& value,
                                        const std::string& dir, const TlsConfigErrorFn& error);

std::string_view to_string(ClientAuth mode);
std::string_view to_string(TlsVersion version);

// Whether a handshake without a client certificate fails.
bool requires_client_cert(const TlsServerConfig& config);
// Whether a client certificate, when sent, must chain to a trusted CA.
bool verifies_client_cert(ClientAuth mode);

}  // namespace mg
