#pragma once
// What the metrics endpoint reports about itself: the TLS handshakes that
// failed, by reason; when the serving certificate expires; and whether the
// last re-read of --web.config.file was taken. Collected at scrape time from
// the web config in force, so a rotated certificate shows at the next scrape.
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "export/tls_context.h"

namespace mg {

class LiveWebConfig;

class WebMetrics final : public prometheus::Collectable {
 public:
  // `web` may be null (no --web.config.file): nothing to report then.
  explicit WebMetrics(std::shared_ptr<const LiveWebConfig> web);

  // From the I/O thread, once per connection whose handshake failed.
  void handshake_failed(TlsFailure reason);
  std::uint64_t handshake_failures(TlsFailure reason) const;

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::shared_ptr<const LiveWebConfig> web_;
  std::array<std::atomic<std::uint64_t>, kTlsFailureCount> failures_{};
};

}  // namespace mg
