#include "config/match_keys.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <string_view>

namespace mg::config_internal {
namespace {

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

class MatchKeys {
 public:
  explicit MatchKeys(Reader& r) : r_(r) {}

  std::optional<MatchSpec> read(const Value& at, bool allow_not) {
    MatchSpec spec;
    bool any_key = false;
    std::size_t first_error = r_.error_count();
    auto pattern = [this, &any_key](std::optional<Pattern>& field) {
      return [this, &any_key, &field](const Value& v) {
        any_key = true;
        field = r_.pattern(v);
      };
    };
    bool is_map = r_.map(at, {
                                 {"name", pattern(spec.name)},
                                 {"cmdline", pattern(spec.cmdline)},
                                 {"exe", pattern(spec.exe)},
                                 {"user",
                                  [&](const Value& v) {
                                    any_key = true;
                                    user(v, spec);
                                  }},
                                 {"cgroup", pattern(spec.cgroup)},
                                 {"pid_file",
                                  [&](const Value& v) {
                                    any_key = true;
                                    spec.pid_file = pid_file(v);
                                  }},
                                 {"pod_uid", pattern(spec.pod_uid)},
                                 {"container_id", pattern(spec.container_id)},
                                 {"systemd_unit", pattern(spec.systemd_unit)},
                                 {"not",
                                  [&](const Value& v) {
                                    if (!allow_not) {
                                      r_.error(v, "not: cannot be nested");
                                      return;
                                    }
                                    if (auto exclude = read(v, false)) {
                                      spec.exclude =
                                          std::make_shared<const MatchSpec>(std::move(*exclude));
                                    }
                                  }},
                             });
    if (!is_map) return std::nullopt;
    // A map whose only keys were wrong already has its error.
    if (!any_key && r_.error_count() == first_error) {
      r_.error(at, std::string(
                       "needs at least one of name, cmdline, exe, user, cgroup, pid_file, pod_uid, "
                       "container_id, systemd_unit") +
                       (spec.exclude ? " (not: only excludes)" : ""));
    }
    if (r_.error_count() != first_error) return std::nullopt;
    return spec;
  }

  void user(const Value& v, MatchSpec& spec) {
    auto text = r_.string(v);
    if (!text) return;
    spec.user_text = *text;
    if (all_digits(*text)) {
      // (uid_t)-1 means "no user" to the kernel, so it cannot be a real one.
      unsigned long long uid = 0;
      bool fits = text->size() <= 10;
      if (fits) uid = std::stoull(*text);
      if (!fits || uid >= std::numeric_limits<uid_t>::max()) {
        r_.error(v, "uid out of range: " + *text);
        return;
      }
      spec.user = static_cast<uid_t>(uid);
      return;
    }
    long size = sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buffer(size > 0 ? static_cast<std::size_t>(size) : 16384);
    passwd entry{};
    passwd* found = nullptr;
    int err;
    while ((err = getpwnam_r(text->c_str(), &entry, buffer.data(), buffer.size(), &found)) ==
           ERANGE) {
      buffer.resize(buffer.size() * 2);
    }
    if (found == nullptr) {
      std::string why = err != 0 ? std::string(": ") + std::strerror(err) : "";
      r_.error(v, "unknown user " + quoted(*text) + why +
                      " (names are looked up where the agent runs; a uid always works)");
      return;
    }
    spec.user = found->pw_uid;
  }

  std::optional<std::string> pid_file(const Value& v) {
    auto path = r_.string(v);
    if (!path) return std::nullopt;
    // Relative to the agent's working directory would mean something else
    // under systemd, in a container and by hand.
    if (path->empty() || path->front() != '/') {
      r_.error(v, "must be an absolute path, got " + quoted(*path));
      return std::nullopt;
    }
    return path;
  }

 private:
  Reader& r_;
};

}  // namespace

std::optional<MatchSpec> read_matcher(Reader& r, const Value& at, bool allow_not) {
  return MatchKeys(r).read(at, allow_not);
}

}  // namespace mg::config_internal
