#pragma once
// --web.config.file in the exporter-toolkit format. Basic auth with bcrypt
// hashes; verification results are cached because bcrypt is slow on purpose.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace mg {

class WebConfig {
 public:
  // The config errors are `file:line:col: key: reason` strings.
  static std::variant<WebConfig, std::vector<std::string>> load(const std::string& path);

  bool auth_required() const { return !users_.empty(); }
  // Constant-time in the hash comparison; an unknown user costs a bcrypt too,
  // so timing does not tell which users exist.
  bool check(const std::string& user, const std::string& password) const;
  // http_server_config.headers: added to every response.
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }

 private:
  std::map<std::string, std::string> users_;  // user -> bcrypt hash
  std::vector<std::pair<std::string, std::string>> headers_;
  struct Cache;
  std::shared_ptr<Cache> cache_;
};

}  // namespace mg
