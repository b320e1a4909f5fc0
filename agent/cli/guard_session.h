#pragma once
// What `run` and `--pid` share: the agent's own engine (check loop, metrics,
// pidfd sender, config watcher, HTTP) on a config of one rule from the flags
// or on --config.file, every rule narrowed to one process tree. The way in
// owns the main thread (waiting for its process, reaping, signals); this
// runs the check loop on a thread of its own.
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "act/pidfd_signal_sender.h"
#include "cli/flags.h"
#include "cli/marking_sender.h"
#include "engine/check_loop.h"
#include "export/http_server.h"
#include "export/metrics.h"
#include "match/tree_filter.h"
#include "reload/config_watcher.h"
#include "util/clock.h"

namespace mg {

class GuardSession {
 public:
  GuardSession(const Flags& flags, TreeRoot tree);
  ~GuardSession();
  GuardSession(const GuardSession&) = delete;
  GuardSession& operator=(const GuardSession&) = delete;

  // Loads the rules (the flags' one rule, named `rule_name`, or
  // --config.file) and checks them against this host. nullopt when ready,
  // else the exit code, the errors printed.
  std::optional<int> prepare(const std::string& rule_name);
  // Serves HTTP when --web.listen-address was given and follows
  // --config.file. nullopt, or the exit code when it could not.
  std::optional<int> start();
  // Starts checking. `run` calls it once CMD has exec'd: until then its
  // child is memoryguard's own vfork clone, sharing memoryguard's memory
  // (all of it shows as the child's PSS), and must never be judged.
  void start_checking();
  // SIGHUP: reload --config.file (nothing to reload without one).
  void reload(const std::string& why);
  // Stops checking (an action under way gets its 5 s), then everything else.
  // Once stopped, every signal an action sent has been counted.
  void stop();

  MarkingSender& sender() { return marking_; }
  const Config& config() const { return loop_->config(); }
  bool from_file() const { return flags_.config_file_given; }

 private:
  const Flags& flags_;
  Metrics metrics_;
  SteadyClock clock_;
  PidfdSignalSender pidfd_sender_;
  MarkingSender marking_;
  std::unique_ptr<CheckLoop> loop_;
  std::string content_hash_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<ConfigWatcher> watcher_;
  std::thread thread_;
};

}  // namespace mg
