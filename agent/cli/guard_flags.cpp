#include "cli/guard_flags.h"

#include <CLI/CLI.hpp>
#include <charconv>

#include "config/units.h"

namespace mg {
namespace {

constexpr const char* kGroup = "Guard: memoryguard run -- CMD, memoryguard --pid=PID";

std::string bad(const std::string& flag, const std::string& text, const std::string& why) {
  return flag + "=" + text + ": " + why;
}

std::optional<Duration> duration_of(const std::string& flag, const std::string& text, bool positive,
                                    std::string& error) {
  auto d = parse_duration(text);
  if (!d) {
    error = bad(flag, text, "not a duration (500ms, 1s, 1m30s, 2h)");
  } else if (positive && d->count() <= 0) {
    error = bad(flag, text, "must be greater than 0");
    d.reset();
  }
  return d;
}

std::optional<LimitSpec> limit_of(const std::string& text, std::string& error) {
  LimitSpec limit;
  if (!text.empty() && text.back() == '%') {
    if (auto percent = parse_percent(text)) {
      limit.percent = *percent;
      return limit;
    }
    error = bad("--limit", text, "want more than 0% and at most 100% of the cgroup's memory limit");
    return std::nullopt;
  }
  auto bytes = parse_size(text);
  if (!bytes || *bytes == 0) {
    error = bad("--limit", text,
                "want bytes greater than 0, a number with a unit (Ki, Mi, Gi, Ti: powers of 1024; "
                "KB, MB, GB, TB: powers of 1000), or a % of the cgroup's memory limit");
    return std::nullopt;
  }
  limit.bytes = *bytes;
  return limit;
}

}  // namespace

void GuardFlagParser::add_to(CLI::App& app) {
  limit_opt_ = app.add_option("--limit", limit_,
                              "Memory limit: bytes, Ki/Mi/Gi/Ti, KB/MB/GB/TB, or N% of the "
                              "cgroup's memory limit (or --config.file)");
  measure_opt_ = app.add_option("--measure", measure_, "pss|uss|rss: what --limit is compared with")
                     ->check(CLI::IsMember({"pss", "uss", "rss"}))
                     ->capture_default_str();
  signal_opt_ =
      app.add_option("--signal", signal_, "Signal sent over the limit")->capture_default_str();
  kill_after_opt_ =
      app.add_option("--kill-after", kill_after_, "Still alive this long after --signal: SIGKILL")
          ->capture_default_str();
  for_opt_ = app.add_option("--for", for_, "Over the limit this long before acting")
                 ->capture_default_str();
  interval_opt_ = app.add_option("--interval", interval_, "How often the limit is checked")
                      ->capture_default_str();
  stats_opt_ = app.add_option("--stats-frequency", stats_frequency_,
                              "Gauges at most this old; a stats line at --log.level=debug")
                   ->capture_default_str();
  tree_opt_ = app.add_flag("--tree", tree_,
                           "Judge the sum over the process and all its descendants, largest "
                           "first (scope: group)");
  kill_exit_opt_ = app.add_option("--kill-exit-code", kill_exit_code_,
                                  "Exit with this (1-255) instead of CMD's status when "
                                  "memoryguard's action ended it")
                       ->check(CLI::Range(1, 255));
  pid_opt_ =
      app.add_option("--pid", pid_, "Guard this running process until it exits, then exit 0");
  pid_file_opt_ = app.add_option("--pid-file", pid_file_,
                                 "Guard the process whose pid this file holds, as --pid");
  for (CLI::Option* o :
       {limit_opt_, measure_opt_, signal_opt_, kill_after_opt_, for_opt_, interval_opt_, stats_opt_,
        tree_opt_, kill_exit_opt_, pid_opt_, pid_file_opt_}) {
    o->group(kGroup);
  }
  pid_opt_->excludes(pid_file_opt_);
}

std::string GuardFlagParser::first_given() const {
  for (CLI::Option* o :
       {limit_opt_, measure_opt_, signal_opt_, kill_after_opt_, for_opt_, interval_opt_, stats_opt_,
        tree_opt_, kill_exit_opt_, pid_opt_, pid_file_opt_}) {
    if (o->count() > 0) return o->get_name();
  }
  return "";
}

bool GuardFlagParser::pid_given() const {
  return pid_opt_->count() > 0 || pid_file_opt_->count() > 0;
}

std::string GuardFlagParser::finish(bool run, bool config_file, GuardFlags& out) const {
  std::string error;
  if (run && pid_given()) return "--pid and --pid-file guard a running process; not with run";
  if (pid_opt_->count() > 0) {
    int pid = 0;
    const auto [end, ec] = std::from_chars(pid_.data(), pid_.data() + pid_.size(), pid);
    if (ec != std::errc{} || end != pid_.data() + pid_.size() || pid <= 0)
      return bad("--pid", pid_, "not a process id (a positive integer)");
    out.pid = pid;
  }
  out.pid_file = pid_file_;

  const bool rule_flags = limit_opt_->count() || measure_opt_->count() || signal_opt_->count() ||
                          kill_after_opt_->count() || for_opt_->count() || interval_opt_->count() ||
                          stats_opt_->count();
  if (config_file) {
    if (rule_flags) {
      const std::string first = limit_opt_->count() ? "--limit" : first_given();
      return first + ": the rules come from --config.file; give one or the other";
    }
    if (run && tree_) {
      return "--tree: the rules come from --config.file (its scope: says how each is judged); "
             "they apply within CMD's whole tree either way";
    }
  } else if (limit_opt_->count() == 0) {
    return std::string(run ? "run" : "--pid") + " needs --limit (or --config.file)";
  }
  out.tree = tree_;
  if (kill_exit_opt_->count() > 0) out.kill_exit_code = kill_exit_code_;
  if (config_file) return "";

  out.limit_text = limit_;
  out.limit = limit_of(limit_, error);
  if (!out.limit) return error;
  out.measure = measure_ == "uss"   ? Measure::kUss
                : measure_ == "rss" ? Measure::kRss
                                    : Measure::kPss;
  auto sig = parse_signal(signal_);
  if (!sig) return bad("--signal", signal_, "not a signal (SIGTERM, TERM, 15, SIGRTMIN+2)");
  out.signal = *sig;
  out.signal_name = signal_name(*sig);
  auto kill_after = duration_of("--kill-after", kill_after_, true, error);
  auto for_duration = duration_of("--for", for_, false, error);
  auto interval = duration_of("--interval", interval_, true, error);
  auto stats = duration_of("--stats-frequency", stats_frequency_, true, error);
  if (!error.empty()) return error;
  out.kill_after = *kill_after;
  out.for_duration = *for_duration;
  out.interval = *interval;
  out.stats_frequency = *stats;
  return "";
}

}  // namespace mg
