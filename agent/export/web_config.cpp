#include "export/web_config.h"

#include <crypt.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_set>

#include "config/config_loader.h"
#include "config/units.h"
#include "export/rate_limiter.h"
#include "export/tls_context.h"
#include "reload/config_watcher.h"
#include "util/log.h"

namespace mg {
namespace {

// Successful logins are remembered so that a scrape every 15s does not pay a
// bcrypt each time. The key holds a salted SHA-256-crypt of the password, not
// the password; the salt is random per process.
constexpr std::size_t kMaxCachedLogins = 256;

// One uncached bcrypt at a time, process-wide. bcrypt at cost 10 is ~50-100ms
// of CPU by design; without this, a flood of wrong passwords would keep every
// HTTP handler thread in bcrypt, pinning the cores the agent may use and
// starving the check loop. A real scraper pays bcrypt once and is then cached.
// A mutex and a condition variable rather than std::timed_mutex: libstdc++ 12
// waits on one with pthread_mutex_clocklock, which TSan does not intercept,
// so every unlock was reported as an unlock of an unlocked mutex.
class BcryptGate {
 public:
  // False when the gate stayed taken for all of `patience`.
  bool enter(std::chrono::nanoseconds patience) {
    std::unique_lock lock(mu_);
    if (!free_cv_.wait_for(lock, patience, [this] { return !taken_; })) return false;
    taken_ = true;
    return true;
  }
  void leave() {
    {
      std::lock_guard lock(mu_);
      taken_ = false;
    }
    free_cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable free_cv_;
  bool taken_ = false;
};

BcryptGate& bcrypt_gate() {
  static BcryptGate gate;
  return gate;
}

// Holds the gate until it is left or this goes out of scope.
class GatePass {
 public:
  explicit GatePass(BcryptGate& gate) : gate_(gate) {}
  ~GatePass() { leave(); }
  GatePass(const GatePass&) = delete;
  GatePass& operator=(const GatePass&) = delete;
  bool enter(std::chrono::nanoseconds patience) { return inside_ = gate_.enter(patience); }
  void leave() {
    if (inside_) gate_.leave();
    inside_ = false;
  }

 private:
  BcryptGate& gate_;
  bool inside_ = false;
};

// exporter-toolkit's list, with the values it allows (empty: any value).
const std::map<std::string, std::set<std::string>>& allowed_headers() {
  static const std::map<std::string, std::set<std::string>> kAllowed = {
      {"Strict-Transport-Security", {}},
      {"X-Content-Type-Options", {"nosniff"}},
      {"X-Frame-Options", {"deny", "sameorigin"}},
      {"X-XSS-Protection", {}},
      {"Content-Security-Policy", {}},
  };
  return kAllowed;
}

bool is_bcrypt_hash(const std::string& h) {
  // $2a$, $2b$ or $2y$, a two-digit cost, then 22 chars of salt and 31 of hash.
  return h.size() == 60 && h[0] == '$' && h[1] == '2' &&
         (h[2] == 'a' || h[2] == 'b' || h[2] == 'y') && h[3] == '$' &&
         std::isdigit(static_cast<unsigned char>(h[4])) &&
         std::isdigit(static_cast<unsigned char>(h[5])) && h[6] == '$';
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  const std::size_t n = std::max(a.size(), b.size());
  unsigned diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const auto y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

// crypt_r(3) with its 32 KiB state on the heap, so a caller on a small thread
// stack is safe. An empty string means crypt failed.
std::string crypt_string(const std::string& phrase, const std::string& setting) {
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_r(phrase.c_str(), setting.c_str(), data.get());
  // libxcrypt returns a string starting with '*' on failure, never a null.
  if (out == nullptr || out[0] == '*') return {};
  return out;
}

class ErrorList {
 public:
  explicit ErrorList(std::string file) : file_(std::move(file)) {}
  void add(const YAML::Mark& m, const std::string& key, const std::string& reason) {
    std::ostringstream s;
    s << file_ << ':' << (m.is_null() ? 1 : m.line + 1) << ':' << (m.is_null() ? 1 : m.column + 1)
      << ": " << key << ": " << reason;
    errors_.push_back(s.str());
  }
  void add(const YamlSpot& at, const std::string& key, const std::string& reason) {
    errors_.push_back(file_ + ':' + std::to_string(at.line) + ':' + std::to_string(at.column) +
                      ": " + key + ": " + reason);
  }
  void add_plain(const std::string& reason) { errors_.push_back(file_ + ": " + reason); }
  std::vector<std::string>& list() { return errors_; }

 private:
  std::string file_;
  std::vector<std::string> errors_;
};

void parse_users(const YAML::Node& node, ErrorList& errors,
                 std::map<std::string, std::string>& users) {
  if (node.IsNull()) return;
  if (!node.IsMap()) {
    errors.add(node.Mark(), "basic_auth_users", "must be a mapping of user name to bcrypt hash");
    return;
  }
  for (const auto& kv : node) {
    const std::string user = kv.first.Scalar();
    const std::string key = "basic_auth_users." + user;
    if (!kv.first.IsScalar() || user.empty()) {
      errors.add(kv.first.Mark(), "basic_auth_users", "a user name must be a non-empty string");
      continue;
    }
    if (user.find(':') != std::string::npos) {
      errors.add(kv.first.Mark(), key, "a user name cannot hold ':' (basic auth splits on it)");
      continue;
    }
    if (!kv.second.IsScalar() || !is_bcrypt_hash(kv.second.Scalar())) {
      errors.add(
          kv.second.Mark(), key,
          "must be a bcrypt hash ($2y$..., e.g. from `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)");
      continue;
    }
    if (!users.emplace(user, kv.second.Scalar()).second) {
      errors.add(kv.first.Mark(), key, "duplicate user");
    }
  }
}

void parse_http_server_config(const YAML::Node& node, ErrorList& errors,
                              std::vector<std::pair<std::string, std::string>>& headers) {
  if (node.IsNull()) return;
  if (!node.IsMap()) {
    errors.add(node.Mark(), "http_server_config", "must be a mapping");
    return;
  }
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (key == "http2") {
      // Accepted for compatibility with exporter-toolkit files; the server
      // speaks HTTP/1.1 only, which every Prometheus scrapes.
      bool ignored = false;
      if (!kv.second.IsScalar() || !YAML::convert<bool>::decode(kv.second, ignored)) {
        errors.add(kv.second.Mark(), "http_server_config.http2", "must be true or false");
      }
    } else if (key == "headers") {
      if (kv.second.IsNull()) continue;
      if (!kv.second.IsMap()) {
        errors.add(kv.second.Mark(), "http_server_config.headers", "must be a mapping");
        continue;
      }
      for (const auto& h : kv.second) {
        const std::string name = h.first.Scalar();
        const std::string hkey = "http_server_config.headers." + name;
        const auto allowed = allowed_headers().find(name);
        if (allowed == allowed_headers().end()) {
          errors.add(h.first.Mark(), hkey,
                     "not an allowed header (Strict-Transport-Security, X-Content-Type-Options, "
                     "X-Frame-Options, X-XSS-Protection, Content-Security-Policy)");
          continue;
        }
        const std::string value = h.second.Scalar();
        if (!h.second.IsScalar() || value.find_first_of("\r\n") != std::string::npos) {
          errors.add(h.second.Mark(), hkey, "must be a single-line string");
          continue;
        }
        if (!allowed->second.empty() && allowed->second.count(value) == 0) {
          std::string options;
          for (const auto& v : allowed->second) options += (options.empty() ? "" : ", ") + v;
          errors.add(h.second.Mark(), hkey, "must be one of: " + options);
          continue;
        }
        headers.emplace_back(name, value);
      }
    } else {
      errors.add(kv.first.Mark(), "http_server_config." + key, "unknown key");
    }
  }
}

// rate_limit: {interval, burst}. An interval is a Go duration ("1s") or, as
// yaml.v2 reads a time.Duration, an integer of nanoseconds.
std::shared_ptr<RateLimiter> parse_rate_limit(const YAML::Node& node, ErrorList& errors) {
  if (node.IsNull()) return nullptr;
  if (!node.IsMap()) {
    errors.add(node.Mark(), "rate_limit", "must be a mapping with interval and burst");
    return nullptr;
  }
  std::optional<Duration> interval;
  long long burst = 0;
  YAML::Mark burst_at = node.Mark();
  bool ok = true;
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string value = kv.second.IsScalar() ? kv.second.Scalar() : std::string();
    if (key == "interval") {
      long long ns = 0;
      if (!value.empty() && YAML::convert<long long>::decode(kv.second, ns) && ns >= 0) {
        interval = Duration(ns);
      } else {
        interval = parse_duration(value);
      }
      if (!interval) {
        errors.add(kv.second.Mark(), "rate_limit.interval",
                   "must be a duration (100ms, 1s, 1m); 0 turns the limit off");
        ok = false;
      }
    } else if (key == "burst") {
      burst_at = kv.second.Mark();
      if (!kv.second.IsScalar() || !YAML::convert<long long>::decode(kv.second, burst) ||
          burst < 0 || burst > 1000000) {
        errors.add(kv.second.Mark(), "rate_limit.burst",
                   "must be a whole number from 0 to 1000000");
        ok = false;
      }
    } else {
      errors.add(kv.first.Mark(), "rate_limit." + key, "unknown key");
      ok = false;
    }
  }
  if (!ok || !interval || interval->count() == 0) return nullptr;
  if (burst < 1) {
    // exporter-toolkit would then refuse every request.
    errors.add(burst_at, "rate_limit.burst",
               "must be at least 1 with an interval (0 would refuse every request)");
    return nullptr;
  }
  return std::make_shared<RateLimiter>(*interval, static_cast<int>(burst));
}

}  // namespace

struct WebConfig::Cache {
  std::mutex mu;
  std::string fingerprint_setting;         // "$5$rounds=1000$<random salt>"
  std::unordered_set<std::string> logins;  // user '\0' fingerprint(password)

  Cache() {
    char buf[CRYPT_GENSALT_OUTPUT_SIZE];
    // SHA-256-crypt at its lowest cost: a fingerprint, not a password store.
    if (crypt_gensalt_rn("$5$", 1000, nullptr, 0, buf, sizeof buf) != nullptr) {
      fingerprint_setting = buf;
    }
  }

  std::string key(const std::string& user, const std::string& password) const {
    if (fingerprint_setting.empty()) return {};
    const std::string fp = crypt_string(password, fingerprint_setting);
    return fp.empty() ? std::string() : user + '\0' + fp;
  }
};

std::variant<WebConfig, std::vector<std::string>> WebConfig::load(const std::string& path,
                                                                  std::vector<std::string>* named) {
  if (named) *named = {path};
  ErrorList errors(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors.add_plain(std::string("cannot read the web config: ") + std::strerror(errno));
    return std::move(errors.list());
  }
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string content = buf.str();

  YAML::Node root;
  try {
    root = YAML::Load(content);
  } catch (const YAML::Exception& e) {
    errors.add(e.mark, "yaml", e.msg);
    return std::move(errors.list());
  }

  WebConfig config;
  config.cache_ = std::make_shared<Cache>();
  config.path_ = path;
  config.content_hash_ = ConfigWatcher::content_hash({{path, content}});
  if (root.IsNull()) {  // an empty file: no auth, like exporter-toolkit
    config.empty_file_ = true;
    return config;
  }
  if (!root.IsMap()) {
    errors.add(root.Mark(), "web config", "must be a mapping");
    return std::move(errors.list());
  }
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    if (key == "basic_auth_users") {
      parse_users(kv.second, errors, config.users_);
    } else if (key == "tls_server_config") {
      // Relative paths are relative to the web config's directory.
      const std::string dir = std::filesystem::path(path).parent_path().string();
      config.tls_config_ =
          parse_tls_server_config(kv.first, kv.second, dir.empty() ? "." : dir,
                                  [&](const YAML::Mark& at, const std::string& k,
                                      const std::string& why) { errors.add(at, k, why); });
    } else if (key == "http_server_config") {
      parse_http_server_config(kv.second, errors, config.headers_);
    } else if (key == "rate_limit") {
      config.limiter_ = parse_rate_limit(kv.second, errors);
    } else {
      errors.add(kv.first.Mark(), key, "unknown key");
    }
  }
  if (named) {
    for (std::string& f : config.tls_config_.files()) named->push_back(std::move(f));
  }
  if (!errors.list().empty()) return std::move(errors.list());
  if (config.tls_config_.enabled) {
    auto built = TlsContext::build(config.tls_config_);
    if (auto* problems = std::get_if<std::vector<TlsLoadError>>(&built)) {
      for (const auto& p : *problems) errors.add(p.at, p.key, p.reason);
      return std::move(errors.list());
    }
    config.tls_ = std::get<std::shared_ptr<const TlsContext>>(std::move(built));
    std::vector<std::pair<std::string, std::string>> files{{path, content}};
    for (const auto& f : config.tls_->files_read()) files.emplace_back(f.path, f.content);
    config.content_hash_ = ConfigWatcher::content_hash(files);
  }
  return config;
}

std::vector<std::string> WebConfig::watched_files() const {
  std::vector<std::string> out{path_};
  if (tls_) {
    for (const auto& f : tls_->files_read()) out.push_back(f.path);
  }
  return out;
}

AuthResult WebConfig::authenticate(const std::string& user, const std::string& password,
                                   Bcrypt bcrypt) const {
  if (users_.empty()) return AuthResult::kGranted;
  // crypt takes a C string: a NUL would let "secret\0anything" pass as "secret".
  if (password.find('\0') != std::string::npos) return AuthResult::kDenied;
  const auto it = users_.find(user);
  // Computed for unknown users too, so that they cost the same.
  const std::string key = cache_ ? cache_->key(user, password) : std::string();
  if (!key.empty() && it != users_.end()) {
    std::lock_guard lock(cache_->mu);
    if (cache_->logins.count(key) != 0) return AuthResult::kGranted;
  }
  if (bcrypt == Bcrypt::kNotHere) return AuthResult::kNeedsBcrypt;
  GatePass gate(bcrypt_gate());
  if (!gate.enter(bcrypt_wait_)) return AuthResult::kBusy;
  // Concurrent first logins with the same credentials (a restart, a reload,
  // a load test) queue here; the first one fills the cache for the rest.
  if (!key.empty() && it != users_.end()) {
    std::lock_guard lock(cache_->mu);
    if (cache_->logins.count(key) != 0) return AuthResult::kGranted;
  }
  if (it == users_.end()) {
    // Pay the same bcrypt an existing user would, so timing does not reveal
    // which user names exist.
    crypt_string(password, users_.begin()->second);
    return AuthResult::kDenied;
  }
  const std::string computed = crypt_string(password, it->second);
  gate.leave();
  if (computed.empty() || !constant_time_equal(computed, it->second)) return AuthResult::kDenied;
  if (!key.empty()) {
    std::lock_guard lock(cache_->mu);
    if (cache_->logins.size() >= kMaxCachedLogins) cache_->logins.clear();
    cache_->logins.insert(key);
  }
  return AuthResult::kGranted;
}

LiveWebConfig::LiveWebConfig(WebConfig initial)
    : path_(initial.path()),
      bcrypt_wait_(initial.bcrypt_wait()),
      current_(std::make_shared<const WebConfig>(std::move(initial))) {}

LiveWebConfig::~LiveWebConfig() {
  stop();
}

void LiveWebConfig::start() {
  if (path_.empty() || watcher_) return;
  watcher_ = std::make_unique<ConfigWatcher>(
      [this] {
        std::vector<std::string> files = current()->watched_files();
        std::lock_guard lock(mu_);
        // One missing file makes the whole set "no change yet", which must
        // not hide an edit of the config back to files that are there: a
        // named file joins the set once it exists, and that is a change.
        for (const std::string& f : rejected_named_) {
          if (std::find(files.begin(), files.end(), f) == files.end() &&
              ::access(f.c_str(), F_OK) == 0) {
            files.push_back(f);
          }
        }
        return files;
      },
      [this] { reload(); }, current()->content_hash());
  watcher_->start();
}

void LiveWebConfig::stop() {
  if (watcher_) watcher_->stop();
  watcher_.reset();
}

std::shared_ptr<const WebConfig> LiveWebConfig::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

LiveWebConfig::Counts LiveWebConfig::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

bool LiveWebConfig::reload() {
  if (path_.empty()) return false;
  std::vector<std::string> named;
  auto reject = [this, &named](const std::string& why) {
    log::error("web config not reloaded; the previous one stays in force",
               {{"file", path_}, {"err", why}});
    std::lock_guard lock(mu_);
    ++counts_.rejected;
    counts_.last_ok = false;
    rejected_named_ = std::move(named);
    return false;
  };
  auto loaded = WebConfig::load(path_, &named);
  if (auto* errors = std::get_if<std::vector<std::string>>(&loaded)) {
    std::string joined;
    for (const auto& e : *errors) joined += (joined.empty() ? "" : "; ") + e;
    return reject(joined);
  }
  auto next = std::make_shared<WebConfig>(std::get<WebConfig>(std::move(loaded)));
  const std::shared_ptr<const WebConfig> now = current();
  // Every file read as before: a touch, or a watcher that saw its own files
  // change set. Nothing to swap, and the logins stay remembered.
  if (next->content_hash() == now->content_hash()) {
    std::lock_guard lock(mu_);
    counts_.last_ok = true;
    rejected_named_.clear();
    return true;
  }
  if (next->empty_file() && now->auth_required()) {
    return reject(
        "the file is empty (caught mid-write?); write `basic_auth_users: {}` to turn basic auth "
        "off");
  }
  if ((next->tls() != nullptr) != (now->tls() != nullptr)) {
    return reject(next->tls() ? "it turns TLS on, which needs a restart of memoryguard"
                              : "it turns TLS off, which needs a restart of memoryguard");
  }
  next->set_bcrypt_wait(bcrypt_wait_);
  log_loaded(*next, "web config reloaded");
  std::lock_guard lock(mu_);
  current_ = std::move(next);
  ++counts_.loaded;
  counts_.last_ok = true;
  rejected_named_.clear();
  return true;
}

void LiveWebConfig::log_loaded(const WebConfig& config, const char* message) {
  std::vector<log::Field> fields{{"file", config.path()}, {"users", config.user_count()}};
  if (const auto& tls = config.tls()) {
    const auto& c = tls->config();
    fields.emplace_back("tls_subject", tls->subject());
    fields.emplace_back("tls_serial", tls->serial());
    const std::time_t expiry = static_cast<std::time_t>(tls->not_after());
    char when[32] = "?";
    std::tm tm{};
    if (gmtime_r(&expiry, &tm) != nullptr) std::strftime(when, sizeof when, "%FT%TZ", &tm);
    fields.emplace_back("tls_not_after", std::string(when));
    fields.emplace_back("client_auth_type", std::string(to_string(c.client_auth)));
  }
  log::write(log::Level::kInfo, message, fields);
  for (const auto& w : config.tls() ? config.tls()->warnings() : std::vector<std::string>{}) {
    log::warn("web config: " + w, {{"file", config.path()}});
  }
}

}  // namespace mg
