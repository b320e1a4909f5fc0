#pragma once
// The PromQL that a Grafana dashboard sends: every panel target (panels of
// collapsed rows included) and every annotation query, plus a stand-in for
// Grafana's variable interpolation. Shared by the dashboard lint
// (tests/deploy) and the test that runs the queries against a real
// Prometheus (tests/integration/prometheus_e2e_test.cpp).
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mgdash {

struct Query {
  std::string where;  // "panel 'Title' target A", for messages
  std::string expr;
};

inline void collect_panel_queries(const nlohmann::json& panels, std::vector<Query>& out) {
  if (!panels.is_array()) return;
  for (const auto& panel : panels) {
    const std::string title = panel.value("title", std::string("(untitled)"));
    if (panel.contains("targets") && panel["targets"].is_array()) {
      for (const auto& target : panel["targets"]) {
        out.push_back({"panel '" + title + "' target " + target.value("refId", std::string("?")),
                       target.value("expr", std::string())});
      }
    }
    if (panel.contains("panels")) collect_panel_queries(panel["panels"], out);
  }
}

inline std::vector<Query> dashboard_queries(const nlohmann::json& dashboard) {
  std::vector<Query> out;
  if (dashboard.contains("panels")) collect_panel_queries(dashboard["panels"], out);
  if (dashboard.contains("annotations") && dashboard["annotations"].contains("list")) {
    for (const auto& a : dashboard["annotations"]["list"]) {
      // The built-in "Annotations & Alerts" entry is Grafana's, not PromQL.
      if (!a.contains("expr")) continue;
      out.push_back({"annotation '" + a.value("name", std::string("?")) + "'",
                     a.value("expr", std::string())});
    }
  }
  return out;
}

// The dashboard's variables by name (templating.list).
inline std::map<std::string, nlohmann::json> dashboard_variables(const nlohmann::json& dashboard) {
  std::map<std::string, nlohmann::json> out;
  if (!dashboard.contains("templating") || !dashboard["templating"].contains("list")) return out;
  for (const auto& v : dashboard["templating"]["list"]) out[v.value("name", std::string())] = v;
  return out;
}

// A query variable's query: a string in older dashboards, an object with a
// "query" member since Grafana 9.
inline std::string variable_query(const nlohmann::json& variable) {
  if (!variable.contains("query")) return {};
  const auto& q = variable["query"];
  if (q.is_string()) return q.get<std::string>();
  if (q.is_object() && q.contains("query") && q["query"].is_string()) return q["query"];
  return {};
}

// What Grafana does before sending a query: $name and ${name} become the
// given values. Longest names first, so $__rate_interval is not read as
// $__rate followed by text.
inline std::string interpolate(std::string expr, const std::map<std::string, std::string>& values) {
  std::vector<std::pair<std::string, std::string>> ordered(values.begin(), values.end());
  std::sort(ordered.begin(), ordered.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  for (const auto& [name, value] : ordered) {
    for (const std::string& form : {"${" + name + "}", "$" + name}) {
      for (std::size_t at = expr.find(form); at != std::string::npos;
           at = expr.find(form, at + value.size())) {
        expr.replace(at, form.size(), value);
      }
    }
  }
  return expr;
}

}  // namespace mgdash
