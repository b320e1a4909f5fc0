// A leak is caught soon after it crosses its limit, not at the next full
// check: with interval: 1s, the agent looks at a process that grows toward its
// limit more often as it nears it. Real hogs, real SIGKILL, the crossing
// timed by reading the hog's statm from here every 2ms.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <thread>

#include "integration/harness.h"

namespace mgt {
namespace {

class FastCheck : public IntegrationTest {};

// RSS from /proc/PID/statm, or nullopt once it is gone.
std::optional<std::uint64_t> rss_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
  std::uint64_t size = 0, resident = 0;
  if (!(in >> size >> resident)) return std::nullopt;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

TEST_F(FastCheck, ALeakIsSignalledWellWithinAnIntervalOfCrossingItsLimit) {
  constexpr std::uint64_t kLimitMiB = 100;
  // One rule per hog, so that each rule's last_kill_timestamp is the moment
  // its hog was signalled (its death comes later: freeing takes a while).
  std::string yaml = "interval: 1s\nrules:\n";
  for (int i = 0; i < 3; ++i) {
    yaml += "  - name: leak" + std::to_string(i) + "\n    match: { name: '^mgt_hog$', cmdline: '" +
            token() + ".*--marker=leak" + std::to_string(i) +
            "$' }\n    limit: 100Mi\n    measure: rss\n";
  }
  Agent& agent = start_agent(write_config(yaml));
  // Three leaks of 33 MiB/s, started a third of an interval apart so that
  // they cross at different points between full checks. Each reaches its
  // limit about 3s after it starts; none can grow past 150 MiB.
  std::vector<Helper*> hogs;
  for (int i = 0; i < 3; ++i) {
    hogs.push_back(&hog(4, {"--grow-mib=1", "--every-ms=30", "--max-mib=150",
                            "--marker=leak" + std::to_string(i)}));
    sleep_for(330ms);
  }
  // The agent can see a crossing before this loop does: on a busy machine
  // its 2ms sleeps stretch, and the agent's look at a hog this close to its
  // limit comes every few ms. A hog killed before this loop saw it over its
  // limit crossed after it was last seen under it, so that moment bounds its
  // latency from above and stands in for the crossing. A hog only grows, so
  // an RSS that falls (memory freed on the way out) or reads 0 (a zombie
  // not yet reaped) is its death, not a moment under its limit.
  using Wall = std::chrono::system_clock;
  std::vector<std::optional<Wall::time_point>> crossed(hogs.size());
  std::vector<std::optional<Wall::time_point>> last_under(hogs.size());
  std::vector<std::uint64_t> last_rss(hogs.size(), 0);
  std::vector<bool> watching(hogs.size(), true);
  const auto deadline = Clock::now() + 15s;
  while (Clock::now() < deadline &&
         std::any_of(watching.begin(), watching.end(), std::identity{})) {
    for (std::size_t i = 0; i < hogs.size(); ++i) {
      if (!watching[i]) continue;
      const auto seen_at = Wall::now();
      const auto rss = rss_of(hogs[i]->pid());
      if (!rss || *rss == 0 || *rss < last_rss[i]) {
        watching[i] = false;
        continue;
      }
      last_rss[i] = *rss;
      if (*rss > kLimitMiB * kMiB) {
        crossed[i] = seen_at;
        watching[i] = false;
      } else {
        last_under[i] = seen_at;
      }
    }
    sleep_for(2ms);
  }
  for (std::size_t i = 0; i < hogs.size(); ++i) {
    const auto info = hogs[i]->proc.wait_reaped(10s);
    ASSERT_TRUE(info) << "hog " << i << " was not killed";
    EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);
  }
  const Scrape scrape = agent.scrape();
  std::vector<double> latencies_ms;
  for (std::size_t i = 0; i < hogs.size(); ++i) {
    ASSERT_TRUE(last_under[i]) << "hog " << i << " was never seen under its limit";
    const auto crossing = crossed[i] ? *crossed[i] : *last_under[i];
    const auto signalled = scrape.value("memoryguard_last_kill_timestamp_seconds",
                                        {{"rule", "leak" + std::to_string(i)}});
    ASSERT_TRUE(signalled) << scrape.text();
    const double crossed_s = std::chrono::duration<double>(crossing.time_since_epoch()).count();
    latencies_ms.push_back((*signalled - crossed_s) * 1000.0);
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  std::printf("FastCheck: crossing to signal (ms): %.0f %.0f %.0f\n", latencies_ms[0],
              latencies_ms[1], latencies_ms[2]);
  // Checked only at each interval, a crossing waits 500ms for its check on
  // average; looked at as it nears its limit, it waits for one look (10ms at
  // the closest) and one full check. The bound is loose for a busy machine.
  EXPECT_LT(latencies_ms[1], 300.0) << "latencies (ms): " << latencies_ms[0] << ", "
                                    << latencies_ms[1] << ", " << latencies_ms[2];
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

}  // namespace
}  // namespace mgt
