// The Prometheus and Grafana artifacts against the real tools: a real
// Prometheus scrapes the real agent over HTTPS with a client certificate (as
// a security policy would have it), the agent guards real processes and
// kills one of them, and Prometheus evaluates deploy/prometheus/alerts.yml.
// Then every query of dashboards/memoryguard.json must run there and return
// data, every alert rule must evaluate, and the "process killed" alert must
// go off. Then the agent's certificate is rotated while Prometheus scrapes.
// (promtool's verdict on a live scrape is in metrics_test.cpp.)
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "deploy/dashboard_queries.h"
#include "integration/harness.h"
#include "integration/memory_cgroup.h"
#include "pki/test_pki.h"

namespace mgt {
namespace {

using nlohmann::json;

constexpr const char* kPrometheus = "/usr/bin/prometheus";

std::string url_encode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

// How many alerting rules a rules file declares.
std::size_t count_alerts(const std::string& rules_text) {
  const std::regex alert(R"((^|\n)\s*- alert:)");
  return static_cast<std::size_t>(std::distance(
      std::sregex_iterator(rules_text.begin(), rules_text.end(), alert), std::sregex_iterator()));
}

class PrometheusE2E : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    if (access(kPrometheus, X_OK) != 0) GTEST_SKIP() << kPrometheus << " is not installed";
    pki_ = std::make_unique<mgt_pki::TestPki>(dir(), pki_runner(dir()));
    ca_ = pki_->ca("ca");
    server_ = pki_->leaf("server", ca_, "IP:127.0.0.1,DNS:localhost");
    client_ = pki_->leaf("prometheus", ca_, "DNS:prometheus");
    ASSERT_TRUE(pki_->failed().empty()) << pki_->failed();
  }

  // node_exporter's kind of web config: TLS, and only Prometheus's client
  // certificate (by its SAN) gets in.
  std::string web_config() {
    const std::string file = path("web.yml");
    write_file(file, "tls_server_config:\n  cert_file: " + server_.cert +
                         "\n  key_file: " + server_.key +
                         "\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: " +
                         ca_.cert + "\n  client_allowed_sans: [prometheus]\n");
    return file;
  }

  // An agent serving that config, healthy, that the harness reaches as
  // Prometheus does.
  Agent& tls_agent(const std::string& config) {
    Agent& agent = launch_agent(config, {"--web.config.file=" + web_config()});
    mgt_pki::TlsClientOptions o;
    o.ca = ca_.cert;
    o.cert = client_.cert;
    o.key = client_.key;
    agent.set_tls(o);
    agent.wait_healthy();
    return agent;
  }

  void TearDown() override {
    if (ksm_.valid()) ksm_.kill_and_wait();
    if (prometheus_.valid()) {
      if (HasFailure()) {
        std::fprintf(stderr, "---- prometheus log (%s) ----\n%s\n", log_path_.c_str(),
                     read_file(log_path_).c_str());
      }
      prometheus_.kill_and_wait();
    }
    IntegrationTest::TearDown();
  }

  // A stand-in for kube-state-metrics: its kube_pod_info and
  // kube_pod_container_info lines, as it writes them, served as a file.
  bool start_kube_state_metrics(const std::string& exposition) {
    const std::string dir = path("ksm");
    mkdir(dir.c_str(), 0755);
    write_file(dir + "/metrics", exposition);
    ksm_port_ = free_port();
    SpawnOptions options;
    options.argv = {"/usr/bin/python3", "-m",          "http.server", "--bind",
                    "127.0.0.1",        "--directory", dir,           std::to_string(ksm_port_)};
    options.stdout_path = path("ksm.stdout");
    options.stderr_path = path("ksm.stderr");
    ksm_ = spawn(options).proc;
    return wait_until(
        [&] { return !ksm_.alive() || http_request(ksm_port_, "GET", "/metrics").status == 200; },
        20s);
  }

  // Prometheus on a free loopback port, scraping the agent over HTTPS with
  // its client certificate (and the kube-state-metrics stand-in) every
  // second, and evaluating the repository's alert and recording rules every
  // second.
  bool start_prometheus(int agent_port) {
    port_ = free_port();
    const std::string config = path("prometheus.yml");
    write_file(config,
               "global:\n"
               "  scrape_interval: 1s\n"
               "  scrape_timeout: 1s\n"
               "  evaluation_interval: 1s\n"
               "rule_files:\n"
               "  - " +
                   rules_path() +
                   "\n"
                   "  - " +
                   source_dir() +
                   "/deploy/prometheus/kubernetes.rules.yml\n"
                   "scrape_configs:\n"
                   "  - job_name: memoryguard\n"
                   "    scheme: https\n"
                   "    tls_config:\n"
                   "      ca_file: " +
                   ca_.cert + "\n      cert_file: " + client_.cert +
                   "\n      key_file: " + client_.key +
                   "\n"
                   "    static_configs:\n"
                   "      - targets: ['127.0.0.1:" +
                   std::to_string(agent_port) +
                   "']\n"
                   "  - job_name: kube-state-metrics\n"
                   "    static_configs:\n"
                   "      - targets: ['127.0.0.1:" +
                   std::to_string(ksm_port_) + "']\n");
    log_path_ = path("prometheus.log");
    SpawnOptions options;
    options.argv = {kPrometheus, "--config.file=" + config, "--storage.tsdb.path=" + path("tsdb"),
                    "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"};
    options.stdout_path = path("prometheus.stdout");
    options.stderr_path = log_path_;
    prometheus_ = spawn(options).proc;
    const bool ready = wait_until(
        [&] {
          return !prometheus_.alive() || http_request(port_, "GET", "/-/ready").status == 200;
        },
        30s);
    return ready && prometheus_.alive();
  }

  static std::string rules_path() { return source_dir() + "/deploy/prometheus/alerts.yml"; }

  // The "data" of an API answer; null, with `error` saying why, when it is
  // not a success.
  json api(const std::string& path_and_query, std::string& error) {
    const HttpResponse r = http_request(port_, "GET", path_and_query);
    json body = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    if (r.status != 200 || body.is_discarded() || body.value("status", "") != "success") {
      error = "GET " + path_and_query + " answered " + std::to_string(r.status) + ": " + r.body;
      return json();
    }
    return body["data"];
  }

  // The same, where an error is a test failure.
  json api(const std::string& path_and_query) {
    std::string error;
    json data = api(path_and_query, error);
    if (!error.empty()) ADD_FAILURE() << error;
    return data;
  }

  // Polls an instant query until it returns data; "" then, else why not (a
  // query Prometheus rejects ends the wait at once).
  std::string wait_for_data(const std::string& promql, Clock::duration timeout) {
    std::string error;
    const bool got = wait_until(
        [&] {
          const json data = api("/api/v1/query?query=" + url_encode(promql), error);
          return !error.empty() || (data.is_object() && !data["result"].empty());
        },
        timeout);
    if (!error.empty()) return error;
    return got ? "" : "no data";
  }

  Proc prometheus_;
  Proc ksm_;
  int ksm_port_ = 0;
  int port_ = 0;
  std::string log_path_;
  std::unique_ptr<mgt_pki::TestPki> pki_;
  mgt_pki::Issued ca_, server_, client_;
};

TEST_F(PrometheusE2E, DashboardQueriesAndAlertRulesWorkOnTheRealAgent) {
  // Two processes, in memory cgroups of the test's named as a pod's
  // container and as a systemd service, watched by rules of every scope and
  // condition, so that every family of the dashboard has series; another,
  // started later, is killed by a rule of its own. The conditions are set
  // where the test's host cannot reach them. kube-state-metrics (a stand-in)
  // knows the pod.
  const std::string uid = pod_uid_of(token(), '7');
  const std::string id = container_hex(token(), '7');
  MemoryCgroup& pod = memory_cgroup("mgt_" + token() + "/kubepods/burstable/pod" + uid + "/" + id);
  ASSERT_TRUE(pod.ok()) << pod.error();
  ASSERT_TRUE(pod.set_limit(512 * kMiB));
  MemoryCgroup& unit =
      memory_cgroup("mgt_" + token() + "/system.slice/mgt-" + token() + ".service");
  ASSERT_TRUE(unit.ok()) << unit.error();
  Helper& watched = hog(20);
  ASSERT_TRUE(pod.add(watched.pid()));
  Helper& service = hog(21);
  ASSERT_TRUE(unit.add(service.pid()));
  ASSERT_TRUE(start_kube_state_metrics(
      "# HELP kube_pod_info Information about pod.\n"
      "# TYPE kube_pod_info gauge\n"
      "kube_pod_info{namespace=\"shop\",pod=\"web-1\",uid=\"" +
      uid +
      "\",host_ip=\"10.0.0.1\",pod_ip=\"10.1.0.7\",node=\"n1\",created_by_kind=\"ReplicaSet\","
      "created_by_name=\"web\",priority_class=\"\",host_network=\"false\"} 1\n"
      "# HELP kube_pod_container_info Information about a container in a pod.\n"
      "# TYPE kube_pod_container_info gauge\n"
      "kube_pod_container_info{namespace=\"shop\",pod=\"web-1\",uid=\"" +
      uid +
      "\",container=\"app\",image_spec=\"web:1\",image=\"web:1\",image_id=\"sha256:0\","
      "container_id=\"containerd://" +
      id + "\"} 1\n"))
      << "the kube-state-metrics stand-in did not serve";
  const std::string watched_match =
      "{ name: '^mgt_hog$', cmdline: '" + token() + " --mib=2[01]$' }";
  Agent& agent =
      tls_agent(write_config("interval: 200ms\n"
                             "stats_frequency: 1s\n"
                             "rules:\n"
                             "  - name: watched\n"
                             "    match: " +
                             watched_match +
                             "\n"
                             "    limit: 1Gi\n"
                             "  - name: per_cgroup\n"
                             "    match: " +
                             watched_match +
                             "\n"
                             "    limit: 1Gi\n"
                             "    scope: cgroup\n"
                             "  - name: working_set\n"
                             "    match: " +
                             watched_match +
                             "\n"
                             "    scope: cgroup\n"
                             "    measure: working_set\n"
                             "    limit: 1Gi\n"
                             "  - name: cgroup_pressure\n"
                             "    match: " +
                             watched_match +
                             "\n"
                             "    scope: cgroup\n"
                             "    pressure: {full: 99%}\n"
                             "  - name: host\n"
                             "    match: " +
                             watched_match +
                             "\n"
                             "    pressure: {full: 99%, window: 60s}\n"
                             "    available: {below: 1Ki}\n"
                             "  - name: killer\n"
                             "    match: { name: '^mgt_hog$', cmdline: '" +
                             token() +
                             " --mib=31$' }\n"
                             "    limit: 10Mi\n"));
  ASSERT_TRUE(start_prometheus(agent.port())) << "prometheus did not become ready";
  const std::string instance = "127.0.0.1:" + std::to_string(agent.port());
  ASSERT_EQ(wait_for_data("up{job=\"memoryguard\"} == 1", 20s), "")
      << "prometheus never scraped the agent over HTTPS";

  // increase() sees a kill only after a sample of the counter before it.
  ASSERT_EQ(wait_for_data("memoryguard_kills_total{rule=\"killer\",signal=\"SIGKILL\"} == 0", 20s),
            "")
      << "prometheus never scraped the agent";
  Helper& victim = hog(31);
  const auto death = victim.proc.wait_reaped(10s);
  ASSERT_TRUE(death) << "the hog over its limit was not killed";
  ASSERT_EQ(wait_for_data("memoryguard_kills_total{rule=\"killer\",signal=\"SIGKILL\"} == 1", 10s),
            "")
      << "prometheus did not scrape the kill";

  // Every alert rule is loaded and evaluates without error.
  const std::size_t declared = count_alerts(read_file(rules_path()));
  ASSERT_GE(declared, 5u);
  json rules;
  const bool all_ok = wait_until(
      [&] {
        rules = json::array();
        const json data = api("/api/v1/rules?type=alert");
        if (!data.is_object()) return false;
        for (const auto& group : data["groups"]) {
          for (const auto& rule : group["rules"]) rules.push_back(rule);
        }
        for (const auto& rule : rules) {
          if (rule.value("health", "") != "ok") return false;
        }
        return rules.size() == declared;
      },
      15s);
  EXPECT_TRUE(all_ok) << "alert rules not all loaded and healthy:\n" << rules.dump(2);

  // The kill sets off MemoryguardProcessKilled for the rule that killed, and
  // nothing else fires.
  json killed;
  std::set<std::string> active;
  wait_until(
      [&] {
        active.clear();
        const json data = api("/api/v1/alerts");
        if (!data.is_object()) return false;
        for (const auto& alert : data["alerts"]) {
          const std::string name = alert["labels"].value("alertname", "");
          // Pending is not checked: the victim's own series may have been
          // scraped over the limit for a moment before it died.
          if (alert.value("state", "") == "firing") active.insert(name);
          if (name == "MemoryguardProcessKilled" && alert["labels"].value("rule", "") == "killer") {
            killed = alert;
          }
        }
        return !killed.is_null();
      },
      15s);
  ASSERT_FALSE(killed.is_null()) << "MemoryguardProcessKilled did not go off";
  EXPECT_TRUE(killed.value("state", "") == "pending" || killed.value("state", "") == "firing")
      << killed.dump(2);
  EXPECT_EQ(killed["labels"].value("instance", ""), instance);
  EXPECT_EQ(killed["labels"].value("severity", ""), "warning");
  EXPECT_NE(killed["annotations"].value("description", "").find(instance), std::string::npos)
      << killed.dump(2);
  EXPECT_NE(killed["annotations"].value("runbook_url", "").find("#alert-memoryguardprocesskilled"),
            std::string::npos);
  EXPECT_EQ(active, std::set<std::string>{"MemoryguardProcessKilled"})
      << "alerts that should be quiet fired";

  // The recording rules name the pod, namespace and container of the
  // process in the pod-shaped cgroup, from kube-state-metrics.
  ASSERT_EQ(wait_for_data("memoryguard:process_pss_bytes:kube{rule=\"watched\"}", 20s), "")
      << "the recording rules joined nothing";
  const json joined = api("/api/v1/query?query=" +
                          url_encode("memoryguard:process_pss_bytes:kube{rule=\"watched\"}"));
  ASSERT_EQ(joined["result"].size(), 1u) << joined.dump(2);
  const json& labels = joined["result"][0]["metric"];
  EXPECT_EQ(labels.value("namespace", ""), "shop") << labels.dump();
  EXPECT_EQ(labels.value("pod", ""), "web-1") << labels.dump();
  EXPECT_EQ(labels.value("container", ""), "app") << labels.dump();
  EXPECT_EQ(labels.value("pod_uid", ""), uid) << labels.dump();
  EXPECT_EQ(labels.value("pid", ""), std::to_string(watched.pid())) << labels.dump();
  EXPECT_EQ(labels.value("job", ""), "memoryguard") << "the agent's own target labels stay";

  // Every query of the dashboard, as Grafana would send it with this job
  // and instance selected, runs and returns data.
  const json dashboard = json::parse(read_file(source_dir() + "/dashboards/memoryguard.json"));
  const std::string instance_regex = std::regex_replace(instance, std::regex(R"(\.)"), R"(\\.)");
  const std::map<std::string, std::string> values = {
      {"job", "memoryguard"}, {"instance", instance_regex}, {"rule", ".+"}, {"namespace", ".+"},
      {"pod", ".+"},          {"__rate_interval", "1m"}};
  const auto queries = mgdash::dashboard_queries(dashboard);
  ASSERT_GE(queries.size(), 10u);
  for (const auto& q : queries) {
    const std::string promql = mgdash::interpolate(q.expr, values);
    ASSERT_EQ(promql.find('$'), std::string::npos)
        << q.where << ": a variable is left in " << promql;
    EXPECT_EQ(wait_for_data(promql, 10s), "") << q.where << ": " << promql;
  }

  // The variables list what is there: this job, this instance, these rules.
  const std::map<std::string, std::set<std::string>> expected = {
      {"job", {"memoryguard"}},
      {"instance", {instance}},
      {"rule", {"watched", "per_cgroup", "working_set", "cgroup_pressure", "host", "killer"}},
      {"namespace", {"shop"}},
      {"pod", {"web-1"}}};
  const auto variables = mgdash::dashboard_variables(dashboard);
  for (const auto& [name, want] : expected) {
    ASSERT_TRUE(variables.count(name)) << "no variable $" << name;
    const std::string q = mgdash::variable_query(variables.at(name));
    std::smatch m;
    ASSERT_TRUE(std::regex_match(q, m, std::regex(R"(^label_values\((.+),\s*(\w+)\s*\)$)"))) << q;
    const std::string selector = mgdash::interpolate(m[1], values);
    const json series = api("/api/v1/series?match[]=" + url_encode(selector));
    std::set<std::string> got;
    for (const auto& s : series) got.insert(s.value(m[2].str(), ""));
    EXPECT_EQ(got, want) << "$" << name << " from " << selector;
  }
}

// The PEM of the certificate that a new handshake gets, as openssl s_client
// prints it (it presents Prometheus's client certificate, which the agent
// requires).
std::string presented_certificate(const std::string& dir, int port, const mgt_pki::Issued& ca,
                                  const mgt_pki::Issued& client) {
  const RunResult r =
      run({mgt_pki::kOpenssl, "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
           "-CAfile", ca.cert, "-cert", client.cert, "-key", client.key, "-verify_return_error"},
          dir, 20s, "/dev/null");
  const auto begin = r.out.find("-----BEGIN CERTIFICATE-----");
  const auto end = r.out.find("-----END CERTIFICATE-----");
  if (begin == std::string::npos || end == std::string::npos) return {};
  return r.out.substr(begin, end + 25 - begin) + "\n";
}

// cert-manager and Vault rewrite the files in place. While Prometheus scrapes
// every second, the certificate and then its key are rewritten: new
// handshakes present the new certificate, the agent never stops serving the
// old one in between (the new certificate with the old key does not load),
// and no scrape fails.
TEST_F(PrometheusE2E, ACertificateRotatedInPlaceWhilePrometheusScrapes) {
  // A certificate file the test can rewrite, as a Secret or Vault would.
  const std::string cert = path("tls.crt");
  const std::string key = path("tls.key");
  write_file(cert, read_file(server_.cert));
  write_file(key, read_file(server_.key));
  server_ = {cert, key};
  hog(4);
  Agent& agent = tls_agent(write_config("interval: 200ms\nrules:\n  - name: watched\n    match: " +
                                        match_yaml() + "\n    limit: 1Gi\n    dry_run: true\n"));
  const auto scraping_since = Clock::now();
  ASSERT_TRUE(start_prometheus(agent.port())) << "prometheus did not become ready";
  ASSERT_EQ(wait_for_data("up{job=\"memoryguard\"} == 1", 20s), "");
  const std::string old_pem = presented_certificate(dir(), agent.port(), ca_, client_);
  ASSERT_EQ(mgt_pki::pem_serial(old_pem), mgt_pki::pem_serial(read_file(cert)));
  // A few scrapes with the first certificate.
  EXPECT_EQ(wait_for_data("count_over_time(up{job=\"memoryguard\"}[1m]) >= 3", 30s), "");

  const mgt_pki::Issued next = pki_->leaf("server-next", ca_, "IP:127.0.0.1,DNS:localhost", 90);
  ASSERT_TRUE(pki_->failed().empty()) << pki_->failed();
  const auto rotated_at = Clock::now();
  overwrite_file(cert, read_file(next.cert));
  sleep_for(300ms);  // a writer that is slow between the two files
  overwrite_file(key, read_file(next.key));
  std::string pem;
  EXPECT_TRUE(wait_until(
      [&] {
        pem = presented_certificate(dir(), agent.port(), ca_, client_);
        return mgt_pki::pem_serial(pem) == mgt_pki::pem_serial(read_file(next.cert));
      },
      20s))
      << "s_client still gets serial " << mgt_pki::pem_serial(pem);
  std::printf("new handshakes got the new certificate %.0f ms after its key was written\n",
              std::chrono::duration<double, std::milli>(Clock::now() - rotated_at).count() - 300);
  // Scrapes go on with the new one: three of them since the rotation.
  auto seconds_since = [](Clock::time_point t) {
    return std::to_string(
               std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - t).count() + 1) +
           "s";
  };
  auto count_up = [&](const std::string& range) {
    std::string error;
    const json r = api("/api/v1/query?query=" +
                           url_encode("count_over_time(up{job=\"memoryguard\"}[" + range + "])"),
                       error);
    if (!r.is_object() || r["result"].size() != 1) return 0.0;
    return std::stod(r["result"][0]["value"][1].get<std::string>());
  };
  EXPECT_TRUE(wait_until([&] { return count_up(seconds_since(rotated_at)) >= 3; }, 30s))
      << "prometheus stopped scraping after the rotation";

  // Every scrape since Prometheus started succeeded: up never dropped to 0.
  const std::string range = "[" + seconds_since(scraping_since) + "]";
  const json min_up = api("/api/v1/query?query=" +
                          url_encode("min_over_time(up{job=\"memoryguard\"}" + range + ")"));
  ASSERT_TRUE(min_up.is_object() && min_up["result"].size() == 1) << min_up.dump();
  EXPECT_EQ(min_up["result"][0]["value"][1], "1") << "a scrape failed during the rotation";
  // Prometheus sees the new certificate's expiry, 90 days out.
  EXPECT_EQ(wait_for_data("memoryguard_tls_certificate_expiry_timestamp_seconds - time() > 80 * "
                          "86400",
                          10s),
            "");
  const Scrape last = agent.scrape();
  for (const auto& s : last.find("memoryguard_tls_handshake_failures_total")) {
    // s_client closes without sending a request: nothing else may fail.
    EXPECT_EQ(s.value, 0) << "reason " << s.labels.at("reason");
  }
}

}  // namespace
}  // namespace mgt
