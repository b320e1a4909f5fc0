#pragma once
// Every metric of SPEC §5. Counters and the histogram live in a
// prometheus-cpp registry; the per-process and per-rule gauges are rendered
// from the latest Snapshot, so the series of a process that has gone vanish at
// the next scrape and a scrape never reads /proc. Thread-safe.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "discover/cgroup_identity.h"
#include "export/snapshot.h"

namespace prometheus {
class Collectable;
class Registry;
}  // namespace prometheus

namespace mg {

struct RuleCounters {
  std::string rule;
  std::vector<std::string> signals;          // signal names the rule may send, shown at 0
  std::vector<std::string> conditions = {};  // the rule's conditions (limit, pressure, ...), at 0
};

class Metrics {
 public:
  Metrics();
  ~Metrics();

  // Makes every counter of each rule exist at 0, and drops the series of
  // rules that are gone. Counters of a rule that stays keep their values.
  void set_rules(const std::vector<RuleCounters>& rules);
  void publish(std::shared_ptr<const Snapshot> snapshot);

  void limit_exceeded(const std::string& rule);
  // One of the rule's conditions started to hold for one of its units
  // (memoryguard_condition_fired_total), whether or not the others did.
  void condition_fired(const std::string& rule, const std::string& condition);
  void signal_sent(const std::string& rule, const std::string& signal, double unix_time);
  // Who the rule's last signal went to (memoryguard_last_kill_info), so an
  // alert on its kills can name the pod, container or unit.
  void last_victim(const std::string& rule, const std::string& name, pid_t pid,
                   const CgroupIdentity* identity);
  void action_failed(const std::string& rule, const std::string& reason);
  // An action not carried out because, right before the signal, the victim
  // had exited, was a zombie, had lost its pid to another process, or was
  // back under its limit (memoryguard_actions_skipped_total).
  void action_skipped(const std::string& rule, const std::string& reason);
  void scan_finished(double seconds);
  // Page walks done for PSS/USS since the last call, and their wall time. Each
  // holds the walked process's mmap lock; the sampler caps every process's
  // share, and this sum shows operators what the walks cost in all.
  void memory_read(std::uint64_t reads, std::uint64_t skipped, double seconds);
  void scan_error(const std::string& reason, double count = 1);
  void config_reloaded(bool success, double unix_time);

  // Families that another part collects itself (the HTTP endpoint's own),
  // rendered with the rest from then on.
  void add_collectable(std::shared_ptr<const prometheus::Collectable> collectable);

  // The whole exposition in Prometheus text format 0.0.4.
  std::string render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mg
