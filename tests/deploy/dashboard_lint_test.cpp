// Lints dashboards/memoryguard.json: provisionable as is, the variables an
// operator expects, every query scoped to the selected job and instance, every
// rate over $__rate_interval, and every panel explained and with a unit. The
// lint is then run on broken copies, to show that it catches each defect.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include "dashboard_queries.h"

namespace mgdash {
namespace {

using nlohmann::json;

// ---- a small PromQL scanner --------------------------------------------------

// One vector selector: `metric{matchers}`, `metric`, or `{matchers}`.
struct Selector {
  std::string metric;
  std::string matchers;  // between the braces; empty when there are none
};

struct Scanned {
  std::vector<Selector> selectors;
  std::vector<std::string> ranges;  // what is inside each [...]
  std::string error;
};

bool is_ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool is_ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}

// Finds the vector selectors and range durations of an expression. It does not
// validate PromQL (the end-to-end test has a real Prometheus do that); it only
// tells metric names from function names, keywords and label lists.
Scanned scan_promql(const std::string& e) {
  static const std::set<std::string> kKeywords = {"and",    "or",    "unless", "bool",
                                                  "offset", "atan2", "inf",    "nan"};
  // Followed by a parenthesized list of label names, not of expressions.
  static const std::set<std::string> kLabelLists = {"by",       "without",    "on",
                                                    "ignoring", "group_left", "group_right"};
  Scanned out;
  auto skip_space = [&](std::size_t i) {
    while (i < e.size() && std::isspace(static_cast<unsigned char>(e[i]))) ++i;
    return i;
  };
  // Returns the index just past the closing `close`, skipping quoted strings.
  auto find_close = [&](std::size_t open, char close) -> std::size_t {
    for (std::size_t i = open + 1; i < e.size(); ++i) {
      if (e[i] == '"' || e[i] == '\'' || e[i] == '`') {
        const char q = e[i];
        for (++i; i < e.size() && e[i] != q; ++i) {
          if (e[i] == '\\' && q != '`') ++i;
        }
      } else if (e[i] == close) {
        return i + 1;
      }
    }
    return std::string::npos;
  };
  auto starts_label_list = [&](std::size_t at) {
    std::size_t end = at;
    while (end < e.size() && is_ident_char(e[end])) ++end;
    const std::string word = e.substr(at, end - at);
    return (word == "by" || word == "without") && skip_space(end) < e.size() &&
           e[skip_space(end)] == '(';
  };
  std::size_t i = 0;
  while (i < e.size()) {
    const char c = e[i];
    if (c == '"' || c == '\'' || c == '`') {
      // A string outside braces (a label_replace argument): never a selector.
      for (++i; i < e.size() && e[i] != c; ++i) {
        if (e[i] == '\\' && c != '`') ++i;
      }
      ++i;
    } else if (c == '{') {
      const std::size_t end = find_close(i, '}');
      if (end == std::string::npos) {
        out.error = "unclosed {";
        return out;
      }
      out.selectors.push_back({"", e.substr(i + 1, end - i - 2)});
      i = end;
    } else if (c == '[') {
      const std::size_t end = find_close(i, ']');
      if (end == std::string::npos) {
        out.error = "unclosed [";
        return out;
      }
      out.ranges.push_back(e.substr(i + 1, end - i - 2));
      i = end;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      // A number or a duration (after offset): digits, letters, dots.
      while (i < e.size() && (is_ident_char(e[i]) || e[i] == '.')) ++i;
    } else if (is_ident_start(c)) {
      std::size_t end = i;
      while (end < e.size() && is_ident_char(e[end])) ++end;
      const std::string word = e.substr(i, end - i);
      const std::size_t next = skip_space(end);
      const char after = next < e.size() ? e[next] : '\0';
      if (kLabelLists.count(word) != 0) {
        if (after == '(') {
          const std::size_t close = find_close(next, ')');
          i = close == std::string::npos ? e.size() : close;
        } else {
          i = end;
        }
      } else if (kKeywords.count(word) != 0 || after == '(' || starts_label_list(next)) {
        i = end;  // a keyword, a function, or an aggregation (`sum by (x) (...)`)
      } else if (after == '{') {
        const std::size_t close = find_close(next, '}');
        if (close == std::string::npos) {
          out.error = "unclosed {";
          return out;
        }
        out.selectors.push_back({word, e.substr(next + 1, close - next - 2)});
        i = close;
      } else {
        out.selectors.push_back({word, ""});
        i = end;
      }
    } else {
      ++i;
    }
  }
  return out;
}

bool has_matcher(const std::string& matchers, const std::string& label) {
  const std::regex re("(^|[,\\s])" + label + "\\s*=~\\s*\"\\$\\{?" + label + "\\}?\"");
  return std::regex_search(matchers, re);
}

// ---- the lint --------------------------------------------------------------

void lint_variables(const json& d, std::vector<std::string>& problems) {
  const auto vars = dashboard_variables(d);
  auto need = [&](const std::string& name) -> const json* {
    const auto it = vars.find(name);
    if (it == vars.end()) {
      problems.push_back("variable $" + name + " is missing");
      return nullptr;
    }
    return &it->second;
  };
  if (const json* ds = need("datasource")) {
    if (ds->value("type", "") != "datasource" || ds->value("query", json()) != "prometheus") {
      problems.push_back("variable $datasource must be of type datasource, query prometheus");
    }
  }
  // Multi-select with "All" sent as .+, so that every query's =~ matches
  // every value (Grafana's default All is a list of the values it knows).
  // namespace and pod come from kube-state-metrics (kubernetes.rules.yml):
  // empty where it is not, and the panels without them still work.
  for (const std::string name : {"job", "instance", "rule", "namespace", "pod"}) {
    const bool optional = name == "rule" || name == "namespace" || name == "pod";
    if (optional && vars.count(name) == 0) continue;
    const json* v = need(name);
    if (v == nullptr) continue;
    const std::string where = "variable $" + name + ": ";
    if (v->value("type", "") != "query") problems.push_back(where + "must be a query variable");
    if (!v->value("multi", false)) problems.push_back(where + "must be multi-select");
    if (!v->value("includeAll", false)) problems.push_back(where + "must include All");
    if (v->value("allValue", json()) != ".+") problems.push_back(where + "allValue must be .+");
    if (!v->contains("datasource") || (*v)["datasource"].value("uid", "") != "${datasource}") {
      problems.push_back(where + "must query the $datasource data source");
    }
    const std::string q = variable_query(*v);
    const std::regex label_values(R"(^label_values\((.+),\s*(\w+)\s*\)$)");
    std::smatch m;
    if (!std::regex_match(q, m, label_values) || m[2] != name) {
      problems.push_back(where + "query must be label_values(..., " + name + "), not '" + q + "'");
      continue;
    }
    if (name == "job" && m[1].str().find("memoryguard_build_info") != 0) {
      problems.push_back(where + "must list the jobs of memoryguard_build_info");
    }
    const Scanned s = scan_promql(m[1]);
    const std::vector<std::string> scope = name == "job" ? std::vector<std::string>{}
                                           : name == "instance"
                                               ? std::vector<std::string>{"job"}
                                               : std::vector<std::string>{"job", "instance"};
    for (const auto& sel : s.selectors) {
      for (const auto& label : scope) {
        if (!has_matcher(sel.matchers, label)) {
          problems.push_back(where + "must filter on " + label + "=~\"$" + label + "\"");
        }
      }
    }
  }
}

void lint_expr(const Query& q, std::vector<std::string>& problems) {
  if (q.expr.empty()) {
    problems.push_back(q.where + ": no expr");
    return;
  }
  const Scanned s = scan_promql(q.expr);
  if (!s.error.empty()) problems.push_back(q.where + ": " + s.error);
  if (s.selectors.empty()) problems.push_back(q.where + ": no metric selector in '" + q.expr + "'");
  for (const auto& sel : s.selectors) {
    for (const std::string label : {"job", "instance"}) {
      if (!has_matcher(sel.matchers, label)) {
        problems.push_back(q.where + ": " + (sel.metric.empty() ? "a selector" : sel.metric) +
                           " does not filter on " + label + "=~\"$" + label + "\"");
      }
    }
  }
  for (const auto& range : s.ranges) {
    if (range != "$__rate_interval") {
      problems.push_back(q.where + ": range [" + range + "] instead of [$__rate_interval]");
    }
  }
}

void lint_panels(const json& panels, std::vector<std::string>& problems) {
  if (!panels.is_array()) return;
  for (const auto& p : panels) {
    const std::string title = p.value("title", "");
    const std::string where = "panel '" + title + "' (id " + p.value("id", json()).dump() + ")";
    if (p.contains("panels")) lint_panels(p["panels"], problems);
    if (p.value("type", "") == "row") {
      if (title.empty()) problems.push_back(where + ": a row without a title");
      continue;
    }
    if (title.empty()) problems.push_back(where + ": no title");
    if (p.value("description", "").empty()) problems.push_back(where + ": no description");
    const json unit = p.contains("fieldConfig") && p["fieldConfig"].contains("defaults")
                          ? p["fieldConfig"]["defaults"].value("unit", json())
                          : json();
    if (!unit.is_string() || unit.get<std::string>().empty()) {
      problems.push_back(where + ": no unit (fieldConfig.defaults.unit)");
    }
    if (!p.contains("targets") || !p["targets"].is_array() || p["targets"].empty()) {
      problems.push_back(where + ": no query");
    }
    if (!p.contains("datasource") || p["datasource"].value("uid", "") != "${datasource}") {
      problems.push_back(where + ": data source is not ${datasource}");
    }
  }
}

std::vector<std::string> lint(const json& d) {
  std::vector<std::string> problems;
  // A dashboard exported "for sharing externally" only imports through the
  // UI's form; provisioning needs it plain, with a fixed uid and no id.
  if (d.contains("__inputs")) problems.push_back("__inputs present: export it without sharing");
  if (!d.value("uid", json()).is_string() || d.value("uid", "").empty()) {
    problems.push_back("no uid");
  }
  if (d.contains("id") && !d["id"].is_null()) problems.push_back("id is pinned");
  lint_variables(d, problems);
  if (!d.contains("panels") || d["panels"].empty()) problems.push_back("no panels");
  if (d.contains("panels")) lint_panels(d["panels"], problems);
  for (const auto& q : dashboard_queries(d)) lint_expr(q, problems);
  return problems;
}

// ---- the tests ---------------------------------------------------------------

json load_dashboard() {
  std::ifstream in(MG_DASHBOARD);
  if (!in) {
    ADD_FAILURE() << "cannot open " << MG_DASHBOARD;
    return json::object();
  }
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    ADD_FAILURE() << MG_DASHBOARD << ": " << e.what();
    return json::object();
  }
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "  " + l + "\n";
  return out;
}

TEST(DashboardLint, MemoryguardDashboardIsClean) {
  const json d = load_dashboard();
  const auto problems = lint(d);
  EXPECT_TRUE(problems.empty()) << MG_DASHBOARD << ":\n" << join(problems);
  EXPECT_GE(dashboard_queries(d).size(), 10u) << "the panels of SPEC §6 are not all there";
}

// Every panel of SPEC §6 has its metric somewhere on the dashboard.
TEST(DashboardLint, ShowsWhatTheSpecAsksFor) {
  const json d = load_dashboard();
  std::string all;
  for (const auto& q : dashboard_queries(d)) all += q.expr + "\n";
  for (const std::string metric :
       {"memoryguard_process_pss_bytes", "memoryguard_rule_limit_bytes", "memoryguard_kills_total",
        "memoryguard_kill_failures_total", "memoryguard_rule_processes",
        "memoryguard_scan_duration_seconds_bucket", "memoryguard_scan_errors_total",
        "memoryguard_config_last_reload_successful",
        "memoryguard_config_last_reload_success_timestamp_seconds", "memoryguard_build_info",
        "memoryguard_tls_certificate_expiry_timestamp_seconds",
        "memoryguard_tls_handshake_failures_total"}) {
    EXPECT_NE(all.find(metric), std::string::npos) << metric << " is on no panel";
  }
  EXPECT_NE(all.find("topk("), std::string::npos) << "no top processes panel";
  EXPECT_NE(all.find("histogram_quantile(0.99"), std::string::npos) << "no p99 scan duration";
}

TEST(DashboardLint, ScannerTellsMetricsFromFunctionsAndLabelLists) {
  const Scanned s = scan_promql(
      "histogram_quantile(0.99, sum by (le, instance) (rate(a_bucket{job=~\"$job\"}[5m]))) "
      "/ on (instance) group_left (version) b or c offset 1h > bool 0.5");
  ASSERT_TRUE(s.error.empty()) << s.error;
  ASSERT_EQ(s.selectors.size(), 3u);
  EXPECT_EQ(s.selectors[0].metric, "a_bucket");
  EXPECT_EQ(s.selectors[0].matchers, "job=~\"$job\"");
  EXPECT_EQ(s.selectors[1].metric, "b");
  EXPECT_EQ(s.selectors[2].metric, "c");
  ASSERT_EQ(s.ranges.size(), 1u);
  EXPECT_EQ(s.ranges[0], "5m");
}

// Each broken copy must draw a problem that names the defect.
struct Breakage {
  const char* name;
  std::function<void(json&)> apply;
  const char* expected;  // a substring of one of the problems
};

json& first_panel_of_type(json& d, const std::string& type) {
  for (auto& p : d["panels"]) {
    if (p.value("type", "") == type) return p;
  }
  ADD_FAILURE() << "no panel of type " << type;
  return d["panels"][0];
}

json& variable(json& d, const std::string& name) {
  for (auto& v : d["templating"]["list"]) {
    if (v.value("name", "") == name) return v;
  }
  ADD_FAILURE() << "no variable " << name;
  return d["templating"]["list"][0];
}

void remove_variable(json& d, const std::string& name) {
  auto& list = d["templating"]["list"];
  for (auto it = list.begin(); it != list.end(); ++it) {
    if (it->value("name", "") == name) {
      list.erase(it);
      return;
    }
  }
}

std::string& first_expr(json& d, const std::string& containing) {
  for (auto& p : d["panels"]) {
    if (!p.contains("targets")) continue;
    for (auto& t : p["targets"]) {
      if (t.value("expr", "").find(containing) != std::string::npos) {
        return t["expr"].get_ref<std::string&>();
      }
    }
  }
  ADD_FAILURE() << "no expr contains " << containing;
  static std::string none;
  return none;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

TEST(DashboardLint, CatchesEachDefect) {
  const std::vector<Breakage> breakages = {
      {"__inputs", [](json& d) { d["__inputs"] = json::array(); }, "__inputs"},
      {"pinned id", [](json& d) { d["id"] = 7; }, "id is pinned"},
      {"no uid", [](json& d) { d.erase("uid"); }, "no uid"},
      {"no $datasource", [](json& d) { remove_variable(d, "datasource"); },
       "$datasource is missing"},
      {"no $job", [](json& d) { remove_variable(d, "job"); }, "$job is missing"},
      {"no $instance", [](json& d) { remove_variable(d, "instance"); }, "$instance is missing"},
      {"single-select job", [](json& d) { variable(d, "job")["multi"] = false; },
       "$job: must be multi-select"},
      {"no All for instance", [](json& d) { variable(d, "instance")["includeAll"] = false; },
       "$instance: must include All"},
      {"allValue", [](json& d) { variable(d, "job")["allValue"] = nullptr; },
       "$job: allValue must be .+"},
      {"instance not under job",
       [](json& d) {
         variable(d, "instance")["query"] = "label_values(memoryguard_build_info, instance)";
       },
       "$instance: must filter on job"},
      {"expr without job",
       [](json& d) { replace_all(first_expr(d, "topk"), "job=~\"$job\", ", ""); },
       "does not filter on job"},
      {"expr without instance",
       [](json& d) {
         replace_all(first_expr(d, "memoryguard_rule_processes"), ", instance=~\"$instance\"", "");
       },
       "memoryguard_rule_processes does not filter on instance"},
      {"second selector unfiltered",
       [](json& d) {
         replace_all(first_expr(d, "memoryguard_cgroup_pss_bytes"),
                     "memoryguard_cgroup_pss_bytes{job=~\"$job\", instance=~\"$instance\", "
                     "rule=~\"$rule\"}",
                     "memoryguard_cgroup_pss_bytes");
       },
       "memoryguard_cgroup_pss_bytes does not filter on job"},
      {"fixed range",
       [](json& d) {
         replace_all(first_expr(d, "rate(memoryguard_scan_errors"), "$__rate_interval", "5m");
       },
       "range [5m] instead of [$__rate_interval]"},
      {"$__interval",
       [](json& d) {
         replace_all(first_expr(d, "increase(memoryguard_kills_total"), "$__rate_interval",
                     "$__interval");
       },
       "range [$__interval]"},
      {"annotation range",
       [](json& d) {
         for (auto& a : d["annotations"]["list"]) {
           if (a.contains("expr"))
             replace_all(a["expr"].get_ref<std::string&>(), "$__rate_interval", "1m");
         }
       },
       "annotation"},
      {"no title", [](json& d) { first_panel_of_type(d, "timeseries")["title"] = ""; },
       ": no title"},
      {"no description", [](json& d) { first_panel_of_type(d, "table").erase("description"); },
       "no description"},
      {"no unit",
       [](json& d) { first_panel_of_type(d, "stat")["fieldConfig"]["defaults"].erase("unit"); },
       "no unit"},
      {"fixed data source",
       [](json& d) {
         first_panel_of_type(d, "bargauge")["datasource"]["uid"] = "P1809F7CD0C75ACF3";
       },
       "data source is not ${datasource}"},
  };
  const json clean = load_dashboard();
  ASSERT_TRUE(lint(clean).empty());
  for (const auto& b : breakages) {
    json broken = clean;
    b.apply(broken);
    const auto problems = lint(broken);
    bool named = false;
    for (const auto& p : problems) named = named || p.find(b.expected) != std::string::npos;
    EXPECT_TRUE(named) << "breakage '" << b.name << "' was not reported as '" << b.expected
                       << "'; problems:\n"
                       << join(problems);
  }
}

}  // namespace
}  // namespace mgdash
