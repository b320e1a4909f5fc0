#pragma once
// --web.config.file in the exporter-toolkit format: TLS (tls_server_config,
// see tls_config.h and tls_context.h), response headers, and basic auth with
// bcrypt hashes, whose verification results are cached because bcrypt is
// slow on purpose.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "export/tls_config.h"

namespace mg {

class RateLimiter;
class TlsContext;

class ConfigWatcher;

enum class AuthResult {
  kGranted,
  kDenied,
  // Too many bcrypt verifications were already running: the caller should
  // answer "try again", not "wrong password".
  kBusy,
  // Only with Bcrypt::kNotHere: the answer needs a bcrypt verification, to be
  // asked again where a slow call can wait.
  kNeedsBcrypt,
};

enum class Bcrypt { kAllowed, kNotHere };

class WebConfig {
 public:
  // The config errors are `file:line:col: key: reason` strings. `named`,
  // when given, gets the web config's path and the TLS files it names as far
  // as it could be read, loaded or not.
  static std::variant<WebConfig, std::vector<std::string>> load(
      const std::string& path, std::vector<std::string>* named = nullptr);

  bool auth_required() const { return !users_.empty(); }
  std::size_t user_count() const { return users_.size(); }
  // Constant-time in the hash comparison; an unknown user costs a bcrypt too,
  // so timing does not tell which users exist. A login that succeeded before
  // is answered from a cache without bcrypt. Uncached verifications run one
  // at a time in the whole process, so a flood of wrong passwords costs at
  // most one core; one that waits longer than `bcrypt_wait` is kBusy.
  // With Bcrypt::kNotHere it answers only what it can without bcrypt (no
  // auth, a remembered login, a malformed one) and kNeedsBcrypt otherwise.
  AuthResult authenticate(const std::string& user, const std::string& password,
                          Bcrypt bcrypt = Bcrypt::kAllowed) const;
  bool check(const std::string& user, const std::string& password) const {
    return authenticate(user, password) == AuthResult::kGranted;
  }
  void set_bcrypt_wait(std::chrono::milliseconds wait) { bcrypt_wait_ = wait; }
  std::chrono::milliseconds bcrypt_wait() const { return bcrypt_wait_; }
  // http_server_config.headers: added to every response.
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }
  // rate_limit: null when there is none (no interval, or 0).
  RateLimiter* rate_limiter() const { return limiter_.get(); }
  // tls_server_config, and the context built from it; null for plain HTTP.
  const TlsServerConfig& tls_config() const { return tls_config_; }
  const std::shared_ptr<const TlsContext>& tls() const { return tls_; }
  // The file it was read from, and every file it read (the certificates
  // too), with the hash of what was read there (as ConfigWatcher computes
  // it), for LiveWebConfig.
  const std::string& path() const { return path_; }
  std::vector<std::string> watched_files() const;
  const std::string& content_hash() const { return content_hash_; }
  // The file held no YAML at all (empty, or comments only).
  bool empty_file() const { return empty_file_; }

 private:
  std::map<std::string, std::string> users_;  // user -> bcrypt hash
  std::vector<std::pair<std::string, std::string>> headers_;
  std::shared_ptr<RateLimiter> limiter_;
  TlsServerConfig tls_config_;
  std::shared_ptr<const TlsContext> tls_;
  std::string path_;
  std::string content_hash_;
  bool empty_file_ = false;
  std::chrono::milliseconds bcrypt_wait_{2000};
  struct Cache;
  // Per loaded file: a new file starts with no remembered logins, so a
  // password removed from it stops working at once.
  std::shared_ptr<Cache> cache_;
};

// The web config in force now. The file is re-read when its content, or that
// of a certificate, key or client CA file it names, changes (the same
// inotify-plus-poll watcher as the main config, so ConfigMap and Secret
// symlink swaps are seen, and so are certificates rewritten in place). A file
// that no longer loads is logged as an error and the previous config stays in
// force: a typo must not open the endpoint, nor lock Prometheus out, and a bad
// new certificate (a key that does not match it yet, mid-rotation) leaves the
// old one serving. A file that vanishes also leaves the previous one in force,
// and so does one that turns empty while auth is on: that is a file caught
// mid-write far more often than a wish to open the endpoint, which
// `basic_auth_users: {}` states explicitly. Turning TLS on or off takes a
// restart: a reload that would do it is refused, so an edit can never drop an
// endpoint to plain HTTP.
class LiveWebConfig {
 public:
  explicit LiveWebConfig(WebConfig initial);
  ~LiveWebConfig();
  LiveWebConfig(const LiveWebConfig&) = delete;
  LiveWebConfig& operator=(const LiveWebConfig&) = delete;

  // Starts watching the file the initial config came from (if any).
  void start();
  void stop();
  std::shared_ptr<const WebConfig> current() const;
  // Re-reads the file now; false when it did not load (the old one stays).
  bool reload();
  // Logs one line about the config in force (its TLS certificate, say).
  static void log_loaded(const WebConfig& config, const char* message);

  struct Counts {
    std::uint64_t loaded = 0;    // successful re-reads
    std::uint64_t rejected = 0;  // re-reads that kept the old config
    bool last_ok = true;         // the last re-read was not rejected
  };
  Counts counts() const;

 private:
  std::string path_;
  std::chrono::milliseconds bcrypt_wait_;
  mutable std::mutex mu_;
  std::shared_ptr<const WebConfig> current_;
  Counts counts_;
  // The files a rejected config names beside those in force: the one the
  // operator points the config at may appear, or get its matching key, only
  // after the config was changed, and that must be seen too.
  std::vector<std::string> rejected_named_;
  std::unique_ptr<ConfigWatcher> watcher_;
};

}  // namespace mg
