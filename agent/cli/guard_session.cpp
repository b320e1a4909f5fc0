#include "cli/guard_session.h"

#include <iostream>

#include "cli/exit_codes.h"
#include "cli/guard_config.h"
#include "cli/http_wiring.h"
#include "cli/startup_checks.h"
#include "config/config_loader.h"

namespace mg {

GuardSession::GuardSession(const Flags& flags, TreeRoot tree)
    : flags_(flags), pidfd_sender_(flags.procfs), marking_(pidfd_sender_) {
  CheckLoopOptions options;
  options.config_path = flags.config_file_given ? flags.config_file : "";
  options.procfs = flags.procfs;
  options.cgroupfs = flags.cgroupfs;
  options.force_dry_run = flags.dry_run;
  options.tree = tree;
  loop_ = std::make_unique<CheckLoop>(options, metrics_, marking_, clock_);
}

GuardSession::~GuardSession() {
  stop();
}

std::optional<int> GuardSession::prepare(const std::string& rule_name) {
  Config config;
  if (flags_.config_file_given) {
    ConfigLoadResult loaded = load_config_file(flags_.config_file);
    if (!loaded.config) return print_config_errors(loaded.errors);
    config = std::move(*loaded.config);
    content_hash_ = loaded.content_hash;
  } else {
    config = guard_config(flags_.guard, rule_name, flags_.dry_run);
  }
  if (auto errors = loop_->start_with(std::move(config), content_hash_); !errors.empty()) {
    if (flags_.config_file_given) return print_config_errors(errors);
    // The one rule is the flags: what is wrong with it is a flag's value
    // (a % limit on a cgroup without a limit), not a line of a file.
    for (const auto& e : errors)
      std::cerr << "memoryguard: --limit=" << flags_.guard.limit_text << ": " << e.reason << "\n";
    return kExitUsage;
  }
  return refuse_foreign_pid_namespace(flags_, loop_->config());
}

std::optional<int> GuardSession::start() {
  if (flags_.listen_address_given) {
    HttpStart http = start_http_server(flags_, metrics_, *loop_);
    if (http.exit_code) return http.exit_code;
    server_ = std::move(http.server);
  }
  metrics_.config_reloaded(true, clock_.unix_seconds());
  if (flags_.config_file_given) {
    watcher_ = std::make_unique<ConfigWatcher>(
        flags_.config_file, [this] { loop_->request_reload("file changed"); }, content_hash_);
    watcher_->start();
  }
  return std::nullopt;
}

void GuardSession::start_checking() {
  if (!thread_.joinable()) thread_ = std::thread([this] { loop_->run(); });
}

void GuardSession::reload(const std::string& why) {
  if (flags_.config_file_given) loop_->request_reload(why);
}

void GuardSession::stop() {
  if (thread_.joinable()) {
    loop_->stop();
    thread_.join();
  }
  if (watcher_) watcher_->stop();
  if (server_) server_->stop();
}

}  // namespace mg
