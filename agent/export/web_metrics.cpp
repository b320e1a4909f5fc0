#include "export/web_metrics.h"

#include <string>
#include <utility>

#include "export/web_config.h"

namespace mg {

WebMetrics::WebMetrics(std::shared_ptr<const LiveWebConfig> web) : web_(std::move(web)) {}

void WebMetrics::handshake_failed(TlsFailure reason) {
  failures_[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t WebMetrics::handshake_failures(TlsFailure reason) const {
  return failures_[static_cast<std::size_t>(reason)].load(std::memory_order_relaxed);
}

std::vector<prometheus::MetricFamily> WebMetrics::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  if (!web_) return out;
  auto gauge = [](std::string name, std::string help, double value) {
    prometheus::MetricFamily f{std::move(name), std::move(help), MetricType::Gauge, {}};
    prometheus::ClientMetric m;
    m.gauge.value = value;
    f.metric.push_back(std::move(m));
    return f;
  };
  out.push_back(gauge("memoryguard_web_config_last_reload_successful",
                      "Whether the last re-read of --web.config.file (or of a certificate it "
                      "names) was taken (1) or rejected, keeping the previous one in force (0).",
                      web_->counts().last_ok ? 1 : 0));
  const std::shared_ptr<const WebConfig> config = web_->current();
  if (!config->tls()) return out;
  // The moment, not the seconds left: it stays constant between rotations,
  // and `- time()` gives what is left, in an alert or on a dashboard.
  out.push_back(gauge("memoryguard_tls_certificate_expiry_timestamp_seconds",
                      "Unix time at which the serving TLS certificate expires (its notAfter).",
                      config->tls()->not_after()));
  prometheus::MetricFamily failures{
      "memoryguard_tls_handshake_failures_total",
      "TLS handshakes that did not complete, by reason: plain_http, timeout, eof, version, "
      "cipher, no_client_cert, client_cert, client_san, client_alert, other.",
      MetricType::Counter,
      {}};
  for (std::size_t i = 0; i < kTlsFailureCount; ++i) {
    prometheus::ClientMetric m;
    m.label.push_back({"reason", std::string(to_string(static_cast<TlsFailure>(i)))});
    m.counter.value = static_cast<double>(failures_[i].load(std::memory_order_relaxed));
    failures.metric.push_back(std::move(m));
  }
  out.push_back(std::move(failures));
  return out;
}

}  // namespace mg
