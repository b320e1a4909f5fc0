#include "cli/reports.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "config/units.h"
#include "util/utf8.h"

namespace mg {
namespace {

void describe_match(std::ostream& out, const MatchSpec& m) {
  const char* sep = "";
  auto key = [&](const char* k, const std::string& v) {
    out << sep << k << "=" << std::quoted(v, '\'');
    sep = " ";
  };
  if (m.name) key("name", m.name->text);
  if (m.cmdline) key("cmdline", m.cmdline->text);
  if (m.exe) key("exe", m.exe->text);
  if (m.user) key("user", m.user_text);
  if (m.cgroup) key("cgroup", m.cgroup->text);
  if (m.pid_file) key("pid_file", *m.pid_file);
  if (m.pod_uid) key("pod_uid", m.pod_uid->text);
  if (m.container_id) key("container_id", m.container_id->text);
  if (m.systemd_unit) key("systemd_unit", m.systemd_unit->text);
  if (m.exclude) {
    out << sep << "not(";
    describe_match(out, *m.exclude);
    out << ")";
  }
}

std::string size_or_percent(const LimitSpec& l, const char* of) {
  if (l.is_percent()) {
    std::ostringstream s;
    s << l.percent << "% of " << of;
    return s.str();
  }
  return format_bytes(l.bytes);
}

std::string percent_text(double p) {
  std::ostringstream s;
  s << p << "%";
  return s.str();
}

// Every condition the rule acts on, in words.
void describe_conditions(std::ostream& out, const RuleSpec& r) {
  if (r.limit.is_set()) {
    out << "\n      limit: ";
    if (r.measure == Measure::kWorkingSet) {
      out << "each cgroup's working set (memory charge minus inactive file cache) over "
          << size_or_percent(r.limit, "the cgroup's effective memory limit");
    } else {
      out << size_or_percent(r.limit, "the cgroup's memory limit") << " of " << to_string(r.measure)
          << " "
          << (r.scope == Scope::kProcess ? "per process"
              : r.scope == Scope::kGroup ? "summed over all matched processes"
                                         : "summed per cgroup");
    }
  }
  if (r.pressure) {
    out << "\n      pressure: "
        << (r.scope == Scope::kCgroup ? "each cgroup's memory.pressure"
                                      : "the host's memory pressure")
        << " at or above";
    if (r.pressure->some) out << " some " << percent_text(*r.pressure->some);
    if (r.pressure->some && r.pressure->full) out << " and";
    if (r.pressure->full) out << " full " << percent_text(*r.pressure->full);
    out << " over " << r.pressure->window_seconds << "s";
  }
  if (r.available) {
    out << "\n      available: host MemAvailable below "
        << size_or_percent(r.available->below, "MemTotal");
  }
  if (r.for_duration.count()) out << "\n      for: " << format_duration(r.for_duration);
  const int conditions = (r.limit.is_set() ? 1 : 0) + (r.pressure ? 1 : 0) + (r.available ? 1 : 0);
  if (conditions > 1) out << "\n      (every condition must hold)";
}

void print_condition_states(std::ostream& out, const std::vector<ConditionState>& states,
                            const char* indent) {
  for (const ConditionState& s : states) {
    out << indent << to_string(s.kind) << ": " << s.text << (s.holds ? "  [holds]" : "") << "\n";
  }
}

// Whose process it is, short: the unit, or the pod and the container's
// runtime and first 12 digits of its ID (as `docker ps` shows them).
std::string identity_text(const CgroupIdentity* id) {
  if (id == nullptr) return "-";
  std::string out;
  auto add = [&](const std::string& part) {
    if (part.empty()) return;
    if (!out.empty()) out += " ";
    out += part;
  };
  if (!id->pod_uid.empty()) add("pod " + id->pod_uid);
  if (!id->container_id.empty()) {
    const std::size_t scheme = id->container_id.find("://");
    add(scheme == std::string::npos ? id->container_id
                                    : id->container_id.substr(0, scheme + 3 + 12));
  }
  add(id->systemd_unit);
  return out.empty() ? "-" : to_valid_utf8(out);
}

}  // namespace

void print_config_summary(std::ostream& out, const Config& c,
                          const std::vector<ConditionRow>& now) {
  out << "config OK: " << c.path << "\n"
      << "  interval " << format_duration(c.interval) << ", stats_frequency "
      << format_duration(c.stats_frequency) << ", measure " << to_string(c.measure) << ", dry_run "
      << (c.dry_run ? "true" : "false") << "\n";
  out << "  identity labels (pod_uid, container_id, systemd_unit): "
      << (c.identity_labels ? "on, bare container IDs as " + c.container_runtime + "://" : "off")
      << "\n";
  out << "  protect: " << c.protect.size() << (c.protect.size() == 1 ? " matcher" : " matchers")
      << " (plus the agent, its ancestors, pid 1 and kernel threads, always)\n";
  for (const MatchSpec& m : c.protect) {
    out << "    - ";
    describe_match(out, m);
    out << "\n";
  }
  out << "  rules: " << c.rules.size() << "\n";
  for (const RuleSpec& r : c.rules) {
    out << "    " << r.name << ":\n      match: ";
    describe_match(out, r.match);
    if (r.children) out << " (and all descendants)";
    describe_conditions(out, r);
    out << "\n      action: " << r.action.signal_name;
    if (r.action.signal_name != "SIGKILL")
      out << ", SIGKILL after " << format_duration(r.action.kill_after);
    out << " to the " << to_string(r.action.target);
    if (r.scope != Scope::kProcess) out << ", victim " << to_string(r.victim);
    if (r.action.cooldown.count()) out << ", cooldown " << format_duration(r.action.cooldown);
    if (!r.action.exec.empty())
      out << ", then run " << r.action.exec.front() << " (timeout "
          << format_duration(r.action.exec_timeout) << ")";
    out << (r.dry_run ? "  [dry-run: nothing is signalled]" : "") << "\n";
    bool cgroup_shown = false;
    for (const ConditionRow& row : now) {
      if (row.rule != r.name) continue;
      cgroup_shown = cgroup_shown || row.unit != "host";
      out << "      now, " << to_valid_utf8(row.unit) << ":\n";
      print_condition_states(out, row.states, "        ");
    }
    const bool reads_cgroups =
        r.scope == Scope::kCgroup && (r.measure == Measure::kWorkingSet || r.pressure);
    if (reads_cgroups && !cgroup_shown)
      out << "      now: no process matches, so there is no cgroup to read\n";
  }
}

void print_check_table(std::ostream& out, const CheckReport& report) {
  struct Line {
    std::string rule, pid, name, pss, rss, limit, who, verdict;
  };
  std::vector<Line> lines;
  lines.push_back({"RULE", "PID", "NAME", "PSS", "RSS", "LIMIT", "POD/CONTAINER/UNIT", "VERDICT"});
  for (const CheckRow& r : report.rows) {
    lines.push_back({r.rule, r.pid ? std::to_string(r.pid) : "-", to_valid_utf8(r.name),
                     format_bytes(r.figures.pss), format_bytes(r.figures.rss),
                     r.limit ? format_bytes(r.limit) : "-", identity_text(r.identity.get()),
                     r.verdict});
  }
  std::size_t w[7] = {};
  for (const Line& l : lines) {
    const std::string* cols[7] = {&l.rule, &l.pid, &l.name, &l.pss, &l.rss, &l.limit, &l.who};
    for (int i = 0; i < 7; ++i) w[i] = std::max(w[i], cols[i]->size());
  }
  for (const Line& l : lines) {
    out << std::left << std::setw(static_cast<int>(w[0])) << l.rule << "  " << std::right
        << std::setw(static_cast<int>(w[1])) << l.pid << "  " << std::left
        << std::setw(static_cast<int>(w[2])) << l.name << "  " << std::right
        << std::setw(static_cast<int>(w[3])) << l.pss << "  " << std::setw(static_cast<int>(w[4]))
        << l.rss << "  " << std::setw(static_cast<int>(w[5])) << l.limit << "  " << std::left
        << std::setw(static_cast<int>(w[6])) << l.who << "  " << l.verdict << "\n";
  }
  if (report.rows.empty()) out << "(no process matches any rule)\n";
  const auto matched = std::count_if(report.rows.begin(), report.rows.end(),
                                     [](const CheckRow& r) { return r.pid != 0; });
  out << matched << " matched (process, rule) pairs among " << report.processes_seen
      << " processes\n";
  if (!report.conditions.empty()) {
    out << "\nCONDITIONS (beside the limits above)\n";
    for (const ConditionRow& row : report.conditions) {
      out << row.rule << ", " << to_valid_utf8(row.unit) << ":\n";
      print_condition_states(out, row.states, "  ");
    }
  }
}

}  // namespace mg
