#pragma once
// --web.config.file in the exporter-toolkit format. Basic auth with bcrypt
// hashes; verification results are cached because bcrypt is slow on purpose.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace mg {

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
  // The config errors are `file:line:col: key: reason` strings.
  static std::variant<WebConfig, std::vector<std::string>> load(const std::string& path);

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
  // The file it was read from, and the hash of what was read (as
  // config_content_hash computes it), for LiveWebConfig.
  const std::string& path() const { return path_; }
  const std::string& content_hash() const { return content_hash_; }
  // The file held no YAML at all (empty, or comments only).
  bool empty_file() const { return empty_file_; }

 private:
  std::map<std::string, std::string> users_;  // user -> bcrypt hash
  std::vector<std::pair<std::string, std::string>> headers_;
  std::string path_;
  std::string content_hash_;
  bool empty_file_ = false;
  std::chrono::milliseconds bcrypt_wait_{2000};
  struct Cache;
  // Per loaded file: a new file starts with no remembered logins, so a
  // password removed from it stops working at once.
  std::shared_ptr<Cache> cache_;
};

// The web config in force now. The file is re-read when its content changes
// (the same inotify-plus-poll watcher as the main config, so ConfigMap symlink
// swaps are seen). A file that no longer loads is logged as an error and the
// previous config stays in force: a typo must not open the endpoint, nor lock
// Prometheus out. A file that vanishes also leaves the previous one in force,
// and so does one that turns empty while auth is on: that is a file caught
// mid-write far more often than a wish to open the endpoint, which
// `basic_auth_users: {}` states explicitly.
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

  struct Counts {
    std::uint64_t loaded = 0;    // successful re-reads
    std::uint64_t rejected = 0;  // re-reads that kept the old config
  };
  Counts counts() const;

 private:
  std::string path_;
  std::chrono::milliseconds bcrypt_wait_;
  mutable std::mutex mu_;
  std::shared_ptr<const WebConfig> current_;
  Counts counts_;
  std::unique_ptr<ConfigWatcher> watcher_;
};

}  // namespace mg
