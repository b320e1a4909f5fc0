#include "pki/test_pki.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <fstream>
#include <random>
#include <sstream>
#include <utility>

extern char** environ;

namespace mgt_pki {

bool run_and_wait(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return false;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return false;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TestPki::TestPki(std::string dir, Runner run) : dir_(std::move(dir)), run_(std::move(run)) {
  // Serials differ from one run to the next, as a real CA's do, so a test
  // that tells two certificates apart by serial cannot be fooled by a cache.
  serial_ = static_cast<int>(std::random_device()() % 1000000) * 100;
}

bool TestPki::run(const std::vector<std::string>& argv) {
  if (run_(argv)) return true;
  std::string line;
  for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
  failed_ = line;
  return false;
}

std::vector<std::string> TestPki::new_key(const std::string& key_type,
                                          const std::string& key) const {
  if (key_type == "rsa") return {"-newkey", "rsa:2048", "-nodes", "-keyout", key};
  return {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key};
}

Issued TestPki::ca(const std::string& name) {
  Issued out{path(name + ".crt"), path(name + ".key")};
  std::vector<std::string> argv = {kOpenssl,
                                   "req",
                                   "-x509",
                                   "-days",
                                   "3650",
                                   "-subj",
                                   "/CN=" + name,
                                   "-addext",
                                   "basicConstraints=critical,CA:TRUE",
                                   "-addext",
                                   "keyUsage=critical,keyCertSign,cRLSign",
                                   "-out",
                                   out.cert};
  const auto key = new_key("ec", out.key);
  argv.insert(argv.begin() + 3, key.begin(), key.end());
  run(argv);
  return out;
}

Issued TestPki::intermediate(const std::string& name, const Issued& parent) {
  Issued out{path(name + ".crt"), path(name + ".key")};
  std::vector<std::string> req = {kOpenssl,           "req", "-new", "-subj", "/CN=" + name, "-out",
                                  path(name + ".csr")};
  const auto key = new_key("ec", out.key);
  req.insert(req.begin() + 3, key.begin(), key.end());
  std::ofstream(path(name + ".ext"))
      << "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";
  if (run(req)) {
    run({kOpenssl, "x509", "-req", "-in", path(name + ".csr"), "-CA", parent.cert, "-CAkey",
         parent.key, "-set_serial", std::to_string(++serial_), "-days", "365", "-extfile",
         path(name + ".ext"), "-out", out.cert});
  }
  return out;
}

Issued TestPki::leaf(const std::string& name, const Issued& issuer, const std::string& sans,
                     int days, const std::string& key_type) {
  Issued out{path(name + ".crt"), path(name + ".key")};
  std::vector<std::string> req = {kOpenssl,           "req", "-new", "-subj", "/CN=" + name, "-out",
                                  path(name + ".csr")};
  const auto key = new_key(key_type, out.key);
  req.insert(req.begin() + 3, key.begin(), key.end());
  std::ofstream ext(path(name + ".ext"));
  ext << "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n";
  if (!sans.empty()) ext << "subjectAltName=" << sans << "\n";
  ext.close();
  if (run(req)) {
    run({kOpenssl, "x509", "-req", "-in", path(name + ".csr"), "-CA", issuer.cert, "-CAkey",
         issuer.key, "-set_serial", std::to_string(++serial_), "-days", std::to_string(days),
         "-extfile", path(name + ".ext"), "-out", out.cert});
  }
  return out;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string pem_serial(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = bio != nullptr ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
  std::string out;
  if (cert != nullptr) {
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
    char* hex = bn != nullptr ? BN_bn2hex(bn) : nullptr;
    if (hex != nullptr) out = hex;
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(cert);
  }
  BIO_free(bio);
  return out;
}

}  // namespace mgt_pki
