#pragma once
// Certificates for the TLS tests, made by the openssl command line in a
// directory of the test's own: CAs, and server and client certificates they
// sign, with the SANs a test needs. Shared by the unit and integration tests;
// each passes its own way to run a command (the integration harness reaps
// every child itself, so it must not waitpid here).
#include <functional>
#include <string>
#include <vector>

namespace mgt_pki {

inline constexpr const char* kOpenssl = "/usr/bin/openssl";

// Runs argv to completion; true when it exited 0.
using Runner = std::function<bool(const std::vector<std::string>& argv)>;

// A Runner for a process that reaps its own children (the unit tests):
// posix_spawn, output dropped, waitpid.
bool run_and_wait(const std::vector<std::string>& argv);

struct Issued {
  std::string cert;  // PEM paths
  std::string key;
};

class TestPki {
 public:
  TestPki(std::string dir, Runner run);

  // A self-signed CA, NAME.crt and NAME.key.
  Issued ca(const std::string& name);
  // An intermediate CA signed by `parent`.
  Issued intermediate(const std::string& name, const Issued& parent);
  // A leaf certificate signed by `issuer`, usable for server and client
  // authentication. `sans` in openssl's form ("IP:127.0.0.1,DNS:localhost");
  // `key_type` "ec" (P-256) or "rsa" (2048 bits).
  Issued leaf(const std::string& name, const Issued& issuer, const std::string& sans, int days = 30,
              const std::string& key_type = "ec");

  const std::string& dir() const { return dir_; }
  std::string path(const std::string& file) const { return dir_ + "/" + file; }
  // The last command that failed, for a test's message.
  const std::string& failed() const { return failed_; }

 private:
  std::vector<std::string> new_key(const std::string& key_type, const std::string& key) const;
  bool run(const std::vector<std::string>& argv);

  std::string dir_;
  Runner run_;
  std::string failed_;
  int serial_ = 1000;
};

// A file's whole content ("" when it cannot be read).
std::string read_text(const std::string& path);

// The serial number of a certificate as `openssl x509 -serial` prints it
// (upper-case hex), from its PEM text.
std::string pem_serial(const std::string& pem);

}  // namespace mgt_pki
