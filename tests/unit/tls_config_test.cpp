// tls_server_config as exporter-toolkit reads it: every key, its default,
// and each bad value refused with file, line, column and key.
#include "export/tls_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace mg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct Parsed {
  TlsServerConfig config;
  std::vector<std::string> errors;  // "line:col: key: reason"
};

// Parses `yaml`, a document whose one key is tls_server_config.
Parsed parse(const std::string& yaml, const std::string& dir = "/etc/memoryguard") {
  Parsed out;
  const YAML::Node root = YAML::Load(yaml);
  const auto it = root.begin();
  out.config = parse_tls_server_config(
      it->first, it->second, dir,
      [&](const YAML::Mark& at, const std::string& key, const std::string& reason) {
        out.errors.push_back(std::to_string(at.line + 1) + ":" + std::to_string(at.column + 1) +
                             ": " + key + ": " + reason);
      });
  return out;
}

TEST(TlsConfig, DefaultsAreExporterToolkits) {
  const Parsed p = parse("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n");
  ASSERT_THAT(p.errors, IsEmpty());
  const TlsServerConfig& c = p.config;
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.client_auth, ClientAuth::kNoClientCert);
  EXPECT_EQ(c.min_version, TlsVersion::kTls12);
  EXPECT_EQ(c.max_version, TlsVersion::kTls13);
  EXPECT_TRUE(c.prefer_server_cipher_suites);
  EXPECT_THAT(c.cipher_suites, IsEmpty());
  EXPECT_THAT(c.curve_preferences, IsEmpty());
  // Relative to the web config's directory, as Go's SetDirectory makes them.
  EXPECT_EQ(c.cert_file, "/etc/memoryguard/a.crt");
  EXPECT_EQ(c.key_file, "/etc/memoryguard/a.key");
  EXPECT_THAT(c.files(), ElementsAre("/etc/memoryguard/a.crt", "/etc/memoryguard/a.key"));
}

TEST(TlsConfig, EmptyOrNullIsPlainHttp) {
  for (const char* yaml : {"tls_server_config:\n", "tls_server_config: {}\n"}) {
    const Parsed p = parse(yaml);
    EXPECT_THAT(p.errors, IsEmpty()) << yaml;
    EXPECT_FALSE(p.config.enabled) << yaml;
  }
}

TEST(TlsConfig, EveryKey) {
  const Parsed p = parse(
      "tls_server_config:\n"
      "  cert_file: /tls/tls.crt\n"
      "  key_file: ../tls/tls.key\n"
      "  client_auth_type: RequireAndVerifyClientCert\n"
      "  client_ca_file: ca.crt\n"
      "  client_allowed_sans: [prometheus.monitoring.svc, 10.0.0.1, spiffe://c/ns/m/sa/p]\n"
      "  min_version: TLS11\n"
      "  max_version: TLS12\n"
      "  cipher_suites:\n"
      "    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
      "    - TLS_AES_128_GCM_SHA256\n"
      "    - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\n"
      "  curve_preferences: [X25519, CurveP256, CurveP384, CurveP521]\n"
      "  prefer_server_cipher_suites: false\n",
      "/etc/mg");
  ASSERT_THAT(p.errors, IsEmpty());
  const TlsServerConfig& c = p.config;
  EXPECT_EQ(c.cert_file, "/tls/tls.crt");
  EXPECT_EQ(c.key_file, "/etc/tls/tls.key");
  EXPECT_EQ(c.client_ca_file, "/etc/mg/ca.crt");
  EXPECT_EQ(c.client_auth, ClientAuth::kRequireAndVerifyClientCert);
  EXPECT_THAT(c.client_allowed_sans,
              ElementsAre("prometheus.monitoring.svc", "10.0.0.1", "spiffe://c/ns/m/sa/p"));
  EXPECT_EQ(c.min_version, TlsVersion::kTls11);
  EXPECT_EQ(c.max_version, TlsVersion::kTls12);
  // Mapped to OpenSSL's names, in order; the TLS 1.3 suite is accepted and,
  // as in Go, changes nothing.
  EXPECT_THAT(c.cipher_suites,
              ElementsAre("ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"));
  EXPECT_THAT(c.curve_preferences, ElementsAre("X25519", "P-256", "P-384", "P-521"));
  EXPECT_FALSE(c.prefer_server_cipher_suites);
}

TEST(TlsConfig, InlinePem) {
  const Parsed p = parse(
      "tls_server_config:\n  cert: |\n    -----BEGIN CERTIFICATE-----\n    x\n"
      "  key: k\n  client_auth_type: VerifyClientCertIfGiven\n  client_ca: c\n");
  ASSERT_THAT(p.errors, IsEmpty());
  EXPECT_EQ(p.config.cert, "-----BEGIN CERTIFICATE-----\nx\n");
  EXPECT_EQ(p.config.key, "k");
  EXPECT_EQ(p.config.client_ca, "c");
  EXPECT_THAT(p.config.files(), IsEmpty()) << "inline PEM has no file to watch";
  EXPECT_EQ(p.config.cert_at.line, 2);
}

TEST(TlsConfig, AllFiveClientAuthTypesAndTheOldName) {
  const std::vector<std::pair<std::string, ClientAuth>> modes = {
      {"NoClientCert", ClientAuth::kNoClientCert},
      {"RequestClientCert", ClientAuth::kRequestClientCert},
      {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
      {"RequireClientCert", ClientAuth::kRequireAnyClientCert},
      {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
      {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
  };
  for (const auto& [name, mode] : modes) {
    const Parsed p = parse(
        "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: " + name + "\n");
    EXPECT_THAT(p.errors, IsEmpty()) << name;
    EXPECT_EQ(p.config.client_auth, mode) << name;
  }
  EXPECT_EQ(to_string(ClientAuth::kRequireAnyClientCert), "RequireAnyClientCert");
}

TEST(TlsConfig, ARequiredCertificate) {
  auto with = [](const std::string& mode, const std::string& extra = "") {
    return parse("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: " + mode +
                 "\n  client_ca_file: ca\n" + extra)
        .config;
  };
  EXPECT_FALSE(requires_client_cert(with("RequestClientCert")));
  EXPECT_FALSE(requires_client_cert(with("VerifyClientCertIfGiven")));
  EXPECT_TRUE(requires_client_cert(with("RequireAnyClientCert")));
  EXPECT_TRUE(requires_client_cert(with("RequireAndVerifyClientCert")));
  // An allowed SAN can only be found in a certificate that was sent.
  EXPECT_TRUE(
      requires_client_cert(with("VerifyClientCertIfGiven", "  client_allowed_sans: [a]\n")));
  EXPECT_TRUE(verifies_client_cert(ClientAuth::kVerifyClientCertIfGiven));
  EXPECT_FALSE(verifies_client_cert(ClientAuth::kRequireAnyClientCert));
}

TEST(TlsConfig, OnlyTls13CiphersLeaveTls12WithoutSuites) {
  const Parsed p = parse(
      "tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: "
      "[TLS_AES_256_GCM_SHA384]\n");
  ASSERT_THAT(p.errors, IsEmpty());
  // Go: no TLS 1.2 suite is left, so only TLS 1.3 can be negotiated.
  EXPECT_EQ(p.config.min_version, TlsVersion::kTls13);
}

TEST(TlsConfig, AnEmptyCipherListMeansGosDefaults) {
  const Parsed p =
      parse("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: []\n");
  ASSERT_THAT(p.errors, IsEmpty());
  EXPECT_EQ(p.config.min_version, TlsVersion::kTls12);
  EXPECT_THAT(p.config.cipher_suites, IsEmpty());
  const Parsed capped = parse(
      "tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: []\n"
      "  max_version: TLS12\n");
  EXPECT_THAT(capped.errors, IsEmpty()) << "TLS 1.2 keeps its default suites";
}

TEST(TlsConfig, EachBadValueNamesLineColumnAndKey) {
  struct Case {
    std::string yaml;
    std::string error;
  };
  const std::string head = "tls_server_config:\n  cert_file: a\n  key_file: b\n";
  const std::vector<Case> cases = {
      {head + "  cert_flie: x\n", "4:3: tls_server_config.cert_flie: unknown key"},
      {head + "  client_auth_type: RequireCert\n",
       "4:21: tls_server_config.client_auth_type: must be one of NoClientCert, RequestClientCert, "
       "RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert; not "
       "\"RequireCert\""},
      {head + "  min_version: TLS111\n",
       "4:16: tls_server_config.min_version: must be one of TLS10, TLS11, TLS12, TLS13; not "
       "\"TLS111\""},
      {head + "  min_version: TLS13\n  max_version: TLS12\n",
       "5:16: tls_server_config.max_version: TLS12 is below min_version TLS13"},
      {head + "  cipher_suites:\n    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n"
              "    - TLS_RSA_WITH_AES_128_CBC_SHA\n",
       "6:7: tls_server_config.cipher_suites[1]: unknown cipher suite "
       "\"TLS_RSA_WITH_AES_128_CBC_SHA\""},
      {head + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n  max_version: TLS12\n",
       "4:18: tls_server_config.cipher_suites: holds no suite for TLS 1.0-1.2"},
      {head + "  curve_preferences: [X448]\n",
       "4:23: tls_server_config.curve_preferences[0]: unknown curve \"X448\""},
      {head + "  prefer_server_cipher_suites: maybe\n",
       "4:32: tls_server_config.prefer_server_cipher_suites: must be true or false"},
      {head + "  client_allowed_sans: prometheus\n",
       "4:24: tls_server_config.client_allowed_sans: must be a list of strings"},
      {head + "  cert_file: c\n", "4:3: tls_server_config.cert_file: duplicate key"},
      {head + "  client_ca_file: {x: 1}\n",
       "4:19: tls_server_config.client_ca_file: must be a string"},
      {"tls_server_config:\n  key_file: b\n",
       "1:1: tls_server_config: missing one of cert or cert_file"},
      {"tls_server_config:\n  cert_file: a\n",
       "1:1: tls_server_config: missing one of key or key_file"},
      {head + "  cert: inline\n", "4:9: tls_server_config.cert: give cert_file or cert, not both"},
      {head + "  client_ca_file: ca.crt\n",
       "4:19: tls_server_config.client_ca_file: client CAs are configured without a "
       "client_auth_type"},
      {head + "  client_auth_type: NoClientCert\n  client_allowed_sans: [a]\n",
       "5:24: tls_server_config.client_allowed_sans: needs a client_auth_type that asks"},
      // exporter-toolkit would serve plain HTTP here, without a word.
      {"tls_server_config:\n  min_version: TLS13\n",
       "1:1: tls_server_config: sets TLS options but no certificate"},
      {"tls_server_config: [a]\n", "1:20: tls_server_config: must be a mapping"},
  };
  for (const Case& c : cases) {
    const Parsed p = parse(c.yaml);
    ASSERT_EQ(p.errors.size(), 1u) << c.yaml << ::testing::PrintToString(p.errors);
    EXPECT_THAT(p.errors[0], HasSubstr(c.error)) << c.yaml;
  }
}

TEST(TlsConfig, AllThirteenOfGosCipherSuites) {
  std::string yaml = "tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites:\n";
  for (const char* suite :
       {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"}) {
    yaml += std::string("    - ") + suite + "\n";
  }
  const Parsed p = parse(yaml);  // exporter-toolkit's web_config_noAuth_allCiphers.good.yml
  EXPECT_THAT(p.errors, IsEmpty());
  EXPECT_EQ(p.config.cipher_suites.size(), 10u);
}

}  // namespace
}  // namespace mg
