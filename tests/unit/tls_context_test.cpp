// Certificates, keys and client CAs as the web config loads them: each
// unreadable, mismatched or malformed one is an error naming the file's line,
// column and key; a chain and inline PEM load; a SAN is spelled as Go spells it.
#include "export/tls_context.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "export/web_config.h"
#include "pki/test_pki.h"

namespace mg {
namespace {

using mgt_pki::Issued;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// YAML's literal block, indented under a key at two spaces.
std::string block(const std::string& pem) {
  std::string out = "|\n";
  std::istringstream lines(pem);
  for (std::string line; std::getline(lines, line);) out += "    " + line + "\n";
  return out;
}

class TlsContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mg_tls_context_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    pki_ = std::make_unique<mgt_pki::TestPki>(dir_, mgt_pki::run_and_wait);
    ca_ = pki_->ca("ca");
    server_ = pki_->leaf("server", ca_, "IP:127.0.0.1,DNS:localhost", 30, "rsa");
    other_ = pki_->leaf("other", ca_, "DNS:other");
    ASSERT_TRUE(pki_->failed().empty()) << pki_->failed();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::variant<WebConfig, std::vector<std::string>> load(const std::string& yaml) {
    std::ofstream(dir_ + "/web.yml") << yaml;
    return WebConfig::load(dir_ + "/web.yml");
  }
  std::vector<std::string> errors(const std::string& yaml) {
    auto r = load(yaml);
    if (std::holds_alternative<WebConfig>(r)) return {};
    return std::get<1>(r);
  }
  std::string pair(const std::string& cert, const std::string& key) const {
    return "tls_server_config:\n  cert_file: " + cert + "\n  key_file: " + key + "\n";
  }

  std::string dir_;
  std::unique_ptr<mgt_pki::TestPki> pki_;
  Issued ca_, server_, other_;
};

TEST_F(TlsContextTest, ACertificateAndItsKeyLoad) {
  auto r = load(pair(server_.cert, server_.key));
  ASSERT_TRUE(std::holds_alternative<WebConfig>(r)) << ::testing::PrintToString(std::get<1>(r));
  const auto& tls = std::get<WebConfig>(r).tls();
  ASSERT_NE(tls, nullptr);
  EXPECT_EQ(tls->subject(), "/CN=server");
  EXPECT_EQ(tls->serial(), mgt_pki::pem_serial(mgt_pki::read_text(server_.cert)));
  EXPECT_GT(tls->not_after(), tls->not_before());
  EXPECT_TRUE(tls->warnings().empty());
  // The watcher follows the web config and both files.
  EXPECT_THAT(std::get<WebConfig>(r).watched_files(),
              ElementsAre(dir_ + "/web.yml", server_.cert, server_.key));
}

TEST_F(TlsContextTest, EachUnusableFileIsAnErrorAtItsKey) {
  const std::string web = dir_ + "/web.yml";
  EXPECT_THAT(errors(pair("missing.crt", server_.key)),
              ElementsAre(web + ":2:14: tls_server_config.cert_file: cannot read " + dir_ +
                          "/missing.crt: No such file or directory"));
  EXPECT_THAT(errors(pair(server_.cert, other_.key)),
              ElementsAre(web +
                          ":3:13: tls_server_config.key_file: the private key does not "
                          "match the certificate of " +
                          server_.cert));
  // A key where the certificate belongs, and the other way round.
  EXPECT_THAT(
      errors(pair(server_.key, server_.cert)),
      ElementsAre(HasSubstr(":2:14: tls_server_config.cert_file: no PEM certificate in"),
                  HasSubstr(":3:13: tls_server_config.key_file: no usable PEM private key")));
  // Neither hangs nor fills memory: a device and a FIFO are refused.
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT(errors(pair("/dev/zero", fifo)),
              ElementsAre(HasSubstr("cert_file: cannot read /dev/zero: not a regular file"),
                          HasSubstr("key_file: cannot read " + fifo + ": not a regular file")));
  std::ofstream(dir_ + "/huge.crt") << std::string(1100 * 1024, 'A');
  EXPECT_THAT(
      errors(pair("huge.crt", server_.key)),
      ElementsAre(HasSubstr("cert_file: cannot read " + dir_ + "/huge.crt: larger than 1 MiB")));
  chmod(server_.key.c_str(), 0);
  if (geteuid() != 0) {  // root reads it anyway
    EXPECT_THAT(
        errors(pair(server_.cert, server_.key)),
        ElementsAre(HasSubstr("key_file: cannot read " + server_.key + ": Permission denied")));
  }
}

TEST_F(TlsContextTest, AnEncryptedKeyIsRefusedWithoutAPrompt) {
  const std::string encrypted = dir_ + "/encrypted.key";
  ASSERT_TRUE(mgt_pki::run_and_wait({mgt_pki::kOpenssl, "pkey", "-in", server_.key, "-aes256",
                                     "-passout", "pass:secret", "-out", encrypted}));
  EXPECT_THAT(errors(pair(server_.cert, encrypted)),
              ElementsAre(HasSubstr("key_file: no usable PEM private key in " + encrypted)));
}

TEST_F(TlsContextTest, InlinePemAndAChain) {
  const Issued inter = pki_->intermediate("inter", ca_);
  const Issued leaf = pki_->leaf("leaf", inter, "IP:127.0.0.1");
  ASSERT_TRUE(pki_->failed().empty()) << pki_->failed();
  const std::string chain = mgt_pki::read_text(leaf.cert) + mgt_pki::read_text(inter.cert);
  auto r = load("tls_server_config:\n  cert: " + block(chain) +
                "  key: " + block(mgt_pki::read_text(leaf.key)) +
                "  client_auth_type: RequireAndVerifyClientCert\n  client_ca: " +
                block(mgt_pki::read_text(ca_.cert)));
  ASSERT_TRUE(std::holds_alternative<WebConfig>(r)) << ::testing::PrintToString(std::get<1>(r));
  const auto& tls = std::get<WebConfig>(r).tls();
  EXPECT_EQ(tls->subject(), "/CN=leaf");
  EXPECT_TRUE(tls->files_read().empty());
  // The intermediate goes out with the leaf.
  STACK_OF(X509)* extra = nullptr;
  SSL_CTX_get0_chain_certs(tls->native(), &extra);
  EXPECT_EQ(extra != nullptr ? sk_X509_num(extra) : 0, 1);

  EXPECT_THAT(errors("tls_server_config:\n  cert: nothing\n  key_file: " + leaf.key + "\n"),
              ElementsAre(dir_ + "/web.yml:2:9: tls_server_config.cert: no PEM certificate in "
                                 "cert (inline)"));
  EXPECT_THAT(
      errors(pair(server_.cert, server_.key) +
             "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: " + server_.key +
             "\n"),
      ElementsAre(HasSubstr(":5:19: tls_server_config.client_ca_file: no PEM certificate")));
}

TEST_F(TlsContextTest, VerifyingWithoutAClientCaUsesTheSystemsAndSaysSo) {
  auto r = load(pair(server_.cert, server_.key) + "  client_auth_type: VerifyClientCertIfGiven\n");
  ASSERT_TRUE(std::holds_alternative<WebConfig>(r));
  EXPECT_THAT(std::get<WebConfig>(r).tls()->warnings(),
              ElementsAre(HasSubstr("verified against the system's CA certificates")));
}

TEST_F(TlsContextTest, SansAreSpelledAsGoSpellsThem) {
  const Issued many = pki_->leaf(
      "many", ca_,
      "DNS:a.example,email:ops@example.com,IP:10.0.0.1,IP:2001:db8::1,IP:::ffff:192.0.2.1,"
      "URI:spiffe://cluster/ns/monitoring/sa/prometheus");
  ASSERT_TRUE(pki_->failed().empty()) << pki_->failed();
  const std::string pem = mgt_pki::read_text(many.cert);
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  ASSERT_NE(cert, nullptr);
  EXPECT_THAT(certificate_sans(cert),
              ElementsAre("a.example", "ops@example.com", "10.0.0.1", "2001:db8::1", "192.0.2.1",
                          "spiffe://cluster/ns/monitoring/sa/prometheus"));
  X509_free(cert);
  BIO_free(bio);
}

}  // namespace
}  // namespace mg
