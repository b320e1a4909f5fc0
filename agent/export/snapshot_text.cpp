#include "export/snapshot_text.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <optional>
#include <string_view>
#include <vector>

#include "util/utf8.h"

namespace mg {
namespace {

void append_escaped(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void append_number(std::string& out, std::uint64_t value) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

// Whose process or cgroup it is, each label only when known, so that a
// process outside any pod carries no empty pod_uid="" label.
void append_identity(std::string& out, const CgroupIdentity* id) {
  if (id == nullptr) return;
  auto label = [&](const char* name, const std::string& value) {
    if (value.empty()) return;
    out.append(",").append(name).append("=\"");
    append_escaped(out, to_valid_utf8(value));
    out += '"';
  };
  label("container_id", id->container_id);
  label("pod_uid", id->pod_uid);
  label("systemd_unit", id->systemd_unit);
}

// A PSI average (a percentage) as a ratio, in the shortest exact form.
void append_ratio(std::string& out, double percent) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", percent / 100.0);
  out.append(buf);
}

// A gauge family of ratios whose series `each` writes through the callback
// it is given (labels before kind and window, and the value).
template <typename Each>
void ratio_family(std::string& out, const char* name, const char* help, Each&& each) {
  std::string lines;
  each([&](const std::string& labels, const char* kind, int window, double percent) {
    lines.append(name).append("{");
    if (!labels.empty()) lines.append(labels).append(",");
    lines.append("kind=\"").append(kind).append("\",window=\"");
    lines.append(std::to_string(window)).append("s\"} ");
    append_ratio(lines, percent);
    lines += '\n';
  });
  if (lines.empty()) return;
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" gauge\n");
  out.append(lines);
}

template <typename Line>
void pressure_lines(Line&& line, const std::string& labels, const Pressure& p, int window) {
  line(labels, "some", window, p.some.average(window));
  if (p.full) line(labels, "full", window, p.full->average(window));
}

}  // namespace

void render_snapshot(const Snapshot& snap, std::string& out) {
  // The label values, made valid UTF-8 once per scrape rather than once per
  // series: a process's name labels three of them.
  std::vector<std::string> rules;
  std::vector<std::vector<std::string>> names;  // by rule, then by top process
  rules.reserve(snap.rules.size());
  names.reserve(snap.rules.size());
  for (const auto& r : snap.rules) {
    rules.push_back(to_valid_utf8(r.rule));
    auto& valid = names.emplace_back();
    valid.reserve(r.top.size());
    for (const auto& p : r.top) valid.push_back(to_valid_utf8(p.name));
  }

  // One family a pass over the rules; a family with no series is left out.
  auto family = [&](const char* name, const char* help, auto&& has_series, auto&& series) {
    bool any = false;
    for (const auto& r : snap.rules) any = any || has_series(r);
    if (!any) return;
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" gauge\n");
    for (std::size_t i = 0; i < snap.rules.size(); ++i) series(name, i);
  };
  auto rule_series = [&](const char* name, const std::string& rule, std::uint64_t value) {
    out.append(name).append("{rule=\"");
    append_escaped(out, rule);
    out.append("\"} ");
    append_number(out, value);
    out += '\n';
  };
  // Every top process of rule i with a figure; without_detail: also those
  // whose PSS/USS is not known yet (unreadable smaps_rollup), which get no
  // series rather than a made-up value.
  auto process_series = [&](const char* name, std::size_t i, bool without_detail,
                            std::uint64_t ProcessSample::*figure) {
    const auto& top = snap.rules[i].top;
    for (std::size_t j = 0; j < top.size(); ++j) {
      const ProcessSample& p = top[j];
      if (!without_detail && !p.has_detail) continue;
      out.append(name).append("{name=\"");
      append_escaped(out, names[i][j]);
      out.append("\",pid=\"");
      append_number(out, static_cast<std::uint64_t>(p.pid));
      out.append("\",rule=\"");
      append_escaped(out, rules[i]);
      out += '"';
      append_identity(out, p.identity.get());
      out.append("} ");
      append_number(out, p.*figure);
      out += '\n';
    }
  };
  auto has_top = [](const RuleSample& r) { return !r.top.empty(); };
  auto has_detail = [](const RuleSample& r) {
    for (const auto& p : r.top) {
      if (p.has_detail) return true;
    }
    return false;
  };
  family("memoryguard_process_pss_bytes",
         "Proportional set size of a watched process (the largest per rule).", has_detail,
         [&](const char* name, std::size_t i) {
           process_series(name, i, false, &ProcessSample::pss);
         });
  family("memoryguard_process_uss_bytes",
         "Unique set size of a watched process (the largest per rule).", has_detail,
         [&](const char* name, std::size_t i) {
           process_series(name, i, false, &ProcessSample::uss);
         });
  family(
      "memoryguard_process_rss_bytes",
      "Resident set size of a watched process (the largest per rule).", has_top,
      [&](const char* name, std::size_t i) { process_series(name, i, true, &ProcessSample::rss); });
  auto always = [](const RuleSample&) { return true; };
  family("memoryguard_rule_pss_bytes",
         "Sum of the proportional set size over the rule's processes.", always,
         [&](const char* name, std::size_t i) {
           rule_series(name, rules[i], snap.rules[i].pss_bytes);
         });
  family(
      "memoryguard_rule_limit_bytes",
      "The rule's limit now (the least over its cgroups for a % or working_set limit); none "
      "for a rule without a limit.",
      [](const RuleSample& r) { return r.limit_bytes.has_value(); },
      [&](const char* name, std::size_t i) {
        if (snap.rules[i].limit_bytes) rule_series(name, rules[i], *snap.rules[i].limit_bytes);
      });
  family("memoryguard_rule_processes", "Number of processes the rule matches.", always,
         [&](const char* name, std::size_t i) {
           rule_series(name, rules[i], snap.rules[i].processes);
         });
  // The cgroups of scope: cgroup rules, with what their conditions read.
  auto cgroup_series = [&](const char* name, std::size_t i, auto&& value) {
    for (const auto& c : snap.rules[i].cgroups) {
      auto v = value(c);
      if (!v) continue;
      out.append(name).append("{cgroup=\"");
      append_escaped(out, to_valid_utf8(c.path));
      out.append("\",rule=\"");
      append_escaped(out, rules[i]);
      out += '"';
      append_identity(out, c.identity.get());
      out.append("} ");
      append_number(out, *v);
      out += '\n';
    }
  };
  auto any_cgroup = [](auto&& has) {
    return
        [has](const RuleSample& r) { return std::any_of(r.cgroups.begin(), r.cgroups.end(), has); };
  };
  family("memoryguard_cgroup_pss_bytes",
         "Sum of the proportional set size of the rule's processes in one cgroup (scope: cgroup "
         "rules only).",
         any_cgroup([](const CgroupSample& c) { return c.has_bytes; }),
         [&](const char* name, std::size_t i) {
           cgroup_series(name, i, [](const CgroupSample& c) {
             return c.has_bytes ? std::optional<std::uint64_t>(c.bytes) : std::nullopt;
           });
         });
  family("memoryguard_cgroup_working_set_bytes",
         "A cgroup's working set: its memory charge minus its inactive file cache, what the "
         "kernel OOM-kills on (rules with measure: working_set).",
         any_cgroup([](const CgroupSample& c) { return c.working_set.has_value(); }),
         [&](const char* name, std::size_t i) {
           cgroup_series(name, i, [](const CgroupSample& c) { return c.working_set; });
         });
  family("memoryguard_cgroup_memory_limit_bytes",
         "A cgroup's effective memory limit: the least of its own and its ancestors' (rules "
         "with measure: working_set; none when unlimited).",
         any_cgroup([](const CgroupSample& c) { return c.memory_limit.has_value(); }),
         [&](const char* name, std::size_t i) {
           cgroup_series(name, i, [](const CgroupSample& c) { return c.memory_limit; });
         });
  ratio_family(out, "memoryguard_cgroup_memory_pressure_ratio",
               "Share of the window in which some (or, full, all non-idle) tasks of a cgroup "
               "stalled on memory, from its memory.pressure (rules with pressure:, the window "
               "they compare).",
               [&](auto&& line) {
                 for (std::size_t i = 0; i < snap.rules.size(); ++i) {
                   const RuleSample& r = snap.rules[i];
                   for (const auto& c : r.cgroups) {
                     if (!c.pressure) continue;
                     std::string labels = "cgroup=\"";
                     append_escaped(labels, to_valid_utf8(c.path));
                     labels.append("\",rule=\"");
                     append_escaped(labels, rules[i]);
                     labels.append("\"");
                     append_identity(labels, c.identity.get());
                     pressure_lines(line, labels, *c.pressure, r.pressure_window);
                   }
                 }
               });
  ratio_family(out, "memoryguard_host_memory_pressure_ratio",
               "Share of the window in which some (or, full, all non-idle) tasks of the host "
               "stalled on memory, from /proc/pressure/memory (the windows the rules compare).",
               [&](auto&& line) {
                 if (!snap.host.pressure) return;
                 for (int window : snap.host.pressure_windows)
                   pressure_lines(line, "", *snap.host.pressure, window);
               });
  if (!snap.oom_kills.empty()) {
    out.append(
        "# HELP memoryguard_cgroup_oom_kills_total Processes the kernel's OOM killer killed in a "
        "cgroup a rule watches (memory.events or memory.oom_control oom_kill), kept for 5 minutes "
        "after the rule's last process there.\n"
        "# TYPE memoryguard_cgroup_oom_kills_total counter\n");
    for (const OomKillSample& k : snap.oom_kills) {
      out.append("memoryguard_cgroup_oom_kills_total{cgroup=\"");
      append_escaped(out, to_valid_utf8(k.cgroup));
      out.append("\",rule=\"");
      append_escaped(out, to_valid_utf8(k.rule));
      out += '"';
      append_identity(out, k.identity.get());
      out.append("} ");
      append_number(out, k.kills);
      out += '\n';
    }
  }
  if (snap.host.meminfo) {
    out.append(
        "# HELP memoryguard_host_memory_total_bytes MemTotal of /proc/meminfo (when a rule has "
        "available:).\n# TYPE memoryguard_host_memory_total_bytes gauge\n"
        "memoryguard_host_memory_total_bytes ");
    append_number(out, snap.host.meminfo->total);
    out += '\n';
    if (snap.host.meminfo->available) {
      out.append(
          "# HELP memoryguard_host_memory_available_bytes MemAvailable of /proc/meminfo: what "
          "can be allocated without swapping (when a rule has available:).\n"
          "# TYPE memoryguard_host_memory_available_bytes gauge\n"
          "memoryguard_host_memory_available_bytes ");
      append_number(out, *snap.host.meminfo->available);
      out += '\n';
    }
  }
}

}  // namespace mg
