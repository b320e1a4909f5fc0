#include "config/action_keys.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config/units.h"

namespace mg::config_internal {
namespace {

template <typename T>
void set(T& field, std::optional<T> value) {
  if (value) field = std::move(*value);
}

class ActionKeys {
 public:
  explicit ActionKeys(Reader& r) : r_(r) {}

  void read(const Value& at, ActionSpec& action) {
    auto positive = [this](Duration& field) {
      return [this, &field](const Value& v) {
        if (auto d = r_.duration(v)) {
          if (d->count() == 0) {
            r_.error(v, "must be greater than 0");
          } else {
            field = *d;
          }
        }
      };
    };
    r_.map(at, {
                   {"signal",
                    [&](const Value& v) {
                      auto text = r_.string(v);
                      if (!text) return;
                      if (auto sig = parse_signal(*text)) {
                        action.signal = *sig;
                        action.signal_name = signal_name(*sig);
                      } else {
                        r_.error(v, "unknown signal " + quoted(*text) +
                                        " (a name like SIGTERM or TERM, or a number)");
                      }
                    }},
                   {"kill_after", positive(action.kill_after)},
                   {"target",
                    [&](const Value& v) {
                      set(action.target,
                          r_.choice<Target>(v, {{"process", Target::kProcess},
                                                {"process_group", Target::kProcessGroup},
                                                {"cgroup", Target::kCgroup}}));
                    }},
                   {"cooldown", [&](const Value& v) { set(action.cooldown, r_.duration(v)); }},
                   {"exec", [&](const Value& v) { exec(v, action.exec); }},
                   {"exec_timeout", positive(action.exec_timeout)},
               });
  }

  void exec(const Value& at, std::vector<std::string>& argv) {
    auto items = r_.list(at);
    if (!items) return;
    if (items->empty()) {
      r_.error(at, "must not be empty: give the program and its arguments, or leave exec out");
      return;
    }
    std::vector<std::string> out;
    for (const auto& item : *items) {
      auto arg = r_.string(item);
      if (!arg) return;
      out.push_back(*arg);
    }
    // The hook runs without a shell or a PATH search, so it must name the
    // file itself; checking now beats failing at the first kill.
    const std::string& program = out.front();
    const Value& first = items->front();
    struct stat st {};
    if (program.empty() || program.front() != '/') {
      r_.error(first,
               "must be an absolute path (no shell, no PATH search), got " + quoted(program));
    } else if (stat(program.c_str(), &st) != 0) {
      r_.error(first, "cannot use " + quoted(program) + ": " + std::strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
      r_.error(first, quoted(program) + " is not a regular file");
    } else if ((st.st_mode & 0111) == 0 || access(program.c_str(), X_OK) != 0) {
      r_.error(first, quoted(program) + " is not executable");
    } else {
      argv = std::move(out);
    }
  }

 private:
  Reader& r_;
};

}  // namespace

void read_action(Reader& r, const Value& at, ActionSpec& action) {
  ActionKeys(r).read(at, action);
}

}  // namespace mg::config_internal
