#pragma once
// The standard process_* metrics of the agent itself, read from /proc/self
// at scrape time. That is our own process: cheap, and it never waits on
// another process's mmap lock. Always /proc/self, never --procfs: the host's
// /proc holds no entry for the agent under its own pid namespace.
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

namespace mg {

class SelfMetrics final : public prometheus::Collectable {
 public:
  SelfMetrics();
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  double start_time_seconds_ = 0;  // constant for the life of the process
};

}  // namespace mg
